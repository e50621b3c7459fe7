"""Instance snapshots: an instance's state as plain, picklable values, and an
instance rebuilt from them (what pickling an instance sends: api/pickling.py).

    state = capture(instance)             # InstanceState: memories, globals, tables, segments
    twin = rebuild(Instance, desc, code, store, externs, state, memory="cow")

capture takes the instance's gate as clone_instance does (runtime/clone.py): no
thread runs the instance while its state is read, and one that is running it
makes capture fail (RuntimeError) rather than copy a state half-way through a
change. Memories are copied copy-on-write (memory_backing.c, as a clone's):
the snapshot costs page tables, and its bytes are pickled straight from that
mapping (protocol 5: a PickleBuffer, which dask and ray send out of band,
without a copy). Function references in tables and globals travel as function
indexes of the instance; a reference to another instance's function or to a
host function cannot travel (pickle.PicklingError naming where it is).
externref values travel as the Python objects they are (pickled with the rest).

Imports are the caller's business: rebuild links the externs it is given, in
import order. What rebuild makes is what clone_instance makes: the instance's
functions, globals, tables and memories with the captured contents and its
segments' dropped/live state; no start function runs.
"""
import pickle as _pickle

from .. import _ext
from ..abi import vmctx as V
from ..binary.types import EXTERNREF, FUNCREF, Limits, MemoryType, TableType
from .func import funcref_owner
from .instance import _tell_imports
from .limits import store_limits


class MemoryImage:
    """A defined memory at capture: its size, type and bytes. While it is about to
    be pickled `data` is a NativeMemory (a copy-on-write clone); unpickled, any
    bytes-like object of pages * 64 KiB bytes."""

    def __init__(self, pages, declared_max, shared, data):
        self.pages = pages
        self.declared_max = declared_max
        self.shared = shared
        self.data = data

    def __reduce_ex__(self, protocol):
        data = self.data
        if isinstance(data, _ext.NativeMemory):
            # protocol 5: no copy here (in band, pickle writes the bytes from the mapping;
            # out of band, the transport sends the buffer itself); before 5, one copy
            data = (_pickle.PickleBuffer(_ext.MemoryBuffer(data)) if protocol >= 5
                    else data.read(0, data.size))
        return (MemoryImage, (self.pages, self.declared_max, self.shared, data))


class InstanceState:
    """What capture reads: one entry per *defined* memory, global and table (imported
    ones belong to their owners), and the indexes of dropped segments."""

    def __init__(self, memories, globals, tables, dropped_elems, dropped_datas):
        self.memories = memories            # [MemoryImage]
        self.globals = globals              # [encoded value] (see _encode)
        self.tables = tables                # [(elem_type, size, maximum, [encoded])]
        self.dropped_elems = dropped_elems
        self.dropped_datas = dropped_datas


# ---- capture ----

def capture(instance):
    """The InstanceState of `instance` (RuntimeError while a thread runs it)."""
    if getattr(getattr(instance, "_repl_state", None), "cells", None):
        raise _pickle.PicklingError("cannot pickle an instance that has REPL cells "
                                   "(add_function): they are bound to its live state")
    if not _ext.gate_hold(instance.vmctx_address):
        raise RuntimeError("cannot snapshot an instance while a thread runs it")
    try:
        return _capture(instance)
    finally:
        _ext.gate_release(instance.vmctx_address)


def _capture(instance):
    desc = instance.desc
    refs = _Refs(instance)
    globals_ = [refs.encode(g.global_type.valtype, g.raw, f"global {i}")
                for i, g in enumerate(instance.globals)
                if i >= desc.num_imported_globals]
    tables = []
    for i, table in enumerate(instance.tables[desc.num_imported_tables:],
                              desc.num_imported_tables):
        native = table._native
        elements = [refs.encode(table.elem_type, native.get(j), f"table {i} element {j}")
                    for j in range(native.size)]
        tables.append((table.elem_type, native.size, table.maximum, elements))
    memories = [_memory_image(m) for m in instance.memories[desc.num_imported_memories:]]
    return InstanceState(memories, globals_, tables,
                         _dropped(instance.elems, len(desc.elems)),
                         _dropped(instance.datas, len(desc.datas)))


def _memory_image(memory):
    native = memory._native
    copy = _ext.NativeMemory(native.pages, native.pages, False, True)
    _ext.memory_clone_contents(copy, native)
    # another thread may have grown a shared memory meanwhile: the copy says its size
    return MemoryImage(copy.pages, memory.declared_max, memory.shared, copy)


def _dropped(buffer, count):
    return [i for i in range(count)
            if buffer.get_u64(i * V.SEGMENT_RECORD_SIZE + V.SEGMENT_LEN) == 0]


class _Refs:
    """Reference values to and from what travels: a funcref as the index of the
    instance's function it points at (None for null), an externref as its object."""

    def __init__(self, instance):
        self.lo = instance.funcs.address
        self.hi = self.lo + len(instance.desc.func_type_indices) * V.FUNC_RECORD_SIZE

    def encode(self, valtype, raw, where):
        if valtype == FUNCREF:
            if not raw:
                return None
            if self.lo <= raw < self.hi:
                return (raw - self.lo) // V.FUNC_RECORD_SIZE
            owner = funcref_owner(raw)
            what = "a host function" if owner is None or not hasattr(owner, "desc") \
                else "a function of another instance"
            raise _pickle.PicklingError(
                f"{where} refers to {what} ({owner!r}), which cannot travel with the "
                "instance: only references to the instance's own functions can")
        if valtype == EXTERNREF:
            return _ext.value_from_raw(EXTERNREF, raw)
        return raw


def _decode(instance, valtype, value):
    if valtype == FUNCREF:
        return 0 if value is None else instance.func_record_address(value)
    if valtype == EXTERNREF:
        return _ext.raw_from_value(EXTERNREF, value, instance.store.keep)
    return value


# ---- rebuild ----

def rebuild(instance_class, desc, code, store, externs, state, memory="cow"):
    """A new instance of `desc` with `code`, linked to `externs` (one per import, in
    order), whose defined memories, globals and tables hold `state`'s contents."""
    _ext.signals_ensure()
    limits = store_limits(store)
    if limits.active:
        limits.admit(1, [(m.pages, m.declared_max) for m in state.memories],
                     [(size, maximum) for _, size, maximum, _ in state.tables])
    inst = instance_class(desc, code, store)
    limits.track("instances", inst)
    inst.link_imports(externs)
    inst.define_functions()
    _restore_globals(inst, state)
    _restore_tables(inst, state)
    _restore_memories(inst, state, guarded=(code.bounds == "guard"), cow=(memory == "cow"))
    inst.define_segments()
    for buffer, dropped in ((inst.elems, state.dropped_elems), (inst.datas, state.dropped_datas)):
        for i in dropped:
            buffer.set_u64(i * V.SEGMENT_RECORD_SIZE + V.SEGMENT_LEN, 0)
    inst.define_exports()
    _tell_imports(externs, inst)
    return inst


def _restore_globals(inst, state):
    for gdesc, value in zip(inst.desc.globals, state.globals):
        raw = _decode(inst, gdesc.type.valtype, value)
        inst.globals.append(inst.global_class._create(inst.store, gdesc.type, raw))
        inst.hold_writer(inst.globals[-1])
    for i, glob in enumerate(inst.globals):
        inst.global_ptrs.set_u64(i * 8, glob.address)


def _restore_tables(inst, state):
    for elem_type, size, maximum, elements in state.tables:
        table = inst.table_class._create(inst.store, TableType(elem_type, Limits(size, maximum)))
        native = table._native
        for j, value in enumerate(elements):
            if value is not None:
                native.set(j, _decode(inst, elem_type, value))
        inst.tables.append(table)
        inst.hold_writer(table)
    for i, table in enumerate(inst.tables):
        inst.table_ptrs.set_u64(i * 8, table.address)


def _restore_memories(inst, state, guarded, cow):
    for image in state.memories:
        mtype = MemoryType(Limits(image.pages, image.declared_max), image.shared)
        memory = inst.memory_class._create(inst.store, mtype, guarded, cow)
        data = memoryview(image.data).cast("B")
        if len(data) != memory.data_size:
            raise ValueError(f"a memory snapshot of {len(data)} bytes for {image.pages} pages")
        memory._native.write(0, data)
        inst.memories.append(memory)
    if inst.memories:
        inst.vmctx.set_u64(V.VMCTX_MEM_BASE, inst.memories[0].base)
        inst.vmctx.set_u64(V.VMCTX_MEMORY, inst.memories[0].address)
