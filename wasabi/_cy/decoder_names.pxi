# The `name` custom section (spec appendix 7.4): the module name (subsection 0), function
# names (1) and local names (2). The section is advisory: a malformed one is ignored and
# the module stays valid, so decode errors inside it become an empty NameMap.

@cython.final
cdef class _DeferredNames:
    """The NameMap of a `name` custom section's payload (an empty one when malformed),
    made when ModuleDesc.names is first asked for: most loads never need the names."""
    cdef bytes payload

    def __cinit__(self, bytes payload not None):
        self.payload = payload

    def __call__(self):
        cdef _Cursor c = _Cursor(self.payload, 0, len(self.payload))
        try:
            return _read_name_subsections(c)
        except _CompileError:
            return _NameMap()


cdef object _read_name_subsections(_Cursor c):
    cdef Py_ssize_t size, sub_end, section_end = c.end, at
    cdef int sid, last_id = -1
    module = None
    funcs = {}
    local_names = {}
    while c.pos < section_end:
        at = c.pos
        sid = c.byte()
        size = c.length()
        sub_end = c.pos + size
        if sid <= last_id:       # subsections come at most once, in id order
            c.fail("malformed name section: subsection order", at)
        if sub_end > section_end:
            c.fail("malformed name section: subsection size", at)
        last_id = sid
        c.end = sub_end
        if sid == 0:
            module = c.name()
        elif sid == 1:
            funcs = _read_name_map(c)
        elif sid == 2:
            local_names = _read_indirect_name_map(c)
        else:                    # later extensions (labels, types, ...): not kept
            c.pos = sub_end
        if c.pos != sub_end:
            c.fail("malformed name section: subsection size", at)
        c.end = section_end
    return _NameMap(module, funcs, local_names)


cdef dict _read_name_map(_Cursor c):
    """vec(index name), indices strictly increasing."""
    cdef Py_ssize_t i, n = c.length(), at
    cdef long long previous = -1
    cdef uint32_t index
    cdef dict out = {}
    for i in range(n):
        at = c.pos
        index = c.u32()
        if index <= previous:
            c.fail("malformed name section: indices out of order", at)
        previous = index
        out[index] = c.name()
    return out


cdef dict _read_indirect_name_map(_Cursor c):
    """vec(function index, name map of its locals), function indices strictly increasing."""
    cdef Py_ssize_t i, n = c.length(), at
    cdef long long previous = -1
    cdef uint32_t index
    cdef dict out = {}
    for i in range(n):
        at = c.pos
        index = c.u32()
        if index <= previous:
            c.fail("malformed name section: indices out of order", at)
        previous = index
        out[index] = _read_name_map(c)
    return out
