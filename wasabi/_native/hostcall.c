/* Calls from compiled code into Python host functions.
 *
 * Compiled code runs without the GIL. The host thunk spills the arguments
 * into 16-byte slots and calls wasabi_rt_host_call(hostrec, slots); the
 * Cython dispatcher converts, calls Python and writes the results back into
 * the same slots. A Python exception is kept (per thread) by the dispatcher
 * and becomes TRAP_HOST_EXCEPTION here, after the GIL is released again: the
 * Python entry that catches the trap re-raises the very same exception.
 */
#include <Python.h>

#include "builtins.h"
#include "runtime.h"

static wrt_host_dispatch_fn host_dispatch;

void wrt_set_host_dispatch(wrt_host_dispatch_fn fn) { host_dispatch = fn; }

void wasabi_rt_host_call(void* hostrec, void* slots) {
    PyGILState_STATE gil = PyGILState_Ensure();
    int failed = host_dispatch(hostrec, slots);
    PyGILState_Release(gil);
    if (failed)
        wasabi_rt_trap(TRAP_HOST_EXCEPTION);
}
