"""instance.clone(): copies of memories, tables and globals; shared code; threads."""
import threading

import pytest
import wasmtime

import wasabi
from wasabi.compiler import modes
from wasabi.options import Mode, Options
from wasabi.runtime import Global, Table
from wasabi.runtime.clone import clone_instance
from wasabi.binary.types import FUNCREF, I32, GlobalType, Limits, TableType

WAT = """
(module
  (import "env" "shared_table" (table 1 funcref))
  (import "env" "base" (global $base i32))
  (memory (export "mem") 2 10)
  (global $g (export "g") (mut i32) (i32.const 5))
  (global $fref (mut funcref) (ref.func $get_g))
  (table $t (export "table") 3 funcref)
  (elem (table $t) (i32.const 0) func $get_g $bump)
  (elem $passive func $get_g)
  (data $pdata "xyz")
  (type $v2i (func (result i32)))
  (func $get_g (export "get_g") (result i32) global.get $g)
  (func $bump (export "bump") (result i32)
    global.get $g i32.const 1 i32.add global.set $g global.get $g)
  (func (export "via_table") (param i32) (result i32) (call_indirect $t (type $v2i) (local.get 0)))
  (func (export "via_global_ref") (result i32)
    (table.set $t (i32.const 2) (global.get $fref))
    (call_indirect $t (type $v2i) (i32.const 2)))
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "drop_data") data.drop $pdata)
  (func (export "init_data") (memory.init $pdata (i32.const 0) (i32.const 0) (i32.const 3)))
  (func (export "sum") (param i32 i32) (result i32)
    (local $acc i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (local.get 1)))
      (local.set $acc (i32.add (local.get $acc) (i32.load (local.get 0))))
      (local.set 0 (i32.add (local.get 0) (i32.const 4)))
      (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
      (br $next)))
    local.get $acc)
)
"""


def make(mode):
    data = wasmtime.wat2wasm(WAT)
    module = modes.compile(wasabi.parse(data), Options(mode=mode))
    return module


def imports_for(store):
    return {"env": {"shared_table": Table(store, TableType(FUNCREF, Limits(1, None))),
                    "base": Global(store, GlobalType(I32, False), 7)}}


@pytest.fixture(params=[Mode.EAGER, Mode.LAZY])
def original(request):
    from wasabi.runtime import Store
    store = Store()
    module = make(request.param)
    inst = module.instantiate(imports_for(store), store=store)
    inst.exports.store(0, 111)
    inst.exports.grow(1)                     # 3 pages now
    inst.exports.store(3 * 65536 - 4, 333)
    inst.exports.bump()                      # g = 6
    return module, inst


def test_clone_copies_state_then_diverges(original):
    module, inst = original
    clone = clone_instance(inst)
    assert clone.exports.size() == 3
    assert clone.exports.load(0) == 111 and clone.exports.load(3 * 65536 - 4) == 333
    assert clone.exports.g.value == 6 and clone.exports.get_g() == 6
    clone.exports.store(0, 222)
    clone.exports.bump()
    assert (inst.exports.load(0), inst.exports.get_g()) == (111, 6)
    assert (clone.exports.load(0), clone.exports.get_g()) == (222, 7)
    inst.exports.grow(2)
    assert (inst.exports.size(), clone.exports.size()) == (5, 3)
    assert clone.exports.mem.read(0, 4) != inst.exports.mem.read(0, 4)


def test_clone_tables_and_funcref_globals_call_the_clone(original):
    _, inst = original
    clone = clone_instance(inst)
    clone.exports.bump()                     # clone g = 7, original g = 6
    assert clone.exports.via_table(0) == 7 and inst.exports.via_table(0) == 6
    assert clone.exports.via_global_ref() == 7 and inst.exports.via_global_ref() == 6
    assert clone.exports.via_table(1) == 8 and inst.exports.get_g() == 6


def test_clone_shares_imports_and_segment_state(original):
    _, inst = original
    inst.exports.drop_data()
    clone = clone_instance(inst)
    assert clone.tables[0] is inst.tables[0]              # the imported table is shared
    assert clone.tables[1] is not inst.tables[1]
    with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
        clone.exports.init_data()                          # dropped in the clone too


def test_clone_shares_the_code(original):
    module, inst = original
    inst.exports.sum(0, 4)
    before = module.stats()["functions_compiled"]
    clone = clone_instance(inst)
    assert clone.code is inst.code
    assert clone.exports.sum(0, 4) == inst.exports.sum(0, 4)
    assert module.stats()["functions_compiled"] == before


def test_threads_each_run_a_clone(original):
    _, inst = original
    words = 4096
    for i in range(words):
        inst.exports.store(4 * i, i)
    clones = [clone_instance(inst) for _ in range(4)]
    results = [None] * len(clones)

    def run(k):
        c = clones[k]
        c.exports.store(0, 1000 * (k + 1))              # each clone changes its own copy
        total = 0
        for _ in range(50):
            total += c.exports.sum(0, words)
        results[k] = total
    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(clones))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    base = sum(range(words))
    assert results == [50 * (base + 1000 * (k + 1)) for k in range(len(clones))]
    assert inst.exports.sum(0, words) == base


def test_running_instance_cannot_be_cloned():
    """A clone made while code runs would copy a half-changed state: refused."""
    from wasabi.binary.types import FuncType
    from wasabi.runtime import HostFunction, Store
    store = Store()
    outcome = []
    module = modes.compile(wasabi.parse(wasmtime.wat2wasm(
        '(module (import "h" "f" (func $f)) (memory 1) (func (export "run") call $f))')),
        Options(mode=Mode.EAGER))

    def host():
        try:
            clone_instance(holder[0])
            outcome.append("cloned")
        except RuntimeError as exc:
            outcome.append(str(exc))
    holder = [module.instantiate({"h": {"f": HostFunction(FuncType((), ()), host, store)}},
                                 store=store)]
    holder[0].exports.run()
    assert outcome == ["cannot clone an instance while a thread runs it"]
    assert clone_instance(holder[0]) is not None          # idle again


def test_module_clone(original):
    module, _ = original
    copy = module.clone()
    assert copy.code is module.code and copy.desc is module.desc


def test_numpy_views_made_before_a_clone_stay_live():
    """Cloning remaps the original's memory copy-on-write at the same address:
    a view made before still reads and writes the original, not the clone."""
    import numpy as np
    wat = '''(module (memory (export "mem") 2)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load8_u)
      (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8))'''
    instance = wasabi.instantiate(wasabi.compile(wasmtime.wat2wasm(wat)))
    view = np.asarray(instance.exports.mem.buffer)
    view[:] = 3
    twin = instance.clone()
    view[10] = 99                                   # the original, through the old view
    assert instance.exports.load(10) == 99 and twin.exports.load(10) == 3
    instance.exports.store(11, 42)
    assert view[11] == 42 and twin.exports.load(11) == 3
    twin_view = np.asarray(twin.exports.mem.buffer)
    twin_view[12] = 7
    assert view[12] == 3 and twin.exports.load(12) == 7
    assert int(view.sum()) == 3 * (view.size - 2) + 99 + 42
