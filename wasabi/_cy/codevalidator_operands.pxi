# The code-body validator: the operand instructions typed by their immediates: drop,
# select, variables, tables, references. See codevalidator_table.pxi for the design.

cdef Py_ssize_t cv_operand(CvState* st, const CvModule* m, int special, Py_ssize_t p,
                           CvErr* err) noexcept nogil:
    """drop, select, the variables (all but local.get/set/tee and global.get, which the
    main loop inlines), tables and references: typed by their immediates. Works on
    st.vals / st.sp; returns the position after the instruction, or -1."""
    cdef CvFrame* top = &st.ctrls[st.nctrl - 1]
    cdef int t1, t2
    cdef int t = st.t

    if special == CV_S_DROP:
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
