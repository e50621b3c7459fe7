"""REPL: growing a live instance with new code ("cells"), the runtime's half.

A cell is a wasm module of its own, compiled lazily (its Code comes from the
live module's: `code.new_cell(desc)`, see runtime/code.py). Its imports name the live
instance's exports by field name (any module name; names found in the optional
`imports` mapping resolve there instead: host functions and the like), so it
shares the live memory, tables and globals and calls the live functions. Its
exports join the live instance's exports. The cell runs in its own VMContext
(an instance of the cell module); every call crosses through wrt_func records
(code, vmctx), so that is invisible to callers.

Redefinition (hot swap): a cell that exports a function under an existing name
must keep its type (compiled callers pass arguments by it). Every *binding* of
the name is then pointed at the new function:
- the wrt_func records that stand for the name: the live instance's record of
  the exported function index (calls from its compiled code, call_indirect
  through tables, ref.func values), the records of earlier cells that imported
  the name, and the records of the cells that defined it;
- the Python handles of those functions (retargeted in place, so a handle kept
  from before the redefinition calls the new code too).
The cell's own imports bind to the definitions as they were before it, so a cell
can wrap the function it replaces; later redefinitions reach them too.

A cell that fails to decode, validate or link changes nothing. Redefinition is
refused while a thread runs code of the instance (records are patched in two
stores). Only functions can be redefined; other kinds of exports only be added.
"""
import threading as _threading

from .. import _ext
from ..binary.types import EXTERN_FUNC
from ..errors import LinkError
from ..validate import parse
from .instance import instantiate
from .linking import resolve_imports


def add_function(instance, data, imports=None, *, prepare_imports=None):
    """Validate the wasm module `data` against the live instance, compile it
    lazily and add its exports to the instance (replacing functions of the same
    name everywhere). Returns {name: extern} of the cell's exports.

    `imports` maps module name -> field -> extern for imports that do not name
    the live instance; `prepare_imports(desc, imports)`, if given, turns the
    caller's form (e.g. plain Python callables) into that, with the cell's desc."""
    _check_repl(instance)
    cell = _compile_cell(instance.code, data)
    if prepare_imports is not None and imports is not None:
        imports = prepare_imports(cell[0], imports)
    return apply_cell(instance, cell, imports)


def extend_module(compiled, data):
    """Validate the cell `data` against a REPL CompiledModule (the types of its
    exports and of earlier cells'); returns the compiled cell (desc, code)."""
    if compiled.code.mode != "repl":
        raise ValueError("module.extend needs a module compiled with Options(mode=Mode.REPL)")
    cell = _compile_cell(compiled.code, data)
    available = _module_export_types(compiled)
    desc = cell[0]
    for imp in desc.imports:
        want = desc.types[imp.type] if imp.kind == EXTERN_FUNC else imp.type
        got = available.get(imp.name)
        if got is None:
            raise LinkError(f'unknown import "{imp.module}" "{imp.name}": the module '
                            f"exports no {imp.name!r}")
        if got[0] != imp.kind or (imp.kind == EXTERN_FUNC and got[1] != want):
            raise LinkError(f'incompatible import type for "{imp.module}" "{imp.name}"')
    for export in desc.exports:
        previous = available.get(export.name)
        if previous is not None:
            _check_redefinition(export.name, previous[0], previous[1], export.kind,
                                desc.func_type(export.index) if export.kind == EXTERN_FUNC
                                else None)
    return cell


def apply_cell(instance, cell, imports=None):
    """Instantiate a compiled cell (desc, code) against a live REPL instance and
    commit its exports (see the module docstring). Returns its exports."""
    state = _state(instance)
    desc, code = cell
    with state.lock:
        lookup = _CellImports(instance, imports)
        resolve_imports(desc, lookup, code.bounds)        # LinkError: nothing changed
        redefined = _check_exports(instance, desc)
        if redefined:
            state.check_idle()
        cell_instance = instantiate(desc, code, lookup, store=instance.store,
                                    instance_class=type(instance))
        added = dict(cell_instance.exports)
        for name, ext in added.items():
            state.define(name, ext, cell_instance)
        state.bind_imports(cell_instance, lookup.from_instance)
        state.cells.append(cell_instance)
        return added


# ---- per live instance ----

class _Binding:
    """What stands for one exported function name: records and Python handles."""
    __slots__ = ("records", "handles")

    def __init__(self):
        self.records = []           # addresses of wrt_func records
        self.handles = []           # Function objects to retarget

    def add(self, instance, index):
        self.records.append(instance.func_record_address(index))
        if index >= instance.desc.num_imported_funcs:
            self.handles.append(instance.function(index))


class _ReplState:
    def __init__(self, instance):
        self.instance = instance
        self.cells = []             # cell instances (kept alive with the live one)
        self.bindings = {}          # export name -> _Binding
        self.lock = _threading.RLock()
        for export in instance.desc.exports:
            if export.kind == EXTERN_FUNC:
                self._binding(export.name).add(instance, export.index)

    def _binding(self, name):
        binding = self.bindings.get(name)
        if binding is None:
            binding = self.bindings[name] = _Binding()
        return binding

    def check_idle(self):
        for inst in [self.instance, *self.cells]:
            if _ext.vmctx_busy(inst.vmctx_address):
                raise RuntimeError("cannot redefine functions while the instance runs")

    def define(self, name, ext, cell_instance):
        """Commit one export of a cell: a new name, or a redefined function."""
        items = _export_items(self.instance)
        index = _defined_index(cell_instance, name)
        binding = self.bindings.get(name)
        if binding is not None:
            code, vmctx, _ = ext.record_fields()
            for record in binding.records:
                _ext.set_record_target(record, code, vmctx)
            for handle in binding.handles:
                _ext.retarget_handle(handle, code, vmctx)
            if not binding.handles:             # e.g. a re-exported host function
                items[name] = ext
        else:
            items[name] = ext
            if index is None and _is_function(ext):
                self._binding(name)             # re-exported import: later cells may swap it
        if index is not None:
            self._binding(name).add(cell_instance, index)

    def bind_imports(self, cell_instance, from_instance):
        """The cell's function imports of live names follow later redefinitions."""
        for index, imp in enumerate(i for i in cell_instance.desc.imports
                                    if i.kind == EXTERN_FUNC):
            if imp.name in from_instance and imp.name in self.bindings:
                self.bindings[imp.name].records.append(cell_instance.func_record_address(index))


class _CellImports:
    """Import lookup for a cell: the user's mapping by module name, else the live
    instance's exports by field name. Notes which names came from the instance."""

    def __init__(self, instance, imports):
        self.instance = instance
        self.imports = imports
        self.from_instance = set()

    def __call__(self, module, name):
        if self.imports is not None and module in self.imports:
            try:
                return self.imports[module][name]
            except (LookupError, TypeError):
                return None
        items = _export_items(self.instance)
        found = items.get(name)
        if found is not None:
            self.from_instance.add(name)
        return found


def _state(instance):
    state = getattr(instance, "_repl_state", None)
    if state is None:
        _check_repl(instance)
        state = _ReplState(instance)
        instance._repl_state = state
    return state


def _check_repl(instance):
    if instance.code.mode != "repl":
        raise ValueError("add_function needs an instance of a module compiled with "
                         "Options(mode=Mode.REPL)")


def _compile_cell(live_code, data):
    desc = parse(data)              # CompileError / ValidationError: nothing changed
    return desc, live_code.new_cell(desc)


def _check_exports(instance, desc):
    """LinkError for an invalid redefinition; True if the cell redefines a name."""
    items = _export_items(instance)
    redefined = False
    for export in desc.exports:
        previous = items.get(export.name)
        if previous is None:
            continue
        kind = EXTERN_FUNC if _is_function(previous) else None
        new_type = desc.func_type(export.index) if export.kind == EXTERN_FUNC else None
        _check_redefinition(export.name, kind, getattr(previous, "functype", None),
                            export.kind, new_type)
        redefined = True
    return redefined


def _check_redefinition(name, old_kind, old_type, new_kind, new_type):
    if old_kind != EXTERN_FUNC or new_kind != EXTERN_FUNC:
        raise LinkError(f"cannot redefine export {name!r}: only functions can be redefined")
    if old_type != new_type:
        raise LinkError(f"cannot redefine function {name!r} as {new_type}: compiled callers "
                        f"call it as {old_type}")


def _module_export_types(compiled):
    """name -> (kind, FuncType or the import-matching type) of a module and its cells."""
    out = {}
    for desc in [compiled.desc, *(cell[0] for cell in compiled.cells)]:
        for export in desc.exports:
            out[export.name] = (export.kind, _export_type(desc, export))
    return out


def _export_type(desc, export):
    if export.kind == EXTERN_FUNC:
        return desc.func_type(export.index)
    return None


def _defined_index(cell_instance, name):
    """The cell's own function index exported as `name`, or None."""
    for export in cell_instance.desc.exports:
        if export.name == name and export.kind == EXTERN_FUNC:
            if export.index >= cell_instance.desc.num_imported_funcs:
                return export.index
    return None


def _is_function(ext):
    return hasattr(ext, "functype") and hasattr(ext, "record_fields")


def _export_items(instance):
    materialize = getattr(instance.exports, "materialize", None)
    items = materialize() if materialize is not None else None
    if not isinstance(items, dict):
        raise TypeError("the instance's exports do not expose their items")
    return items

