/* The baseline compiler's x86-64 encoder (baseline.c): one function per instruction
 * form it uses, writing into a growable byte buffer. Registers are numbered as the
 * hardware does (RAX 0 ... R15 15; XMM0 ... XMM15 likewise). Memory operands are
 * [base + index*scale + disp32] (index NO_REG: none). Nothing here knows wasm.
 */
#ifndef WASABI_BASELINE_X64_H
#define WASABI_BASELINE_X64_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
#define NO_REG 0xFF

/* condition codes (the low nibble of jcc/setcc) */
enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
       CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G };

/* the ALU group: the /digit of 81/83 and the base opcode of the r/m,r form */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* the shift group: the /digit of D3/C1 */
enum { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

typedef struct xbuf {
    uint8_t* p;
    size_t len, cap;
    int oom;            /* an allocation failed: the whole compile fails */
} xbuf;

static inline void x_reserve(xbuf* b, size_t n) {
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t* p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        b->len = 0;         /* keep writing somewhere valid; the result is discarded */
        return;
    }
    b->p = p;
    b->cap = cap;
}

static inline void x_byte(xbuf* b, uint8_t v) {
    x_reserve(b, 1);
    b->p[b->len++] = v;
}

static inline void x_u32(xbuf* b, uint32_t v) {
    x_reserve(b, 4);
    memcpy(b->p + b->len, &v, 4);
    b->len += 4;
}

static inline void x_u64(xbuf* b, uint64_t v) {
    x_reserve(b, 8);
    memcpy(b->p + b->len, &v, 8);
    b->len += 8;
}

static inline void x_patch32(xbuf* b, size_t at, uint32_t v) {
    if (!b->oom)
        memcpy(b->p + at, &v, 4);
}

/* REX prefix: w (64-bit), r (ModRM.reg), x (SIB.index), b (ModRM.rm / SIB.base);
 * `force`: needed even when zero (byte access to SPL/BPL/SIL/DIL) */
static inline void x_rex(xbuf* b, int w, int r, int x, int base, int force) {
    uint8_t rex = 0x40 | (w ? 8 : 0) | ((r & 8) ? 4 : 0) | ((x != NO_REG && (x & 8)) ? 2 : 0)
                  | ((base != NO_REG && (base & 8)) ? 1 : 0);
    if (rex != 0x40 || force)
        x_byte(b, rex);
}

static inline void x_modrm_rr(xbuf* b, int reg, int rm) {
    x_byte(b, 0xC0 | ((reg & 7) << 3) | (rm & 7));
}

/* ModRM (+SIB, +displacement) for [base + index*scale + disp] */
static inline void x_modrm_mem(xbuf* b, int reg, int base, int index, int scale, int32_t disp) {
    int sib = index != NO_REG || (base & 7) == RSP;
    int mod = (disp == 0 && (base & 7) != RBP) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    x_byte(b, (mod << 6) | ((reg & 7) << 3) | (sib ? 4 : (base & 7)));
    if (sib) {
        int ss = scale == 8 ? 3 : scale == 4 ? 2 : scale == 2 ? 1 : 0;
        int idx = index == NO_REG ? 4 : (index & 7);
        x_byte(b, (ss << 6) | (idx << 3) | (base & 7));
    }
    if (mod == 1)
        x_byte(b, (uint8_t)(int8_t)disp);
    else if (mod == 2)
        x_u32(b, (uint32_t)disp);
}

typedef struct xmem {
    uint8_t base, index, scale;
    int32_t disp;
} xmem;

static inline xmem M(int base, int32_t disp) { xmem m = {(uint8_t)base, NO_REG, 1, disp}; return m; }
static inline xmem MX(int base, int index, int scale, int32_t disp) {
    xmem m = {(uint8_t)base, (uint8_t)index, (uint8_t)scale, disp};
    return m;
}

/* [prefix] [REX] opcode bytes ModRM: one op with a register and a memory operand */
static inline void x_op_mem(xbuf* b, int prefix, int w, const char* op, int nop, int reg,
                            xmem m, int force_rex) {
    if (prefix)
        x_byte(b, (uint8_t)prefix);
    x_rex(b, w, reg, m.index, m.base, force_rex);
    for (int i = 0; i < nop; i++)
        x_byte(b, (uint8_t)op[i]);
    x_modrm_mem(b, reg, m.base, m.index, m.scale, m.disp);
}

static inline void x_op_rr(xbuf* b, int prefix, int w, const char* op, int nop, int reg,
                           int rm, int force_rex) {
    if (prefix)
        x_byte(b, (uint8_t)prefix);
    x_rex(b, w, reg, NO_REG, rm, force_rex);
    for (int i = 0; i < nop; i++)
        x_byte(b, (uint8_t)op[i]);
    x_modrm_rr(b, reg, rm);
}

/* ---- moves ---- */
static inline void x_mov_rr(xbuf* b, int w, int dst, int src) { x_op_rr(b, 0, w, "\x89", 1, src, dst, 0); }
static inline void x_load(xbuf* b, int w, int dst, xmem m) { x_op_mem(b, 0, w, "\x8B", 1, dst, m, 0); }
static inline void x_store(xbuf* b, int w, xmem m, int src) { x_op_mem(b, 0, w, "\x89", 1, src, m, 0); }
static inline void x_store8(xbuf* b, xmem m, int src) { x_op_mem(b, 0, 0, "\x88", 1, src, m, src >= 4); }
static inline void x_store16(xbuf* b, xmem m, int src) { x_op_mem(b, 0x66, 0, "\x89", 1, src, m, 0); }
static inline void x_lea(xbuf* b, int dst, xmem m) { x_op_mem(b, 0, 1, "\x8D", 1, dst, m, 0); }
/* zero- and sign-extending loads: 8/16 bits to 32 (w=0) or 64; 32 to 64 (movsxd) */
static inline void x_movzx8(xbuf* b, int dst, xmem m) { x_op_mem(b, 0, 0, "\x0F\xB6", 2, dst, m, 0); }
static inline void x_movzx16(xbuf* b, int dst, xmem m) { x_op_mem(b, 0, 0, "\x0F\xB7", 2, dst, m, 0); }
static inline void x_movsx8(xbuf* b, int w, int dst, xmem m) { x_op_mem(b, 0, w, "\x0F\xBE", 2, dst, m, 0); }
static inline void x_movsx16(xbuf* b, int w, int dst, xmem m) { x_op_mem(b, 0, w, "\x0F\xBF", 2, dst, m, 0); }
static inline void x_movsxd(xbuf* b, int dst, xmem m) { x_op_mem(b, 0, 1, "\x63", 1, dst, m, 0); }
static inline void x_movsx8_rr(xbuf* b, int w, int dst, int src) { x_op_rr(b, 0, w, "\x0F\xBE", 2, dst, src, src >= 4); }
static inline void x_movsx16_rr(xbuf* b, int w, int dst, int src) { x_op_rr(b, 0, w, "\x0F\xBF", 2, dst, src, 0); }
static inline void x_movsxd_rr(xbuf* b, int dst, int src) { x_op_rr(b, 0, 1, "\x63", 1, dst, src, 0); }
static inline void x_movzx8_rr(xbuf* b, int dst, int src) { x_op_rr(b, 0, 0, "\x0F\xB6", 2, dst, src, src >= 4); }

/* a constant into a register: xor, a zero-extending 32-bit mov, a sign-extended
 * imm32, or movabs */
static inline void x_mov_imm(xbuf* b, int w, int dst, uint64_t v) {
    if (!w)
        v &= 0xFFFFFFFFu;
    if (v == 0) {
        x_op_rr(b, 0, 0, "\x31", 1, dst, dst, 0);            /* xor r32, r32 (flags!) */
    } else if (v <= 0xFFFFFFFFu) {
        x_rex(b, 0, 0, NO_REG, dst, 0);
        x_byte(b, 0xB8 | (dst & 7));
        x_u32(b, (uint32_t)v);
    } else if ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX) {
        x_rex(b, 1, 0, NO_REG, dst, 0);
        x_byte(b, 0xC7);
        x_modrm_rr(b, 0, dst);
        x_u32(b, (uint32_t)v);
    } else {
        x_rex(b, 1, 0, NO_REG, dst, 0);
        x_byte(b, 0xB8 | (dst & 7));
        x_u64(b, v);
    }
}

/* like x_mov_imm, but never changes the flags (no xor) */
static inline void x_mov_imm_keep_flags(xbuf* b, int w, int dst, uint64_t v) {
    if (!w)
        v &= 0xFFFFFFFFu;
    if (v <= 0xFFFFFFFFu) {
        x_rex(b, 0, 0, NO_REG, dst, 0);
        x_byte(b, 0xB8 | (dst & 7));
        x_u32(b, (uint32_t)v);
    } else {
        x_mov_imm(b, 1, dst, v);
    }
}

/* movabs r64, imm64 always (a patchable 8-byte immediate at the returned offset) */
static inline size_t x_movabs(xbuf* b, int dst, uint64_t v) {
    x_rex(b, 1, 0, NO_REG, dst, 0);
    x_byte(b, 0xB8 | (dst & 7));
    size_t at = b->len;
    x_u64(b, v);
    return at;
}

/* mov qword/dword [m], imm32 (sign-extended for w=1) */
static inline void x_store_imm(xbuf* b, int w, xmem m, int32_t v) {
    x_op_mem(b, 0, w, "\xC7", 1, 0, m, 0);
    x_u32(b, (uint32_t)v);
}

/* ---- arithmetic ---- */
static inline void x_alu_rr(xbuf* b, int alu, int w, int dst, int src) {
    char op = (char)(alu * 8 + 1);
    x_op_rr(b, 0, w, &op, 1, src, dst, 0);
}

static inline void x_alu_rm(xbuf* b, int alu, int w, int dst, xmem m) {
    char op = (char)(alu * 8 + 3);
    x_op_mem(b, 0, w, &op, 1, dst, m, 0);
}

static inline void x_alu_ri(xbuf* b, int alu, int w, int dst, int32_t imm) {
    if (imm >= -128 && imm <= 127) {
        x_op_rr(b, 0, w, "\x83", 1, alu, dst, 0);
        x_byte(b, (uint8_t)(int8_t)imm);
    } else {
        x_op_rr(b, 0, w, "\x81", 1, alu, dst, 0);
        x_u32(b, (uint32_t)imm);
    }
}

static inline void x_alu_mi(xbuf* b, int alu, int w, xmem m, int32_t imm) {
    if (imm >= -128 && imm <= 127) {
        x_op_mem(b, 0, w, "\x83", 1, alu, m, 0);
        x_byte(b, (uint8_t)(int8_t)imm);
    } else {
        x_op_mem(b, 0, w, "\x81", 1, alu, m, 0);
        x_u32(b, (uint32_t)imm);
    }
}

static inline void x_test_rr(xbuf* b, int w, int a, int c) { x_op_rr(b, 0, w, "\x85", 1, c, a, 0); }
static inline void x_imul_rr(xbuf* b, int w, int dst, int src) { x_op_rr(b, 0, w, "\x0F\xAF", 2, dst, src, 0); }
static inline void x_imul_rri(xbuf* b, int w, int dst, int src, int32_t imm) {
    x_op_rr(b, 0, w, "\x69", 1, dst, src, 0);
    x_u32(b, (uint32_t)imm);
}
/* F7 group: /2 not, /3 neg, /6 div, /7 idiv */
static inline void x_f7(xbuf* b, int digit, int w, int rm) { x_op_rr(b, 0, w, "\xF7", 1, digit, rm, 0); }
static inline void x_cdq(xbuf* b, int w) { if (w) x_byte(b, 0x48); x_byte(b, 0x99); }
static inline void x_shift_cl(xbuf* b, int sh, int w, int rm) { x_op_rr(b, 0, w, "\xD3", 1, sh, rm, 0); }
static inline void x_shift_imm(xbuf* b, int sh, int w, int rm, uint8_t n) {
    x_op_rr(b, 0, w, "\xC1", 1, sh, rm, 0);
    x_byte(b, n);
}
/* F3 0F xx: lzcnt BD, tzcnt BC, popcnt B8 */
static inline void x_bitcount(xbuf* b, uint8_t op, int w, int dst, int src) {
    char ops[2] = {'\x0F', (char)op};
    x_op_rr(b, 0xF3, w, ops, 2, dst, src, 0);
}
static inline void x_setcc(xbuf* b, int cc, int dst) {
    char ops[2] = {'\x0F', (char)(0x90 | cc)};
    x_op_rr(b, 0, 0, ops, 2, 0, dst, dst >= 4);
}
static inline void x_cmov(xbuf* b, int cc, int w, int dst, int src) {
    char ops[2] = {'\x0F', (char)(0x40 | cc)};
    x_op_rr(b, 0, w, ops, 2, dst, src, 0);
}

/* ---- jumps and calls: rel32 operands, returned for patching ---- */
static inline size_t x_jmp(xbuf* b) {
    x_byte(b, 0xE9);
    size_t at = b->len;
    x_u32(b, 0);
    return at;
}

static inline size_t x_jcc(xbuf* b, int cc) {
    x_byte(b, 0x0F);
    x_byte(b, 0x80 | cc);
    size_t at = b->len;
    x_u32(b, 0);
    return at;
}

/* lea r, [rip + rel32]: returns the rel32's offset (relative to its end) */
static inline size_t x_lea_rip(xbuf* b, int dst) {
    x_rex(b, 1, dst, NO_REG, NO_REG, 0);
    x_byte(b, 0x8D);
    x_byte(b, 0x05 | ((dst & 7) << 3));
    size_t at = b->len;
    x_u32(b, 0);
    return at;
}

static inline void x_call_r(xbuf* b, int r) { x_op_rr(b, 0, 0, "\xFF", 1, 2, r, 0); }
static inline void x_jmp_r(xbuf* b, int r) { x_op_rr(b, 0, 0, "\xFF", 1, 4, r, 0); }
static inline void x_call_m(xbuf* b, xmem m) { x_op_mem(b, 0, 0, "\xFF", 1, 2, m, 0); }

/* ---- SSE: ss (F3) / sd (F2) scalar ops; 66 for the integer and pd forms ---- */
#define SSE_PREFIX(is64) ((is64) ? 0xF2 : 0xF3)
static inline void x_sse_rr(xbuf* b, int prefix, int w, uint8_t op, int dst, int src) {
    char ops[2] = {'\x0F', (char)op};
    x_op_rr(b, prefix, w, ops, 2, dst, src, 0);
}
static inline void x_sse_rm(xbuf* b, int prefix, int w, uint8_t op, int dst, xmem m) {
    char ops[2] = {'\x0F', (char)op};
    x_op_mem(b, prefix, w, ops, 2, dst, m, 0);
}
/* movss/movsd load (10) and store (11) */
static inline void x_fload(xbuf* b, int is64, int dst, xmem m) { x_sse_rm(b, SSE_PREFIX(is64), 0, 0x10, dst, m); }
static inline void x_fstore(xbuf* b, int is64, xmem m, int src) { x_sse_rm(b, SSE_PREFIX(is64), 0, 0x11, src, m); }
static inline void x_fmov(xbuf* b, int dst, int src) { x_sse_rr(b, 0, 0, 0x28, dst, src); } /* movaps */
/* movd/movq xmm <- gpr (66 0F 6E), gpr <- xmm (66 0F 7E: reg field is the xmm) */
static inline void x_movd_to_x(xbuf* b, int w, int xmm, int gpr) { x_sse_rr(b, 0x66, w, 0x6E, xmm, gpr); }
static inline void x_movd_from_x(xbuf* b, int w, int gpr, int xmm) { x_sse_rr(b, 0x66, w, 0x7E, xmm, gpr); }
/* ucomiss (0F 2E) / ucomisd (66 0F 2E) */
static inline void x_ucomi(xbuf* b, int is64, int a, int c) { x_sse_rr(b, is64 ? 0x66 : 0, 0, 0x2E, a, c); }
/* roundss/roundsd xmm, xmm, imm8 (SSE4.1: 66 0F 3A 0A/0B) */
static inline void x_round(xbuf* b, int is64, int dst, int src, uint8_t mode) {
    char ops[3] = {'\x0F', '\x3A', (char)(is64 ? 0x0B : 0x0A)};
    x_op_rr(b, 0x66, 0, ops, 3, dst, src, 0);
    x_byte(b, mode);
}

#endif
