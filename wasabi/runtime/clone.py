"""Cloning an instance: the same code, copies of the state, a new VMContext.

clone_instance(instance) builds an instance of the same module in the same
store whose defined memories, tables and globals are copies of the original's
current ones, so that the two run independently afterwards (on two threads, if
wanted: each has its own VMContext and entry gate). The code is shared, never
recompiled: in the lazy modes the clone registers with the module's code like
any instance and gets compiled functions as they come.

- Memories: copy-on-write. Every memory's bytes live in a memfd; cloning
  freezes that file and maps it privately in both (memory_backing.c), so a
  clone costs page tables plus the pages the original wrote since its last
  freeze, and each side copies a page only when it first writes it.
- Tables and globals: copied; a funcref that points into the original's
  function records (its own functions, including its imports) is moved to the
  clone's records, so call_indirect in the clone calls with the clone's vmctx.
- Imports (functions, and imported memories, tables and globals) are shared,
  as they were linked: the clone is what instantiating with the same imports
  and then replaying the original's history would give.
- Segments: the clone has the original's dropped/live state. No start
  function runs.

An instance that a thread is running cannot be cloned (its state would be
copied half-way through a change), and while a clone copies it the instance's
gate is held: a call into it from another thread is refused as busy. What it
shares with other instances (an exported table or memory) may still grow on
other threads meanwhile: tables and memories never move, and the clone gets a
snapshot of each at some size. An instance with REPL cells cannot be
cloned either: the cells are bound to the original's state.
"""
from .. import _ext
from ..abi import vmctx as V
from ..binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE
from ..binary.types import FUNCREF, Limits, MemoryType, TableType
from .func import funcref_owner
from .lifetimes import join
from .limits import store_limits


def clone_instance(instance):
    """A new instance with copies of `instance`'s memories, tables and globals."""
    if getattr(getattr(instance, "_repl_state", None), "cells", None):
        raise NotImplementedError("cannot clone an instance that has REPL cells")
    # the gate, held while copying: no thread can start running the instance
    # (and change what is being copied) before the copy is complete
    if not _ext.gate_hold(instance.vmctx_address):
        raise RuntimeError("cannot clone an instance while a thread runs it")
    try:
        return _clone(instance)
    finally:
        _ext.gate_release(instance.vmctx_address)


def _admit(instance):
    """The store's limits on the clone: counts, and the limiter on its sizes."""
    limits = store_limits(instance.store)
    if limits.active:
        first_memory = instance.desc.num_imported_memories
        first_table = instance.desc.num_imported_tables
        limits.admit(1, [(m.pages, m.declared_max) for m in instance.memories[first_memory:]],
                     [(t.size, t.maximum) for t in instance.tables[first_table:]])
    return limits


def _clone(instance):
    desc, store = instance.desc, instance.store
    limits = _admit(instance)
    clone = type(instance)(desc, instance.code, store)
    limits.track("instances", clone)
    clone.link_imports(_imported_externs(instance))
    clone.define_functions()
    rebase = _Rebase(instance, clone)
    _copy_globals(instance, clone, rebase)
    _copy_tables(instance, clone, rebase)
    rebase.keep_foreign(clone)
    _copy_memories(instance, clone)
    clone.define_segments()
    _copy_segment_state(instance, clone)
    clone.define_exports()
    _tell_imports_cloned(instance, clone)
    return clone


def _tell_imports_cloned(original, clone):
    """Imports with per-instance state (WASI contexts) give the clone its own copy."""
    for ext in original._imported_funcs.values():
        hook = getattr(ext, "cloned", None)
        if hook is not None:
            hook(original, clone)


class _Rebase:
    """Moves references to the original's function records to the clone's."""

    def __init__(self, original, clone):
        count = len(original.desc.func_type_indices)
        self.lo = original.funcs.address
        self.hi = self.lo + count * V.FUNC_RECORD_SIZE
        self.new_lo = clone.funcs.address
        self.foreign = set()       # other non-null references copied

    def raw(self, raw):
        if self.lo <= raw < self.hi:
            return raw - self.lo + self.new_lo
        if raw:
            self.foreign.add(raw)
        return raw

    def keep_foreign(self, clone):
        """The clone holds the original's references to other instances' functions
        now: it joins their lifetime groups (runtime/lifetimes.py)."""
        for raw in self.foreign:
            owner = funcref_owner(raw)
            if hasattr(owner, "hold_writer"):       # an instance (not a host function)
                join(clone, owner)


def _imported_externs(instance):
    """The externs the original was linked with, in import order."""
    desc = instance.desc
    counters = {EXTERN_FUNC: 0, EXTERN_TABLE: 0, EXTERN_MEMORY: 0, EXTERN_GLOBAL: 0}
    sources = {EXTERN_FUNC: instance._imported_funcs, EXTERN_TABLE: instance.tables,
               EXTERN_MEMORY: instance.memories, EXTERN_GLOBAL: instance.globals}
    out = []
    for imp in desc.imports:
        i = counters[imp.kind]
        counters[imp.kind] += 1
        out.append(sources[imp.kind][i])
    return out


def _copy_globals(original, clone, rebase):
    first = original.desc.num_imported_globals
    for glob in original.globals[first:]:
        raw = glob.raw
        if glob.global_type.valtype == FUNCREF:
            raw = rebase.raw(raw)
        clone.globals.append(clone.global_class._create(clone.store, glob.global_type, raw))
        clone.hold_writer(clone.globals[-1])
    for i, glob in enumerate(clone.globals):
        clone.global_ptrs.set_u64(i * 8, glob.address)


def _copy_tables(original, clone, rebase):
    first = original.desc.num_imported_tables
    for table in original.tables[first:]:
        ttype = TableType(table.elem_type, Limits(table.size, table.maximum))
        copy = clone.table_class._create(clone.store, ttype)
        if table.elem_type == FUNCREF:
            rebase.foreign |= _ext.table_copy_rebased(copy._native, table._native, rebase.lo,
                                                      rebase.hi, rebase.new_lo)
        else:
            _ext.table_copy_rebased(copy._native, table._native, 0, 0, 0)
        clone.tables.append(copy)
        clone.hold_writer(copy)
    for i, table in enumerate(clone.tables):
        clone.table_ptrs.set_u64(i * 8, table.address)


def _copy_memories(original, clone):
    first = original.desc.num_imported_memories
    for memory in original.memories[first:]:
        mtype = MemoryType(Limits(memory.pages, memory.declared_max), memory.shared)
        copy = clone.memory_class._create(clone.store, mtype, memory.guarded)
        _ext.memory_clone_contents(copy._native, memory._native)
        clone.memories.append(copy)
    if clone.memories:
        clone.vmctx.set_u64(V.VMCTX_MEM_BASE, clone.memories[0].base)
        clone.vmctx.set_u64(V.VMCTX_MEMORY, clone.memories[0].address)


def _copy_segment_state(original, clone):
    """Dropped segments stay dropped (length 0) in the clone."""
    for buffer_name, count in (("elems", len(original.desc.elems)),
                               ("datas", len(original.desc.datas))):
        source, target = getattr(original, buffer_name), getattr(clone, buffer_name)
        for i in range(count):
            offset = i * V.SEGMENT_RECORD_SIZE + V.SEGMENT_LEN
            if source.get_u64(offset) == 0:
                target.set_u64(offset, 0)
