"""Two instances of one module on two threads vs the same two calls one after the other.

The GIL is released while wasm runs, so on two free cores the threaded run takes about
half the serial time. Target: threaded / serial <= 0.6.
"""
import threading

import pytest

from embed_ratios import REPORT, embed_report, wasabi_instance  # noqa: F401

WAT = """
(module
  (func (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc)
)
"""
N = 150_000_000
ROUNDS = 5


@pytest.fixture(scope="module")
def spins():
    return [wasabi_instance(WAT).exports.spin for _ in range(2)]


def test_two_instances_serial(benchmark, embed_report, spins):
    benchmark.group = "threads"
    benchmark.pedantic(lambda: [s(N) for s in spins], rounds=ROUNDS, iterations=1,
                       warmup_rounds=1)
    REPORT.record("2 x spin, one after the other", benchmark)


def test_two_instances_two_threads(benchmark, embed_report, spins):
    benchmark.group = "threads"

    def threaded():
        results = [None, None]

        def run(i):
            results[i] = spins[i](N)
        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results[0] == results[1] is not None

    benchmark.pedantic(threaded, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    REPORT.record("2 x spin, two threads", benchmark)
    embed_report.check("two threads / one after the other", "2 x spin, two threads",
                       "2 x spin, one after the other", "<=", 0.6)
