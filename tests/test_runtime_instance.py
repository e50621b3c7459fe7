"""Instantiation over hand-built ModuleDescs and hand-written IR (independent of
the decoder and the translator): imports, globals, segments, start, exports."""
import gc
import weakref

import pytest

from wasabi.abi import traps
from wasabi.binary.types import (EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, EXTERNREF,
                                 FUNCREF, I32, I64, FuncType, GlobalType, Limits, MemoryType,
                                 TableType)
from wasabi.errors import LinkError, Trap
from wasabi.module.desc import (ConstExpr, DataDesc, ElemDesc, ExportDesc, FuncDesc, GlobalDesc,
                                ImportDesc, ModuleDesc)
from wasabi.runtime import Function, Global, HostFunction, Memory, Store, Table, instantiate
from wasabi.options import CodeOptions
from wasabi.runtime.code import Code, CodeTable

from handir import link_ir

I_I = FuncType((I32,), (I32,))
V_I = FuncType((), (I32,))
V_V = FuncType((), ())

IR = r"""
define i32 @call_import0(ptr %vmctx, i32 %a) {
  %fp = getelementptr i8, ptr %vmctx, i64 24
  %funcs = load ptr, ptr %fp
  %code = load ptr, ptr %funcs
  %cvp = getelementptr i8, ptr %funcs, i64 8
  %cv = load ptr, ptr %cvp
  %r = call i32 %code(ptr %cv, i32 %a)
  ret i32 %r
}
define i32 @load32(ptr %vmctx, i32 %addr) {
  %base = load ptr, ptr %vmctx
  %ea = zext i32 %addr to i64
  %p = getelementptr i8, ptr %base, i64 %ea
  %v = load i32, ptr %p
  ret i32 %v
}
define i32 @get_global0(ptr %vmctx) {
  %gp = getelementptr i8, ptr %vmctx, i64 32
  %globals = load ptr, ptr %gp
  %cell = load ptr, ptr %globals
  %v = load i32, ptr %cell
  ret i32 %v
}
define void @start(ptr %vmctx) {
  %base = load ptr, ptr %vmctx
  %p = getelementptr i8, ptr %base, i64 4
  store i32 42, ptr %p
  ret void
}
define void @trap_start(ptr %vmctx) {
  call void @wasabi_rt_trap(i32 1)
  unreachable
}
"""
SYMBOLS = ["call_import0", "load32", "get_global0", "start", "trap_start"]


@pytest.fixture(scope="module")
def lib():
    return link_ir(IR, SYMBOLS)


class FakeCode(Code):
    """Hand-linked code behind the runtime's Code interface: a table published up front."""

    def __init__(self, lib, symbols):
        super().__init__(CodeTable.fixed({i: lib[s] for i, s in symbols.items()}),
                         CodeOptions())


def i32(v):
    return ConstExpr(((0x41, v),))


def module(lib, *, start=None, datas=(), elems=(), globals_=(), extra_imports=(), table_max=None,
           start_symbol="start"):
    """env.inc (i32->i32) imported as function 0, then defined functions 1..4."""
    types = (I_I, V_I, V_V)
    imports = (ImportDesc("env", "inc", EXTERN_FUNC, 0),) + tuple(extra_imports)
    funcs = tuple(FuncDesc(i, t, (), 0, 0, 0) for i, t in ((1, 0), (2, 0), (3, 1), (4, 2)))
    desc = ModuleDesc(
        data=b"", types=types, imports=imports, funcs=funcs,
        tables=(TableType(FUNCREF, Limits(4, table_max)),),
        memories=(MemoryType(Limits(1, 3)),) if not any(i.kind == EXTERN_MEMORY for i in imports) else (),
        globals=tuple(globals_),
        exports=(ExportDesc("call", EXTERN_FUNC, 1), ExportDesc("load", EXTERN_FUNC, 2),
                 ExportDesc("g0", EXTERN_FUNC, 3), ExportDesc("inc", EXTERN_FUNC, 0),
                 ExportDesc("mem", EXTERN_MEMORY, 0), ExportDesc("tab", EXTERN_TABLE, 0)),
        start=start, elems=tuple(elems), datas=tuple(datas))
    code = FakeCode(lib, {1: "call_import0", 2: "load32", 3: "get_global0", 4: start_symbol})
    return desc, code


def host_inc():
    return HostFunction(I_I, lambda x: x + 1)


def test_exports_call_through_the_host_import(lib):
    desc, code = module(lib, globals_=[GlobalDesc(GlobalType(I32, False), i32(99))])
    inst = instantiate(desc, code, {"env": {"inc": host_inc()}})
    assert inst.exports.call(41) == 42
    assert inst.exports["g0"]() == 99
    assert isinstance(inst.exports.load, Function)
    assert inst.exports.inc(1) == 2
    assert sorted(name for name, _ in inst.exports) == ["call", "g0", "inc", "load", "mem", "tab"]
    with pytest.raises(LookupError):
        inst.exports.missing


def test_missing_and_mistyped_imports_raise_link_error(lib):
    desc, code = module(lib)
    with pytest.raises(LinkError, match="unknown import"):
        instantiate(desc, code, {"env": {}})
    with pytest.raises(LinkError, match="unknown import"):
        instantiate(desc, code, {})
    with pytest.raises(LinkError, match="incompatible import type"):
        instantiate(desc, code, {"env": {"inc": HostFunction(V_I, lambda: 1)}})
    with pytest.raises(LinkError, match="incompatible import type"):
        instantiate(desc, code, {"env": {"inc": Memory(None, MemoryType(Limits(1)))}})


@pytest.mark.parametrize("kind, want, given, ok", [
    (EXTERN_MEMORY, MemoryType(Limits(1, 2)), MemoryType(Limits(1, 2)), True),
    (EXTERN_MEMORY, MemoryType(Limits(2)), MemoryType(Limits(1)), False),
    (EXTERN_MEMORY, MemoryType(Limits(1, 2)), MemoryType(Limits(1)), False),
    (EXTERN_MEMORY, MemoryType(Limits(1, 2)), MemoryType(Limits(1, 3)), False),
    (EXTERN_TABLE, TableType(FUNCREF, Limits(1)), TableType(FUNCREF, Limits(3, 5)), True),
    (EXTERN_TABLE, TableType(FUNCREF, Limits(1)), TableType(EXTERNREF, Limits(3)), False),
    (EXTERN_GLOBAL, GlobalType(I32, False), GlobalType(I32, False), True),
    (EXTERN_GLOBAL, GlobalType(I32, False), GlobalType(I32, True), False),
    (EXTERN_GLOBAL, GlobalType(I32, True), GlobalType(I64, True), False),
])
def test_import_type_matching(lib, kind, want, given, ok):
    desc, code = module(lib, extra_imports=[ImportDesc("env", "x", kind, want)])
    cls = {EXTERN_MEMORY: Memory, EXTERN_TABLE: Table, EXTERN_GLOBAL: Global}[kind]
    imports = {"env": {"inc": host_inc(), "x": cls(None, given)}}
    if ok:
        instantiate(desc, code, imports)
    else:
        with pytest.raises(LinkError, match="incompatible import type"):
            instantiate(desc, code, imports)


def test_globals_from_constant_expressions(lib):
    imported = Global(None, GlobalType(I32, False), 1234)
    desc, code = module(lib, extra_imports=[ImportDesc("env", "g", EXTERN_GLOBAL, GlobalType(I32, False))],
                        globals_=[GlobalDesc(GlobalType(I32, True), ConstExpr(((0x23, 0),))),
                                  GlobalDesc(GlobalType(FUNCREF, False), ConstExpr(((0xD2, 2),))),
                                  GlobalDesc(GlobalType(EXTERNREF, False), ConstExpr(((0xD0, EXTERNREF),)))])
    inst = instantiate(desc, code, {"env": {"inc": host_inc(), "g": imported}})
    assert inst.exports.g0() == 1234          # global 0 is the import
    assert inst.globals[1].value == 1234
    assert inst.globals[2].value is inst.exports.load
    assert inst.globals[3].value is None


def test_data_segments_and_start_function(lib):
    desc, code = module(lib, start=4, datas=[DataDesc("active", b"\x05\0\0\0", 0, i32(100)),
                                             DataDesc("passive", b"zz")])
    inst = instantiate(desc, code, {"env": {"inc": host_inc()}})
    assert inst.exports.load(100) == 5
    assert inst.exports.load(4) == 42        # written by the start function
    assert inst.datas.get_u64(8) == 0        # active segment dropped
    assert inst.datas.get_u64(24) == 2      # passive one kept


def test_a_trapping_segment_keeps_earlier_writes_in_an_imported_memory(lib):
    mem = Memory(None, MemoryType(Limits(1)))
    desc, code = module(lib, extra_imports=[ImportDesc("env", "mem", EXTERN_MEMORY, MemoryType(Limits(1)))],
                        datas=[DataDesc("active", b"ok", 0, i32(10)),
                               DataDesc("active", b"no", 0, i32(65535))])
    with pytest.raises(Trap) as info:
        instantiate(desc, code, {"env": {"inc": host_inc(), "mem": mem}})
    assert info.value.code == traps.TRAP_OOB_MEMORY
    assert mem.read(10, 2) == b"ok" and mem.read(65535, 1) == b"\0"


def test_element_segments(lib):
    desc, code = module(lib, elems=[
        ElemDesc("active", FUNCREF, (ConstExpr(((0xD2, 1),)), ConstExpr(((0xD2, 0),))), 0, i32(1)),
        ElemDesc("passive", FUNCREF, (ConstExpr(((0xD0, FUNCREF),)),)),
        ElemDesc("declarative", FUNCREF, (ConstExpr(((0xD2, 2),)),))])
    host = host_inc()
    inst = instantiate(desc, code, {"env": {"inc": host}})
    tab = inst.exports.tab
    assert tab.get(0) is None
    assert tab.get(1) is inst.exports.call
    assert tab.get(2) is host                       # funcs[0] is the import's record
    assert [inst.elems.get_u64(16 * i + 8) for i in range(3)] == [0, 1, 0]
    tab.set(3, inst.exports.load)
    assert tab.get(3) is inst.exports.load


def test_a_trapping_element_segment_raises(lib):
    desc, code = module(lib, elems=[ElemDesc("active", FUNCREF, (ConstExpr(((0xD2, 1),)),), 0, i32(4))])
    with pytest.raises(Trap) as info:
        instantiate(desc, code, {"env": {"inc": host_inc()}})
    assert str(info.value) == "out of bounds table access"


def test_start_traps_and_host_exceptions_pass_unchanged(lib):
    desc, code = module(lib, start=4, start_symbol="trap_start")
    with pytest.raises(Trap, match="unreachable"):
        instantiate(desc, code, {"env": {"inc": host_inc()}})
    err = RuntimeError("mine")

    def boom(x):
        raise err
    desc, code = module(lib)
    inst = instantiate(desc, code, {"env": {"inc": HostFunction(I_I, boom)}})
    with pytest.raises(RuntimeError) as info:
        inst.exports.call(1)
    assert info.value is err


def test_importing_another_instances_function(lib):
    desc, code = module(lib)
    a = instantiate(desc, code, {"env": {"inc": HostFunction(I_I, lambda x: x * 3)}})
    b = instantiate(desc, code, {"env": {"inc": a.exports.call}}, store=Store())
    assert b.exports.call(5) == 15
    assert b.exports.inc is a.exports.call
    del a
    gc.collect()
    assert b.exports.call(2) == 6              # b keeps a alive


def test_externref_values_stay_alive_in_the_store():
    store = Store()
    g = Global(store, GlobalType(EXTERNREF, True), None)
    class Thing:
        pass
    obj = Thing()
    g.value = obj
    ref = weakref.ref(obj)
    del obj
    gc.collect()
    assert g.value is ref()
    t = Table(store, TableType(EXTERNREF, Limits(1, 2)), init="x")
    assert t.get(0) == "x" and t.grow(1, None) == 1 and t.grow(1) == -1


def test_instances_are_freed_with_their_store(lib):
    desc, code = module(lib)
    refs = []
    for _ in range(50):
        inst = instantiate(desc, code, {"env": {"inc": host_inc()}})
        refs.append(weakref.ref(inst))
        del inst
    gc.collect()
    assert not any(r() for r in refs)


def test_funcref_registry_survives_a_collection_inside_add():
    """Instances die in reference cycles, so the garbage collector can run an
    owner's finalizer inside the registry's add() (any allocation may collect).
    That finalizer must not take the registry's lock again (it deadlocked)."""
    import threading
    from wasabi.runtime.func import _RecordRegistry

    class Owner:
        def __init__(self):
            self.cycle = self

    registry = _RecordRegistry()
    getter = lambda owner, index: (owner, index)
    live = []

    def churn():
        for i in range(2000):
            owner = Owner()
            registry.add(0x10000 + 0x100 * (i % 64), 1, owner, getter)
            if i % 3 == 0:
                live.append(owner)          # some stay alive at reused addresses
            del owner

    old = gc.get_threshold()
    gc.set_threshold(1)                     # collect at (almost) every allocation
    try:
        worker = threading.Thread(target=churn, daemon=True)
        worker.start()
        worker.join(timeout=60)
    finally:
        gc.set_threshold(*old)
    assert not worker.is_alive(), "the registry deadlocked"
    gc.collect()
    last = live[-1]
    start = next(s for s, (end, ref, _) in registry._spans.items() if ref() is last)
    assert registry.lookup(start) == (last, 0)


def test_function_exports_are_made_on_first_access_in_export_order():
    import wasmtime
    import wasabi
    from wasabi import _ext
    wat = '''(module (memory (export "mem") 1)
      (func (export "b") (result i32) i32.const 2)
      (func (export "a") (result i32) i32.const 1)
      (global (export "g") i32 (i32.const 3)))'''
    instance = wasabi.instantiate(wasabi.compile(wasmtime.wat2wasm(wat)))
    items = instance.exports._items
    assert type(items["a"]) is _ext.LazyExport and type(items["b"]) is _ext.LazyExport
    assert instance.exports.a() == 1 and instance.exports["b"]() == 2
    assert instance.exports.a is instance.exports.a           # made once
    assert type(items["b"]) is not _ext.LazyExport
    assert [name for name, _ in instance.exports] == ["mem", "b", "a", "g"]
    assert len(instance.exports) == 4 and "a" in instance.exports
    assert not any(type(v) is _ext.LazyExport for v in items.values())


def test_a_store_does_not_keep_unused_instances_alive():
    """One Store, one instance per request: each is freed when dropped (a Store
    that kept them would run out of address space: 8 GiB per memory)."""
    import wasmtime
    import wasabi
    store = wasabi.Store()
    module = wasabi.Module(store, wasmtime.wat2wasm(
        '(module (memory (export "mem") 1) (func (export "f") (result i32) i32.const 7))'))
    refs = []
    for _ in range(50):
        instance = wasabi.Instance(module)
        assert instance.exports.f() == 7
        refs.append(weakref.ref(instance._instance))
        del instance
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_a_funcref_table_keeps_the_instances_that_wrote_to_it():
    """An instance whose elem segment put its functions into an imported table
    lives as long as the table, even when nothing else refers to it."""
    import wasmtime
    import wasabi
    from wasabi.binary.types import FUNCREF, Limits, TableType
    store = Store()
    table = Table(store, TableType(FUNCREF, Limits(2, None)))
    writer = wasabi.compile(wasmtime.wat2wasm('''(module (import "env" "t" (table 2 funcref))
      (elem (i32.const 0) $f)
      (func $f (result i32) i32.const 41))'''))
    caller = wasabi.compile(wasmtime.wat2wasm('''(module (import "env" "t" (table 2 funcref))
      (type $r (func (result i32)))
      (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))'''))
    instance = wasabi.instantiate(writer, {"env": {"t": table}})
    ref = weakref.ref(instance._instance)           # the runtime instance under the API's
    del instance
    gc.collect()
    assert ref() is not None                       # the table holds it
    assert wasabi.instantiate(caller, {"env": {"t": table}}).exports.call(0) == 41
    del table
    gc.collect()
    assert ref() is None
