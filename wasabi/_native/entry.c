/* Entering compiled code and leaving it by trap.
 *
 * Each entry pushes a jump record on a thread-local chain and _setjmp()s
 * (not sigsetjmp: saving the signal mask is a syscall per call). A trap, from
 * a builtin or from the signal handler, _longjmp()s to the innermost record.
 * Compiled frames own no resources, so skipping them is safe.
 */
#include <Python.h>     /* first, as Python.h requires; it defines _GNU_SOURCE */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "fastcall.h"
#include "runtime.h"

#define STACK_MARGIN (128u * 1024u)     /* room for builtins and the signal handler */
/* Python code that wasm calls (host functions, the lazy compiler) needs far more
 * stack than a builtin: it gets at least this much (or a quarter of a small
 * thread stack); a call deeper than that traps "call stack exhausted" instead
 * of letting Python overflow the stack. */
#define HOST_STACK_RESERVE (1024u * 1024u)

typedef struct wrt_jmp {
    jmp_buf buf;
    struct wrt_jmp* prev;
    VMContext* entered;        /* the instance entered (preempt.c polls it) */
    size_t gates_mark;         /* tls_gates_len at the entry */
} wrt_jmp;

static WRT_TLS wrt_jmp* tls_top;           /* innermost entry, NULL outside */
static WRT_TLS uintptr_t tls_stack_low;    /* 0 until the thread is prepared */
static WRT_TLS uintptr_t tls_host_floor;   /* lowest stack pointer a host call may start at */
/* The lowest stack pointer compiled code may reach on this thread. Compiled
 * code reads it at thread pointer + vmctx->stack_limit_tpoff: the limit
 * belongs to the thread, so an instance reached through an import or a
 * funcref, on any thread, checks against the right one (initial-exec TLS:
 * the offset is the same in every thread). */
static WRT_TLS uintptr_t tls_stack_limit;
/* The limit itself. tls_stack_limit differs from it only while forced to
 * UINTPTR_MAX (control.c, wrt_force_slow_entry_here): every function entry
 * then fails its stack check and calls wasabi_rt_stack_slow, which polls.
 * So the entry check of compiled code is also its interrupt check, at no
 * cost (SpiderMonkey's trick); loops are made to poll by signal (preempt.c). */
static WRT_TLS uintptr_t tls_real_limit;

/* The instances this thread entered through wasabi_rt_gate_enter (calls
 * through imports and funcrefs), innermost last; an entry that ends by trap
 * leaves those entered since it began (the frames that would have left them
 * were skipped). Grown by realloc, freed at thread exit. */
static WRT_TLS VMContext** tls_gates;
static WRT_TLS size_t tls_gates_len, tls_gates_cap;

/* the thread state the innermost GIL-releasing entry saved; NULL while this
 * thread holds the GIL (host calls take it back through this) */
static WRT_TLS PyThreadState* tls_released;

static uint64_t max_wasm_stack;            /* 0 = bounded by the real stack only */
static pthread_key_t gates_key;
static pthread_once_t gates_once = PTHREAD_ONCE_INIT;

static void gates_release(void* mem) { free(mem); }

static void gates_key_create(void) { pthread_key_create(&gates_key, gates_release); }

static uintptr_t query_stack_low(size_t* size) {
    pthread_attr_t attr;
    void* addr = NULL;
    *size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    pthread_attr_getstack(&attr, &addr, size);
    pthread_attr_destroy(&attr);
    return (uintptr_t)addr;
}

/* bumped by each wrt_set_max_wasm_stack: a thread's limit computed under an
 * older setting is computed again at its next outermost entry (also when the
 * new setting is 0, "no bound", which otherwise needs no computing) */
static uint64_t max_stack_setting;
static WRT_TLS uint64_t tls_limit_setting;

static void compute_stack_limit(void) {
    tls_limit_setting = __atomic_load_n(&max_stack_setting, __ATOMIC_ACQUIRE);
    uintptr_t limit = tls_stack_low + STACK_MARGIN;
    if (max_wasm_stack) {
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);
        if (here > max_wasm_stack && here - max_wasm_stack > limit)
            limit = here - max_wasm_stack;
    }
    tls_real_limit = limit;
    __atomic_store_n(&tls_stack_limit, limit, __ATOMIC_SEQ_CST);
}

void wrt_force_slow_entry_here(void) {
    __atomic_store_n(&tls_stack_limit, UINTPTR_MAX, __ATOMIC_SEQ_CST);
}

/* An instance entered with hints set: its code's first function entry polls. */
static inline void poll_on_entry_if_hinted(VMContext* ctx) {
    if (__atomic_load_n(&ctx->interrupt, __ATOMIC_SEQ_CST))
        wrt_force_slow_entry_here();
}

/* wasabi_rt_stack_slow's work (builtins.h: the symbol is a register-keeping trampoline) */
void wrt_stack_slow(void* vmctx);
WASABI_REGISTER_KEEPING(wasabi_rt_stack_slow, wrt_stack_slow);

void wrt_stack_slow(void* vmctx) {
    if ((uintptr_t)__builtin_frame_address(0) < tls_real_limit)
        wasabi_rt_trap(TRAP_STACK_EXHAUSTED);
    /* forced: put the limit back first, then read the hints, so that a hint set
     * meanwhile is seen here or forces the limit again (both sides seq_cst) */
    __atomic_exchange_n(&tls_stack_limit, tls_real_limit, __ATOMIC_SEQ_CST);
    VMContext* ctx = (VMContext*)vmctx;
    if (ctx && __atomic_load_n(&ctx->interrupt, __ATOMIC_SEQ_CST))
        wasabi_rt_poll(ctx);
}

/* A poll where compiled code was interrupted (preempt.c's trampoline): the
 * instance entered through another instance's import, if any, and the one
 * the innermost entry entered. Hints on others wait for their own checks. */
void wrt_preempt_poll(void) {
    wrt_jmp* top = tls_top;
    if (!top)
        return;
    if (tls_gates_len > top->gates_mark) {
        VMContext* inner = tls_gates[tls_gates_len - 1];
        if (__atomic_load_n(&inner->interrupt, __ATOMIC_SEQ_CST))
            wasabi_rt_poll(inner);
    }
    VMContext* ctx = top->entered;
    if (ctx && ctx->kind == WRT_KIND_VMCTX && __atomic_load_n(&ctx->interrupt, __ATOMIC_SEQ_CST))
        wasabi_rt_poll(ctx);
}

void wrt_hint_innermost(uint64_t bits) {
    wrt_jmp* top = tls_top;
    if (top && top->entered && top->entered->kind == WRT_KIND_VMCTX)
        __atomic_or_fetch(&top->entered->interrupt, bits, __ATOMIC_SEQ_CST);
}

int wrt_thread_prepare(void) {
    if (tls_stack_low)
        return 0;
    if (wrt_altstack_ensure() != 0)
        return -1;
    size_t size;
    uintptr_t low = query_stack_low(&size);
    if (!low)
        return -1;
    if (wrt_control_thread_register((uint64_t)(uintptr_t)&tls_top, &tls_stack_limit) != 0)
        return -1;
    tls_stack_low = low;
    tls_host_floor = low + STACK_MARGIN + (size / 4 < HOST_STACK_RESERVE ? size / 4 : HOST_STACK_RESERVE);
    compute_stack_limit();
    return 0;
}

uintptr_t wrt_thread_stack_low(void) { return tls_stack_low; }

int wrt_in_entry(void) { return tls_top != NULL; }

void wrt_set_max_wasm_stack(uint64_t bytes) {
    max_wasm_stack = bytes;
    __atomic_add_fetch(&max_stack_setting, 1, __ATOMIC_RELEASE);
}

int64_t wrt_stack_limit_tpoff(void) {
    return (int64_t)((uintptr_t)&tls_stack_limit - (uintptr_t)__builtin_thread_pointer());
}

void wrt_vmctx_init(VMContext* ctx) {
    ctx->stack_limit_tpoff = wrt_stack_limit_tpoff();
    ctx->kind = WRT_KIND_VMCTX;
}

static void gates_unwind(size_t mark);

/* The body of every entry: push a jump record, _setjmp, run CALL; a trap
 * _longjmp()s back here with its code, and the gates entered since are left.
 * Locals read after the longjmp are all assigned before _setjmp, so none
 * needs to be volatile. */
#define RUN_ENTRY(ctx, code, CALL)                                    \
    do {                                                              \
        if (!tls_top && (max_wasm_stack ||                            \
                         tls_limit_setting != max_stack_setting))     \
            compute_stack_limit(); /* counts from the outermost */    \
        poll_on_entry_if_hinted(ctx);                                 \
        size_t gates_mark_ = tls_gates_len;                           \
        wrt_jmp rec_;                                                 \
        rec_.prev = tls_top;                                          \
        rec_.entered = (ctx);                                         \
        rec_.gates_mark = gates_mark_;                                \
        (code) = _setjmp(rec_.buf);                                   \
        if ((code) == 0) {                                            \
            tls_top = &rec_;                                          \
            CALL;                                                     \
        }                                                             \
        tls_top = rec_.prev;                                          \
        if (tls_gates_len != gates_mark_)                             \
            gates_unwind(gates_mark_);                                \
    } while (0)

int wasabi_entry(void* thunk, void* fn, void* vmctx, void* slots) {
    if (!tls_stack_low && wrt_thread_prepare() != 0)
        return TRAP_STACK_EXHAUSTED;   /* cannot bound the stack: refuse to run */
    int code;
    RUN_ENTRY((VMContext*)vmctx, code, ((wrt_thunk_fn)thunk)(fn, vmctx, slots));
    return code;
}

/* ---- entries with the GIL held on arrival ---- */

/* An instance runs on one thread at a time; the thread inside it may enter
 * it again (wasm -> host -> wasm, or A -> B -> A through imports). The owner
 * is taken by compare-and-swap: calls through imports and funcrefs enter
 * gates without the GIL (wasabi_rt_gate_enter). */
static inline uint64_t gate_token(void) {
    return (uint64_t)(uintptr_t)&tls_top;   /* unique per live thread (control.c knows it) */
}

static inline int gate_enter(VMContext* ctx) {
    uint64_t me = gate_token();
    uint64_t owner = __atomic_load_n(&WRT_GATE_OWNER(ctx), __ATOMIC_ACQUIRE);
    if (owner == me) {
        WRT_GATE_DEPTH(ctx)++;
        return 0;
    }
    uint64_t idle = 0;
    if (owner != 0 || !__atomic_compare_exchange_n(&WRT_GATE_OWNER(ctx), &idle, me, 0,
                                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return -1;
    WRT_GATE_DEPTH(ctx) = 1;
    return 0;
}

static inline void gate_leave(VMContext* ctx) {
    if (--WRT_GATE_DEPTH(ctx) == 0)
        __atomic_store_n(&WRT_GATE_OWNER(ctx), 0, __ATOMIC_RELEASE);
}

static int gates_push(VMContext* ctx) {
    if (tls_gates_len == tls_gates_cap) {
        size_t cap = tls_gates_cap ? 2 * tls_gates_cap : 64;
        VMContext** grown = realloc(tls_gates, cap * sizeof *grown);
        if (!grown)
            return -1;
        pthread_once(&gates_once, gates_key_create);
        pthread_setspecific(gates_key, grown);
        tls_gates = grown;
        tls_gates_cap = cap;
    }
    tls_gates[tls_gates_len++] = ctx;
    return 0;
}

static void gates_unwind(size_t mark) {
    while (tls_gates_len > mark)
        gate_leave(tls_gates[--tls_gates_len]);
}

/* Compiled code calls these around a call whose callee vmctx is not its own
 * (an import, or call_indirect into another instance): the one-thread-per-
 * instance rule holds for every way into an instance, not only from Python.
 * A host function's record is not a VMContext (kind differs): host calls take
 * the GIL and need no gate. */
void wasabi_rt_gate_enter(void* callee) {
    VMContext* ctx = (VMContext*)callee;
    if (ctx->kind != WRT_KIND_VMCTX)
        return;
    if (gate_enter(ctx) != 0)
        wasabi_rt_trap(TRAP_INSTANCE_BUSY);
    if (gates_push(ctx) != 0) {
        gate_leave(ctx);
        wasabi_rt_trap(TRAP_STACK_EXHAUSTED);
    }
    poll_on_entry_if_hinted(ctx);
}

void wasabi_rt_gate_leave(void* callee) {
    VMContext* ctx = (VMContext*)callee;
    if (ctx->kind != WRT_KIND_VMCTX)
        return;
    tls_gates_len--;            /* calls nest: ctx is the innermost gate */
    gate_leave(ctx);
}

/* Whether another Python thread exists that could want the GIL. With the
 * interpreter's only thread inside wasm, releasing and re-taking the GIL
 * (two mutex round trips, about half the cost of a small call) would buy
 * nothing: no Python code can run meanwhile. A thread that appears later is
 * handled too: a host call (the only way Python code runs inside wasm)
 * releases the GIL on its way back into wasm once another thread exists. A
 * C thread that creates its thread state while wasm runs waits for the
 * call to end, as with any extension that holds the GIL. The list is read
 * without the head lock: only pointer values are compared, and our own
 * thread state is alive. */
static inline int other_threads_exist(void) {
    PyThreadState* me = PyThreadState_Get();
    return PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(me)) != me
        || PyThreadState_Next(me) != NULL;
}

/* Per thread, what the innermost entry did with the GIL: released it
 * (tls_released: the saved thread state) or kept it (tls_kept). */
static WRT_TLS int tls_kept;

/* Gate, GIL release, RUN_ENTRY, GIL, gate. A host call inside finds the
 * released thread state in tls_released; a nested entry saves the outer one. */
#define RUN_RELEASED(ctx, code, CALL)                                 \
    do {                                                              \
        if (!tls_stack_low && wrt_thread_prepare() != 0)              \
            return TRAP_STACK_EXHAUSTED;                              \
        if (gate_enter(ctx) != 0)                                     \
            return WRT_BUSY;                                          \
        PyThreadState* outer_released_ = tls_released;                \
        int outer_kept_ = tls_kept;                                   \
        if (other_threads_exist()) {                                  \
            tls_kept = 0;                                             \
            tls_released = PyEval_SaveThread();                       \
        } else {                                                      \
            tls_kept = 1;                                             \
            tls_released = NULL;                                      \
        }                                                             \
        RUN_ENTRY(ctx, code, CALL);                                   \
        if (tls_released)                                             \
            PyEval_RestoreThread(tls_released);                       \
        tls_released = outer_released_;                               \
        tls_kept = outer_kept_;                                       \
        gate_leave(ctx);                                              \
    } while (0)

int wrt_regcall_supported(void) { return WRT_HAVE_REGCALL; }

int wrt_call_regs(void* fn, VMContext* ctx, const uint64_t* iregs, const double* fregs,
                  const uint64_t* stack_words, int stack, int float_result, uint64_t* out) {
    int code;
    RUN_RELEASED(ctx, code,
                 *out = wrt_regcall(fn, ctx, iregs, fregs, stack_words, stack, float_result));
    return code;
}

int wrt_call_thunk(void* thunk, void* fn, VMContext* ctx, void* slots) {
    int code;
    RUN_RELEASED(ctx, code, ((wrt_thunk_fn)thunk)(fn, ctx, slots));
    return code;
}

int wrt_call_body(VMContext* ctx, wrt_body_fn body, void* arg) {
    int code;
    RUN_RELEASED(ctx, code, body(arg));
    return code;
}

/* ---- entries from foreign native code (numpy inner loops, export.address) ----
 * The caller may or may not hold the GIL (numpy releases it around big loops,
 * numba and C callers keep it): nothing is done with it here, and a host call
 * inside finds no record and uses PyGILState_Ensure. Same gate as the other
 * entries: WRT_BUSY when another thread runs the instance. */
#define RUN_FOREIGN(ctx, code, CALL)                                  \
    do {                                                              \
        if (!tls_stack_low && wrt_thread_prepare() != 0)              \
            return TRAP_STACK_EXHAUSTED;                              \
        if (gate_enter(ctx) != 0)                                     \
            return WRT_BUSY;                                          \
        PyThreadState* outer_released_ = tls_released;                \
        int outer_kept_ = tls_kept;                                   \
        tls_released = NULL;                                          \
        tls_kept = 0;                                                 \
        RUN_ENTRY(ctx, code, CALL);                                   \
        tls_released = outer_released_;                               \
        tls_kept = outer_kept_;                                       \
        gate_leave(ctx);                                              \
    } while (0)

int wrt_call_body_foreign(VMContext* ctx, wrt_body_fn body, void* arg) {
    int code;
    RUN_FOREIGN(ctx, code, body(arg));
    return code;
}

int wrt_call_thunk_foreign(void* thunk, void* fn, VMContext* ctx, void* slots) {
    int code;
    RUN_FOREIGN(ctx, code, ((wrt_thunk_fn)thunk)(fn, ctx, slots));
    return code;
}

int wrt_host_stack_ok(void) {
    return (uintptr_t)__builtin_frame_address(0) >= tls_host_floor;
}

int wrt_host_call_enter(void** released) {
    if ((uintptr_t)__builtin_frame_address(0) < tls_host_floor)
        wasabi_rt_trap(TRAP_STACK_EXHAUSTED);     /* nothing taken yet: safe to leave */
    PyThreadState* ts = tls_released;
    if (ts) {
        tls_released = NULL;
        PyEval_RestoreThread(ts);
        *released = ts;
        return WRT_GIL_RESTORED;
    }
    if (tls_kept)
        return WRT_GIL_KEPT;
    return WRT_GIL_UNKNOWN;
}

void wrt_host_call_leave(int how) {
    /* back into wasm: release the GIL if the host call restored it, or if
     * it started a thread while the entry was keeping the GIL */
    if (how == WRT_GIL_RESTORED || (how == WRT_GIL_KEPT && other_threads_exist())) {
        tls_kept = 0;
        tls_released = PyEval_SaveThread();
    }
}

void wasabi_rt_trap(int32_t code) {
    wrt_jmp* top = tls_top;
    if (!top)
        abort();    /* a builtin ran outside any entry: a runtime bug, never wasm's doing */
    if (code == 0)
        code = TRAP_UNREACHABLE;   /* 0 means "no trap" to the entry */
    _longjmp(top->buf, code);
}

void wrt_trap_from_signal(int code) {
    /* SA_NODEFER left the signal unblocked, so a plain _longjmp out of the
     * handler leaves the mask as it was at the entry. */
    _longjmp(tls_top->buf, code);
}
