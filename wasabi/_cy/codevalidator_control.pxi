# The code-body validator: the control instructions (blocks, branches, br_table, return)
# and calls. See codevalidator_table.pxi for the design.

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


cdef Py_ssize_t cv_control(CvState* st, const CvModule* m, int special, const uint8_t* buf,
                           Py_ssize_t end, Py_ssize_t p, CvErr* err) noexcept nogil:
    """Blocks, branches, return and calls: typed by the control stack or by the callee's
    type. Works on st.vals / st.sp / st.ctrls; returns the position after the
    instruction, or -1."""
    cdef CvFrame* top = &st.ctrls[st.nctrl - 1]
    cdef CvFrame* f
    cdef const uint8_t* types
    cdef uint32_t n, ti

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
    return p
