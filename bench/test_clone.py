"""instance.clone() of an instance with 64 MiB of memory, beside a plain memcpy.

    python -m pytest bench/test_clone.py --benchmark-only

The baselines are numpy copies of a 64 MiB array: into a fresh buffer (`copy()`:
malloc + memcpy, the destination pages fault in as they are written), and into
a buffer whose pages are already there (the bare memcpy). A clone needs fresh
memory too, so the first is the fair comparison; it must cost at most 2x that.
"""
import numpy as np
import pytest
import wasmtime

from conftest import SUMMARIES

MIB = 1 << 20
SIZE = 64 * MIB
RESULTS = {}


def summary():
    if "clone" not in RESULTS:
        return []
    lines = ["instance.clone() with 64 MiB of memory (best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:28s} {seconds * 1e3:8.2f} ms")
    for base in ("memcpy into fresh pages", "memcpy into mapped pages"):
        if base in RESULTS:
            lines.append(f"  clone / {base}: {RESULTS['clone'] / RESULTS[base]:.2f}x")
    return lines


SUMMARIES.append(summary)

WAT = f"""
(module
  (memory (export "mem") {SIZE // 65536})
  (global (export "g") (mut i32) (i32.const 0))
  (func (export "fill") (param i32)
    (memory.fill (i32.const 0) (local.get 0) (i32.const {SIZE})))
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))
"""


@pytest.fixture(scope="module")
def instance():
    import wasabi
    from wasabi.compile import modes
    from wasabi.options import Options
    module = modes.compile(wasabi.parse(wasmtime.wat2wasm(WAT)), Options())
    inst = module.instantiate()
    inst.exports.fill(7)           # every page resident, as in a program that used its memory
    return inst


def test_clone_64mib(benchmark, instance):
    from wasabi.runtime.clone import clone_instance
    clones = []

    def run():
        clones.append(clone_instance(instance))
    benchmark.group = "clone-64MiB"
    benchmark.pedantic(run, rounds=8, iterations=1, warmup_rounds=1)
    RESULTS["clone"] = benchmark.stats.stats.min
    copy = clones[-1]
    assert copy.exports.get(SIZE - 1) == 7
    copy.exports.fill(9)
    assert instance.exports.get(SIZE - 1) == 7 and copy.exports.get(0) == 9
    _ratio(benchmark)


def test_memcpy_fresh_64mib(benchmark):
    source = np.full(SIZE, 7, dtype=np.uint8)
    benchmark.group = "clone-64MiB"
    benchmark.pedantic(source.copy, rounds=8, iterations=1, warmup_rounds=1)
    RESULTS["memcpy into fresh pages"] = benchmark.stats.stats.min
    _ratio(benchmark)


def test_memcpy_mapped_64mib(benchmark):
    source = np.full(SIZE, 7, dtype=np.uint8)
    target = np.zeros(SIZE, dtype=np.uint8)
    target[:] = 1                   # the pages exist
    benchmark.group = "clone-64MiB"
    benchmark.pedantic(np.copyto, args=(target, source), rounds=8, iterations=1,
                       warmup_rounds=1)
    RESULTS["memcpy into mapped pages"] = benchmark.stats.stats.min


def _ratio(benchmark):
    if "clone" in RESULTS and "memcpy into fresh pages" in RESULTS:
        ratio = RESULTS["clone"] / RESULTS["memcpy into fresh pages"]
        benchmark.extra_info["clone_over_fresh_memcpy"] = round(ratio, 2)
        assert ratio <= 2.0, f"clone took {ratio:.2f}x a memcpy of 64 MiB into fresh pages"
