/* The baseline compiler's floating point: arithmetic, comparisons, and the
 * conversions between numbers (see baseline.h).
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

/* ---- floats ---- */

static void float_binop(wb_ctx* c, uint8_t sse, int is64) {
    uint32_t bat = c->sp - 1;
    wb_value b = wb_pop(c);
    int ra;
    if (b.kind == K_SLOT) {
        ra = wb_pop_reg(c);
        x_sse_rm(&c->b, SSE_PREFIX(is64), 0, sse, ra, wb_slot(c, bat));
    } else {
        int rb = wb_own_reg(c, b, bat);
        ra = wb_pop_reg(c);
        x_sse_rr(&c->b, SSE_PREFIX(is64), 0, sse, ra, rb);
        c->xmm_used &= ~(1u << rb);
    }
    c->xmm_used &= ~(1u << ra);
    wb_push_reg(c, is64 ? VT_F64 : VT_F32, ra);
}

/* abs, neg, copysign on the bits, in r11 and a temporary */
static void float_bits(wb_ctx* c, int which, int is64) {
    xbuf* b = &c->b;
    int rb = which == 2 ? wb_pop_reg(c) : -1;          /* copysign: b's sign */
    int ra = wb_pop_reg(c);
    int t = wb_alloc_gpr(c);                            /* first: a spill may use r11 */
    x_movd_from_x(b, is64, SCRATCH, ra);
    if (which == 1) {                                   /* neg: flip the sign */
        x_mov_imm(b, is64, t, is64 ? 0x8000000000000000ull : 0x80000000u);
        x_alu_rr(b, ALU_XOR, is64, SCRATCH, t);
    } else {                                            /* clear it */
        x_shift_imm(b, SH_SHL, is64, SCRATCH, 1);
        x_shift_imm(b, SH_SHR, is64, SCRATCH, 1);
    }
    if (which == 2) {                                   /* and take b's */
        x_movd_from_x(b, is64, t, rb);
        x_shift_imm(b, SH_SHR, is64, t, is64 ? 63 : 31);
        x_shift_imm(b, SH_SHL, is64, t, is64 ? 63 : 31);
        x_alu_rr(b, ALU_OR, is64, SCRATCH, t);
        c->xmm_used &= ~(1u << rb);
    }
    x_movd_to_x(b, is64, ra, SCRATCH);
    c->gpr_used &= ~(1u << t);
    c->xmm_used &= ~(1u << ra);
    wb_push_reg(c, is64 ? VT_F64 : VT_F32, ra);
}

static void float_unary(wb_ctx* c, int round_mode, int is64) {
    int r = wb_pop_reg(c);
    if (round_mode < 0)
        x_sse_rr(&c->b, SSE_PREFIX(is64), 0, 0x51, r, r);      /* sqrt */
    else
        x_round(&c->b, is64, r, r, (uint8_t)(round_mode | 8));
    c->xmm_used &= ~(1u << r);
    wb_push_reg(c, is64 ? VT_F64 : VT_F32, r);
}

void wb_float_compare(wb_ctx* c, int which, int is64) {
    int rb = wb_pop_reg(c);
    int ra = wb_pop_reg(c);
    xbuf* b = &c->b;
    c->xmm_used &= ~((1u << ra) | (1u << rb));
    switch (which) {
    case 0: case 1: {                                   /* eq, ne: ZF and PF */
        x_ucomi(b, is64, ra, rb);
        int r = wb_alloc_gpr(c);
        x_setcc(b, which ? CC_NE : CC_E, r);
        x_setcc(b, which ? CC_P : CC_NP, SCRATCH);
        x_movzx8_rr(b, r, r);
        x_movzx8_rr(b, SCRATCH, SCRATCH);
        x_alu_rr(b, which ? ALU_OR : ALU_AND, 0, r, SCRATCH);
        wb_push_reg(c, VT_I32, r);
        return;
    }
    case 2: x_ucomi(b, is64, rb, ra); wb_push_cmp(c, CC_A); return;     /* lt */
    case 3: x_ucomi(b, is64, ra, rb); wb_push_cmp(c, CC_A); return;     /* gt */
    case 4: x_ucomi(b, is64, rb, ra); wb_push_cmp(c, CC_AE); return;    /* le */
    case 5: x_ucomi(b, is64, ra, rb); wb_push_cmp(c, CC_AE); return;    /* ge */
    }
}

void wb_float_op(wb_ctx* c, int k, int is64) {
    const void* minmax[2][2] = {{(const void*)wb_f32_min, (const void*)wb_f32_max},
                                {(const void*)wb_f64_min, (const void*)wb_f64_max}};
    switch (k) {
    case 0: float_bits(c, 0, is64); break;
    case 1: float_bits(c, 1, is64); break;
    case 2: float_unary(c, 2, is64); break;     /* ceil: toward +inf */
    case 3: float_unary(c, 1, is64); break;     /* floor */
    case 4: float_unary(c, 3, is64); break;     /* trunc */
    case 5: float_unary(c, 0, is64); break;     /* nearest (even) */
    case 6: float_unary(c, -1, is64); break;    /* sqrt */
    case 7: float_binop(c, 0x58, is64); break;
    case 8: float_binop(c, 0x5C, is64); break;
    case 9: float_binop(c, 0x59, is64); break;
    case 10: float_binop(c, 0x5E, is64); break;
    case 11: case 12:
        wb_call_native(c, minmax[is64][k - 11], 0, NULL, 0, 2, is64 ? VT_F64 : VT_F32);
        break;
    case 13: float_bits(c, 2, is64); break;
    }
}

/* ---- conversions ---- */

/* a trapping (sat=0) or saturating truncation through wb_trunc */
void wb_truncate(wb_ctx* c, int from64, int to64, int is_unsigned, int sat) {
    int r = wb_pop_reg(c);
    if (!from64)
        x_sse_rr(&c->b, 0xF3, 0, 0x5A, r, r);           /* cvtss2sd: exact */
    c->xmm_used &= ~(1u << r);
    wb_push_reg(c, VT_F64, r);
    int64_t kind[1] = {(is_unsigned ? 1 : 0) | (to64 ? 2 : 0) | (sat ? 4 : 0)};
    wb_call_native(c, (const void*)wb_trunc, 0, kind, 1, 1, to64 ? VT_I64 : VT_I32);
}

static void convert(wb_ctx* c, int from64, int is_unsigned, int to64) {
    if (from64 && is_unsigned) {
        wb_call_native(c, to64 ? (const void*)wb_f64_convert_u64 : (const void*)wb_f32_convert_u64,
                    0, NULL, 0, 1, to64 ? VT_F64 : VT_F32);
        return;
    }
    int r = wb_pop_reg(c);
    c->gpr_used &= ~(1u << r);
    int x = wb_alloc_xmm(c);
    /* an u32 is zero-extended in its register: convert it as an i64 */
    x_sse_rr(&c->b, SSE_PREFIX(to64), from64 || is_unsigned, 0x2A, x, r);
    wb_push_reg(c, to64 ? VT_F64 : VT_F32, x);
}

static void reinterpret(wb_ctx* c, uint8_t to) {
    int r = wb_pop_reg(c);
    int is64 = wb_is64(to);
    if (wb_is_float(to)) {
        c->gpr_used &= ~(1u << r);
        int x = wb_alloc_xmm(c);
        x_movd_to_x(&c->b, is64, x, r);
        wb_push_reg(c, to, x);
    } else {
        c->xmm_used &= ~(1u << r);
        int g = wb_alloc_gpr(c);
        x_movd_from_x(&c->b, is64, g, r);
        wb_push_reg(c, to, g);
    }
}

/* the same register, another type, after `fix` (mov/movsx on itself) */
static void retype(wb_ctx* c, uint8_t to, int fix) {
    int r = wb_pop_reg(c);
    xbuf* b = &c->b;
    switch (fix) {
    case 1: x_mov_rr(b, 0, r, r); break;                /* wrap: clear the upper half */
    case 2: x_movsxd_rr(b, r, r); break;
    case 3: x_movsx8_rr(b, 0, r, r); break;
    case 4: x_movsx16_rr(b, 0, r, r); break;
    case 5: x_movsx8_rr(b, 1, r, r); break;
    case 6: x_movsx16_rr(b, 1, r, r); break;
    }
    c->gpr_used &= ~(1u << r);
    wb_push_reg(c, to, r);
}

static void float_convert(wb_ctx* c, int to64) {
    int r = wb_pop_reg(c);
    /* cvtss2sd (F3 0F 5A) / cvtsd2ss (F2 0F 5A) */
    x_sse_rr(&c->b, to64 ? 0xF3 : 0xF2, 0, 0x5A, r, r);
    c->xmm_used &= ~(1u << r);
    wb_push_reg(c, to64 ? VT_F64 : VT_F32, r);
}

int wb_conversion(wb_ctx* c, uint8_t op) {
    switch (op) {
    case 0xA7: retype(c, VT_I32, 1); return 1;
    case 0xA8: wb_truncate(c, 0, 0, 0, 0); return 1;
    case 0xA9: wb_truncate(c, 0, 0, 1, 0); return 1;
    case 0xAA: wb_truncate(c, 1, 0, 0, 0); return 1;
    case 0xAB: wb_truncate(c, 1, 0, 1, 0); return 1;
    case 0xAC: retype(c, VT_I64, 2); return 1;
    case 0xAD: retype(c, VT_I64, 0); return 1;          /* already zero-extended */
    case 0xAE: wb_truncate(c, 0, 1, 0, 0); return 1;
    case 0xAF: wb_truncate(c, 0, 1, 1, 0); return 1;
    case 0xB0: wb_truncate(c, 1, 1, 0, 0); return 1;
    case 0xB1: wb_truncate(c, 1, 1, 1, 0); return 1;
    case 0xB2: convert(c, 0, 0, 0); return 1;
    case 0xB3: convert(c, 0, 1, 0); return 1;
    case 0xB4: convert(c, 1, 0, 0); return 1;
    case 0xB5: convert(c, 1, 1, 0); return 1;
    case 0xB6: float_convert(c, 0); return 1;
    case 0xB7: convert(c, 0, 0, 1); return 1;
    case 0xB8: convert(c, 0, 1, 1); return 1;
    case 0xB9: convert(c, 1, 0, 1); return 1;
    case 0xBA: convert(c, 1, 1, 1); return 1;
    case 0xBB: float_convert(c, 1); return 1;
    case 0xBC: reinterpret(c, VT_I32); return 1;
    case 0xBD: reinterpret(c, VT_I64); return 1;
    case 0xBE: reinterpret(c, VT_F32); return 1;
    case 0xBF: reinterpret(c, VT_F64); return 1;
    case 0xC0: retype(c, VT_I32, 3); return 1;
    case 0xC1: retype(c, VT_I32, 4); return 1;
    case 0xC2: retype(c, VT_I64, 5); return 1;
    case 0xC3: retype(c, VT_I64, 6); return 1;
    case 0xC4: retype(c, VT_I64, 2); return 1;
    }
    return 0;
}
