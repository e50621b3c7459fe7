"""Differential tests: compiled code vs the wasmtime package on the same modules.

Floats travel as their bit patterns (the test functions reinterpret), so NaN
payloads and signed zeros are compared exactly; where wasm leaves a NaN's payload
open (arithmetic results) both sides must give a NaN, and ours a quiet one.
Traps must carry the same spec message.
"""
import itertools
import math
import struct

import pytest
import wasmtime

from test_codegen_harness import FakeInstance
from wasabi.errors import Trap

I32_EDGES = [0, 1, 2, 7, 31, 32, 33, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF,
             0xFFFFFFFE, 0xFFFFFFF9, 0x12345678, 0xDEADBEEF]
I64_EDGES = [0, 1, 2, 63, 64, 65, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
             0xFFFFFFFFFFFFFFFE, 0x0123456789ABCDEF, 0xFEDCBA9876543210, 0x80000000, 0xFFFFFFFF]
F32_EDGES = [0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3F000000, 0xBF000000,
             0x3FC00000, 0x40200000, 0xC0200000, 0x7F800000, 0xFF800000, 0x7FC00000,
             0xFFC00000, 0x7FA00000, 0x7FC00001, 0x00000001, 0x80000001, 0x7F7FFFFF,
             0x4F000000, 0xCF000000, 0x4F800000, 0x4F7FFFFF, 0x5F000000, 0xDF000000,
             0x5F800000, 0xCF000001, 0xBF7FFFFF, 0x42F6E979]
F64_EDGES = [0x0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000,
             0x3FE0000000000000, 0x3FF8000000000000, 0x4004000000000000, 0xC004000000000000,
             0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
             0x7FF4000000000000, 0x7FF8000000000001, 0x1, 0x8000000000000001,
             0x7FEFFFFFFFFFFFFF, 0x41E0000000000000, 0xC1E0000000000000, 0xC1E0000000200000,
             0xC1E00000001FFFFF, 0x41EFFFFFFFE00000, 0x41F0000000000000, 0x43E0000000000000,
             0xC3E0000000000000, 0x43F0000000000000, 0xBFEFFFFFFFFFFFFF, 0x405EDD2F1A9FBE77]
EDGES = {"i32": I32_EDGES, "i64": I64_EDGES, "f32": F32_EDGES, "f64": F64_EDGES}
BITS = {"i32": "i32", "i64": "i64", "f32": "i32", "f64": "i64"}
WIDTH = {"i32": 32, "i64": 64, "f32": 32, "f64": 64}

INT_BINARY = "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr".split()
INT_COMPARE = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split()
INT_UNARY = "clz ctz popcnt eqz".split()
FLOAT_BINARY = "add sub mul div min max copysign".split()
FLOAT_COMPARE = "eq ne lt gt le ge".split()
FLOAT_UNARY = "abs neg ceil floor trunc nearest sqrt".split()
# operations whose NaN results are bit-exact in wasm (sign-bit ops), the rest give any NaN
EXACT_NAN = {"abs", "neg", "copysign", "reinterpret", "select"}

CONVERSIONS = [  # (name, source, result)
    ("i32.wrap_i64", "i64", "i32"), ("i64.extend_i32_s", "i32", "i64"),
    ("i64.extend_i32_u", "i32", "i64"),
    ("i32.extend8_s", "i32", "i32"), ("i32.extend16_s", "i32", "i32"),
    ("i64.extend8_s", "i64", "i64"), ("i64.extend16_s", "i64", "i64"),
    ("i64.extend32_s", "i64", "i64"),
    *[(f"{d}.{k}_{s}_{u}", s, d) for d in ("i32", "i64") for s in ("f32", "f64")
      for k in ("trunc", "trunc_sat") for u in "su"],
    *[(f"{d}.convert_{s}_{u}", s, d) for d in ("f32", "f64") for s in ("i32", "i64")
      for u in "su"],
    ("f32.demote_f64", "f64", "f32"), ("f64.promote_f32", "f32", "f64"),
    ("i32.reinterpret_f32", "f32", "i32"), ("f32.reinterpret_i32", "i32", "f32"),
    ("i64.reinterpret_f64", "f64", "i64"), ("f64.reinterpret_i64", "i64", "f64"),
]


def _arg(ty, i):
    """Read parameter i as a value of `ty` (floats arrive as bits)."""
    get = f"(local.get {i})"
    return f"({ty}.reinterpret_{BITS[ty]} {get})" if ty[0] == "f" else get


def _result(ty, expr):
    return f"({BITS[ty]}.reinterpret_{ty} {expr})" if ty[0] == "f" else expr


def _func(name, params, result, body):
    plist = " ".join(BITS[p] for p in params)
    return (f'(func (export "{name}") (param {plist}) (result {BITS[result]}) '
            f'{_result(result, body)})')


def numeric_module(ty):
    funcs = []
    ops = INT_BINARY if ty[0] == "i" else FLOAT_BINARY
    for op in ops:
        funcs.append(_func(op, (ty, ty), ty, f"({ty}.{op} {_arg(ty, 0)} {_arg(ty, 1)})"))
    for op in (INT_COMPARE if ty[0] == "i" else FLOAT_COMPARE):
        funcs.append(_func(op, (ty, ty), "i32", f"({ty}.{op} {_arg(ty, 0)} {_arg(ty, 1)})"))
    for op in (INT_UNARY if ty[0] == "i" else FLOAT_UNARY):
        result = "i32" if op == "eqz" else ty
        funcs.append(_func(op, (ty,), result, f"({ty}.{op} {_arg(ty, 0)})"))
    return "(module " + "\n".join(funcs) + ")"


def conversion_module():
    funcs = [_func(name, (src,), dst, f"({name} {_arg(src, 0)})")
             for name, src, dst in CONVERSIONS]
    return "(module " + "\n".join(funcs) + ")"


class Reference:
    def __init__(self, wat):
        self.store = wasmtime.Store()
        module = wasmtime.Module(self.store.engine, wat)
        self.instance = wasmtime.Instance(self.store, module, [])
        self.exports = self.instance.exports(self.store)

    def call(self, name, *args):
        return self.exports[name](self.store, *args)


def _signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _outcome(call, name, args):
    try:
        return ("ok", call(name, *args))
    except Trap as exc:
        return ("trap", str(exc))
    except wasmtime.Trap as exc:
        return ("trap", str(exc))


def _is_nan(bits, ty):
    if ty == "f32":
        return (bits >> 23) & 0xFF == 0xFF and bits & 0x7FFFFF
    return (bits >> 52) & 0x7FF == 0x7FF and bits & 0xFFFFFFFFFFFFF


def _quiet(bits, ty):
    return bool(bits & (1 << (22 if ty == "f32" else 51)))


def assert_same(ours, theirs, result_ty, op, args):
    where = f"{op}{tuple(hex(a) for a in args)}"
    if theirs[0] == "trap":
        assert ours[0] == "trap" and ours[1] in theirs[1], f"{where}: {ours} vs {theirs}"
        return
    assert ours[0] == "ok", f"{where}: {ours} vs {theirs}"
    width = WIDTH[result_ty]
    mine, ref = ours[1] & ((1 << width) - 1), theirs[1] & ((1 << width) - 1)
    if result_ty[0] == "f" and op not in EXACT_NAN and _is_nan(ref, result_ty):
        assert _is_nan(mine, result_ty) and _quiet(mine, result_ty), f"{where}: {mine:#x}"
        return
    assert mine == ref, f"{where}: {mine:#x} vs {ref:#x}"


def run_differential(wat, cases, tier="T1"):
    ours = FakeInstance(wat, tier=tier)
    ref = Reference(wat)
    for name, param_types, result_ty, op in cases:
        for args in itertools.product(*(EDGES[p] for p in param_types)):
            ref_args = [_signed(a, WIDTH[p]) for a, p in zip(args, param_types)]
            assert_same(_outcome(ours.call, name, ref_args),
                        _outcome(ref.call, name, ref_args), result_ty, op, args)


@pytest.mark.parametrize("ty", ["i32", "i64", "f32", "f64"])
def test_numeric_ops_match_wasmtime(ty):
    cases = []
    binary = INT_BINARY if ty[0] == "i" else FLOAT_BINARY
    compare = INT_COMPARE if ty[0] == "i" else FLOAT_COMPARE
    unary = INT_UNARY if ty[0] == "i" else FLOAT_UNARY
    cases += [(op, (ty, ty), ty, op) for op in binary]
    cases += [(op, (ty, ty), "i32", op) for op in compare]
    cases += [(op, (ty,), "i32" if op == "eqz" else ty, op) for op in unary]
    run_differential(numeric_module(ty), cases)


def test_conversions_match_wasmtime():
    cases = [(name, (src,), dst, name.split(".")[1].split("_")[0])
             for name, src, dst in CONVERSIONS]
    run_differential(conversion_module(), cases)


@pytest.mark.parametrize("tier", ["T0", "O2"])
def test_other_tiers_match_wasmtime(tier):
    """A sample of the trickiest operations (traps, NaN rules) at the other tiers."""
    names = ["i32.trunc_f32_s", "i64.trunc_f64_u", "i32.trunc_sat_f64_s", "f32.demote_f64"]
    module = "(module " + "\n".join(
        [_func(n, (s,), d, f"({n} {_arg(s, 0)})") for n, s, d in CONVERSIONS if n in names]
        + [_func(op, ("i64", "i64"), "i64", f"(i64.{op} {_arg('i64', 0)} {_arg('i64', 1)})")
           for op in ("div_s", "rem_s", "rotl")]
        + [_func(op, ("f64", "f64"), "f64", f"(f64.{op} {_arg('f64', 0)} {_arg('f64', 1)})")
           for op in ("min", "max", "copysign")]) + ")"
    cases = [(n, (s,), d, "trunc") for n, s, d in CONVERSIONS if n in names]
    cases += [(op, ("i64", "i64"), "i64", op) for op in ("div_s", "rem_s", "rotl")]
    cases += [(op, ("f64", "f64"), "f64", op) for op in ("min", "max", "copysign")]
    run_differential(module, cases, tier=tier)


def wat_float(bits, ty):
    """The WAT literal of a float bit pattern (NaN payloads and -0 included)."""
    width, mant_bits = (32, 23) if ty == "f32" else (64, 52)
    sign = "-" if bits >> (width - 1) else ""
    mantissa = bits & ((1 << mant_bits) - 1)
    if _is_nan(bits, ty):
        return f"{sign}nan:0x{mantissa:x}"
    fmt = "<f" if ty == "f32" else "<d"
    value = struct.unpack(fmt, struct.pack("<I" if ty == "f32" else "<Q", bits))[0]
    if math.isinf(value):
        return f"{sign}inf"
    return value.hex() if value or not sign else "-0x0p+0"


@pytest.mark.parametrize("ty", ["f32", "f64"])
def test_float_constants_keep_their_bits(ty):
    """Constants (signalling NaNs, payloads, -0, subnormals) reach the result bit-exact."""
    funcs = [f'(func (export "c{i}") (result {BITS[ty]}) '
             f'({BITS[ty]}.reinterpret_{ty} ({ty}.const {wat_float(v, ty)})))'
             for i, v in enumerate(EDGES[ty])]
    inst = FakeInstance("(module " + "\n".join(funcs) + ")")
    for i, v in enumerate(EDGES[ty]):
        assert inst.call(f"c{i}") & ((1 << WIDTH[ty]) - 1) == v, hex(v)
