"""Mode.PGO (compiler/modes/tiered.py): a counting baseline (the single-pass compiler,
LLVM T0 for what it refuses), hot functions rebuilt
at O2 in the background with their counts as the profile and swapped in through the
code table -- while they run, on several threads, in clones -- with results unchanged."""
import array
import platform
import threading
import time

import pytest

import wasabi
from wasabi import Mode, Options
from wasabi import _ext
from wasabi.compiler import modes
from wasabi.compiler.modes import tiered

# the first tier: the single-pass compiler where the CPU has what it emits, else LLVM T0
FIRST = "baseline" if _ext.baseline_supported() else "T0"

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


@pytest.mark.parametrize("single_pass", [True, False], ids=["single-pass", "llvm-t0"])
def test_cold_functions_stay_in_the_baseline(monkeypatch, single_pass):
    monkeypatch.setattr(tiered, "SINGLE_PASS", single_pass)
    module = compiled(hot=10**9)
    inst = instance(module)
    assert inst.exports.fib(18) == 2584
    time.sleep(0.1)
    stats = module.stats()
    baseline = FIRST if single_pass else "T0"
    expected = {"baseline": 0, "T0": 0, "T1": 0, "O2": 0, baseline: stats["functions_compiled"]}
    assert stats["tiers"] == expected and stats["swaps"] == 0


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
  (func (export "scalars") (param i32) (result i64)
    ;; mixed without its v128 (which the single-pass baseline does not compile)
    (local $a i64) (local $f f32) (local $d f64) (local $k i32)
    (block $done (loop $outer
      (br_if $done (i32.ge_u (local.get $k) (local.get 0)))
      (local.set $a (i64.add (local.get $a) (i64.mul (i64.extend_i32_u (local.get $k)) (i64.const 3))))
      (local.set $f (f32.add (local.get $f) (f32.const 0.5)))
      (local.set $d (f64.add (local.get $d) (f64.convert_i32_u (local.get $k))))
      (block $ib (loop $inner (br_if $ib (i32.eqz (i32.and (local.get $k) (i32.const 3))))
        (local.set $a (i64.xor (local.get $a) (i64.const 0x55)))
        (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $inner)))
      (local.set $k (i32.add (local.get $k) (i32.const 1))) (br $outer)))
    (i64.add (i64.add (local.get $a) (i64.extend_i32_u (local.get $k)))
             (i64.add (i64.trunc_f32_s (local.get $f)) (i64.trunc_f64_s (local.get $d)))))
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


# the single-pass baseline's code counts branches or (as hot functions run it, and with
# profile.BRANCHES off) keeps its most used locals in registers
BASELINE_CODE = ["counting", "cached-locals"]


@pytest.mark.parametrize("code", BASELINE_CODE)
def test_a_function_called_once_leaves_the_baseline_in_its_loop(monkeypatch, code):
    """Entry into optimised code at a loop header: a long loop, one call."""
    from wasabi.compiler import profile
    monkeypatch.setattr(profile, "BRANCHES", code == "counting")
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = osr_module(Mode.PGO, hot=1)
    inst = module.instantiate()
    n = 60_000_000
    assert inst.exports.sum(n) == n * (n + 1) // 2
    counted = {h["function"]: h for h in module.stats()["hottest"]}[0]
    assert counted["calls"] == 1 and counted["loop_iterations"] < n    # the rest ran in O2


@pytest.mark.parametrize("code", BASELINE_CODE)
@pytest.mark.parametrize("n", [0, 1, 5, 1000, 4099, 20000])
def test_entries_at_loop_headers_keep_every_local(monkeypatch, n, code):
    """Every iteration looks for an entry (osr.EVERY 1), so the switch happens at the
    first look after the build: locals of every type, nested loops, several results."""
    from wasabi.compiler import osr, profile
    monkeypatch.setattr(osr, "EVERY", 1)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    monkeypatch.setattr(profile, "BRANCHES", code == "counting")
    eager = osr_module(Mode.EAGER).instantiate()

    def outcome(inst):
        return (inst.exports.mixed(n), inst.exports.scalars(n),
                inst.exports.carried(n % 50 + 1))
    expected = outcome(eager)
    module = osr_module(Mode.PGO, hot=1)
    inst = module.instantiate()
    for _ in range(3):
        assert outcome(inst) == expected
        wait_for(lambda: module.stats()["tiers"]["O2"] >= 3, seconds=5)



def _baseline_ir(wat, index=0):
    """The PGO baseline's IR of function `index` of `wat`."""
    from wasabi.compiler.builder import BatchBuilder
    from wasabi.compiler.profile import Profile
    from wasabi.options import CodeOptions
    desc = wasabi.parse(wasabi.wat2wasm(wat))
    builder = BatchBuilder(desc, CodeOptions("T0", "guard", False, True), table_calls=True,
                           profile=Profile(len(desc.func_type_indices)))
    return builder.translate([index]).text


def test_the_baseline_looks_for_loop_entries_only_where_a_build_makes_them():
    """A look spills every local (translator.loop_entry): only the first osr.MAX_ENTRIES
    loops of functions of at most osr.MAX_BODY bytes get one, as optimised builds do
    (tiered.translate_build): SQLite's baseline compiled 20% faster."""
    from wasabi.compiler import osr
    loops = "".join(f"(loop $l{i} (br_if $l{i} (i32.eqz (local.get 0))))" for i in range(7))
    small = f'(module (func (export "f") (param i32) (local i64 f64) {loops}))'
    assert _baseline_ir(small).count("%osr.look") == osr.MAX_ENTRIES == 4
    padding = "(drop (i32.add (local.get 0) (i32.const 100000)))" * (osr.MAX_BODY // 8)
    big = f'(module (func (export "f") (param i32) (local i64 f64) {loops} {padding}))'
    assert _baseline_ir(big).count("%osr.look") == 0
    desc = wasabi.parse(wasabi.wat2wasm(big))
    assert osr.entry_count(desc.funcs[0]) == 0     # nor does its build


def test_background_builds_wait_for_a_worker_rather_than_build_here(monkeypatch):
    """llvmlite runs one LLVM call at a time per process: an O2 build here would stop
    the program's own lazy compiles for its whole length (parallel.emit_elsewhere)."""
    from wasabi.compiler import parallel

    def here(*args):
        raise AssertionError("emitted in this process")
    monkeypatch.setattr(parallel, "_workers", parallel._Workers())    # none idle
    monkeypatch.setattr(parallel, "_emit_here", here)
    text = _baseline_ir(WAT)
    obj, timings = parallel.emit_elsewhere(text, "T0")
    assert obj[:4] == b"\x7fELF" and "codegen_seconds" in timings


# ---- branch weights (compiler/profile.py) ----

def test_branches_are_counted_in_the_baseline_and_become_weights_in_the_o2_build():
    module = compiled(hot=10**9)
    inst = instance(module)
    assert inst.exports.sum(1000) == 500500 and inst.exports.fib(10) == 55
    code = module.code
    sites = code.profile.sites()
    sum_index, fib_index = module.desc.export("sum").index, module.desc.export("fib").index
    # sum's br_if leaves the loop once and falls through 1000 times
    assert [list(c) for (f, _), c in sites.items() if f == sum_index] == [[1000, 1]]
    # fib's if: 88 calls with n >= 2 (false: else), 89 with n < 2 (true: then)
    assert [list(c) for (f, _), c in sites.items() if f == fib_index] == [[88, 89]]
    text = code._optimizer.translate_with_callees(sum_index, 8, 1 << 14, skip=lambda c: False,
                                                  direct=True).text
    assert '!{!"branch_weights", i32 1, i32 1000}' in text
    assert '!{!"function_entry_count", i64 1}' in text


def test_branches_are_counted_until_hot_then_the_baseline_runs_without_counters(monkeypatch):
    """The counts a function's first build needs are there once it is hot: then its
    baseline code is compiled again without branch counters (they cost the SQLite
    workload 10-20% in the baseline), and its counts of calls and iterations go on."""
    if FIRST != "baseline":
        pytest.skip("the single-pass baseline does not run on this CPU")
    monkeypatch.setattr(tiered.TieredCode, "_optimize", lambda self, index, tier=None: 0)
    module = compiled(hot=50)
    code, inst = module.code, instance(module)
    sum_index = module.desc.export("sum").index

    def sum_sites():
        return [list(c) for (f, _), c in code.profile.sites().items() if f == sum_index]
    assert inst.exports.sum(10) == 55                    # 11 of 50: still counting
    assert sum_sites() == [[10, 1]] and sum_index in code._counting
    assert inst.exports.sum(100) == 5050                 # 112: hot
    code.tier_up()                                       # (or the tier-up thread did)
    assert sum_index not in code._counting and code.stats["counting_stopped"] == 1
    assert code.stats["tiers"]["baseline"] >= 1 and code.stats["swaps"] == 0
    for _ in range(3):
        assert inst.exports.sum(100) == 5050
    assert sum_sites() == [[110, 2]]                     # as when it got hot
    assert code.profile.entry_count(sum_index) == 5
    assert code.profile.counts[sum_index, 1] == 11 + 101 * 4     # loop iterations go on
    # a function hot before its first call (a stored profile) starts without counters
    fib_index = module.desc.export("fib").index
    code.profile.counts[fib_index, 0] = 50
    assert inst.exports.fib(10) == 55
    assert fib_index not in code._counting and fib_index in code._single_passed
    assert not [c for (f, _), c in code.profile.sites().items() if f == fib_index]


def test_br_table_counts_each_target_and_gets_weights_when_one_target_dominates():
    wat = """(module (func (export "f") (param i32) (result i32)
      (block $d (block $b (block $a (br_table $a $b $d (local.get 0)))
        (return (i32.const 10))) (return (i32.const 20))) (i32.const 30)))"""
    module = modes.compile(wasabi.parse(wasabi.wat2wasm(wat)), Options(mode=Mode.PGO), hot=10**9)
    f = module.instantiate().exports.f
    for _ in range(10):
        assert [f(k) for k in [0, 1, 1, 2, 7, 9, 9, 9]] == [10, 20, 20, 30, 30, 30, 30, 30]
    (counts,) = module.code.profile.sites().values()
    assert list(counts) == [10, 20, 50]         # cases 0, 1 and the default ($d)
    # no target takes 9 in 10: LLVM's own guesses (weights there put a hot case's block
    # before an interpreter's dispatch, which then went unaligned: k_interp 10% slower)
    text = module.code._optimizer.translate([0]).text
    assert '"branch_weights", i32 50' not in text
    for _ in range(250):
        f(9)
    text = module.code._optimizer.translate([0]).text
    assert '!{!"branch_weights", i32 300, i32 10, i32 20}' in text     # the default: 91%


def test_a_pgo_build_aligns_its_innermost_loops_to_a_cache_line():
    """An optimised build from a profile (entry counts in its IR) aligns the headers of
    innermost loops to 64 bytes, an unprofiled one to x86's 16: the code section takes
    the largest alignment of its blocks."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the loop alignment is set on x86-64 only")
    from wasabi.compiler import jit, prelink, pipelines
    from wasabi.compiler.builder import BatchBuilder
    module = compiled(hot=10**9)
    instance(module).exports.sum(1000)
    index = module.desc.export("sum").index
    profiled = module.code._optimizer.translate([index]).text
    plain = BatchBuilder(module.desc, Options(tier="O2")).translate([index]).text
    assert '"function_entry_count"' in profiled and '"function_entry_count"' not in plain

    def code_alignment(text):
        obj = prelink._Object(jit.emit_object(text, "O2")[0])
        return max(int(obj.sections[i]["align"]) for i in obj.allocated()
                   if obj.sections[i]["flags"] & 4)         # SHF_EXECINSTR
    assert code_alignment(profiled) == pipelines.HOT_LOOP_ALIGNMENT == 64
    assert code_alignment(plain) == pipelines.LOOP_ALIGNMENT == 16
    assert code_alignment(profiled) == 64                   # each build sets its own
    # setting it leaves LLVM's other options as they were: the cmov converter stays off
    # (it would move a guard-mode load under a branch, pipelines.initialize)
    import llvmlite.binding as llvm
    select = """define i64 @f(i1 %c, ptr %p, i64 %b) {
      %v = load i64, ptr %p
      %r = select i1 %c, i64 %v, i64 %b
      ret i64 %r }"""
    text = pipelines.target_machine("O2").emit_assembly(llvm.parse_assembly(select))
    assert any(line.strip().startswith("cmov") and "(%" in line for line in text.splitlines()), text


def test_branch_weights_are_scaled_into_32_bits():
    module = compiled(hot=10**9)
    inst = instance(module)
    inst.exports.sum(3)
    profile = module.code.profile
    ((index, offset),) = [k for k in profile.sites() if k[0] == module.desc.export("sum").index]
    profile.prior = {index: (((offset, 2),), array.array("Q", [19 << 40, 1 << 40]))}
    profile._sites.clear()
    profile._blocks.clear()
    text = module.code._optimizer.translate([index]).text
    assert f'!{{!"branch_weights", i32 {((1 << 32) - 1) // 19}, i32 {(1 << 32) - 1}}}' in text


def test_weights_only_for_branches_seen_often_that_mostly_go_one_way():
    module = compiled(hot=10**9)
    inst = instance(module)
    inst.exports.sum(40)                                # 41 < MIN_SAMPLE
    inst.exports.fib(12)                                # its if: 233 then, 232 else
    sites = module.code.profile.sites()
    assert sorted(int(c.sum()) for c in sites.values()) == [41, 465]
    text = module.code._optimizer.translate().text
    assert text.count('"branch_weights"') == 1          # the module's cold-branch node only
    inst.exports.sum(40)                                # 82: one exit in 41
    text = module.code._optimizer.translate().text
    assert text.count('"branch_weights"') == 2 and '"branch_weights", i32 2, i32 80}' in text


# ---- profiles in the disk cache (compiler/profile_store.py) ----

PROFILE_WORKER = __import__("pathlib").Path(__file__).with_name("pgo_profile_worker.py")


def cached_pgo(tmp_path, wat=WAT):
    from wasabi.compiler.cache import compile_bytes
    return compile_bytes(wasabi.wat2wasm(wat), Options(mode=Mode.PGO, cache=True), tmp_path)


def profile_files(tmp_path):
    from wasabi.compiler import profile_store
    return sorted(tmp_path.glob("*" + profile_store.SUFFIX))


def fib_profile(tmp_path, monkeypatch):
    """(module, profile path) after fib(8) ran once, counted and saved, nothing hot."""
    monkeypatch.setattr(tiered, "HOT", 10**9)
    module = cached_pgo(tmp_path)
    instance(module).exports.fib(8)
    module.code.close()
    (path,) = profile_files(tmp_path)
    return module, path


def run_worker(directory, hot, n, wait=False, mode=None):
    import json
    import os
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, str(PROFILE_WORKER), str(directory), str(hot), str(n)]
                          + (["wait"] if wait else []) + ([mode] if mode else []),
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_second_process_starts_with_the_first_ones_hot_functions_optimised(tmp_path):
    first = run_worker(tmp_path, 1000, 20, wait=True)
    assert first["result"] == 6765 and not first["at_load"]["profile_loaded"]
    assert first["end"]["tiers"]["O2"] == 1
    assert len(profile_files(tmp_path)) == 1            # saved at exit
    second = run_worker(tmp_path, 1000, 20)
    assert second["result"] == 6765
    at_load = second["at_load"]
    assert at_load["profile_loaded"] and at_load["stored_builds_linked"] == 1
    assert at_load["tiers"] == {"baseline": 0, "T0": 0, "T1": 0, "O2": 1}
    assert at_load["functions_compiled"] == 0
    assert at_load["hottest"][0]["calls"] >= 21891      # the first run's counts
    assert second["end"]["swaps"] == 0                  # nothing left to tier up


def test_a_second_process_maps_its_stored_builds_without_llvm(tmp_path):
    """The stored builds are prelinked images: a run whose hot functions all have one
    loads them, and runs them, without importing LLVM (nor numpy); the tier-up thread
    is off here (it would import both for a build)."""
    import json
    import os
    import subprocess
    import sys
    first = run_worker(tmp_path, 1000, 20, wait=True)
    assert first["end"]["tiers"]["O2"] == 1
    program = f"""if True:
        import json, sys
        sys.path.insert(0, {str(PROFILE_WORKER.parent)!r})
        from pgo_profile_worker import WAT
        import wasabi
        from wasabi import Mode, Options
        from wasabi.compiler.cache import compile_bytes
        from wasabi.compiler.modes import tiered
        tiered.TIER_UP.watch = lambda code: None
        module = compile_bytes(wasabi.wat2wasm(WAT), Options(mode=Mode.PGO, cache=True),
                               {str(tmp_path)!r})
        result = module.instantiate().exports.fib(20)
        loaded = sorted(name for name in sys.modules
                        if name.split(".")[0] in ("llvmlite", "numpy"))
        print(json.dumps({{"result": result, "loaded": loaded, "stats": module.stats()}}))
        """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    second = json.loads(done.stdout)
    assert second["result"] == 6765 and second["loaded"] == []
    stats = second["stats"]
    assert stats["stored_builds_linked"] == 1 and stats["stored_link_errors"] == 0
    assert stats["tiers"]["O2"] == 1 and stats["libraries"] == 1


def test_a_build_under_way_at_exit_is_finished_for_the_next_run(tmp_path):
    """A build longer than a run (SQLite's interpreter function takes seconds at O2)
    was abandoned at every exit, so warm runs never got it: its worker now finishes it
    into a spool beside the profile, which the next run links and adds to the profile."""
    import time
    from wasabi.compiler import profile_store
    first = run_worker(tmp_path, 1000, 300, mode="exit-mid-build")
    assert first["building"] and first["end"]["tiers"]["O2"] == 0
    profile = profile_files(tmp_path)[0]

    def spools():
        return sorted(tmp_path.glob(profile.name[:-len(".wasabi")] + ".spool*.wasabi"))
    end = time.monotonic() + 60
    while not spools() and time.monotonic() < end:      # the worker outlives the run
        time.sleep(0.05)
    assert len(spools()) == 1
    from pgo_profile_worker import big_wat
    module = cached_pgo(tmp_path, big_wat())
    stats = module.stats()
    assert stats["stored_builds_linked"] == 1 and stats["tiers"]["O2"] == 1
    assert not spools()                  # taken: in the profile file from its save on
    assert len(profile_files(tmp_path)) == 1
    assert module.instantiate().exports.big(300) == first["result"]
    module.code.close()
    again = cached_pgo(tmp_path, big_wat()).stats()
    assert again["stored_builds_linked"] == 1 and again["tiers"]["O2"] == 1


def test_first_builds_still_owed_at_exit_are_made_by_the_worker_after_it(tmp_path):
    """A run makes its builds one at a time while it runs; those still owed when it ends
    are made by its worker afterwards, into spools the next run links (after_exit.py):
    the next run starts with all of them."""
    import time
    first = run_worker(tmp_path, 200, 5, mode="owe")
    assert first["end"]["tiers"]["O2"] == 0 and first["end"]["swaps"] == 0

    def spools():
        return sorted(tmp_path.glob("*.pgo.spool*.wasabi"))
    end = time.monotonic() + 60
    while len(spools()) < 5 and time.monotonic() < end:   # the worker outlives the run
        time.sleep(0.05)
    assert len(spools()) == 5
    assert not list(tmp_path.glob("*.after*"))             # its payload file is gone
    from pgo_profile_worker import many_wat
    module = cached_pgo(tmp_path, many_wat(5))
    stats = module.stats()
    assert stats["stored_builds_linked"] == 5 and stats["tiers"]["O2"] == 5
    exports = module.instantiate().exports
    assert [exports.f3(10), exports.f4(-4)] == [13, 0]


@pytest.mark.parametrize("damage", ["flipped", "truncated", "foreign_module"])
def test_a_damaged_or_foreign_spool_is_ignored_and_removed(tmp_path, monkeypatch, damage):
    from wasabi.compiler import profile_store
    module, path = fib_profile(tmp_path, monkeypatch)
    fib = module.desc.export("fib").index
    functions = {"foreign_module": 1000}.get(damage, fib)
    spool, prefix = profile_store.spool_request(path, fib, {functions: "wasm_f0"}, [])
    profile_store.write_spooled(spool, prefix, b"\x7fELF not really an object")
    data = open(spool, "rb").read()
    if damage == "flipped":
        data = data[:20] + bytes([data[20] ^ 1]) + data[21:]
    elif damage == "truncated":
        data = data[:len(data) // 2]
    open(spool, "wb").write(data)
    module = cached_pgo(tmp_path)
    assert module.stats()["profile_loaded"] and module.stats()["stored_builds_linked"] == 0
    assert not [p for p in tmp_path.iterdir() if ".spool" in p.name]
    assert instance(module).exports.fib(8) == 21


def test_counts_and_branch_counts_add_up_over_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(tiered, "HOT", 10**9)
    expected_calls = 0
    for run in range(3):
        module = cached_pgo(tmp_path)
        assert module.stats()["profile_loaded"] == (run > 0)
        inst = instance(module)
        assert inst.exports.fib(10) == 55 and inst.exports.sum(100) == 5050
        expected_calls += 177
        fib_index = module.desc.export("fib").index
        assert module.code.profile.entry_count(fib_index) == expected_calls
        sites = module.code.profile.sites()
        assert [list(c) for (f, _), c in sites.items() if f == fib_index] == \
            [[88 * (run + 1), 89 * (run + 1)]]
        module.code.close()                              # saves
    assert len(profile_files(tmp_path)) == 1


def test_branch_counts_add_up_when_runs_alternate_baseline_and_llvm_t0(tmp_path, monkeypatch):
    """The single-pass baseline counts a function's sites as one block, LLVM T0 site by
    site: a profile written by either one is read by the other (and a function whose
    sites changed keeps the ones it has in common)."""
    monkeypatch.setattr(tiered, "HOT", 10**9)
    fib_index = None
    for run, single_pass in enumerate([True, False, True, False]):
        monkeypatch.setattr(tiered, "SINGLE_PASS", single_pass)
        module = cached_pgo(tmp_path)
        inst = instance(module)
        assert inst.exports.fib(10) == 55
        fib_index = module.desc.export("fib").index
        sites = module.code.profile.sites()
        assert [list(c) for (f, _), c in sites.items() if f == fib_index] == \
            [[88 * (run + 1), 89 * (run + 1)]]
        module.code.close()
    profile = cached_pgo(tmp_path).code.profile
    ((layout, counts),) = [g for f, g in profile.prior.items() if f == fib_index]
    offset = layout[0][0]
    profile.site_block(fib_index, [(offset - 1, 3), (offset, 2)])    # another layout
    assert list(profile.site_counts(fib_index, offset)) == [88 * 4, 89 * 4]
    assert list(profile.site_counts(fib_index, offset - 1)) == [0, 0, 0]


def test_an_unchanged_profile_is_not_written_again(tmp_path, monkeypatch):
    monkeypatch.setattr(tiered, "HOT", 10**9)
    module = cached_pgo(tmp_path)
    instance(module).exports.fib(5)
    keeper = module.code.profile_keeper
    assert keeper.save() and not keeper.save()          # nothing new since
    module.code.close()
    assert keeper.saves == 1


def test_counts_are_halved_past_the_bound(tmp_path, monkeypatch):
    from wasabi.compiler import profile_store
    monkeypatch.setattr(tiered, "HOT", 10**9)
    monkeypatch.setattr(profile_store, "MAX_COUNT", 1000)
    for _ in range(2):
        module = cached_pgo(tmp_path)
        instance(module).exports.fib(12)                # 465 calls a run
        module.code.close()
    module = cached_pgo(tmp_path)
    fib_index = module.desc.export("fib").index
    assert module.code.profile.entry_count(fib_index) == 930
    instance(module).exports.fib(12)
    module.code.close()                                 # 1395 > 1000: halved
    assert cached_pgo(tmp_path).code.profile.entry_count(fib_index) == 697


@pytest.mark.parametrize("damage", ["garbage", "flipped", "truncated", "empty", "foreign"])
def test_a_damaged_profile_file_is_ignored_and_replaced(tmp_path, monkeypatch, damage):
    _, path = fib_profile(tmp_path, monkeypatch)
    good = path.read_bytes()
    if damage == "foreign":         # a valid profile of another module, at this path
        other = cached_pgo(tmp_path / "other", "(module (func (export \"f\")))")
        other.instantiate().exports.f()
        other.code.close()
        (other_path,) = profile_files(tmp_path / "other")
        bad = other_path.read_bytes()
    else:
        bad = {"garbage": b"\0wsbpgo\x01" + bytes(range(256)) * 4,
               "flipped": good[:40] + bytes([good[40] ^ 4]) + good[41:],
               "truncated": good[:len(good) // 2], "empty": b""}[damage]
    path.write_bytes(bad)
    module = cached_pgo(tmp_path)
    assert not module.stats()["profile_loaded"]
    assert instance(module).exports.fib(8) == 21
    module.code.close()
    again = cached_pgo(tmp_path)                        # the save replaced it
    assert again.stats()["profile_loaded"]
    assert again.code.profile.entry_count(again.desc.export("fib").index) == 67


def test_concurrent_processes_leave_a_valid_profile(tmp_path):
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: run_worker(tmp_path, 10**9, 15), range(4)))
    assert all(r["result"] == 610 for r in runs)
    (path,) = profile_files(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]     # no temp files
    module = cached_pgo(tmp_path, PROFILE_WORKER_WAT())
    calls = module.code.profile.entry_count(0)
    # each run adds its 1973 calls to what the file holds when it saves (a save racing
    # another's between its read and its rename loses that one's counts)
    assert calls % 1973 == 0 and 1973 <= calls <= 4 * 1973


def PROFILE_WORKER_WAT():
    import importlib.util
    spec = importlib.util.spec_from_file_location("pgo_profile_worker", PROFILE_WORKER)
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    return worker.WAT


@pytest.mark.parametrize("kept_as", ["image", "objects", "objects-after-an-error"])
def test_a_stored_build_that_does_not_link_is_built_again_before_its_first_call(
        tmp_path, monkeypatch, kept_as):
    """A stored build is kept as a prelinked image (mapped at load: JitLibrary.add_mapping),
    or as objects where it cannot be prelinked (JITLink links them), also when the
    prelinker fails in a way it did not foresee (the profile is saved all the same)."""
    from wasabi.compiler import prelink, profile_store
    monkeypatch.setattr(tiered, "HOT", 1000)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    if kept_as == "objects":
        monkeypatch.setattr(profile_store, "prelinked", lambda build: build)
    if kept_as == "objects-after-an-error":
        def fail(objects, exported):
            raise IndexError("simulated prelinker bug")
        monkeypatch.setattr(prelink, "prelink", fail)
    module = cached_pgo(tmp_path)
    instance(module).exports.fib(18)
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)
    module.code.close()
    from wasabi.compiler.library import JitLibrary
    loader = "add_mapping" if kept_as == "image" else "link"

    def refuse(self, *args, **kwargs):
        raise RuntimeError("simulated refusal")
    original = getattr(JitLibrary, loader)
    monkeypatch.setattr(JitLibrary, loader, refuse)
    module = cached_pgo(tmp_path)
    monkeypatch.setattr(JitLibrary, loader, original)
    stats = module.stats()
    assert stats["stored_link_errors"] == 1 and stats["tiers"]["O2"] == 0
    # hot in the profile: built in the background without being called (and meanwhile
    # in the single-pass baseline since the load, as every function called before)
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)
    assert module.stats()["functions_compiled"] == module.stats()["batches"] + (
        FIRST == "baseline") == (FIRST == "baseline")
    assert instance(module).exports.fib(12) == 144


def test_stats_name_every_tier_swap_build_second_and_hot_function(tmp_path, monkeypatch):
    monkeypatch.setattr(tiered, "HOT", 1000)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = cached_pgo(tmp_path)
    inst = instance(module)
    assert inst.exports.fib(16) == 987 and inst.exports.sum(10) == 55
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)
    stats = module.stats()
    fib_index, sum_index = module.desc.export("fib").index, module.desc.export("sum").index
    assert stats["mode"] == "pgo" and stats["hot_threshold"] == 1000
    assert stats["tiers"] == {"baseline": 0, "T0": 0, "T1": 0, "O2": 1, FIRST: 1}   # sum in the baseline,
                                                                  # fib optimised
    assert stats["swaps"] == 1 and stats["optimize_errors"] == 0
    assert 0 < stats["optimize_seconds"] < 60
    assert stats["branch_sites"] == 2                     # fib's if, sum's br_if
    assert not stats["profile_loaded"] and stats["profile_saves"] == 0
    assert stats["hottest"][0] == {"function": fib_index, "name": "fib", "tier": "O2",
                                   "calls": 3193, "loop_iterations": 0}
    assert stats["hottest"][1] == {"function": sum_index, "name": "sum", "tier": FIRST,
                                   "calls": 1, "loop_iterations": 11}
    module.code.close()
    again = cached_pgo(tmp_path).stats()
    assert again["profile_loaded"] and again["stored_builds_linked"] == 1
    # sum, called once before, is compiled by the single-pass compiler at load
    if FIRST == "baseline":
        assert again["tiers"] == {"baseline": 1, "T0": 0, "T1": 0, "O2": 1}
        assert again["hottest"][1]["tier"] == "baseline"
    else:
        assert again["tiers"] == {"baseline": 0, "T0": 0, "T1": 0, "O2": 1}
        assert again["hottest"][1]["tier"] is None


def test_wasabi_run_mode_pgo_keeps_the_profile_for_the_next_run(tmp_path):
    import os
    import subprocess
    import sys
    wasm = tmp_path / "fib.wasm"
    wasm.write_bytes(wasabi.wat2wasm(PROFILE_WORKER_WAT()))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
               WASABI_CACHE_DIR=str(tmp_path / "cache"))
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "wasabi", "run", "--mode", "pgo",
                               "--invoke", "fib", str(wasm), "22"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0 and done.stdout == "17711\n", done.stderr
        assert len(profile_files(tmp_path / "cache")) == 1


def test_a_prewarm_build_racing_the_first_calls_baseline_compile(tmp_path, monkeypatch):
    """A function hot in the stored profile is built in the background at load while
    its first call compiles the baseline: whichever publishes first, the other must not
    fail ("function 0 was already compiled" from `wasabi run --mode pgo`, before the
    swap took the compile lock)."""
    monkeypatch.setattr(tiered, "HOT", 10**9)
    module = cached_pgo(tmp_path)
    instance(module).exports.fib(15)                   # counts only: nothing built
    module.code.close()
    monkeypatch.setattr(tiered, "HOT", 1000)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    module = cached_pgo(tmp_path)
    code = module.code
    fib_index = module.desc.export("fib").index
    assert fib_index in code._prewarm
    baseline_build = code._build

    def slow_baseline(module_ir):
        made = baseline_build(module_ir)
        wait_for(lambda: code.table.is_published(fib_index), seconds=1)  # let O2 go first
        return made
    monkeypatch.setattr(code, "_build", slow_baseline)
    assert instance(module).exports.fib(15) == 610
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)
    assert instance(module).exports.fib(16) == 987


def test_the_tier_up_thread_looks_at_a_module_only_once_its_stored_profile_is_in(
        tmp_path, monkeypatch):
    """A look while `adopt` linked the stored builds saw the stored counts without the
    hot functions that have no build marked as waiting for one: it chose a T1 -> O2
    rebuild instead, which took the whole of a warm SQLite run (1.9 s) while none of
    the 192 waiting functions was built, run after run."""
    monkeypatch.setattr(tiered, "HOT", 10**9)
    module = cached_pgo(tmp_path)
    instance(module).exports.fib(15)                   # counts only: nothing built
    module.code.close()
    monkeypatch.setattr(tiered, "HOT", 1000)
    seen = []
    watch = tiered.TIER_UP.watch

    def looked_at(code):
        seen.append((code.stats["profile_loaded"], set(code._prewarm)))
        watch(code)
    monkeypatch.setattr(tiered.TIER_UP, "watch", looked_at)
    module = cached_pgo(tmp_path)
    assert seen == [(True, {module.desc.export("fib").index})]
    assert wait_for(lambda: module.stats()["tiers"]["O2"] >= 1)


@pytest.mark.skipif(not _ext.baseline_supported(), reason="the single-pass baseline is x86-64")
def test_a_run_that_never_gets_hot_imports_no_llvm_and_starts_no_worker():
    """LLVM (builder, translator, llvmlite: 0.1 s of imports) comes with the first LLVM
    build, and the worker process with the first warm function: a short `wasabi run`
    whose functions all go to the single-pass baseline pays for neither."""
    import subprocess
    import sys
    program = f"""if True:
        import sys, time, wasabi
        from wasabi.compiler import parallel
        wat = '''(module (func (export "sum") (param i32) (result i64) (local i64)
            (block $b (loop $l (br_if $b (i32.eqz (local.get 0)))
              (local.set 1 (i64.add (local.get 1) (i64.extend_i32_u (local.get 0))))
              (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br $l)))
            (local.get 1)))'''
        module = wasabi.compile(wasabi.wat2wasm(wat), wasabi.Options(mode="pgo"))
        assert wasabi.instantiate(module).exports.sum(100) == 5050
        time.sleep(0.2)                     # the tier-up thread looks 40 times
        assert module.stats()["tiers"] == {{"baseline": 1, "T0": 0, "T1": 0, "O2": 0}}
        print(sorted(name for name in sys.modules if name.startswith("llvmlite")
                     or name.rsplit(".", 1)[-1] in ("builder", "translator", "jit")))
        print(len(parallel._workers._idle) + len(parallel._workers._busy))
        """
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["[]", "0"]


def test_a_pgo_module_gets_to_its_first_calls_without_numpy(tmp_path):
    """numpy (0.07 s to import) is for the tier-up thread and for saving the profile:
    counting, loading a stored profile and the single-pass compiler go without it, cold
    and warm (the tier-up thread is off here: it would import numpy meanwhile)."""
    import subprocess
    import sys
    (tmp_path / "m.wasm").write_bytes(wasabi.wat2wasm(WAT))
    program = f"""if True:
        import sys, wasabi
        from wasabi.compiler.cache import compile_bytes
        from wasabi.compiler.modes import tiered
        tiered.TIER_UP.watch = lambda code: None
        tiered.HOT = int(sys.argv[1])
        wasm = open({str(tmp_path / "m.wasm")!r}, "rb").read()
        module = compile_bytes(wasm, wasabi.Options(mode="pgo", cache=True), {str(tmp_path)!r})
        note = wasabi.runtime.HostFunction(
            wasabi.binary.types.FuncType((wasabi.binary.types.I32,), ()), lambda x: None)
        exports = module.instantiate({{"env": {{"note": note}}}}).exports
        assert exports.fib(15) == 610 and exports.sum(10) == 55
        print("numpy" in sys.modules, module.stats()["profile_loaded"],
              len(module.code._prewarm), module.stats()["branch_sites"])
        """
    runs = [subprocess.run([sys.executable, "-c", program, hot], capture_output=True,
                           text=True, timeout=120) for hot in ("1000000000", "1000")]
    assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
    assert [run.stdout for run in runs] == ["False False 0 2\n", "False True 1 1\n"]


def test_wasabi_run_does_not_wait_for_the_tier_up_thread_at_exit(monkeypatch):
    """An interpreter that tears down waits for the tier-up thread (at most 5 s); `wasabi
    run`, which ends with os._exit, does not (leave_at_exit): the thread may be in the
    middle of translating a big function."""
    import atexit
    joined = []

    class Translating:
        def join(self, timeout=None):
            joined.append(timeout)
    monkeypatch.setattr(tiered.parallel, "shutdown", lambda: None)
    tier_up = tiered._TierUpThread()
    atexit.unregister(tier_up._stop)
    tier_up._thread = Translating()
    tier_up._stop()
    assert joined == [5]
    tier_up.leave_at_exit()
    tier_up._stop()
    assert joined == [5]


def test_stats_list_the_hottest_functions_among_many_never_called():
    """The functions never called (heat 0) come last, not first (an unsigned negation
    put them first, and the list of a module of more than ten functions was empty)."""
    idle = "".join(f'(func (export "idle{i}") (result i32) (i32.const {i}))' for i in range(12))
    wat = f"""(module {idle}
        (func (export "busy") (param i32) (result i32) (local.get 0)))"""
    module = modes.compile(wasabi.parse(wasabi.wat2wasm(wat)), Options(mode=Mode.PGO),
                           hot=10**9)
    busy = module.instantiate().exports.busy
    for n in range(5):
        busy(n)
    hottest = module.stats()["hottest"]
    assert [(h["name"], h["calls"]) for h in hottest] == [("busy", 5)]


def test_a_build_takes_along_the_callees_small_enough_to_inline_only(monkeypatch):
    """A hot function's build holds its direct callees (called directly, so that LLVM
    can inline them) but not those of more than INLINE_CALLEE_BYTES of wasm: LLVM would
    not inline them, and compiling them again in every build that calls them was most
    of the builds' time."""
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    big = "".join(f"(local.set 0 (i32.add (i32.mul (local.get 0) (i32.const {k + 3}))"
                  f" (i32.const {k})))" for k in range(80))
    wat = f"""(module
      (func $small (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func $big (param i32) (result i32) {big} (local.get 0))
      (func (export "root") (param i32) (result i32)
        (i32.add (call $small (local.get 0))
                 (if (result i32) (local.get 0) (then (i32.const 0))
                   (else (call $big (local.get 0)))))))"""
    module = modes.compile(wasabi.parse(wasabi.wat2wasm(wat)), Options(mode=Mode.PGO), hot=200)
    sizes = module.code._body_sizes()
    assert sizes[0] < tiered.INLINE_CALLEE_BYTES < sizes[1]
    root = module.instantiate().exports.root
    expected = [root(n) for n in range(300)]
    assert wait_for(lambda: 2 in module.code._optimized)
    (build,) = [b for b in module.code.stored_builds if b.root == 2]
    assert build.symbols.keys() == {0, 2}                 # root and small; big is not
    assert 1 not in module.code._optimized                # (big is called once: not hot)
    assert [root(n) for n in range(300)] == expected


def test_first_builds_go_by_heat_per_byte():
    """SQLite's first cold-run build was a 40 KB function (2.3 s at O2) while functions
    ten times smaller were about as hot: per byte of wasm to build, they come first."""
    import numpy as np
    heat = np.array([0, 2_400_000, 2_100_000, 9_000, 50_000], dtype=np.uint64)
    sizes = np.array([0, 40_000, 2_400, 100, 60_000])
    hot = np.flatnonzero(heat >= 5000)
    assert tiered.first_builds(heat, sizes, hot).tolist() == [2, 1, 3, 4]


def test_a_big_hot_function_is_built_at_t1_first_then_at_o2():
    """A function of more than QUICK_FIRST_BYTES of wasm gets a T1 build (2.5x quicker to
    make than O2: SQLite's hottest runs optimised within the run), and its O2 build once
    nothing waits for a first build; results the same all along."""
    from pgo_profile_worker import big_wat
    desc = wasabi.parse(wasabi.wat2wasm(big_wat(200)))
    assert desc.funcs[0].body_end - desc.funcs[0].body_start > tiered.QUICK_FIRST_BYTES
    expected = modes.compile(desc, Options(mode=Mode.EAGER)).instantiate().exports.big(50)
    module = modes.compile(desc, Options(mode=Mode.PGO), hot=100)
    big = module.instantiate().exports.big
    seen = set()

    def tiers():
        assert big(50) == expected
        seen.add(module.stats()["hottest"][0]["tier"])
        return module.stats()["tiers"]["O2"] == 1
    assert wait_for(tiers, seconds=60)
    assert seen >= {"T1", "O2"} and module.stats()["tiers"]["T1"] == 0
    assert big(50) == expected


def test_a_build_keeps_its_tier_in_the_profile_file_and_in_a_spool(tmp_path):
    """A T1 build read back is T1 (so a later run builds it at O2); a build written
    before builds had a tier is O2; an unknown tier makes the file unreadable."""
    import hashlib
    import json
    import struct
    import numpy as np
    from wasabi.compiler import profile_store
    builds = [profile_store.StoredBuild(1, [b"obj1"], {1: "wasm_f1"}, [], "T1"),
              profile_store.StoredBuild(2, [b"obj2"], {2: "wasm_f2"}, [])]
    counts = np.zeros((3, 2), dtype=np.uint64)
    data = profile_store.encode(profile_store.StoredProfile(counts, {}, builds))
    assert [b.tier for b in profile_store.decode(data, 3, 1).builds] == ["T1", "O2"]

    def with_tiers(data, tiers):
        """`data` with its builds' tiers replaced (None: no tier), re-digested."""
        magic = profile_store.MAGIC
        (length,) = struct.unpack_from("<I", data, len(magic))
        header = json.loads(data[len(magic) + 4:len(magic) + 4 + length])
        for build, tier in zip(header["builds"], tiers):
            build.pop("tier") if tier is None else build.update(tier=tier)
        head = profile_store._envelope_head(magic, **{k: v for k, v in header.items()
                                                       if k not in ("format", "key")})
        body = head + data[len(magic) + 4 + length:-profile_store.DIGEST_SIZE]
        return body + hashlib.sha256(body).digest()
    assert [b.tier for b in profile_store.decode(with_tiers(data, [None, None]), 3, 1)
            .builds] == ["O2", "O2"]
    with pytest.raises(ValueError):
        profile_store.decode(with_tiers(data, ["T0", "O2"]), 3, 1)
    path, prefix = profile_store.spool_request(tmp_path / "p.pgo.wasabi", 1, {1: "wasm_f1"},
                                               [], "T1")
    profile_store.write_spooled(path, prefix, b"obj")
    spooled = profile_store.decode_spooled(open(path, "rb").read(), 3, 1)
    assert (spooled.root, spooled.tier) == (1, "T1")
