"""Shared libraries (issue 16): wasabi.load_dylib of a 1.5 MB module in a fresh process,
beside a normal compile of the same module in the same run.

    python -m pytest bench/test_dylib.py --benchmark-only

- The module: generated C (bench/gen_c.py, 4000 functions), about 1.5 MB of wasm,
  as bench/test_pickle.py's. Its library (T1) is built once into bench/build/
  (about a minute; rebuilt when the module, the wasabi sources it depends on or
  the runtime ABI change).
- A fresh process (bench/dylib_worker.py) imports wasabi, then times
  load_dylib + instantiate + the first call of an export. Target: <= 20 ms, and
  llvmlite never imported (asserted).
- Beside it, in this process: wasabi.compile of the same module (EAGER, T1, no
  cache) and instantiate + first call.
"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import BUILD, CFLAGS_SCALAR, SUMMARIES, build_module

MODULE_FUNCTIONS, MODULE_FILES = 4000, 4     # about 1.5 MB of wasm
EXPORT, ARG = "f0", 3
WASABI = pathlib.Path(__file__).resolve().parent.parent / "wasabi"
RESULTS = {}
NOTES = []


def summary():
    if not RESULTS:
        return []
    lines = ["shared libraries (best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:58s} {seconds * 1e3:9.3f} ms")
    return lines + [f"  {note}" for note in NOTES]


SUMMARIES.append(summary)


def _sources_key(data):
    from wasabi.runtime.dylib import abi_key
    digest = hashlib.sha256(data + abi_key().encode())
    for folder in (WASABI / "aot", WASABI / "_native" / "standalone", WASABI / "compiler"):
        for path in sorted(folder.rglob("*.py")) + sorted(folder.rglob("*.[ch]")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def big_library():
    import wasabi
    data, kind = build_module(MODULE_FUNCTIONS, MODULE_FILES, CFLAGS_SCALAR)
    path = BUILD / f"libdylib-{_sources_key(data)}.so"
    if not path.exists():
        start = time.perf_counter()
        from wasabi.aot import write_dylib
        write_dylib(data, path, options=wasabi.Options(tier="T1"))
        NOTES.append(f"library built in {time.perf_counter() - start:.1f} s "
                     f"({path.stat().st_size / 1e6:.1f} MB)")
    return path, data, kind


def _fresh_process(path):
    ran = subprocess.run([sys.executable, str(pathlib.Path(__file__).with_name("dylib_worker.py")),
                          str(path), EXPORT, str(ARG)], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(WASABI.parent)})
    return json.loads(ran.stdout.strip().splitlines()[-1])


def test_load_dylib_fresh_process(benchmark, big_library):
    path, data, kind = big_library
    runs = []

    def once():
        runs.append(_fresh_process(path))
        return runs[-1]

    benchmark.group = "dylib-1.5MB"
    benchmark.pedantic(once, rounds=5, iterations=1)
    assert all(run["llvmlite"] == [] for run in runs)
    best = min(runs, key=lambda run: run["to_first_call"])
    for key in ("import_wasabi", "load_dylib", "instantiate", "first_call", "to_first_call",
                "cpu_to_first_call"):
        RESULTS[f"fresh process: {key}"] = min(run[key] for run in runs)
    benchmark.extra_info.update({k: round(v * 1e3, 3) for k, v in best.items()
                                 if isinstance(v, float)})
    met = "met" if best["to_first_call"] <= 0.020 else "NOT met"
    NOTES.append(f"module: {len(data) / 1e6:.2f} MB wasm ({kind}), library "
                 f"{path.stat().st_size / 1e6:.1f} MB")
    cpu = min(run["cpu_to_first_call"] for run in runs)
    NOTES.append(f"load_dylib to the first call, fresh process: {best['to_first_call'] * 1e3:.1f}"
                 f" ms (CPU {cpu * 1e3:.1f} ms; target <= 20 ms: {met}); llvmlite never "
                 f"imported; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def test_compile_same_module(benchmark, big_library):
    """The same module compiled as usual (EAGER, T1, no cache), instantiated, called."""
    import wasabi
    _, data, _ = big_library

    def once():
        start = time.perf_counter()
        module = wasabi.compile(data, wasabi.Options(tier="T1"))
        instance = wasabi.instantiate(module)
        getattr(instance.exports, EXPORT)(ARG)
        return time.perf_counter() - start

    benchmark.group = "dylib-1.5MB"
    seconds = benchmark.pedantic(once, rounds=1, iterations=1)
    RESULTS["wasabi.compile (T1, no cache) + instantiate + first call"] = seconds
