# Entering compiled code (entry.c): the fields every VMContext starts with, the
# entry through an array thunk with the GIL released, and the exception a trap
# becomes. FuncHandle (fastcall.pxi) is the calls' fast path over the same entry.

cdef extern from "runtime.h":
    void wrt_vmctx_init(VMContext* ctx)


def stack_limit_tpoff():
    """Offset of this thread's stack limit from the thread pointer (same in every thread)."""
    return wrt_stack_limit_tpoff()


def vmctx_init(uintptr_t vmctx):
    """Fill the runtime-owned fields of a fresh VMContext at address `vmctx`."""
    wrt_vmctx_init(<VMContext*>vmctx)


# a host exception or lazy compile error, kept for this thread until its entry returns
_pending = _threading.local()


def set_pending_exception(exc):
    """Keep `exc` for this thread: the entry that sees TRAP_HOST_EXCEPTION or
    TRAP_COMPILE_ERROR raises it (used by host calls and lazy compilation)."""
    _pending.exc = exc


cdef object _take_pending():
    exc = getattr(_pending, "exc", None)
    _pending.exc = None
    return exc


cdef object _trap_error(int code):
    if code == WRT_BUSY:
        return RuntimeError(
            "this wasm instance is running on another thread: an instance runs on one thread"
            " at a time (give each thread its own instance)")
    if code == TRAP_HOST_EXCEPTION or code == TRAP_COMPILE_ERROR:
        exc = _take_pending()
        if exc is not None:
            return exc
    if code == TRAP_KEYBOARD_INTERRUPT:
        return KeyboardInterrupt()
    if code == TRAP_WASI_EXIT:          # proc_exit: the program ended on purpose
        return wasi_exit()
    from wasabi.errors import Trap, trap_class
    from wasabi.abi.traps import message
    cdef int64_t element = wrt_take_trap_element()    # always taken: never left stale
    if code == TRAP_UNINITIALIZED_ELEMENT and element >= 0:
        return Trap(f"{message(code)} {element}", code)
    return trap_class(code)(message(code), code)


cdef class _HeapSlots:
    """Slot storage for calls with more values than fit on the C stack."""
    cdef uint8_t* mem
    cdef uint8_t* ptr

    def __cinit__(self, Py_ssize_t count):
        self.mem = <uint8_t*>calloc(count * 16 + 16, 1)
        if self.mem == NULL:
            raise MemoryError()
        self.ptr = <uint8_t*>((<uintptr_t>self.mem + 15) & ~(<uintptr_t>15))

    def __dealloc__(self):
        free(self.mem)


cdef int _enter(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, uint8_t* slots) except -1:
    # wrt_call_thunk checks the instance gate and releases the GIL itself
    cdef int code = wrt_call_thunk(<void*>thunk, <void*>fn, <VMContext*>vmctx, slots)
    if code != 0:
        raise _trap_error(code)
    return 0


def call_array_raw(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, raw_args, Py_ssize_t nresults):
    """Call compiled code `fn` through its signature's array thunk, with slots as raw
    128-bit ints (exact NaN payloads); returns the result slots, raw."""
    cdef Py_ssize_t n = len(raw_args), i
    cdef _HeapSlots slots = _HeapSlots(max(n, nresults, 1))
    cdef uint64_t lo, hi
    for i in range(n):
        raw = raw_args[i]
        lo = raw & 0xFFFFFFFFFFFFFFFF
        hi = (raw >> 64) & 0xFFFFFFFFFFFFFFFF
        memcpy(slots.ptr + 16 * i, &lo, 8)
        memcpy(slots.ptr + 16 * i + 8, &hi, 8)
    _enter(thunk, fn, vmctx, slots.ptr)
    out = []
    for i in range(nresults):
        memcpy(&lo, slots.ptr + 16 * i, 8)
        memcpy(&hi, slots.ptr + 16 * i + 8, 8)
        out.append((<object>hi << 64) | lo)
    return out
