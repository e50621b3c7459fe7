# The fields every VMContext starts with (entry.c): where compiled code finds this
# thread's stack limit, and the kind word that tells it from a host record.

cdef extern from "runtime.h":
    void wrt_vmctx_init(VMContext* ctx)


def vmctx_init(uintptr_t vmctx):
    """Fill the runtime-owned fields of a fresh VMContext at address `vmctx`."""
    wrt_vmctx_init(<VMContext*>vmctx)
