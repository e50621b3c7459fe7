# The code-body validator, part 3 of 3: the loop over one body, the decode-only pass, and
# validate_functions with its error messages. See codevalidator_defs.pxi for the design.

cdef enum:
    # functions are checked in batches of this many without the GIL (taking it back for
    # every small body would cost more than checking it)
    CV_BATCH = 256


# --- one body --------------------------------------------------------------------------

cdef int cv_check_body(CvState* st, const CvModule* m, const uint8_t* buf, Py_ssize_t p,
                       Py_ssize_t end, uint32_t type_index, CvErr* err) noexcept nogil:
    """Decode and type-check the instructions buf[p:end] of a function of type
    `type_index` whose locals are set up in `st`. Returns 0, or -1 with `err` filled in.

    The hot instructions (fixed signatures, locals, i32.const, loads and stores) are
    handled inline with the operand stack in locals; the others go through cv_immediates
    and cv_special, which work on `st` (hence the spill/reload around them)."""
    cdef uint8_t* vals = st.vals
    cdef Py_ssize_t vcap = st.vcap
    cdef Py_ssize_t sp = 0
    cdef Py_ssize_t height = 0          # the top frame's height and unreachable flag, cached
    cdef bint unreach = False
    cdef const uint8_t* local_types = st.local_types
    cdef uint64_t nexpanded = st.nexpanded
    cdef bint has_memory = m.nmems > 0
    cdef Py_ssize_t start
    cdef const CvOpInfo* info
    cdef int op, imm, special, t = 0, leb_err = 0
    cdef uint32_t a = 0, n
    cdef CvFrame* top

    err.op = -1
    st.nctrl = 1
    st.ctrls[0].kind = CV_F_FUNC
    st.ctrls[0].height = 0
    st.ctrls[0].unreachable = 0
    st.ctrls[0].params = NULL
    st.ctrls[0].nparams = 0
    st.ctrls[0].results = m.type_vals + m.type_off[type_index] + m.type_nparams[type_index]
    st.ctrls[0].nresults = m.type_nresults[type_index]

    while True:
        start = p
        if p >= end:
            err.offset = p
            return cv_fail(err, CV_M_END_EXPECTED, 0)
        op = buf[p]
        p += 1
        if op >= 0xFC:
            if op == 0xFC or op == 0xFD:
                a = read_u32(buf, end, &p, &leb_err)
                if leb_err:
                    err.offset = start
                    return cv_fail(err, CV_M_LEB, leb_err)
                if op == 0xFC and a < CV_FC_COUNT:
                    op = CV_FC_BASE + a
                elif op == 0xFD and a < CV_FD_COUNT:
                    op = CV_FD_BASE + a
                else:
                    err.offset = start
                    err.expected = op
                    return cv_fail(err, CV_M_ILLEGAL_OPCODE, a)
        info = &cv_ops[op]
        if not info.valid:
            err.offset = start
            err.expected = 0 if op < 256 else (0xFC if op < CV_FD_BASE else 0xFD)
            return cv_fail(err, CV_M_ILLEGAL_OPCODE, op if op < 256 else a)

        # immediates
        imm = info.imm
        if imm == CV_IMM_NONE:
            pass
        elif imm == CV_IMM_LOCAL:
            if p < end and buf[p] < 0x80:
                a = buf[p]
                p += 1
            else:
                a = read_u32(buf, end, &p, &leb_err)
                if leb_err:
                    err.offset = start
                    return cv_fail(err, CV_M_LEB, leb_err)
            if a < nexpanded:
                t = local_types[a]
            else:
                t = cv_local_type(st, a)
                if t < 0:
                    err.offset = start
                    err.op = op
                    return cv_fail(err, CV_E_UNKNOWN_LOCAL, a)
        elif imm == CV_IMM_I32:
            read_s32(buf, end, &p, &leb_err)
            if leb_err:
                err.offset = start
                return cv_fail(err, CV_M_LEB, leb_err)
        elif imm == CV_IMM_MEMARG:
            a = read_u32(buf, end, &p, &leb_err)
            if not leb_err:
                read_u32(buf, end, &p, &leb_err)
            if leb_err:
                err.offset = start
                return cv_fail(err, CV_M_LEB, leb_err)
            if not has_memory or a > info.align:
                err.offset = start
                err.op = op
                if not has_memory:
                    return cv_fail(err, CV_E_UNKNOWN_MEMORY, 0)
                err.expected = info.align
                return cv_fail(err, CV_E_ALIGN, a)
        else:
            st.sp = sp
            p = cv_immediates(st, m, buf, end, p, info, op, err)
            if p < 0:
                err.offset = start
                err.op = op
                return -1
            t = st.t

        # the stack
        special = info.special
        if special == CV_S_GENERIC:
            n = info.nparams
            while n > 0:
                n -= 1
                if sp > height:
                    sp -= 1
                    if vals[sp] != info.params[n] and vals[sp] != CV_UNKNOWN:
                        err.offset = start
                        err.op = op
                        return cv_type_error(err, info.params[n], vals[sp])
                elif not unreach:
                    err.offset = start
                    err.op = op
                    return cv_type_error(err, info.params[n], CV_NOTHING)
            if info.nresults:
                if sp >= vcap:
                    vals = cv_grow_vals(st, sp + 1)
                    if vals == NULL:
                        return cv_fail(err, CV_E_NO_MEMORY, 0)
                    vcap = st.vcap
                vals[sp] = info.result
                sp += 1
            continue
        if special == CV_S_LOCAL_GET or special == CV_S_GLOBAL_GET:
            if sp >= vcap:
                vals = cv_grow_vals(st, sp + 1)
                if vals == NULL:
                    return cv_fail(err, CV_E_NO_MEMORY, 0)
                vcap = st.vcap
            vals[sp] = t
            sp += 1
            continue
        if special == CV_S_LOCAL_SET or special == CV_S_LOCAL_TEE:
            if sp > height:
                if vals[sp - 1] != t and vals[sp - 1] != CV_UNKNOWN:
                    err.offset = start
                    err.op = op
                    return cv_type_error(err, t, vals[sp - 1])
                if special == CV_S_LOCAL_SET:
                    sp -= 1
                else:
                    vals[sp - 1] = t
                continue
            if not unreach:
                err.offset = start
                err.op = op
                return cv_type_error(err, t, CV_NOTHING)
            # dead code with nothing on the stack: the out-of-line handler does it
        st.sp = sp
        st.t = t
        p = cv_special(st, m, special, buf, end, p, err)
        if p < 0:
            err.offset = start
            err.op = op
            return -1
        if st.nctrl == 0:               # the function's own `end`
            if p != end:
                err.offset = p
                return cv_fail(err, CV_M_SIZE_MISMATCH, end - p)
            return 0
        sp = st.sp
        vals = st.vals
        vcap = st.vcap
        top = &st.ctrls[st.nctrl - 1]
        height = top.height
        unreach = top.unreachable


# --- decoding only -------------------------------------------------------------------

cdef int cv_skim_body(CvState* st, const CvModule* m, const uint8_t* buf, Py_ssize_t p,
                      Py_ssize_t end, CvErr* err) noexcept nogil:
    """Decode a body without type-checking it: finds the malformed-bytes error that the
    spec reports before any validation error of the module. Returns 0 or -1."""
    cdef Py_ssize_t depth = 1, start
    cdef const CvOpInfo* info
    cdef int op, imm, leb_err = 0
    cdef uint32_t a, n, i
    cdef int64_t s33
    cdef uint8_t* kinds             # the frame kinds, to tell a stray `else`
    err.op = -1
    kinds = cv_reserve(st, 64)
    if kinds == NULL:
        return cv_fail(err, CV_E_NO_MEMORY, 0)
    kinds[0] = CV_F_FUNC
    while True:
        start = p
        err.offset = start
        err.op = -1
        if p >= end:
            return cv_fail(err, CV_M_END_EXPECTED, 0)
        op = buf[p]
        p += 1
        a = 0
        if op == 0xFC or op == 0xFD:
            a = read_u32(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
            if op == 0xFC and a < CV_FC_COUNT:
                op = CV_FC_BASE + a
            elif op == 0xFD and a < CV_FD_COUNT:
                op = CV_FD_BASE + a
            else:
                err.expected = op
                return cv_fail(err, CV_M_ILLEGAL_OPCODE, a)
        info = &cv_ops[op]
        if not info.valid:
            err.expected = 0 if op < 256 else (0xFC if op < CV_FD_BASE else 0xFD)
            return cv_fail(err, CV_M_ILLEGAL_OPCODE, op if op < 256 else a)
        err.op = op
        imm = info.imm
        n = 0                           # how many u32 indices follow
        if imm == CV_IMM_BLOCKTYPE:
            if p >= end:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            if buf[p] == 0x40 or cv_is_valtype[buf[p]]:
                p += 1
            else:
                s33 = read_s33(buf, end, &p, &leb_err)
                if leb_err:
                    return cv_fail(err, CV_M_LEB, leb_err)
                if s33 < 0:
                    return cv_fail(err, CV_M_BLOCKTYPE, buf[start + 1])
            kinds = cv_reserve(st, depth + 1)
            if kinds == NULL:
                return cv_fail(err, CV_E_NO_MEMORY, 0)
            kinds[depth] = CV_F_IF if info.special == CV_S_IF else CV_F_BLOCK
            depth += 1
        elif imm == CV_IMM_BR_TABLE:
            n = read_u32(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
            n += 1
            if n == 0:                  # 2**32 labels cannot fit in a body
                return cv_fail(err, CV_M_LEB, LEB_EOF)
        elif imm == CV_IMM_I32:
            read_s32(buf, end, &p, &leb_err)
        elif imm == CV_IMM_I64:
            read_s64(buf, end, &p, &leb_err)
        elif imm == CV_IMM_F32 or imm == CV_IMM_F64 or imm == CV_IMM_V128 or imm == CV_IMM_SHUFFLE:
            i = 4 if imm == CV_IMM_F32 else (8 if imm == CV_IMM_F64 else 16)
            if end - p < i:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            p += i
        elif imm == CV_IMM_ZERO_BYTE or imm == CV_IMM_TWO_ZERO_BYTES:
            if cv_read_zero(buf, end, &p, err) < 0:
                return -1
            if imm == CV_IMM_TWO_ZERO_BYTES and cv_read_zero(buf, end, &p, err) < 0:
                return -1
        elif imm == CV_IMM_LANE:
            if p >= end:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            p += 1
        elif imm == CV_IMM_REFTYPE:
            if p >= end:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            if buf[p] != CV_FUNCREF and buf[p] != CV_EXTERNREF:
                return cv_fail(err, CV_M_REFTYPE, buf[p])
            p += 1
        elif imm == CV_IMM_SELECT_TYPES:
            n = read_u32(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
            for i in range(n):
                if p >= end:
                    return cv_fail(err, CV_M_LEB, LEB_EOF)
                if not cv_is_valtype[buf[p]]:
                    return cv_fail(err, CV_M_VALTYPE, buf[p])
                p += 1
            n = 0
        elif imm == CV_IMM_CALL_INDIRECT or imm == CV_IMM_TWO_TABLES or imm == CV_IMM_ELEM_AND_TABLE \
                or imm == CV_IMM_MEMARG or imm == CV_IMM_MEMARG_LANE:
            n = 2
        elif imm != CV_IMM_NONE:
            n = 1                       # label, func, local, global, table, elem, data
        if leb_err:
            return cv_fail(err, CV_M_LEB, leb_err)
        while n > 0:
            read_u32(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
            n -= 1
        if imm == CV_IMM_MEMARG_LANE:
            if p >= end:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            p += 1
        elif imm == CV_IMM_DATA_AND_ZERO and cv_read_zero(buf, end, &p, err) < 0:
            return -1
        if (imm == CV_IMM_DATA or imm == CV_IMM_DATA_AND_ZERO) and m.data_count < 0:
            return cv_fail(err, CV_M_DATA_COUNT, 0)
        if info.special == CV_S_ELSE:
            if kinds[depth - 1] != CV_F_IF:
                return cv_fail(err, CV_M_ELSE, 0)
            kinds[depth - 1] = CV_F_ELSE
        elif info.special == CV_S_END:
            depth -= 1
            if depth == 0:
                if p != end:
                    err.offset = p
                    return cv_fail(err, CV_M_SIZE_MISMATCH, end - p)
                return 0


# --- Python side: module tables, buffers, messages ------------------------------------

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


cdef str _cv_tname(int t):
    if t == CV_NOTHING:
        return "nothing"
    if t == CV_ANY:
        return "a value"
    if t == CV_UNKNOWN:
        return "unknown"
    return _cv_type_name(t)


cdef str _cv_message(const CvErr* e):
    cdef int code = e.code
    i = e.index
    if code == CV_E_TYPE:
        msg = f"type mismatch: expected {_cv_tname(e.expected)}, found {_cv_tname(e.found)}"
    elif code == CV_E_EXTRA_VALUES:
        msg = f"type mismatch: {i} value(s) left on the stack at the end of the block"
    elif code == CV_E_IF_WITHOUT_ELSE:
        msg = "type mismatch: an if without else must have the same parameter and result types"
    elif code == CV_E_BR_TABLE_ARITY:
        msg = f"type mismatch: br_table label {i} has another arity than the default label"
    elif code == CV_E_SELECT_OPERANDS:
        msg = (f"type mismatch: select without a type needs two numeric or vector operands of "
               f"one type, found {_cv_tname(e.expected)} and {_cv_tname(e.found)}")
    elif code == CV_E_NOT_REF:
        msg = f"type mismatch: expected a reference, found {_cv_tname(e.found)}"
    elif code == CV_E_TABLE_NOT_FUNCREF:
        msg = f"type mismatch: call_indirect through table {i}, which is not a funcref table"
    elif code == CV_E_ELEM_TYPES:
        msg = (f"type mismatch: element type {_cv_tname(e.found)} does not match "
               f"{_cv_tname(e.expected)}")
    elif code == CV_E_UNKNOWN_LOCAL:
        msg = f"unknown local {i}"
    elif code == CV_E_UNKNOWN_LABEL:
        msg = f"unknown label {i}"
    elif code == CV_E_UNKNOWN_FUNC:
        msg = f"unknown function {i}"
    elif code == CV_E_UNKNOWN_TABLE:
        msg = f"unknown table {i}"
    elif code == CV_E_UNKNOWN_TYPE:
        msg = f"unknown type {i}"
    elif code == CV_E_UNKNOWN_MEMORY:
        msg = f"unknown memory {i}"
    elif code == CV_E_UNKNOWN_GLOBAL:
        msg = f"unknown global {i}"
    elif code == CV_E_UNKNOWN_DATA:
        msg = f"unknown data segment {i}"
    elif code == CV_E_UNKNOWN_ELEM:
        msg = f"unknown elem segment {i}"
    elif code == CV_E_LANE:
        msg = f"invalid lane index {i}, must be below {e.expected}"
    elif code == CV_E_ALIGN:
        msg = f"alignment must not be larger than natural (2**{i} > 2**{e.expected})"
    elif code == CV_E_IMMUTABLE:
        msg = f"global is immutable: global {i}"
    elif code == CV_E_UNDECLARED_REF:
        msg = f"undeclared function reference: function {i}"
    elif code == CV_E_SELECT_ARITY:
        msg = f"invalid result arity: select with {i} types"
    elif code == CV_M_LEB:
        msg = leb_error_message(<int>i)
    elif code == CV_M_ILLEGAL_OPCODE:
        msg = f"illegal opcode {e.expected:#04x} {i}" if e.expected else f"illegal opcode {i:#04x}"
    elif code == CV_M_ZERO_BYTE:
        msg = "zero byte expected"
    elif code == CV_M_END_EXPECTED:
        # the body ran out before its final `end` (the spec interpreter, which reads on into
        # the next body, reports either of these two texts)
        msg = "unexpected end of the function body: END opcode expected"
    elif code == CV_M_SIZE_MISMATCH:
        msg = f"section size mismatch: {i} byte(s) after the function's final end"
    elif code == CV_M_DATA_COUNT:
        msg = "data count section required"
    elif code == CV_M_ELSE:
        msg = "else without a matching if"
    elif code == CV_M_BLOCKTYPE:
        msg = f"malformed block type {i:#04x}"
    elif code == CV_M_VALTYPE:
        msg = f"malformed value type {i:#04x}"
    elif code == CV_M_REFTYPE:
        msg = f"malformed reference type {i:#04x}"
    else:
        msg = f"validator error {code}"
    if e.op >= 0 and cv_op_names[e.op] is not None:
        msg = f"{msg} ({cv_op_names[e.op]})"
    return msg


cdef _cv_raise(const CvErr* e, func_index):
    if e.code == CV_E_NO_MEMORY:
        # almost always a hostile body (e.g. many calls of a function with many results):
        # an implementation limit, reported like any other rejected module
        raise _CvCompileError("function body too large for the validator: more than "
                              f"{CV_MAX_STACK} values on its operand stack, or out of memory",
                              e.offset)
    if e.code > CV_MALFORMED:
        raise _CvCompileError(_cv_message(e), e.offset)
    raise _CvValidationError(_cv_message(e), offset=e.offset, func_index=func_index)


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
