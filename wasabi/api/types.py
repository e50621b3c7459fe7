"""The public type objects, as the `wasmer` 1.1.0 package spells them.

Type is an IntEnum numbered as wasmer's (I32 = 1 ... FUNC_REF = 7); inside,
wasabi keeps value types as their binary codes (wasabi.binary.types), and each
class here converts to and from those records (`_binary()` / `_from_binary()`).
The str() of every type is wasmer's, e.g. 'FunctionType(params: [I32], results: [])'.
"""
import enum as _enum

from ..binary import types as bt


class Type(_enum.IntEnum):
    I32 = 1
    I64 = 2
    F32 = 3
    F64 = 4
    V128 = 5
    EXTERN_REF = 6
    FUNC_REF = 7

    @property
    def code(self):
        """The binary value type code (0x7F for I32 ...)."""
        return _CODES[self]

    @classmethod
    def from_code(cls, code):
        try:
            return _TYPES[code]
        except KeyError:
            raise ValueError(f"unknown value type code {code:#x}") from None

    def _debug(self):
        # the names wasmer's str() shows (Rust's Debug of its Type enum)
        return _DEBUG_NAMES[self]


_CODES = {Type.I32: bt.I32, Type.I64: bt.I64, Type.F32: bt.F32, Type.F64: bt.F64,
          Type.V128: bt.V128, Type.EXTERN_REF: bt.EXTERNREF, Type.FUNC_REF: bt.FUNCREF}
_TYPES = {code: t for t, code in _CODES.items()}
_DEBUG_NAMES = {Type.I32: "I32", Type.I64: "I64", Type.F32: "F32", Type.F64: "F64",
                Type.V128: "V128", Type.EXTERN_REF: "ExternRef", Type.FUNC_REF: "FuncRef"}


def as_type(value):
    """A Type from a Type, its number (1..7) or a wasmer-style name ('i32', 'FUNC_REF')."""
    if isinstance(value, Type):
        return value
    if isinstance(value, str):
        name = value.upper().replace("REF", "_REF").replace("__", "_")
        try:
            return Type[name]
        except KeyError:
            raise ValueError(f"unknown value type {value!r}") from None
    try:
        return Type(value)
    except ValueError:
        raise ValueError(f"unknown value type {value!r}") from None


def _debug_option(value):
    return "None" if value is None else f"Some({value})"


def _debug_bool(value):
    return "true" if value else "false"


class FunctionType:
    """The signature of a function: FunctionType(params=[Type.I32], results=[Type.I64]).

    ## Example

    ```py
from wasabi import FunctionType, Type

signature = FunctionType(params=[Type.I32, Type.F64], results=[Type.I64])
assert signature.params == [Type.I32, Type.F64] and signature.results == [Type.I64]
    ```
    """

    __slots__ = ("params", "results")

    def __init__(self, params, results):
        self.params = [as_type(t) for t in params]
        self.results = [as_type(t) for t in results]

    def _binary(self):
        return bt.FuncType(tuple(t.code for t in self.params), tuple(t.code for t in self.results))

    @classmethod
    def _from_binary(cls, functype):
        return cls([Type.from_code(c) for c in functype.params],
                   [Type.from_code(c) for c in functype.results])

    def __eq__(self, other):
        if not isinstance(other, FunctionType):
            return NotImplemented
        return self.params == other.params and self.results == other.results

    def __hash__(self):
        return hash((tuple(self.params), tuple(self.results)))

    def __str__(self):
        params = ", ".join(t._debug() for t in self.params)
        results = ", ".join(t._debug() for t in self.results)
        return f"FunctionType(params: [{params}], results: [{results}])"

    __repr__ = __str__


class MemoryType:
    """Memory limits in pages: MemoryType(minimum, maximum=None, shared=False)."""

    __slots__ = ("minimum", "maximum", "shared")

    def __init__(self, minimum, maximum=None, shared=False):
        self.minimum = _u32(minimum, "minimum")
        self.maximum = None if maximum is None else _u32(maximum, "maximum")
        self.shared = bool(shared)

    def _binary(self):
        return bt.MemoryType(bt.Limits(self.minimum, self.maximum), self.shared)

    @classmethod
    def _from_binary(cls, memtype):
        return cls(memtype.limits.min, memtype.limits.max, memtype.shared)

    def __eq__(self, other):
        if not isinstance(other, MemoryType):
            return NotImplemented
        return (self.minimum, self.maximum, self.shared) == (other.minimum, other.maximum,
                                                             other.shared)

    def __hash__(self):
        return hash((self.minimum, self.maximum, self.shared))

    def __str__(self):
        return (f"MemoryType(minimum: {self.minimum}, maximum: {_debug_option(self.maximum)}, "
                f"shared: {_debug_bool(self.shared)})")

    __repr__ = __str__


class GlobalType:
    """The type of a global: GlobalType(Type.I32, mutable=False)."""

    __slots__ = ("type", "mutable")

    def __init__(self, type, mutable):
        self.type = as_type(type)
        self.mutable = bool(mutable)

    def _binary(self):
        return bt.GlobalType(self.type.code, self.mutable)

    @classmethod
    def _from_binary(cls, globaltype):
        return cls(Type.from_code(globaltype.valtype), globaltype.mutable)

    def __eq__(self, other):
        if not isinstance(other, GlobalType):
            return NotImplemented
        return (self.type, self.mutable) == (other.type, other.mutable)

    def __hash__(self):
        return hash((self.type, self.mutable))

    def __str__(self):
        return f"GlobalType(type: {self.type._debug()}, mutable: {_debug_bool(self.mutable)})"

    __repr__ = __str__


class TableType:
    """The type of a table: TableType(Type.FUNC_REF, minimum, maximum=None)."""

    __slots__ = ("type", "minimum", "maximum")

    def __init__(self, type, minimum, maximum=None):
        self.type = as_type(type)
        self.minimum = _u32(minimum, "minimum")
        self.maximum = None if maximum is None else _u32(maximum, "maximum")

    def _binary(self):
        if self.type not in (Type.FUNC_REF, Type.EXTERN_REF):
            raise ValueError("a table holds references (FUNC_REF or EXTERN_REF), "
                             f"not {self.type.name}")
        return bt.TableType(self.type.code, bt.Limits(self.minimum, self.maximum))

    @classmethod
    def _from_binary(cls, tabletype):
        return cls(Type.from_code(tabletype.elem_type), tabletype.limits.min, tabletype.limits.max)

    def __eq__(self, other):
        if not isinstance(other, TableType):
            return NotImplemented
        return (self.type, self.minimum, self.maximum) == (other.type, other.minimum,
                                                           other.maximum)

    def __hash__(self):
        return hash((self.type, self.minimum, self.maximum))

    def __str__(self):
        return (f"TableType(type: {self.type._debug()}, minimum: {self.minimum}, "
                f"maximum: {_debug_option(self.maximum)})")

    __repr__ = __str__


def _u32(value, what):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFF:
        raise OverflowError(f"{what} {value} does not fit in an unsigned 32-bit int")
    return value


class ExportType:
    """A module export: its name and type (FunctionType, GlobalType, TableType or MemoryType)."""

    __slots__ = ("name", "type")

    def __init__(self, name, type):
        self.name = name
        self.type = type

    def __repr__(self):
        return f"ExportType(name: {self.name!r}, type: {self.type})"


class ImportType:
    """A module import: its namespace (module), name and type."""

    __slots__ = ("module", "name", "type")

    def __init__(self, module, name, type):
        self.module = module
        self.name = name
        self.type = type

    def __repr__(self):
        return f"ImportType(module: {self.module!r}, name: {self.name!r}, type: {self.type})"


_EXTERN_TYPE_CLASSES = {bt.EXTERN_TABLE: TableType, bt.EXTERN_MEMORY: MemoryType,
                        bt.EXTERN_GLOBAL: GlobalType}


def extern_type(desc, kind, type_or_index):
    """The public type of an import or export of `desc` (a ModuleDesc)."""
    if kind == bt.EXTERN_FUNC:
        return FunctionType._from_binary(desc.types[type_or_index])
    return _EXTERN_TYPE_CLASSES[kind]._from_binary(type_or_index)


def export_types(desc):
    """The ExportType of every export of `desc`, in the module's order."""
    spaces = {bt.EXTERN_TABLE: desc.all_tables, bt.EXTERN_MEMORY: desc.all_memories,
              bt.EXTERN_GLOBAL: desc.all_globals}
    out = []
    for e in desc.exports:
        if e.kind == bt.EXTERN_FUNC:
            type_or_index = desc.func_type_indices[e.index]
        else:
            type_or_index = spaces[e.kind][e.index]
        out.append(ExportType(e.name, extern_type(desc, e.kind, type_or_index)))
    return out


def import_types(desc):
    """The ImportType of every import of `desc`, in the module's order."""
    return [ImportType(i.module, i.name, extern_type(desc, i.kind, i.type)) for i in desc.imports]
