"""Moving numpy data in and out of wasm memory, beside a plain numpy copy of the same size.

Write: `memory.uint8_view()[0:n] = array` (one memmove from the array's buffer).
Read:  `np.copyto(out, memory.numpy(np.uint8, 0, n))` (a zero-copy array over the
memory, then numpy's copy). The baseline is `np.copyto(out, array)` between two
numpy arrays. Target: each direction within 1.5x of the baseline (64 MiB).
Also: a view taken before `grow` reads the right bytes after it.
"""
import numpy as np
import pytest

from embed_ratios import REPORT, embed_report, wasabi_instance  # noqa: F401
from wasabi.runtime.views import numpy_array
from wasabi.runtime import views

SIZE = 64 << 20
PAGES = SIZE // 65536
ROUNDS = 9
WAT = f'(module (memory (export "mem") {PAGES + 1} {PAGES + 64}))'


@pytest.fixture(scope="module")
def memory():
    mem = wasabi_instance(WAT).exports.mem
    return mem


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(7).integers(0, 256, SIZE, dtype=np.uint8)


@pytest.fixture(scope="module")
def out():
    buf = np.empty(SIZE, dtype=np.uint8)
    buf[:] = 1                      # touch every page before timing
    return buf


def measure(benchmark, label, fn):
    benchmark.pedantic(fn, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    return REPORT.record(label, benchmark)


def test_numpy_copy(benchmark, embed_report, data, out):
    benchmark.group = "memory 64 MiB"
    measure(benchmark, "numpy copy 64 MiB", lambda: np.copyto(out, data))


def test_write_numpy_into_memory(benchmark, embed_report, memory, data):
    benchmark.group = "memory 64 MiB"
    view = views.Uint8Array(memory)
    measure(benchmark, "numpy -> wasm memory 64 MiB (view slice)", lambda: view.__setitem__(
        slice(0, SIZE), data))
    assert memory.read(SIZE - 16, 16) == data[-16:].tobytes()
    embed_report.check("write 64 MiB / numpy copy", "numpy -> wasm memory 64 MiB (view slice)",
                       "numpy copy 64 MiB", "<=", 1.5)


def test_read_memory_into_numpy(benchmark, embed_report, memory, data, out):
    benchmark.group = "memory 64 MiB"
    views.Uint8Array(memory)[0:SIZE] = data
    measure(benchmark, "wasm memory -> numpy 64 MiB (zero-copy array)",
            lambda: np.copyto(out, numpy_array(memory, np.uint8, 0, SIZE)))
    assert np.array_equal(out, data)
    embed_report.check("read 64 MiB / numpy copy", "wasm memory -> numpy 64 MiB (zero-copy array)",
                       "numpy copy 64 MiB", "<=", 1.5)


def test_view_before_grow_reads_after_grow(benchmark, embed_report):
    benchmark.group = "grow"
    mem = wasabi_instance('(module (memory (export "mem") 1 1000))').exports.mem
    before = views.Uint8Array(mem)
    array_before = numpy_array(mem, np.uint8)
    before[0:4] = b"wasm"
    pattern = np.arange(65536, dtype=np.uint8)

    def grow_and_read():
        old = mem.grow(1)
        views.Uint8Array(mem, old * 65536)[0:65536] = pattern      # fill the new page
        return before[old * 65536:old * 65536 + 65536], old

    measure(benchmark, "grow 1 page + read it through an old view", grow_and_read)
    got, old = grow_and_read()
    assert got == pattern.tolist() and len(before) == (old + 1) * 65536
    assert before[0:4] == list(b"wasm") and bytes(array_before[0:4]) == b"wasm"
