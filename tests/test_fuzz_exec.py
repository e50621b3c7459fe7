"""Executing differential fuzzing of wasabi against wasmtime (tests/fuzzexec/, tests/fuzz_exec.py).

The quick test runs a couple of dozen binaryen modules; the slow one about 9,100 (CI's --run-slow).
Both need Debian's `binaryen` (wasm-opt) and skip without it. The other tests check the harness
itself: the probes, the comparison rules, and that a difference and a crashing worker are caught
and saved as findings.
"""
import json
import shutil
import struct
import sys

import pytest

from fuzzexec import compare, driver, engines, runner, wasmbin

needs_binaryen = pytest.mark.skipif(shutil.which("wasm-opt") is None,
                                    reason="wasm-opt not found: install Debian's binaryen package")


def assert_clean(summary):
    problems = {key: summary[key] for key in ("differences_by_kind", "crashes", "hangs", "harness_errors")
                if summary[key]}
    assert not problems, (f"{summary['differences']} differences, {len(summary['crashes'])} crashes in "
                          f"{summary['modules']} modules; reproducers under {summary['findings_dir']}:\n"
                          + json.dumps(problems, indent=1)[:6000])


@needs_binaryen
def test_fuzz_exec_quick(tmp_path):
    # 24 modules, each in one rotating config; seeds 0 and 12 in all of them
    summary = driver.run(0, 24, jobs=2, findings_dir=str(tmp_path), scheme="rotate", full_every=12,
                         mix={"ttf": 1}, timeout=120)
    assert_clean(summary)
    assert summary["modules"] >= 18 and summary["calls"] > 200, summary


@pytest.mark.slow
@needs_binaryen
def test_fuzz_exec_long(tmp_path):
    # 10,000 seeds (disjoint from the quick test's; about 9% give no usable module, mostly
    # binaryen's pre-standard reference types): about 9,100 modules executed, each in one
    # rotating wasabi config, every 100th in all of them; a few spec, clang and loops modules
    # among them. (22,000 took 25-44 minutes of CI's 90; with 14,000 CI took 82 minutes in all.)
    summary = driver.run(1_000_000, 10_000, jobs=2, findings_dir=str(tmp_path), scheme="rotate",
                         full_every=100, mix={"ttf": 95, "spec": 2, "clang": 1, "loops": 2},
                         timeout=300)
    print(json.dumps({k: v for k, v in summary.items() if k != "saved"}, indent=1))
    assert_clean(summary)
    assert summary["modules"] >= 8_900, summary


# --- the harness itself

WAT = """(module
  (memory (export "memory") 1)
  (global $g (mut f32) (f32.const nan:0x200000))
  (global $v (mut v128) (v128.const i64x2 1 2))
  (func (export "pick") (param f32 v128 funcref) (result f32 v128 i32 externref)
    local.get 0 local.get 1 i32.const 7 ref.null extern)
  (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1))))"""


def test_probes_pass_exact_bits_both_ways():
    import wasmtime
    data = wasmbin.add_probes(wasmtime.wat2wasm(WAT))
    module = wasmbin.parse(data)
    snan, lanes = 0x7FA00001, (0x0123456789ABCDEF << 64) | 0xFEDCBA9876543210
    plan = [{"export": "pick", "args": [snan, lanes, None]},
            {"export": "store", "args": [8, 0x8000000000000001]}]
    run, runnable = engines.run_wasmtime(data, module, plan)
    assert runnable == 2
    first, second = run.calls
    assert first["results"] == ["nan", f"v128:{lanes:032x}", 7, "null"]
    assert first["globals"] == ["nan", f"v128:{(2 << 64) | 1:032x}"]
    assert second["results"] == [] and "memory" in second
    # the probe hands the f32 through as bits: check the payload on the probe itself
    store = wasmtime.Store(engines.wasmtime_engine())
    store.set_fuel(10**6)
    probe = wasmtime.Instance(store, wasmtime.Module(engines.wasmtime_engine(), data), []).exports(store)
    out = probe[wasmbin.PROBE_PREFIX + "pick"](store, snan, lanes & (2**64 - 1), lanes >> 64)
    assert out[0] & 0xFFFFFFFF == snan


def test_same_run_on_wasabi_matches():
    import wasmtime
    data = wasmtime.wat2wasm(WAT)
    result = runner.check_module(data, plan_seed=5, configs=["T0/explicit", "O2/guard"])
    assert result["runnable"] > 0
    assert all("kind" not in entry for entry in result["configs"].values()), result["configs"]


def test_compare_rules():
    call = {"results": ["nan", 1], "log": [], "globals": [], "memory": "1:0"}
    ok = {"instantiation": {"ok": True}, "calls": [call]}
    assert compare.first_difference(ok, ok) is None
    other_nan = f"v128:{(0x7FC00000 << 32) | 5:032x}", f"v128:{(0xFFC00001 << 32) | 5:032x}"
    assert compare.same_value(*other_nan) and not compare.same_value(5, 6)
    assert not compare.same_value(f"v128:{5:032x}", f"v128:{6:032x}")
    flipped = {"instantiation": {"ok": True}, "calls": [dict(call, results=["nan", 2])]}
    assert compare.first_difference(ok, flipped)[0] == 0
    table = {"instantiation": {"ok": True}, "calls": [{"trap": engines.OOB_TABLE, "log": [], "globals": []}]}
    undefined = {"instantiation": {"ok": True}, "calls": [{"trap": engines.UNDEFINED, "log": [], "globals": []}]}
    assert compare.first_difference(table, undefined) is None
    # when either side exhausts its stack nothing after is compared
    stack = {"instantiation": {"ok": True}, "calls": [{"trap": engines.STACK, "log": [], "globals": []}]}
    assert compare.first_difference(stack, flipped) is None
    missing = {"instantiation": {"ok": True}, "calls": [{"trap": engines.OOB_MEMORY, "log": [], "globals": []}]}
    index, what = compare.first_difference(missing, ok)
    assert compare.classify(what, missing["calls"][0], ok["calls"][0]) == "missing-trap-5"


def test_a_difference_is_found_and_saved(tmp_path, monkeypatch):
    """A wasabi that computes a wrong result is caught, and the reproducer replays."""
    import wasmtime
    data = wasmtime.wat2wasm('(module (func (export "add") (param i32 i32) (result i32) '
                             '(i32.add (local.get 0) (local.get 1))))')
    real = engines.run_wasabi

    def off_by_one(*args, **kwargs):
        run = real(*args, **kwargs)
        for call in run.calls:
            call["results"] = [(value + 1) & 0xFFFFFFFF for value in call["results"]]
        return run
    monkeypatch.setattr(engines, "run_wasabi", off_by_one)
    result = runner.check_module(data, plan_seed=1, configs=["T1/guard"])
    entry = result["configs"]["T1/guard"]
    assert entry["kind"] == "results" and entry["call"] == 0
    from fuzzexec import findings
    path = findings.save_difference(tmp_path, data, {"seed": 1, "generator": "test"}, "T1/guard",
                                    result, entry)
    record = json.loads((tmp_path / path / "finding.json").read_text())
    assert record["plan"][0]["export"] == "add" and record["wasabi"]["results"] != record["wasmtime"]["results"]


@needs_binaryen
def test_a_crashing_worker_is_a_finding(tmp_path):
    """A worker killed by SIGSEGV on seed 3 is reported with the seed, saved, and replaced."""
    code = ("import ctypes, sys, fuzzexec.worker as w; real = w.run_job; "
            "w.run_job = lambda job, state: ctypes.string_at(0) if job['seed'] == 3 else real(job, state); "
            "w.main()")
    summary = driver.run(0, 6, jobs=1, findings_dir=str(tmp_path), scheme="rotate", mix={"ttf": 1},
                         worker_code=code)
    assert [crash["seed"] for crash in summary["crashes"]] == [3]
    assert "SIGSEGV" in summary["crashes"][0]["how"]
    saved = tmp_path / "crash-any-seed3"
    assert (saved / "module.wasm").exists() and json.loads((saved / "finding.json").read_text())["seed"] == 3
    assert summary["modules"] + summary["skipped"] == 5


def test_simd_denan_zeroes_nan_lanes_only():
    """Float SIMD results lose their NaN lanes (nondeterministic bits), other lanes stay."""
    import wasmtime
    from fuzzexec import simd_denan
    data = simd_denan.denan_simd(wasmtime.wat2wasm(
        '(module (func (export "f") (result i64 i64) (local v128) '
        '(local.set 0 (f32x4.div (v128.const f32x4 0 1 -0 6) (v128.const f32x4 0 2 0 3))) '
        '(i64x2.extract_lane 0 (local.get 0)) (i64x2.extract_lane 1 (local.get 0))))'))
    store = wasmtime.Store(engines.wasmtime_engine())
    store.set_fuel(10**6)
    low, high = wasmtime.Instance(store, wasmtime.Module(engines.wasmtime_engine(), data), []).exports(store)["f"](store)
    lanes = [(low & (2**64 - 1)) & 0xFFFFFFFF, (low & (2**64 - 1)) >> 32, high & 0xFFFFFFFF, (high & (2**64 - 1)) >> 32]
    assert lanes == [0, 0x3F000000, 0, 0x40000000]   # 0/0 and -0/0 were NaN; 1/2, 6/3 kept
