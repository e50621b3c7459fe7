"""Numeric Python: wasabi.vectorize ufuncs and export.address from numba, beside
numpy expressions and numba.vectorize in the same run (issue 19's targets).

    python -m pytest bench/test_numeric.py --benchmark-only

Summary (end of the run), as ratios of best rounds:
- add(i32, i32) over 10M int32 vs `x + 5`                      target <= 1.1
  (also both with out=: a fresh 40 MB result's page faults dominate otherwise,
  and they vary with what the allocator kept from the test before)
- poly f64 x*(x*x)+1 over 10M vs numpy / vs numba.vectorize    <= 0.6 / <= 1.1
- parallel=True on 2 threads vs one, compute-bound export        >= 1.8x speed-up
- numba @njit loop calling add through export.address: ns/call   <= 5 ns
  (beside numba calling libc abs() through cffi, and a machine calibration:
  numpy work on two threads vs one, GIL released)
"""
import time

import numpy as np
import pytest
import wasmtime

import wasabi
from conftest import SUMMARIES

cffi = pytest.importorskip("cffi")
numba = pytest.importorskip("numba")

N = 10_000_000
WAT = """(module
 (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
 (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
 (func (export "poly") (param f64) (result f64)
   local.get 0 local.get 0 local.get 0 f64.mul f64.mul f64.const 1 f64.add)
 (func (export "spin") (param i32) (result i32) (local i32)
   (loop $l local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_s br_if $l)
   local.get 1))"""
RESULTS = {}


@pytest.fixture(scope="module")
def exports():
    return wasabi.Instance(wasabi.Module(wasabi.Store(), wasmtime.wat2wasm(WAT))).exports


def best(bench, fn, key):
    bench.pedantic(fn, rounds=10, iterations=1, warmup_rounds=1)
    RESULTS[key] = bench.stats.stats.min


def test_add_wasabi(benchmark, exports):
    add, x = wasabi.vectorize(exports.add), np.arange(N, dtype=np.int32)
    best(benchmark, lambda: add(x, 5), "add wasabi")


def test_add_numpy(benchmark):
    x = np.arange(N, dtype=np.int32)
    best(benchmark, lambda: x + 5, "add numpy")


def test_add_wasabi_out(benchmark, exports):
    add, x = wasabi.vectorize(exports.add), np.arange(N, dtype=np.int32)
    out = np.empty_like(x)
    best(benchmark, lambda: add(x, 5, out=out), "add wasabi out=")


def test_add_numpy_out(benchmark):
    x = np.arange(N, dtype=np.int32)
    out = np.empty_like(x)
    best(benchmark, lambda: np.add(x, 5, out=out), "add numpy out=")


def test_poly_wasabi(benchmark, exports):
    poly, x = wasabi.vectorize(exports.poly), np.random.default_rng(0).random(N)
    best(benchmark, lambda: poly(x), "poly wasabi")


def test_poly_numpy(benchmark):
    x = np.random.default_rng(0).random(N)
    best(benchmark, lambda: x * (x * x) + 1, "poly numpy")


def test_poly_numba(benchmark):
    @numba.vectorize(["float64(float64)"])
    def poly(x):
        return x * (x * x) + 1
    x = np.random.default_rng(0).random(N)
    best(benchmark, lambda: poly(x), "poly numba")


def test_parallel_one(benchmark, exports):
    spin, n = wasabi.vectorize(exports.spin), np.full(200_000, 200, np.int32)
    best(benchmark, lambda: spin(n), "spin 1 thread")


def test_parallel_two(benchmark, exports):
    spin = wasabi.vectorize(exports.spin, parallel=True, threads=2)
    n = np.full(200_000, 200, np.int32)
    best(benchmark, lambda: spin(n), "spin 2 threads")


def test_numba_address(benchmark, exports):
    add = cffi.FFI().cast(exports.add.ctype, exports.add.address)

    @numba.njit
    def loop(n):
        s = 0
        for i in range(n):
            s += add(i, 1)
        return s
    loop(10)
    best(benchmark, lambda: loop(1_000_000), "numba address 1M calls")


def test_numba_address_entry(benchmark, exports):
    """An export that can trap (div): every call goes through the entry (gate, _setjmp)."""
    div = cffi.FFI().cast(exports.div.ctype, exports.div.address)

    @numba.njit
    def loop(n):
        s = 0
        for i in range(n):
            s += div(i, 3)
        return s
    loop(10)
    best(benchmark, lambda: loop(1_000_000), "numba address entry 1M calls")


def test_numba_c_baseline(benchmark):
    ffi = cffi.FFI()
    ffi.cdef("int abs(int);")
    cabs = ffi.dlopen(None).abs

    @numba.njit
    def loop(n):
        s = 0
        for i in range(n):
            s += cabs(i)
        return s
    loop(10)
    best(benchmark, lambda: loop(1_000_000), "numba C abs 1M calls")


def test_machine_two_threads(benchmark):
    """Calibration: numpy work (GIL released) on two threads vs one, same total."""
    import threading
    x = np.random.default_rng(0).random(2_000_000)

    def work():
        np.sin(x)

    def two():
        t = threading.Thread(target=work)
        t.start()
        work()
        t.join()

    def one():
        work()
        work()
    best(benchmark, one, "numpy 2x work 1 thread")
    RESULTS["numpy 2x work 2 threads"] = min(_timed(two) for _ in range(5))


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def summary():
    r = RESULTS
    lines = ["numeric Python (best rounds, issue 19 targets):"]

    def ratio(a, b, target):
        if a in r and b in r:
            lines.append(f"  {a} / {b}: {r[a] / r[b]:.2f}  (target {target})")
    ratio("add wasabi", "add numpy", "<= 1.1")
    ratio("add wasabi out=", "add numpy out=", "<= 1.1; no allocation: the loops alone")
    ratio("poly wasabi", "poly numpy", "<= 0.6")
    ratio("poly wasabi", "poly numba", "<= 1.1")
    if "spin 1 thread" in r and "spin 2 threads" in r:
        lines.append(f"  parallel speed-up on 2 threads: "
                     f"{r['spin 1 thread'] / r['spin 2 threads']:.2f}x  (target >= 1.8)")
    if "numba address 1M calls" in r:
        lines.append(f"  numba -> export.address: {r['numba address 1M calls'] * 1e3:.1f} "
                     "ns/call  (target <= 5)")
    if "numba address entry 1M calls" in r:
        lines.append(f"  numba -> export.address of a trapping export (div, full entry): "
                     f"{r['numba address entry 1M calls'] * 1e3:.1f} ns/call")
    if "numba C abs 1M calls" in r:
        lines.append(f"  numba -> C abs() via cffi (baseline): "
                     f"{r['numba C abs 1M calls'] * 1e3:.1f} ns/call")
    if "numpy 2x work 2 threads" in r:
        lines.append(f"  machine calibration, numpy on 2 threads vs 1: "
                     f"{r['numpy 2x work 1 thread'] / r['numpy 2x work 2 threads']:.2f}x")
    return lines if len(lines) > 1 else []


SUMMARIES.append(summary)
