"""Constants, comparisons, integer and float arithmetic.

Integer division and remainder trap explicitly (LLVM leaves x/0 and INT_MIN/-1
undefined); shift counts are masked; rotations are funnel shifts. Float operations
carry no fast-math flags, so LLVM can neither fuse nor reassociate them; abs, neg
and copysign are LLVM's sign-bit operations (fabs/fneg/copysign never touch a NaN's
payload); min/max are llvm.minimum/maximum (-0 < +0, as in wasm) with NaNs quieted;
nearest is roundeven.
"""
from ...abi.traps import TRAP_INT_DIV_ZERO, TRAP_INT_OVERFLOW
from ..irtypes import BITS, f32_const, f64_const, i32_const, i64_const

LL = {"i32": "i32", "i64": "i64", "f32": "float", "f64": "double"}
SUFFIX = {"i32": "i32", "i64": "i64", "float": "f32", "double": "f64"}
INT_MIN = {"i32": str(-(1 << 31)), "i64": str(-(1 << 63))}

ICMP = {"eq": "eq", "ne": "ne", "lt_s": "slt", "lt_u": "ult", "gt_s": "sgt", "gt_u": "ugt",
        "le_s": "sle", "le_u": "ule", "ge_s": "sge", "ge_u": "uge"}
FCMP = {"eq": "oeq", "ne": "une", "lt": "olt", "gt": "ogt", "le": "ole", "ge": "oge"}
INT_PLAIN = {"add": "add", "sub": "sub", "mul": "mul", "and": "and", "or": "or", "xor": "xor"}
SHIFTS = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}
FLOAT_PLAIN = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}
MIN_MAX = {"min": "minimum", "max": "maximum"}
FLOAT_UNARY_INTRINSICS = {"abs": "fabs", "ceil": "ceil", "floor": "floor", "trunc": "trunc",
                          "nearest": "roundeven", "sqrt": "sqrt"}


def is_literal(value):
    return value[0] != "%"


def call_intrinsic(t, name, ret, params, args):
    """Call llvm.<name> (declared on first use); args is 'ty a, ty b'."""
    t.m.declare_intrinsic(f"declare {ret} @llvm.{name}({', '.join(params)})")
    return t.inst(f"call {ret} @llvm.{name}({args})")


# -- constants ------------------------------------------------------------------------

def i32_const_(t, value, op):
    t.stack.append((i32_const(value), "i32"))


def i64_const_(t, value, op):
    t.push(i64_const(value), "i64")


def f32_const_(t, bits, op):
    t.push(f32_const(bits), "float")


def f64_const_(t, bits, op):
    t.push(f64_const(bits), "double")


# -- factories: one handler per opcode name ----------------------------------------

def _eqz(ty):
    def h(t, imm, op):
        value = t.pop_value()
        i1 = t.i1.get(value)
        if i1 is not None:          # the eqz of a comparison: its i1 negated (no zext, cmp)
            t.push_bool(t.inst(f"xor i1 {i1}, true"))
            return
        t.push_bool(t.inst(f"icmp eq {ty} {value}, 0"))
    return h


def _compare(ty, text):
    def h(t, imm, op):
        stack = t.stack                 # (the stack directly: these are the commonest)
        b = stack.pop()[0]
        a = stack.pop()[0]
        t.push_bool(t.inst(f"{text} {ty} {a}, {b}"))
    return h


def _int_plain(ty, instr):
    def h(t, imm, op):
        stack = t.stack
        b = stack.pop()[0]
        a = stack.pop()[0]
        stack.append((t.inst(f"{instr} {ty} {a}, {b}"), ty))
    return h


def _shift(ty, instr):
    mask = BITS[ty] - 1

    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        b = str(int(b) & mask) if is_literal(b) else t.inst(f"and {ty} {b}, {mask}")
        t.push(t.inst(f"{instr} {ty} {a}, {b}"), ty)
    return h


def _rotate(ty, intrinsic):
    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        name = f"{intrinsic}.{ty}"
        t.push(call_intrinsic(t, name, ty, (ty, ty, ty), f"{ty} {a}, {ty} {a}, {ty} {b}"), ty)
    return h


def _bit_count(ty, intrinsic):
    def h(t, imm, op):
        a = t.pop_value()
        if intrinsic == "ctpop":
            value = call_intrinsic(t, f"ctpop.{ty}", ty, (ty,), f"{ty} {a}")
        else:   # is_zero_poison = false: clz(0) = ctz(0) = bit width, as in wasm
            value = call_intrinsic(t, f"{intrinsic}.{ty}", ty, (ty, "i1"), f"{ty} {a}, i1 false")
        t.push(value, ty)
    return h


def _check_divisor(t, ty, b):
    if not is_literal(b) or int(b) == 0:
        t.trap_if(t.inst(f"icmp eq {ty} {b}, 0"), TRAP_INT_DIV_ZERO)


def _div_s(ty):
    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        _check_divisor(t, ty, b)
        if not is_literal(b) or int(b) == -1:
            is_min = t.inst(f"icmp eq {ty} {a}, {INT_MIN[ty]}")
            is_neg1 = t.inst(f"icmp eq {ty} {b}, -1")
            t.trap_if(t.inst(f"and i1 {is_min}, {is_neg1}"), TRAP_INT_OVERFLOW)
        t.push(t.inst(f"sdiv {ty} {a}, {b}"), ty)
    return h


def _rem_s(ty):
    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        _check_divisor(t, ty, b)
        if not is_literal(b) or int(b) == -1:
            # INT_MIN rem -1 is 0 in wasm but overflows in LLVM: x rem 1 == x rem -1 == 0
            is_neg1 = t.inst(f"icmp eq {ty} {b}, -1")
            b = t.inst(f"select i1 {is_neg1}, {ty} 1, {ty} {b}")
        t.push(t.inst(f"srem {ty} {a}, {b}"), ty)
    return h


def _div_u(ty, instr):
    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        _check_divisor(t, ty, b)
        t.push(t.inst(f"{instr} {ty} {a}, {b}"), ty)
    return h


# +0, -0, +1, -1 as LLVM float literals: the operands of LLVM's identity folds
FOLDABLE_LITERALS = {"0x0000000000000000", "0x8000000000000000",
                     "0x3FF0000000000000", "0xBFF0000000000000"}


def _is_nan_literal(value):
    bits = int(value, 16)
    return (bits >> 52) & 0x7FF == 0x7FF and bits & 0xFFFFFFFFFFFFF


def _unfoldable(t, ty, value):
    """A literal operand LLVM would fold away with a NaN-unsafe identity, made opaque."""
    if is_literal(value) and (value in FOLDABLE_LITERALS or _is_nan_literal(value)):
        return t.opaque(ty, value)
    return value


def _float_plain(ty, instr):
    def h(t, imm, op):
        b = _unfoldable(t, ty, t.pop_value())
        a = _unfoldable(t, ty, t.pop_value())
        t.push(t.inst(f"{instr} {ty} {a}, {b}"), ty)
    return h


def _float_binary_intrinsic(ty, intrinsic):
    name = f"{intrinsic}.{SUFFIX[ty]}"

    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        t.push(call_intrinsic(t, name, ty, (ty, ty), f"{ty} {a}, {ty} {b}"), ty)
    return h


def _min_max(ty, intrinsic):
    """llvm.minimum/maximum pass a NaN operand through unchanged (x86 lowering), but wasm
    wants an arithmetic (quiet) NaN: when either operand is NaN, return a + b instead,
    which is a quiet NaN."""
    name = f"{intrinsic}.{SUFFIX[ty]}"

    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        result = call_intrinsic(t, name, ty, (ty, ty), f"{ty} {a}, {ty} {b}")
        unordered = t.inst(f"fcmp uno {ty} {a}, {b}")
        quiet_nan = t.inst(f"fadd {ty} {a}, {b}")
        t.push(t.inst(f"select i1 {unordered}, {ty} {quiet_nan}, {ty} {result}"), ty)
    return h


def _float_unary_intrinsic(ty, intrinsic):
    name = f"{intrinsic}.{SUFFIX[ty]}"

    def h(t, imm, op):
        t.push(call_intrinsic(t, name, ty, (ty,), f"{ty} {t.pop_value()}"), ty)
    return h


def _fneg(ty):
    def h(t, imm, op):
        t.push(t.inst(f"fneg {ty} {t.pop_value()}"), ty)
    return h


def _int_handler(ty, base):
    if base == "eqz":
        return _eqz(ty)
    if base in ICMP:
        return _compare(ty, f"icmp {ICMP[base]}")
    if base in INT_PLAIN:
        return _int_plain(ty, INT_PLAIN[base])
    if base in SHIFTS:
        return _shift(ty, SHIFTS[base])
    if base in ("rotl", "rotr"):
        return _rotate(ty, "fshl" if base == "rotl" else "fshr")
    if base in ("clz", "ctz", "popcnt"):
        return _bit_count(ty, {"clz": "ctlz", "ctz": "cttz", "popcnt": "ctpop"}[base])
    if base == "div_s":
        return _div_s(ty)
    if base == "rem_s":
        return _rem_s(ty)
    if base in ("div_u", "rem_u"):
        return _div_u(ty, "udiv" if base == "div_u" else "urem")
    return None


def _float_handler(ty, base):
    if base in FCMP:
        return _compare(ty, f"fcmp {FCMP[base]}")
    if base in FLOAT_PLAIN:
        return _float_plain(ty, FLOAT_PLAIN[base])
    if base in MIN_MAX:
        return _min_max(ty, MIN_MAX[base])
    if base == "copysign":
        return _float_binary_intrinsic(ty, "copysign")
    if base in FLOAT_UNARY_INTRINSICS:
        return _float_unary_intrinsic(ty, FLOAT_UNARY_INTRINSICS[base])
    if base == "neg":
        return _fneg(ty)
    return None


def handlers_for(names):
    """Handlers for every numeric opcode name among `names` (from the opcode table)."""
    out = {"i32.const": i32_const_, "i64.const": i64_const_,
           "f32.const": f32_const_, "f64.const": f64_const_}
    for name in names:
        prefix, _, base = name.partition(".")
        if prefix not in LL or name in out:
            continue
        ty = LL[prefix]
        handler = _int_handler(ty, base) if ty in ("i32", "i64") else _float_handler(ty, base)
        if handler is not None:
            out[name] = handler
    return out
