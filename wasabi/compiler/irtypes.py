"""Wasm value types as LLVM IR types, constants as exact bit patterns, function signatures.

Everything here returns text: the translator builds IR as strings (see DESIGN.md:
llvmlite.ir objects cost 30x more than f-strings and end in text anyway).
"""
import struct as _struct

from ..binary.types import EXTERNREF, F32, F64, FUNCREF, I32, I64, V128, type_name
from ..errors import CompileError

LLVM_TYPE = {I32: "i32", I64: "i64", F32: "float", F64: "double",
             FUNCREF: "ptr", EXTERNREF: "ptr", V128: "<2 x i64>"}

# the zero value of each LLVM type, for locals and the `select` of dead values
ZERO = {"i32": "0", "i64": "0", "float": "0.0", "double": "0.0", "ptr": "null",
        "<2 x i64>": "zeroinitializer"}

# integer type of the same width, for bit operations on floats
INT_OF = {"float": "i32", "double": "i64", "i32": "i32", "i64": "i64"}
BITS = {"i32": 32, "i64": 64, "float": 32, "double": 64}


def llvm_type(valtype):
    """The LLVM type of a wasm value type (v128 is <2 x i64>, as at call boundaries)."""
    try:
        return LLVM_TYPE[valtype]
    except KeyError:
        raise CompileError(f"unknown value type {type_name(valtype)}") from None


def llvm_types(valtypes):
    return tuple(llvm_type(t) for t in valtypes)


def return_type(result_types):
    """void, the single type, or a literal struct for several results (the ABI in abi/vmctx.py)."""
    if not result_types:
        return "void"
    if len(result_types) == 1:
        return result_types[0]
    return "{" + ", ".join(result_types) + "}"


def f64_const(bits):
    """An f64 constant from its raw 64 bits: LLVM's hex form is exactly the IEEE bit pattern."""
    return f"0x{bits & 0xFFFFFFFFFFFFFFFF:016X}"


def f32_const(bits):
    """An f32 constant from its raw 32 bits.

    LLVM writes float constants in the hex form of a double that must be exactly
    representable as a float. For NaNs the parser keeps the top 23 mantissa bits as
    the payload (signalling NaNs stay signalling), so NaNs and infinities are widened
    by hand; finite values widen exactly through struct.
    """
    bits &= 0xFFFFFFFF
    sign = bits >> 31
    exponent = (bits >> 23) & 0xFF
    mantissa = bits & 0x7FFFFF
    if exponent == 0xFF:
        return f"0x{(sign << 63) | (0x7FF << 52) | (mantissa << 29):016X}"
    value = _struct.unpack("<f", _struct.pack("<I", bits))[0]
    return f64_const(_struct.unpack("<Q", _struct.pack("<d", value))[0])


def i32_const(value):
    """A signed decimal i32 constant from any int (wrapped to 32 bits)."""
    value &= 0xFFFFFFFF
    return str(value - (1 << 32) if value & 0x80000000 else value)


def i64_const(value):
    value &= 0xFFFFFFFFFFFFFFFF
    return str(value - (1 << 64) if value & 0x8000000000000000 else value)


def function_signature(name, param_types, result_types, linkage="dso_local"):
    """The `define` header of a wasm function: ret @name(ptr %vmctx, params as %p0..)."""
    params = "".join(f", {t} %p{i}" for i, t in enumerate(param_types))
    return f"define {linkage} {return_type(result_types)} @{name}(ptr %vmctx{params})"


def call_type(param_types, result_types):
    """The function type used at a call site: ret (ptr, params...)."""
    return f"{return_type(result_types)} (ptr{''.join(', ' + t for t in param_types)})"
