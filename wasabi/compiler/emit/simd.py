"""Fixed-width SIMD (0xFD), part 1: v128 values, memory, constants, lanes, shuffles,
bitwise operations and comparisons. Lane arithmetic and conversions are in simd_arith.py.

A v128 is <2 x i64> wherever it crosses an instruction: on the operand stack, in
locals, globals, phis, params and results (the ABI says <2 x i64> at call
boundaries). An instruction views its operands as the vector type of its shape
(<16 x i8>, <4 x float>, ...) through a bitcast, computes there and bitcasts the
result back; bitcasts between vector types are free in machine code. The translator
remembers, for each v128 result, the lane-typed value it was cast from
(`vector_views`), so a chain of operations in one shape casts nothing in between
(this keeps T0 code, which no IR pass cleans up, short). Only that direction is
remembered: the source of a cast dominates every use of its result, while a cast
made from a value in one branch would not dominate uses after the branch.

v128.const and splats of literals stay literals (`<i64 lo, i64 hi>`), converted to
each shape's constant on use, so LLVM sees them and the float emitters can tell a
NaN-unsafe literal operand (see numeric._unfoldable).
"""
import functools as _functools
import platform as _platform
import re as _re
import struct as _struct

from ..irtypes import f32_const, f64_const
from .memory import effective_pointer, load, store
from .numeric import FOLDABLE_LITERALS, ICMP, _is_nan_literal, call_intrinsic, is_literal

V128 = "<2 x i64>"
# shape -> (lane type, lane count)
SHAPES = {"i8x16": ("i8", 16), "i16x8": ("i16", 8), "i32x4": ("i32", 4), "i64x2": ("i64", 2),
          "f32x4": ("float", 4), "f64x2": ("double", 2)}
LANE_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "float": 32, "double": 64}
INT_LANE = {"i8": "i8", "i16": "i16", "i32": "i32", "i64": "i64", "float": "i32", "double": "i64"}
# the wasm operand type of a lane value (i8/i16 lanes travel as i32)
SCALAR = {"i8": "i32", "i16": "i32", "i32": "i32", "i64": "i64", "float": "float",
          "double": "double"}
FCMP = {"eq": "oeq", "ne": "une", "lt": "olt", "gt": "ogt", "le": "ole", "ge": "oge"}
MASK64 = (1 << 64) - 1

# pshufb (SSSE3) zeroes a lane whose index has its top bit set: the x86 swizzle
X86 = _platform.machine().lower() in ("x86_64", "amd64")


def vec(lane, n):
    return f"<{n} x {lane}>"


def shape_type(shape):
    return vec(*SHAPES[shape])


@_functools.lru_cache(maxsize=None)
def lanes_of(vty):
    """'<4 x float>' -> ('float', 4)."""
    count, _, lane = vty[1:-1].partition(" x ")
    return lane, int(count)


def intrinsic_suffix(vty):
    """'<4 x float>' -> 'v4f32' (the overload suffix of LLVM's vector intrinsics)."""
    lane, n = lanes_of(vty)
    return f"v{n}" + {"float": "f32", "double": "f64"}.get(lane, lane)


# -- literals -----------------------------------------------------------------------

_V128_LITERAL = _re.compile(r"<i64 (-?\d+), i64 (-?\d+)>$")
_FLOAT_HEX = _re.compile(r"0x[0-9A-F]{16}")


def literal_bits(value):
    """The 128 bits of a v128 literal, or None for an SSA value."""
    if value == "zeroinitializer":
        return 0
    match = _V128_LITERAL.match(value)
    if match is None:
        return None
    return (int(match[1]) & MASK64) | ((int(match[2]) & MASK64) << 64)


def lane_constant(lane, bits):
    """The LLVM constant of one lane from its raw bits."""
    if lane == "float":
        return f32_const(bits)
    if lane == "double":
        return f64_const(bits)
    width = LANE_BITS[lane]
    bits &= (1 << width) - 1
    return str(bits - (1 << width) if bits >> (width - 1) else bits)


def vector_literal(vty, bits):
    """The constant of vector type vty holding `bits` (lane 0 in the low bits)."""
    if bits == 0:
        return "zeroinitializer"
    lane, n = lanes_of(vty)
    width = LANE_BITS[lane]
    mask = (1 << width) - 1
    return "<" + ", ".join(f"{lane} {lane_constant(lane, (bits >> (i * width)) & mask)}"
                           for i in range(n)) + ">"


def splat_bits(lane, n, bits):
    width = LANE_BITS[lane]
    bits &= (1 << width) - 1
    return sum(bits << (i * width) for i in range(n))


def splat_literal(vty, value):
    """The constant vty with every lane equal to the integer `value`."""
    lane, n = lanes_of(vty)
    return vector_literal(vty, splat_bits(lane, n, value))


def scalar_literal_bits(lane, text):
    """The raw lane bits of a scalar literal operand (decimal int or LLVM float hex)."""
    if lane not in ("float", "double"):
        return int(text)
    bits = int(text, 16)
    if lane == "double":
        return bits
    # f32 literals are written as the equal double; NaN payloads keep their top bits
    if (bits >> 52) & 0x7FF == 0x7FF:
        return ((bits >> 63) << 31) | (0xFF << 23) | ((bits >> 29) & 0x7FFFFF)
    value = _struct.unpack("<d", _struct.pack("<Q", bits))[0]
    return _struct.unpack("<I", _struct.pack("<f", value))[0]


def push_literal(t, bits):
    t.push(vector_literal(V128, bits & ((1 << 128) - 1)), V128)


def risky_float_literal(value):
    """True for a float vector literal with a lane LLVM may fold away NaN-unsafely
    (x+-0, x*1, x/1, ... or a NaN operand)."""
    if value == "zeroinitializer":
        return True
    return any(h in FOLDABLE_LITERALS or _is_nan_literal(h) for h in _FLOAT_HEX.findall(value))


# -- views and results ----------------------------------------------------------------

def view(t, value, vty):
    """The v128 `value` as vector type vty."""
    if vty == V128:
        return value
    bits = literal_bits(value)
    if bits is not None:
        return vector_literal(vty, bits)
    seen = t.vector_views.get(value)
    if seen is not None and seen[0] == vty:
        return seen[1]
    return t.inst(f"bitcast {V128} {value} to {vty}")


def pop_view(t, vty):
    return view(t, t.pop_value(), vty)


def float_operand(t, vty):
    """Pop a float vector operand, hidden from LLVM's folds when it is a risky literal."""
    value = pop_view(t, vty)
    if is_literal(value) and risky_float_literal(value):
        return t.opaque(vty, value)
    return value


def push_vector(t, value, vty):
    """Push `value` of vector type vty as a v128; returns the pushed name."""
    if vty == V128:
        t.push(value, V128)
        return value
    result = t.inst(f"bitcast {vty} {value} to {V128}")
    if not is_literal(value):
        t.vector_views[result] = (vty, value)
    t.push(result, V128)
    return result


def splat(t, vty, scalar):
    """A vector with every lane `scalar` (an SSA value of the lane type)."""
    lane, n = lanes_of(vty)
    one = t.inst(f"insertelement {vty} poison, {lane} {scalar}, i64 0")
    return t.inst(f"shufflevector {vty} {one}, {vty} poison, <{n} x i32> zeroinitializer")


def shuffle(t, vty, a, b, indices):
    """shufflevector of a and b (both vty) picking `indices`."""
    mask = ", ".join(f"i32 {i}" for i in indices)
    return t.inst(f"shufflevector {vty} {a}, {vty} {b}, <{len(indices)} x i32> <{mask}>")


def to_lane(t, lane, value):
    """An i32 operand narrowed to an i8/i16 lane (others pass unchanged)."""
    if lane not in ("i8", "i16"):
        return value
    if is_literal(value):
        return lane_constant(lane, int(value))
    return t.inst(f"trunc i32 {value} to {lane}")


# -- memory ---------------------------------------------------------------------------

def v128_load(t, memarg, op):
    push_vector(t, load(t, V128, effective_pointer(t, memarg[1], 16)), V128)


def v128_store(t, memarg, op):
    value = t.pop_value()
    store(t, V128, value, effective_pointer(t, memarg[1], 16))


WIDER = {"i8": "i16", "i16": "i32", "i32": "i64"}
# name -> (narrow lane, extension); 8 bytes become 64 bits of wider lanes
LOAD_EXTEND = {"v128.load8x8_s": ("i8", "sext"), "v128.load8x8_u": ("i8", "zext"),
               "v128.load16x4_s": ("i16", "sext"), "v128.load16x4_u": ("i16", "zext"),
               "v128.load32x2_s": ("i32", "sext"), "v128.load32x2_u": ("i32", "zext")}
LOAD_SPLAT = {"v128.load8_splat": "i8", "v128.load16_splat": "i16",
              "v128.load32_splat": "i32", "v128.load64_splat": "i64"}
LOAD_ZERO = {"v128.load32_zero": "i32", "v128.load64_zero": "i64"}
LANE_ACCESS = {"8": "i8", "16": "i16", "32": "i32", "64": "i64"}


def _load_extend(lane, extend):
    n = 64 // LANE_BITS[lane]
    narrow, wide = vec(lane, n), vec(WIDER[lane], n)

    def h(t, memarg, op):
        value = load(t, narrow, effective_pointer(t, memarg[1], 8))
        push_vector(t, t.inst(f"{extend} {narrow} {value} to {wide}"), wide)
    return h


def _load_scalar(t, memarg, lane):
    return load(t, lane, effective_pointer(t, memarg[1], LANE_BITS[lane] // 8))


def _load_splat(lane):
    vty = vec(lane, 128 // LANE_BITS[lane])

    def h(t, memarg, op):
        push_vector(t, splat(t, vty, _load_scalar(t, memarg, lane)), vty)
    return h


def _load_zero(lane):
    vty = vec(lane, 128 // LANE_BITS[lane])

    def h(t, memarg, op):
        value = _load_scalar(t, memarg, lane)
        push_vector(t, t.inst(f"insertelement {vty} zeroinitializer, {lane} {value}, i64 0"), vty)
    return h


def _load_lane(lane):
    vty = vec(lane, 128 // LANE_BITS[lane])

    def h(t, imm, op):
        memarg, index = imm
        vector = pop_view(t, vty)
        value = _load_scalar(t, memarg, lane)
        push_vector(t, t.inst(f"insertelement {vty} {vector}, {lane} {value}, i64 {index}"), vty)
    return h


def _store_lane(lane):
    vty = vec(lane, 128 // LANE_BITS[lane])

    def h(t, imm, op):
        memarg, index = imm
        vector = pop_view(t, vty)
        ptr = effective_pointer(t, memarg[1], LANE_BITS[lane] // 8)
        value = t.inst(f"extractelement {vty} {vector}, i64 {index}")
        store(t, lane, value, ptr)
    return h


def memory_handlers():
    out = {"v128.load": v128_load, "v128.store": v128_store}
    for name, (lane, extend) in LOAD_EXTEND.items():
        out[name] = _load_extend(lane, extend)
    for name, lane in LOAD_SPLAT.items():
        out[name] = _load_splat(lane)
    for name, lane in LOAD_ZERO.items():
        out[name] = _load_zero(lane)
    for bits, lane in LANE_ACCESS.items():
        out[f"v128.load{bits}_lane"] = _load_lane(lane)
        out[f"v128.store{bits}_lane"] = _store_lane(lane)
    return out


# -- constants, shuffles, lanes -------------------------------------------------------

I8X16 = vec("i8", 16)


def v128_const(t, bits, op):
    push_literal(t, bits)


def i8x16_shuffle(t, lane_bytes, op):
    b = pop_view(t, I8X16)
    a = pop_view(t, I8X16)
    indices = [(lane_bytes >> (8 * i)) & 0xFF for i in range(16)]
    push_vector(t, shuffle(t, I8X16, a, b, indices), I8X16)


def i8x16_swizzle(t, imm, op):
    indices = pop_view(t, I8X16)
    a = pop_view(t, I8X16)
    push_vector(t, (_swizzle_x86 if X86 else _swizzle_generic)(t, a, indices), I8X16)


def _swizzle_x86(t, a, indices):
    # indices 16..255 saturate to 0x80..0xFF (top bit set: pshufb gives 0); 0..15 keep
    # their low four bits
    spread = call_intrinsic(t, "uadd.sat.v16i8", I8X16, (I8X16, I8X16),
                            f"{I8X16} {indices}, {I8X16} {splat_literal(I8X16, 0x70)}")
    t.m.declare_intrinsic(f"declare {I8X16} @llvm.x86.ssse3.pshuf.b.128({I8X16}, {I8X16})")
    return t.inst(f"call {I8X16} @llvm.x86.ssse3.pshuf.b.128({I8X16} {a}, {I8X16} {spread})")


def _swizzle_generic(t, a, indices):
    result = "zeroinitializer"
    for lane in range(16):
        index = t.inst(f"extractelement {I8X16} {indices}, i64 {lane}")
        inside = t.inst(f"icmp ult i8 {index}, 16")
        wrapped = t.inst(f"and i8 {index}, 15")
        picked = t.inst(f"extractelement {I8X16} {a}, i8 {wrapped}")
        value = t.inst(f"select i1 {inside}, i8 {picked}, i8 0")
        result = t.inst(f"insertelement {I8X16} {result}, i8 {value}, i64 {lane}")
    return result


def _splat(shape):
    lane, n = SHAPES[shape]
    vty = vec(lane, n)

    def h(t, imm, op):
        value = t.pop_value()
        if is_literal(value):
            push_literal(t, splat_bits(lane, n, scalar_literal_bits(lane, value)))
            return
        push_vector(t, splat(t, vty, to_lane(t, lane, value)), vty)
    return h


def _extract_lane(shape, extend):
    lane, n = SHAPES[shape]
    vty = vec(lane, n)

    def h(t, index, op):
        value = t.inst(f"extractelement {vty} {pop_view(t, vty)}, i64 {index}")
        if extend:
            value = t.inst(f"{extend} {lane} {value} to i32")
        t.push(value, SCALAR[lane])
    return h


def _replace_lane(shape):
    lane, n = SHAPES[shape]
    vty = vec(lane, n)

    def h(t, index, op):
        value = to_lane(t, lane, t.pop_value())
        vector = pop_view(t, vty)
        push_vector(t, t.inst(f"insertelement {vty} {vector}, {lane} {value}, i64 {index}"), vty)
    return h


def lane_handlers():
    out = {"v128.const": v128_const, "i8x16.shuffle": i8x16_shuffle,
           "i8x16.swizzle": i8x16_swizzle}
    for shape, (lane, _) in SHAPES.items():
        out[f"{shape}.splat"] = _splat(shape)
        out[f"{shape}.replace_lane"] = _replace_lane(shape)
        if lane in ("i8", "i16"):
            out[f"{shape}.extract_lane_s"] = _extract_lane(shape, "sext")
            out[f"{shape}.extract_lane_u"] = _extract_lane(shape, "zext")
        else:
            out[f"{shape}.extract_lane"] = _extract_lane(shape, None)
    return out


# -- bitwise --------------------------------------------------------------------------

ALL_ONES = "<i64 -1, i64 -1>"


def v128_not(t, imm, op):
    t.push(t.inst(f"xor {V128} {t.pop_value()}, {ALL_ONES}"), V128)


def _bitwise(instr, invert_second):
    def h(t, imm, op):
        b = t.pop_value()
        a = t.pop_value()
        if invert_second:
            b = t.inst(f"xor {V128} {b}, {ALL_ONES}")
        t.push(t.inst(f"{instr} {V128} {a}, {b}"), V128)
    return h


def v128_bitselect(t, imm, op):
    mask = t.pop_value()
    b = t.pop_value()
    a = t.pop_value()
    chosen_a = t.inst(f"and {V128} {a}, {mask}")
    inverse = t.inst(f"xor {V128} {mask}, {ALL_ONES}")
    chosen_b = t.inst(f"and {V128} {b}, {inverse}")
    t.push(t.inst(f"or {V128} {chosen_a}, {chosen_b}"), V128)


def v128_any_true(t, imm, op):
    whole = t.inst(f"bitcast {V128} {t.pop_value()} to i128")
    t.push_bool(t.inst(f"icmp ne i128 {whole}, 0"))


def bitwise_handlers():
    return {"v128.not": v128_not, "v128.and": _bitwise("and", False),
            "v128.andnot": _bitwise("and", True), "v128.or": _bitwise("or", False),
            "v128.xor": _bitwise("xor", False), "v128.bitselect": v128_bitselect,
            "v128.any_true": v128_any_true}


# -- comparisons: all-ones lanes where true ------------------------------------------

def _compare(shape, instr):
    lane, n = SHAPES[shape]
    vty = vec(lane, n)
    mask_type = vec(INT_LANE[lane], n)

    def h(t, imm, op):
        b = pop_view(t, vty)
        a = pop_view(t, vty)
        truth = t.inst(f"{instr} {vty} {a}, {b}")
        push_vector(t, t.inst(f"sext <{n} x i1> {truth} to {mask_type}"), mask_type)
    return h


def compare_handlers(names):
    out = {}
    for name in names:
        shape, _, base = name.partition(".")
        if shape not in SHAPES:
            continue
        if shape[0] == "f" and base in FCMP:
            out[name] = _compare(shape, f"fcmp {FCMP[base]}")
        elif shape[0] == "i" and base in ICMP:
            out[name] = _compare(shape, f"icmp {ICMP[base]}")
    return out


def handlers_for(names):
    """Handlers of this module's SIMD instructions."""
    out = memory_handlers()
    out.update(lane_handlers())
    out.update(bitwise_handlers())
    out.update(compare_handlers(names))
    return out
