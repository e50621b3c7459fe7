/* The baseline compiler's opcodes other than control flow: variables, memory,
 * integers, the 0xFC prefix, and the opcode dispatch (see baseline.h for the design).
 * Floats are in baseline_float.c, calls in baseline_calls.c.
 *
 * An operation pops its operands before it allocates a register for its result:
 * a popped value is no stack entry, so a spill never takes its register away.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "builtins.h"
#include "runtime.h"
#include "vmctx.h"

#define VM(field) M(VMCTX_REG, (int32_t)offsetof(VMContext, field))

int wb_fits_imm32(wb_value v) {
    return !wb_is64(v.type) || ((int64_t)v.imm >= INT32_MIN && (int64_t)v.imm <= INT32_MAX);
}

/* a popped value in a register of its own (loaded from where it was) */
int wb_own_reg(wb_ctx* c, wb_value v, uint32_t at) {
    if (v.kind == K_REG)
        return v.reg;
    c->stack[at] = v;               /* at == c->sp: just above the stack */
    c->sp++;
    int r = wb_to_reg(c, at);
    c->sp--;
    return r;
}

/* ---- variables ---- */

static void load_to(wb_ctx* c, uint8_t t, int r, xmem m) {
    if (wb_is_float(t))
        x_fload(&c->b, t == VT_F64, r, m);
    else
        x_load(&c->b, wb_is64(t), r, m);
}

static void store_from(wb_ctx* c, uint8_t t, xmem m, int r) {
    if (wb_is_float(t))
        x_fstore(&c->b, t == VT_F64, m, r);
    else
        x_store(&c->b, 1, m, r);
}

void wb_store_value(wb_ctx* c, uint32_t at, xmem m) {
    wb_value* v = &c->stack[at];
    if (v->kind == K_CONST && wb_fits_imm32(*v) && (wb_is64(v->type) || v->imm <= INT32_MAX)) {
        x_store_imm(&c->b, 1, m, (int32_t)v->imm);
        return;
    }
    if (v->kind == K_CONST) {
        x_mov_imm(&c->b, 1, SCRATCH, v->imm);
        x_store(&c->b, 1, m, SCRATCH);
        return;
    }
    if (v->kind == K_SLOT) {
        x_load(&c->b, 1, SCRATCH, wb_slot(c, at));
        x_store(&c->b, 1, m, SCRATCH);
        return;
    }
    store_from(c, v->type, m, wb_to_reg(c, at));
}

static void local_get(wb_ctx* c, uint32_t i) {
    if (i >= c->nlocals) {
        wb_refuse(c, "local index");
        return;
    }
    wb_count_use(c, i);
    uint8_t t = c->local_types[i];
    int r = wb_alloc_for(c, t);
    int cached = wb_local_reg(c, i);
    if (cached >= 0)
        x_mov_rr(&c->b, wb_is64(t), r, cached);     /* a copy: the local may change */
    else
        load_to(c, t, r, wb_local(c, i));
    wb_push_reg(c, t, r);
}

/* the value at stack[at] (not popped) into the register of a cached local (an i32
 * with its upper half zero, as in every register) */
static void set_cached(wb_ctx* c, uint32_t at, int reg) {
    wb_value* v = &c->stack[at];
    if (v->kind == K_CONST || v->kind == K_SLOT)
        wb_load_into(c, v, reg, at);
    else
        x_mov_rr(&c->b, wb_is64(v->type), reg, wb_to_reg(c, at));
}

static void local_set(wb_ctx* c, uint32_t i, int tee) {
    if (i >= c->nlocals || !c->sp) {
        wb_refuse(c, "local index");
        return;
    }
    wb_count_use(c, i);
    int cached = wb_local_reg(c, i);
    if (cached >= 0)
        set_cached(c, c->sp - 1, cached);
    else
        wb_store_value(c, c->sp - 1, wb_local(c, i));
    if (!tee)
        wb_free_value(c, wb_pop(c));
}

static int global_cell(wb_ctx* c, uint32_t g) {
    if (g >= c->m->nglobals || (uint64_t)g * 8 > INT32_MAX) {
        wb_refuse(c, "global index");
        return 0;
    }
    uint8_t t = c->m->global_types[g];
    if (t != VT_I32 && t != VT_I64 && t != VT_F32 && t != VT_F64) {
        wb_refuse(c, "a global of a type the baseline does not compile");
        return 0;
    }
    x_load(&c->b, 1, SCRATCH, VM(globals));
    x_load(&c->b, 1, SCRATCH, M(SCRATCH, (int32_t)(8 * g)));
    return 1;
}

static void global_get(wb_ctx* c, uint32_t g) {
    if (g >= c->m->nglobals) {
        wb_refuse(c, "global index");
        return;
    }
    uint8_t t = c->m->global_types[g];
    int r = wb_alloc_for(c, t);     /* first: a spill may use r11 */
    if (!global_cell(c, g))
        return;
    load_to(c, t, r, M(SCRATCH, 0));
    wb_push_reg(c, t, r);
}

static void global_set(wb_ctx* c, uint32_t g) {
    if (!c->sp)
        return;
    int r = wb_pop_reg(c);
    uint8_t t = c->stack[c->sp].type;
    if (!global_cell(c, g))
        return;
    if (wb_is_float(t))
        x_fstore(&c->b, t == VT_F64, M(SCRATCH, 0), r);
    else
        x_store(&c->b, wb_is64(t), M(SCRATCH, 0), r);
    c->gpr_used &= wb_is_float(t) ? ~0u : ~(1u << r);
    c->xmm_used &= wb_is_float(t) ? ~(1u << r) : ~0u;
}

static void select_(wb_ctx* c) {
    if (c->sp < 3)
        return;
    wb_value cond = wb_pop(c);
    int cc;                         /* the condition under which a is chosen */
    int cond_reg = -1;
    if (cond.kind == K_CMP) {
        cc = cond.cc;
    } else {
        cond_reg = wb_own_reg(c, cond, c->sp);
        cc = CC_NE;
    }
    int rb = wb_pop_reg(c);
    uint8_t t = c->stack[c->sp].type;
    int ra = wb_pop_reg(c);
    if (cond_reg >= 0) {            /* (after the loads: a load does not set flags,
                                       but xor-zeroing could) */
        x_test_rr(&c->b, 0, cond_reg, cond_reg);
        c->gpr_used &= ~(1u << cond_reg);
    }
    if (wb_is_float(t)) {
        size_t keep = x_jcc(&c->b, cc);
        x_fmov(&c->b, ra, rb);
        x_patch32(&c->b, keep, (uint32_t)(c->b.len - (keep + 4)));
        c->xmm_used &= ~(1u << rb);
        c->xmm_used &= ~(1u << ra);
    } else {
        x_cmov(&c->b, cc ^ 1, wb_is64(t), ra, rb);
        c->gpr_used &= ~(1u << rb);
        c->gpr_used &= ~(1u << ra);
    }
    wb_push_reg(c, t, ra);
}

/* ---- memory ---- */

/* the operand [membase + zext(address) + offset] for a popped address `a` whose
 * register (if not a constant) is `ra`; uses r11, so nothing may be allocated
 * (a spill may use r11) between this and the access */
static xmem address(wb_ctx* c, wb_value a, int ra, uint64_t offset) {
    if (a.kind == K_CONST) {
        uint64_t ea = (a.imm & 0xFFFFFFFFu) + offset;
        if (ea <= INT32_MAX)
            return M(MEMBASE_REG, (int32_t)ea);
        x_mov_imm(&c->b, 1, SCRATCH, ea);
        return MX(MEMBASE_REG, SCRATCH, 1, 0);
    }
    if (offset <= INT32_MAX)
        return MX(MEMBASE_REG, ra, 1, (int32_t)offset);
    x_mov_imm(&c->b, 1, SCRATCH, offset);
    x_alu_rr(&c->b, ALU_ADD, 1, SCRATCH, ra);
    return MX(MEMBASE_REG, SCRATCH, 1, 0);
}

static int memarg(wb_ctx* c, uint64_t* offset) {
    uint32_t align = wb_u32(c);
    if (align & 0x40) {
        if (wb_u32(c) != 0) {
            wb_refuse(c, "a memory other than the first");
            return 0;
        }
    }
    *offset = wb_u32(c);
    return !c->refused;
}

/* pop an address into a register of its own (-1 for a constant) */
static int pop_address(wb_ctx* c, wb_value* a) {
    *a = wb_pop(c);
    return a->kind == K_CONST ? -1 : wb_own_reg(c, *a, c->sp);
}

static void load(wb_ctx* c, uint8_t op) {
    uint64_t offset;
    if (!memarg(c, &offset))
        return;
    static const uint8_t types[14] = {VT_I32, VT_I64, VT_F32, VT_F64, VT_I32, VT_I32, VT_I32,
                                      VT_I32, VT_I64, VT_I64, VT_I64, VT_I64, VT_I64, VT_I64};
    uint8_t t = types[op - 0x28];
    wb_value a;
    int ra = pop_address(c, &a);
    int r = wb_is_float(t) ? wb_alloc_xmm(c) : ra >= 0 ? ra : wb_alloc_gpr(c);
    xmem m = address(c, a, ra, offset);
    xbuf* b = &c->b;
    switch (op) {
    case 0x28: x_load(b, 0, r, m); break;
    case 0x29: x_load(b, 1, r, m); break;
    case 0x2A: x_fload(b, 0, r, m); break;
    case 0x2B: x_fload(b, 1, r, m); break;
    case 0x2C: x_movsx8(b, 0, r, m); break;
    case 0x2D: case 0x31: x_movzx8(b, r, m); break;
    case 0x2E: x_movsx16(b, 0, r, m); break;
    case 0x2F: case 0x33: x_movzx16(b, r, m); break;
    case 0x30: x_movsx8(b, 1, r, m); break;
    case 0x32: x_movsx16(b, 1, r, m); break;
    case 0x34: x_movsxd(b, r, m); break;
    case 0x35: x_load(b, 0, r, m); break;
    }
    if (wb_is_float(t)) {
        c->xmm_used &= ~(1u << r);
        if (ra >= 0)
            c->gpr_used &= ~(1u << ra);
    } else {
        c->gpr_used &= ~(1u << r);
    }
    wb_push_reg(c, t, r);
}

static void store(wb_ctx* c, uint8_t op) {
    uint64_t offset;
    if (!memarg(c, &offset) || c->sp < 2)
        return;
    uint8_t t = c->stack[c->sp - 1].type;
    int v = wb_pop_reg(c);
    wb_value a;
    int ra = pop_address(c, &a);
    xmem m = address(c, a, ra, offset);
    xbuf* b = &c->b;
    switch (op) {
    case 0x36: case 0x3E: x_store(b, 0, m, v); break;
    case 0x37: x_store(b, 1, m, v); break;
    case 0x38: x_fstore(b, 0, m, v); break;
    case 0x39: x_fstore(b, 1, m, v); break;
    case 0x3A: case 0x3C: x_store8(b, m, v); break;
    case 0x3B: case 0x3D: x_store16(b, m, v); break;
    }
    if (wb_is_float(t))
        c->xmm_used &= ~(1u << v);
    else
        c->gpr_used &= ~(1u << v);
    if (ra >= 0)
        c->gpr_used &= ~(1u << ra);
}

static void memory_size(wb_ctx* c) {
    if (wb_u32(c) != 0) {
        wb_refuse(c, "a memory other than the first");
        return;
    }
    int r = wb_alloc_gpr(c);
    x_load(&c->b, 1, r, VM(memory));
    x_load(&c->b, 1, r, M(r, (int32_t)offsetof(wrt_memory, size)));
    x_shift_imm(&c->b, SH_SHR, 1, r, 16);
    wb_push_reg(c, VT_I32, r);      /* (at most 65536) */
}

static void memory_grow(wb_ctx* c) {
    if (wb_u32(c) != 0) {
        wb_refuse(c, "a memory other than the first");
        return;
    }
    const int64_t mem[1] = {0};
    wb_call_native(c, (const void*)wasabi_rt_memory_grow, 1, mem, 1, 1, VT_I32);
}

/* ---- integers ---- */

static const uint8_t INT_CC[10] = {CC_E, CC_NE, CC_L, CC_B, CC_G, CC_A, CC_LE, CC_BE,
                                   CC_GE, CC_AE};

void wb_push_cmp(wb_ctx* c, int cc) {
    wb_value* v = wb_push(c, K_CMP, VT_I32);
    if (v)
        v->cc = (uint8_t)cc;
}

static void eqz(wb_ctx* c, int w) {
    wb_value* top = &c->stack[c->sp - 1];
    if (top->kind == K_CMP && !w) {
        top->cc ^= 1;
        return;
    }
    int r = wb_pop_reg(c);
    x_test_rr(&c->b, w, r, r);
    c->gpr_used &= ~(1u << r);
    wb_push_cmp(c, CC_E);
}

/* a op b with a in a register: the ALU group and compares */
static int alu(wb_ctx* c, int op, int w) {
    uint32_t bat = c->sp - 1;
    wb_value b = wb_pop(c);
    if (b.kind == K_CONST && wb_fits_imm32(b)) {
        int ra = wb_pop_reg(c);
        x_alu_ri(&c->b, op, w, ra, (int32_t)b.imm);
        return ra;
    }
    if (b.kind == K_SLOT) {
        int ra = wb_pop_reg(c);
        x_alu_rm(&c->b, op, w, ra, wb_slot(c, bat));
        return ra;
    }
    int rb = wb_own_reg(c, b, bat);
    int ra = wb_pop_reg(c);
    x_alu_rr(&c->b, op, w, ra, rb);
    c->gpr_used &= ~(1u << rb);
    return ra;
}

static void compare(wb_ctx* c, int w, int which) {
    int ra = alu(c, ALU_CMP, w);
    c->gpr_used &= ~(1u << ra);
    wb_push_cmp(c, INT_CC[which]);
}

static void binop(wb_ctx* c, int op, int w) {
    uint8_t t = w ? VT_I64 : VT_I32;
    int ra = alu(c, op, w);
    c->gpr_used &= ~(1u << ra);
    wb_push_reg(c, t, ra);
}

static void mul(wb_ctx* c, int w) {
    uint32_t bat = c->sp - 1;
    wb_value b = wb_pop(c);
    int ra;
    if (b.kind == K_CONST && wb_fits_imm32(b)) {
        ra = wb_pop_reg(c);
        x_imul_rri(&c->b, w, ra, ra, (int32_t)b.imm);
    } else {
        int rb = wb_own_reg(c, b, bat);
        ra = wb_pop_reg(c);
        x_imul_rr(&c->b, w, ra, rb);
        c->gpr_used &= ~(1u << rb);
    }
    c->gpr_used &= ~(1u << ra);
    wb_push_reg(c, w ? VT_I64 : VT_I32, ra);
}

/* the value at stack[at] (just popped) into register `want`, which must be free */
static void into(wb_ctx* c, wb_value v, uint32_t at, int want) {
    int r = wb_own_reg(c, v, at);
    if (r != want) {
        x_mov_rr(&c->b, 1, want, r);
        c->gpr_used &= ~(1u << r);
    }
    c->gpr_used |= 1u << want;
}

/* div_s, div_u, rem_s, rem_u: rax and rdx by the hardware's rules, wasm's traps */
static void divide(wb_ctx* c, int w, int is_signed, int rem) {
    uint8_t t = w ? VT_I64 : VT_I32;
    /* both taken before either is evicted: an evicted value must not move into
     * the other one */
    c->gpr_used |= 1u << RDX;
    wb_evict(c, RAX);
    c->gpr_used |= 1u << RAX;
    wb_evict(c, RDX);
    c->gpr_used |= (1u << RAX) | (1u << RDX);
    uint32_t bat = c->sp - 1;
    wb_value b = wb_pop(c);
    int rb;
    if (b.kind == K_REG && b.reg != RAX && b.reg != RDX) {
        rb = b.reg;
    } else if (b.kind == K_REG) {       /* (evicted values moved; a popped one did not) */
        rb = wb_alloc_gpr(c);
        x_mov_rr(&c->b, 1, rb, b.reg);
    } else {
        rb = wb_own_reg(c, b, bat);
    }
    wb_value a = wb_pop(c);
    c->gpr_used &= ~(1u << RAX);
    into(c, a, c->sp, RAX);
    xbuf* x = &c->b;
    x_test_rr(x, w, rb, rb);
    wb_trap_if(c, CC_E, TRAP_INT_DIV_ZERO);
    size_t done = 0;
    if (is_signed) {
        x_alu_ri(x, ALU_CMP, w, rb, -1);
        size_t normal = x_jcc(x, CC_NE);
        if (rem) {
            x_op_rr(x, 0, 0, "\x31", 1, RDX, RDX, 0);   /* x rem -1 = 0 (idiv would fault) */
            done = x_jmp(x);
        } else {
            /* INT_MIN / -1 overflows */
            if (w) {
                x_mov_imm(x, 1, SCRATCH, 0x8000000000000000ull);
                x_alu_rr(x, ALU_CMP, 1, RAX, SCRATCH);
            } else {
                x_alu_ri(x, ALU_CMP, 0, RAX, INT32_MIN);
            }
            wb_trap_if(c, CC_E, TRAP_INT_OVERFLOW);
        }
        x_patch32(x, normal, (uint32_t)(x->len - (normal + 4)));
        x_cdq(x, w);
        x_f7(x, 7, w, rb);
    } else {
        x_op_rr(x, 0, 0, "\x31", 1, RDX, RDX, 0);
        x_f7(x, 6, w, rb);
    }
    if (done)
        x_patch32(x, done, (uint32_t)(x->len - (done + 4)));
    c->gpr_used &= ~((1u << RAX) | (1u << RDX) | (1u << rb));
    wb_push_reg(c, t, rem ? RDX : RAX);
}

static void shift(wb_ctx* c, int sh, int w) {
    uint8_t t = w ? VT_I64 : VT_I32;
    uint32_t bat = c->sp - 1;
    wb_value b = wb_pop(c);
    int ra;
    if (b.kind == K_CONST) {
        ra = wb_pop_reg(c);
        x_shift_imm(&c->b, sh, w, ra, (uint8_t)(b.imm & (w ? 63 : 31)));
    } else {
        if (!(b.kind == K_REG && b.reg == RCX)) {
            wb_evict(c, RCX);
            into(c, b, bat, RCX);
        }
        ra = wb_pop_reg(c);
        x_shift_cl(&c->b, sh, w, ra);
        c->gpr_used &= ~(1u << RCX);
    }
    c->gpr_used &= ~(1u << ra);
    wb_push_reg(c, t, ra);
}

static void unary_int(wb_ctx* c, uint8_t op, int w) {
    int r = wb_pop_reg(c);
    x_bitcount(&c->b, op, w, r, r);
    c->gpr_used &= ~(1u << r);
    wb_push_reg(c, w ? VT_I64 : VT_I32, r);
}

/* i32 ops 0x67..0x78 and i64 ops 0x79..0x8A, by their order in that range */
static void int_op(wb_ctx* c, int k, int w) {
    switch (k) {
    case 0: unary_int(c, 0xBD, w); break;       /* clz: lzcnt */
    case 1: unary_int(c, 0xBC, w); break;       /* ctz: tzcnt */
    case 2: unary_int(c, 0xB8, w); break;       /* popcnt */
    case 3: binop(c, ALU_ADD, w); break;
    case 4: binop(c, ALU_SUB, w); break;
    case 5: mul(c, w); break;
    case 6: divide(c, w, 1, 0); break;
    case 7: divide(c, w, 0, 0); break;
    case 8: divide(c, w, 1, 1); break;
    case 9: divide(c, w, 0, 1); break;
    case 10: binop(c, ALU_AND, w); break;
    case 11: binop(c, ALU_OR, w); break;
    case 12: binop(c, ALU_XOR, w); break;
    case 13: shift(c, SH_SHL, w); break;
    case 14: shift(c, SH_SAR, w); break;
    case 15: shift(c, SH_SHR, w); break;
    case 16: shift(c, SH_ROL, w); break;
    case 17: shift(c, SH_ROR, w); break;
    }
}

/* ---- the 0xFC prefix: saturating truncations, bulk memory ---- */

int wb_op_fc(wb_ctx* c, uint32_t sub) {
    if (sub <= 7) {
        wb_truncate(c, sub >= 2 && sub != 4 && sub != 5, sub >= 4, sub & 1, 1);
        return 1;
    }
    int64_t imm[2];
    switch (sub) {
    case 8:                                             /* memory.init data mem */
        imm[1] = wb_u32(c);
        imm[0] = wb_u32(c);
        if (imm[0] != 0)
            break;
        wb_call_native(c, (const void*)wasabi_rt_memory_init, 1, imm, 2, 3, 0);
        return 1;
    case 9:                                             /* data.drop */
        imm[0] = wb_u32(c);
        wb_call_native(c, (const void*)wasabi_rt_data_drop, 1, imm, 1, 0, 0);
        return 1;
    case 10:                                            /* memory.copy dst src */
        imm[0] = wb_u32(c);
        imm[1] = wb_u32(c);
        if (imm[0] || imm[1])
            break;
        wb_call_native(c, (const void*)wasabi_rt_memory_copy, 1, imm, 2, 3, 0);
        return 1;
    case 11:                                            /* memory.fill */
        imm[0] = wb_u32(c);
        if (imm[0])
            break;
        wb_call_native(c, (const void*)wasabi_rt_memory_fill, 1, imm, 1, 3, 0);
        return 1;
    }
    wb_refuse(c, "0xFC instruction not in the baseline");
    return 1;
}

/* ---- dispatch ---- */

int wb_op(wb_ctx* c, uint8_t op) {
    if (op >= 0x28 && op <= 0x35) {
        load(c, op);
        return 1;
    }
    if (op >= 0x36 && op <= 0x3E) {
        store(c, op);
        return 1;
    }
    if (op >= 0x46 && op <= 0x4F) {
        compare(c, 0, op - 0x46);
        return 1;
    }
    if (op >= 0x51 && op <= 0x5A) {
        compare(c, 1, op - 0x51);
        return 1;
    }
    if (op >= 0x5B && op <= 0x60) {
        wb_float_compare(c, op - 0x5B, 0);
        return 1;
    }
    if (op >= 0x61 && op <= 0x66) {
        wb_float_compare(c, op - 0x61, 1);
        return 1;
    }
    if (op >= 0x67 && op <= 0x78) {
        int_op(c, op - 0x67, 0);
        return 1;
    }
    if (op >= 0x79 && op <= 0x8A) {
        int_op(c, op - 0x79, 1);
        return 1;
    }
    if (op >= 0x8B && op <= 0x98) {
        wb_float_op(c, op - 0x8B, 0);
        return 1;
    }
    if (op >= 0x99 && op <= 0xA6) {
        wb_float_op(c, op - 0x99, 1);
        return 1;
    }
    if (op >= 0xA7 && op <= 0xC4)
        return wb_conversion(c, op);
    switch (op) {
    case 0x10:
        wb_call(c, wb_u32(c));
        return 1;
    case 0x11: {
        uint32_t type_index = wb_u32(c);
        wb_call_indirect(c, type_index, wb_u32(c));
        return 1;
    }
    case 0x1A:
        wb_free_value(c, wb_pop(c));
        return 1;
    case 0x1C: {                                        /* select t: one plain type */
        uint32_t n = wb_u32(c);
        if (n != 1 || c->p >= c->end) {
            wb_refuse(c, "select type");
            return 1;
        }
        uint8_t t = *c->p++;
        if (t != VT_I32 && t != VT_I64 && t != VT_F32 && t != VT_F64) {
            wb_refuse(c, "select of a type the baseline does not compile");
            return 1;
        }
    }
        /* fall through */
    case 0x1B:
        select_(c);
        return 1;
    case 0x20: local_get(c, wb_u32(c)); return 1;
    case 0x21: local_set(c, wb_u32(c), 0); return 1;
    case 0x22: local_set(c, wb_u32(c), 1); return 1;
    case 0x23: global_get(c, wb_u32(c)); return 1;
    case 0x24: global_set(c, wb_u32(c)); return 1;
    case 0x3F: memory_size(c); return 1;
    case 0x40: memory_grow(c); return 1;
    case 0x41: wb_push_const(c, VT_I32, (uint32_t)wb_s32(c)); return 1;
    case 0x42: wb_push_const(c, VT_I64, (uint64_t)wb_s64(c)); return 1;
    case 0x43: {
        uint32_t bits;
        if (c->end - c->p < 4) {
            wb_refuse(c, "truncated constant");
            return 1;
        }
        memcpy(&bits, c->p, 4);
        c->p += 4;
        wb_push_const(c, VT_F32, bits);
        return 1;
    }
    case 0x44: {
        uint64_t bits;
        if (c->end - c->p < 8) {
            wb_refuse(c, "truncated constant");
            return 1;
        }
        memcpy(&bits, c->p, 8);
        c->p += 8;
        wb_push_const(c, VT_F64, bits);
        return 1;
    }
    case 0x45: eqz(c, 0); return 1;
    case 0x50: eqz(c, 1); return 1;
    case 0xFC: return wb_op_fc(c, wb_u32(c));
    }
    return 0;
}
