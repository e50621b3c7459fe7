"""Value: a WebAssembly value of an explicit type (Value.i32(42), Value.f64(4.2) ...).

Numbers are checked and converted as wasm would hold them when the Value is
made (an f32 is rounded to single precision, an i32 given as an unsigned
pattern becomes its signed value), so `.value` is what a global made from it
reads back.
"""
import struct as _struct

from .. import _ext
from ..runtime.func import Function, HostFunction
from .types import Type

_I32_RANGE = (-(1 << 31), (1 << 32) - 1)
_I64_RANGE = (-(1 << 63), (1 << 64) - 1)


def _integer(value, bits):
    if not isinstance(value, int):
        raise TypeError(f"an i{bits} value must be an int, not {type(value).__name__}")
    low, high = _I32_RANGE if bits == 32 else _I64_RANGE
    if not low <= value <= high:
        raise OverflowError(f"{value} does not fit in i{bits}")
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _float(value, bits):
    if not isinstance(value, (int, float)):
        raise TypeError(f"an f{bits} value must be a float, not {type(value).__name__}")
    value = float(value)
    if bits == 32:       # round to single precision (inf beyond its range), as wasm holds it
        code = Type.F32.code
        value = _ext.value_from_raw(code, _ext.raw_from_value(code, value, {}))
    return value


def _shortest_f32(value):
    """The shortest decimal that reads back as the same f32 (as Rust's Debug prints it)."""
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    packed = _struct.pack("<f", value)
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if _struct.pack("<f", float(text)) == packed:
            return repr(float(text))
    return repr(value)


class Value:
    """A typed WebAssembly value; build it with Value.i32/i64/f32/f64/v128
    (wasabi also has Value.externref and Value.funcref).

    ## Example

    ```py
from wasabi import Store, Global, Value, Type

value = Value.i64(-1)
assert value.type == Type.I64 and value.value == -1
assert Global(Store(), Value.f32(0.5)).value == 0.5
    ```
    """

    __slots__ = ("type", "value")

    def __init__(self, type, value):
        self.type = type
        self.value = value

    @staticmethod
    def i32(value):
        return Value(Type.I32, _integer(value, 32))

    @staticmethod
    def i64(value):
        return Value(Type.I64, _integer(value, 64))

    @staticmethod
    def f32(value):
        return Value(Type.F32, _float(value, 32))

    @staticmethod
    def f64(value):
        return Value(Type.F64, _float(value, 64))

    @staticmethod
    def v128(value):
        if not isinstance(value, int):
            raise TypeError(f"a v128 value must be an int, not {type(value).__name__}")
        if not 0 <= value < 1 << 128:
            raise OverflowError(f"{value} does not fit in an unsigned 128-bit int")
        return Value(Type.V128, value)

    @staticmethod
    def externref(value):
        """Any Python object (None is the null reference)."""
        return Value(Type.EXTERN_REF, value)

    @staticmethod
    def funcref(function):
        """A wasm or host Function, or None for the null reference."""
        if function is not None and not isinstance(function, (Function, HostFunction)):
            raise TypeError(f"a funcref value must be a Function or None, not {function!r}")
        return Value(Type.FUNC_REF, function)

    def __eq__(self, other):
        if not isinstance(other, Value):
            return NotImplemented
        return self.type == other.type and self.value == other.value

    def __hash__(self):
        return hash((self.type, id(self.value) if self.type >= Type.EXTERN_REF else self.value))

    def __repr__(self):
        if self.type == Type.F32:
            return f"F32({_shortest_f32(self.value)})"
        name = self.type._debug()
        return f"{name}({self.value!r})"
