"""Module-level validation (spec 3.4, Wasm 2.0), then the code bodies.

Everything here reads the ModuleDesc only: index ranges, limits, at most one memory,
constant expressions, element and data segments, the start function and the exports.
The function bodies are checked by the Cython type checker (wasabi/_cy/codevalidator*.pxi)
with C.refs, the set of functions that `ref.func` may name inside a body.
"""
from .. import _ext
from ..binary.types import (EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, I32,
                            MAX_PAGES, type_name)
from ..errors import ValidationError
from .constexpr import const_expr_type_check, is_plain_func_ref, ref_func_indices

# as the spec's messages name the index spaces ("unknown function 3")
_INDEX_SPACE_NAMES = {EXTERN_FUNC: "function", EXTERN_TABLE: "table",
                      EXTERN_MEMORY: "memory", EXTERN_GLOBAL: "global"}


def validate_module(desc):
    """Raise ValidationError unless the decoded module `desc` is valid."""
    rules = _ModuleRules(desc)
    rules.check()
    _ext.validate_functions(desc, declared_func_refs(desc))


def declared_func_refs(desc):
    """C.refs: the function indices a body may take with `ref.func`.

    They are the indices named anywhere in the module but in the bodies and the start
    section: by `ref.func` in global initialisers and segments (the function-index
    encoding of element segments decodes to `ref.func` too), and by function exports.
    """
    refs = set()
    for g in desc.globals:
        refs.update(ref_func_indices(g.init))
    for e in desc.elems:
        for item in e.init:
            refs.update(ref_func_indices(item))
        if e.offset is not None:
            refs.update(ref_func_indices(e.offset))
    for d in desc.datas:
        if d.offset is not None:
            refs.update(ref_func_indices(d.offset))
    refs.update(x.index for x in desc.exports if x.kind == EXTERN_FUNC)
    return frozenset(refs)


class _ModuleRules:
    """The module-level rules, one method per kind of definition."""

    def __init__(self, desc):
        self.desc = desc
        self.num_funcs = len(desc.func_type_indices)
        # constant expressions see only the imported globals (Wasm 2.0)
        self.const_globals = desc.all_globals[:desc.num_imported_globals]

    def check(self):
        self.check_imports()
        self.check_funcs()
        for t in self.desc.tables:
            check_table_limits(t.limits)
        for m in self.desc.memories:
            check_memory_limits(m.limits)
        if len(self.desc.all_memories) > 1:
            raise ValidationError("multiple memories")
        self.check_globals()
        self.check_elems()
        self.check_datas()
        self.check_start()
        self.check_exports()

    def check_type_index(self, index):
        if index >= len(self.desc.types):
            raise ValidationError(f"unknown type {index}")

    def check_imports(self):
        for imp in self.desc.imports:
            if imp.kind == EXTERN_FUNC:
                self.check_type_index(imp.type)
            elif imp.kind == EXTERN_TABLE:
                check_table_limits(imp.type.limits)
            elif imp.kind == EXTERN_MEMORY:
                check_memory_limits(imp.type.limits)

    def check_funcs(self):
        for f in self.desc.funcs:
            self.check_type_index(f.type_index)

    def const_expr(self, expr, expected):
        const_expr_type_check(expr, expected, self.num_funcs, self.const_globals)

    def check_globals(self):
        for g in self.desc.globals:
            self.const_expr(g.init, g.type.valtype)

    def check_elems(self):
        tables = self.desc.all_tables
        for seg in self.desc.elems:
            for item in seg.init:
                if not is_plain_func_ref(item, seg.elem_type, self.num_funcs):
                    self.const_expr(item, seg.elem_type)
            if seg.mode != "active":
                continue
            if seg.table_index >= len(tables):
                raise ValidationError(f"unknown table {seg.table_index}")
            table_type = tables[seg.table_index].elem_type
            if table_type != seg.elem_type:
                raise ValidationError(
                    f"type mismatch: element segment of {type_name(seg.elem_type)} "
                    f"for a table of {type_name(table_type)}")
            self.const_expr(seg.offset, I32)

    def check_datas(self):
        for seg in self.desc.datas:
            if seg.mode != "active":
                continue
            if seg.memory_index >= len(self.desc.all_memories):
                raise ValidationError(f"unknown memory {seg.memory_index}")
            self.const_expr(seg.offset, I32)

    def check_start(self):
        start = self.desc.start
        if start is None:
            return
        if start >= self.num_funcs:
            raise ValidationError(f"unknown function {start}")
        ftype = self.desc.func_type(start)
        if ftype.params or ftype.results:
            raise ValidationError(f"start function must have type [] -> [], not {ftype}")

    def check_exports(self):
        sizes = {EXTERN_FUNC: self.num_funcs,
                 EXTERN_TABLE: len(self.desc.all_tables),
                 EXTERN_MEMORY: len(self.desc.all_memories),
                 EXTERN_GLOBAL: len(self.desc.all_globals)}
        names = set()
        for exp in self.desc.exports:
            if exp.name in names:
                raise ValidationError(f"duplicate export name {exp.name!r}")
            names.add(exp.name)
            if exp.index >= sizes[exp.kind]:
                raise ValidationError(f"unknown {_INDEX_SPACE_NAMES[exp.kind]} {exp.index}")


def check_table_limits(limits):
    # table sizes are u32, so the only range rule left is min <= max
    if limits.max is not None and limits.min > limits.max:
        raise ValidationError("size minimum must not be greater than maximum")


def check_memory_limits(limits):
    too_big = "memory size must be at most 65536 pages (4GiB)"
    if limits.min > MAX_PAGES:
        raise ValidationError(too_big)
    if limits.max is not None:
        if limits.max > MAX_PAGES:
            raise ValidationError(too_big)
        if limits.min > limits.max:
            raise ValidationError("size minimum must not be greater than maximum")
