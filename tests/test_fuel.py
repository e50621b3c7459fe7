"""Fuel (Options(fuel=True)): OutOfFuel, Store.set_fuel/get_fuel, the fuel shared by a
store's instances, and the fuel a call consumes compared with wasmtime's consume_fuel, on
hand-written modules and on generated ones (binaryen's wasm-opt -ttf, tests/fuzzexec)."""
import pathlib
import random
import sys

import pytest

import wasabi
from wasabi import Mode, Options
from wasabi.options import CodeOptions

wasmtime = pytest.importorskip("wasmtime")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import fuelcmp  # noqa: E402

MODES = (Mode.EAGER, Mode.LAZY, Mode.REPL)
TIERS = ("T0", "T1", "O2")

ENDLESS = """(module
  (func (export "spin") (loop $l (br $l)))
  (func $down (export "down") (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""


def make(wat, fuel=True, **options):
    store = wasabi.Store(options=Options(fuel=fuel, **options))
    return store, wasabi.Instance(wasabi.Module(store, wat))


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_out_of_fuel_endless_loop_and_recursion(mode, tier):
    store, instance = make(ENDLESS, mode=mode, tier=tier)
    for call in (instance.exports.spin, lambda: instance.exports.down(0)):
        store.set_fuel(100_000)
        with pytest.raises(wasabi.OutOfFuel, match="all fuel consumed by WebAssembly") as info:
            call()
        assert isinstance(info.value, wasabi.Trap)
        assert store.get_fuel() == 0
    # usable afterwards: fuel again, call again
    store.set_fuel(10)
    assert instance.exports.add(2, 3) == 5
    assert store.get_fuel() == 10 - 4          # entry + local.get x2 + i32.add


def test_store_starts_without_fuel():
    store, instance = make(ENDLESS)
    assert store.get_fuel() == 0
    with pytest.raises(wasabi.OutOfFuel):
        instance.exports.add(1, 2)


def test_set_fuel_get_fuel():
    store = wasabi.Store()
    store.set_fuel(12345)
    assert store.get_fuel() == 12345
    store.set_fuel(2**64 - 1)                  # the reserve beyond 2**63 - 1 is reported
    assert store.get_fuel() == 2**64 - 1
    for bad in (-1, 2**64):
        with pytest.raises(ValueError):
            store.set_fuel(bad)
    with pytest.raises(TypeError):
        store.set_fuel(1.5)


def test_fuel_runs_out_where_it_should():
    store, instance = make(ENDLESS)
    # add costs 4; wasmtime traps when the count reaches 0 at a check, and the only
    # check is at entry (cost 1): 1 fuel is too little, 2 is enough
    store.set_fuel(1)
    with pytest.raises(wasabi.OutOfFuel):
        instance.exports.add(1, 2)
    store.set_fuel(2)
    assert instance.exports.add(1, 2) == 3
    assert store.get_fuel() == 0               # overdrawn by 2: reported as 0


def test_without_fuel_option_nothing_is_counted():
    store, instance = make(ENDLESS, fuel=False)
    assert store.get_fuel() == 0
    assert instance.exports.add(1, 2) == 3     # no fuel needed, none consumed
    assert store.get_fuel() == 0


def test_fuel_off_ir_has_no_fuel_code():
    from wasabi.compiler.module_ir import translate_module
    desc = wasabi.parse(wasabi.wat2wasm(CASES["loops"][0]))
    plain = translate_module(desc).text
    counted = translate_module(desc, CodeOptions(fuel=True)).text
    assert "%fuel" not in plain and "fuel.out" not in plain
    assert "%fuel" in counted and "fuel.out" in counted
    assert translate_module(desc, CodeOptions(fuel=False)).text == plain


IMPORTER = """(module
  (import "a" "work" (func $work (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (local i32)
    (loop $l
      (local.set 1 (i32.add (local.get 1) (call $work (local.get 0))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1)))"""
WORKER = """(module
  (func (export "work") (param i32) (result i32) (local i32)
    (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 3)))
      (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
    (local.get 1)))"""


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_instances_of_a_store_share_fuel(mode):
    store = wasabi.Store(options=Options(fuel=True, mode=mode))
    worker = wasabi.Instance(wasabi.Module(store, WORKER))
    importer = wasabi.Instance(wasabi.Module(store, IMPORTER), {"a": worker.exports})
    store.set_fuel(10**6)
    assert importer.exports.run(20) > 0
    wasabi_used = 10**6 - store.get_fuel()
    # wasmtime, the same two instances in one store
    engine = fuelcmp.wasmtime_engine()
    wt_store = wasmtime.Store(engine)
    wt_worker = wasmtime.Instance(wt_store, wasmtime.Module(engine, WORKER), [])
    wt_importer = wasmtime.Instance(wt_store, wasmtime.Module(engine, IMPORTER),
                                    [wt_worker.exports(wt_store)["work"]])
    wt_store.set_fuel(10**6)
    wt_importer.exports(wt_store)["run"](wt_store, 20)
    assert wasabi_used == 10**6 - wt_store.get_fuel()
    # and the worker's share runs out in the importer's call
    store.set_fuel(wasabi_used // 2)
    with pytest.raises(wasabi.OutOfFuel):
        importer.exports.run(20)


def test_host_reentry_draws_from_the_same_fuel():
    store = wasabi.Store(options=Options(fuel=True))
    seen = []

    def host(x):
        seen.append(store.get_fuel())                          # stored before the call
        before = store.get_fuel()
        result = instance.exports.add(x, 1)                    # wasm again, same store
        seen.append(before - store.get_fuel())
        return result

    wat = """(module (import "env" "h" (func $h (param i32) (result i32)))
      (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
      (func (export "f") (param i32) (result i32) (call $h (local.get 0))))"""
    instance = wasabi.instantiate(wasabi.Module(store, wat), {"env": {"h": host}}, store=store)
    store.set_fuel(1000)
    assert instance.exports.f(5) == 6
    # f: entry 1 + local.get + call = 3 before the host runs; add costs 4; f's end 0
    assert seen == [1000 - 3, 4]
    assert store.get_fuel() == 1000 - 3 - 4


# -- fuel consumed, compared with wasmtime ---------------------------------------------------

CASES = {
    "loops": ("""(module
      (func (export "count") (param i32) (result i32) (local i32)
        (loop $l (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get 1) (local.get 0))))
        (local.get 1))
      (func (export "nested") (param i32 i32) (result i64) (local i32 i32 i64)
        (block $done (loop $outer
          (br_if $done (i32.ge_u (local.get 2) (local.get 0)))
          (local.set 3 (i32.const 0))
          (block $inner_done (loop $inner
            (br_if $inner_done (i32.ge_u (local.get 3) (local.get 1)))
            (local.set 4 (i64.add (local.get 4) (i64.extend_i32_u (local.get 3))))
            (local.set 3 (i32.add (local.get 3) (i32.const 1)))
            (br $inner)))
          (local.set 2 (i32.add (local.get 2) (i32.const 1)))
          (br $outer)))
        (local.get 4))
      (func (export "loop_result") (param i32) (result i32)
        (local.get 0)
        (loop $l (param i32) (result i32)
          (i32.sub (i32.const 1)) (local.tee 0) (local.get 0) (br_if $l) nop drop (local.get 0))))""",
              [("count", (0,)), ("count", (1,)), ("count", (100,)), ("nested", (7, 9)),
               ("nested", (0, 5)), ("loop_result", (10,))]),
    "br_table": ("""(module
      (func (export "switch") (param i32) (result i32) (local i32)
        (block $a (block $b (block $c (block $d
          (br_table $a $b $c $d (local.get 0)))
          (local.set 1 (i32.const 40)) (br $a))
          (local.set 1 (i32.const 30)) (return (local.get 1)))
          (local.set 1 (i32.const 20)))
        (i32.add (local.get 1) (i32.const 1)))
      (func (export "table_loop") (param i32) (result i32) (local i32)
        (loop $l
          (block $x (block $y
            (br_table $x $y $y (i32.rem_u (local.get 0) (i32.const 3))))
            (local.set 1 (i32.add (local.get 1) (i32.const 2))))
          (local.set 1 (i32.add (local.get 1) (i32.const 1)))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 1))
      (func (export "to_frame") (param i32) (result i32)
        (i32.const 7) (br_table 0 0 (local.get 0))))""",
                 [("switch", (i,)) for i in range(6)] + [("table_loop", (25,)),
                                                         ("to_frame", (1,))]),
    "call_indirect": ("""(module
      (type $t (func (param i32) (result i32)))
      (table 4 funcref)
      (elem (i32.const 0) $inc $dbl $sq)
      (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
      (func $dbl (type $t) (i32.shl (local.get 0) (i32.const 1)))
      (func $sq (type $t) (i32.mul (local.get 0) (local.get 0)))
      (func (export "apply") (param i32 i32) (result i32)
        (call_indirect (type $t) (local.get 1) (local.get 0)))
      (func (export "chain") (param i32) (result i32) (local i32)
        (loop $l
          (local.set 0 (call_indirect (type $t) (local.get 0) (i32.rem_u (local.get 1) (i32.const 3))))
          (br_if $l (i32.lt_u (local.tee 1 (i32.add (local.get 1) (i32.const 1))) (i32.const 12))))
        (local.get 0)))""",
                      [("apply", (0, 5)), ("apply", (1, 5)), ("apply", (2, 5)), ("chain", (1,))]),
    "recursion": ("""(module
      (func $fib (export "fib") (param i32) (result i32)
        (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
          (then (local.get 0))
          (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                         (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
      (func $even (export "even") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
          (else (call $odd (local.get 0)))))
      (func $odd (param i32) (result i32)
        (return (call $even (i32.sub (local.get 0) (i32.const 1))))))""",
                  [("fib", (0,)), ("fib", (1,)), ("fib", (15,)), ("even", (9,))]),
    "if_else_select": ("""(module
      (func (export "branches") (param i32) (result i32) (local i32)
        (if (i32.and (local.get 0) (i32.const 1)) (then (local.set 1 (i32.const 10))))
        (if (i32.and (local.get 0) (i32.const 2))
          (then (local.set 1 (i32.add (local.get 1) (i32.const 1))) nop)
          (else (local.set 1 (i32.sub (local.get 1) (i32.const 1))) (drop (i32.const 0))))
        (if (result i32 i32) (i32.and (local.get 0) (i32.const 4))
          (then (i32.const 1) (i32.const 2)) (else (i32.const 3) (i32.const 4)))
        (i32.add) (local.get 1) (i32.add))
      (func (export "pick") (param i32 i64 i64) (result i64)
        (select (local.get 1) (local.get 2) (local.get 0)))
      (func (export "early") (param i32) (result i32)
        (block (br_if 0 (local.get 0)) (return (i32.const 5)) (unreachable))
        (i32.const 6))
      (func (export "blocks") (result i32)
        (block (result i32) (block (result i32) (i32.const 1)) (i32.const 2) (i32.add))))""",
                       [("branches", (i,)) for i in range(8)]
                       + [("pick", (0, 1, 2)), ("pick", (1, 1, 2)), ("early", (0,)),
                          ("early", (1,)), ("blocks", ())]),
    "memory": ("""(module
      (memory 1 4)
      (data $d "0123456789abcdefghijklmnopqrstuvwxyz")
      (func (export "rw") (param i32) (result i32)
        (i32.store (local.get 0) (i32.const 0x01020304))
        (i64.store8 offset=4 (local.get 0) (i64.const 9))
        (i32.add (i32.load (local.get 0)) (i32.load8_u offset=4 (local.get 0))))
      (func (export "fill") (param i32 i32)
        (memory.fill (local.get 0) (i32.const 7) (local.get 1)))
      (func (export "fill_const")
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 100))
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 300)))
      (func (export "copy") (param i32)
        (memory.copy (i32.const 1000) (i32.const 0) (local.get 0)))
      (func (export "init") (param i32)
        (memory.init $d (i32.const 64) (i32.const 2) (local.get 0)))
      (func (export "drop") (data.drop $d))
      (func (export "grow") (param i32) (result i32)
        (memory.grow (local.get 0)))
      (func (export "grow_const") (result i32)
        (i32.add (memory.grow (i32.const 1)) (memory.grow (i32.const 200))))
      (func (export "size") (result i32) (memory.size)))""",
               [("rw", (8,)), ("fill", (0, 0)), ("fill", (0, 50)), ("fill", (16, 5000)),
                ("fill_const", ()), ("copy", (0,)), ("copy", (700,)), ("init", (30,)),
                ("init", (0,)), ("grow", (0,)), ("grow", (1,)), ("grow", (100,)),
                ("grow_const", ()), ("size", ()), ("drop", ())]),
    "tables": ("""(module
      (table $t 4 20 funcref)
      (elem $e func $f $f $f)
      (func $f)
      (func (export "tfill") (param i32) (table.fill $t (i32.const 0) (ref.func $f) (local.get 0)))
      (func (export "tcopy") (param i32) (table.copy (i32.const 1) (i32.const 0) (local.get 0)))
      (func (export "tinit") (param i32) (table.init $t $e (i32.const 0) (i32.const 0) (local.get 0)))
      (func (export "tgrow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
      (func (export "tsize") (result i32) (table.size $t)))""",
               [("tfill", (3,)), ("tcopy", (2,)), ("tinit", (3,)), ("tinit", (0,)),
                ("tgrow", (0,)), ("tgrow", (5,)), ("tgrow", (100,)), ("tsize", ())]),
    "imports": ("""(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "get" (func $get (result i64)))
      (func (export "calls") (param i32) (local i64)
        (loop $l
          (call $log (local.get 0))
          (local.set 1 (i64.add (local.get 1) (call $get)))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
      (func (export "once") (result i64) (call $get)))""",
                [("calls", (10,)), ("once", ())]),
}


def _case_ids():
    return [(case, index) for case, (_, calls) in CASES.items() for index in range(len(calls))]


@pytest.fixture(scope="module")
def sides():
    """(wasmtime side, {tier: wasabi side}) of each case, made once."""
    made = {}

    def get(case, tier):
        if (case, tier) not in made:
            wat = CASES[case][0]
            made[case, tier] = (fuelcmp.WasmtimeSide(wat),
                                fuelcmp.WasabiSide(wat, Options(fuel=True, tier=tier)))
        return made[case, tier]
    return get


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("case", list(CASES))
def test_consumed_fuel_equals_wasmtimes(sides, case, tier):
    reference, ours = sides(case, tier)
    for name, args in CASES[case][1]:
        expected = reference.call(name, args)
        got = ours.call(name, args)
        assert expected.trap is None, (name, args, expected)
        assert (got.trap, got.consumed) == (None, expected.consumed), (name, args)


@pytest.mark.parametrize("case", ["loops", "br_table", "recursion", "memory", "imports"])
def test_runs_out_of_fuel_where_wasmtime_does(sides, case):
    """The least fuel that lets a call finish is wasmtime's: the checks are where its are."""
    reference, ours = sides(case, "T1")
    for name, args in CASES[case][1][:6]:
        upper = reference.call(name, args).consumed + 2
        assert fuelcmp.minimum_fuel(ours, name, args, upper) == \
            fuelcmp.minimum_fuel(reference, name, args, upper), (name, args)


@pytest.mark.parametrize("mode", [Mode.LAZY, Mode.REPL], ids=lambda m: m.value)
def test_lazy_modes_consume_the_same(sides, mode):
    reference, _ = sides("recursion", "T1")
    ours = fuelcmp.WasabiSide(CASES["recursion"][0], Options(fuel=True, mode=mode))
    for name, args in CASES["recursion"][1]:
        assert ours.call(name, args).consumed == reference.call(name, args).consumed


# -- generated modules -----------------------------------------------------------------------

def generated_comparison(seed, tier, calls=12, mode=Mode.EAGER, rounds=3):
    """Compare the fuel of each call of a ttf module's exports that finishes on both engines.
    Returns how many calls were compared."""
    from fuzzexec import generate, plan as fz_plan, wasmbin
    try:
        data, _ = generate.ttf(seed)
    except generate.Skip:
        return 0                      # binaryen made no Wasm 2.0 module of this seed
    module = wasmbin.parse(data)
    try:
        reference = fuelcmp.WasmtimeSide(data)
    except (wasmtime.WasmtimeError, wasmtime.Trap, ValueError):
        return 0                      # wasmtime refuses it, or it traps at instantiation
    ours = fuelcmp.WasabiSide(data, Options(fuel=True, tier=tier, mode=mode))
    compared = 0
    rng = random.Random(seed)
    for round_number in range(rounds):     # zeros, edge cases, edge cases or random bits
        for name, (params, results) in comparable_exports(module)[:calls]:
            args = [fuelcmp.python_value(t, _not_nan(t, fz_plan.argument(rng, t, round_number)))
                    for t in params]
            for side in (reference, ours):
                if any(n == "hangLimitInitializer" for n, _, _ in module.exports):
                    side.call("hangLimitInitializer", ())
            expected = reference.call(name, args, 10**8)
            got = ours.call(name, args, 10**8)
            if expected.trap is None and got.trap is None:
                assert got.consumed == expected.consumed, (seed, name, args)
                compared += 1
    return compared


def _not_nan(valtype, bits):
    """The bits, but 0 for an f32 NaN: a Python float carries an f32 NaN's payload through
    a double, which may quiet it (and the module may branch on its bits)."""
    from fuzzexec.wasmbin import F32
    if valtype == F32 and (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF:
        return 0
    return bits


def comparable_exports(module):
    """Exports both engines can be called with from Python: no v128 parameter or result
    (wasmtime's Python API has none), not the fuzz harness's hang limit reset."""
    from fuzzexec.wasmbin import V128
    out = []
    for name, _, (params, results) in module.exported_functions():
        if name == "hangLimitInitializer" or V128 in params or V128 in results:
            continue
        out.append((name, (params, results)))
    return out


NEEDS_BINARYEN = pytest.mark.skipif(not __import__("shutil").which("wasm-opt"),
                                    reason="needs binaryen's wasm-opt")


@NEEDS_BINARYEN
def test_generated_modules_consume_as_wasmtime():
    compared = sum(generated_comparison(seed, "T1") for seed in range(12))
    assert compared >= 30


@pytest.mark.slow
@NEEDS_BINARYEN
@pytest.mark.parametrize("mode, tier", [(Mode.EAGER, "T0"), (Mode.EAGER, "T1"),
                                        (Mode.EAGER, "O2"), (Mode.LAZY, "T1")])
def test_many_generated_modules_consume_as_wasmtime(mode, tier):
    compared = sum(generated_comparison(seed, tier, calls=30, mode=mode)
                   for seed in range(1000, 1200))
    assert compared > 1000


# -- the cache and serialized modules keep fuel code apart ---------------------------------

def _runs_on_fuel(compiled):
    """True when the module's code counts fuel (it traps in a store without any)."""
    store = wasabi.Store()
    instance = compiled.instantiate(store=store)
    try:
        instance.exports["add"](1, 2)
    except wasabi.OutOfFuel:
        return True
    return False


def test_cache_never_mixes_fuel_and_plain_code(tmp_path):
    from wasabi.compiler.cache import compile_bytes, entry_path
    wasm = wasabi.wat2wasm(ENDLESS)
    plain, counted = Options(tier="T0", cache=True), Options(tier="T0", cache=True, fuel=True)
    assert entry_path(wasm, plain, tmp_path) != entry_path(wasm, counted, tmp_path)
    assert not _runs_on_fuel(compile_bytes(wasm, plain, tmp_path))
    fresh = compile_bytes(wasm, counted, tmp_path)               # not the plain entry
    assert "codegen_seconds" in fresh.code.stats and _runs_on_fuel(fresh)
    again = compile_bytes(wasm, counted, tmp_path)               # its own entry, linked
    assert "codegen_seconds" not in again.code.stats and _runs_on_fuel(again)
    assert not _runs_on_fuel(compile_bytes(wasm, plain, tmp_path))
    # an entry whose header says otherwise is not taken (a plain entry under the fuel name)
    entry_path(wasm, plain, tmp_path).replace(entry_path(wasm, counted, tmp_path))
    assert _runs_on_fuel(compile_bytes(wasm, counted, tmp_path))


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("fuel", [False, True])
def test_serialized_modules_keep_their_fuel_option(mode, fuel):
    store = wasabi.Store(options=Options(fuel=fuel, mode=mode, tier="T0"))
    data = wasabi.Module(store, ENDLESS).serialize()
    again = wasabi.Module.deserialize(wasabi.Store(), data)
    assert again.options.fuel is fuel
    instance = wasabi.Instance(again)
    if fuel:
        with pytest.raises(wasabi.OutOfFuel):
            instance.exports.add(1, 2)
        again.store.set_fuel(10)
        assert instance.exports.add(1, 2) == 3 and again.store.get_fuel() == 6
    else:
        assert instance.exports.add(1, 2) == 3


def test_vectorized_calls_count_fuel():
    np = pytest.importorskip("numpy")
    store, instance = make(ENDLESS)
    add = wasabi.vectorize(instance.exports.add)
    store.set_fuel(1000)
    assert list(add(np.arange(10, dtype=np.int32), 1)) == list(range(1, 11))
    assert store.get_fuel() == 1000 - 10 * 4
    store.set_fuel(4 * 5)            # runs out in the 5th element's call
    with pytest.raises(wasabi.OutOfFuel):
        add(np.arange(10, dtype=np.int32), 1)
