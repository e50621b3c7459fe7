# The code-body validator's error messages: a CvErr as the spec's texts phrase it.
# See codevalidator_table.pxi for the design.

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
