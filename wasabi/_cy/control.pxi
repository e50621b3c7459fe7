# Control of running code: Ctrl-C, store.interrupt(), deadlines and call
# timeouts (wasabi/_native/control.c). Compiled code polls vmctx->interrupt at
# function entries and, by signal, in loops (preempt.c); these set it through the
# store's control block.
import signal as _signal

cdef extern from "runtime.h":
    ctypedef struct wrt_store_ctl:
        pass
    ctypedef int (*wrt_signal_dispatch_fn)()
    void wrt_set_signal_dispatch(wrt_signal_dispatch_fn fn)
    uint64_t wrt_monotonic_ns()
    wrt_store_ctl* wrt_store_ctl_new()
    void wrt_store_ctl_release(wrt_store_ctl* ctl)
    int wrt_store_ctl_join(wrt_store_ctl* ctl, VMContext* ctx)
    void wrt_store_ctl_leave(VMContext* ctx)
    void wrt_store_interrupt(wrt_store_ctl* ctl) nogil
    void wrt_store_nudge(wrt_store_ctl* ctl) nogil
    uint64_t wrt_store_interrupts(wrt_store_ctl* ctl)
    void wrt_store_clear_interrupts(wrt_store_ctl* ctl)
    void wrt_store_set_deadline(wrt_store_ctl* ctl, uint64_t deadline_ns) nogil
    uint64_t wrt_store_deadline(wrt_store_ctl* ctl)
    uint64_t wrt_call_deadline_push(uint64_t deadline_ns)
    void wrt_call_deadline_pop(uint64_t outer)
    int wrt_preempt_supported()
    uint64_t wrt_preempt_redirects()

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1


cdef int _signal_dispatch() noexcept:
    # SIGINT came while this thread ran wasm; called with the GIL. The main thread
    # runs Python's handlers now, as between two bytecodes (the default one raises
    # KeyboardInterrupt; a user's may return, and the code goes on). Another thread
    # stops with KeyboardInterrupt unless the user installed their own handler:
    # Python runs handlers only in the main thread, which cannot stop this one.
    try:
        if _threading.current_thread() is _threading.main_thread():
            PyErr_CheckSignals()
        elif _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
            raise KeyboardInterrupt()
        return 0
    except BaseException as exc:
        set_pending_exception(exc)
        return 1


wrt_set_signal_dispatch(_signal_dispatch)


cdef uint64_t _deadline_after(seconds) except? 0:
    s = float(seconds)
    if not s >= 0:     # also NaN
        raise ValueError(f"a timeout is a number of seconds >= 0, not {seconds!r}")
    return wrt_monotonic_ns() + <uint64_t>min(s * 1e9, 1e18) + 1


cdef class StoreControl:
    """A store's control block: what store.interrupt() and deadlines act on."""
    cdef wrt_store_ctl* ctl

    def __cinit__(self):
        self.ctl = wrt_store_ctl_new()
        if self.ctl == NULL:
            raise MemoryError("cannot create a store's control block")

    def __dealloc__(self):
        if self.ctl != NULL:
            wrt_store_ctl_release(self.ctl)   # freed with its last instance

    def interrupt(self):
        with nogil:    # callable from a signal handler and from any thread
            wrt_store_interrupt(self.ctl)

    def nudge(self):
        """Make code running in the store poll and go on (tests: compiled code
        interrupted anywhere, by signal, must then compute the same)."""
        with nogil:
            wrt_store_nudge(self.ctl)

    @property
    def pending_interrupts(self):
        return wrt_store_interrupts(self.ctl)

    def clear_interrupts(self):
        wrt_store_clear_interrupts(self.ctl)

    def set_deadline(self, seconds):
        cdef uint64_t at = 0 if seconds is None else _deadline_after(seconds)
        with nogil:
            wrt_store_set_deadline(self.ctl, at)

    @property
    def deadline_remaining(self):
        """Seconds until the deadline (negative once past), None without one."""
        cdef uint64_t at = wrt_store_deadline(self.ctl)
        if at == 0:
            return None
        return (<double><int64_t>(at - wrt_monotonic_ns())) / 1e9


cdef class VMContextBuffer(RawBuffer):
    """An instance's VMContext: a RawBuffer that is a member of its store's control
    block until it is freed (control.c hints the members)."""
    cdef bint joined

    def join(self, StoreControl control):
        wrt_vmctx_init(<VMContext*>self.ptr)
        if wrt_store_ctl_join(control.ctl, <VMContext*>self.ptr) != 0:
            raise MemoryError()
        self.joined = True

    def __dealloc__(self):
        if self.joined:
            wrt_store_ctl_leave(<VMContext*>self.ptr)


def call_with_timeout(seconds, fn, *args):
    """fn(*args) with this thread's code trapping DeadlineExceeded after `seconds`
    (nested timeouts: the earliest deadline wins)."""
    cdef uint64_t outer = wrt_call_deadline_push(_deadline_after(seconds))
    try:
        return fn(*args)
    finally:
        wrt_call_deadline_pop(outer)


def preempt_supported():
    """Whether compiled loops are interrupted by signal (else they poll at headers)."""
    return bool(wrt_preempt_supported())


def preempt_redirects():
    """How many preemption signals found a thread in compiled code, in this process."""
    return wrt_preempt_redirects()
