# The code-body validator: the loop over one body, and the decode-only pass.
# See codevalidator_table.pxi for the design.

cdef enum:
    # functions are checked in batches of this many without the GIL (taking it back for
    # every small body would cost more than checking it)
    CV_BATCH = 256


cdef inline Py_ssize_t cv_special(CvState* st, const CvModule* m, int special,
                                  const uint8_t* buf, Py_ssize_t end, Py_ssize_t p,
                                  CvErr* err) noexcept nogil:
    """The instructions whose typing is not a fixed signature (cv_ops[].special)."""
    if special <= CV_S_CALL_INDIRECT:
        return cv_control(st, m, special, buf, end, p, err)
    return cv_operand(st, m, special, p, err)


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
