"""Constant expressions (spec 3.3.10, Wasm 2.0): global initialisers, element items and
segment offsets.

Only `t.const`, `v128.const`, `ref.null`, `ref.func` and `global.get` of an *imported
immutable* global are constant; the expression must leave exactly one value of the
expected type. The decoder keeps every instruction (see ConstExpr), so a non-constant one
is reported here as "constant expression required", as the spec tests expect.
"""
from ..binary.types import F32, F64, FUNCREF, I32, I64, V128, type_name
from ..errors import ValidationError

OP_GLOBAL_GET = 0x23
OP_REF_NULL = 0xD0
OP_REF_FUNC = 0xD2

# the value-producing constant opcodes whose type does not depend on the immediate
_CONST_TYPES = {0x41: I32, 0x42: I64, 0x43: F32, 0x44: F64, 0xFD0C: V128}


def const_expr_type_check(expr, expected, num_funcs, const_globals):
    """Raise ValidationError unless `expr` is constant and produces one `expected` value.

    num_funcs: size of the function index space (for ref.func);
    const_globals: the GlobalTypes a constant expression may read (the imported globals).
    """
    stack = []
    for op, imm in expr.instrs:
        t = _CONST_TYPES.get(op)
        if t is None:
            t = _special_instr_type(op, imm, expr.offset, num_funcs, const_globals)
        stack.append(t)
    if stack != [expected]:
        got = " ".join(type_name(t) for t in stack)
        raise ValidationError(f"type mismatch: constant expression must produce "
                              f"[{type_name(expected)}], got [{got}]", expr.offset)


def _special_instr_type(op, imm, offset, num_funcs, const_globals):
    if op == OP_REF_NULL:
        return imm
    if op == OP_REF_FUNC:
        if imm >= num_funcs:
            raise ValidationError(f"unknown function {imm}", offset)
        return FUNCREF
    if op == OP_GLOBAL_GET:
        if imm >= len(const_globals):
            raise ValidationError(f"unknown global {imm}", offset)
        gtype = const_globals[imm]
        if gtype.mutable:
            raise ValidationError(f"constant expression required: global {imm} is mutable",
                                  offset)
        return gtype.valtype
    raise ValidationError(f"constant expression required: opcode {op:#x} is not constant",
                          offset)


def is_plain_func_ref(expr, expected, num_funcs):
    """True for the common valid element item `ref.func x` with x in range (a fast path:
    large tables have tens of thousands of them)."""
    instrs = expr.instrs
    return (expected == FUNCREF and len(instrs) == 1 and instrs[0][0] == OP_REF_FUNC
            and instrs[0][1] < num_funcs)


def ref_func_indices(expr):
    """The function indices named by `ref.func` in `expr`."""
    return [imm for op, imm in expr.instrs if op == OP_REF_FUNC]
