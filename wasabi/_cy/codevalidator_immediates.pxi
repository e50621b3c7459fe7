# The code-body validator: decoding each instruction's immediates and checking the
# indices they name. See codevalidator_table.pxi for the design.

cdef Py_ssize_t cv_immediates(CvState* st, const CvModule* m, const uint8_t* buf, Py_ssize_t end,
                              Py_ssize_t p, const CvOpInfo* info, int op,
                              CvErr* err) noexcept nogil:
    """Decode the immediates of one instruction (the kinds the main loop does not inline)
    and check the indices they hold. Leaves in st.a / st.b the indices, in st.t the value
    type they name (global, table element, ref.null or typed-select type) and, for block
    types, the param/result lists in st.bt_*. Returns the position after them, or -1."""
    cdef int imm = info.imm
    cdef int leb_err = 0
    cdef int64_t s33
    cdef uint32_t a = 0, b = 0, n, i
    cdef uint8_t byte

    if imm == CV_IMM_BLOCKTYPE:
        if p >= end:
            return cv_fail(err, CV_M_LEB, LEB_EOF)
        byte = buf[p]
        if byte == 0x40:
            p += 1
            st.bt_np = 0
            st.bt_nr = 0
        elif cv_is_valtype[byte]:
            p += 1
            st.bt_np = 0
            st.bt_nr = 1
            st.bt_results = &cv_single_type[byte]
        else:
            s33 = read_s33(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
            if s33 < 0:
                return cv_fail(err, CV_M_BLOCKTYPE, byte)
            if s33 >= m.ntypes:
                return cv_fail(err, CV_E_UNKNOWN_TYPE, s33)
            i = <uint32_t>s33
            st.bt_params = m.type_vals + m.type_off[i]
            st.bt_np = m.type_nparams[i]
            st.bt_results = st.bt_params + st.bt_np
            st.bt_nr = m.type_nresults[i]
        return p
    if imm == CV_IMM_LABEL:
        a = read_u32(buf, end, &p, &leb_err)
        if leb_err:
            return cv_fail(err, CV_M_LEB, leb_err)
        st.a = a
        if a >= st.nctrl:
            return cv_fail(err, CV_E_UNKNOWN_LABEL, a)
        return p
    if imm == CV_IMM_BR_TABLE:
        return p                        # decoded by the br_table handler, which needs the stack
    if imm == CV_IMM_I64:
        read_s64(buf, end, &p, &leb_err)
        if leb_err:
            return cv_fail(err, CV_M_LEB, leb_err)
        return p
    if imm == CV_IMM_F32 or imm == CV_IMM_F64 or imm == CV_IMM_V128:
        n = 4 if imm == CV_IMM_F32 else (8 if imm == CV_IMM_F64 else 16)
        if end - p < n:
            return cv_fail(err, CV_M_LEB, LEB_EOF)
        return p + n
    if imm == CV_IMM_LANE or imm == CV_IMM_MEMARG_LANE:
        if imm == CV_IMM_MEMARG_LANE:
            a = read_u32(buf, end, &p, &leb_err)
            if not leb_err:
                read_u32(buf, end, &p, &leb_err)
            if leb_err:
                return cv_fail(err, CV_M_LEB, leb_err)
        if p >= end:
            return cv_fail(err, CV_M_LEB, LEB_EOF)
        byte = buf[p]
        p += 1
        if imm == CV_IMM_MEMARG_LANE:
            if m.nmems == 0:
                return cv_fail(err, CV_E_UNKNOWN_MEMORY, 0)
            if a > info.align:
                err.expected = info.align
                return cv_fail(err, CV_E_ALIGN, a)
        if byte >= info.lanes:
            err.expected = info.lanes
            return cv_fail(err, CV_E_LANE, byte)
        return p
    if imm == CV_IMM_SHUFFLE:
        if end - p < 16:
            return cv_fail(err, CV_M_LEB, LEB_EOF)
        for i in range(16):
            if buf[p + i] >= 32:
                err.expected = 32
                return cv_fail(err, CV_E_LANE, buf[p + i])
        return p + 16

    # the remaining kinds start with an index, except the zero bytes, ref.null and select t
    if imm == CV_IMM_ZERO_BYTE or imm == CV_IMM_TWO_ZERO_BYTES:
        if cv_read_zero(buf, end, &p, err) < 0:
            return -1
        if imm == CV_IMM_TWO_ZERO_BYTES and cv_read_zero(buf, end, &p, err) < 0:
            return -1
        if m.nmems == 0:
            return cv_fail(err, CV_E_UNKNOWN_MEMORY, 0)
        return p
    if imm == CV_IMM_REFTYPE:
        if p >= end:
            return cv_fail(err, CV_M_LEB, LEB_EOF)
        byte = buf[p]
        if byte != CV_FUNCREF and byte != CV_EXTERNREF:
            return cv_fail(err, CV_M_REFTYPE, byte)
        st.t = byte
        return p + 1
    if imm == CV_IMM_SELECT_TYPES:
        n = read_u32(buf, end, &p, &leb_err)
        if leb_err:
            return cv_fail(err, CV_M_LEB, leb_err)
        st.t = CV_UNKNOWN
        for i in range(n):
            if p >= end:
                return cv_fail(err, CV_M_LEB, LEB_EOF)
            byte = buf[p]
            p += 1
            if not cv_is_valtype[byte]:
                return cv_fail(err, CV_M_VALTYPE, byte)
            st.t = byte
        if n != 1:
            return cv_fail(err, CV_E_SELECT_ARITY, n)
        return p

    a = read_u32(buf, end, &p, &leb_err)
    if leb_err:
        return cv_fail(err, CV_M_LEB, leb_err)
    if imm == CV_IMM_CALL_INDIRECT or imm == CV_IMM_TWO_TABLES or imm == CV_IMM_ELEM_AND_TABLE:
        b = read_u32(buf, end, &p, &leb_err)
        if leb_err:
            return cv_fail(err, CV_M_LEB, leb_err)
    elif imm == CV_IMM_DATA_AND_ZERO:
        if cv_read_zero(buf, end, &p, err) < 0:
            return -1
    st.a = a
    st.b = b

    if imm == CV_IMM_FUNC:
        if a >= m.nfuncs:
            return cv_fail(err, CV_E_UNKNOWN_FUNC, a)
        if m.func_types[a] >= m.ntypes:
            return cv_fail(err, CV_E_UNKNOWN_TYPE, m.func_types[a])
        if op == CV_OP_REF_FUNC and not m.refs[a]:
            return cv_fail(err, CV_E_UNDECLARED_REF, a)
    elif imm == CV_IMM_GLOBAL:
        if a >= m.nglobals:
            return cv_fail(err, CV_E_UNKNOWN_GLOBAL, a)
        st.t = m.global_types[a]
    elif imm == CV_IMM_LOCAL:
        st.t = cv_local_type(st, a)
        if st.t < 0:
            return cv_fail(err, CV_E_UNKNOWN_LOCAL, a)
    elif imm == CV_IMM_TABLE:
        if a >= m.ntables:
            return cv_fail(err, CV_E_UNKNOWN_TABLE, a)
        st.t = m.table_types[a]
    elif imm == CV_IMM_CALL_INDIRECT:
        if b >= m.ntables:
            return cv_fail(err, CV_E_UNKNOWN_TABLE, b)
        if m.table_types[b] != CV_FUNCREF:
            return cv_fail(err, CV_E_TABLE_NOT_FUNCREF, b)
        if a >= m.ntypes:
            return cv_fail(err, CV_E_UNKNOWN_TYPE, a)
    elif imm == CV_IMM_DATA or imm == CV_IMM_DATA_AND_ZERO:
        # the data count section is a decoding requirement: without it a one-pass
        # compiler could not know the segment count here (malformed, not invalid)
        if m.data_count < 0:
            return cv_fail(err, CV_M_DATA_COUNT, 0)
        if imm == CV_IMM_DATA_AND_ZERO and m.nmems == 0:
            return cv_fail(err, CV_E_UNKNOWN_MEMORY, 0)
        if a >= m.data_count:
            return cv_fail(err, CV_E_UNKNOWN_DATA, a)
    elif imm == CV_IMM_ELEM:
        if a >= m.nelems:
            return cv_fail(err, CV_E_UNKNOWN_ELEM, a)
    elif imm == CV_IMM_ELEM_AND_TABLE:      # table.init: elem segment a into table b
        if b >= m.ntables:
            return cv_fail(err, CV_E_UNKNOWN_TABLE, b)
        if a >= m.nelems:
            return cv_fail(err, CV_E_UNKNOWN_ELEM, a)
        if m.elem_types[a] != m.table_types[b]:
            err.expected = m.table_types[b]
            err.found = m.elem_types[a]
            return cv_fail(err, CV_E_ELEM_TYPES, 0)
    elif imm == CV_IMM_TWO_TABLES:          # table.copy: destination a, source b
        if a >= m.ntables:
            return cv_fail(err, CV_E_UNKNOWN_TABLE, a)
        if b >= m.ntables:
            return cv_fail(err, CV_E_UNKNOWN_TABLE, b)
        if m.table_types[a] != m.table_types[b]:
            err.expected = m.table_types[a]
            err.found = m.table_types[b]
            return cv_fail(err, CV_E_ELEM_TYPES, 0)
    return p
