"""Compile time per MB of wasm: wasabi's tiers beside wasmtime (Cranelift), in the same run.

    python -m pytest bench/test_compile.py --benchmark-only

The module is generated C (bench/gen_c.py) built without SIMD, smaller than the
decode+validate module because an O2 compile of several MB takes minutes.
Both sides include decoding and validation; wasmtime compiles on all cores.
"""
import pytest

from conftest import CFLAGS_SCALAR, SUMMARIES, build_module

COMPILE_FUNCTIONS, COMPILE_FILES = 600, 2
RESULTS = {}          # label -> best seconds
MODULE_SIZE = []


def summary():
    if "wasmtime" not in RESULTS or not MODULE_SIZE:
        return []
    mb = MODULE_SIZE[0] / 1e6
    lines = [f"compile time per MB of wasm ({mb:.2f} MB module, best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:12s} {seconds / mb:8.2f} s/MB  ({seconds / RESULTS['wasmtime']:.1f}x wasmtime)")
    return lines


SUMMARIES.append(summary)


@pytest.fixture(scope="module")
def scalar_module():
    data, kind = build_module(COMPILE_FUNCTIONS, COMPILE_FILES, CFLAGS_SCALAR)
    MODULE_SIZE[:] = [len(data)]
    return data


def _wasabi_compile(data, tier):
    import wasabi
    from wasabi.compiler import compile_module
    from wasabi.options import Options
    return compile_module(wasabi.parse(data), Options(tier=tier))


def _record(label, benchmark, size):
    seconds = benchmark.stats.stats.min
    RESULTS[label] = seconds
    benchmark.extra_info.update({"module_bytes": size, "s_per_MB": round(seconds / (size / 1e6), 3)})


@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
def test_wasabi_compile(benchmark, scalar_module, tier):
    benchmark.group = "compile"
    benchmark.pedantic(_wasabi_compile, args=(scalar_module, tier), rounds=2, iterations=1)
    _record(f"wasabi {tier}", benchmark, len(scalar_module))


def test_wasmtime_compile(benchmark, scalar_module):
    import wasmtime
    engine = wasmtime.Engine()
    benchmark.group = "compile"
    benchmark.pedantic(lambda: wasmtime.Module(engine, scalar_module), rounds=3, iterations=1)
    _record("wasmtime", benchmark, len(scalar_module))
