"""The immutable description of a module, as the decoder produces it.

Every later stage (validator, compiler, runtime) reads a ModuleDesc and never the
section bytes again, except code bodies: a FuncDesc keeps the byte range of its
body in `ModuleDesc.data`, and the validator and the translator walk those bytes
in Cython (materialising instructions as Python objects would cost more than the
whole compile).

Index spaces follow the spec: imports come first in each space (functions,
tables, memories, globals); `funcs`, `tables`, `memories`, `globals` hold only the
module's own definitions, `all_*` hold the whole index space.
"""
from dataclasses import dataclass, field

from ..binary.types import (EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE,
                            FuncType, GlobalType, MemoryType, TableType)


@dataclass(frozen=True, slots=True)
class ConstExpr:
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


@dataclass(frozen=True, slots=True)
class ImportDesc:
    module: str
    name: str
    kind: int            # EXTERN_FUNC / TABLE / MEMORY / GLOBAL
    type: object         # type index (func), TableType, MemoryType or GlobalType


@dataclass(frozen=True, slots=True)
class ExportDesc:
    name: str
    kind: int
    index: int


@dataclass(frozen=True, slots=True)
class FuncDesc:
    """A function defined by the module (not imported)."""
    index: int           # in the function index space (imports first)
    type_index: int
    locals: tuple        # ((count, valtype), ...) as encoded, not expanded
    num_locals: int      # sum of the counts (parameters not included)
    body_start: int      # offset in ModuleDesc.data of the first instruction
    body_end: int        # offset just past the body's final `end` (0x0B)
    entry_offset: int = 0  # offset of the code entry (its size field), for messages


@dataclass(frozen=True, slots=True)
class GlobalDesc:
    type: GlobalType
    init: ConstExpr


@dataclass(frozen=True, slots=True)
class ElemDesc:
    mode: str            # "active", "passive" or "declarative"
    elem_type: int       # FUNCREF or EXTERNREF
    init: tuple          # ConstExpr per element (ref.func x, ref.null t, global.get g)
    table_index: int = 0
    offset: ConstExpr | None = None   # active only


@dataclass(frozen=True, slots=True)
class DataDesc:
    mode: str            # "active" or "passive"
    data: bytes
    memory_index: int = 0
    offset: ConstExpr | None = None   # active only


@dataclass(frozen=True, slots=True)
class CustomSection:
    name: str
    data: bytes
    offset: int = 0


@dataclass(frozen=True, slots=True)
class NameMap:
    """The `name` custom section, when present and well formed."""
    module: str | None = None
    funcs: dict = field(default_factory=dict)    # func index -> name
    locals: dict = field(default_factory=dict)   # func index -> {local index -> name}


@dataclass(frozen=True)
class ModuleDesc:
    data: bytes
    types: tuple = ()
    imports: tuple = ()
    funcs: tuple = ()
    tables: tuple = ()
    memories: tuple = ()
    globals: tuple = ()
    exports: tuple = ()
    start: int | None = None
    elems: tuple = ()
    datas: tuple = ()
    data_count: int | None = None
    customs: tuple = ()
    names: NameMap = field(default_factory=NameMap)

    # derived, filled by __post_init__
    func_type_indices: tuple = field(init=False, repr=False)   # every function, imports first
    all_tables: tuple = field(init=False, repr=False)
    all_memories: tuple = field(init=False, repr=False)
    all_globals: tuple = field(init=False, repr=False)         # GlobalType per global
    num_imported_funcs: int = field(init=False, repr=False)
    num_imported_tables: int = field(init=False, repr=False)
    num_imported_memories: int = field(init=False, repr=False)
    num_imported_globals: int = field(init=False, repr=False)

    def __post_init__(self):
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
        ftypes.extend(f.type_index for f in self.funcs)
        tables.extend(self.tables)
        mems.extend(self.memories)
        globs.extend(g.type for g in self.globals)
        s = object.__setattr__
        s(self, "func_type_indices", tuple(ftypes))
        s(self, "all_tables", tuple(tables))
        s(self, "all_memories", tuple(mems))
        s(self, "all_globals", tuple(globs))
        s(self, "num_imported_funcs", counts[0])
        s(self, "num_imported_tables", counts[1])
        s(self, "num_imported_memories", counts[2])
        s(self, "num_imported_globals", counts[3])

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
