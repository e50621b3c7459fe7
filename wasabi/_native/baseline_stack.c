/* The baseline compiler's bookkeeping: reading the body, the frame's slots, the
 * abstract operand stack and its registers, labels and their fixups, trap stubs
 * (see baseline.h for the design).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

/* ---- reading the body ---- */

void wb_refuse(wb_ctx* c, const char* why) {
    if (!c->refused)
        c->refused = why;
    c->p = c->end;          /* stop reading */
}

uint64_t wb_leb(wb_ctx* c, int is_signed, int bits) {
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

uint32_t wb_u32(wb_ctx* c) { return (uint32_t)wb_leb(c, 0, 32); }
int32_t wb_s32(wb_ctx* c) { return (int32_t)wb_leb(c, 1, 32); }
int64_t wb_s64(wb_ctx* c) { return (int64_t)wb_leb(c, 1, 64); }

/* ---- slots and the operand stack ---- */

int wb_is_float(uint8_t type) { return type == VT_F32 || type == VT_F64; }

/* i32, i64, f32 or f64 all: the types the baseline compiles */
int wb_plain_types(const uint8_t* types, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (types[i] != VT_I32 && types[i] != VT_I64 && types[i] != VT_F32 && types[i] != VT_F64)
            return 0;
    return 1;
}
int wb_is64(uint8_t type) { return type == VT_I64 || type == VT_F64; }

xmem wb_local(wb_ctx* c, uint32_t index) {
    (void)c;
    return M(RBP, -(int32_t)(HEADER + 8 * (index + 1)));
}

int wb_local_reg(wb_ctx* c, uint32_t index) {
    for (uint32_t k = 0; k < c->ncached; k++)
        if (c->cached_local[k] == index)
            return c->cached_reg[k];
    return -1;
}

void wb_count_use(wb_ctx* c, uint32_t index) {
    if (!c->local_uses || index >= c->nlocals || wb_is_float(c->local_types[index]))
        return;                     /* (no callee-saved xmm register to keep it in) */
    unsigned loops = 0;
    for (uint32_t i = 0; i < c->nframes; i++)
        loops += c->frames[i].kind == F_LOOP;
    c->local_uses[index] += 1ull << (4 * (loops < 8 ? loops : 8));    /* 16x a loop level */
}

xmem wb_slot(wb_ctx* c, uint32_t depth) {
    return M(RBP, -(int32_t)(HEADER + 8 * (c->nlocals + depth + 1)));
}

int wb_grow(wb_ctx* c, void** items, uint32_t count, uint32_t* cap, size_t size) {
    if (count < *cap)
        return 1;
    uint32_t more = *cap ? *cap * 2 : 64;
    void* grown = realloc(*items, (size_t)more * size);
    if (!grown) {
        wb_refuse(c, "out of memory");
        return 0;
    }
    *items = grown;
    *cap = more;
    return 1;
}

wb_value* wb_push(wb_ctx* c, uint8_t kind, uint8_t type) {
    if (!wb_grow(c, (void**)&c->stack, c->sp, &c->stack_cap, sizeof *c->stack))
        return NULL;
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

void wb_spill_all(wb_ctx* c) { wb_spill_below(c, c->sp); }

void wb_spill_below(wb_ctx* c, uint32_t n) {
    for (uint32_t i = 0; i < n && i < c->sp; i++)
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

/* a free register of the class, spilling the deepest value held in one if none is */
static int alloc(wb_ctx* c, int is_float) {
    uint32_t* used = is_float ? &c->xmm_used : &c->gpr_used;
    uint32_t pool = is_float ? XMM_POOL_MASK : GPR_POOL_MASK;
    int r = lowest_free(*used, pool);
    if (r < 0) {
        spill_one(c, is_float);
        r = lowest_free(*used, pool);
        if (r < 0)
            return 0;       /* refused already */
    }
    *used |= 1u << r;
    return r;
}

int wb_alloc_gpr(wb_ctx* c) { return alloc(c, 0); }

int wb_alloc_xmm(wb_ctx* c) { return alloc(c, 1); }

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
void wb_load_into(wb_ctx* c, wb_value* v, int r, uint32_t at) {
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
    wb_load_into(c, v, r, at);
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
    if (!wb_grow(c, (void**)&c->labels, c->nlabels, &c->labels_cap, sizeof *c->labels))
        return 0;
    c->labels[c->nlabels].pos = -1;
    c->labels[c->nlabels].fixups = -1;
    return (int)c->nlabels++;
}

void wb_add_fixup(wb_ctx* c, int label, size_t at, size_t base) {
    if (c->refused || label < 0 || (uint32_t)label >= c->nlabels)
        return;
    if (!wb_grow(c, (void**)&c->fixups, c->nfixups, &c->fixups_cap, sizeof *c->fixups))
        return;
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
void wb_jump_to(wb_ctx* c, int label, size_t at) { wb_add_fixup(c, label, at, at + 4); }

void wb_resolve_fixups(wb_ctx* c) {
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

void wb_emit_trap_stubs(wb_ctx* c) {
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
