# The code-body validator, part 2 of 3: decoding immediates and the instructions whose typing
# is not a fixed signature (blocks, branches, calls, select, tables, references).
# See codevalidator_defs.pxi for the design.

# --- immediates -------------------------------------------------------------------------

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


# --- the special instructions ----------------------------------------------------------

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


cdef Py_ssize_t cv_br_table(CvState* st, const uint8_t* buf, Py_ssize_t end, Py_ssize_t p,
                            CvErr* err) noexcept nogil:
    """br_table l* l_default: every target's label types must fit the values on top, with
    the default's arity. The labels are read twice: the default comes last but is needed
    first."""
    cdef CvFrame* top = &st.ctrls[st.nctrl - 1]
    cdef int leb_err = 0
    cdef uint32_t count, i, label, dflt, arity, n
    cdef const uint8_t* types
    cdef Py_ssize_t first
    count = read_u32(buf, end, &p, &leb_err)
    first = p
    i = 0
    while i < count and not leb_err:
        read_u32(buf, end, &p, &leb_err)
        i += 1
    if not leb_err:
        dflt = read_u32(buf, end, &p, &leb_err)
    if leb_err:
        return cv_fail(err, CV_M_LEB, leb_err)
    if dflt >= st.nctrl:
        return cv_fail(err, CV_E_UNKNOWN_LABEL, dflt)
    if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
        return -1
    cv_label_types(&st.ctrls[st.nctrl - 1 - dflt], &types, &arity)
    for i in range(count):
        label = read_u32(buf, end, &first, &leb_err)
        if label >= st.nctrl:
            return cv_fail(err, CV_E_UNKNOWN_LABEL, label)
        cv_label_types(&st.ctrls[st.nctrl - 1 - label], &types, &n)
        if n != arity:
            return cv_fail(err, CV_E_BR_TABLE_ARITY, label)
        if cv_peek_list(st.vals, st.sp, top.height, top.unreachable, types, n, err) < 0:
            return -1
    cv_label_types(&st.ctrls[st.nctrl - 1 - dflt], &types, &arity)
    if cv_pop_list(st.vals, &st.sp, top.height, top.unreachable, types, arity, err) < 0:
        return -1
    cv_set_unreachable(st, top)
    return p


cdef Py_ssize_t cv_special(CvState* st, const CvModule* m, int special, const uint8_t* buf,
                           Py_ssize_t end, Py_ssize_t p, CvErr* err) noexcept nogil:
    """The instructions typed by the control structure or by their immediates (all but
    local.get/set/tee and global.get, which the main loop inlines). Works on st.vals /
    st.sp / st.ctrls; returns the position after the instruction, or -1."""
    cdef CvFrame* top = &st.ctrls[st.nctrl - 1]
    cdef CvFrame* f
    cdef const uint8_t* types
    cdef uint32_t n, ti
    cdef int t1, t2
    cdef int t = st.t

    if special == CV_S_END:
        if cv_pop_frame_values(st, top, err) < 0:
            return -1
        if top.kind == CV_F_IF:
            # no else: the implicit empty else must turn the params into the results
            if top.nparams != top.nresults:
                return cv_fail(err, CV_E_IF_WITHOUT_ELSE, 0)
            for n in range(top.nparams):
                if top.params[n] != top.results[n]:
                    return cv_fail(err, CV_E_IF_WITHOUT_ELSE, 0)
        st.nctrl -= 1
        if st.nctrl > 0 and cv_push_list(st, top.results, top.nresults, err) < 0:
            return -1
    elif special == CV_S_BLOCK or special == CV_S_LOOP or special == CV_S_IF:
        if special == CV_S_IF:
            if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
                return -1
        if cv_pop_list(st.vals, &st.sp, top.height, top.unreachable,
                       st.bt_params, st.bt_np, err) < 0:
            return -1
        if cv_push_frame(st, CV_F_BLOCK if special == CV_S_BLOCK else
                         (CV_F_LOOP if special == CV_S_LOOP else CV_F_IF),
                         st.bt_params, st.bt_np, st.bt_results, st.bt_nr, err) < 0:
            return -1
    elif special == CV_S_BR or special == CV_S_BR_IF:
        if special == CV_S_BR_IF:
            if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
                return -1
        cv_label_types(&st.ctrls[st.nctrl - 1 - st.a], &types, &n)
        if cv_pop_list(st.vals, &st.sp, top.height, top.unreachable, types, n, err) < 0:
            return -1
        if special == CV_S_BR:
            cv_set_unreachable(st, top)
        elif cv_push_list(st, types, n, err) < 0:
            return -1
    elif special == CV_S_CALL or special == CV_S_CALL_INDIRECT:
        if special == CV_S_CALL:
            ti = m.func_types[st.a]
        else:
            ti = st.a
            if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
                return -1
        types = m.type_vals + m.type_off[ti]
        if cv_pop_list(st.vals, &st.sp, top.height, top.unreachable,
                       types, m.type_nparams[ti], err) < 0:
            return -1
        if cv_push_list(st, types + m.type_nparams[ti], m.type_nresults[ti], err) < 0:
            return -1
    elif special == CV_S_BR_TABLE:
        return cv_br_table(st, buf, end, p, err)
    elif special == CV_S_ELSE:
        if top.kind != CV_F_IF:
            return cv_fail(err, CV_M_ELSE, 0)
        if cv_pop_frame_values(st, top, err) < 0:
            return -1
        top.kind = CV_F_ELSE
        top.unreachable = 0
        if cv_push_list(st, top.params, top.nparams, err) < 0:
            return -1
    elif special == CV_S_RETURN:
        f = &st.ctrls[0]
        if cv_pop_list(st.vals, &st.sp, top.height, top.unreachable,
                       f.results, f.nresults, err) < 0:
            return -1
        cv_set_unreachable(st, top)
    elif special == CV_S_UNREACHABLE:
        cv_set_unreachable(st, top)
    elif special == CV_S_DROP:
        if cv_pop_any(st.vals, &st.sp, top.height, top.unreachable, err) < 0:
            return -1
    elif special == CV_S_SELECT:
        if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
            return -1
        t1 = cv_pop_any(st.vals, &st.sp, top.height, top.unreachable, err)
        if t1 < 0:
            return -1
        t2 = cv_pop_any(st.vals, &st.sp, top.height, top.unreachable, err)
        if t2 < 0:
            return -1
        # without a type annotation only numeric and vector operands (unknown is both)
        if (not cv_is_numvec[t1] or not cv_is_numvec[t2]
                or (t1 != t2 and t1 != CV_UNKNOWN and t2 != CV_UNKNOWN)):
            err.expected = t2
            err.found = t1
            return cv_fail(err, CV_E_SELECT_OPERANDS, 0)
        if cv_push1(st, t2 if t1 == CV_UNKNOWN else t1, err) < 0:
            return -1
    elif special == CV_S_SELECT_T:
        if (cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0
                or cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0
                or cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0):
            return -1
        if cv_push1(st, t, err) < 0:
            return -1
    elif special == CV_S_GLOBAL_SET:
        if not m.global_mutable[st.a]:
            return cv_fail(err, CV_E_IMMUTABLE, st.a)
        if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0:
            return -1
    elif special == CV_S_TABLE_GET or special == CV_S_TABLE_GROW:
        # table.get: [i32] -> [t]; table.grow: [t i32] -> [i32]
        if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
            return -1
        if special == CV_S_TABLE_GROW:
            if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0:
                return -1
            t = CV_I32
        if cv_push1(st, t, err) < 0:
            return -1
    elif special == CV_S_TABLE_SET or special == CV_S_TABLE_FILL:
        # table.set: [i32 t] -> []; table.fill: [i32 t i32] -> []
        if special == CV_S_TABLE_FILL:
            if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0:
                return -1
        if (cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0
                or cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, CV_I32, err) < 0):
            return -1
    elif special == CV_S_REF_NULL or special == CV_S_LOCAL_GET or special == CV_S_GLOBAL_GET:
        if cv_push1(st, t, err) < 0:
            return -1
    elif special == CV_S_REF_IS_NULL:
        t1 = cv_pop_any(st.vals, &st.sp, top.height, top.unreachable, err)
        if t1 < 0:
            return -1
        if t1 != CV_FUNCREF and t1 != CV_EXTERNREF and t1 != CV_UNKNOWN:
            err.found = t1
            return cv_fail(err, CV_E_NOT_REF, 0)
        if cv_push1(st, CV_I32, err) < 0:
            return -1
    elif special == CV_S_LOCAL_SET or special == CV_S_LOCAL_TEE:
        if cv_pop_expect(st.vals, &st.sp, top.height, top.unreachable, t, err) < 0:
            return -1
        if special == CV_S_LOCAL_TEE and cv_push1(st, t, err) < 0:
            return -1
    return p
