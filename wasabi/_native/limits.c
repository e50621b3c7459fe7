/* A store's limiter: a Python object asked before a memory or table of that
 * store grows (wasabi.Store(limiter=...), like wasmtime's ResourceLimiter).
 *
 * memory.grow and table.grow run in compiled code without the GIL. Only the
 * memories and tables whose store has a limiter come here (memory.c and
 * tables.c test a flag or pointer first, so the others grow as fast as
 * before). Asking the limiter is a host call in all but name: the GIL is
 * taken back the way wasabi_rt_host_call takes it (entry.c's
 * wrt_host_call_enter / _leave), and an exception the limiter raises is kept
 * for this thread and leaves the wasm frames as TRAP_HOST_EXCEPTION, so the
 * Python entry re-raises that very exception. Grows from Python (Memory.grow,
 * Table.grow) ask the limiter in Python instead (wasabi/runtime/limits.py).
 */
#include <Python.h>

#include "builtins.h"
#include "fastcall.h"
#include "runtime.h"

static wrt_limiter_dispatch_fn limiter_dispatch;

void wrt_set_limiter_dispatch(wrt_limiter_dispatch_fn fn) { limiter_dispatch = fn; }

int wrt_limiter_allows(void* limiter, int kind, uint64_t current, uint64_t desired,
                       uint64_t maximum) {
    if (!limiter || !limiter_dispatch)
        return 1;
    int verdict;
    void* released = NULL;
    int how = wrt_host_call_enter(&released);   /* traps if the stack is too deep for Python */
    if (how == WRT_GIL_UNKNOWN) {
        PyGILState_STATE gil = PyGILState_Ensure();
        verdict = limiter_dispatch(limiter, kind, current, desired, maximum);
        PyGILState_Release(gil);
    } else {
        verdict = limiter_dispatch(limiter, kind, current, desired, maximum);
        wrt_host_call_leave(how);
    }
    if (verdict < 0)
        wasabi_rt_trap(TRAP_HOST_EXCEPTION);
    return verdict;
}
