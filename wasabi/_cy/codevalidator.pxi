# The code-body validator, Python side: a module's tables as C arrays, the checker that
# walks its bodies, and validate_functions. See codevalidator_table.pxi for the design.

cdef class _CvTables:
    """The parts of a ModuleDesc the checker reads, as C arrays (built once per module)."""
    cdef CvModule m
    cdef object keep            # the bytes objects the arrays live in

    def __cinit__(self, desc, frozenset refs):
        cdef Py_ssize_t i, k, off = 0
        memset(&self.m, 0, sizeof(CvModule))
        types = desc.types
        nt = len(types)
        self.m.ntypes = nt
        vals = bytearray()
        offs, nps, nrs = [], [], []
        for ft in types:
            offs.append(len(vals))
            nps.append(len(ft.params))
            nrs.append(len(ft.results))
            vals.extend(ft.params)
            vals.extend(ft.results)
        self.m.type_vals = self._bytes(vals)
        self.m.type_off = <uint32_t*>self._u32(offs)
        self.m.type_nparams = <uint32_t*>self._u32(nps)
        self.m.type_nresults = <uint32_t*>self._u32(nrs)
        # a function whose type index is out of range gets 0xFFFFFFFF: calls to it fail
        # with "unknown type" instead of reading past the type arrays
        ftypes = [ti if ti < nt else 0xFFFFFFFF for ti in desc.func_type_indices]
        self.m.nfuncs = len(ftypes)
        self.m.func_types = <uint32_t*>self._u32(ftypes)
        self.m.ntables = len(desc.all_tables)
        self.m.table_types = self._bytes(bytes(tt.elem_type for tt in desc.all_tables))
        self.m.nmems = len(desc.all_memories)
        self.m.nglobals = len(desc.all_globals)
        self.m.global_types = self._bytes(bytes(g.valtype for g in desc.all_globals))
        self.m.global_mutable = self._bytes(bytes(1 if g.mutable else 0 for g in desc.all_globals))
        self.m.nelems = len(desc.elems)
        self.m.elem_types = self._bytes(bytes(e.elem_type for e in desc.elems))
        self.m.data_count = -1 if desc.data_count is None else desc.data_count
        marks = bytearray(len(ftypes))
        for i in refs:
            if 0 <= i < len(ftypes):
                marks[i] = 1
        self.m.refs = self._bytes(marks)

    cdef uint8_t* _bytes(self, data) except NULL:
        # bytes of length 0 still have a valid pointer (to the terminating NUL)
        b = bytes(data)
        if self.keep is None:
            self.keep = []
        self.keep.append(b)
        return <uint8_t*><const char*>b

    cdef uint8_t* _u32(self, values) except NULL:
        arr = _cv_array.array("I", values)     # C unsigned int: 32 bits on every target we build
        if arr.itemsize != 4:
            raise SystemError("array('I') is not 32-bit here")
        return self._bytes(arr.tobytes())


cdef struct CvJob:
    # one function of a batch: its body, type and declared locals (in the batch's run arrays)
    Py_ssize_t start
    Py_ssize_t end
    uint32_t type_index
    Py_ssize_t first_run
    Py_ssize_t nruns


cdef class _CvChecker:
    """The checker's buffers, reused across the bodies of a module, and the batches of
    functions it checks without the GIL."""
    cdef CvState st
    cdef CvJob* jobs
    cdef uint64_t* run_counts   # the declared (count, type) runs of a batch's functions
    cdef uint8_t* run_types
    cdef Py_ssize_t run_cap

    def __cinit__(self):
        memset(&self.st, 0, sizeof(CvState))
        self.st.vcap = 1024
        self.st.vals = <uint8_t*>malloc(self.st.vcap)
        self.st.ccap = 64
        self.st.ctrls = <CvFrame*>malloc(self.st.ccap * sizeof(CvFrame))
        self.st.ltcap = 256
        self.st.local_types = <uint8_t*>malloc(self.st.ltcap)
        self.st.rcap = 16
        self.st.run_end = <uint64_t*>malloc(self.st.rcap * sizeof(uint64_t))
        self.st.run_type = <uint8_t*>malloc(self.st.rcap)
        self.jobs = <CvJob*>malloc(CV_BATCH * sizeof(CvJob))
        self.run_cap = 4 * CV_BATCH
        self.run_counts = <uint64_t*>malloc(self.run_cap * sizeof(uint64_t))
        self.run_types = <uint8_t*>malloc(self.run_cap)
        if (self.st.vals == NULL or self.st.ctrls == NULL or self.st.local_types == NULL
                or self.st.run_end == NULL or self.st.run_type == NULL or self.jobs == NULL
                or self.run_counts == NULL or self.run_types == NULL):
            raise MemoryError()

    def __dealloc__(self):
        free(self.st.vals)
        free(self.st.ctrls)
        free(self.st.local_types)
        free(self.st.run_end)
        free(self.st.run_type)
        free(self.jobs)
        free(self.run_counts)
        free(self.run_types)

    cdef Py_ssize_t fill_batch(self, funcs, Py_ssize_t first, const CvModule* m,
                               Py_ssize_t size) except -1:
        """Jobs for funcs[first:first + CV_BATCH]; returns how many."""
        cdef Py_ssize_t n = min(len(funcs) - first, <Py_ssize_t>CV_BATCH), k, nruns = 0
        cdef CvJob* job
        cdef uint64_t* counts
        cdef uint8_t* types
        for k in range(n):
            f = funcs[first + k]
            job = &self.jobs[k]
            job.start = f.body_start
            job.end = f.body_end
            if not (0 <= job.start <= job.end <= size and f.type_index < m.ntypes):
                if k > 0:
                    return k            # check the functions before it first
                _cv_check_function_desc(f, m, size)
            job.type_index = f.type_index
            job.first_run = nruns
            local_runs = f.locals
            job.nruns = len(local_runs)
            if nruns + job.nruns > self.run_cap:
                self.run_cap = 2 * (nruns + job.nruns)
                counts = <uint64_t*>realloc(self.run_counts, self.run_cap * sizeof(uint64_t))
                if counts == NULL:
                    raise MemoryError()
                self.run_counts = counts
                types = <uint8_t*>realloc(self.run_types, self.run_cap)
                if types == NULL:
                    raise MemoryError()
                self.run_types = types
            for count, t in local_runs:
                self.run_counts[nruns] = count
                self.run_types[nruns] = t
                nruns += 1
        return n

    cdef Py_ssize_t check_batch(self, const CvModule* m, const uint8_t* buf, Py_ssize_t njobs,
                                CvErr* err) noexcept nogil:
        """Check the batch's bodies in order; returns the index of the first that fails, or -1."""
        cdef Py_ssize_t k
        cdef CvJob* job
        for k in range(njobs):
            job = &self.jobs[k]
            memset(err, 0, sizeof(CvErr))
            if cv_set_locals(&self.st, m, job.type_index, self.run_counts + job.first_run,
                             self.run_types + job.first_run, job.nruns) < 0:
                cv_fail(err, CV_E_NO_MEMORY, 0)
                return k
            if cv_check_body(&self.st, m, buf, job.start, job.end, job.type_index, err) < 0:
                return k
        return -1


def validate_functions(desc, frozenset refs):
    """Decode and validate every code body of `desc` (a ModuleDesc).

    `refs` holds the function indices that ref.func may name (those referenced outside
    function bodies: elements, exports, globals). Raises ValidationError (offset = the
    instruction in desc.data, func_index = the absolute function index) for invalid
    code and CompileError for malformed bytes; a malformed body anywhere wins over an
    invalid one, as in the spec, where decoding precedes validation."""
    cdef _CvTables tables = _CvTables(desc, refs)
    cdef _CvChecker checker = _CvChecker()
    cdef CvErr err
    cdef bytes data = bytes(desc.data)
    cdef const uint8_t* buf = data
    cdef Py_ssize_t first = 0, njobs, failed
    funcs = tuple(desc.funcs)
    while first < len(funcs):
        njobs = checker.fill_batch(funcs, first, &tables.m, len(data))
        with nogil:
            failed = checker.check_batch(&tables.m, buf, njobs, &err)
        if failed >= 0:
            if err.code < CV_MALFORMED and err.code != CV_E_NO_MEMORY:
                _cv_raise_malformed_after(checker, tables, buf, len(data), funcs, first + failed)
            _cv_raise(&err, funcs[first + failed].index)
        first += njobs


cdef _cv_check_function_desc(f, const CvModule* m, Py_ssize_t size):
    """Raise if a FuncDesc's body range or type index is unusable (the decoder and the
    module rules should have caught it; this keeps the checker from reading out of bounds)."""
    if not 0 <= f.body_start <= f.body_end <= size:
        raise _CvCompileError(f"function body out of bounds: {f.body_start}..{f.body_end}",
                              f.body_start)
    if f.type_index >= m.ntypes:
        raise _CvValidationError(f"unknown type {f.type_index}", offset=f.entry_offset,
                                 func_index=f.index)


cdef _cv_raise_malformed_after(_CvChecker checker, _CvTables tables, const uint8_t* buf,
                               Py_ssize_t size, funcs, Py_ssize_t first):
    """Before a validation error of body `first` is reported, decode it and every later
    body: raise the first malformed-bytes error found, if any."""
    cdef CvErr err
    cdef int r
    for f in funcs[first:]:
        _cv_check_function_desc(f, &tables.m, size)
        memset(&err, 0, sizeof(CvErr))
        r = cv_skim_body(&checker.st, &tables.m, buf, f.body_start, f.body_end, &err)
        if r < 0 and err.code != CV_E_NO_MEMORY:
            _cv_raise(&err, f.index)
