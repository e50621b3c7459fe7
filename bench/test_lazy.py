"""Time to the first result of a call on a large module: LAZY beside EAGER.

    python -m pytest bench/test_lazy.py --benchmark-only

The module is generated C (bench/gen_c.py) built without SIMD, several MB and
thousands of functions. Each measurement starts from the bytes: decode +
validate, compile (EAGER: every function; LAZY: nothing), instantiate, and one
call of a few exported functions that call others, with the tier the same on
both sides. LAZY must get there at least 10x sooner, having compiled only
what ran (plus, in its batches, the direct callees of what ran).
"""
import time

import pytest

from conftest import CFLAGS_SCALAR, SUMMARIES, build_module

LAZY_FUNCTIONS, LAZY_FILES = 8000, 8
TIER = "T1"
ENTRY_POINTS = 3            # exported functions called for the "first result"
RESULTS = {}                # label -> (best seconds, stats)
MODULE_SIZE = []


def summary():
    if not MODULE_SIZE or "lazy" not in RESULTS:
        return []
    lines = [f"time to the first result ({MODULE_SIZE[0] / 1e6:.2f} MB module, tier {TIER}):"]
    for label, (seconds, stats) in RESULTS.items():
        lines.append(f"  {label:18s} {seconds * 1e3:10.1f} ms  compiled "
                     f"{stats['functions_compiled']} of {stats['functions']} functions")
    if "eager" in RESULTS:
        ratio = RESULTS["eager"][0] / RESULTS["lazy"][0]
        lines.append(f"  eager / lazy: {ratio:.1f}x")
    return lines


SUMMARIES.append(summary)


@pytest.fixture(scope="module")
def large_module():
    data, _ = build_module(LAZY_FUNCTIONS, LAZY_FILES, CFLAGS_SCALAR)
    MODULE_SIZE[:] = [len(data)]
    return data


def entry_points(desc):
    """A few exported functions that call other functions (so batches matter), with
    arguments of zeros; the same ones for both modes."""
    from wasabi.binary.types import EXTERN_FUNC
    from wasabi.compiler.translator import FunctionTranslator
    from wasabi.compiler.module_ir import ModuleContext
    ctx = ModuleContext(desc, table_calls=True)
    chosen = []
    for export in desc.exports:
        if export.kind != EXTERN_FUNC or not export.name.startswith("f"):
            continue
        translator = FunctionTranslator(ctx, desc.funcs[export.index - desc.num_imported_funcs])
        translator.translate()
        if translator.callees:
            chosen.append(export.name)
        if len(chosen) == ENTRY_POINTS:
            break
    return chosen


def first_result(data, mode, names):
    import wasabi
    from wasabi.compiler import modes
    from wasabi.options import Mode, Options
    desc = wasabi.parse(data)
    module = modes.compile(desc, Options(mode=Mode(mode), tier=TIER))
    instance = module.instantiate()
    results = []
    for name in names:
        func = instance.exports[name]
        results.append(func(*[0] * len(func.functype.params)))
    return module, results


@pytest.fixture(scope="module")
def names(large_module):
    import wasabi
    return entry_points(wasabi.parse(large_module))


def _measure(benchmark, data, mode, names, rounds):
    outcome = {}

    def run():
        outcome["module"], outcome["results"] = first_result(data, mode, names)
    benchmark.group = "lazy-first-result"
    benchmark.pedantic(run, rounds=rounds, iterations=1)
    stats = outcome["module"].stats()
    RESULTS[mode] = (benchmark.stats.stats.min, stats)
    benchmark.extra_info.update(module_bytes=len(data), functions=stats["functions"],
                                functions_compiled=stats["functions_compiled"])
    return outcome


def test_lazy_first_result(benchmark, large_module, names):
    outcome = _measure(benchmark, large_module, "lazy", names, rounds=3)
    stats = outcome["module"].stats()
    assert 0 < stats["functions_compiled"] < stats["functions"] / 20


def test_eager_first_result(benchmark, large_module, names):
    _measure(benchmark, large_module, "eager", names, rounds=1)
    lazy_seconds = RESULTS.get("lazy", (None,))[0]
    if lazy_seconds is not None:
        ratio = RESULTS["eager"][0] / lazy_seconds
        benchmark.extra_info["eager_over_lazy"] = round(ratio, 1)
        assert ratio >= 10, f"LAZY reached the first result only {ratio:.1f}x sooner"


def test_same_results(large_module, names):
    """Both modes compute the same values."""
    start = time.perf_counter()
    _, lazy_results = first_result(large_module, "lazy", names)
    assert time.perf_counter() - start < 60
    import wasabi
    from wasabi.compiler import modes
    from wasabi.options import Mode, Options
    desc = wasabi.parse(large_module)
    eager_t0 = modes.compile(desc, Options(mode=Mode.EAGER, tier="T0")).instantiate()
    expected = [eager_t0.exports[n](*[0] * len(eager_t0.exports[n].functype.params))
                for n in names]
    assert lazy_results == expected
