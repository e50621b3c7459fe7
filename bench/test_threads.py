"""Two instances of one module on two threads vs the same two calls one after the other.

The GIL is released while wasm runs, so on two free cores the threaded run takes about
half the serial time. Target: threaded / serial <= 0.6.

Control: the same comparison for hashlib.sha256 over a large buffer, C code known to
release the GIL. When the control does not scale either, the machine had no second
core to give (other jobs), and the wasm ratio says nothing about wasabi.
"""
import hashlib
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


def serial_and_threaded(work):
    """(run both one after the other, run both on two threads) for two callables."""
    def serial():
        for w in work:
            w()

    def threaded():
        threads = [threading.Thread(target=w) for w in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return serial, threaded


@pytest.fixture(scope="module")
def spins():
    return [wasabi_instance(WAT).exports.spin for _ in range(2)]


@pytest.mark.parametrize("mode", ["serial", "threads"])
def test_two_instances(benchmark, embed_report, spins, mode):
    benchmark.group = "threads"
    results = {}
    work = [lambda i=i: results.__setitem__(i, spins[i](N)) for i in range(2)]
    serial, threaded = serial_and_threaded(work)
    benchmark.pedantic(serial if mode == "serial" else threaded, rounds=ROUNDS, iterations=1,
                       warmup_rounds=1)
    assert results[0] == results[1] is not None
    REPORT.record(f"2 x spin, {mode}", benchmark)
    embed_report.check("two threads / one after the other", "2 x spin, threads",
                       "2 x spin, serial", "<=", 0.6)


SHA_DATA = b"x" * (64 << 20)


@pytest.mark.parametrize("mode", ["serial", "threads"])
def test_control_sha256(benchmark, embed_report, mode):
    benchmark.group = "threads (control)"
    serial, threaded = serial_and_threaded([lambda: hashlib.sha256(SHA_DATA).digest()] * 2)
    benchmark.pedantic(serial if mode == "serial" else threaded, rounds=ROUNDS, iterations=1,
                       warmup_rounds=1)
    REPORT.record(f"control: 2 x sha256 64 MiB, {mode}", benchmark)
    embed_report.check("control: sha256 two threads / one after the other",
                       "control: 2 x sha256 64 MiB, threads",
                       "control: 2 x sha256 64 MiB, serial", "<=", 0.6)
