# The fields every VMContext starts with (entry.c): where compiled code finds this
# thread's stack limit, and the kind word that tells it from a host record.

cdef extern from "runtime.h":
    void wrt_vmctx_init(VMContext* ctx)


def stack_limit_tpoff():
    """Offset of this thread's stack limit from the thread pointer (same in every thread)."""
    return wrt_stack_limit_tpoff()


def vmctx_init(uintptr_t vmctx):
    """Fill the runtime-owned fields of a fresh VMContext at address `vmctx`."""
    wrt_vmctx_init(<VMContext*>vmctx)
