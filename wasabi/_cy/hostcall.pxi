# Host functions: the record compiled code calls a Python callable through
# (hostcall.c) and the dispatch that runs it.

cdef class HostRecord:
    """The native side of a host function: the wrt_host record compiled code
    passes to wasabi_rt_host_call, and the wrt_func record a funcref points to.

    The signature is kept as C arrays of type codes (`ptypes`, `rtypes`), so a
    call converts values without touching the Python tuples."""
    cdef wrt_host host
    cdef wrt_func func
    cdef readonly object callable
    cdef readonly tuple params, results
    cdef readonly dict keep
    cdef bytes _codes             # owns the arrays below
    cdef const uint8_t* ptypes
    cdef const uint8_t* rtypes
    cdef Py_ssize_t nparams, nresults

    def __init__(self, callable, tuple params, tuple results, uint64_t type_id,
                 uintptr_t host_thunk, dict keep):
        self.callable = callable
        self.params = params
        self.results = results
        self.keep = keep
        self._codes = bytes(params) + bytes(results)
        self.ptypes = <const uint8_t*>PyBytes_AS_STRING(self._codes)
        self.rtypes = self.ptypes + len(params)
        self.nparams = len(params)
        self.nresults = len(results)
        self.host.func = <void*>self
        self.host.type_id = type_id
        self.func.code = <void*>host_thunk
        self.func.vmctx = <void*>&self.host
        self.func.type_id = type_id

    @property
    def host_address(self):
        return <uintptr_t>&self.host

    @property
    def record_address(self):
        return <uintptr_t>&self.func

    @property
    def code_address(self):
        return <uintptr_t>self.func.code


cdef object _call_host(HostRecord rec, const uint8_t* s):
    # the common arities call with the arguments on the C stack (vectorcall)
    cdef Py_ssize_t n = rec.nparams, i
    cdef const uint8_t* t = rec.ptypes
    if n == 0:
        return rec.callable()
    if n == 1:
        return rec.callable(_from_slot(s, t[0]))
    if n == 2:
        return rec.callable(_from_slot(s, t[0]), _from_slot(s + 16, t[1]))
    if n == 3:
        return rec.callable(_from_slot(s, t[0]), _from_slot(s + 16, t[1]),
                            _from_slot(s + 32, t[2]))
    args = PyTuple_New(n)
    for i in range(n):
        v = _from_slot(s + 16 * i, t[i])
        Py_INCREF(v)
        PyTuple_SET_ITEM(args, i, v)
    return rec.callable(*args)


cdef tuple _host_result_values(object out, Py_ssize_t m):
    """The m results of a host function as a tuple: at most m + 1 values are taken
    from an iterable (an endless generator must not exhaust memory)."""
    cdef tuple values
    if type(out) is tuple:
        values = <tuple>out
    elif type(out) is list:
        values = tuple(<list>out)
    else:
        values = tuple(_islice(out, m + 1))
    if len(values) != m:
        got = f"more than {m}" if len(values) > m else str(len(values))
        raise TypeError(f"host function returned {got} values, expected {m}")
    return values


cdef int _store_host_results(HostRecord rec, uint8_t* s, object out) except -1:
    cdef Py_ssize_t m = rec.nresults, i
    if m == 1:
        _to_slot(s, rec.rtypes[0], out, rec.keep)
    elif m > 1:
        out = _host_result_values(out, m)
        for i in range(m):
            _to_slot(s + 16 * i, rec.rtypes[i], out[i], rec.keep)
    return 0


cdef int _host_dispatch(void* hostrec, void* slots) noexcept:
    # called by wasabi_rt_host_call with the GIL held
    cdef HostRecord rec = <HostRecord>(<wrt_host*>hostrec).func
    cdef uint8_t* s = <uint8_t*>slots
    try:
        _store_host_results(rec, s, _call_host(rec, s))
        return 0
    except BaseException as exc:
        set_pending_exception(exc)
        return 1


wrt_set_host_dispatch(_host_dispatch)


cdef int _limiter_dispatch(void* limiter, int kind, uint64_t current, uint64_t desired,
                           uint64_t maximum) noexcept:
    # called by wrt_limiter_allows (limits.c) with the GIL held, from memory.grow
    # or table.grow in compiled code
    cdef object mx = None if maximum == 0xFFFFFFFFFFFFFFFF else maximum
    try:
        if kind == WRT_LIMIT_MEMORY:
            allowed = (<object>limiter).memory_growing(current, desired, mx)
        else:
            allowed = (<object>limiter).table_growing(current, desired, mx)
        return 1 if allowed else 0
    except BaseException as exc:
        set_pending_exception(exc)
        return -1


wrt_set_limiter_dispatch(_limiter_dispatch)
