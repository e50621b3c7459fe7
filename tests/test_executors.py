"""Modules, instances, exported and vectorized functions through the executors that
move objects between processes with pickle: multiprocessing (spawn, forkserver),
concurrent.futures, joblib, dask.distributed (LocalCluster with worker processes) and
ray. Only the spawn pool runs by default (a couple of seconds); the others are slow
(each starts fresh Python processes). dask and ray are the extras wasabi[dask] and
wasabi[ray]: their tests skip, saying so, only when those are not installed."""
import concurrent.futures
import multiprocessing

import numpy as np
import pytest

import wasabi

WAT = """
(module
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "collatz") (param i64) (result i32)
    (local $n i64) (local $steps i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $n (local.get 0))
    (block $done (loop $next
      (br_if $done (i64.le_u (local.get $n) (i64.const 1)))
      (local.set $n (if (result i64) (i64.eqz (i64.and (local.get $n) (i64.const 1)))
        (then (i64.shr_u (local.get $n) (i64.const 1)))
        (else (i64.add (i64.mul (local.get $n) (i64.const 3)) (i64.const 1)))))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br $next)))
    (local.get $steps))
  (func (export "calls") (result i32) (global.get $calls))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0))))
"""


def collatz_steps(n):
    steps = 0
    while n > 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


EXPECTED = [collatz_steps(n) for n in range(1, 41)]


def collatz_with(module, n):
    """A task that takes a module: instantiate it in the worker and call the export."""
    return wasabi.instantiate(module).exports.collatz(n)


def peek_with(instance, offset):
    return instance.exports.peek(offset)


def linked_modules(module):
    """How many modules this worker process linked (api/pickling.py's registry)."""
    from wasabi.api import pickling
    return pickling.REGISTRY.links


@pytest.fixture(scope="module")
def module():
    return wasabi.compile(WAT)


@pytest.fixture(scope="module")
def instance(module):
    inst = wasabi.instantiate(module)
    inst.exports.memory.uint8_view()[7] = 99
    return inst


def _pool_run(context, module, instance):
    with context.Pool(2) as pool:
        assert pool.starmap(collatz_with, [(module, n) for n in range(1, 41)]) == EXPECTED
        assert pool.map(instance.exports.collatz, range(1, 41)) == EXPECTED
        assert pool.starmap(peek_with, [(instance, 7)] * 4) == [99] * 4
        # each worker linked the module once, for however many tasks carried it
        assert max(pool.map(linked_modules, [module] * 8)) == 1


def test_multiprocessing_spawn(module, instance):
    _pool_run(multiprocessing.get_context("spawn"), module, instance)


@pytest.mark.slow
def test_multiprocessing_forkserver(module, instance):
    _pool_run(multiprocessing.get_context("forkserver"), module, instance)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_executor(module, instance, method):
    context = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        assert list(executor.map(collatz_with, [module] * 40, range(1, 41))) == EXPECTED
        assert list(executor.map(instance.exports.collatz, range(1, 41), chunksize=8)) == EXPECTED


@pytest.mark.slow
def test_joblib(module, instance):
    joblib = pytest.importorskip("joblib", reason="joblib is not installed "
                                 "(pip install -e '.[test]')")
    parallel = joblib.Parallel(n_jobs=2, backend="loky")
    assert parallel(joblib.delayed(collatz_with)(module, n) for n in range(1, 41)) == EXPECTED
    vec = wasabi.vectorize(instance.exports.collatz)
    chunks = np.array_split(np.arange(1, 41, dtype=np.int64), 4)
    results = parallel(joblib.delayed(vec)(chunk) for chunk in chunks)
    assert np.concatenate(results).tolist() == EXPECTED


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask.array", reason="dask is not installed (pip install 'wasabi[dask]')")
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                      "(pip install 'wasabi[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.mark.slow
def test_dask_map_blocks_over_a_vectorized_export(dask_client, instance):
    import dask.array as da
    vec = wasabi.vectorize(instance.exports.collatz)
    numbers = da.arange(1, 41, chunks=10, dtype=np.int64)
    steps = numbers.map_blocks(vec, dtype=np.int32).compute()
    assert steps.tolist() == EXPECTED


@pytest.mark.slow
def test_dask_client_map_over_a_modules_export(dask_client, module, instance):
    futures = dask_client.map(instance.exports.collatz, range(1, 41))
    assert dask_client.gather(futures) == EXPECTED
    # the module scattered once, then passed to every task by reference
    [remote] = dask_client.scatter([module], broadcast=True)
    futures = dask_client.map(collatz_with, [remote] * 40, range(1, 41), pure=False)
    assert dask_client.gather(futures) == EXPECTED
    assert max(dask_client.run(lambda: __import__("wasabi.api.pickling").api.pickling
                               .REGISTRY.links).values()) == 1


RAY_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import ray, wasabi
import test_executors as t
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
try:
    module = wasabi.compile(t.WAT)
    instance = wasabi.instantiate(module)
    ref = ray.put(module)

    @ray.remote
    def steps(module, n):
        return wasabi.instantiate(module).exports.collatz(n)

    assert ray.get([steps.remote(ref, n) for n in range(1, 41)]) == t.EXPECTED
    collatz = ray.remote(lambda f, n: f(n))
    assert ray.get([collatz.remote(instance.exports.collatz, n) for n in (27, 97)]) == \\
        [t.collatz_steps(27), t.collatz_steps(97)]
finally:
    ray.shutdown()
print("ok")
"""


@pytest.mark.slow
def test_ray_put_module_and_remote_call():
    """In a process of its own: ray.init() installs its own SIGSEGV handler and
    ray.shutdown() leaves SIG_DFL behind, so any other runtime's guard-page traps in
    that process (wasmtime's, in the tests that follow) would kill it (wasabi puts its
    own handler back at the next instantiation)."""
    pytest.importorskip("ray", reason="ray is not installed (pip install 'wasabi[ray]')")
    import os
    import pathlib
    import subprocess
    import sys
    tests = pathlib.Path(__file__).resolve().parent
    root = str(tests.parent)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", RAY_SCRIPT.format(tests=str(tests))],
                          capture_output=True, text=True, timeout=600, env=env, cwd=root)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
