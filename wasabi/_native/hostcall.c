/* Calls from compiled code into Python host functions.
 *
 * Compiled code runs without the GIL. The host thunk spills the arguments
 * into 16-byte slots and calls wasabi_rt_host_call(hostrec, slots); the
 * Cython dispatcher converts, calls Python and writes the results back into
 * the same slots. A Python exception is kept (per thread) by the dispatcher
 * and becomes TRAP_HOST_EXCEPTION here, after the GIL is released again: the
 * Python entry that catches the trap re-raises the very same exception.
 *
 * The GIL: the entry that released it left its thread state in a
 * thread-local (entry.c), so taking it back is one PyEval_RestoreThread
 * (PyGILState_Ensure costs a lookup and bookkeeping on every call); an entry
 * that kept it (no other thread existed) needs nothing. Only an entry made
 * outside wrt_call_* (wasabi_entry from C) leaves no record; PyGILState_Ensure
 * then works out the state itself.
 */
#include <Python.h>

#include "builtins.h"
#include "fastcall.h"
#include "runtime.h"

static wrt_host_dispatch_fn host_dispatch;

void wrt_set_host_dispatch(wrt_host_dispatch_fn fn) { host_dispatch = fn; }

void wasabi_rt_host_call(void* hostrec, void* slots) {
    int failed;
    void* released = NULL;
    int how = wrt_host_call_enter(&released);
    if (how == WRT_GIL_UNKNOWN) {
        PyGILState_STATE gil = PyGILState_Ensure();
        failed = host_dispatch(hostrec, slots);
        PyGILState_Release(gil);
    } else {
        failed = host_dispatch(hostrec, slots);
        wrt_host_call_leave(how);
    }
    if (failed)
        wasabi_rt_trap(TRAP_HOST_EXCEPTION);
}
