/* Entries from Python into compiled code that manage the GIL and the
 * per-instance gate, and the register-level call used by the typed fast
 * paths (wasabi/_cy/fastcall.pxi, wasabi/_cy/vectorize.pxi).
 *
 * All wrt_call_* functions are called WITH the GIL held. They check the
 * instance gate, release the GIL (when another thread exists), _setjmp, run
 * compiled code, re-take the GIL and return 0, a trap code, or WRT_BUSY
 * (nothing ran).
 */
#ifndef WASABI_FASTCALL_H
#define WASABI_FASTCALL_H

#include <Python.h>
#include <stdint.h>
#include <string.h>
#include "vmctx.h"

/* the instance is running on another thread; nothing was called */
#define WRT_BUSY (-1)

/* The gate lives in two VMContext words (gate_owner, gate_depth in vmctx.h): the token of
 * the thread inside the instance (0: none) and that thread's entry depth.
 * Only touched with the GIL held, so plain loads and stores suffice. */
#define WRT_GATE_OWNER(ctx) ((ctx)->gate_owner)
#define WRT_GATE_DEPTH(ctx) ((ctx)->gate_depth)

/* ---- the register call ----
 * In the SysV x86-64 convention (the C convention LLVM uses for every
 * compiled wasm function), integer and floating-point arguments are assigned
 * to two independent register files in order (rdi..r9, xmm0..xmm7); the
 * arguments that find no register go to the stack, one 8-byte word each, in
 * parameter order; and a callee never reads registers beyond its own
 * parameters. So a wasm function with parameters i32/i64/f32/f64 can be
 * called as fn(vmctx, i0..i4, f0..f7, s0..s3): its integer parameters, in
 * order, take i0.. while they last, its float ones f0.., and the rest, in
 * parameter order, the stack words s0... An i32 is the low half of its
 * register or word (callees ignore the rest), an f32 the low 4 bytes, which is
 * exactly what the callers put there. The result comes back in rax or xmm0;
 * an i32/f32 result is the low half. Other targets use the array thunks. */
#if defined(__x86_64__) && !defined(_WIN32)
#define WRT_HAVE_REGCALL 1
#else
#define WRT_HAVE_REGCALL 0
#endif
#define WRT_REG_INTS 5
#define WRT_REG_FLOATS 8
#define WRT_STACK_WORDS 4

#define WRT_REGCALL_PARAMS void*, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, \
    double, double, double, double, double, double, double, double
#define WRT_REGCALL_ARGS(v, i, f) v, i[0], i[1], i[2], i[3], i[4], \
    f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
typedef uint64_t (*wrt_regcall_int_fn)(WRT_REGCALL_PARAMS);
typedef double (*wrt_regcall_float_fn)(WRT_REGCALL_PARAMS);
typedef uint64_t (*wrt_stackcall_int_fn)(WRT_REGCALL_PARAMS, uint64_t, uint64_t, uint64_t, uint64_t);
typedef double (*wrt_stackcall_float_fn)(WRT_REGCALL_PARAMS, uint64_t, uint64_t, uint64_t, uint64_t);

/* Call `fn` with the register convention (stack words only when `stack`);
 * returns the raw result bits (rax, or xmm0's 8 bytes when float_result). */
static inline uint64_t wrt_regcall(void* fn, void* vmctx, const uint64_t* i, const double* f,
                                   const uint64_t* s, int stack, int float_result) {
    double r;
    uint64_t bits;
    if (!float_result) {
        if (!stack)
            return ((wrt_regcall_int_fn)fn)(WRT_REGCALL_ARGS(vmctx, i, f));
        return ((wrt_stackcall_int_fn)fn)(WRT_REGCALL_ARGS(vmctx, i, f), s[0], s[1], s[2], s[3]);
    }
    if (!stack)
        r = ((wrt_regcall_float_fn)fn)(WRT_REGCALL_ARGS(vmctx, i, f));
    else
        r = ((wrt_stackcall_float_fn)fn)(WRT_REGCALL_ARGS(vmctx, i, f), s[0], s[1], s[2], s[3]);
    memcpy(&bits, &r, 8);
    return bits;
}

/* where a parameter goes: (class << 5) | index */
#define WRT_PLACE_INT 0
#define WRT_PLACE_FLOAT 1
#define WRT_PLACE_STACK 2

/* The value of an int that fits one internal digit (|v| < 2**30), without a
 * call into the interpreter: the common argument of a wasm call. Returns 0
 * for anything else (the caller then takes the general path). Python.h must
 * come first (Cython-generated code and entry.c include it first). */
static inline int wrt_small_int(PyObject* o, long long* out) {
#if PY_VERSION_HEX >= 0x030C0000
    if (PyLong_CheckExact(o) && PyUnstable_Long_IsCompact((PyLongObject*)o)) {
        *out = (long long)PyUnstable_Long_CompactValue((PyLongObject*)o);
        return 1;
    }
#else
    if (PyLong_CheckExact(o)) {
        Py_ssize_t size = Py_SIZE(o);
        if (size == 0 || size == 1 || size == -1) {
            long long digit = size ? (long long)((PyLongObject*)o)->ob_digit[0] : 0;
            *out = size < 0 ? -digit : digit;
            return 1;
        }
    }
#endif
    return 0;
}

typedef void (*wrt_body_fn)(void* arg);

int wrt_regcall_supported(void);
/* fast path: *out = raw result bits */
int wrt_call_regs(void* fn, VMContext* ctx, const uint64_t* iregs, const double* fregs,
                  const uint64_t* stack_words, int stack, int float_result, uint64_t* out);
/* any signature: the array thunk moves slots <-> registers */
int wrt_call_thunk(void* thunk, void* fn, VMContext* ctx, void* slots);
/* run body(arg) inside one entry (vectorize: a whole loop of calls) */
int wrt_call_body(VMContext* ctx, wrt_body_fn body, void* arg);
/* the same from foreign native code that may or may not hold the GIL (numpy
 * inner loops, export.address callers): the GIL is left as it is */
int wrt_call_body_foreign(VMContext* ctx, wrt_body_fn body, void* arg);
int wrt_call_thunk_foreign(void* thunk, void* fn, VMContext* ctx, void* slots);

/* Host calls (hostcall.c) take the GIL back from the innermost entry:
 * wrt_host_call_enter returns how (and holds the GIL on return, except for
 * WRT_GIL_UNKNOWN: an entry that did not go through wrt_call_*, where the
 * caller must use PyGILState_Ensure); wrt_host_call_leave(how) undoes it
 * on the way back into wasm. With too little stack left for Python (wasm
 * recursed deep), wrt_host_call_enter traps "call stack exhausted" instead. */
#define WRT_GIL_RESTORED 1
#define WRT_GIL_KEPT 2
#define WRT_GIL_UNKNOWN 3
int wrt_host_call_enter(void** released);
void wrt_host_call_leave(int how);

#endif
