/* Control: Ctrl-C, store.interrupt(), store deadlines and per-call timeouts.
 *
 * One word per instance, vmctx->interrupt, holds hints. Function entries
 * check nothing more than the stack: a hint on an instance that a thread runs
 * also forces that thread's stack limit to UINTPTR_MAX, so its next function
 * entry takes the slow path, wasabi_rt_stack_slow (entry.c), which restores
 * the limit and polls (wasabi_rt_poll finds the reason and traps, or clears
 * the word and goes on). Loops carry no check: the same hint sends the thread
 * a signal that makes it poll where it runs compiled code (preempt.c; where
 * that is unsupported, loops check the word at their headers). The watchdog
 * forces and signals again on every tick while a running instance has hints
 * (a nested instance's slow path may have restored the limit first, a signal
 * may have found the thread in a builtin).
 * Everything in this file only sets hints; a hint without a reason costs one
 * poll.
 *
 * Who sets hints:
 * - store.interrupt(): on every instance of the store; the first poll that
 *   finds the store's request pending takes it and traps INTERRUPTED (so the
 *   running call stops, or the next one when none runs).
 * - a store deadline or a call's timeout: a watchdog thread sleeps until the
 *   earliest one and hints the instances concerned; a poll traps DEADLINE
 *   while the deadline is past (a store's stays past until it is changed).
 * - SIGINT: our handler counts the signal, marks its own thread, wakes the
 *   watchdog and chains to the handler it replaced (Python's). The watchdog
 *   marks every thread running an instance and hints those instances. A poll
 *   on a marked thread runs Python's signal handlers (main thread) or raises
 *   KeyboardInterrupt (other threads, unless a user handler is installed).
 *
 * Python may replace our SIGINT handler (signal.signal installs its own C
 * handler): the watchdog puts ours back on top whenever it sees code running
 * (it looks every WATCH_IDLE_NS while instances exist). A Ctrl-C in the window
 * between a replacement and that goes to Python's handler alone: the code runs
 * on until the next one.
 *
 * Instances are found through their store's control block (wrt_store_ctl),
 * which lists their VMContexts; all lists are under one lock (ctl_lock),
 * taken by instantiation, instance death, store.interrupt(), deadline changes
 * and the watchdog: never on a call.
 */
#include <Python.h>     /* first, as Python.h requires */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtins.h"
#include "fastcall.h"
#include "runtime.h"

#define WATCH_RUNNING_NS (20ull * 1000000)    /* while code runs: check our SIGINT handler */
/* while a hint waits on code that runs: signal its thread again this often */
#define WATCH_HINTED_NS (5ull * 1000000)
/* while instances exist but none runs: how soon a call that starts is seen (and
 * our handler put back if Python replaced it) */
#define WATCH_IDLE_NS (50ull * 1000000)

typedef struct wrt_store_ctl {
    uint64_t refs;                  /* the store + each member; under ctl_lock */
    uint64_t interrupts;            /* store.interrupt() requests not yet delivered (atomic) */
    uint64_t deadline_ns;           /* CLOCK_MONOTONIC; 0 = none (atomic) */
    uint64_t deadline_hinted;       /* the deadline whose expiry was hinted */
    VMContext** members;
    size_t n_members, cap_members;
    struct wrt_store_ctl *prev, *next;
} wrt_store_ctl;

typedef struct wrt_thread_rec {
    uint64_t token;                 /* the thread's gate token (entry.c) */
    pthread_t thread;               /* to signal it (preempt.c) */
    uintptr_t* stack_limit;         /* the thread's stack limit, forced to poll (entry.c) */
    uint64_t sigint_pending;        /* a SIGINT arrived while this thread ran code (atomic) */
    uint64_t call_deadline_ns;      /* the innermost timed call's deadline, 0 = none */
    uint64_t call_deadline_hinted;
    struct wrt_thread_rec *prev, *next;
} wrt_thread_rec;

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static wrt_store_ctl* stores;
static wrt_thread_rec* threads;
static WRT_TLS wrt_thread_rec* tls_rec;
static pthread_key_t rec_key;
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;

static uint64_t sigint_count;       /* signals seen by our handler (atomic) */
static uint64_t sigint_done;        /* the count the watchdog has dealt with */
static wrt_chain sigint_chain;       /* the handler we replaced */
static int wake_fds[2] = {-1, -1};
static int watchdog_started;
static wrt_signal_dispatch_fn signal_dispatch;

void wrt_set_signal_dispatch(wrt_signal_dispatch_fn fn) { signal_dispatch = fn; }

uint64_t wrt_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wake_watchdog(void) {
    if (wake_fds[1] >= 0) {
        ssize_t r = write(wake_fds[1], "w", 1);   /* a full pipe is awake already */
        (void)r;
    }
}

/* ---- SIGINT ---- */

static void on_sigint(int sig, siginfo_t* info, void* uctx) {
    int saved = errno;
    const struct sigaction* prev = wrt_chained(&sigint_chain);
    int ignored = !(prev->sa_flags & SA_SIGINFO) && prev->sa_handler == SIG_IGN;
    if (!ignored) {
        __atomic_add_fetch(&sigint_count, 1, __ATOMIC_SEQ_CST);
        if (tls_rec && wrt_in_entry()) {
            __atomic_store_n(&tls_rec->sigint_pending, 1, __ATOMIC_RELEASE);
            /* in compiled code: poll as soon as this handler returns, without
             * waiting for the watchdog to wake up and signal this thread */
            wrt_hint_innermost(HINT_SIGINT);
            wrt_preempt_here(uctx);
        }
        wake_watchdog();
    }
    if (prev->sa_flags & SA_SIGINFO)
        prev->sa_sigaction(sig, info, uctx);
    else if (prev->sa_handler == SIG_DFL) {
        signal(SIGINT, SIG_DFL);    /* the default action: end the process */
        raise(SIGINT);
    } else if (!ignored)
        prev->sa_handler(sig);
    errno = saved;
}

/* Ours on top of whatever is installed now (Python's, usually). */
static void sigint_ensure(void) {
    struct sigaction cur;
    int restart = sigaction(SIGINT, NULL, &cur) == 0 ? cur.sa_flags & SA_RESTART : 0;
    wrt_chain_install(SIGINT, on_sigint, restart, &sigint_chain);
}

/* ---- threads ---- */

static void rec_release(void* p) {
    wrt_thread_rec* rec = p;
    pthread_mutex_lock(&ctl_lock);
    if (rec->prev)
        rec->prev->next = rec->next;
    else
        threads = rec->next;
    if (rec->next)
        rec->next->prev = rec->prev;
    pthread_mutex_unlock(&ctl_lock);
    tls_rec = NULL;
    free(rec);
}

static void rec_key_create(void) { pthread_key_create(&rec_key, rec_release); }

int wrt_control_thread_register(uint64_t token, uintptr_t* stack_limit) {
    if (tls_rec)
        return 0;
    pthread_once(&rec_once, rec_key_create);
    wrt_thread_rec* rec = calloc(1, sizeof *rec);
    if (!rec)
        return -1;
    rec->token = token;
    rec->thread = pthread_self();
    rec->stack_limit = stack_limit;
    pthread_mutex_lock(&ctl_lock);
    rec->next = threads;
    if (threads)
        threads->prev = rec;
    threads = rec;
    pthread_mutex_unlock(&ctl_lock);
    pthread_setspecific(rec_key, rec);
    tls_rec = rec;
    return 0;
}

static wrt_thread_rec* thread_of(uint64_t token) {
    for (wrt_thread_rec* r = threads; r; r = r->next)
        if (r->token == token)
            return r;
    return NULL;
}

/* ---- the watchdog ---- */

static uint64_t owner_of(VMContext* ctx);

/* under ctl_lock (the record cannot go away meanwhile, nor its thread end):
 * the thread's next function entry polls, and a loop it runs in compiled code
 * is made to poll now (preempt.c) */
static void force_slow_entry(uint64_t token) {
    wrt_thread_rec* rec = thread_of(token);
    if (!rec)
        return;
    if (rec->stack_limit)
        __atomic_store_n(rec->stack_limit, UINTPTR_MAX, __ATOMIC_SEQ_CST);
    if (!pthread_equal(rec->thread, pthread_self()))
        wrt_preempt_thread(rec->thread);
}

/* under ctl_lock: the word first, then the limit of the thread inside (if any) */
static void hint(VMContext* ctx, uint64_t bits) {
    __atomic_or_fetch(&ctx->interrupt, bits, __ATOMIC_SEQ_CST);
    uint64_t owner = owner_of(ctx);
    if (owner)
        force_slow_entry(owner);
}

static void hint_members(wrt_store_ctl* ctl, uint64_t bits) {
    for (size_t i = 0; i < ctl->n_members; i++)
        hint(ctl->members[i], bits);
}

static uint64_t owner_of(VMContext* ctx) {
    return __atomic_load_n(&ctx->gate_owner, __ATOMIC_ACQUIRE);
}

/* Hint `bits` on every instance that a thread is inside: the thread `token`
 * names, or any thread when token is 0; `mark_sigint` also marks each such
 * thread's record. Returns whether any instance is running. */
static int hint_running(uint64_t token, uint64_t bits, int mark_sigint) {
    int any = 0;
    for (wrt_store_ctl* s = stores; s; s = s->next) {
        for (size_t i = 0; i < s->n_members; i++) {
            uint64_t owner = owner_of(s->members[i]);
            if (!owner || (token && owner != token))
                continue;
            any = 1;
            if (mark_sigint) {
                wrt_thread_rec* rec = thread_of(owner);
                if (!rec)
                    continue;
                __atomic_store_n(&rec->sigint_pending, 1, __ATOMIC_RELEASE);
            }
            if (bits)
                hint(s->members[i], bits);
        }
    }
    return any;
}

/* 0: no thread is inside any instance; RUNNING: some are; HINTED: one inside
 * an instance with hints pending, which got its limit forced and a preemption
 * signal again (see the top of the file; the last one may have found it in a
 * builtin or in Python code). */
enum { RUNNING = 1, HINTED = 2 };
static int running_instances(void) {
    int state = 0;
    for (wrt_store_ctl* s = stores; s; s = s->next) {
        for (size_t i = 0; i < s->n_members; i++) {
            uint64_t owner = owner_of(s->members[i]);
            if (!owner)
                continue;
            state |= RUNNING;
            if (__atomic_load_n(&s->members[i]->interrupt, __ATOMIC_SEQ_CST)) {
                force_slow_entry(owner);
                state |= HINTED;
            }
        }
    }
    return state;
}

static uint64_t earlier(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* One pass under ctl_lock: deliver what is due; returns when to look again. */
static uint64_t watch_once(uint64_t now) {
    uint64_t next = UINT64_MAX;
    uint64_t count = __atomic_load_n(&sigint_count, __ATOMIC_SEQ_CST);
    if (count != sigint_done) {
        sigint_done = count;
        hint_running(0, HINT_SIGINT, 1);
    }
    int have_members = 0;
    for (wrt_store_ctl* s = stores; s; s = s->next) {
        have_members |= s->n_members != 0;
        uint64_t d = __atomic_load_n(&s->deadline_ns, __ATOMIC_ACQUIRE);
        if (!d)
            continue;
        if (now < d)
            next = earlier(next, d);
        else if (s->deadline_hinted != d) {
            s->deadline_hinted = d;
            hint_members(s, HINT_DEADLINE);
        }
    }
    for (wrt_thread_rec* r = threads; r; r = r->next) {
        uint64_t d = __atomic_load_n(&r->call_deadline_ns, __ATOMIC_ACQUIRE);
        if (!d)
            continue;
        if (now < d)
            next = earlier(next, d);
        else if (r->call_deadline_hinted != d) {
            r->call_deadline_hinted = d;
            hint_running(r->token, HINT_DEADLINE, 0);
        }
    }
    int running = running_instances();
    if (running) {
        sigint_ensure();
        wrt_preempt_ensure();
        next = earlier(next, now + (running & HINTED ? WATCH_HINTED_NS : WATCH_RUNNING_NS));
    } else if (have_members) {
        next = earlier(next, now + WATCH_IDLE_NS);
    }
    return next;
}

static void drain_wakes(void) {
    char buf[64];
    while (read(wake_fds[0], buf, sizeof buf) > 0) {}
}

static void* watchdog_main(void* unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);    /* signals go to Python's threads */
    for (;;) {
        pthread_mutex_lock(&ctl_lock);
        uint64_t now = wrt_monotonic_ns();
        uint64_t next = watch_once(now);
        pthread_mutex_unlock(&ctl_lock);
        int timeout_ms = -1;
        if (next != UINT64_MAX) {
            uint64_t ms = (next - now + 999999) / 1000000;
            timeout_ms = ms > 60000 ? 60000 : (int)ms;
        }
        struct pollfd pfd = {wake_fds[0], POLLIN, 0};
        if (poll(&pfd, 1, timeout_ms) > 0)
            drain_wakes();
    }
    return NULL;
}

static void after_fork_child(void) {
    /* the watchdog did not come along; the pipe is shared with the parent */
    pthread_mutex_init(&ctl_lock, NULL);
    watchdog_started = 0;
    if (wake_fds[0] >= 0) {
        close(wake_fds[0]);
        close(wake_fds[1]);
        wake_fds[0] = wake_fds[1] = -1;
    }
}
static void before_fork(void) { pthread_mutex_lock(&ctl_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&ctl_lock); }

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_register(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }

/* under ctl_lock */
static int watchdog_ensure(void) {
    if (watchdog_started)
        return 0;
    pthread_once(&atfork_once, atfork_register);
    if (wake_fds[0] < 0 && pipe2(wake_fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, watchdog_main, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    watchdog_started = 1;
    return 0;
}

/* ---- stores and their instances ---- */

wrt_store_ctl* wrt_store_ctl_new(void) {
    wrt_store_ctl* ctl = calloc(1, sizeof *ctl);
    if (!ctl)
        return NULL;
    ctl->refs = 1;
    pthread_mutex_lock(&ctl_lock);
    if (watchdog_ensure() != 0) {
        pthread_mutex_unlock(&ctl_lock);
        free(ctl);
        return NULL;
    }
    ctl->next = stores;
    if (stores)
        stores->prev = ctl;
    stores = ctl;
    pthread_mutex_unlock(&ctl_lock);
    sigint_ensure();
    wrt_preempt_ensure();
    return ctl;
}

/* under ctl_lock */
static void ctl_unref(wrt_store_ctl* ctl) {
    if (--ctl->refs)
        return;
    if (ctl->prev)
        ctl->prev->next = ctl->next;
    else
        stores = ctl->next;
    if (ctl->next)
        ctl->next->prev = ctl->prev;
    free(ctl->members);
    free(ctl);
}

void wrt_store_ctl_release(wrt_store_ctl* ctl) {
    pthread_mutex_lock(&ctl_lock);
    ctl_unref(ctl);
    pthread_mutex_unlock(&ctl_lock);
}

int wrt_store_ctl_join(wrt_store_ctl* ctl, VMContext* ctx) {
    pthread_mutex_lock(&ctl_lock);
    if (ctl->n_members == ctl->cap_members) {
        size_t cap = ctl->cap_members ? 2 * ctl->cap_members : 8;
        VMContext** grown = realloc(ctl->members, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&ctl_lock);
            return -1;
        }
        ctl->members = grown;
        ctl->cap_members = cap;
    }
    ctl->members[ctl->n_members++] = ctx;
    ctl->refs++;
    ctx->ctl = ctl;
    /* a request made before the instance existed concerns it too */
    if (__atomic_load_n(&ctl->interrupts, __ATOMIC_ACQUIRE))
        hint(ctx, HINT_INTERRUPT);
    if (ctl->deadline_hinted && ctl->deadline_hinted == ctl->deadline_ns)
        hint(ctx, HINT_DEADLINE);
    pthread_mutex_unlock(&ctl_lock);
    wake_watchdog();    /* asleep for good while there were no instances */
    return 0;
}

void wrt_store_ctl_leave(VMContext* ctx) {
    wrt_store_ctl* ctl = ctx->ctl;
    if (!ctl)
        return;
    pthread_mutex_lock(&ctl_lock);
    for (size_t i = 0; i < ctl->n_members; i++) {
        if (ctl->members[i] == ctx) {
            ctl->members[i] = ctl->members[--ctl->n_members];
            break;
        }
    }
    ctx->ctl = NULL;
    ctl_unref(ctl);
    pthread_mutex_unlock(&ctl_lock);
}

void wrt_store_interrupt(wrt_store_ctl* ctl) {
    pthread_mutex_lock(&ctl_lock);
    __atomic_add_fetch(&ctl->interrupts, 1, __ATOMIC_SEQ_CST);
    hint_members(ctl, HINT_INTERRUPT);
    pthread_mutex_unlock(&ctl_lock);
}

/* A hint without a reason: code running in the store polls and goes on. */
void wrt_store_nudge(wrt_store_ctl* ctl) {
    pthread_mutex_lock(&ctl_lock);
    hint_members(ctl, HINT_NUDGE);
    pthread_mutex_unlock(&ctl_lock);
}

uint64_t wrt_store_interrupts(wrt_store_ctl* ctl) {
    return __atomic_load_n(&ctl->interrupts, __ATOMIC_ACQUIRE);
}

void wrt_store_clear_interrupts(wrt_store_ctl* ctl) {
    __atomic_store_n(&ctl->interrupts, 0, __ATOMIC_SEQ_CST);
}

/* deadline_ns: CLOCK_MONOTONIC, 0 clears */
void wrt_store_set_deadline(wrt_store_ctl* ctl, uint64_t deadline_ns) {
    pthread_mutex_lock(&ctl_lock);
    __atomic_store_n(&ctl->deadline_ns, deadline_ns, __ATOMIC_RELEASE);
    ctl->deadline_hinted = 0;
    for (size_t i = 0; i < ctl->n_members; i++)
        __atomic_and_fetch(&ctl->members[i]->interrupt, ~(uint64_t)HINT_DEADLINE, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&ctl_lock);
    wake_watchdog();
}

uint64_t wrt_store_deadline(wrt_store_ctl* ctl) {
    return __atomic_load_n(&ctl->deadline_ns, __ATOMIC_ACQUIRE);
}

/* A call with a timeout: this thread's deadline until wrt_call_deadline_pop.
 * Returns the outer one (calls nest: the earlier deadline wins). */
uint64_t wrt_call_deadline_push(uint64_t deadline_ns) {
    if (!tls_rec && wrt_thread_prepare() != 0)
        return 0;
    uint64_t outer = tls_rec->call_deadline_ns;
    if (outer && outer < deadline_ns)
        deadline_ns = outer;
    __atomic_store_n(&tls_rec->call_deadline_ns, deadline_ns, __ATOMIC_RELEASE);
    wake_watchdog();
    return outer;
}

void wrt_call_deadline_pop(uint64_t outer) {
    if (tls_rec)
        __atomic_store_n(&tls_rec->call_deadline_ns, outer, __ATOMIC_RELEASE);
}

/* ---- the poll compiled code calls ---- */

/* SIGINT on this thread while it ran code: Python decides (with the GIL) what
 * happens, as if the signal had come between two bytecodes. */
static int run_signal_dispatch(void) {
    int failed;
    void* released = NULL;
    int how = wrt_host_call_enter(&released);
    if (how == WRT_GIL_UNKNOWN) {
        PyGILState_STATE gil = PyGILState_Ensure();
        failed = signal_dispatch();
        PyGILState_Release(gil);
    } else {
        failed = signal_dispatch();
        wrt_host_call_leave(how);
    }
    return failed;
}

static void deliver_sigint(void) {
    if (run_signal_dispatch())
        wasabi_rt_trap(TRAP_HOST_EXCEPTION);
}

int wrt_sigint_pending_here(void) {
    return tls_rec && __atomic_load_n(&tls_rec->sigint_pending, __ATOMIC_ACQUIRE);
}

/* A blocking WASI call got EINTR: a SIGINT that landed on this thread runs
 * Python's handlers now (with the GIL, the WASI lock still held); retry unless
 * one raised. The exception is then stored for this thread and the import's
 * wrapper traps with it once it has unlocked. */
int wrt_eintr_retry(void) {
    if (!wrt_sigint_pending_here() || !wrt_host_stack_ok())
        return 1;   /* (too deep for Python: the next poll delivers it, lock-free) */
    __atomic_store_n(&tls_rec->sigint_pending, 0, __ATOMIC_RELEASE);
    return !run_signal_dispatch();
}

static int deadline_past(VMContext* ctx, uint64_t* now) {
    wrt_store_ctl* ctl = ctx->ctl;
    uint64_t d = ctl ? __atomic_load_n(&ctl->deadline_ns, __ATOMIC_ACQUIRE) : 0;
    uint64_t c = tls_rec ? tls_rec->call_deadline_ns : 0;
    if (!d && !c)
        return 0;
    if (!*now)
        *now = wrt_monotonic_ns();
    return (d && *now >= d) || (c && *now >= c);
}

void wasabi_rt_poll(void* vmctx) {
    VMContext* ctx = (VMContext*)vmctx;
    /* take the hints first: one set meanwhile stays for the next check */
    uint64_t bits = __atomic_exchange_n(&ctx->interrupt, 0, __ATOMIC_SEQ_CST);
    if (wrt_sigint_pending_here()) {
        __atomic_store_n(&tls_rec->sigint_pending, 0, __ATOMIC_RELEASE);
        deliver_sigint();
    }
    wrt_store_ctl* ctl = ctx->ctl;
    if ((bits & HINT_INTERRUPT) && ctl) {
        uint64_t n = __atomic_load_n(&ctl->interrupts, __ATOMIC_ACQUIRE);
        while (n && !__atomic_compare_exchange_n(&ctl->interrupts, &n, n - 1, 0,
                                                 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {}
        if (n)
            wasabi_rt_trap(TRAP_INTERRUPTED);
    }
    uint64_t now = 0;
    if ((bits & HINT_DEADLINE) && deadline_past(ctx, &now)) {
        /* past stays past: every later check traps too (this thread is the owner:
         * no lock needed to force its own limit) */
        __atomic_or_fetch(&ctx->interrupt, HINT_DEADLINE, __ATOMIC_SEQ_CST);
        wrt_force_slow_entry_here();
        wasabi_rt_trap(TRAP_DEADLINE);
    }
}
