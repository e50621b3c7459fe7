/* The C runtime's interface to the Cython glue (wasabi/_cy/native.pxi and the files after it).
 * Compiled code never calls these; it uses builtins.h. */
#ifndef WASABI_RUNTIME_H
#define WASABI_RUNTIME_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include "vmctx.h"

/* tls.h-style attribute: the signal handler reads these thread-locals, so they
 * must not go through __tls_get_addr (which may allocate) */
#define WRT_TLS __thread __attribute__((tls_model("initial-exec")))

/* ---- entry.c: entering compiled code, traps, per-thread state ---- */
typedef void (*wrt_thunk_fn)(void* fn, void* vmctx, void* slots);
int wasabi_entry(void* thunk, void* fn, void* vmctx, void* slots);
int wrt_in_entry(void);                      /* nonzero inside an entry on this thread */
__attribute__((noreturn)) void wrt_trap_from_signal(int code);
int wrt_host_stack_ok(void);                 /* room for Python code (wrt_host_call_enter) */
int wrt_thread_prepare(void);                /* altstack + stack bounds; 0 on success */
uintptr_t wrt_thread_stack_low(void);        /* lowest usable address of this thread's stack */
void wrt_set_max_wasm_stack(uint64_t bytes); /* 0 = only the thread's real stack bound */
int64_t wrt_stack_limit_tpoff(void);         /* see VMContext.stack_limit_tpoff */
void wrt_force_slow_entry_here(void);        /* this thread's next function entry polls */
void wrt_vmctx_init(VMContext* ctx);         /* the fields every VMContext starts with */

/* ---- signals.c: guard-page and stack-overflow faults ---- */
int wrt_signals_ensure(void);                /* install or re-install on top; 0 ok */
int wrt_signals_on_top(void);
/* a handler on top of another, which it calls (see wrt_chain_install) */
typedef struct wrt_chain {
    struct sigaction actions[2];
    int at;
} wrt_chain;
void wrt_chain_install(int sig, void (*handler)(int, siginfo_t*, void*), int flags,
                       wrt_chain* chain);
const struct sigaction* wrt_chained(wrt_chain* chain);   /* the replaced action */
int wrt_pc_in_code(uintptr_t pc);            /* in registered compiled code (signal-safe) */
int wrt_altstack_ensure(void);              /* this thread has an alternate signal stack; 0 ok */
int wrt_register_code_range(uintptr_t begin, uintptr_t end);
int wrt_unregister_code_range(uintptr_t begin, uintptr_t end);
int wrt_register_reservation(uintptr_t begin, uintptr_t end);
int wrt_unregister_reservation(uintptr_t begin, uintptr_t end);

/* ---- memory.c ---- */
/* cow: the bytes in a memfd, so that clones can be copy-on-write (memory_backing.c) */
wrt_memory* wrt_memory_new(uint64_t min_pages, uint64_t max_pages, int guarded, int cow);
void wrt_memory_free(wrt_memory* mem);
int64_t wrt_memory_grow(wrt_memory* mem, uint64_t delta_pages);   /* old pages or -1 */
int wrt_memory_fill(wrt_memory* mem, uint64_t dst, uint8_t value, uint64_t n);
int wrt_memory_copy(wrt_memory* dmem, wrt_memory* smem, uint64_t dst, uint64_t src, uint64_t n);
int wrt_memory_init(wrt_memory* mem, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n);

/* ---- memory_backing.c ---- */
/* dst (fresh, src's size) gets src's bytes, copy-on-write where it can: the
 * pages copied, -1 when dst could not be mapped, or -2 when src is no longer
 * dst's size (it grew on another thread: grow dst and call again) */
int64_t wrt_memory_clone_contents(wrt_memory* dst, wrt_memory* src);
const char* wrt_memory_backing(wrt_memory* mem);   /* "anon", "shared" or "private" */

/* ---- tables.c ---- */
wrt_table* wrt_table_new(uint64_t size, uint64_t max, uint64_t elem_type, uint64_t init);
/* the same, growing to at most `limit` elements (its store's table_elements) while
 * its type keeps `max`; NULL when size > limit */
wrt_table* wrt_table_new_limited(uint64_t size, uint64_t max, uint64_t limit, uint64_t elem_type,
                                 uint64_t init);
void wrt_table_free(wrt_table* t);
int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init);  /* old size or -1 */
uint64_t wrt_table_capacity(wrt_table* t);  /* elements it can hold: its array never moves */
int wrt_table_fill(wrt_table* t, uint64_t dst, uint64_t ref, uint64_t n);
int wrt_table_copy(wrt_table* dt, wrt_table* st, uint64_t dst, uint64_t src, uint64_t n);
int wrt_table_init(wrt_table* t, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n);

/* ---- limits.c: a store's limiter, a Python object asked before every grow ----
 * Memories and tables without one never get here: the grow builtins test a
 * flag (memories) or a NULL pointer (tables) first. Units: bytes for memories,
 * elements for tables; maximum UINT64_MAX means none. */
#define WRT_LIMIT_MEMORY 0
#define WRT_LIMIT_TABLE 1
/* 1: allowed, 0: refused, -1: the limiter raised (the exception is kept for this thread) */
typedef int (*wrt_limiter_dispatch_fn)(void* limiter, int kind, uint64_t current,
                                       uint64_t desired, uint64_t maximum);
void wrt_set_limiter_dispatch(wrt_limiter_dispatch_fn fn);
/* from compiled code (no GIL): takes the GIL as a host call does; 1 or 0, and
 * traps TRAP_HOST_EXCEPTION when the limiter raised */
int wrt_limiter_allows(void* limiter, int kind, uint64_t current, uint64_t desired,
                       uint64_t maximum);
void wrt_memory_set_limiter(wrt_memory* mem, void* limiter, uint64_t declared_max_bytes);
void wrt_table_set_limiter(wrt_table* t, void* limiter);

/* ---- hostcall.c ---- */
/* converts the slots, calls Python, converts back; returns 0, or nonzero when
 * the Python call raised (the exception is then stored for this thread) */
typedef int (*wrt_host_dispatch_fn)(void* hostrec, void* slots);
void wrt_set_host_dispatch(wrt_host_dispatch_fn fn);
int64_t wrt_take_trap_element(void);   /* index of this thread's last null-element trap, or -1 */

/* ---- control.c: Ctrl-C, store.interrupt(), deadlines, call timeouts ---- */
typedef struct wrt_store_ctl wrt_store_ctl;
/* runs Python's signal handlers (main thread) or raises KeyboardInterrupt; with
 * the GIL; nonzero when an exception is now stored for this thread */
typedef int (*wrt_signal_dispatch_fn)(void);
void wrt_set_signal_dispatch(wrt_signal_dispatch_fn fn);
uint64_t wrt_monotonic_ns(void);
/* by wrt_thread_prepare: the thread's gate token and its stack limit (which
 * control.c forces to UINTPTR_MAX so that the next function entry polls) */
int wrt_control_thread_register(uint64_t token, uintptr_t* stack_limit);
wrt_store_ctl* wrt_store_ctl_new(void);            /* NULL: out of memory */
void wrt_store_ctl_release(wrt_store_ctl* ctl);    /* the store's reference */
int wrt_store_ctl_join(wrt_store_ctl* ctl, VMContext* ctx);   /* ctx->ctl = ctl */
void wrt_store_ctl_leave(VMContext* ctx);          /* before ctx is freed */
void wrt_store_interrupt(wrt_store_ctl* ctl);
void wrt_store_nudge(wrt_store_ctl* ctl);            /* a poll that finds nothing (tests) */
uint64_t wrt_store_interrupts(wrt_store_ctl* ctl);
void wrt_store_clear_interrupts(wrt_store_ctl* ctl);
void wrt_store_set_deadline(wrt_store_ctl* ctl, uint64_t deadline_ns);
uint64_t wrt_store_deadline(wrt_store_ctl* ctl);
uint64_t wrt_call_deadline_push(uint64_t deadline_ns);   /* returns the outer deadline */
void wrt_call_deadline_pop(uint64_t outer);
int wrt_sigint_pending_here(void);

/* ---- preempt.c: interrupting compiled loops, which carry no checks ---- */
#define WRT_PREEMPT_SIGNAL SIGURG    /* ignored by default; as Go's preemption */
void wrt_preempt_ensure(void);               /* our handler on top; the watchdog calls it again */
int wrt_preempt_supported(void);             /* 0: compiled loops poll instead */
void wrt_preempt_thread(pthread_t thread);   /* signal it: a poll where it runs compiled code */
int wrt_preempt_here(void* uctx);            /* in a signal handler: poll on return; 1 if so */
void wrt_hint_innermost(uint64_t bits);      /* entry.c, signal-safe: hint the instance entered */
uint64_t wrt_preempt_redirects(void);        /* signals that became a poll, ever */
void wrt_preempt_poll(void);                 /* entry.c: the trampoline's poll */

#endif
