"""Decode + validate throughput: wasabi.validate beside wasmtime.Module.validate, same module, same run.

    python -m pytest bench --benchmark-only

wasmtime validates function bodies on a thread pool by default; "wasmtime-1-thread" turns that off
(Config.parallel_compilation = False) for a per-core comparison. MB/s and the ratios go into each
benchmark's extra_info and the terminal summary.
"""
import pytest
import wasmtime

import wasabi

ROUNDS = 7


def run(benchmark, function, data):
    # a call takes tens of milliseconds or more: fixed rounds keep the run short and comparable
    benchmark.pedantic(function, args=(data,), rounds=ROUNDS, iterations=1, warmup_rounds=1)


def test_wasabi_validate(benchmark, bench_module, throughput):
    data, _ = bench_module
    benchmark.group = "decode+validate"
    run(benchmark, wasabi.validate, data)
    throughput.add("wasabi", benchmark, len(data))


def wasmtime_engine(parallel):
    config = wasmtime.Config()
    config.parallel_compilation = parallel
    return wasmtime.Engine(config)


@pytest.mark.parametrize("parallel", [True, False], ids=["default", "1-thread"])
def test_wasmtime_validate(benchmark, bench_module, throughput, parallel):
    data, _ = bench_module
    engine = wasmtime_engine(parallel)  # Module.validate takes the engine (a Store is refused)
    benchmark.group = "decode+validate"
    run(benchmark, lambda module: wasmtime.Module.validate(engine, module), data)
    throughput.add("wasmtime" if parallel else "wasmtime-1-thread", benchmark, len(data))
