/* The baseline compiler: validated wasm function bodies straight to x86-64, in one
 * pass, without LLVM (PGO's first tier, modes/tiered.py).
 *
 * Design (Liftoff-like, simpler):
 * - Frame: push rbp; rbx = vmctx, r12 = memory base and r13 = the branch counters
 *   are kept for the whole function (callee-saved). Every local has an 8-byte slot,
 *   and so has every
 *   operand-stack depth: the value at depth d, when it is not in a register, lives
 *   in slot d ("its slot").
 * - Cached locals (wb_module.cache_locals): the function is compiled twice; the
 *   first pass counts the uses of each integer local (a use in a loop counts more),
 *   the second keeps the most used ones in r14, r15 (and r13 when branches are not
 *   counted) for the whole function instead of their slots. Callee-saved: calls
 *   keep them; local.get copies one into a pool register, so no stack entry ever
 *   names a cached local's register.
 * - The operand stack is abstract: each entry is a constant, a register, its slot,
 *   or the flags of a comparison (consumed by a following br_if/if/select/eqz). A
 *   register is taken from a small pool and spilled to its slot when the pool runs
 *   out. At every control-flow join (block, loop and if entry, a branch, a call)
 *   values are spilled, so every path meets with the same state: the branch
 *   values in the slots of the target's depths.
 * - i32 values in registers always have their upper 32 bits zero (32-bit ops and
 *   loads do that); i32 parameters and results at calls are re-extended.
 * - Traps: a jcc to a stub at the end of the function that calls wasabi_rt_trap;
 *   memory accesses are [r12 + zext(address) + offset] into the guard region, as
 *   in LLVM's code (guard mode only; explicit bounds modules go to LLVM).
 * - What it does not compile (SIMD, reference types, multi-value returns, fuel,
 *   several memories, an unknown opcode) it refuses, and the caller uses LLVM.
 */
#ifndef WASABI_BASELINE_H
#define WASABI_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "baseline_x64.h"

/* wasm value types */
#define VT_I32 0x7F
#define VT_I64 0x7E
#define VT_F32 0x7D
#define VT_F64 0x7C

typedef struct wb_functype {
    uint32_t nparams, nresults;
    const uint8_t* params;          /* value type bytes */
    const uint8_t* results;
} wb_functype;

/* what the compiler knows of the module (built once, by the Cython side) */
typedef struct wb_module {
    uint32_t ntypes;
    const wb_functype* types;
    uint32_t nfuncs;                /* imported included */
    uint32_t nimported_funcs;
    const uint32_t* func_types;     /* type index per function */
    uint32_t nglobals;
    const uint8_t* global_types;
    uint32_t nmemories;
    uint32_t ntables;
    int foreign_records;            /* REPL: a defined function's record may hold another vmctx */
    int own_functions_only;         /* calls.own_functions_only: table entries are ours */
    int interruptible;              /* the stack check's slow path polls */
    uint64_t* counts;               /* PGO: two counters per function index, or NULL */
    uint32_t osr_max_body;          /* OSR looks only in bodies of at most this many bytes */
    uint32_t osr_max_entries;       /* and at most this many per function */
    uint32_t osr_every;             /* a look every this many iterations (a power of 2) */
    int count_branches;             /* PGO: count which way br_if/if/br_table go */
    int cache_locals;               /* compile twice, the most used locals in registers */
} wb_module;

#define WB_MAX_OSR 8

/* a branch site's counters: `width` u64, one per way the branch can go; the
 * function's sites are one block, in order (profile.site_block), addressed from r13 */
typedef struct wb_site {
    uint32_t body_offset, width;
} wb_site;

/* the outcome of compiling one function */
typedef struct wb_result {
    uint8_t* code;                  /* malloc'd machine code (position independent) */
    size_t size;
    uint32_t nosr;                  /* loop entries looked for: patch their slot addresses */
    uint32_t osr_at[WB_MAX_OSR];    /* offset of the movabs imm64 to patch */
    uint32_t osr_loop[WB_MAX_OSR];  /* the loop's ordinal (as translator.loop_entry counts) */
    uint32_t nsites;                /* branch sites (malloc'd, the caller's to free) */
    wb_site* sites;
    uint32_t sites_at;              /* the movabs imm64 to patch with the block's address */
    const char* refused;            /* why not compiled (NULL: compiled) */
} wb_result;

/* Compile function `index`: its declared locals' types (parameters not included),
 * its validated body's instructions body[0..len) (the final `end` included).
 * Never fails on valid input other than by refusing; the result's code is the
 * caller's to free(). */
void wb_compile(const wb_module* m, uint32_t index, const uint8_t* locals, uint32_t nlocals,
                const uint8_t* body, size_t len, wb_result* out);

/* whether this CPU has what the baseline emits (SSE4.1, POPCNT, LZCNT, BMI1) */
int wb_supported(void);

/* an array-call thunk (compiler/thunks.py) for a plain signature with at most one
 * result: its size and *code (malloc'd, position independent), or 0 (baseline_thunks.c) */
size_t wb_array_thunk(const uint8_t* params, uint32_t nparams, const uint8_t* results,
                      uint32_t nresults, uint8_t** code);

/* executable memory for baseline code: an arena per module (baseline_rt.c) */
typedef struct wb_arena wb_arena;
wb_arena* wb_arena_new(void);
/* copy `size` bytes of code in and return their executable address (NULL: no memory) */
void* wb_arena_add(wb_arena* a, const uint8_t* code, size_t size);
size_t wb_arena_bytes(wb_arena* a);
void wb_arena_free(wb_arena* a);

/* ---- inside the compiler (baseline.c, baseline_ops.c) ---- */

enum { K_CONST, K_REG, K_SLOT, K_CMP };

typedef struct wb_value {
    uint8_t kind;
    uint8_t type;                   /* VT_* */
    uint8_t reg;                    /* K_REG */
    uint8_t cc;                     /* K_CMP: true when this condition holds */
    uint64_t imm;                   /* K_CONST: the bits */
} wb_value;

enum { F_BLOCK, F_LOOP, F_IF, F_FUNC };

typedef struct wb_frame {
    uint8_t kind;
    uint8_t unreachable_end;        /* (unused) */
    uint32_t height;                /* operand stack height below the params */
    uint32_t nparams, nresults;
    const uint8_t* params;
    const uint8_t* results;
    int32_t label;                  /* the branch target: loop header or end */
    int32_t else_label;             /* if: where the false edge goes */
    int has_else;
    int reached;                    /* a branch to `label` was emitted (block/if) */
} wb_frame;

typedef struct wb_label {
    int64_t pos;                    /* -1 until bound */
    int32_t fixups;                 /* head of its fixup list */
} wb_label;

typedef struct wb_fixup {
    uint32_t at;                    /* where the 32-bit field is */
    uint32_t base;                  /* the value is target - base */
    int32_t next;
} wb_fixup;

#define WB_TRAP_CODES 32
#define WB_MAX_CACHED 3             /* r14, r15, and r13 when it holds no counters */

typedef struct wb_ctx {
    const wb_module* m;
    uint32_t index;
    const uint8_t* p;               /* the body reader */
    const uint8_t* end;
    const char* refused;
    xbuf b;
    /* locals */
    uint32_t nlocals;
    uint8_t* local_types;
    uint32_t nparams;
    const wb_functype* sig;
    /* the operand stack */
    wb_value* stack;
    uint32_t sp, stack_cap, max_depth;
    uint32_t gpr_used, xmm_used;    /* bit per register: holds a stack value */
    /* control */
    wb_frame* frames;
    uint32_t nframes, frames_cap;
    wb_label* labels;
    uint32_t nlabels, labels_cap;
    wb_fixup* fixups;
    uint32_t nfixups, fixups_cap;
    int dead;                       /* the code being read is unreachable */
    int32_t trap_label[WB_TRAP_CODES];
    int32_t trap_element_label;     /* wasabi_rt_trap_element(index in r11d... see ops) */
    /* the frame */
    size_t frame_size_at;           /* the sub rsp imm32 to patch */
    uint32_t outgoing;              /* bytes of stack arguments the largest call needs */
    /* PGO */
    uint32_t loops;                 /* loops translated (translator.loop_headers) */
    uint32_t osr_eligible;          /* eligible loops seen */
    wb_result* out;
    int osr_ok;                     /* this function's loops may look for entries */
    const uint8_t* body;            /* (branch sites are named by offsets in it) */
    uint32_t sites_cap;
    uint32_t sites_width;           /* counters in the block so far */
    /* cached locals: uses counted by the first pass (NULL in the second), and the
     * locals the second keeps in registers */
    uint64_t* local_uses;
    uint32_t ncached;
    uint32_t cached_local[WB_MAX_CACHED];
    uint8_t cached_reg[WB_MAX_CACHED];
} wb_ctx;

/* the register pools: caller-saved registers only (r11 and xmm15 are scratch) */
#define GPR_POOL_MASK ((1u << RAX) | (1u << RCX) | (1u << RDX) | (1u << RSI) | (1u << RDI) \
                       | (1u << R8) | (1u << R9) | (1u << R10))
#define XMM_POOL_MASK 0x7FFFu
#define SCRATCH R11
#define XSCRATCH 15
#define VMCTX_REG RBX
#define MEMBASE_REG R12
#define SITES_REG R13               /* PGO: the function's branch counters */
#define TEMP_SLOT (-48)             /* [rbp-48]: a call's record (below the saved registers) */
#define R14_SAVE (-32)              /* where r14 and r15 are kept when locals are cached there */
#define R15_SAVE (-40)

/* the frame below rbp: saved rbx, r12, r13 (pushed: SAVED bytes), r14, r15, the
 * temporary, then the locals' slots and the operand stack's */
#define SAVED 24
#define HEADER 48

/* SysV: where integer arguments go (rdi carries the vmctx to wasm functions) */
static const int WB_INT_ARGS[6] = {RDI, RSI, RDX, RCX, R8, R9};

/* SysV argument classification, one argument after the other: integers in the
 * six registers above, floats in xmm0-7, the rest in 8-byte stack words in order */
typedef struct wb_args {
    int ints, floats;
    uint32_t stack;
} wb_args;
enum { ARG_GPR, ARG_XMM, ARG_STACK };

/* where the next argument of type t goes: ARG_GPR / ARG_XMM with *where the
 * register, or ARG_STACK with *where its stack word */
static inline int wb_next_arg(wb_args* a, uint8_t t, int* where) {
    int is_float = t == VT_F32 || t == VT_F64;
    if (is_float && a->floats < 8) {
        *where = a->floats++;
        return ARG_XMM;
    }
    if (!is_float && a->ints < 6) {
        *where = WB_INT_ARGS[a->ints++];
        return ARG_GPR;
    }
    *where = (int)a->stack++;
    return ARG_STACK;
}

/* baseline_stack.c: reading, slots, the operand stack and its registers, labels */
void wb_refuse(wb_ctx* c, const char* why);
/* room for one more item in *items (count used of *cap, each `size` bytes): 0 and
 * refused when out of memory */
int wb_grow(wb_ctx* c, void** items, uint32_t count, uint32_t* cap, size_t size);
uint64_t wb_leb(wb_ctx* c, int is_signed, int bits);
uint32_t wb_u32(wb_ctx* c);
int32_t wb_s32(wb_ctx* c);
int64_t wb_s64(wb_ctx* c);
int wb_is_float(uint8_t type);
int wb_is64(uint8_t type);
int wb_plain_types(const uint8_t* types, uint32_t n);
xmem wb_slot(wb_ctx* c, uint32_t depth);
xmem wb_local(wb_ctx* c, uint32_t index);
/* the register a cached local lives in, or -1 (then it lives in wb_local's slot) */
int wb_local_reg(wb_ctx* c, uint32_t index);
/* first pass: one more use of local `index` if it is an integer (more in a loop) */
void wb_count_use(wb_ctx* c, uint32_t index);
wb_value* wb_push(wb_ctx* c, uint8_t kind, uint8_t type);
void wb_push_reg(wb_ctx* c, uint8_t type, int reg);
void wb_push_const(wb_ctx* c, uint8_t type, uint64_t bits);
wb_value wb_pop(wb_ctx* c);
void wb_free_value(wb_ctx* c, wb_value v);
int wb_alloc_gpr(wb_ctx* c);
int wb_alloc_xmm(wb_ctx* c);
int wb_alloc_for(wb_ctx* c, uint8_t type);
void wb_evict(wb_ctx* c, int reg);
void wb_load_into(wb_ctx* c, wb_value* v, int r, uint32_t at);
int wb_to_reg(wb_ctx* c, uint32_t at);
int wb_pop_reg(wb_ctx* c);
int wb_own_reg(wb_ctx* c, wb_value v, uint32_t at);
void wb_materialize_cmp(wb_ctx* c);
void wb_spill_all(wb_ctx* c);
/* store the value at stack[at] (not popped) to m, 8 bytes (baseline_ops.c) */
void wb_store_value(wb_ctx* c, uint32_t at, xmem m);
/* the entries below depth n into their slots */
void wb_spill_below(wb_ctx* c, uint32_t n);
int wb_new_label(wb_ctx* c);
void wb_bind(wb_ctx* c, int label);
void wb_add_fixup(wb_ctx* c, int label, size_t at, size_t base);
void wb_jump_to(wb_ctx* c, int label, size_t at);
void wb_resolve_fixups(wb_ctx* c);
void wb_trap_if(wb_ctx* c, int cc, int code);
void wb_emit_trap_stubs(wb_ctx* c);
void wb_call_abs(wb_ctx* c, const void* fn);

/* baseline.c: the function's frame */
void wb_emit_epilogue(wb_ctx* c);
void wb_emit_return(wb_ctx* c);

/* baseline_control.c: structured control flow; 1 if `op` was a control instruction */
wb_frame* wb_push_frame(wb_ctx* c, uint8_t kind);
int wb_control(wb_ctx* c, uint8_t op);
void wb_skip_dead(wb_ctx* c);

/* baseline_ops.c: the other opcodes; 1 if handled, 0 if not its opcode */
int wb_op(wb_ctx* c, uint8_t op);
int wb_op_fc(wb_ctx* c, uint32_t sub);
int wb_fits_imm32(wb_value v);
void wb_push_cmp(wb_ctx* c, int cc);

/* baseline_float.c */
void wb_float_op(wb_ctx* c, int k, int is64);
void wb_float_compare(wb_ctx* c, int which, int is64);
int wb_conversion(wb_ctx* c, uint8_t op);
void wb_truncate(wb_ctx* c, int from64, int to64, int is_unsigned, int sat);

/* baseline_calls.c */
void wb_call_native(wb_ctx* c, const void* fn, int with_vmctx, const int64_t* imms, int nimm,
                    uint32_t n, uint8_t rt);
void wb_call(wb_ctx* c, uint32_t func);
/* the n arguments of `types`, argument i at [base + first + stride*i], into their
 * registers and the outgoing stack words (rdi left for the vmctx): the words used */
uint32_t wb_load_args(xbuf* b, const uint8_t* types, uint32_t n, int base, int32_t first,
                      int32_t stride);
void wb_call_indirect(wb_ctx* c, uint32_t type_index, uint32_t table);

/* baseline_rt.c: what the code calls for the rare operations */
float wb_f32_min(float a, float b);
float wb_f32_max(float a, float b);
double wb_f64_min(double a, double b);
double wb_f64_max(double a, double b);
/* trapping and saturating truncations: op = the 0xA8..0xB1 opcode or 0xFC sub 0..7 */
uint64_t wb_trunc(uint32_t op, double value);
float wb_f32_convert_u64(uint64_t v);
double wb_f64_convert_u64(uint64_t v);

#endif
