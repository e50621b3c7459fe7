"""The cost of fuel: the C kernels (bench/kernels) with and without fuel accounting,
in wasabi (Options(fuel=True)) and in wasmtime (Config.consume_fuel), in the same run.

    python -m pytest bench/test_fuel.py --benchmark-only

At the end: per kernel, fuel time / plain time for each engine, and their geometric
means (the goal: wasabi's overhead below wasmtime's). Each kernel's result must agree
with native C's, and both engines must have consumed the same fuel, before a time counts.
"""
import math

import pytest

from conftest import SUMMARIES
from kernels.build import KERNELS, build_wasm, load_native

ENGINES = ("wasabi", "wasabi+fuel", "wasmtime", "wasmtime+fuel")
FUEL = 1 << 62
ROUNDS = 11
TIMES = {}          # (kernel, engine) -> best seconds
CONSUMED = {}       # (kernel, engine) -> fuel consumed by one run


@pytest.fixture(scope="module")
def native_lib():
    return load_native()


@pytest.fixture(scope="module")
def wasm_bytes():
    return build_wasm().read_bytes()


def wasabi_runner(wasm_bytes, fuel):
    import wasabi
    store = wasabi.Store(options=wasabi.Options(fuel=fuel))
    exports = wasabi.instantiate(wasabi.Module(store, wasm_bytes), {}, store=store).exports
    return store, lambda name: getattr(exports, name)


def wasmtime_runner(wasm_bytes, fuel):
    import wasmtime
    config = wasmtime.Config()
    config.consume_fuel = fuel
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    if fuel:
        store.set_fuel(FUEL)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, wasm_bytes), []).exports(store)
    return store, lambda name: lambda arg: exports[name](store, arg)


@pytest.fixture(scope="module")
def runners(wasm_bytes):
    made = {}
    for engine in ENGINES:
        make = wasabi_runner if engine.startswith("wasabi") else wasmtime_runner
        made[engine] = make(wasm_bytes, engine.endswith("+fuel"))
    return made


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_fuel_kernel(benchmark, runners, native_lib, kernel, engine):
    arg = KERNELS[kernel]
    store, function = runners[engine]
    run = function(kernel)
    fuel = engine.endswith("+fuel")

    def setup():
        if fuel:
            store.set_fuel(FUEL)

    benchmark.group = f"fuel {kernel}"
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(run, args=(arg,), setup=setup, rounds=ROUNDS, iterations=1,
                                warmup_rounds=1)
    assert result == getattr(native_lib, kernel)(arg), f"{engine} {kernel}"
    if fuel:
        CONSUMED[kernel, engine] = FUEL - store.get_fuel()
        benchmark.extra_info["fuel_consumed"] = CONSUMED[kernel, engine]
    TIMES[kernel, engine] = benchmark.stats.stats.min


def lines():
    kernels = sorted({k for k, _ in TIMES})
    if not kernels:
        return []
    out = ["fuel overhead (best round; fuel time / time without fuel, same engine):",
           f"  {'kernel':14s} {'wasabi':>8s} {'wasmtime':>9s} {'fuel consumed':>16s} "
           f"{'wasabi ms':>10s} {'wasmtime ms':>12s}"]
    logs = {"wasabi": [], "wasmtime": []}
    for kernel in kernels:
        row = f"  {kernel:14s}"
        for engine, width in (("wasabi", 8), ("wasmtime", 9)):
            plain, counted = TIMES.get((kernel, engine)), TIMES.get((kernel, engine + "+fuel"))
            if plain and counted:
                logs[engine].append(math.log(counted / plain))
                row += f" {counted / plain:{width}.3f}"
            else:
                row += " " * width + "-"
        ours, theirs = CONSUMED.get((kernel, "wasabi+fuel")), CONSUMED.get((kernel, "wasmtime+fuel"))
        same = "" if ours is None or theirs is None or ours == theirs else f" (wasmtime {theirs})"
        row += f" {ours if ours is not None else '-':>16}{same}"
        plain = TIMES.get((kernel, "wasabi"))
        row += f" {plain * 1e3 if plain else float('nan'):10.2f}"
        plain = TIMES.get((kernel, "wasmtime"))
        row += f" {plain * 1e3 if plain else float('nan'):12.2f}"
        out.append(row)
    for engine, values in logs.items():
        if values:
            out.append(f"  geometric mean fuel overhead {engine}: "
                       f"{math.exp(sum(values) / len(values)):.3f} over {len(values)} kernels")
    return out


SUMMARIES.append(lines)
