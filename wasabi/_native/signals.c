/* SIGSEGV/SIGBUS: turn faults of compiled code into traps, chain all others.
 *
 * A fault becomes a trap only when all hold: the thread is inside an entry,
 * the PC is in registered JIT code, and the address is either in a registered
 * memory reservation (TRAP_OOB_MEMORY) or just below this thread's stack
 * (TRAP_STACK_EXHAUSTED: a safety net behind the prologue checks). Anything
 * else goes to the handler that was installed before ours.
 *
 * Range tables are read by the handler without locks: slots are written with
 * atomic stores in an order that never shows a half-written range as valid,
 * and a table is replaced (never freed) when it must grow.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "runtime.h"

typedef struct range {
    uintptr_t begin;   /* UINTPTR_MAX when the slot is free */
    uintptr_t end;
} range;

typedef struct range_table {
    range* slots;
    size_t capacity;
} range_table;

static range_table* code_ranges;
static range_table* reservations;
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;

#define ALTSTACK_SIZE (64u * 1024u)

static struct sigaction previous_segv, previous_bus;
static int installed;

/* The frame of our handler while it runs the previous handler, 0 otherwise. The previous
 * handler may never return: wasmtime, for one, leaves its handler by unwinding to its own
 * entry when its code traps. So the mark can be stale and is trusted only when the fault
 * was raised from just below it, i.e. from inside the previous handler. */
static WRT_TLS uintptr_t tls_chain_frame;
#define CHAIN_NEST_WINDOW ((uintptr_t)1 << 20)

static range_table* table_new(size_t capacity) {
    range_table* t = malloc(sizeof *t);
    range* slots = malloc(capacity * sizeof *slots);
    if (!t || !slots) {
        free(t);
        free(slots);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++) {
        slots[i].begin = UINTPTR_MAX;
        slots[i].end = 0;
    }
    t->slots = slots;
    t->capacity = capacity;
    return t;
}

static int range_add(range_table** tp, uintptr_t begin, uintptr_t end) {
    pthread_mutex_lock(&ranges_lock);
    range_table* t = *tp;
    int ok = -1;
    for (size_t i = 0; t && i < t->capacity; i++) {
        if (__atomic_load_n(&t->slots[i].begin, __ATOMIC_RELAXED) == UINTPTR_MAX) {
            __atomic_store_n(&t->slots[i].end, end, __ATOMIC_RELEASE);
            __atomic_store_n(&t->slots[i].begin, begin, __ATOMIC_RELEASE);
            ok = 0;
            break;
        }
    }
    if (ok != 0) {
        /* grow: the old table stays readable (a handler may be scanning it);
         * it is leaked on purpose, the total stays below twice the largest */
        size_t cap = t ? t->capacity * 2 : 64;
        range_table* bigger = table_new(cap);
        if (bigger) {
            size_t n = 0;
            for (size_t i = 0; t && i < t->capacity; i++)
                bigger->slots[n++] = t->slots[i];
            bigger->slots[n].begin = begin;
            bigger->slots[n].end = end;
            __atomic_store_n(tp, bigger, __ATOMIC_RELEASE);
            ok = 0;
        }
    }
    pthread_mutex_unlock(&ranges_lock);
    return ok;
}

static int range_remove(range_table** tp, uintptr_t begin, uintptr_t end) {
    pthread_mutex_lock(&ranges_lock);
    range_table* t = *tp;
    int ok = -1;
    for (size_t i = 0; t && i < t->capacity; i++) {
        if (t->slots[i].begin == begin && t->slots[i].end == end) {
            __atomic_store_n(&t->slots[i].begin, UINTPTR_MAX, __ATOMIC_RELEASE);
            __atomic_store_n(&t->slots[i].end, 0, __ATOMIC_RELEASE);
            ok = 0;
            break;
        }
    }
    pthread_mutex_unlock(&ranges_lock);
    return ok;
}

static int range_contains(range_table** tp, uintptr_t addr) {
    range_table* t = __atomic_load_n(tp, __ATOMIC_ACQUIRE);
    for (size_t i = 0; t && i < t->capacity; i++) {
        uintptr_t b = __atomic_load_n(&t->slots[i].begin, __ATOMIC_ACQUIRE);
        uintptr_t e = __atomic_load_n(&t->slots[i].end, __ATOMIC_ACQUIRE);
        if (addr >= b && addr < e)
            return 1;
    }
    return 0;
}

int wrt_register_code_range(uintptr_t b, uintptr_t e) { return range_add(&code_ranges, b, e); }
int wrt_unregister_code_range(uintptr_t b, uintptr_t e) { return range_remove(&code_ranges, b, e); }
int wrt_pc_in_code(uintptr_t pc) { return range_contains(&code_ranges, pc); }
int wrt_register_reservation(uintptr_t b, uintptr_t e) { return range_add(&reservations, b, e); }
int wrt_unregister_reservation(uintptr_t b, uintptr_t e) { return range_remove(&reservations, b, e); }

static uintptr_t context_sp(void* uc) {
    ucontext_t* ctx = (ucontext_t*)uc;
#if defined(__x86_64__)
    return (uintptr_t)ctx->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)ctx->uc_mcontext.sp;
#endif
}

static uintptr_t context_pc(void* uc) {
    ucontext_t* ctx = (ucontext_t*)uc;
#if defined(__x86_64__)
    return (uintptr_t)ctx->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)ctx->uc_mcontext.pc;
#else
#error "wasabi: unsupported architecture for fault handling"
#endif
}

/* The trap code for a fault compiled code may cause, or 0. */
static int fault_trap_code(siginfo_t* info, void* uc) {
    if (info->si_code <= 0)          /* sent by kill()/raise(), not a real fault */
        return 0;
    if (!wrt_in_entry())
        return 0;
    if (!range_contains(&code_ranges, context_pc(uc)))
        return 0;
    uintptr_t addr = (uintptr_t)info->si_addr;
    if (range_contains(&reservations, addr))
        return TRAP_OOB_MEMORY;
    /* below the usable stack (guard gap) or inside the margin: overflow */
    uintptr_t low = wrt_thread_stack_low();
    if (low && addr < low + 64 * 1024 && addr + (1u << 20) >= low)
        return TRAP_STACK_EXHAUSTED;
    return 0;
}

static void handler(int sig, siginfo_t* info, void* uc);

static void set_default_and_return(int sig) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
}

/* Did this signal come from inside the previous handler we are running (faulthandler prints
 * its traceback, restores the handler it replaced -- ours -- and re-raises)? */
static int raised_inside_previous_handler(void* uc) {
    uintptr_t mark = tls_chain_frame, sp = context_sp(uc);
    return mark && sp < mark && mark - sp < CHAIN_NEST_WINDOW;
}

static void call_previous(int sig, struct sigaction* prev, siginfo_t* info, void* uc) {
    uintptr_t outer = tls_chain_frame;
    tls_chain_frame = (uintptr_t)__builtin_frame_address(0);
    if (prev->sa_flags & SA_SIGINFO)
        prev->sa_sigaction(sig, info, uc);
    else
        prev->sa_handler(sig);
    tls_chain_frame = outer;
}

static void chain(int sig, siginfo_t* info, void* uc) {
    struct sigaction* prev = sig == SIGBUS ? &previous_bus : &previous_segv;
    if (raised_inside_previous_handler(uc)) {
        /* let the default action end the process once we return */
        set_default_and_return(sig);
        return;
    }
    if (prev->sa_flags & SA_SIGINFO) {
        if (prev->sa_sigaction == handler) {
            set_default_and_return(sig);
            return;
        }
    } else if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
        /* returning re-executes the faulting instruction under SIG_DFL */
        set_default_and_return(sig);
        return;
    }
    /* A previous handler that returns has fixed the fault (or will see it again, as it
     * would without us); one that does not return has handled it its own way. */
    call_previous(sig, prev, info, uc);
}

static void handler(int sig, siginfo_t* info, void* uc) {
    int code = fault_trap_code(info, uc);
    if (code)
        wrt_trap_from_signal(code);
    chain(sig, info, uc);
}

static int install_one(int sig, struct sigaction* prev) {
    struct sigaction sa, cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return -1;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, &cur) != 0)
        return -1;
    *prev = cur;
    return 0;
}

int wrt_signals_on_top(void) {
    struct sigaction a, b;
    if (sigaction(SIGSEGV, NULL, &a) != 0 || sigaction(SIGBUS, NULL, &b) != 0)
        return 0;
    return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == handler &&
           (b.sa_flags & SA_SIGINFO) && b.sa_sigaction == handler;
}

int wrt_signals_ensure(void) {
    if (installed && wrt_signals_on_top())
        return 0;
    /* called with the GIL held, so two threads never reinstall at once */
    if (install_one(SIGSEGV, &previous_segv) != 0 || install_one(SIGBUS, &previous_bus) != 0)
        return -1;
    installed = 1;
    return 0;
}

/* ---- handlers that chain: SIGINT (control.c), the preemption signal (preempt.c) ---- */

/* Put `handler` on top of whatever `sig` has now, unless it is there already; the
 * replaced action goes to chain->actions[the slot not in use], then becomes the
 * one in use (a handler running meanwhile reads a complete record). Called again
 * whenever Python may have replaced ours (signal.signal installs its own). */
void wrt_chain_install(int sig, void (*handler)(int, siginfo_t*, void*), int flags,
                       wrt_chain* chain) {
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0 ||
        ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == handler))
        return;
    int next = 1 - chain->at;
    chain->actions[next] = cur;
    __atomic_store_n(&chain->at, next, __ATOMIC_RELEASE);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | flags;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

const struct sigaction* wrt_chained(wrt_chain* chain) {
    return &chain->actions[__atomic_load_n(&chain->at, __ATOMIC_ACQUIRE)];
}

/* ---- the alternate stack: a fault on an overflowed stack can only run on one ---- */

/* One that somebody else installed (CPython's faulthandler, a sanitizer, the host
 * program) is kept when it is big enough. Ours is freed at thread exit, after the
 * one it replaced is put back: that one's owner frees it in its own thread-exit
 * code (ASan unmaps whatever altstack it finds then). */
typedef struct altstack_owned {
    void* mem;
    stack_t previous;
} altstack_owned;

static pthread_key_t altstack_key;
static pthread_once_t altstack_once = PTHREAD_ONCE_INIT;

static void altstack_release(void* p) {
    altstack_owned* owned = (altstack_owned*)p;
    sigaltstack(&owned->previous, NULL);
    free(owned->mem);
    free(owned);
}

static void altstack_key_create(void) { pthread_key_create(&altstack_key, altstack_release); }

int wrt_altstack_ensure(void) {
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return -1;
    if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= ALTSTACK_SIZE / 2)
        return 0;
    pthread_once(&altstack_once, altstack_key_create);
    altstack_owned* replaced = pthread_getspecific(altstack_key);
    altstack_owned* owned = malloc(sizeof *owned);
    void* mem = malloc(ALTSTACK_SIZE);
    stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
    if (!owned || !mem || sigaltstack(&ss, NULL) != 0) {
        free(owned);
        free(mem);
        return -1;
    }
    owned->mem = mem;
    owned->previous = cur;
    if (replaced) {   /* ours, replaced since by a smaller one or disabled: unused now */
        free(replaced->mem);
        free(replaced);
    }
    pthread_setspecific(altstack_key, owned);
    return 0;
}
