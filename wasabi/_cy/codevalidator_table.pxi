# The code-body validator: decodes and type-checks every function body of a ModuleDesc
# with the algorithm of the spec's validation appendix (an operand stack of value types
# and a stack of control frames; the bottom type `unknown` makes code after
# unreachable/br/return stack-polymorphic).
#
# Speed is the point: one C loop per body (cv_check_body in codevalidator_body.pxi), the
# operand stack a uint8 array of value type codes, control frames C structs, no Python object per instruction. The
# instruction set comes from wasabi/binary/opcodes.py: at import time its entries are
# copied into cv_ops[], a C table of immediate kind, handler and stack signature, so the
# loop only hand-codes the instructions whose typing is not a fixed signature.
#
# Errors are recorded in a CvErr (code, offset, instruction, types, index) by the nogil
# loop and turned into CompileError / ValidationError messages by Python code at the end.
#
# The files, in include order:
#   codevalidator_table.pxi       this design note; type codes, error codes, C structs, and
#                                 cv_ops[] built from wasabi/binary/opcodes.py
#   codevalidator_stack.pxi       the operand stack, control frames, labels, locals, errors
#   codevalidator_immediates.pxi  decoding immediates and checking the indices they name
#                                 (functions, globals, locals, tables, memories, lanes, ...)
#   codevalidator_control.pxi     blocks, branches, br_table, return, calls
#   codevalidator_operands.pxi    drop, select, variables, tables, references
#   codevalidator_body.pxi        the loop over one body; the decode-only pass
#   codevalidator_messages.pxi    the spec's error texts for a CvErr
#   codevalidator.pxi             the Python side: module tables, workers, validate_functions
#
# Numeric, memory and SIMD instructions have fixed signatures: cv_ops[] types them all, and
# their immediates (memarg, lane, shuffle) are checked in codevalidator_immediates.pxi.

from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memset
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t

import array as _cv_array

from wasabi.binary import opcodes as _cv_opcodes
from wasabi.binary.types import type_name as _cv_type_name
from wasabi.errors import CompileError as _CvCompileError, ValidationError as _CvValidationError


cdef enum:
    # value type codes of wasabi.binary.types, plus the validator's own pseudo types
    CV_I32 = 0x7F
    CV_I64 = 0x7E
    CV_F32 = 0x7D
    CV_F64 = 0x7C
    CV_V128 = 0x7B
    CV_FUNCREF = 0x70
    CV_EXTERNREF = 0x6F
    CV_UNKNOWN = 0x00       # the bottom type, popped from the polymorphic stack of dead code
    CV_NOTHING = 0x01       # in error reports: the stack had no value to pop
    CV_ANY = 0x02           # in error reports: any value was expected

    # the op table: one-byte opcodes at 0..255, 0xFC n at 256+n, 0xFD n at 288+n
    CV_FC_BASE = 256
    CV_FC_COUNT = 32
    CV_FD_BASE = 288
    CV_FD_COUNT = 256
    CV_NUM_OPS = 544
    CV_OP_REF_FUNC = 0xD2   # the one generic instruction with a check of its own (C.refs)

    # control frame kinds
    CV_F_FUNC = 0
    CV_F_BLOCK = 1
    CV_F_LOOP = 2
    CV_F_IF = 3
    CV_F_ELSE = 4

    # immediate kinds (names as in opcodes.IMMEDIATE_KINDS)
    CV_IMM_NONE = 0
    CV_IMM_BLOCKTYPE
    CV_IMM_LABEL
    CV_IMM_BR_TABLE
    CV_IMM_FUNC
    CV_IMM_CALL_INDIRECT
    CV_IMM_LOCAL
    CV_IMM_GLOBAL
    CV_IMM_TABLE
    CV_IMM_TWO_TABLES
    CV_IMM_ELEM_AND_TABLE
    CV_IMM_ELEM
    CV_IMM_DATA
    CV_IMM_DATA_AND_ZERO
    CV_IMM_ZERO_BYTE
    CV_IMM_TWO_ZERO_BYTES
    CV_IMM_MEMARG
    CV_IMM_MEMARG_LANE
    CV_IMM_LANE
    CV_IMM_I32
    CV_IMM_I64
    CV_IMM_F32
    CV_IMM_F64
    CV_IMM_V128
    CV_IMM_SHUFFLE
    CV_IMM_REFTYPE
    CV_IMM_SELECT_TYPES

    # handlers of the special instructions (0 = the generic fixed-signature path)
    CV_S_GENERIC = 0
    CV_S_UNREACHABLE
    CV_S_BLOCK
    CV_S_LOOP
    CV_S_IF
    CV_S_ELSE
    CV_S_END
    CV_S_BR
    CV_S_BR_IF
    CV_S_BR_TABLE
    CV_S_RETURN
    CV_S_CALL
    CV_S_CALL_INDIRECT
    CV_S_DROP
    CV_S_SELECT
    CV_S_SELECT_T
    CV_S_LOCAL_GET
    CV_S_LOCAL_SET
    CV_S_LOCAL_TEE
    CV_S_GLOBAL_GET
    CV_S_GLOBAL_SET
    CV_S_TABLE_GET
    CV_S_TABLE_SET
    CV_S_TABLE_GROW
    CV_S_TABLE_FILL
    CV_S_REF_NULL
    CV_S_REF_IS_NULL

    # error codes: validation errors (ValidationError) ...
    CV_OK = 0
    CV_E_TYPE               # expected, found
    CV_E_EXTRA_VALUES       # index = how many values are left over at the end of a block
    CV_E_IF_WITHOUT_ELSE    # `if` without else whose params differ from its results
    CV_E_BR_TABLE_ARITY     # index = the label whose arity differs from the default's
    CV_E_SELECT_OPERANDS    # expected, found = the two operands of an untyped select
    CV_E_NOT_REF            # found = the non-reference operand of ref.is_null
    CV_E_TABLE_NOT_FUNCREF  # index = the table of a call_indirect
    CV_E_ELEM_TYPES         # expected, found = the element types that must agree
    CV_E_UNKNOWN_LOCAL
    CV_E_UNKNOWN_LABEL
    CV_E_UNKNOWN_FUNC
    CV_E_UNKNOWN_TABLE
    CV_E_UNKNOWN_TYPE
    CV_E_UNKNOWN_MEMORY
    CV_E_UNKNOWN_GLOBAL
    CV_E_UNKNOWN_DATA
    CV_E_UNKNOWN_ELEM
    CV_E_LANE               # index = the lane, expected = the lane count
    CV_E_ALIGN              # index = the alignment given, expected = the natural one
    CV_E_IMMUTABLE          # index = the global
    CV_E_UNDECLARED_REF     # index = the function
    CV_E_SELECT_ARITY       # index = the number of types of a typed select
    CV_E_NO_MEMORY          # the validator could not allocate (MemoryError)
    # ... and malformed bytes (CompileError), from CV_MALFORMED on
    CV_MALFORMED = 100
    CV_M_LEB                # index = the leb.pxi error code
    CV_M_ILLEGAL_OPCODE     # expected = the prefix byte (0 for none), index = the code
    CV_M_ZERO_BYTE
    CV_M_END_EXPECTED
    CV_M_SIZE_MISMATCH
    CV_M_DATA_COUNT
    CV_M_ELSE
    CV_M_BLOCKTYPE
    CV_M_VALTYPE            # index = the byte
    CV_M_REFTYPE            # index = the byte

    # locals beyond this many are looked up by binary search over the (count, type) runs,
    # so that a function declaring billions of locals costs no memory
    CV_EXPANDED_LOCALS = 65536
    # an implementation limit on the operand stack: a body of calls to a many-result
    # function could otherwise ask for gigabytes (the spec sets no limit)
    CV_MAX_STACK = 1 << 27


cdef struct CvOpInfo:
    uint8_t valid
    uint8_t imm
    uint8_t special
    uint8_t nparams
    uint8_t params[3]
    uint8_t nresults
    uint8_t result
    uint8_t align           # natural alignment log2 (memarg kinds)
    uint8_t lanes           # lane count (lane kinds)


cdef struct CvFrame:
    Py_ssize_t height           # operand stack height below the frame's values
    const uint8_t* params
    const uint8_t* results
    uint32_t nparams
    uint32_t nresults
    uint8_t kind
    uint8_t unreachable


cdef struct CvErr:
    int code
    Py_ssize_t offset
    int op                  # cv_ops index of the instruction, or -1
    int expected
    int found
    int64_t index


cdef struct CvModule:
    # function types, flattened: type i has params type_vals[type_off[i] ...] then results
    uint8_t* type_vals
    uint32_t* type_off
    uint32_t* type_nparams
    uint32_t* type_nresults
    uint32_t ntypes
    uint32_t* func_types        # type index per function (imports first)
    uint32_t nfuncs
    uint8_t* table_types        # element type per table
    uint32_t ntables
    uint32_t nmems
    uint8_t* global_types
    uint8_t* global_mutable
    uint32_t nglobals
    uint8_t* elem_types
    uint32_t nelems
    int64_t data_count          # -1: no data count section
    uint8_t* refs               # 1 per function that ref.func may name


cdef struct CvState:
    # buffers reused across the bodies of a module
    uint8_t* vals
    Py_ssize_t vcap
    CvFrame* ctrls
    Py_ssize_t ccap
    # the checker's position, handed to the out-of-line handlers (the hot loop keeps it in
    # locals, whose addresses must not escape or the compiler keeps them in memory)
    Py_ssize_t sp
    Py_ssize_t nctrl
    # what the last instruction's immediates named (see cv_immediates)
    uint32_t a
    uint32_t b
    int t
    const uint8_t* bt_params
    const uint8_t* bt_results
    uint32_t bt_np
    uint32_t bt_nr
    uint8_t* local_types        # the first nexpanded locals, one type each
    Py_ssize_t ltcap
    uint64_t nexpanded
    uint64_t nlocals
    uint64_t* run_end           # locals as runs: run k covers [run_end[k-1], run_end[k])
    uint8_t* run_type
    Py_ssize_t nruns
    Py_ssize_t rcap


cdef CvOpInfo cv_ops[CV_NUM_OPS]
cdef uint8_t cv_single_type[256]    # cv_single_type[t] == t: a 1-element type list for blocks
cdef uint8_t cv_is_valtype[256]
cdef uint8_t cv_is_numvec[256]      # numeric, vector or unknown: what untyped select accepts
cdef list cv_op_names = [None] * CV_NUM_OPS

_CV_IMM_CODES = {
    "none": CV_IMM_NONE, "blocktype": CV_IMM_BLOCKTYPE, "label": CV_IMM_LABEL,
    "br_table": CV_IMM_BR_TABLE, "func": CV_IMM_FUNC, "call_indirect": CV_IMM_CALL_INDIRECT,
    "local": CV_IMM_LOCAL, "global": CV_IMM_GLOBAL, "table": CV_IMM_TABLE,
    "two_tables": CV_IMM_TWO_TABLES, "elem_and_table": CV_IMM_ELEM_AND_TABLE,
    "elem": CV_IMM_ELEM, "data": CV_IMM_DATA, "data_and_zero": CV_IMM_DATA_AND_ZERO,
    "zero_byte": CV_IMM_ZERO_BYTE, "two_zero_bytes": CV_IMM_TWO_ZERO_BYTES,
    "memarg": CV_IMM_MEMARG, "memarg_lane": CV_IMM_MEMARG_LANE, "lane": CV_IMM_LANE,
    "i32": CV_IMM_I32, "i64": CV_IMM_I64, "f32": CV_IMM_F32, "f64": CV_IMM_F64,
    "v128": CV_IMM_V128, "shuffle": CV_IMM_SHUFFLE, "reftype": CV_IMM_REFTYPE,
    "select_types": CV_IMM_SELECT_TYPES,
}

# the handler of each special instruction, by (name, immediate kind): the two `select`s
# share a name and differ by immediate
_CV_SPECIAL_CODES = {
    ("unreachable", "none"): CV_S_UNREACHABLE, ("block", "blocktype"): CV_S_BLOCK,
    ("loop", "blocktype"): CV_S_LOOP, ("if", "blocktype"): CV_S_IF, ("else", "none"): CV_S_ELSE,
    ("end", "none"): CV_S_END, ("br", "label"): CV_S_BR, ("br_if", "label"): CV_S_BR_IF,
    ("br_table", "br_table"): CV_S_BR_TABLE, ("return", "none"): CV_S_RETURN,
    ("call", "func"): CV_S_CALL, ("call_indirect", "call_indirect"): CV_S_CALL_INDIRECT,
    ("drop", "none"): CV_S_DROP, ("select", "none"): CV_S_SELECT,
    ("select", "select_types"): CV_S_SELECT_T, ("local.get", "local"): CV_S_LOCAL_GET,
    ("local.set", "local"): CV_S_LOCAL_SET, ("local.tee", "local"): CV_S_LOCAL_TEE,
    ("global.get", "global"): CV_S_GLOBAL_GET, ("global.set", "global"): CV_S_GLOBAL_SET,
    ("table.get", "table"): CV_S_TABLE_GET, ("table.set", "table"): CV_S_TABLE_SET,
    ("table.grow", "table"): CV_S_TABLE_GROW, ("table.fill", "table"): CV_S_TABLE_FILL,
    ("ref.null", "reftype"): CV_S_REF_NULL, ("ref.is_null", "none"): CV_S_REF_IS_NULL,
}



cdef int cv_op_index(prefix, int code) except -1:
    if prefix is None:
        return code
    if prefix == 0xFC and code < CV_FC_COUNT:
        return CV_FC_BASE + code
    if prefix == 0xFD and code < CV_FD_COUNT:
        return CV_FD_BASE + code
    raise ValueError(f"opcode {prefix:#x} {code} does not fit the validator's table")


cdef void cv_build_tables() except *:
    """Fill cv_ops from opcodes.OPCODES (the single source of truth)."""
    cdef int i, k
    cdef CvOpInfo* info
    memset(cv_ops, 0, sizeof(cv_ops))
    for i in range(256):
        cv_single_type[i] = i
        cv_is_valtype[i] = 0
        cv_is_numvec[i] = 0
    for t in (CV_I32, CV_I64, CV_F32, CV_F64, CV_V128, CV_FUNCREF, CV_EXTERNREF):
        cv_is_valtype[t] = 1
    for t in (CV_I32, CV_I64, CV_F32, CV_F64, CV_V128, CV_UNKNOWN):
        cv_is_numvec[t] = 1
    for op in _cv_opcodes.OPCODES:
        i = cv_op_index(op.prefix, op.code)
        info = &cv_ops[i]
        info.valid = 1
        info.imm = _CV_IMM_CODES[op.imm]
        info.align = op.align
        info.lanes = op.lanes
        cv_op_names[i] = op.name
        if op.special:
            info.special = _CV_SPECIAL_CODES[(op.name, op.imm)]
        else:
            info.special = CV_S_GENERIC
            info.nparams = len(op.params)
            for k in range(info.nparams):
                info.params[k] = op.params[k]
            info.nresults = len(op.results)
            if op.results:
                info.result = op.results[0]


cv_build_tables()
