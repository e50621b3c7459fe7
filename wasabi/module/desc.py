"""The immutable description of a module, as the decoder produces it.

Every later stage (validator, compiler, runtime) reads a ModuleDesc and never the
section bytes again, except code bodies: a FuncDesc keeps the byte range of its
body in `ModuleDesc.data`, and the validator and the translator walk those bytes
in Cython (materialising instructions as Python objects would cost more than the
whole compile).

Index spaces follow the spec: imports come first in each space (functions,
tables, memories, globals); `funcs`, `tables`, `memories`, `globals` hold only the
module's own definitions, `all_*` hold the whole index space.

The records are NamedTuples and ModuleDesc a plain class, not dataclasses: the
module is imported on the first decode, which a cached load waits for, and ten
frozen dataclasses took 7 ms to create (NamedTuples 1.5 ms); NamedTuples are also
what the decoder builds fastest (one tuple allocation).
"""
from operator import attrgetter as _attrgetter
from typing import NamedTuple

from ..binary.types import (EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE,
                            FuncType, GlobalType, MemoryType, TableType)


class ConstExpr(NamedTuple):
    """A constant expression: its instructions without the final `end`.

    `instrs` is a tuple of (opcode, immediate): opcode is the byte (0x41
    i32.const, 0x42 i64.const, 0x43 f32.const, 0x44 f64.const, 0xD0 ref.null,
    0xD2 ref.func, 0x23 global.get) or 0xFD0C for v128.const; the immediate is the
    int value (i32/i64 as signed ints, f32/f64 as their raw bit patterns, v128
    as a 128-bit unsigned int), the ref type for ref.null, or the index.
    Other opcodes may appear (the validator rejects them as non-constant).
    """
    instrs: tuple
    offset: int = 0


class ImportDesc(NamedTuple):
    module: str
    name: str
    kind: int            # EXTERN_FUNC / TABLE / MEMORY / GLOBAL
    type: object         # type index (func), TableType, MemoryType or GlobalType


class ExportDesc(NamedTuple):
    name: str
    kind: int
    index: int


class FuncDesc(NamedTuple):
    """A function defined by the module (not imported)."""
    index: int           # in the function index space (imports first)
    type_index: int
    locals: tuple        # ((count, valtype), ...) as encoded, not expanded
    num_locals: int      # sum of the counts (parameters not included)
    body_start: int      # offset in ModuleDesc.data of the first instruction
    body_end: int        # offset just past the body's final `end` (0x0B)
    entry_offset: int = 0  # offset of the code entry (its size field), for messages


class GlobalDesc(NamedTuple):
    type: GlobalType
    init: ConstExpr


class ElemDesc(NamedTuple):
    mode: str            # "active", "passive" or "declarative"
    elem_type: int       # FUNCREF or EXTERNREF
    init: tuple          # ConstExpr per element (ref.func x, ref.null t, global.get g)
    table_index: int = 0
    offset: ConstExpr | None = None   # active only


class DataDesc(NamedTuple):
    mode: str            # "active" or "passive"
    data: bytes
    memory_index: int = 0
    offset: ConstExpr | None = None   # active only


class CustomSection(NamedTuple):
    name: str
    data: bytes
    offset: int = 0


class _EmptyMap(dict):
    """The shared empty default of NameMap's maps: a dict that refuses changes and
    pickles and copies (a MappingProxyType would not)."""
    def _refuse(self, *args, **kwargs):
        raise TypeError("the maps of a NameMap are read-only")
    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return _EmptyMap, ()


_EMPTY = _EmptyMap()


class NameMap(NamedTuple):
    """The `name` custom section, when present and well formed."""
    module: str | None = None
    funcs: dict = _EMPTY     # func index -> name
    locals: dict = _EMPTY    # func index -> {local index -> name}


_MODULE_FIELDS = ("data", "types", "imports", "funcs", "tables", "memories", "globals",
                  "exports", "start", "elems", "datas", "data_count", "customs", "names")
_STORED_FIELDS = _MODULE_FIELDS[:-1] + ("_names",)      # `names` is a property
_DERIVED_FIELDS = ("func_type_indices", "all_tables", "all_memories", "all_globals",
                   "num_imported_funcs", "num_imported_tables", "num_imported_memories",
                   "num_imported_globals")


_TYPE_INDEX, _TYPE = _attrgetter("type_index"), _attrgetter("type")


class ModuleDesc:
    """A decoded module (immutable). The derived fields: `func_type_indices` (every
    function's type index, imports first), `all_tables`, `all_memories`, `all_globals`
    (GlobalType per global) and the `num_imported_*` counts. `names` (a NameMap) may
    be given as a function that makes it: the decoder's decodes the `name` section when
    first asked for (a cached module's load never needs the names)."""
    __slots__ = _STORED_FIELDS + _DERIVED_FIELDS

    def __init__(self, data, types=(), imports=(), funcs=(), tables=(), memories=(),
                 globals=(), exports=(), start=None, elems=(), datas=(), data_count=None,
                 customs=(), names=None):
        values = (data, types, imports, funcs, tables, memories, globals, exports, start,
                  elems, datas, data_count, customs, names)
        for name, value in zip(_STORED_FIELDS, values):
            object.__setattr__(self, name, value)
        self._derive()

    @property
    def names(self):
        names = self._names
        if not isinstance(names, NameMap):      # None, or the decoder's deferred decode
            names = NameMap() if names is None else names()
            object.__setattr__(self, "_names", names)
        return names

    def _derive(self):
        ftypes, tables, mems, globs = [], [], [], []
        for imp in self.imports:
            if imp.kind == EXTERN_FUNC:
                ftypes.append(imp.type)
            elif imp.kind == EXTERN_TABLE:
                tables.append(imp.type)
            elif imp.kind == EXTERN_MEMORY:
                mems.append(imp.type)
            elif imp.kind == EXTERN_GLOBAL:
                globs.append(imp.type)
        counts = (len(ftypes), len(tables), len(mems), len(globs))
        ftypes.extend(map(_TYPE_INDEX, self.funcs))      # 4,000 functions: 0.5 ms less
        tables.extend(self.tables)
        mems.extend(self.memories)
        globs.extend(map(_TYPE, self.globals))
        values = (tuple(ftypes), tuple(tables), tuple(mems), tuple(globs)) + counts
        for name, value in zip(_DERIVED_FIELDS, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"ModuleDesc is immutable: cannot assign to {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"ModuleDesc is immutable: cannot delete {name!r}")

    def __reduce__(self):
        return ModuleDesc, tuple(getattr(self, name) for name in _MODULE_FIELDS)

    def __repr__(self):
        return (f"ModuleDesc({len(self.data)} bytes, {len(self.types)} types, "
                f"{len(self.imports)} imports, {len(self.funcs)} functions, "
                f"{len(self.exports)} exports)")

    def func_type(self, func_index) -> FuncType:
        """The FuncType of any function in the index space."""
        return self.types[self.func_type_indices[func_index]]

    def export(self, name):
        for e in self.exports:
            if e.name == name:
                return e
        return None

    def custom_sections(self, name):
        return [c.data for c in self.customs if c.name == name]


__all__ = ["ModuleDesc", "ImportDesc", "ExportDesc", "FuncDesc", "GlobalDesc", "ElemDesc",
           "DataDesc", "ConstExpr", "NameMap", "CustomSection",
           "FuncType", "GlobalType", "MemoryType", "TableType",
           "EXTERN_FUNC", "EXTERN_TABLE", "EXTERN_MEMORY", "EXTERN_GLOBAL"]
