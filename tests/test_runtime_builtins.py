"""The runtime builtins that compiled code calls (spec semantics, bounds, traps),
exercised from hand-written IR through the real entry."""
import pytest

from wasabi import _ext
from wasabi.abi import traps
from wasabi.abi import vmctx as V
from wasabi.binary.types import I32, I64, FUNCREF, FuncType
from wasabi.errors import Trap
from handir import array_thunk_ir, link_ir

# wrapper name -> (builtin call with memory/table 0 and segment 0, wasm params, result)
WRAPPERS = {
    "memory_grow": ("call i32 @wasabi_rt_memory_grow(ptr %vmctx, i32 0, i32 %a0)", (I32,), I32),
    "memory_fill": ("call void @wasabi_rt_memory_fill(ptr %vmctx, i32 0, i32 %a0, i32 %a1, i32 %a2)",
                    (I32, I32, I32), None),
    "memory_copy": ("call void @wasabi_rt_memory_copy(ptr %vmctx, i32 0, i32 0, i32 %a0, i32 %a1, i32 %a2)",
                    (I32, I32, I32), None),
    "memory_init": ("call void @wasabi_rt_memory_init(ptr %vmctx, i32 0, i32 0, i32 %a0, i32 %a1, i32 %a2)",
                    (I32, I32, I32), None),
    "data_drop": ("call void @wasabi_rt_data_drop(ptr %vmctx, i32 0)", (), None),
    "table_get": ("call ptr @wasabi_rt_table_get(ptr %vmctx, i32 0, i32 %a0)", (I32,), I64),
    "table_set": ("call void @wasabi_rt_table_set(ptr %vmctx, i32 0, i32 %a0, ptr %p1)", (I32, I64), None),
    "table_size": ("call i32 @wasabi_rt_table_size(ptr %vmctx, i32 0)", (), I32),
    "table_grow": ("call i32 @wasabi_rt_table_grow(ptr %vmctx, i32 0, ptr %p0, i32 %a1)", (I64, I32), I32),
    "table_fill": ("call void @wasabi_rt_table_fill(ptr %vmctx, i32 0, i32 %a0, ptr %p1, i32 %a2)",
                   (I32, I64, I32), None),
    "table_copy": ("call void @wasabi_rt_table_copy(ptr %vmctx, i32 0, i32 0, i32 %a0, i32 %a1, i32 %a2)",
                   (I32, I32, I32), None),
    "table_init": ("call void @wasabi_rt_table_init(ptr %vmctx, i32 0, i32 0, i32 %a0, i32 %a1, i32 %a2)",
                   (I32, I32, I32), None),
    "elem_drop": ("call void @wasabi_rt_elem_drop(ptr %vmctx, i32 0)", (), None),
}
LL = {I32: "i32", I64: "i64"}


def wrapper_ir(name, call, params, result):
    args = ", ".join(["ptr %vmctx"] + [f"{LL[t]} %a{i}" for i, t in enumerate(params)])
    lines = [f"define {LL.get(result, 'void')} @w_{name}({args}) {{"]
    lines += [f"  %p{i} = inttoptr i64 %a{i} to ptr" for i, t in enumerate(params) if t == I64]
    if result is None:
        lines += [f"  {call}", "  ret void"]
    elif result == I64:
        lines += [f"  %r = {call}", "  %ri = ptrtoint ptr %r to i64", "  ret i64 %ri"]
    else:
        lines += [f"  %r = {call}", "  ret i32 %r"]
    return "\n".join(lines + ["}", ""])


def signature(params, result):
    return FuncType(params, () if result is None else (result,))


@pytest.fixture(scope="module")
def lib():
    sigs = sorted({signature(p, r) for _, p, r in WRAPPERS.values()}, key=str)
    ir = "".join(wrapper_ir(n, *w) for n, w in WRAPPERS.items())
    ir += "".join(array_thunk_ir(f"thunk{i}", s) for i, s in enumerate(sigs))
    linked = link_ir(ir, [f"w_{n}" for n in WRAPPERS] + [f"thunk{i}" for i in range(len(sigs))])
    return linked, {s: linked[f"thunk{i}"] for i, s in enumerate(sigs)}


REFS = (0x1000, 0x2000, 0x3000)
DATA = b"hello world"


class Env:
    def __init__(self, lib):
        self.lib, self.thunks = lib
        self.mem = _ext.NativeMemory(1, 2, True)
        self.table = _ext.NativeTable(4, 8, FUNCREF, 0)
        self.vm = _ext.RawBuffer(V.VMCTX_SIZE)
        self.tables = _ext.RawBuffer(8)
        self.tables.set_u64(0, self.table.address)
        self.refs = _ext.RawBuffer(8 * len(REFS))
        for i, r in enumerate(REFS):
            self.refs.set_u64(8 * i, r)
        self.datas = _ext.RawBuffer(V.SEGMENT_RECORD_SIZE)
        self.datas.set_u64(V.SEGMENT_PTR, _ext.bytes_address(DATA))
        self.datas.set_u64(V.SEGMENT_LEN, len(DATA))
        self.elems = _ext.RawBuffer(V.SEGMENT_RECORD_SIZE)
        self.elems.set_u64(V.SEGMENT_PTR, self.refs.address)
        self.elems.set_u64(V.SEGMENT_LEN, len(REFS))
        for off, buf in ((V.VMCTX_TABLES, self.tables), (V.VMCTX_DATAS, self.datas),
                         (V.VMCTX_ELEMS, self.elems)):
            self.vm.set_u64(off, buf.address)
        self.vm.set_u64(V.VMCTX_MEM_BASE, self.mem.base)
        self.vm.set_u64(V.VMCTX_MEMORY, self.mem.address)

    def __getattr__(self, name):
        if name not in WRAPPERS:
            raise AttributeError(name)
        _, params, result = WRAPPERS[name]
        results = () if result is None else (result,)
        thunk = self.thunks[signature(params, result)]
        code = self.lib[f"w_{name}"]
        return _ext.FuncHandle(thunk, code, self.vm.address, params, results, {}, 0)


@pytest.fixture
def env(lib):
    return Env(lib)


def traps_with(code, fn, *args):
    with pytest.raises(Trap) as info:
        fn(*args)
    assert info.value.code == code
    assert str(info.value) == traps.MESSAGES[code]


def test_memory_grow_respects_the_maximum(env):
    assert env.memory_grow(0) == 1
    assert env.memory_grow(1) == 1
    assert env.mem.pages == 2
    assert env.memory_grow(1) == -1
    assert env.memory_grow(-1) == -1          # 0xFFFFFFFF pages
    assert env.mem.read(2 * 65536 - 1, 1) == b"\0"


def test_memory_fill_and_its_bounds(env):
    env.memory_fill(10, 0x1AB, 5)                 # the value is truncated to a byte
    assert env.mem.read(9, 7) == b"\0" + b"\xab" * 5 + b"\0"
    env.memory_fill(65536, 7, 0)                  # n = 0 at the end: allowed
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_fill, 65537, 7, 0)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_fill, 65530, 7, 7)
    assert env.mem.read(65530, 6) == b"\0" * 6   # nothing written on a trap
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_fill, 0, 0, -1)


def test_memory_copy_handles_overlap_and_bounds(env):
    env.mem.write(0, b"abcdef")
    env.memory_copy(2, 0, 4)
    assert env.mem.read(0, 6) == b"ababcd"
    env.memory_copy(0, 2, 4)
    assert env.mem.read(0, 6) == b"abcdcd"
    env.memory_copy(65536, 0, 0)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_copy, 0, 65537, 0)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_copy, 65535, 0, 2)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_copy, 0, -1, 1)


def test_memory_init_and_data_drop(env):
    env.memory_init(100, 6, 5)
    assert env.mem.read(100, 5) == b"world"
    env.memory_init(0, len(DATA), 0)               # n = 0 at the segment's end: allowed
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_init, 0, len(DATA) + 1, 0)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_init, 0, 6, 6)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_init, 65537, 0, 0)   # n = 0 still checks dst
    env.data_drop()
    env.data_drop()                                # dropping twice is allowed
    env.memory_init(0, 0, 0)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_init, 0, 0, 1)
    traps_with(traps.TRAP_OOB_MEMORY, env.memory_init, 0, 1, 0)


def test_table_get_set_size(env):
    assert env.table_size() == 4
    env.table_set(3, 0xABC0)
    assert env.table_get(3) == 0xABC0
    assert env.table_get(0) == 0
    traps_with(traps.TRAP_OOB_TABLE, env.table_get, 4)
    traps_with(traps.TRAP_OOB_TABLE, env.table_set, -1, 0)


def test_table_grow_up_to_the_maximum(env):
    assert env.table_grow(0x10, 2) == 4
    assert env.table_size() == 6
    assert env.table_get(5) == 0x10
    assert env.table_grow(0, 3) == -1
    assert env.table_grow(0, 2) == 6
    assert env.table_grow(0, 0) == 8


def test_table_fill_copy_and_bounds(env):
    env.table_fill(1, 0x77, 3)
    assert [env.table.get(i) for i in range(4)] == [0, 0x77, 0x77, 0x77]
    env.table_fill(4, 0x1, 0)
    traps_with(traps.TRAP_OOB_TABLE, env.table_fill, 5, 0x1, 0)
    traps_with(traps.TRAP_OOB_TABLE, env.table_fill, 2, 0x1, 3)
    env.table.set(0, 0x55)
    env.table_copy(1, 0, 3)
    assert [env.table.get(i) for i in range(4)] == [0x55, 0x55, 0x77, 0x77]
    traps_with(traps.TRAP_OOB_TABLE, env.table_copy, 0, 2, 3)


def test_table_init_and_elem_drop(env):
    env.table_init(1, 0, 3)
    assert [env.table.get(i) for i in range(4)] == [0, *REFS]
    traps_with(traps.TRAP_OOB_TABLE, env.table_init, 2, 0, 3)
    traps_with(traps.TRAP_OOB_TABLE, env.table_init, 0, 4, 0)
    env.elem_drop()
    env.table_init(0, 0, 0)
    traps_with(traps.TRAP_OOB_TABLE, env.table_init, 0, 0, 1)


def test_python_side_of_memory_and_table_checks_bounds(env):
    with pytest.raises(IndexError):
        env.mem.read(65535, 2)
    with pytest.raises(IndexError):
        env.mem.write(65536, b"x")
    with pytest.raises(IndexError):
        env.table.get(4)
    assert env.mem.init_segment(0, DATA, 0, len(DATA)) == 0
    assert env.mem.init_segment(65530, DATA, 0, len(DATA)) == traps.TRAP_OOB_MEMORY


def test_memories_that_cannot_exist_are_refused():
    with pytest.raises(MemoryError):
        _ext.NativeMemory(3, 2, True)
    unguarded = _ext.NativeMemory(0, 0, False)
    assert unguarded.size == 0 and unguarded.grow(1) == -1 and unguarded.grow(0) == 0
