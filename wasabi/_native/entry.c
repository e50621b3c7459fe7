/* Entering compiled code and leaving it by trap.
 *
 * Each entry pushes a jump record on a thread-local chain and _setjmp()s
 * (not sigsetjmp: saving the signal mask is a syscall per call). A trap, from
 * a builtin or from the signal handler, _longjmp()s to the innermost record.
 * Compiled frames own no resources, so skipping them is safe.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "runtime.h"

#define STACK_MARGIN (128u * 1024u)     /* room for builtins, host calls, the signal handler */
#define ALTSTACK_SIZE (64u * 1024u)

typedef struct wrt_jmp {
    jmp_buf buf;
    struct wrt_jmp* prev;
} wrt_jmp;

static WRT_TLS wrt_jmp* tls_top;           /* innermost entry, NULL outside */
static WRT_TLS uintptr_t tls_stack_low;    /* 0 until the thread is prepared */
static WRT_TLS uintptr_t tls_stack_limit;  /* what entries store in vmctx->stack_limit */

static uint64_t max_wasm_stack;            /* 0 = bounded by the real stack only */
static pthread_key_t altstack_key;
static pthread_once_t altstack_once = PTHREAD_ONCE_INIT;

/* Called at thread exit (pthread key destructor): the altstack was ours. */
static void altstack_release(void* mem) {
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    free(mem);
}

static void altstack_key_create(void) {
    pthread_key_create(&altstack_key, altstack_release);
}

/* A signal on an overflowed stack can only run on an alternate stack. Keep one
 * installed by somebody else (CPython's faulthandler has its own). */
static int altstack_ensure(void) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return -1;
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= ALTSTACK_SIZE / 2)
        return 0;
    pthread_once(&altstack_once, altstack_key_create);
    void* mem = malloc(ALTSTACK_SIZE);
    if (!mem)
        return -1;
    stack_t ss;
    ss.ss_sp = mem;
    ss.ss_size = ALTSTACK_SIZE;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) != 0) {
        free(mem);
        return -1;
    }
    void* old = pthread_getspecific(altstack_key);
    pthread_setspecific(altstack_key, mem);
    free(old);
    return 0;
}

static uintptr_t query_stack_low(void) {
    pthread_attr_t attr;
    void* addr = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return 0;
    pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    return (uintptr_t)addr;
}

static void compute_stack_limit(void) {
    uintptr_t limit = tls_stack_low + STACK_MARGIN;
    if (max_wasm_stack) {
        uintptr_t here = (uintptr_t)__builtin_frame_address(0);
        if (here > max_wasm_stack && here - max_wasm_stack > limit)
            limit = here - max_wasm_stack;
    }
    tls_stack_limit = limit;
}

int wrt_thread_prepare(void) {
    if (tls_stack_low)
        return 0;
    if (altstack_ensure() != 0)
        return -1;
    uintptr_t low = query_stack_low();
    if (!low)
        return -1;
    tls_stack_low = low;
    compute_stack_limit();
    return 0;
}

uintptr_t wrt_thread_stack_low(void) { return tls_stack_low; }

int wrt_in_entry(void) { return tls_top != NULL; }

void wrt_set_max_wasm_stack(uint64_t bytes) { max_wasm_stack = bytes; }

int wasabi_entry(void* thunk, void* fn, void* vmctx, void* slots) {
    if (!tls_stack_low && wrt_thread_prepare() != 0)
        return TRAP_STACK_EXHAUSTED;   /* cannot bound the stack: refuse to run */
    VMContext* ctx = (VMContext*)vmctx;
    /* Every entry (not only the outermost) sets the limit of the vmctx it
     * enters: a nested entry from a host function may enter another instance
     * whose limit was never set on this thread. */
    uint64_t saved_limit = ctx->stack_limit;
    if (!tls_top && max_wasm_stack)
        compute_stack_limit();       /* max_wasm_stack counts from the outermost entry */
    wrt_jmp rec;
    rec.prev = tls_top;
    int code = _setjmp(rec.buf);
    if (code == 0) {
        tls_top = &rec;
        ctx->stack_limit = tls_stack_limit;
        ((wrt_thunk_fn)thunk)(fn, vmctx, slots);
    }
    tls_top = rec.prev;
    ctx->stack_limit = saved_limit;
    return code;
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
