"""Conversions: wrap/extend, int<->float, demote/promote, reinterpret, sign extension,
and the trapping and saturating float-to-int truncations.

A trapping truncation checks NaN first ("invalid conversion to integer"), then the
range ("integer overflow"); LLVM's fptosi/fptoui are poison outside the range.
The saturating forms are llvm.fptosi.sat / llvm.fptoui.sat, which match wasm exactly.
"""
import struct as _struct

from ...abi.traps import TRAP_INT_OVERFLOW, TRAP_INVALID_CONVERSION
from ..irtypes import f64_const
from .numeric import LL, SUFFIX, call_intrinsic

MANTISSA_BITS = {"float": 24, "double": 53}


def _float_literal(value):
    """An exactly representable number as an LLVM float/double literal."""
    return f64_const(_struct.unpack("<Q", _struct.pack("<d", float(value)))[0])


def trunc_bounds(src, bits, signed):
    """(lower predicate, lower bound, upper bound) such that src values strictly inside
    truncate to a representable integer. The bounds are exact in `src`."""
    if signed:
        low = -(1 << (bits - 1))
        # -2^(n-1) - 1 needs n significant bits: usable as an exclusive bound when exact
        if bits <= MANTISSA_BITS[src]:
            return "ogt", _float_literal(low - 1), _float_literal(1 << (bits - 1))
        return "oge", _float_literal(low), _float_literal(1 << (bits - 1))
    return "ogt", _float_literal(-1), _float_literal(1 << bits)


def _cast(instr, src, dst):
    def h(t, imm, op):
        t.push(t.inst(f"{instr} {src} {t.pop_value()} to {dst}"), dst)
    return h


def _promote(t, imm, op):
    value = t.inst(f"fpext float {t.pop_value()} to double")
    t.promoted.add(value)
    t.push(value, "double")


def _demote(t, imm, op):
    value = t.pop_value()
    if value in t.promoted:
        # LLVM folds fptrunc(fpext x) to x, which would keep a signalling NaN
        value = t.opaque("double", value)
    t.push(t.inst(f"fptrunc double {value} to float"), "float")


def _sign_extend(ty, narrow):
    def h(t, imm, op):
        small = t.inst(f"trunc {ty} {t.pop_value()} to {narrow}")
        t.push(t.inst(f"sext {narrow} {small} to {ty}"), ty)
    return h


def _trunc_trapping(src, dst, signed):
    lower_pred, low, high = trunc_bounds(src, int(dst[1:]), signed)

    def h(t, imm, op):
        x = t.pop_value()
        t.trap_if(t.inst(f"fcmp uno {src} {x}, {x}"), TRAP_INVALID_CONVERSION)
        above = t.inst(f"fcmp {lower_pred} {src} {x}, {low}")
        below = t.inst(f"fcmp olt {src} {x}, {high}")
        t.trap_unless(t.inst(f"and i1 {above}, {below}"), TRAP_INT_OVERFLOW)
        instr = "fptosi" if signed else "fptoui"
        t.push(t.inst(f"{instr} {src} {x} to {dst}"), dst)
    return h


def _trunc_saturating(src, dst, signed):
    name = f"fpto{'s' if signed else 'u'}i.sat.{dst}.{SUFFIX[src]}"

    def h(t, imm, op):
        t.push(call_intrinsic(t, name, dst, (src,), f"{src} {t.pop_value()}"), dst)
    return h


def _parse(name):
    """'i32.trunc_sat_f64_u' -> ('i32', 'trunc_sat', 'f64', 'u')."""
    dst, _, rest = name.partition(".")
    parts = rest.split("_")
    signed = parts[-1] if parts[-1] in ("s", "u") else None
    if signed:
        parts = parts[:-1]
    return dst, "_".join(parts[:-1]), parts[-1], signed


def _handler(name):
    dst_w, kind, src_w, sign = _parse(name)
    if dst_w not in LL or src_w not in LL:
        return None
    dst, src = LL[dst_w], LL[src_w]
    signed = sign == "s"
    if kind == "wrap":
        return _cast("trunc", src, dst)
    if kind == "extend":
        return _cast("sext" if signed else "zext", src, dst)
    if kind == "convert":
        return _cast("sitofp" if signed else "uitofp", src, dst)
    if kind in ("demote", "promote"):
        return _demote if kind == "demote" else _promote
    if kind == "reinterpret":
        return _cast("bitcast", src, dst)
    if kind == "trunc":
        return _trunc_trapping(src, dst, signed)
    if kind == "trunc_sat":
        return _trunc_saturating(src, dst, signed)
    return None


SIGN_EXTENSIONS = {"i32.extend8_s": ("i32", "i8"), "i32.extend16_s": ("i32", "i16"),
                   "i64.extend8_s": ("i64", "i8"), "i64.extend16_s": ("i64", "i16"),
                   "i64.extend32_s": ("i64", "i32")}


def handlers_for(names):
    out = {name: _sign_extend(*types) for name, types in SIGN_EXTENSIONS.items()}
    for name in names:
        if name in out or "_" not in name:
            continue
        handler = _handler(name)
        if handler is not None:
            out[name] = handler
    return out
