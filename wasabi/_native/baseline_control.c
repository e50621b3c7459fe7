/* The baseline compiler's structured control flow: blocks, loops, if/else, the
 * branches (with PGO's branch counters), loop counters and loop entries into
 * optimised code, and skipping unreachable code (see baseline.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

/* ---- control ---- */

wb_frame* wb_push_frame(wb_ctx* c, uint8_t kind) {
    if (!wb_grow(c, (void**)&c->frames, c->nframes, &c->frames_cap, sizeof *c->frames))
        return NULL;
    wb_frame* f = &c->frames[c->nframes++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->label = wb_new_label(c);
    f->else_label = -1;
    return f;
}

static const uint8_t ONE_TYPE[4] = {VT_F64, VT_F32, VT_I64, VT_I32};

static int block_type(wb_ctx* c, uint32_t* np, const uint8_t** p, uint32_t* nr, const uint8_t** r) {
    int64_t bt = wb_leb(c, 1, 33);
    *np = *nr = 0;
    *p = *r = NULL;
    if (bt == -64)                      /* 0x40: empty */
        return 1;
    if (bt < 0) {
        uint8_t t = (uint8_t)(bt & 0x7F);
        if (t < VT_F64 || t > VT_I32) {
            wb_refuse(c, "block type");
            return 0;
        }
        *nr = 1;
        *r = &ONE_TYPE[t - VT_F64];
        return 1;
    }
    if ((uint64_t)bt >= c->m->ntypes) {
        wb_refuse(c, "block type index");
        return 0;
    }
    const wb_functype* ft = &c->m->types[bt];
    *np = ft->nparams;
    *p = ft->params;
    *nr = ft->nresults;
    *r = ft->results;
    return 1;
}

static wb_frame* open_block(wb_ctx* c, uint8_t kind) {
    uint32_t np, nr;
    const uint8_t *p, *r;
    if (!block_type(c, &np, &p, &nr, &r))
        return NULL;
    if (np > c->sp) {
        wb_refuse(c, "block parameters");
        return NULL;
    }
    wb_frame* f = wb_push_frame(c, kind);
    if (!f)
        return NULL;
    f->nparams = np;
    f->params = p;
    f->nresults = nr;
    f->results = r;
    f->height = c->sp - np;
    return f;
}

/* the values a branch to `f` carries: into the slots of the target's depths */
static void branch_values(wb_ctx* c, wb_frame* f) {
    uint32_t n = f->kind == F_LOOP ? f->nparams : f->nresults;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t src = c->sp - n + i, dst = f->height + i;
        wb_value* v = &c->stack[src];
        xmem slot = wb_slot(c, dst);
        if (v->kind == K_SLOT && src == dst)
            continue;
        if (v->kind == K_REG) {
            if (wb_is_float(v->type))
                x_fstore(&c->b, v->type == VT_F64, slot, v->reg);
            else
                x_store(&c->b, 1, slot, v->reg);
        } else if (v->kind == K_CONST) {
            x_mov_imm_keep_flags(&c->b, 1, SCRATCH, v->imm);
            x_store(&c->b, 1, slot, SCRATCH);
        } else {
            x_load(&c->b, 1, SCRATCH, wb_slot(c, src));
            x_store(&c->b, 1, slot, SCRATCH);
        }
    }
}

static int needs_moves(wb_ctx* c, wb_frame* f) {
    uint32_t n = f->kind == F_LOOP ? f->nparams : f->nresults;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t src = c->sp - n + i;
        if (c->stack[src].kind != K_SLOT || src != f->height + i)
            return 1;
    }
    return 0;
}

/* an unconditional branch to frame `f` (a return for the function's frame) */
static void jump(wb_ctx* c, wb_frame* f) {
    if (f->kind == F_FUNC) {
        wb_emit_return(c);
        return;
    }
    branch_values(c, f);
    wb_jump_to(c, f->label, x_jmp(&c->b));
    f->reached = 1;
}

/* the state at a label every path reaches with its values in their slots */
static void reset_to_slots(wb_ctx* c, uint32_t height, uint32_t n, const uint8_t* types) {
    c->sp = height;
    c->gpr_used = c->xmm_used = 0;
    for (uint32_t i = 0; i < n; i++)
        wb_push(c, K_SLOT, types[i]);
}

static void count_loop_and_look(wb_ctx* c, wb_frame* f) {
    const wb_module* m = c->m;
    uint32_t k = c->loops++;
    if (!m->counts)
        return;
    xbuf* b = &c->b;
    x_mov_imm(b, 1, RAX, (uint64_t)(uintptr_t)&m->counts[2 * (size_t)c->index + 1]);
    /* translator.loop_entry: the first eligible loops of a small function look for
     * an optimised build's entry at their header every osr_every iterations */
    int looks = f->nparams == 0 && f->height == 0 && c->osr_ok
                && c->osr_eligible++ < m->osr_max_entries && c->out->nosr < WB_MAX_OSR;
    if (!looks) {
        x_alu_mi(b, ALU_ADD, 1, M(RAX, 0), 1);      /* the count alone */
        return;
    }
    x_load(b, 1, RCX, M(RAX, 0));
    x_alu_ri(b, ALU_ADD, 1, RCX, 1);
    x_store(b, 1, M(RAX, 0), RCX);
    x_op_rr(b, 0, 0, "\xF7", 1, 0, RCX, 0);         /* test ecx, every - 1 */
    x_u32(b, m->osr_every - 1);
    size_t skip1 = x_jcc(b, CC_NE);
    c->out->osr_at[c->out->nosr] = (uint32_t)x_movabs(b, RAX, 0);
    c->out->osr_loop[c->out->nosr++] = k;
    x_load(b, 1, RAX, M(RAX, 0));
    x_test_rr(b, 1, RAX, RAX);
    size_t skip2 = x_jcc(b, CC_E);
    for (uint32_t i = 0; i < c->nlocals; i++) {
        int cached = wb_local_reg(c, i);
        if (cached < 0)
            x_load(b, 1, SCRATCH, wb_local(c, i));
        x_store(b, 1, M(RSP, (int32_t)(16 * i)), cached >= 0 ? cached : SCRATCH);
    }
    if (16 * c->nlocals > c->outgoing)
        c->outgoing = 16 * c->nlocals;
    x_mov_rr(b, 1, RDI, VMCTX_REG);
    x_mov_rr(b, 1, RSI, RSP);
    x_call_r(b, RAX);
    wb_emit_epilogue(c);               /* its result is ours, in rax or xmm0 */
    x_patch32(b, skip1, (uint32_t)(b->len - (skip1 + 4)));
    x_patch32(b, skip2, (uint32_t)(b->len - (skip2 + 4)));
}

/* PGO: a branch site of `width` counters at the current body offset (the end of
 * its instruction): the displacement of its first counter from r13 */
static int32_t new_site(wb_ctx* c, uint32_t width) {
    wb_result* out = c->out;
    if (!wb_grow(c, (void**)&out->sites, out->nsites, &c->sites_cap, sizeof *out->sites))
        return 0;
    if (c->sites_width > (1u << 26)) {
        wb_refuse(c, "too many branch counters");
        return 0;
    }
    wb_site* site = &out->sites[out->nsites++];
    site->body_offset = (uint32_t)(c->p - c->body);
    site->width = width;
    int32_t disp = (int32_t)(8 * c->sites_width);
    c->sites_width += width;
    return disp;
}

/* counter += 1 (flags change) */
static void count(wb_ctx* c, int32_t disp) { x_alu_mi(&c->b, ALU_ADD, 1, M(SITES_REG, disp), 1); }

/* the popped condition `v` of a br_if/if: the cc that means "taken" (flags set) */
static int condition(wb_ctx* c, wb_value v) {
    xbuf* b = &c->b;
    if (v.kind == K_CMP)
        return v.cc;
    if (v.kind == K_CONST) {
        x_mov_imm_keep_flags(b, 0, SCRATCH, v.imm);
        x_test_rr(b, 0, SCRATCH, SCRATCH);
    } else if (v.kind == K_SLOT) {
        x_alu_mi(b, ALU_CMP, 0, wb_slot(c, c->sp), 0);
    } else {
        x_test_rr(b, 0, v.reg, v.reg);
        wb_free_value(c, v);
    }
    return CC_NE;
}

static void op_br_if(wb_ctx* c, uint32_t depth) {
    if (depth >= c->nframes) {
        wb_refuse(c, "branch depth");
        return;
    }
    int cc = condition(c, wb_pop(c));
    wb_frame* f = &c->frames[c->nframes - 1 - depth];
    int counted = c->m->count_branches;
    int32_t site = counted ? new_site(c, 2) : 0;    /* profile.two_way: [not taken, taken] */
    if (!counted && f->kind != F_FUNC && !needs_moves(c, f)) {
        wb_jump_to(c, f->label, x_jcc(&c->b, cc));
        f->reached = 1;
        return;
    }
    size_t skip = x_jcc(&c->b, cc ^ 1);
    if (counted)
        count(c, site + 8);
    jump(c, f);             /* moves and jmp, or the return (no state changes) */
    x_patch32(&c->b, skip, (uint32_t)(c->b.len - (skip + 4)));
    if (counted)
        count(c, site);
}

static void op_br_table(wb_ctx* c) {
    uint32_t n = wb_u32(c);
    if (c->refused || n > (uint32_t)(c->end - c->p)) {
        wb_refuse(c, "br_table");
        return;
    }
    uint32_t* depths = malloc(((size_t)n + 1) * sizeof *depths);
    if (!depths) {
        wb_refuse(c, "out of memory");
        return;
    }
    for (uint32_t i = 0; i <= n; i++) {
        depths[i] = wb_u32(c);
        if (depths[i] >= c->nframes)
            wb_refuse(c, "branch depth");
    }
    if (c->refused) {
        free(depths);
        return;
    }
    wb_value index = wb_pop(c);
    int r = RAX;
    if (index.kind == K_REG && index.reg != RAX) {
        wb_evict(c, RAX);
        x_mov_rr(&c->b, 0, RAX, index.reg);
    } else if (index.kind != K_REG) {
        wb_evict(c, RAX);
        c->stack[c->sp] = index;        /* (wb_load_into reads its slot) */
        wb_load_into(c, &index, RAX, c->sp);
    }
    wb_free_value(c, index);
    c->gpr_used |= 1u << RAX;
    wb_spill_all(c);                    /* the targets' values, from their slots */
    xbuf* b = &c->b;
    /* one stub per target: its value moves, then the jump (or the return) */
    int* stubs = malloc(((size_t)n + 1) * sizeof *stubs);
    if (!stubs) {
        free(depths);
        wb_refuse(c, "out of memory");
        return;
    }
    if (c->m->count_branches) {         /* the way: the index, the default last */
        int32_t site = new_site(c, n + 1);
        x_mov_imm(b, 0, RCX, n);            /* (everything else is in its slot) */
        x_mov_rr(b, 0, SCRATCH, RAX);
        x_alu_ri(b, ALU_CMP, 0, RAX, (int32_t)n);
        x_cmov(b, CC_AE, 0, SCRATCH, RCX);
        x_alu_mi(b, ALU_ADD, 1, MX(SITES_REG, SCRATCH, 8, site), 1);
    }
    x_alu_ri(b, ALU_CMP, 0, r, (int32_t)n);
    size_t to_default = x_jcc(b, CC_AE);
    size_t table_rel = x_lea_rip(b, SCRATCH);
    x_op_mem(b, 0, 1, "\x63", 1, RAX, MX(SCRATCH, RAX, 4, 0), 0);  /* movsxd rax, [r11+rax*4] */
    x_alu_rr(b, ALU_ADD, 1, RAX, SCRATCH);
    x_jmp_r(b, RAX);
    size_t table = b->len;
    x_patch32(b, table_rel, (uint32_t)(table - (table_rel + 4)));
    for (uint32_t i = 0; i < n; i++)
        x_u32(b, 0);
    c->gpr_used &= ~(1u << RAX);
    for (uint32_t i = 0; i <= n; i++) {
        wb_frame* f = &c->frames[c->nframes - 1 - depths[i]];
        if (f->kind != F_FUNC && !needs_moves(c, f)) {
            stubs[i] = f->label;
            f->reached = 1;
        } else {
            stubs[i] = wb_new_label(c);
            wb_bind(c, stubs[i]);
            jump(c, f);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        wb_add_fixup(c, stubs[i], table + 4 * i, table);
    wb_jump_to(c, stubs[n], to_default);
    free(stubs);
    free(depths);
}

static void op_end(wb_ctx* c) {
    wb_frame f = c->frames[--c->nframes];
    if (f.kind == F_FUNC) {
        if (!c->dead)
            wb_emit_return(c);
        return;
    }
    if (f.kind == F_LOOP) {
        /* reached only by falling through: the results are where they are */
        if (c->dead) {
            c->sp = f.height;
            c->gpr_used = c->xmm_used = 0;
        }
        return;
    }
    if (!c->dead)
        branch_values(c, &f);           /* fall through into the end label */
    int reached = !c->dead || f.reached;
    if (f.kind == F_IF && !f.has_else) {
        wb_bind(c, f.else_label);       /* the params (== results) are in their slots */
        reached = 1;
    }
    wb_bind(c, f.label);
    reset_to_slots(c, f.height, f.nresults, f.results);
    c->dead = !reached;
}

static void op_else(wb_ctx* c) {
    wb_frame* f = &c->frames[c->nframes - 1];
    if (f->kind != F_IF) {
        wb_refuse(c, "else");
        return;
    }
    if (!c->dead)
        jump(c, f);
    f->has_else = 1;
    reset_to_slots(c, f->height, f->nparams, f->params);
    wb_bind(c, f->else_label);
    c->dead = 0;
}

/* skip the unreachable rest of a block, to the else/end that closes it */
static int skip_immediates(wb_ctx* c, uint8_t op);

void wb_skip_dead(wb_ctx* c) {
    uint32_t depth = 0;
    while (c->p < c->end && !c->refused) {
        const uint8_t* at = c->p;
        uint8_t op = *c->p++;
        if (op == 0x02 || op == 0x03 || op == 0x04) {
            depth++;
        } else if (op == 0x0B || op == 0x05) {
            if (depth == 0) {
                c->p = at;
                return;
            }
            if (op == 0x0B)
                depth--;
        }
        if (!skip_immediates(c, op))
            return;
    }
}

static void skip_memarg(wb_ctx* c) {
    uint32_t align = wb_u32(c);
    if (align & 0x40)
        wb_u32(c);
    wb_u32(c);
}

/* skip one instruction's immediates (its opcode read); 0: refused */
static int skip_immediates(wb_ctx* c, uint8_t op) {
    if (op == 0x02 || op == 0x03 || op == 0x04) {
        wb_leb(c, 1, 33);
    } else if (op == 0x0C || op == 0x0D || op == 0x10 || (op >= 0x20 && op <= 0x26)
               || op == 0x3F || op == 0x40 || op == 0xD2) {
        wb_u32(c);
    } else if (op == 0x0E) {
        uint32_t n = wb_u32(c);
        for (uint64_t i = 0; i <= n && !c->refused; i++)
            wb_u32(c);
    } else if (op == 0x11) {
        wb_u32(c);
        wb_u32(c);
    } else if (op == 0x1C) {
        uint32_t n = wb_u32(c);
        for (uint32_t i = 0; i < n && c->p < c->end; i++)
            c->p++;
    } else if (op >= 0x28 && op <= 0x3E) {
        skip_memarg(c);
    } else if (op == 0x41) {
        wb_s32(c);
    } else if (op == 0x42) {
        wb_s64(c);
    } else if (op == 0x43) {
        c->p += 4;
    } else if (op == 0x44) {
        c->p += 8;
    } else if (op == 0xD0) {
        wb_leb(c, 1, 33);
    } else if (op == 0xFC) {
        uint32_t sub = wb_u32(c);
        if (sub == 8 || sub == 10 || sub == 12 || sub == 14) {
            wb_u32(c);
            wb_u32(c);
        } else if (sub == 9 || sub == 11 || sub == 13 || (sub >= 15 && sub <= 17)) {
            wb_u32(c);
        } else if (sub > 17) {
            wb_refuse(c, "unknown 0xFC instruction");
        }
    } else if (op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x12
               || op == 0x13 || op == 0x14 || op == 0x15 || op == 0x18 || op == 0x19
               || op == 0x1F || op >= 0xD3) {
        wb_refuse(c, "instruction not in the baseline");
    }
    if (c->p > c->end)
        wb_refuse(c, "truncated body");
    return !c->refused;
}

/* one control instruction; 0 if `op` is not one */
int wb_control(wb_ctx* c, uint8_t op) {
    wb_frame* f;
    switch (op) {
    case 0x00:                                          /* unreachable */
        wb_spill_all(c);
        if (c->trap_label[TRAP_UNREACHABLE] < 0)
            c->trap_label[TRAP_UNREACHABLE] = wb_new_label(c);
        wb_jump_to(c, c->trap_label[TRAP_UNREACHABLE], x_jmp(&c->b));
        c->dead = 1;
        return 1;
    case 0x01:                                          /* nop */
        return 1;
    case 0x02:                                          /* block */
        wb_spill_all(c);
        open_block(c, F_BLOCK);
        return 1;
    case 0x03:                                          /* loop */
        wb_spill_all(c);
        f = open_block(c, F_LOOP);
        if (!f)
            return 1;
        c->gpr_used = c->xmm_used = 0;
        wb_bind(c, f->label);
        count_loop_and_look(c, f);
        return 1;
    case 0x04: {                                        /* if */
        wb_value cond = wb_pop(c);     /* (in its slot, it stays there: no entry is) */
        wb_spill_all(c);        /* movs only: a comparison's flags survive */
        f = open_block(c, F_IF);
        if (!f)
            return 1;
        int cc = condition(c, cond);
        f->else_label = wb_new_label(c);
        if (!c->m->count_branches) {
            wb_jump_to(c, f->else_label, x_jcc(&c->b, cc ^ 1));
            return 1;
        }
        /* counted on each way (after the block type: the site's offset is past it) */
        int32_t site = new_site(c, 2);
        size_t then = x_jcc(&c->b, cc);
        count(c, site);
        wb_jump_to(c, f->else_label, x_jmp(&c->b));
        x_patch32(&c->b, then, (uint32_t)(c->b.len - (then + 4)));
        count(c, site + 8);
        return 1;
    }
    case 0x05:
        op_else(c);
        return 1;
    case 0x0B:
        op_end(c);
        return 1;
    case 0x0C: {                                        /* br */
        uint32_t depth = wb_u32(c);
        if (depth >= c->nframes) {
            wb_refuse(c, "branch depth");
            return 1;
        }
        jump(c, &c->frames[c->nframes - 1 - depth]);
        c->dead = 1;
        return 1;
    }
    case 0x0D:
        op_br_if(c, wb_u32(c));
        return 1;
    case 0x0E:
        op_br_table(c);
        c->dead = 1;
        return 1;
    case 0x0F:                                          /* return */
        wb_emit_return(c);
        c->dead = 1;
        return 1;
    default:
        return 0;
    }
}
