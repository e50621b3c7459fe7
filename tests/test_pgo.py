"""Mode.PGO (compiler/modes/tiered.py): a counting T0 baseline, hot functions rebuilt
at O2 in the background with their counts as the profile and swapped in through the
code table -- while they run, on several threads, in clones -- with results unchanged."""
import threading
import time

import pytest

import wasabi
from wasabi import Mode, Options
from wasabi.compiler import modes
from wasabi.compiler.modes import tiered

WAT = """(module
  (import "env" "note" (func $note (param i32)))
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 0))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "sum") (param i32) (result i64) (local i64)
    (block $b (loop $l (br_if $b (i32.eqz (local.get 0)))
      (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
      (i32.store (i32.const 0) (local.get 0))
      (global.set $g (i32.add (global.get $g) (i32.const 1)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))
    (local.get 1))
  (func (export "spin") (loop $l (br $l)))
  (func (export "noted") (param i32) (result i32) (call $note (local.get 0)) (call $fib (local.get 0))))"""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def compiled(hot=None):
    return modes.compile(wasabi.parse(wasabi.wat2wasm(WAT)), Options(mode=Mode.PGO),
                         **({} if hot is None else {"hot": hot}))


def instance(module, notes=None):
    return module.instantiate({"env": {"note": wasabi.runtime.HostFunction(
        wasabi.binary.types.FuncType((wasabi.binary.types.I32,), ()),
        (notes.append if notes is not None else lambda x: None))}})


def wait_for(predicate, seconds=20):
    end = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_hot_functions_are_swapped_for_o2_builds_and_give_the_same_results():
    module = compiled(hot=1000)
    inst = instance(module)
    assert inst.exports.fib(15) == 610 and inst.exports.sum(10) == 55
    stats = module.stats()
    assert stats["mode"] == "pgo" and stats["tier"] == "T0"
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)   # fib: 1973 calls
    for _ in range(50):
        assert inst.exports.sum(5000) == 5000 * 5001 // 2
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 2)
    assert inst.exports.fib(20) == 6765
    assert inst.exports.memory.read(0, 1) == b"\x01" and inst.exports.g.value == 10 + 50 * 5000
    stats = module.stats()
    assert stats["swaps"] == 2 and stats["optimize_errors"] == 0
    hottest = {h["function"]: h for h in stats["hottest"]}
    fib_index = module.desc.export("fib").index
    assert hottest[fib_index]["calls"] >= 1973 and hottest[fib_index]["loop_iterations"] == 0


def test_cold_functions_stay_in_the_baseline():
    module = compiled(hot=10**9)
    inst = instance(module)
    assert inst.exports.fib(18) == 2584
    time.sleep(0.1)
    stats = module.stats()
    assert stats["tiers"] == {"T0": stats["functions_compiled"], "O2": 0} and stats["swaps"] == 0


def test_functions_swapped_while_they_run_on_threads_and_clones(monkeypatch):
    """Every function is hot at once and the tier-up thread looks all the time: the
    recursion and the loops run on while their code is swapped under them."""
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = compiled(hot=1)
    first = instance(module)
    instances = [first] + [wasabi.runtime.clone.clone_instance(first) for _ in range(3)]
    errors = []

    def work(inst, k):
        try:
            for n in range(12, 22):
                assert inst.exports.fib(n) == fib(n)
                assert inst.exports.sum(1000 + k) == (1000 + k) * (1001 + k) // 2
        except BaseException as exc:        # noqa: B902 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(inst, k)) for k, inst in enumerate(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 2)
    assert all(i.exports.fib(10) == 55 for i in instances)


def test_host_calls_interrupts_and_fuel_work_in_both_tiers(monkeypatch):
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    notes = []
    module = compiled(hot=1)
    inst = instance(module, notes)
    assert inst.exports.noted(10) == 55
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 2)
    assert inst.exports.noted(11) == 89 and notes == [10, 11]
    store = inst.store
    timer = threading.Timer(0.1, store.interrupt)
    timer.start()
    with pytest.raises(wasabi.Interrupted):
        inst.exports.spin()
    fueled = modes.compile(wasabi.parse(wasabi.wat2wasm(WAT)),
                           Options(mode=Mode.PGO, fuel=True), hot=1)
    finst = instance(fueled)
    finst.store.set_fuel(10**9)
    assert finst.exports.fib(15) == 610
    assert wait_for(lambda: fueled.stats()["tiers"]["O2"] >= 1)
    finst.store.set_fuel(100)
    with pytest.raises(wasabi.OutOfFuel):
        finst.exports.fib(25)


def test_pgo_through_the_public_faces():
    module = wasabi.compile(WAT, Options(mode=Mode.PGO))
    inst = wasabi.instantiate(module, {"env": {"note": lambda x: None}})
    assert inst.call("fib", 12) == 144
    assert module.stats()["mode"] == "pgo"
    copy = wasabi.Module.deserialize(module.store, module.serialize())
    assert copy.options.mode is Mode.PGO
    assert wasabi.instantiate(copy, {"env": {"note": lambda x: None}}).call("fib", 10) == 55


def test_an_optimised_build_that_fails_leaves_the_baseline_running(monkeypatch):
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = compiled(hot=1)

    def refuse(*args, **kwargs):
        raise RuntimeError("simulated LLVM failure")
    monkeypatch.setattr(module.code._optimizer, "build", refuse)
    inst = instance(module)
    assert inst.exports.fib(16) == 987
    assert wait_for(lambda: module.stats()["optimize_errors"] >= 1)
    assert inst.exports.fib(17) == 1597 and module.stats()["tiers"]["O2"] == 0


OSR_WAT = """(module
  (func (export "sum") (param i32) (result i64) (local i64)
    (block $b (loop $l (br_if $b (i32.eqz (local.get 0)))
      (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))
    (local.get 1))
  (func (export "mixed") (param i32) (result i32 i64 f32 f64)
    (local $a i64) (local $f f32) (local $d f64) (local $v v128) (local $k i32)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (block $done (loop $outer
      (br_if $done (i32.ge_u (local.get $k) (local.get 0)))
      (local.set $a (i64.add (local.get $a) (i64.mul (i64.extend_i32_u (local.get $k)) (i64.const 3))))
      (local.set $f (f32.add (local.get $f) (f32.const 0.5)))
      (local.set $d (f64.add (local.get $d) (f64.convert_i32_u (local.get $k))))
      (local.set $v (i32x4.add (local.get $v) (v128.const i32x4 1 1 1 1)))
      (block $ib (loop $inner (br_if $ib (i32.eqz (i32.and (local.get $k) (i32.const 3))))
        (local.set $a (i64.xor (local.get $a) (i64.const 0x55)))
        (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $inner)))
      (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $outer)))
    (i32.add (local.get $k) (i32x4.extract_lane 3 (local.get $v)))
    (local.get $a) (local.get $f) (local.get $d))
  (func (export "carried") (param i32) (result i32)
    ;; a loop entered with a value on the stack and a parameter: no entry there
    (i32.const 7)
    (local.get 0)
    (loop $l (param i32) (result i32)
      (i32.sub (i32.const 1))
      (local.tee 0) (local.get 0) (br_if $l))
    (i32.add)))"""


def osr_module(mode, hot=None):
    return modes.compile(wasabi.parse(wasabi.wat2wasm(OSR_WAT)), Options(mode=mode),
                         **({} if hot is None else {"hot": hot}))


def test_a_function_called_once_leaves_the_baseline_in_its_loop(monkeypatch):
    """Entry into optimised code at a loop header: a long loop, one call."""
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = osr_module(Mode.PGO, hot=1)
    inst = module.instantiate()
    n = 60_000_000
    assert inst.exports.sum(n) == n * (n + 1) // 2
    counted = {h["function"]: h for h in module.stats()["hottest"]}[0]
    assert counted["calls"] == 1 and counted["loop_iterations"] < n    # the rest ran in O2


@pytest.mark.parametrize("n", [0, 1, 5, 1000, 4099, 20000])
def test_entries_at_loop_headers_keep_every_local(monkeypatch, n):
    """Every iteration looks for an entry (OSR_EVERY 1), so the switch happens at the
    first look after the build: locals of every type, nested loops, several results."""
    from wasabi.compiler import translator
    monkeypatch.setattr(translator, "OSR_EVERY", 1)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    eager = osr_module(Mode.EAGER).instantiate()
    expected = eager.exports.mixed(n), eager.exports.carried(n % 50 + 1)
    module = osr_module(Mode.PGO, hot=1)
    inst = module.instantiate()
    for _ in range(3):
        assert (inst.exports.mixed(n), inst.exports.carried(n % 50 + 1)) == expected
        wait_for(lambda: module.stats()["tiers"]["O2"] >= 2, seconds=5)
