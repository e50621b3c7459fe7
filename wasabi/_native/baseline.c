/* The baseline compiler's driver: the frame, the abstract operand stack and its
 * registers, labels, and structured control flow (see baseline.h for the design).
 * The other opcodes are in baseline_ops.c.
 */
#include <cpuid.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

/* saved rbx, r12, r13, one temporary (TEMP_SLOT: a call's record) */
#define HEADER 32
#define SAVED 24
#define MAX_LOCALS 4096
#define MAX_FRAME (48 * 1024)

/* ---- reading the body ---- */

void wb_refuse(wb_ctx* c, const char* why) {
    if (!c->refused)
        c->refused = why;
    c->p = c->end;          /* stop reading */
}

static uint64_t read_leb(wb_ctx* c, int is_signed, int bits) {
    uint64_t result = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        if (c->p >= c->end || shift >= 70) {
            wb_refuse(c, "truncated immediate");
            return 0;
        }
        byte = *c->p++;
        if (shift < 64)
            result |= (uint64_t)(byte & 0x7F) << shift;
        shift += 7;
    } while (byte & 0x80);
    if (is_signed && shift < 64 && (byte & 0x40))
        result |= ~0ull << shift;
    (void)bits;
    return result;
}

uint32_t wb_u32(wb_ctx* c) { return (uint32_t)read_leb(c, 0, 32); }
int32_t wb_s32(wb_ctx* c) { return (int32_t)read_leb(c, 1, 32); }
int64_t wb_s64(wb_ctx* c) { return (int64_t)read_leb(c, 1, 64); }

/* ---- slots and the operand stack ---- */

int wb_is_float(uint8_t type) { return type == VT_F32 || type == VT_F64; }
int wb_is64(uint8_t type) { return type == VT_I64 || type == VT_F64; }

xmem wb_local(wb_ctx* c, uint32_t index) {
    (void)c;
    return M(RBP, -(int32_t)(HEADER + 8 * (index + 1)));
}

xmem wb_slot(wb_ctx* c, uint32_t depth) {
    return M(RBP, -(int32_t)(HEADER + 8 * (c->nlocals + depth + 1)));
}

wb_value* wb_push(wb_ctx* c, uint8_t kind, uint8_t type) {
    if (c->sp == c->stack_cap) {
        uint32_t cap = c->stack_cap ? c->stack_cap * 2 : 64;
        wb_value* s = realloc(c->stack, cap * sizeof *s);
        if (!s) {
            wb_refuse(c, "out of memory");
            c->sp = 0;
            s = c->stack;
            if (!s)
                return NULL;
        } else {
            c->stack = s;
            c->stack_cap = cap;
        }
    }
    wb_value* v = &c->stack[c->sp++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    v->type = type;
    if (c->sp > c->max_depth)
        c->max_depth = c->sp;
    return v;
}

void wb_push_reg(wb_ctx* c, uint8_t type, int reg) {
    wb_value* v = wb_push(c, K_REG, type);
    if (!v)
        return;
    v->reg = (uint8_t)reg;
    if (wb_is_float(type))
        c->xmm_used |= 1u << reg;
    else
        c->gpr_used |= 1u << reg;
}

void wb_push_const(wb_ctx* c, uint8_t type, uint64_t bits) {
    wb_value* v = wb_push(c, K_CONST, type);
    if (v)
        v->imm = bits;
}

static wb_value nothing(uint8_t type) {
    wb_value v;
    memset(&v, 0, sizeof v);
    v.kind = K_CONST;
    v.type = type;
    return v;
}

/* the top value, popped; its register stays marked used until wb_free_value */
wb_value wb_pop(wb_ctx* c) {
    if (!c->sp) {
        wb_refuse(c, "operand stack underflow");
        return nothing(VT_I32);
    }
    return c->stack[--c->sp];
}

void wb_free_value(wb_ctx* c, wb_value v) {
    if (v.kind != K_REG)
        return;
    if (wb_is_float(v.type))
        c->xmm_used &= ~(1u << v.reg);
    else
        c->gpr_used &= ~(1u << v.reg);
}

/* store stack entry `at` into its slot (no flags changed) */
static void spill(wb_ctx* c, uint32_t at) {
    wb_value* v = &c->stack[at];
    xmem slot = wb_slot(c, at);
    switch (v->kind) {
    case K_REG:
        if (wb_is_float(v->type)) {
            x_fstore(&c->b, v->type == VT_F64, slot, v->reg);
            c->xmm_used &= ~(1u << v->reg);
        } else {
            x_store(&c->b, 1, slot, v->reg);
            c->gpr_used &= ~(1u << v->reg);
        }
        break;
    case K_CONST:
        if ((int64_t)v->imm >= INT32_MIN && (int64_t)v->imm <= INT32_MAX) {
            x_store_imm(&c->b, 1, slot, (int32_t)v->imm);
        } else {
            x_mov_imm_keep_flags(&c->b, 1, SCRATCH, v->imm);
            x_store(&c->b, 1, slot, SCRATCH);
        }
        break;
    case K_CMP:
        wb_materialize_cmp(c);
        spill(c, at);
        return;
    default:
        return;
    }
    v->kind = K_SLOT;
}

void wb_spill_all(wb_ctx* c) {
    for (uint32_t i = 0; i < c->sp; i++)
        if (c->stack[i].kind != K_SLOT)
            spill(c, i);
}

static int owner_of(wb_ctx* c, int reg, int is_float) {
    for (uint32_t i = 0; i < c->sp; i++) {
        wb_value* v = &c->stack[i];
        if (v->kind == K_REG && v->reg == reg && wb_is_float(v->type) == is_float)
            return (int)i;
    }
    return -1;
}

static int lowest_free(uint32_t used, uint32_t pool) {
    uint32_t free_ = pool & ~used;
    return free_ ? __builtin_ctz(free_) : -1;
}

/* spill the deepest register value of the class: the one used last */
static void spill_one(wb_ctx* c, int is_float) {
    for (uint32_t i = 0; i < c->sp; i++) {
        wb_value* v = &c->stack[i];
        if (v->kind == K_REG && wb_is_float(v->type) == is_float) {
            spill(c, i);
            return;
        }
    }
    wb_refuse(c, "no register to spill");
}

int wb_alloc_gpr(wb_ctx* c) {
    int r = lowest_free(c->gpr_used, GPR_POOL_MASK);
    if (r < 0) {
        spill_one(c, 0);
        r = lowest_free(c->gpr_used, GPR_POOL_MASK);
        if (r < 0)
            return RAX;     /* refused already */
    }
    c->gpr_used |= 1u << r;
    return r;
}

int wb_alloc_xmm(wb_ctx* c) {
    int r = lowest_free(c->xmm_used, XMM_POOL_MASK);
    if (r < 0) {
        spill_one(c, 1);
        r = lowest_free(c->xmm_used, XMM_POOL_MASK);
        if (r < 0)
            return 0;
    }
    c->xmm_used |= 1u << r;
    return r;
}

int wb_alloc_for(wb_ctx* c, uint8_t type) {
    return wb_is_float(type) ? wb_alloc_xmm(c) : wb_alloc_gpr(c);
}

/* make general register `reg` free: its value moves to another register or its slot */
void wb_evict(wb_ctx* c, int reg) {
    int at = owner_of(c, reg, 0);
    if (at < 0)
        return;             /* free, or held by a popped value the caller is using */
    int r = lowest_free(c->gpr_used, GPR_POOL_MASK);
    if (r >= 0) {
        x_mov_rr(&c->b, 1, r, reg);
        c->stack[at].reg = (uint8_t)r;
        c->gpr_used |= 1u << r;
        c->gpr_used &= ~(1u << reg);
    } else {
        spill(c, at);
    }
}

/* load value `v` (not in a register) into register r */
static void load_into(wb_ctx* c, wb_value* v, int r, uint32_t at) {
    if (v->kind == K_CONST) {
        if (wb_is_float(v->type)) {
            x_mov_imm_keep_flags(&c->b, 1, SCRATCH, v->imm);
            x_movd_to_x(&c->b, v->type == VT_F64, r, SCRATCH);
        } else {
            x_mov_imm_keep_flags(&c->b, wb_is64(v->type), r, v->imm);
        }
    } else if (v->kind == K_SLOT) {
        if (wb_is_float(v->type))
            x_fload(&c->b, v->type == VT_F64, r, wb_slot(c, at));
        else
            x_load(&c->b, wb_is64(v->type), r, wb_slot(c, at));
    }
}

/* entry `at` into a register of its class (loaded if needed); returns it */
int wb_to_reg(wb_ctx* c, uint32_t at) {
    wb_value* v = &c->stack[at];
    if (v->kind == K_CMP)
        wb_materialize_cmp(c);
    if (v->kind == K_REG)
        return v->reg;
    int r = wb_alloc_for(c, v->type);
    v = &c->stack[at];      /* (spilling does not move entries, but be plain) */
    load_into(c, v, r, at);
    v->kind = K_REG;
    v->reg = (uint8_t)r;
    return r;
}

/* pop the top value into a register (still marked used: the caller owns it) */
int wb_pop_reg(wb_ctx* c) {
    if (!c->sp) {
        wb_refuse(c, "operand stack underflow");
        return RAX;
    }
    int r = wb_to_reg(c, c->sp - 1);
    c->sp--;
    return r;
}

/* the comparison on top of the stack becomes a 0/1 i32 in a register */
void wb_materialize_cmp(wb_ctx* c) {
    wb_value* v = &c->stack[c->sp - 1];
    if (v->kind != K_CMP)
        return;
    int cc = v->cc;
    int r = wb_alloc_gpr(c);     /* (a spill is a mov: the flags survive) */
    v = &c->stack[c->sp - 1];
    x_setcc(&c->b, cc, r);
    x_movzx8_rr(&c->b, r, r);
    v->kind = K_REG;
    v->reg = (uint8_t)r;
}

/* ---- labels ---- */

int wb_new_label(wb_ctx* c) {
    if (c->nlabels == c->labels_cap) {
        uint32_t cap = c->labels_cap ? c->labels_cap * 2 : 64;
        wb_label* l = realloc(c->labels, cap * sizeof *l);
        if (!l) {
            wb_refuse(c, "out of memory");
            return 0;
        }
        c->labels = l;
        c->labels_cap = cap;
    }
    c->labels[c->nlabels].pos = -1;
    c->labels[c->nlabels].fixups = -1;
    return (int)c->nlabels++;
}

static void add_fixup(wb_ctx* c, int label, size_t at, size_t base) {
    if (c->refused || label < 0 || (uint32_t)label >= c->nlabels)
        return;
    if (c->nfixups == c->fixups_cap) {
        uint32_t cap = c->fixups_cap ? c->fixups_cap * 2 : 128;
        wb_fixup* f = realloc(c->fixups, cap * sizeof *f);
        if (!f) {
            wb_refuse(c, "out of memory");
            return;
        }
        c->fixups = f;
        c->fixups_cap = cap;
    }
    wb_fixup* f = &c->fixups[c->nfixups];
    f->at = (uint32_t)at;
    f->base = (uint32_t)base;
    f->next = c->labels[label].fixups;
    c->labels[label].fixups = (int32_t)c->nfixups++;
}

void wb_bind(wb_ctx* c, int label) {
    if (c->refused)
        return;
    c->labels[label].pos = (int64_t)c->b.len;
}

/* the rel32 at `at` (of a jmp/jcc ending at at+4) goes to `label` */
void wb_jump_to(wb_ctx* c, int label, size_t at) { add_fixup(c, label, at, at + 4); }

static void resolve_fixups(wb_ctx* c) {
    for (uint32_t l = 0; l < c->nlabels && !c->refused; l++) {
        for (int32_t f = c->labels[l].fixups; f >= 0; f = c->fixups[f].next) {
            if (c->labels[l].pos < 0) {
                wb_refuse(c, "unbound label");
                return;
            }
            x_patch32(&c->b, c->fixups[f].at, (uint32_t)(c->labels[l].pos - c->fixups[f].base));
        }
    }
}

void wb_trap_if(wb_ctx* c, int cc, int code) {
    if (code < 0 || code >= WB_TRAP_CODES)
        return;
    if (c->trap_label[code] < 0)
        c->trap_label[code] = wb_new_label(c);
    wb_jump_to(c, c->trap_label[code], x_jcc(&c->b, cc));
}

void wb_call_abs(wb_ctx* c, const void* fn) {
    x_mov_imm(&c->b, 1, RAX, (uint64_t)(uintptr_t)fn);
    x_call_r(&c->b, RAX);
}

static void emit_trap_stubs(wb_ctx* c) {
    for (int code = 0; code < WB_TRAP_CODES; code++) {
        if (c->trap_label[code] < 0)
            continue;
        wb_bind(c, c->trap_label[code]);
        x_mov_imm(&c->b, 0, RDI, (uint64_t)code);
        wb_call_abs(c, (const void*)wasabi_rt_trap);
        x_byte(&c->b, 0x0F);        /* ud2: never returns */
        x_byte(&c->b, 0x0B);
    }
}

/* ---- frames: prologue, epilogue ---- */

static void emit_epilogue(wb_ctx* c) {
    x_load(&c->b, 1, RBX, M(RBP, -8));
    x_load(&c->b, 1, R12, M(RBP, -16));
    x_load(&c->b, 1, R13, M(RBP, -24));
    x_byte(&c->b, 0xC9);            /* leave */
    x_byte(&c->b, 0xC3);            /* ret */
}

/* return the top value (not popped: a br_if's fall-through keeps it) */
static void emit_return(wb_ctx* c) {
    if (c->sig->nresults == 1 && c->sp) {
        wb_value* v = &c->stack[c->sp - 1];
        uint32_t at = c->sp - 1;
        if (wb_is_float(v->type)) {
            if (v->kind == K_REG)
                x_fmov(&c->b, 0, v->reg);
            else
                load_into(c, v, 0, at);
        } else if (v->kind == K_REG) {
            x_mov_rr(&c->b, 1, RAX, v->reg);
        } else {
            load_into(c, v, RAX, at);
        }
    }
    emit_epilogue(c);
}

static const int INT_ARGS[6] = {RDI, RSI, RDX, RCX, R8, R9};

static void emit_prologue(wb_ctx* c) {
    xbuf* b = &c->b;
    x_byte(b, 0x55);                                    /* push rbp */
    x_mov_rr(b, 1, RBP, RSP);
    x_byte(b, 0x53);                                    /* push rbx */
    x_byte(b, 0x41);                                    /* push r12 */
    x_byte(b, 0x54);
    x_byte(b, 0x41);                                    /* push r13 */
    x_byte(b, 0x55);
    x_op_rr(b, 0, 1, "\x81", 1, ALU_SUB, RSP, 0);       /* sub rsp, imm32 (patched) */
    c->frame_size_at = b->len;
    x_u32(b, 0);
    x_mov_rr(b, 1, VMCTX_REG, RDI);
    x_load(b, 1, MEMBASE_REG, M(RDI, (int32_t)offsetof(VMContext, mem_base)));
    if (c->m->count_branches)
        c->out->sites_at = (uint32_t)x_movabs(b, SITES_REG, 0);
    /* parameters into their local slots */
    int ints = 1, floats = 0, stack = 0;
    for (uint32_t i = 0; i < c->nparams; i++) {
        uint8_t t = c->local_types[i];
        xmem slot = wb_local(c, i);
        if (wb_is_float(t) && floats < 8) {
            x_fstore(b, t == VT_F64, slot, floats++);
        } else if (!wb_is_float(t) && ints < 6) {
            x_store(b, 1, slot, INT_ARGS[ints++]);
        } else {
            x_load(b, 1, SCRATCH, M(RBP, 16 + 8 * stack++));
            x_store(b, 1, slot, SCRATCH);
        }
    }
    /* the other locals start at zero: 16 bytes a store (rep stosq costs tens of
     * cycles to start, on every call) */
    uint32_t zeros = c->nlocals - c->nparams;
    if (zeros > 64) {
        x_op_rr(b, 0, 0, "\x31", 1, RAX, RAX, 0);       /* xor eax, eax */
        x_lea(b, RDI, wb_local(c, c->nlocals - 1));
        x_mov_imm(b, 0, RCX, zeros);
        x_byte(b, 0xF3);                                /* rep stosq */
        x_byte(b, 0x48);
        x_byte(b, 0xAB);
    } else if (zeros > 1) {
        xmem lowest = wb_local(c, c->nlocals - 1);
        x_sse_rr(b, 0, 0, 0x57, XSCRATCH, XSCRATCH);    /* xorps */
        for (uint32_t k = 0; k < zeros / 2; k++)
            x_sse_rm(b, 0, 0, 0x11, XSCRATCH, M(RBP, lowest.disp + 16 * (int32_t)k));  /* movups */
        if (zeros & 1)
            x_store_imm(b, 1, M(RBP, lowest.disp + 16 * (int32_t)(zeros / 2)), 0);
    } else if (zeros) {
        x_store_imm(b, 1, wb_local(c, c->nparams), 0);
    }
    /* the stack check (translator.stack_check_lines): rsp below this thread's limit
     * calls wasabi_rt_stack_slow, which traps or polls. The limit is thread-local, at
     * a constant offset from fs (as LLVM's code reads it), or else read through vmctx */
    int64_t tpoff = wrt_stack_limit_tpoff();
    if (tpoff >= INT32_MIN && tpoff <= INT32_MAX) {
        x_byte(b, 0x64);                                /* cmp rsp, fs:[tpoff] */
        x_byte(b, 0x48);
        x_byte(b, 0x3B);
        x_byte(b, 0x24);
        x_byte(b, 0x25);
        x_u32(b, (uint32_t)tpoff);
    } else {
        x_load(b, 1, RAX, M(VMCTX_REG, (int32_t)offsetof(VMContext, stack_limit_tpoff)));
        x_byte(b, 0x64);                                /* mov rax, fs:[rax] */
        x_load(b, 1, RAX, M(RAX, 0));
        x_alu_rr(b, ALU_CMP, 1, RSP, RAX);
    }
    size_t ok = x_jcc(b, CC_AE);
    if (c->m->interruptible)
        x_mov_rr(b, 1, RDI, VMCTX_REG);
    else
        x_op_rr(b, 0, 0, "\x31", 1, RDI, RDI, 0);
    wb_call_abs(c, (const void*)wasabi_rt_stack_slow);
    x_patch32(b, ok, (uint32_t)(b->len - (ok + 4)));
    if (c->m->counts) {                                 /* PGO: one more call */
        x_mov_imm(b, 1, RAX, (uint64_t)(uintptr_t)&c->m->counts[2 * (size_t)c->index]);
        x_alu_mi(b, ALU_ADD, 1, M(RAX, 0), 1);
    }
}

/* ---- control ---- */

static wb_frame* push_frame(wb_ctx* c, uint8_t kind) {
    if (c->nframes == c->frames_cap) {
        uint32_t cap = c->frames_cap ? c->frames_cap * 2 : 32;
        wb_frame* f = realloc(c->frames, cap * sizeof *f);
        if (!f) {
            wb_refuse(c, "out of memory");
            return NULL;
        }
        c->frames = f;
        c->frames_cap = cap;
    }
    wb_frame* f = &c->frames[c->nframes++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->label = wb_new_label(c);
    f->else_label = -1;
    return f;
}

static const uint8_t ONE_TYPE[4] = {VT_F64, VT_F32, VT_I64, VT_I32};

static int block_type(wb_ctx* c, uint32_t* np, const uint8_t** p, uint32_t* nr, const uint8_t** r) {
    int64_t bt = read_leb(c, 1, 33);
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
    wb_frame* f = push_frame(c, kind);
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
        emit_return(c);
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
    x_load(b, 1, RCX, M(RAX, 0));
    x_alu_ri(b, ALU_ADD, 1, RCX, 1);
    x_store(b, 1, M(RAX, 0), RCX);
    /* translator.loop_entry: the first eligible loops of a small function look for
     * an optimised build's entry at their header every osr_every iterations */
    int eligible = f->nparams == 0 && f->height == 0;
    if (!eligible || !c->osr_ok)
        return;
    if (c->osr_eligible++ >= m->osr_max_entries || c->out->nosr >= WB_MAX_OSR)
        return;
    x_op_rr(b, 0, 0, "\xF7", 1, 0, RCX, 0);         /* test ecx, every - 1 */
    x_u32(b, m->osr_every - 1);
    size_t skip1 = x_jcc(b, CC_NE);
    c->out->osr_at[c->out->nosr] = (uint32_t)x_movabs(b, RAX, 0);
    c->out->osr_loop[c->out->nosr++] = k;
    x_load(b, 1, RAX, M(RAX, 0));
    x_test_rr(b, 1, RAX, RAX);
    size_t skip2 = x_jcc(b, CC_E);
    for (uint32_t i = 0; i < c->nlocals; i++) {
        x_load(b, 1, SCRATCH, wb_local(c, i));
        x_store(b, 1, M(RSP, (int32_t)(16 * i)), SCRATCH);
    }
    if (16 * c->nlocals > c->outgoing)
        c->outgoing = 16 * c->nlocals;
    x_mov_rr(b, 1, RDI, VMCTX_REG);
    x_mov_rr(b, 1, RSI, RSP);
    x_call_r(b, RAX);
    emit_epilogue(c);               /* its result is ours, in rax or xmm0 */
    x_patch32(b, skip1, (uint32_t)(b->len - (skip1 + 4)));
    x_patch32(b, skip2, (uint32_t)(b->len - (skip2 + 4)));
}

/* PGO: a branch site of `width` counters at the current body offset (the end of
 * its instruction): the displacement of its first counter from r13 */
static int32_t new_site(wb_ctx* c, uint32_t width) {
    wb_result* out = c->out;
    if (out->nsites == c->sites_cap) {
        uint32_t cap = c->sites_cap ? c->sites_cap * 2 : 16;
        wb_site* s = realloc(out->sites, cap * sizeof *s);
        if (!s) {
            wb_refuse(c, "out of memory");
            return 0;
        }
        out->sites = s;
        c->sites_cap = cap;
    }
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
        c->stack[c->sp] = index;        /* (load_into reads its slot) */
        load_into(c, &index, RAX, c->sp);
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
        add_fixup(c, stubs[i], table + 4 * i, table);
    wb_jump_to(c, stubs[n], to_default);
    free(stubs);
    free(depths);
}

static void op_end(wb_ctx* c) {
    wb_frame f = c->frames[--c->nframes];
    if (f.kind == F_FUNC) {
        if (!c->dead)
            emit_return(c);
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

static void skip_dead(wb_ctx* c) {
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
        read_leb(c, 1, 33);
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
        read_leb(c, 1, 33);
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
static int control(wb_ctx* c, uint8_t op) {
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
        emit_return(c);
        c->dead = 1;
        return 1;
    default:
        return 0;
    }
}

/* ---- the function ---- */

static int plain_types(const uint8_t* types, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (types[i] != VT_I32 && types[i] != VT_I64 && types[i] != VT_F32 && types[i] != VT_F64)
            return 0;
    return 1;
}

static int set_locals(wb_ctx* c, const uint8_t* declared, uint32_t ndeclared) {
    uint64_t total = (uint64_t)c->nparams + ndeclared;
    if (total > MAX_LOCALS) {
        wb_refuse(c, "too many locals");
        return 0;
    }
    c->nlocals = (uint32_t)total;
    c->local_types = malloc(total ? total : 1);
    if (!c->local_types) {
        wb_refuse(c, "out of memory");
        return 0;
    }
    memcpy(c->local_types, c->sig->params, c->nparams);
    memcpy(c->local_types + c->nparams, declared, ndeclared);
    if (!plain_types(c->local_types, c->nlocals)) {
        wb_refuse(c, "a local of a type the baseline does not compile");
        return 0;
    }
    return 1;
}

static void run(wb_ctx* c) {
    wb_frame* f = push_frame(c, F_FUNC);
    if (!f)
        return;
    f->nresults = c->sig->nresults;
    f->results = c->sig->results;
    while (c->nframes && !c->refused) {
        if (c->dead)
            skip_dead(c);
        if (c->p >= c->end) {
            wb_refuse(c, "body ends inside a block");
            return;
        }
        uint8_t op = *c->p++;
        if (c->sp && c->stack[c->sp - 1].kind == K_CMP && op != 0x0D && op != 0x04
            && op != 0x1B && op != 0x45)
            wb_materialize_cmp(c);
        if (control(c, op))
            continue;
        if (!wb_op(c, op) && !c->refused)
            wb_refuse(c, "instruction not in the baseline");
    }
}

void wb_compile(const wb_module* m, uint32_t index, const uint8_t* locals, uint32_t nlocals,
                const uint8_t* body, size_t len, wb_result* out) {
    memset(out, 0, sizeof *out);
    wb_ctx ctx;
    wb_ctx* c = &ctx;
    memset(c, 0, sizeof *c);
    c->m = m;
    c->index = index;
    c->p = body;
    c->end = body + len;
    c->out = out;
    c->body = body;
    for (int i = 0; i < WB_TRAP_CODES; i++)
        c->trap_label[i] = -1;
    if (index < m->nimported_funcs || index >= m->nfuncs || m->func_types[index] >= m->ntypes) {
        out->refused = "not a defined function";
        return;
    }
    c->sig = &m->types[m->func_types[index]];
    c->nparams = c->sig->nparams;
    if (c->sig->nresults > 1 || !plain_types(c->sig->params, c->sig->nparams)
        || !plain_types(c->sig->results, c->sig->nresults)) {
        out->refused = "a signature the baseline does not compile";
        return;
    }
    c->osr_ok = m->counts && len <= m->osr_max_body;
    if (set_locals(c, locals, nlocals)) {
        emit_prologue(c);
        run(c);
        emit_trap_stubs(c);
        resolve_fixups(c);
    }
    /* below the pushes (SAVED bytes): the temporary, the slots, the outgoing
     * arguments; rsp 16-aligned after it all */
    uint64_t need = 8 + 8ull * (c->nlocals + c->max_depth) + c->outgoing;
    uint64_t frame = (SAVED + need + 15) / 16 * 16 - SAVED;
    if (!c->refused && frame > MAX_FRAME)
        wb_refuse(c, "frame too large");
    if (!c->refused && c->b.oom)
        wb_refuse(c, "out of memory");
    if (!c->refused && c->nframes)
        wb_refuse(c, "body ends inside a block");
    if (!c->refused) {
        x_patch32(&c->b, c->frame_size_at, (uint32_t)frame);
        out->code = c->b.p;
        out->size = c->b.len;
        c->b.p = NULL;
    } else {
        out->refused = c->refused;
        out->nosr = 0;
        free(out->sites);
        out->sites = NULL;
        out->nsites = 0;
    }
    free(c->b.p);
    free(c->stack);
    free(c->frames);
    free(c->labels);
    free(c->fixups);
    free(c->local_types);
}

int wb_supported(void) {
#if defined(__x86_64__) && defined(__linux__)
    unsigned a, b, cx, d;
    if (!__get_cpuid(1, &a, &b, &cx, &d))
        return 0;
    int sse41 = (cx >> 19) & 1, popcnt = (cx >> 23) & 1;
    if (!__get_cpuid(0x80000001, &a, &b, &cx, &d))
        return 0;
    int lzcnt = (cx >> 5) & 1;
    if (!__get_cpuid_count(7, 0, &a, &b, &cx, &d))
        return 0;
    int bmi1 = (b >> 3) & 1;
    return sse41 && popcnt && lzcnt && bmi1;
#else
    return 0;
#endif
}
