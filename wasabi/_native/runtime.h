/* The C runtime's interface to the Cython glue (wasabi/_cy/native.pxi and the files after it).
 * Compiled code never calls these; it uses builtins.h. */
#ifndef WASABI_RUNTIME_H
#define WASABI_RUNTIME_H

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
int wrt_thread_prepare(void);                /* altstack + stack bounds; 0 on success */
uintptr_t wrt_thread_stack_low(void);        /* lowest usable address of this thread's stack */
void wrt_set_max_wasm_stack(uint64_t bytes); /* 0 = only the thread's real stack bound */
int64_t wrt_stack_limit_tpoff(void);         /* see VMContext.stack_limit_tpoff */
void wrt_vmctx_init(VMContext* ctx);         /* the fields every VMContext starts with */

/* ---- signals.c: guard-page and stack-overflow faults ---- */
int wrt_signals_ensure(void);                /* install or re-install on top; 0 ok */
int wrt_signals_on_top(void);
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
void wrt_table_free(wrt_table* t);
int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init);  /* old size or -1 */
uint64_t wrt_table_capacity(wrt_table* t);  /* elements it can hold: its array never moves */
int wrt_table_fill(wrt_table* t, uint64_t dst, uint64_t ref, uint64_t n);
int wrt_table_copy(wrt_table* dt, wrt_table* st, uint64_t dst, uint64_t src, uint64_t n);
int wrt_table_init(wrt_table* t, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n);

/* ---- hostcall.c ---- */
/* converts the slots, calls Python, converts back; returns 0, or nonzero when
 * the Python call raised (the exception is then stored for this thread) */
typedef int (*wrt_host_dispatch_fn)(void* hostrec, void* slots);
void wrt_set_host_dispatch(wrt_host_dispatch_fn fn);
int64_t wrt_take_trap_element(void);   /* index of this thread's last null-element trap, or -1 */

#endif
