"""Fixed-width SIMD (0xFD), part 2: lane arithmetic and conversions.

Values and views as in simd.py. The generic LLVM operations and intrinsics used
here are exact for wasm: wrapping add/sub/mul, llvm.{s,u}{add,sub}.sat,
llvm.{s,u}{min,max}, llvm.abs (INT_MIN stays INT_MIN), llvm.ctpop, shifts with the
count masked to the lane width, roundeven for nearest. Widening, pairwise and dot
products are sext/zext plus shufflevector (x86 selects pmovsx, pmaddwd, pmullw...
from these shapes).
Saturating float-to-int truncation clamps, then converts (see _trunc_sat).

Floats: no fast-math flags. A literal operand LLVM could fold with a NaN-unsafe
identity is made opaque (simd.float_operand). min/max are llvm.minimum/maximum
(-0 < +0) with NaN lanes replaced by a + b, a quiet NaN, as the scalar emitters do;
pmin/pmax are the spec's compare-and-select, which keeps the operand bits exactly.
"""
import struct as _struct

from .numeric import call_intrinsic, is_literal
from .simd import (LANE_BITS, SHAPES, WIDER, float_operand, intrinsic_suffix,
                   lanes_of, pop_view, push_vector, shuffle, splat, splat_bits, splat_literal,
                   vec, vector_literal, view)


def _intrinsic(t, name, vty, operands, extra=""):
    """Call llvm.<name>.<suffix of vty> on vector operands of type vty."""
    full = f"{name}.{intrinsic_suffix(vty)}"
    params = [vty] * len(operands) + ([extra.split()[0]] if extra else [])
    args = ", ".join(f"{vty} {v}" for v in operands) + (f", {extra}" if extra else "")
    return call_intrinsic(t, full, vty, params, args)


def _half(t, vty, value, high):
    """The low or high half of the lanes of `value`."""
    _, n = lanes_of(vty)
    start = n // 2 if high else 0
    return shuffle(t, vty, value, "poison", range(start, start + n // 2))


def _pairwise_sum(t, vty, value):
    """Even lanes + odd lanes: n lanes -> n/2 lanes."""
    lane, n = lanes_of(vty)
    even = shuffle(t, vty, value, "poison", range(0, n, 2))
    odd = shuffle(t, vty, value, "poison", range(1, n, 2))
    return t.inst(f"add {vec(lane, n // 2)} {even}, {odd}")


# -- integer lanes --------------------------------------------------------------------

def _int_binary(vty, instr):
    def h(t, imm, op):
        b = pop_view(t, vty)
        a = pop_view(t, vty)
        push_vector(t, t.inst(f"{instr} {vty} {a}, {b}"), vty)
    return h


def _int_binary_intrinsic(vty, name):
    def h(t, imm, op):
        b = pop_view(t, vty)
        a = pop_view(t, vty)
        push_vector(t, _intrinsic(t, name, vty, (a, b)), vty)
    return h


def _int_neg(vty):
    def h(t, imm, op):
        push_vector(t, t.inst(f"sub {vty} zeroinitializer, {pop_view(t, vty)}"), vty)
    return h


def _int_abs(vty):
    def h(t, imm, op):   # i1 false: abs(INT_MIN) is INT_MIN, not poison
        push_vector(t, _intrinsic(t, "abs", vty, (pop_view(t, vty),), "i1 false"), vty)
    return h


def _popcnt(vty):
    def h(t, imm, op):
        push_vector(t, _intrinsic(t, "ctpop", vty, (pop_view(t, vty),)), vty)
    return h


def _shift(vty, instr):
    lane, n = lanes_of(vty)
    width = LANE_BITS[lane]

    def h(t, imm, op):
        count = t.pop_value()
        value = pop_view(t, vty)
        if is_literal(count):
            amount = splat_literal(vty, int(count) & (width - 1))
        else:
            count = t.inst(f"and i32 {count}, {width - 1}")
            if width < 32:
                count = t.inst(f"trunc i32 {count} to {lane}")
            elif width > 32:
                count = t.inst(f"zext i32 {count} to {lane}")
            amount = splat(t, vty, count)
        push_vector(t, t.inst(f"{instr} {vty} {value}, {amount}"), vty)
    return h


def _all_true(vty):
    _, n = lanes_of(vty)

    def h(t, imm, op):
        nonzero = t.inst(f"icmp ne {vty} {pop_view(t, vty)}, zeroinitializer")
        bits = t.inst(f"bitcast <{n} x i1> {nonzero} to i{n}")
        t.push_bool(t.inst(f"icmp eq i{n} {bits}, -1"))
    return h


def _bitmask(vty):
    _, n = lanes_of(vty)

    def h(t, imm, op):
        negative = t.inst(f"icmp slt {vty} {pop_view(t, vty)}, zeroinitializer")
        bits = t.inst(f"bitcast <{n} x i1> {negative} to i{n}")
        t.push(t.inst(f"zext i{n} {bits} to i32"), "i32")
    return h


def _avgr_u(vty):
    """(a + b + 1) >> 1 without overflow, in lanes twice as wide (pavgb/pavgw)."""
    lane, n = lanes_of(vty)
    wide = vec(WIDER[lane], n)

    def h(t, imm, op):
        b = t.inst(f"zext {vty} {pop_view(t, vty)} to {wide}")
        a = t.inst(f"zext {vty} {pop_view(t, vty)} to {wide}")
        total = t.inst(f"add {wide} {a}, {b}")
        rounded = t.inst(f"add {wide} {total}, {splat_literal(wide, 1)}")
        half = t.inst(f"lshr {wide} {rounded}, {splat_literal(wide, 1)}")
        push_vector(t, t.inst(f"trunc {wide} {half} to {vty}"), vty)
    return h


I16X8, I32X4 = vec("i16", 8), vec("i32", 4)
I32X8 = vec("i32", 8)


def q15mulr_sat_s(t, imm, op):
    """(a * b + 0x4000) >> 15 per lane, saturated; only -32768 * -32768 overflows."""
    b = t.inst(f"sext {I16X8} {pop_view(t, I16X8)} to {I32X8}")
    a = t.inst(f"sext {I16X8} {pop_view(t, I16X8)} to {I32X8}")
    product = t.inst(f"mul nsw {I32X8} {a}, {b}")
    rounded = t.inst(f"add nsw {I32X8} {product}, {splat_literal(I32X8, 0x4000)}")
    shifted = t.inst(f"ashr {I32X8} {rounded}, {splat_literal(I32X8, 15)}")
    clamped = _intrinsic(t, "smin", I32X8, (shifted, splat_literal(I32X8, 0x7FFF)))
    push_vector(t, t.inst(f"trunc {I32X8} {clamped} to {I16X8}"), I16X8)


def i32x4_dot_i16x8_s(t, imm, op):
    """Products of signed 16-bit lanes summed in pairs (pmaddwd); the one overflowing
    sum, 2 * (-32768)^2, wraps as in wasm."""
    b = t.inst(f"sext {I16X8} {pop_view(t, I16X8)} to {I32X8}")
    a = t.inst(f"sext {I16X8} {pop_view(t, I16X8)} to {I32X8}")
    product = t.inst(f"mul nsw {I32X8} {a}, {b}")
    push_vector(t, _pairwise_sum(t, I32X8, product), I32X4)


def _extend(src, extend, high):
    lane, n = lanes_of(src)
    half, wide = vec(lane, n // 2), vec(WIDER[lane], n // 2)

    def h(t, imm, op):
        part = _half(t, src, pop_view(t, src), high)
        push_vector(t, t.inst(f"{extend} {half} {part} to {wide}"), wide)
    return h


def _extmul(src, extend, high):
    lane, n = lanes_of(src)
    half, wide = vec(lane, n // 2), vec(WIDER[lane], n // 2)

    def h(t, imm, op):
        b = t.inst(f"{extend} {half} {_half(t, src, pop_view(t, src), high)} to {wide}")
        a = t.inst(f"{extend} {half} {_half(t, src, pop_view(t, src), high)} to {wide}")
        push_vector(t, t.inst(f"mul {wide} {a}, {b}"), wide)
    return h


def _extadd_pairwise(src, extend):
    lane, n = lanes_of(src)
    wide = vec(WIDER[lane], n)

    def h(t, imm, op):
        extended = t.inst(f"{extend} {src} {pop_view(t, src)} to {wide}")
        push_vector(t, _pairwise_sum(t, wide, extended), vec(WIDER[lane], n // 2))
    return h


def _narrow(src, signed):
    """Both operands' lanes, clamped to the narrow lane's range (signed or unsigned),
    a's first (packsswb/packuswb...)."""
    lane, n = lanes_of(src)
    narrow_lane = {"i16": "i8", "i32": "i16"}[lane]
    bits = LANE_BITS[narrow_lane]
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    both, result = vec(lane, 2 * n), vec(narrow_lane, 2 * n)

    def h(t, imm, op):
        b = pop_view(t, src)
        a = pop_view(t, src)
        joined = shuffle(t, src, a, b, range(2 * n))
        raised = _intrinsic(t, "smax", both, (joined, splat_literal(both, low)))
        clamped = _intrinsic(t, "smin", both, (raised, splat_literal(both, high)))
        push_vector(t, t.inst(f"trunc {both} {clamped} to {result}"), result)
    return h


INT_BINARY = {"add": "add", "sub": "sub", "mul": "mul"}
INT_BINARY_INTRINSICS = {"add_sat_s": "sadd.sat", "add_sat_u": "uadd.sat",
                         "sub_sat_s": "ssub.sat", "sub_sat_u": "usub.sat",
                         "min_s": "smin", "min_u": "umin", "max_s": "smax", "max_u": "umax"}
SHIFTS = {"shl": "shl", "shr_s": "ashr", "shr_u": "lshr"}
EXTEND = {"s": "sext", "u": "zext"}


def _widening_handler(shape, base):
    """extend_{low,high}_*, extmul_{low,high}_*, extadd_pairwise_*, narrow_*."""
    parts = base.split("_")
    sign = parts[-1]
    if base.startswith("narrow_"):
        return _narrow(vec(*SHAPES[parts[1]]), sign == "s")
    if base.startswith("extadd_pairwise_"):
        return _extadd_pairwise(vec(*SHAPES[parts[2]]), EXTEND[sign])
    if parts[0] in ("extend", "extmul"):
        src = vec(*SHAPES[parts[2]])
        factory = _extend if parts[0] == "extend" else _extmul
        return factory(src, EXTEND[sign], parts[1] == "high")
    return None


def _int_handler(shape, base):
    vty = vec(*SHAPES[shape])
    if base in INT_BINARY:
        return _int_binary(vty, INT_BINARY[base])
    if base in INT_BINARY_INTRINSICS:
        return _int_binary_intrinsic(vty, INT_BINARY_INTRINSICS[base])
    if base in SHIFTS:
        return _shift(vty, SHIFTS[base])
    simple = {"neg": _int_neg, "abs": _int_abs, "popcnt": _popcnt, "all_true": _all_true,
              "bitmask": _bitmask, "avgr_u": _avgr_u}
    if base in simple:
        return simple[base](vty)
    if shape == "i16x8" and base == "q15mulr_sat_s":
        return q15mulr_sat_s
    if shape == "i32x4" and base == "dot_i16x8_s":
        return i32x4_dot_i16x8_s
    return _widening_handler(shape, base)


# -- float lanes ----------------------------------------------------------------------

def _float_binary(vty, instr):
    def h(t, imm, op):
        b = float_operand(t, vty)
        a = float_operand(t, vty)
        push_vector(t, t.inst(f"{instr} {vty} {a}, {b}"), vty)
    return h


def _float_unary(vty, intrinsic):
    def h(t, imm, op):
        push_vector(t, _intrinsic(t, intrinsic, vty, (float_operand(t, vty),)), vty)
    return h


def _float_neg(vty):
    def h(t, imm, op):     # a sign flip: exact for NaNs too
        push_vector(t, t.inst(f"fneg {vty} {pop_view(t, vty)}"), vty)
    return h


def _min_max(vty, intrinsic):
    _, n = lanes_of(vty)

    def h(t, imm, op):
        b = float_operand(t, vty)
        a = float_operand(t, vty)
        result = _intrinsic(t, intrinsic, vty, (a, b))
        unordered = t.inst(f"fcmp uno {vty} {a}, {b}")
        quiet_nan = t.inst(f"fadd {vty} {a}, {b}")
        push_vector(t, t.inst(f"select <{n} x i1> {unordered}, {vty} {quiet_nan}, "
                              f"{vty} {result}"), vty)
    return h


def _pseudo_min_max(vty, is_max):
    """pmin = b < a ? b : a; pmax = a < b ? b : a (minps/maxps operand order)."""
    _, n = lanes_of(vty)

    def h(t, imm, op):
        b = pop_view(t, vty)
        a = pop_view(t, vty)
        less = t.inst(f"fcmp olt {vty} {a}, {b}" if is_max else f"fcmp olt {vty} {b}, {a}")
        push_vector(t, t.inst(f"select <{n} x i1> {less}, {vty} {b}, {vty} {a}"), vty)
    return h


FLOAT_BINARY = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}
FLOAT_UNARY = {"abs": "fabs", "sqrt": "sqrt", "ceil": "ceil", "floor": "floor",
               "trunc": "trunc", "nearest": "roundeven"}


def _float_handler(shape, base):
    vty = vec(*SHAPES[shape])
    if base in FLOAT_BINARY:
        return _float_binary(vty, FLOAT_BINARY[base])
    if base in FLOAT_UNARY:
        return _float_unary(vty, FLOAT_UNARY[base])
    if base == "neg":
        return _float_neg(vty)
    if base in ("min", "max"):
        return _min_max(vty, "minimum" if base == "min" else "maximum")
    if base in ("pmin", "pmax"):
        return _pseudo_min_max(vty, base == "pmax")
    return _conversion_handler(shape, base)


# -- conversions ----------------------------------------------------------------------

F32X4, F64X2 = vec("float", 4), vec("double", 2)
I32X2, F32X2 = vec("i32", 2), vec("float", 2)


def _convert_i32x4(signed):
    instr = "sitofp" if signed else "uitofp"

    def h(t, imm, op):
        push_vector(t, t.inst(f"{instr} {I32X4} {pop_view(t, I32X4)} to {F32X4}"), F32X4)
    return h


def _convert_low_i32x4(signed):
    instr = "sitofp" if signed else "uitofp"

    def h(t, imm, op):
        low = _half(t, I32X4, pop_view(t, I32X4), False)
        push_vector(t, t.inst(f"{instr} {I32X2} {low} to {F64X2}"), F64X2)
    return h


# (low, high, overflow): truncating a float in [low, high] fits i32 / u32 and both bounds
# are exact in the float type; from `overflow` up the result saturates to the maximum
# (f32 has no 2^31 - 1 or 2^32 - 1, so high is the float just below the maximum + 1)
TRUNC_SAT_RANGE = {("float", True): (-2.0 ** 31, 2.0 ** 31 - 128, 2.0 ** 31),
                   ("float", False): (0.0, 2.0 ** 32 - 256, 2.0 ** 32),
                   ("double", True): (-2.0 ** 31, 2.0 ** 31 - 1, None),
                   ("double", False): (0.0, 2.0 ** 32 - 1, None)}


def _float_splat(vty, value):
    lane, n = lanes_of(vty)
    bits = _struct.unpack("<I", _struct.pack("<f", value))[0] if lane == "float" else \
        _struct.unpack("<Q", _struct.pack("<d", value))[0]
    return vector_literal(vty, splat_bits(lane, n, bits))


def _clamp(t, vty, x, low, high):
    """x with NaN lanes made 0 and the others clamped to [low, high] (maxps/minps)."""
    _, n = lanes_of(vty)
    ordered = t.inst(f"fcmp ord {vty} {x}, zeroinitializer")
    x = t.inst(f"select <{n} x i1> {ordered}, {vty} {x}, {vty} zeroinitializer")
    below = t.inst(f"fcmp olt {vty} {x}, {low}")
    x = t.inst(f"select <{n} x i1> {below}, {vty} {low}, {vty} {x}")
    above = t.inst(f"fcmp ogt {vty} {x}, {high}")
    return t.inst(f"select <{n} x i1> {above}, {vty} {high}, {vty} {x}")


def _trunc_sat(src, signed):
    """Saturating truncation to i32 lanes: NaN lanes become 0, the others are clamped
    to a range where fptosi/fptoui cannot overflow, and lanes from `overflow` up take
    the maximum. (LLVM's llvm.fpto*i.sat vector forms are scalarized on x86; this is
    maxps/minps/cvttps2dq.) From f64x2 the two results fill the low lanes, the high
    lanes are 0."""
    lane, n = lanes_of(src)
    result = vec("i32", n)
    low, high, overflow = TRUNC_SAT_RANGE[(lane, signed)]
    low, high = _float_splat(src, low), _float_splat(src, high)
    maximum = splat_literal(result, 0x7FFFFFFF if signed else -1)

    def h(t, imm, op):
        x = pop_view(t, src)
        value = t.inst(f"{'fptosi' if signed else 'fptoui'} {src} "
                       f"{_clamp(t, src, x, low, high)} to {result}")
        if overflow is not None:
            over = t.inst(f"fcmp oge {src} {x}, {_float_splat(src, overflow)}")
            value = t.inst(f"select <{n} x i1> {over}, {result} {maximum}, {result} {value}")
        if n == 2:
            value = shuffle(t, result, value, "zeroinitializer", range(4))
        push_vector(t, value, I32X4)
    return h


def f32x4_demote_f64x2_zero(t, imm, op):
    value = t.pop_value()
    operand = view(t, value, F64X2)
    if value in t.promoted:
        # LLVM folds fptrunc(fpext x) to x, which would keep a signalling NaN
        operand = t.opaque(F64X2, operand)
    narrow = t.inst(f"fptrunc {F64X2} {operand} to {F32X2}")
    push_vector(t, shuffle(t, F32X2, narrow, "zeroinitializer", range(4)), F32X4)


def f64x2_promote_low_f32x4(t, imm, op):
    low = _half(t, F32X4, pop_view(t, F32X4), False)
    t.promoted.add(push_vector(t, t.inst(f"fpext {F32X2} {low} to {F64X2}"), F64X2))


def _conversion_handler(shape, base):
    table = {
        ("f32x4", "convert_i32x4_s"): lambda: _convert_i32x4(True),
        ("f32x4", "convert_i32x4_u"): lambda: _convert_i32x4(False),
        ("f64x2", "convert_low_i32x4_s"): lambda: _convert_low_i32x4(True),
        ("f64x2", "convert_low_i32x4_u"): lambda: _convert_low_i32x4(False),
        ("f32x4", "demote_f64x2_zero"): lambda: f32x4_demote_f64x2_zero,
        ("f64x2", "promote_low_f32x4"): lambda: f64x2_promote_low_f32x4,
    }
    make = table.get((shape, base))
    return make() if make else None


TRUNC_SAT = {"i32x4.trunc_sat_f32x4_s": (F32X4, True), "i32x4.trunc_sat_f32x4_u": (F32X4, False),
             "i32x4.trunc_sat_f64x2_s_zero": (F64X2, True),
             "i32x4.trunc_sat_f64x2_u_zero": (F64X2, False)}


def handlers_for(names):
    """Handlers of the lane arithmetic and conversion instructions among `names`."""
    out = {name: _trunc_sat(*args) for name, args in TRUNC_SAT.items()}
    for name in names:
        shape, _, base = name.partition(".")
        if shape not in SHAPES or name in out:
            continue
        is_int = shape[0] == "i"
        handler = _int_handler(shape, base) if is_int else _float_handler(shape, base)
        if handler is not None:
            out[name] = handler
    return out
