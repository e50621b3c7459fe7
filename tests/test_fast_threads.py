"""Threads: the GIL is released while wasm runs, one module serves instances on
many threads, and an instance entered from a second thread while busy raises."""
import threading

import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasabi  # noqa: E402
from wasabi.binary.types import I32, FuncType  # noqa: E402
from wasabi.errors import Trap  # noqa: E402
from wasabi.runtime import HostFunction, instantiate  # noqa: E402

codegen = pytest.importorskip("wasabi.compiler")

WAT = """
(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (func $spin (export "spin") (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "callwait") (param i32) (result i32) local.get 0 call $wait)
  (func (export "wait_then_spin") (param i32) (result i32)
    (drop (call $wait (i32.const 0)))
    (call $spin (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
)
"""


def spin_reference(n):
    acc = 0
    while n:
        acc = (acc * 31 + n) & 0xFFFFFFFF
        n -= 1
    return acc - (1 << 32) if acc >= 1 << 31 else acc


@pytest.fixture(scope="module")
def compiled():
    desc = wasabi.parse(wasmtime.wat2wasm(WAT))
    return desc, codegen.compile_module(desc)


def make(compiled, wait=lambda x: x):
    desc, code = compiled
    return instantiate(desc, code, {"env": {"wait": HostFunction(FuncType((I32,), (I32,)), wait)}})


def run_threads(targets):
    errors = []

    def guard(fn):
        try:
            fn()
        except BaseException as exc:        # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_gil_is_released_while_wasm_runs(compiled):
    e = make(compiled).exports
    stop = threading.Event()
    counter = [0]

    def count():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=count)
    t.start()
    try:
        e.spin(1000)                         # the counter thread is running by now
        before = counter[0]
        e.spin(300_000_000)                  # a long call on this thread
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    # with the GIL held, the counting thread could not run at all during the call
    assert during > 10_000


def test_one_module_many_instances_on_many_threads(compiled):
    results = {}

    def work(k):
        e = make(compiled).exports
        for _ in range(20):
            assert e.add(k, 1) == k + 1
        results[k] = e.spin(100_000 + k)
        with pytest.raises(Trap):
            e.div(1, 0)

    run_threads([lambda k=k: work(k) for k in range(8)])
    assert results == {k: spin_reference(100_000 + k) for k in range(8)}


def test_busy_instance_raises_on_another_thread(compiled):
    entered, release = threading.Event(), threading.Event()

    def wait(x):
        entered.set()
        release.wait(30)
        return x

    e = make(compiled, wait=wait).exports
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("r", e.callwait(5)))
    t.start()
    try:
        assert entered.wait(30)
        with pytest.raises(RuntimeError, match="another thread"):
            e.add(1, 2)
        with pytest.raises(RuntimeError, match="another thread"):
            e.spin.map([1, 2])
    finally:
        release.set()
        t.join()
    assert out["r"] == 5
    assert e.add(1, 2) == 3                  # free again once the other thread left


def test_reentry_on_the_owning_thread(compiled):
    holder = {}
    e = make(compiled, wait=lambda x: holder["e"].add(x, 1) + holder["e"].spin(3)).exports
    holder["e"] = e
    assert e.callwait(10) == 11 + spin_reference(3)


def test_thread_started_by_a_host_function_runs_while_wasm_continues(compiled):
    # the entry kept the GIL (no other thread existed); the host function starts
    # one, so the way back into wasm must release the GIL for it
    progress = []
    stop = threading.Event()
    threads, at_return = [], []

    def worker():
        while not stop.is_set():
            progress.append(1)

    def start_thread(x):
        t = threading.Thread(target=worker)
        t.start()
        threads.append(t)
        at_return.append(len(progress))
        return x

    e = make(compiled, wait=start_thread).exports
    try:
        e.wait_then_spin(300_000_000)
        after = len(progress)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert after > at_return[0]


def test_trap_on_one_thread_leaves_others_alone(compiled):
    def trapping():
        e = make(compiled).exports
        for _ in range(200):
            with pytest.raises(Trap):
                e.div(1, 0)

    def working():
        e = make(compiled).exports
        for i in range(200):
            assert e.add(i, i) == 2 * i

    run_threads([trapping, working, trapping, working])
