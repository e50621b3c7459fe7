# The code-body validator's machinery: the operand stack, control frames and their labels,
# the locals, and recording an error. See codevalidator_table.pxi for the design.

# --- the operand stack ---------------------------------------------------------------

cdef uint8_t* cv_grow_vals(CvState* st, Py_ssize_t need) noexcept nogil:
    """Make room for `need` values; returns the (possibly moved) buffer, NULL if out of memory."""
    cdef Py_ssize_t cap = st.vcap * 2
    cdef uint8_t* v
    if need > CV_MAX_STACK:
        return NULL
    if cap < need:
        cap = need + 64
    v = <uint8_t*>realloc(st.vals, cap)
    if v == NULL:
        return NULL
    st.vals = v
    st.vcap = cap
    return v


cdef CvFrame* cv_grow_ctrls(CvState* st) noexcept nogil:
    cdef Py_ssize_t cap = st.ccap * 2
    cdef CvFrame* c = <CvFrame*>realloc(st.ctrls, cap * sizeof(CvFrame))
    if c == NULL:
        return NULL
    st.ctrls = c
    st.ccap = cap
    return c


cdef inline int cv_type_error(CvErr* err, int expected, int found) noexcept nogil:
    err.code = CV_E_TYPE
    err.expected = expected
    err.found = found
    return -1


cdef inline int cv_pop_expect(const uint8_t* vals, Py_ssize_t* sp, Py_ssize_t height,
                              bint unreach, uint8_t expect, CvErr* err) noexcept nogil:
    """Pop a value of type `expect` (the unknown type matches anything)."""
    cdef uint8_t t
    if sp[0] > height:
        sp[0] -= 1
        t = vals[sp[0]]
        if t == expect or t == CV_UNKNOWN:
            return 0
        return cv_type_error(err, expect, t)
    if unreach:
        return 0
    return cv_type_error(err, expect, CV_NOTHING)


cdef inline int cv_pop_any(const uint8_t* vals, Py_ssize_t* sp, Py_ssize_t height,
                           bint unreach, CvErr* err) noexcept nogil:
    """Pop any value; returns its type (CV_UNKNOWN in dead code) or -1."""
    if sp[0] > height:
        sp[0] -= 1
        return vals[sp[0]]
    if unreach:
        return CV_UNKNOWN
    return cv_type_error(err, CV_ANY, CV_NOTHING)


cdef inline int cv_pop_list(const uint8_t* vals, Py_ssize_t* sp, Py_ssize_t height, bint unreach,
                            const uint8_t* types, uint32_t n, CvErr* err) noexcept nogil:
    """Pop values of types[0..n) (the last one is on top)."""
    while n > 0:
        n -= 1
        if cv_pop_expect(vals, sp, height, unreach, types[n], err) < 0:
            return -1
    return 0


cdef inline int cv_peek_list(const uint8_t* vals, Py_ssize_t sp, Py_ssize_t height, bint unreach,
                             const uint8_t* types, uint32_t n, CvErr* err) noexcept nogil:
    """Check the top n values against types[0..n) without popping them (br_table targets)."""
    cdef Py_ssize_t q
    cdef uint8_t t
    cdef uint32_t i = n
    while i > 0:
        i -= 1
        q = sp - (n - i)
        if q >= height:
            t = vals[q]
            if t != types[i] and t != CV_UNKNOWN:
                return cv_type_error(err, types[i], t)
        elif not unreach:
            return cv_type_error(err, types[i], CV_NOTHING)
    return 0


# --- locals --------------------------------------------------------------------------

cdef int cv_set_locals(CvState* st, const CvModule* m, uint32_t type_index,
                       const uint64_t* counts, const uint8_t* types, Py_ssize_t ndecl) noexcept nogil:
    """Locals of a function: the parameters of its type, then the `ndecl` declared
    (count, type) runs. Returns 0, or -1 if out of memory."""
    cdef uint32_t np = m.type_nparams[type_index]
    cdef const uint8_t* params = m.type_vals + m.type_off[type_index]
    cdef Py_ssize_t nruns = np + ndecl, r = 0, k
    cdef uint64_t total = np, fill = 0
    cdef uint64_t* ends
    cdef uint8_t* rtypes
    if nruns > st.rcap:
        ends = <uint64_t*>realloc(st.run_end, nruns * sizeof(uint64_t))
        if ends == NULL:
            return -1
        st.run_end = ends
        rtypes = <uint8_t*>realloc(st.run_type, nruns)
        if rtypes == NULL:
            return -1
        st.run_type = rtypes
        st.rcap = nruns
    for k in range(np):
        st.run_end[r] = k + 1
        st.run_type[r] = params[k]
        r += 1
    for k in range(ndecl):
        total += counts[k]
        st.run_end[r] = total
        st.run_type[r] = types[k]
        r += 1
    st.nruns = r
    st.nlocals = total
    st.nexpanded = total if total < CV_EXPANDED_LOCALS else CV_EXPANDED_LOCALS
    if <Py_ssize_t>st.nexpanded > st.ltcap:
        rtypes = <uint8_t*>realloc(st.local_types, st.nexpanded)
        if rtypes == NULL:
            return -1
        st.local_types = rtypes
        st.ltcap = st.nexpanded
    for r in range(st.nruns):
        while fill < st.run_end[r] and fill < st.nexpanded:
            st.local_types[fill] = st.run_type[r]
            fill += 1
    return 0


cdef int cv_local_type(const CvState* st, uint32_t index) noexcept nogil:
    """The type of local `index` (parameters first), or -1 if there is none."""
    cdef Py_ssize_t lo, hi, mid
    if index < st.nexpanded:
        return st.local_types[index]
    if index >= st.nlocals:
        return -1
    lo = 0
    hi = st.nruns - 1
    while lo < hi:                  # the first run whose end is past index
        mid = (lo + hi) // 2
        if st.run_end[mid] > index:
            hi = mid
        else:
            lo = mid + 1
    return st.run_type[lo]


cdef inline int cv_fail(CvErr* err, int code, int64_t index) noexcept nogil:
    err.code = code
    err.index = index
    return -1


cdef inline int cv_read_zero(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* p,
                             CvErr* err) noexcept nogil:
    """A reserved 0x00 byte (memory.size/grow/copy/fill/init): any other byte, even a
    longer LEB128 encoding of 0, is malformed."""
    if p[0] >= end:
        return cv_fail(err, CV_M_LEB, LEB_EOF)
    p[0] += 1
    if buf[p[0] - 1] != 0:
        return cv_fail(err, CV_M_ZERO_BYTE, 0)
    return 0


# --- pushing values and control frames ------------------------------------------------

cdef inline uint8_t* cv_reserve(CvState* st, Py_ssize_t need) noexcept nogil:
    if need <= st.vcap:
        return st.vals
    return cv_grow_vals(st, need)


cdef int cv_push_list(CvState* st, const uint8_t* types, uint32_t n, CvErr* err) noexcept nogil:
    cdef uint8_t* vals = cv_reserve(st, st.sp + n)
    cdef uint32_t i
    if vals == NULL:
        return cv_fail(err, CV_E_NO_MEMORY, 0)
    for i in range(n):
        vals[st.sp + i] = types[i]
    st.sp += n
    return 0


cdef inline int cv_push1(CvState* st, int t, CvErr* err) noexcept nogil:
    if st.sp >= st.vcap and cv_grow_vals(st, st.sp + 1) == NULL:
        return cv_fail(err, CV_E_NO_MEMORY, 0)
    st.vals[st.sp] = <uint8_t>t
    st.sp += 1
    return 0


cdef int cv_push_frame(CvState* st, int kind, const uint8_t* params, uint32_t np,
                       const uint8_t* results, uint32_t nr, CvErr* err) noexcept nogil:
    """push_ctrl of the spec: a new frame above the current values, with its params pushed."""
    cdef CvFrame* f
    if st.nctrl >= st.ccap and cv_grow_ctrls(st) == NULL:
        return cv_fail(err, CV_E_NO_MEMORY, 0)
    f = &st.ctrls[st.nctrl]
    st.nctrl += 1
    f.kind = kind
    f.height = st.sp
    f.unreachable = 0
    f.params = params
    f.nparams = np
    f.results = results
    f.nresults = nr
    return cv_push_list(st, params, np, err)


cdef int cv_pop_frame_values(CvState* st, CvFrame* f, CvErr* err) noexcept nogil:
    """The checks of the spec's pop_ctrl: the frame's results, and nothing more, on top."""
    if cv_pop_list(st.vals, &st.sp, f.height, f.unreachable, f.results, f.nresults, err) < 0:
        return -1
    if st.sp != f.height:
        return cv_fail(err, CV_E_EXTRA_VALUES, st.sp - f.height)
    return 0


cdef inline void cv_set_unreachable(CvState* st, CvFrame* f) noexcept nogil:
    st.sp = f.height
    f.unreachable = 1


cdef inline void cv_label_types(const CvFrame* f, const uint8_t** types, uint32_t* n) noexcept nogil:
    if f.kind == CV_F_LOOP:
        types[0] = f.params
        n[0] = f.nparams
    else:
        types[0] = f.results
        n[0] = f.nresults
