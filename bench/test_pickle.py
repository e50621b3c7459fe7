"""Pickling across processes (issue 18): modules into fresh workers, dask throughput and
task overhead, 64 MiB instance snapshots beside numpy.

    python -m pytest bench/test_pickle.py --benchmark-only

- A 1.5 MB module (generated C, bench/gen_c.py) unpickled in a fresh worker process
  (bench/pickle_worker.py; with .pyc files, as installed): (a) its code in the worker's
  on-disk cache (the pickle made on "another machine", so its code cannot be used: the
  cache's is loaded); (b) no cache entry, the same machine key: the pickled code (a
  prelinked image, compiler/prelink.py) is mapped, and any LLVM optimisation or code
  generation is an error in the worker. Target: <= 20 ms; llvmlite is not imported
  (asserted). The module is compiled once into bench/build/pickle-cache (minutes, the
  first time).
- A compute-bound export (vectorized Collatz steps) mapped over chunks on a dask
  LocalCluster with 1 and with 2 worker processes (target: 2 workers >= 1.8x), and the
  cost per task of client.map over an export beside the same map over a Python function.
- An instance with 64 MiB of memory: pickle.dumps + pickle.loads (protocol 5) beside the
  same for a 64 MiB numpy array (target <= 2x).
"""
import gc
import json
import os
import pathlib
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import BUILD, CFLAGS_SCALAR, SUMMARIES, build_module

MODULE_FUNCTIONS, MODULE_FILES = 4000, 4     # about 1.5 MB of wasm
MIB = 1 << 20
SIZE = 64 * MIB
RESULTS = {}          # label -> seconds
NOTES = []


def summary():
    if not RESULTS:
        return []
    lines = ["pickling across processes (best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:58s} {seconds * 1e3:9.3f} ms")
    if "instance 64 MiB" in RESULTS and "numpy 64 MiB" in RESULTS:
        lines.append(f"  64 MiB instance / numpy array: "
                     f"{RESULTS['instance 64 MiB'] / RESULTS['numpy 64 MiB']:.2f}x (target <= 2)")
    return lines + [f"  {note}" for note in NOTES]


SUMMARIES.append(summary)


# ---- a 1.5 MB module into a fresh worker ----

@pytest.fixture(scope="module")
def big_module():
    import wasabi
    data, kind = build_module(MODULE_FUNCTIONS, MODULE_FILES, CFLAGS_SCALAR)
    cache = BUILD / "pickle-cache"
    os.environ["WASABI_CACHE_DIR"] = str(cache)       # compiled once, kept between runs
    module = wasabi.compile(data, wasabi.Options(cache=True))
    return module, data, kind, cache


def _worker(payload, tmp_path, cache_dir, *flags):
    path = tmp_path / "module.pickle"
    path.write_bytes(payload)
    # as an installed package runs: with bytecode caches (written by the first worker
    # where PYTHONDONTWRITEBYTECODE kept them from being written)
    env = dict(os.environ, WASABI_CACHE_DIR=str(cache_dir))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, str(pathlib.Path(__file__).with_name("pickle_worker.py")),
                          str(path), *flags], env=env, capture_output=True, text=True, check=True)
    timings = json.loads(out.stdout.strip().splitlines()[-1])
    WORKER_RUNS.append(timings)
    return timings


WORKER_RUNS = []


def _record_worker(benchmark, label, size):
    runs, WORKER_RUNS[:] = list(WORKER_RUNS), []
    assert all(r["llvmlite"] == [] and r["code"] == "ImageCode" for r in runs), runs[-1]
    best = {k: min(r[k] for r in runs) for k in ("first", "first_cpu", "relinked",
                                                  "registry_hit")}
    RESULTS[f"{label}: first unpickle in the process"] = best["first"]
    RESULTS[f"{label}: the same, CPU time"] = best["first_cpu"]
    RESULTS[f"{label}: loaded again (registry emptied)"] = best["relinked"]
    RESULTS["registry hit (the same module unpickled again)"] = best["registry_hit"]
    benchmark.extra_info.update({"module_bytes": size,
                                 **{k: round(v * 1e3, 3) for k, v in best.items()}})
    return best


def test_unpickle_module_fresh_worker_cached(benchmark, big_module, tmp_path, monkeypatch):
    from wasabi.compiler import artifact
    module, data, kind, cache = big_module
    module.__dict__.pop("_pickled", None)
    with monkeypatch.context() as patch:          # made where its objects cannot run
        patch.setattr(artifact, "machine_key", lambda: "another machine")
        payload = pickle.dumps(module)
    module.__dict__.pop("_pickled", None)
    benchmark.group = "unpickle-1.5MB"
    _worker(payload, tmp_path, cache, "--no-codegen")       # .pyc files, page cache
    WORKER_RUNS.clear()
    benchmark.pedantic(_worker, args=(payload, tmp_path, cache, "--no-codegen"),
                       rounds=5, iterations=1)
    NOTES.append(f"module: {len(data) / 1e6:.2f} MB wasm ({kind}), pickle "
                 f"{len(payload) / 1e6:.2f} MB (cache case), {len(pickle.dumps(module)) / 1e6:.2f}"
                 " MB with its code")
    best = _record_worker(benchmark, "fresh worker, code in its cache", len(data))
    # not asserted (a busy machine doubles the wall clock); the summary says whether the
    # target is met
    met = "met" if best["first"] <= 0.020 else "NOT met"
    NOTES.append(f"fresh worker, code in its cache: {best['first'] * 1e3:.1f} ms, CPU "
                 f"{best['first_cpu'] * 1e3:.1f} ms (target <= 20 ms: {met}; load average "
                 f"{os.getloadavg()[0]:.1f})")


def test_unpickle_module_fresh_worker_no_cache(benchmark, big_module, tmp_path):
    module, data, kind, cache = big_module
    payload = pickle.dumps(module)
    empty = tmp_path / "empty-cache"
    benchmark.group = "unpickle-1.5MB"
    _worker(payload, tmp_path, empty, "--no-codegen")       # .pyc files, page cache
    WORKER_RUNS.clear()
    benchmark.pedantic(_worker, args=(payload, tmp_path, empty, "--no-codegen"),
                       rounds=5, iterations=1)
    assert not empty.exists() or not list(empty.iterdir())     # nothing compiled, nothing stored
    _record_worker(benchmark, "fresh worker, no cache, key matches (image mapped)", len(data))


# ---- dask: throughput on 1 and 2 workers, task overhead ----

COLLATZ = """
(module
  (func (export "collatz") (param i64) (result i32)
    (local $n i64) (local $steps i32)
    (local.set $n (local.get 0))
    (block $done (loop $next
      (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
      (local.set $n (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
        (then (i64.shr_u (local.get $n) (i64.const 1)))
        (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br $next)))
    (local.get $steps)))
"""
# Throughput, not start-up: about 3 s of work on one worker, in chunks of about 0.1 s
# (dask's advice: tasks well above its ~1-2 ms overhead), and enough of them that the
# last one to finish leaves the other worker idle for a small part of the run only
CHUNKS, CHUNK = 32, 400_000


def _cluster(workers):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install 'wasabi[dask]')")
    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    return cluster, distributed.Client(cluster)


def _map_chunks(vec):
    import dask.array as da
    numbers = da.arange(1, CHUNKS * CHUNK + 1, chunks=CHUNK, dtype=np.int64)
    return numbers.map_blocks(vec, dtype=np.int32).sum().compute()


@pytest.mark.parametrize("workers", [1, 2])
def test_dask_throughput(benchmark, workers):
    pytest.importorskip("dask.array", reason="dask is not installed (pip install 'wasabi[dask]')")
    import wasabi
    export = wasabi.instantiate(wasabi.compile(COLLATZ)).exports.collatz
    vec = wasabi.vectorize(export)
    cluster, client = _cluster(workers)
    with cluster, client:
        client.run(lambda: None)
        expected = _map_chunks(vec)                 # warm: every worker has the module linked
        benchmark.group = "dask-collatz"
        total = benchmark.pedantic(_map_chunks, args=(vec,), rounds=3, iterations=1)
        assert total == expected
        RESULTS[f"dask map_blocks, {CHUNKS} chunks of {CHUNK} Collatz, {workers} worker(s)"] = \
            benchmark.stats.stats.min
        if workers == 2:
            _task_overhead(client, export)
    one = RESULTS.get(f"dask map_blocks, {CHUNKS} chunks of {CHUNK} Collatz, 1 worker(s)")
    if workers == 2 and one:
        speedup = one / benchmark.stats.stats.min
        NOTES.append(f"dask 2 workers / 1 worker throughput: {speedup:.2f}x (target >= 1.8; "
                     f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
        benchmark.extra_info["speedup_2_over_1"] = round(speedup, 2)


def _task_overhead(client, export, tasks=400):
    def python_steps(n):
        return n

    def per_task(function):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            client.gather(client.map(function, range(tasks), pure=False))
            best = min(best, (time.perf_counter() - start) / tasks)
        return best
    per_task(export)                                  # warm
    RESULTS["dask client.map: per task, a wasm export"] = per_task(export)
    RESULTS["dask client.map: per task, a Python function"] = per_task(python_steps)


# ---- 64 MiB instance snapshot beside numpy ----

def _roundtrip(obj):
    return pickle.loads(pickle.dumps(obj, protocol=5))


@pytest.fixture(scope="module")
def filled_instance():
    import wasabi
    module = wasabi.compile(f"""(module (memory (export "mem") {SIZE // 65536})
      (func (export "fill") (param i32) (memory.fill (i32.const 0) (local.get 0) (i32.const {SIZE})))
      (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))""")
    inst = wasabi.instantiate(module)
    inst.exports.fill(7)
    return inst


def _time_roundtrip(benchmark, label, obj):
    benchmark.group = "pickle-64MiB"
    copies = []

    def setup():
        copies.clear()
        gc.collect()
        return (), {}
    benchmark.pedantic(lambda: copies.append(_roundtrip(obj)), setup=setup, rounds=6,
                       iterations=1)
    RESULTS[label] = benchmark.stats.stats.min
    return copies[-1]


def test_numpy_64mib_pickle(benchmark):
    array = np.full(SIZE, 7, dtype=np.uint8)
    assert _time_roundtrip(benchmark, "numpy 64 MiB", array)[SIZE - 1] == 7


def test_instance_64mib_snapshot_pickle(benchmark, filled_instance):
    copy = _time_roundtrip(benchmark, "instance 64 MiB", filled_instance)
    assert copy.exports.get(SIZE - 1) == 7
    if "numpy 64 MiB" in RESULTS:
        ratio = RESULTS["instance 64 MiB"] / RESULTS["numpy 64 MiB"]
        benchmark.extra_info["over_numpy"] = round(ratio, 2)
        assert ratio <= 2.0, f"{ratio:.2f}x numpy"
