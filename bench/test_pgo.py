"""Mode.PGO beside EAGER T1 and EAGER O2, and native C, on the C kernels, same run.

    python -m pytest bench/test_pgo.py --benchmark-only

- steady state: each kernel in PGO after its tier-up (called until the tier-up thread
  has swapped it), beside EAGER T1 and O2 (each already compiled);
- first result: compile + instantiate + one call of a kernel with its benchmark
  argument, PGO (lazy T0 baseline) beside EAGER T1 (everything compiled first).
At the end: per kernel, time / native C's for each engine, their geometric means,
and first-result times.
"""
import math
import time

import pytest

from conftest import SUMMARIES
from kernels.build import KERNELS, build_wasm, load_native

ENGINES = ("native", "eager-T1", "eager-O2", "pgo")
ROUNDS = 7
TIMES = {}          # (kernel, engine) -> best seconds
FIRST = {}          # (kernel, engine) -> seconds to the first result


@pytest.fixture(scope="module")
def native_lib():
    return load_native()


@pytest.fixture(scope="module")
def wasm():
    return build_wasm().read_bytes()


def compile_exports(wasm, mode, tier="T1"):
    import wasabi
    module = wasabi.compile(wasm, wasabi.Options(mode=mode, tier=tier))
    return module, wasabi.instantiate(module).exports


def warmed_pgo(wasm, kernel, arg):
    """PGO exports whose `kernel` was swapped for its O2 build."""
    module, exports = compile_exports(wasm, "pgo")
    index = module.desc.export(kernel).index
    deadline = time.monotonic() + 60
    while index not in module._code._optimized and time.monotonic() < deadline:
        getattr(exports, kernel)(arg)
        time.sleep(0.01)
    return exports


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_pgo_kernel(benchmark, wasm, native_lib, kernel, engine):
    arg = KERNELS[kernel]
    if engine == "native":
        run = getattr(native_lib, kernel)
    elif engine == "pgo":
        run = getattr(warmed_pgo(wasm, kernel, arg), kernel)
    else:
        run = getattr(compile_exports(wasm, "eager", engine.split("-")[1])[1], kernel)
    benchmark.group = f"pgo {kernel}"
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(run, args=(arg,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result == getattr(native_lib, kernel)(arg), f"{engine} {kernel}"
    TIMES[kernel, engine] = benchmark.stats.stats.min


@pytest.mark.parametrize("engine", ("eager-T1", "pgo"))
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_pgo_first_result(benchmark, wasm, native_lib, kernel, engine):
    arg = KERNELS[kernel]
    mode = "pgo" if engine == "pgo" else "eager"

    def first():
        return getattr(compile_exports(wasm, mode)[1], kernel)(arg)

    benchmark.group = f"pgo first result {kernel}"
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(first, rounds=3, iterations=1)
    assert result == getattr(native_lib, kernel)(arg)
    FIRST[kernel, engine] = benchmark.stats.stats.min


def lines():
    out = []
    kernels = sorted({k for k, _ in TIMES})
    if kernels:
        out += ["PGO after tier-up beside EAGER (best round; time / native C):",
                "  " + f"{'kernel':14s}" + "".join(f"{e:>10s}" for e in ENGINES[1:])]
        logs = {e: [] for e in ENGINES[1:]}
        for kernel in kernels:
            native = TIMES.get((kernel, "native"))
            row = f"  {kernel:14s}"
            for engine in ENGINES[1:]:
                t = TIMES.get((kernel, engine))
                if t and native:
                    logs[engine].append(math.log(t / native))
                    row += f"{t / native:10.3f}"
                else:
                    row += " " * 9 + "-"
            out.append(row)
        out.append("  geometric mean" + "".join(
            f"{math.exp(sum(v) / len(v)):10.3f}" if v else " " * 9 + "-" for v in logs.values()))
    firsts = sorted({k for k, _ in FIRST})
    if firsts:
        out.append("first result (compile + instantiate + one call), seconds: eager-T1 / pgo")
        for kernel in firsts:
            e, p = FIRST.get((kernel, "eager-T1")), FIRST.get((kernel, "pgo"))
            if e and p:
                out.append(f"  {kernel:14s} {e:8.3f} {p:8.3f}  ({e / p:.1f}x sooner)")
    return out


SUMMARIES.append(lines)
