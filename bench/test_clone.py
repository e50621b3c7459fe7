"""instance.clone() of an instance with 64 MiB of memory, beside a plain memcpy.

    python -m pytest bench/test_clone.py --benchmark-only

Memories are copy-on-write (wasabi/_native/memory_backing.c), so a clone's
cost depends on the original's history; each case is timed on its own:

- first clone: a fresh instance that wrote all 64 MiB, cloned once (freezes
  its memfd and maps it in the clone). This is the issue's measure.
- clone again: the same instance cloned again without writing in between.
- clone after rewrite: the original rewrote all 64 MiB since its last clone
  (every page dirty): the worst case, the original is frozen again into a new
  image (one pwrite of every byte).
- clone's first writes: the deferred cost, the clone writing all 64 MiB
  (each page copied on its first write), beside an original doing the same.

The baselines are numpy copies of a 64 MiB array: into a fresh buffer (`copy()`:
malloc + memcpy, the destination pages fault in as they are written), and into
a buffer whose pages are already there (the bare memcpy).
"""
import gc

import numpy as np
import pytest
import wasmtime

from conftest import SUMMARIES

MIB = 1 << 20
SIZE = 64 * MIB
ROUNDS = 6
RESULTS = {}
FIRST, FRESH = "first clone", "memcpy into fresh pages"


def summary():
    if FIRST not in RESULTS:
        return []
    lines = ["instance.clone() with 64 MiB of memory (best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:34s} {seconds * 1e3:8.2f} ms")
    if FRESH in RESULTS:
        for label in ("first clone", "clone again", "clone after rewrite"):
            if label in RESULTS:
                lines.append(f"  {label} / {FRESH}: {RESULTS[label] / RESULTS[FRESH]:.2f}x")
    return lines


SUMMARIES.append(summary)

WAT = f"""
(module
  (memory (export "mem") {SIZE // 65536})
  (func (export "fill") (param i32)
    (memory.fill (i32.const 0) (local.get 0) (i32.const {SIZE})))
  (func (export "get") (param i32) (result i32) (i32.load8_u (local.get 0))))
"""


@pytest.fixture(scope="module")
def module():
    import wasabi
    from wasabi.compiler import modes
    from wasabi.options import Options
    return modes.compile(wasabi.parse(wasmtime.wat2wasm(WAT)), Options())


def _filled(module, value=7):
    inst = module.instantiate()
    inst.exports.fill(value)         # every page resident, as in a program that used its memory
    return inst


def _time(benchmark, label, run, setup):
    benchmark.group = "clone-64MiB"
    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1)
    RESULTS[label] = benchmark.stats.stats.min


def test_first_clone(benchmark, module):
    from wasabi.runtime.clone import clone_instance
    pairs = []

    def setup():
        pairs.clear()                # one original alive at a time
        return (_filled(module),), {}

    def run(original):
        pairs.append((original, clone_instance(original)))
    _time(benchmark, FIRST, run, setup)
    original, copy = pairs[-1]
    assert copy.exports.get(SIZE - 1) == 7
    copy.exports.fill(9)
    assert original.exports.get(SIZE - 1) == 7 and copy.exports.get(0) == 9
    original.exports.fill(5)
    assert copy.exports.get(123) == 9
    _ratio(benchmark)


def test_clone_again(benchmark, module):
    from wasabi.runtime.clone import clone_instance
    original = _filled(module)
    clone_instance(original)
    clones = []
    _time(benchmark, "clone again", lambda: clones.append(clone_instance(original)), None)
    assert clones[-1].exports.get(SIZE // 2) == 7


def test_clone_after_rewrite(benchmark, module):
    from wasabi.runtime.clone import clone_instance
    original = _filled(module)
    clone_instance(original)
    clones = []

    def setup():
        clones.clear()
        original.exports.fill(len(clones) + 11)   # every page differs from the frozen image
        return (), {}
    _time(benchmark, "clone after rewrite", lambda: clones.append(clone_instance(original)),
          setup)
    assert clones[-1].exports.get(SIZE - 1) == 11


def test_clone_first_writes(benchmark, module):
    from wasabi.runtime.clone import clone_instance
    state = {}

    def setup():
        state.clear()
        gc.collect()                 # free the last round's instances outside the timing
        state["original"] = _filled(module)
        return (clone_instance(state["original"]),), {}

    def run(copy):
        copy.exports.fill(3)
    _time(benchmark, "clone's first writes of 64 MiB", run, setup)


def test_fresh_instance_first_writes(benchmark, module):
    def setup():
        gc.collect()
        return (module.instantiate(),), {}
    _time(benchmark, "fresh instance's first writes", lambda inst: inst.exports.fill(3), setup)


def test_memcpy_fresh_64mib(benchmark):
    source = np.full(SIZE, 7, dtype=np.uint8)
    _time(benchmark, FRESH, source.copy, None)
    _ratio(benchmark)


def test_memcpy_mapped_64mib(benchmark):
    source = np.full(SIZE, 7, dtype=np.uint8)
    target = np.zeros(SIZE, dtype=np.uint8)
    target[:] = 1                   # the pages exist
    _time(benchmark, "memcpy into mapped pages", lambda: np.copyto(target, source), None)


def _ratio(benchmark):
    if FIRST in RESULTS and FRESH in RESULTS:
        ratio = RESULTS[FIRST] / RESULTS[FRESH]
        benchmark.extra_info["first_clone_over_fresh_memcpy"] = round(ratio, 2)
        assert ratio <= 2.0, f"clone took {ratio:.2f}x a memcpy of 64 MiB into fresh pages"
