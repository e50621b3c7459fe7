"""Instantiation: imports + a compiled module -> an Instance with its own VMContext.

The steps follow the Wasm 2.0 spec: resolve and check imports; build the
function records, globals (from constant expressions), tables and memories;
evaluate element segments; apply active element segments, then active data
segments, in order (a trap partway leaves the earlier writes, visible through
imported tables and memories), dropping each applied or declarative segment;
run the start function. Every native record the compiled code reaches through
the vmctx is owned by the Instance (or by the imported objects it holds).
"""
import struct as _struct

from .. import _ext
from ..abi import vmctx as V
from ..abi.traps import TRAP_OOB_MEMORY, TRAP_OOB_TABLE, message
from ..binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE
from ..errors import Trap
from .constexpr import evaluate
from .func import Function, register_func_records, thunk_provider
from .globalvar import Global
from .lifetimes import carries_funcrefs, join, passes_funcrefs
from .limits import store_limits
from .linking import resolve_imports
from .memory import Memory
from .signatures import type_id
from .store import Store
from .table import Table


class ExportNotFound(LookupError, AttributeError):
    """An unknown export name (a LookupError, and an AttributeError for getattr)."""


# Name -> extern (Function/HostFunction, Memory, Table, Global), by attribute or item;
# getattr takes names that are not identifiers, iteration gives (name, extern) pairs and an
# unknown name raises ExportNotFound. Native (wasabi/_cy/fastcall.pxi): `exports.f` is on
# the path of every call, and a Python __getattr__ costs microseconds there.
Exports = _ext.FastExports


def bounds_mode(code):
    """'guard' or 'explicit': how the compiled code checks memory accesses."""
    mode = getattr(code, "bounds", None)
    if mode is None:
        mode = getattr(getattr(code, "options", None), "bounds", None)
    return mode or "guard"


def _array(count, record_size):
    return _ext.RawBuffer(max(count, 1) * record_size)


class Instance:
    # the classes of the externs this instance defines (the public API substitutes its own)
    function_class = Function
    global_class = Global
    memory_class = Memory
    table_class = Table

    def __init__(self, desc, code, store):
        self.desc = desc
        self.code = code
        self.store = store
        self.memories = []
        self.tables = []
        self.globals = []
        self._imported_funcs = {}       # func index -> the extern it came from
        self._functions = {}            # func index -> Function (created on demand)
        self.vmctx = _ext.VMContextBuffer(V.VMCTX_SIZE)
        n_funcs = len(desc.func_type_indices)
        self.funcs = _array(n_funcs, V.FUNC_RECORD_SIZE)
        self.global_ptrs = _array(len(desc.all_globals), 8)
        self.table_ptrs = _array(len(desc.all_tables), 8)
        self.type_ids = _array(len(desc.types), 8)
        self.datas = _array(len(desc.datas), V.SEGMENT_RECORD_SIZE)
        self.elems = _array(len(desc.elems), V.SEGMENT_RECORD_SIZE)
        self._elem_refs = []            # RawBuffer of u64 refs per elem segment
        ctx = self.vmctx
        ctx.join(store.control)      # vmctx_init, and store.interrupt() & co. reach it
        ctx.set_u64(V.VMCTX_FUEL, store.fuel_cell_address)     # shared by the store's instances
        ctx.set_u64(V.VMCTX_FUNCS, self.funcs.address)
        ctx.set_u64(V.VMCTX_GLOBALS, self.global_ptrs.address)
        ctx.set_u64(V.VMCTX_TABLES, self.table_ptrs.address)
        ctx.set_u64(V.VMCTX_TYPE_IDS, self.type_ids.address)
        ctx.set_u64(V.VMCTX_DATAS, self.datas.address)
        ctx.set_u64(V.VMCTX_ELEMS, self.elems.address)
        ctx.set_u64(V.VMCTX_INSTANCE, id(self))
        register_func_records(self.funcs.address, n_funcs, self, Instance.function)
        self.exports = Exports({}, ExportNotFound)

    # ---- records ----

    @property
    def vmctx_address(self):
        return self.vmctx.address

    def func_record_address(self, index):
        return self.funcs.address + index * V.FUNC_RECORD_SIZE

    def _set_func_record(self, index, code, vmctx, tid):
        base = index * V.FUNC_RECORD_SIZE
        self.funcs.set_u64(base + V.FUNC_CODE, code)
        self.funcs.set_u64(base + V.FUNC_VMCTX, vmctx)
        self.funcs.set_u64(base + V.FUNC_TYPE_ID, tid)

    def function(self, index):
        """The Python object of function `index` (the import itself for imports)."""
        if index in self._imported_funcs:
            return self._imported_funcs[index]
        f = self._functions.get(index)
        if f is None:
            ft = self.desc.func_type(index)
            f = self.function_class(thunk_provider().array_thunk(ft),
                                    self.code.func_address(index), self.vmctx.address, ft,
                                    self.store.keep, self.func_record_address(index), self)
            self._functions[index] = f
        return f

    def global_raw(self, index):
        return self.globals[index].raw

    # ---- building, in spec order ----

    def hold_writer(self, extern):
        """A funcref table or global and this instance keep each other alive: either
        may hold references to the other's functions (runtime/lifetimes.py)."""
        if carries_funcrefs(extern):
            join(self, extern)

    def link_function(self, func):
        """An imported function whose calls pass funcrefs joins this instance and
        the function's (runtime/lifetimes.py); host functions get Python objects."""
        if passes_funcrefs(func.functype):
            join(self, getattr(func, "_owner", None))

    def link_imports(self, externs):
        for imp, ext in zip(self.desc.imports, externs):
            self.store.link(getattr(ext, "store", None))
            if imp.kind == EXTERN_FUNC:
                index = len(self._imported_funcs)
                self._imported_funcs[index] = ext
                self._set_func_record(index, *ext.record_fields())
                self.link_function(ext)
            elif imp.kind == EXTERN_TABLE:
                self.tables.append(ext)
                self.hold_writer(ext)
            elif imp.kind == EXTERN_MEMORY:
                self.memories.append(ext)
            elif imp.kind == EXTERN_GLOBAL:
                self.globals.append(ext)
                self.hold_writer(ext)

    def define_functions(self):
        type_ids, records = _record_templates(self.desc, self.code)
        self.type_ids.set_bytes(0, type_ids)
        first = self.desc.num_imported_funcs
        self.funcs.set_bytes(first * V.FUNC_RECORD_SIZE, records)
        self.funcs.fill_u64(first * V.FUNC_RECORD_SIZE + V.FUNC_VMCTX, V.FUNC_RECORD_SIZE,
                            len(self.desc.funcs), self.vmctx.address)
        # lazily compiled code (compiler/modes/lazy.py) patches the records of the
        # instances it knows as functions get compiled
        attach = getattr(self.code, "attach_instance", None)
        if attach is not None:
            attach(self)

    def define_globals(self):
        for g in self.desc.globals:
            raw = evaluate(g.init, self.global_raw, self.func_record_address)
            self.globals.append(self.global_class._create(self.store, g.type, raw))
            self.hold_writer(self.globals[-1])
        for i, g in enumerate(self.globals):
            self.global_ptrs.set_u64(i * 8, g.address)

    def define_tables_and_memories(self, guarded, cow=True):
        for t in self.desc.tables:
            self.tables.append(self.table_class._create(self.store, t))
            self.hold_writer(self.tables[-1])
        for m in self.desc.memories:
            self.memories.append(self.memory_class._create(self.store, m, guarded, cow))
        for i, t in enumerate(self.tables):
            self.table_ptrs.set_u64(i * 8, t.address)
        if self.memories:
            self.vmctx.set_u64(V.VMCTX_MEM_BASE, self.memories[0].base)
            self.vmctx.set_u64(V.VMCTX_MEMORY, self.memories[0].address)

    def define_segments(self):
        for i, seg in enumerate(self.desc.elems):
            refs = [evaluate(e, self.global_raw, self.func_record_address) for e in seg.init]
            buf = _array(len(refs), 8)
            for j, r in enumerate(refs):
                buf.set_u64(j * 8, r)
            self._elem_refs.append(buf)
            self.elems.set_u64(i * 16 + V.SEGMENT_PTR, buf.address)
            live = 0 if seg.mode == "declarative" else len(refs)
            self.elems.set_u64(i * 16 + V.SEGMENT_LEN, live)
        for i, seg in enumerate(self.desc.datas):
            self.datas.set_u64(i * 16 + V.SEGMENT_PTR, _ext.bytes_address(seg.data))
            self.datas.set_u64(i * 16 + V.SEGMENT_LEN, len(seg.data))

    def _offset(self, expr):
        return evaluate(expr, self.global_raw, self.func_record_address) & 0xFFFFFFFF

    def apply_segments(self):
        for i, seg in enumerate(self.desc.elems):
            if seg.mode != "active":
                continue
            n = len(seg.init)
            table = self.tables[seg.table_index]
            code = table._native.init_segment(self._offset(seg.offset), self._elem_refs[i], n, 0, n)
            self.elems.set_u64(i * 16 + V.SEGMENT_LEN, 0)      # elem.drop
            if code:
                raise Trap(message(TRAP_OOB_TABLE), TRAP_OOB_TABLE)
        for i, seg in enumerate(self.desc.datas):
            if seg.mode != "active":
                continue
            memory = self.memories[seg.memory_index]
            n = len(seg.data)
            code = memory._native.init_segment(self._offset(seg.offset), seg.data, 0, n)
            self.datas.set_u64(i * 16 + V.SEGMENT_LEN, 0)      # data.drop
            if code:
                raise Trap(message(TRAP_OOB_MEMORY), TRAP_OOB_MEMORY)

    def define_exports(self):
        items = {}
        for e in self.desc.exports:
            if e.kind == EXTERN_FUNC:
                # made on first access: most exports of a big module are never used
                items[e.name] = _ext.LazyExport(e.index)
            elif e.kind == EXTERN_TABLE:
                items[e.name] = self.tables[e.index]
            elif e.kind == EXTERN_MEMORY:
                items[e.name] = self.memories[e.index]
            else:
                items[e.name] = self.globals[e.index]
        self.exports = Exports(items, ExportNotFound, self.function)

    def __repr__(self):
        return f"<wasabi Instance: {len(self.exports)} exports>"


# _record_templates packs records as (code, vmctx, type id), three u64 in a row
if (V.FUNC_CODE, V.FUNC_VMCTX, V.FUNC_TYPE_ID, V.FUNC_RECORD_SIZE) != (0, 8, 16, 24):
    raise ImportError("the function record layout changed: update _record_templates")


def _record_templates(desc, code):
    """(type ids array, defined function records without their vmctx) as bytes:
    the same for every instance of a module, so made once per EAGER code library
    (lazy code's addresses change as functions compile: made each time)."""
    cached = getattr(code, "_record_templates", None)
    if cached is not None and cached[0] is desc:
        return cached[1]
    ids = [type_id(t) for t in desc.types]
    type_ids = _struct.pack(f"<{len(ids)}Q", *ids)
    records = b"".join(_struct.pack("<QQQ", code.func_address(f.index), 0, ids[f.type_index])
                       for f in desc.funcs)
    templates = (type_ids, records)
    if getattr(code, "attach_instance", None) is None:
        try:
            code._record_templates = (desc, templates)
        except AttributeError:
            pass
    return templates


def _tell_imports(externs, inst):
    """Imports that must know their importer (WASI binds its context to the
    instance's memory) get `instantiated(inst)`, before any code runs."""
    told = set()
    for ext in externs:
        hook = getattr(ext, "instantiated", None)
        if hook is not None and id(ext) not in told:
            told.add(id(ext))
            hook(inst)


def admit_instance(store, desc):
    """Refuse (ResourceLimitError) an instance of `desc` that would pass the
    store's limits, before anything of it is made (runtime/limits.py)."""
    limits = store_limits(store)
    if limits.active:
        limits.admit(1, [(m.limits.min, m.limits.max) for m in desc.memories],
                     [(t.limits.min, t.limits.max) for t in desc.tables])
    return limits


def instantiate(desc, code, imports=None, *, store=None, instance_class=Instance, memory="cow"):
    """Instantiate a compiled module: LinkError for bad imports (ResourceLimitError
    for one the store's limits refuse), Trap when a segment or the start function
    traps (a host exception passes unchanged).
    `instance_class` (an Instance subclass) chooses the classes of the externs;
    `memory` what its memories are (Options.memory: "cow" or "anonymous")."""
    _ext.signals_ensure()
    store = store if store is not None else Store()
    bounds = bounds_mode(code)
    externs = resolve_imports(desc, imports, bounds)
    limits = admit_instance(store, desc)
    inst = instance_class(desc, code, store)
    limits.track("instances", inst)
    inst.link_imports(externs)
    inst.define_functions()
    inst.define_globals()
    inst.define_tables_and_memories(guarded=(bounds == "guard"), cow=(memory == "cow"))
    inst.define_segments()
    inst.define_exports()
    _tell_imports(externs, inst)
    inst.apply_segments()
    if desc.start is not None:
        inst.function(desc.start)()
    return inst
