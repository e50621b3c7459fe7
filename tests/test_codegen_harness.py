"""A minimal instantiation for compiler tests, independent of wasabi.runtime's Instance.

FakeInstance lays out a VMContext exactly as wasabi/abi/vmctx.py says, using the
runtime's native memory and table records (wasabi._ext), so compiled code runs
through the real entry trampoline, traps and builtins. It supports what the
compiler tests need: one memory, globals with constant initializers, tables with
active element segments of ref.func/ref.null, passive data/elem segments, no
imports. It holds no tests itself.
"""
import ctypes
import struct

import wasmtime

import wasabi
from wasabi import _ext
from wasabi.abi import vmctx as V
from wasabi.binary.types import EXTERN_FUNC
from wasabi.compiler import thunks
from wasabi.compiler import compile_module
from wasabi.options import Options


def u64_array(values):
    return (ctypes.c_uint64 * max(1, len(values)))(*values)


def const_value(expr, func_record):
    """The raw 64-bit value of a constant expression (no global.get)."""
    (opcode, imm), = expr.instrs
    if opcode in (0x41, 0x42, 0x43, 0x44):
        return imm & 0xFFFFFFFFFFFFFFFF
    if opcode == 0xD0:
        return 0
    if opcode == 0xD2:
        return func_record(imm)
    raise NotImplementedError(f"const expr opcode {opcode:#x}")


class FakeInstance:
    def __init__(self, wat_or_bytes, tier="T1", bounds="guard"):
        data = wasmtime.wat2wasm(wat_or_bytes) if isinstance(wat_or_bytes, str) else wat_or_bytes
        self.desc = desc = wasabi.parse(data)        # decode + validate
        assert not desc.imports, "FakeInstance supports modules without imports"
        self.lib = compile_module(desc, Options(tier=tier, bounds=bounds))
        self.keep = []
        self.vmctx = ctypes.create_string_buffer(V.VMCTX_SIZE)
        self.address = ctypes.addressof(self.vmctx)
        self._layout_memory(bounds)
        self._layout_functions()
        self._layout_globals()
        self._layout_tables()
        self._layout_segments()

    def _set(self, offset, value):
        struct.pack_into("<Q", self.vmctx, offset, value)

    def _layout_memory(self, bounds):
        self.memory = None
        _ext.signals_ensure()          # guard-page faults become traps
        if self.desc.memories:
            limits = self.desc.memories[0].limits
            maximum = limits.max if limits.max is not None else 65536
            self.memory = _ext.NativeMemory(limits.min, maximum, bounds == "guard")
            self._set(V.VMCTX_MEM_BASE, self.memory.base)
            self._set(V.VMCTX_MEMORY, self.memory.address)

    def _layout_functions(self):
        desc = self.desc
        self.type_ids = [desc.types.index(t) + 1 for t in desc.types]   # equal types, equal id
        self.funcs = (ctypes.c_uint64 * (3 * max(1, len(desc.funcs))))()
        for f in desc.funcs:
            base = 3 * f.index
            self.funcs[base] = self.lib.func_address(f.index)
            self.funcs[base + 1] = self.address
            self.funcs[base + 2] = self.type_ids[f.type_index]
        self.type_id_array = u64_array(self.type_ids)
        self._set(V.VMCTX_FUNCS, ctypes.addressof(self.funcs))
        self._set(V.VMCTX_TYPE_IDS, ctypes.addressof(self.type_id_array))

    def func_record(self, index):
        return ctypes.addressof(self.funcs) + index * V.FUNC_RECORD_SIZE

    def _layout_globals(self):
        self.cells = (ctypes.c_uint64 * (2 * max(1, len(self.desc.globals))))()
        pointers = []
        for i, g in enumerate(self.desc.globals):
            self.cells[2 * i] = const_value(g.init, self.func_record)
            pointers.append(ctypes.addressof(self.cells) + 16 * i)
        self.global_ptrs = u64_array(pointers)
        self._set(V.VMCTX_GLOBALS, ctypes.addressof(self.global_ptrs))

    def _layout_tables(self):
        self.tables = []
        for table in self.desc.tables:
            self.tables.append(_ext.NativeTable(table.limits.min, table.limits.max,
                                                table.elem_type, 0))
        self.table_ptrs = u64_array([t.address for t in self.tables])
        self._set(V.VMCTX_TABLES, ctypes.addressof(self.table_ptrs))
        for elem in self.desc.elems:
            if elem.mode == "active":
                start = const_value(elem.offset, self.func_record)
                for i, init in enumerate(elem.init):
                    self.tables[elem.table_index].set(start + i,
                                                      const_value(init, self.func_record))

    def _layout_segments(self):
        datas = []
        for d in self.desc.datas:
            buf = ctypes.create_string_buffer(d.data, max(1, len(d.data)))
            self.keep.append(buf)
            if d.mode == "active":
                offset = const_value(d.offset, self.func_record)
                ctypes.memmove(self.memory.base + offset, d.data, len(d.data))
                datas.append((ctypes.addressof(buf), 0))
            else:
                datas.append((ctypes.addressof(buf), len(d.data)))
        elems = []
        for e in self.desc.elems:
            refs = u64_array([const_value(x, self.func_record) for x in e.init])
            self.keep.append(refs)
            elems.append((ctypes.addressof(refs), len(e.init) if e.mode == "passive" else 0))
        self.data_segs = u64_array([x for seg in datas for x in seg])
        self.elem_segs = u64_array([x for seg in elems for x in seg])
        self._set(V.VMCTX_DATAS, ctypes.addressof(self.data_segs))
        self._set(V.VMCTX_ELEMS, ctypes.addressof(self.elem_segs))

    def call(self, name, *args):
        export = self.desc.export(name)
        assert export is not None and export.kind == EXTERN_FUNC, name
        ftype = self.desc.func_type(export.index)
        thunk = thunks.array_thunk(ftype)
        code = self.lib.func_address(export.index)
        if len(ftype.results) <= 1:
            return _ext.FuncHandle(thunk, code, self.address, ftype.params, ftype.results,
                                   {}, 0)(*args)
        raw_args = [_ext.raw_from_value(t, a, {}) for t, a in zip(ftype.params, args)]
        raws = _ext.call_array_raw(thunk, code, self.address, raw_args, len(ftype.results))
        return tuple(_ext.value_from_raw(t, r) for t, r in zip(ftype.results, raws))

    def read_memory(self, offset, n):
        return ctypes.string_at(self.memory.base + offset, n)
