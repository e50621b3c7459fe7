"""Call cost from Python into wasm and back: wasabi beside `operator.add` and the wasmtime package.

    python -m pytest bench/test_calls.py bench/test_memory.py bench/test_threads.py --benchmark-only

Every figure is a loop of calls inside one round (the loop overhead is the same for
all callers), divided by the number of calls. Targets (printed with the ratios at the
end): add/f64/6-parameter calls at most 4x `operator.add` on two ints and at least
100x cheaper than the same call through wasmtime; a wasm -> Python -> wasm host call
at most 1 us.
"""
import operator

import pytest
import wasmtime

from embed_ratios import REPORT, embed_report, wasabi_instance, wasmtime_instance  # noqa: F401
from wasabi import _ext
from wasabi.binary.types import I32, FuncType
from wasabi.runtime import HostFunction

WAT = """
(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "addf") (param f64 f64) (result f64) local.get 0 local.get 1 f64.add)
  (func (export "six") (param i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 i32.add local.get 2 i32.add
    local.get 3 i32.add local.get 4 i32.add local.get 5 i32.add)
  (func (export "hostloop") (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call $h (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc)
)
"""

CALLS = 20_000          # per round, for the fast callers
SLOW_CALLS = 500        # per round, for wasmtime (tens of microseconds per call)
HOST_CALLS = 20_000
ROUNDS = 15

ARGS = {"add": (1, 2), "addf": (1.5, 2.25), "six": (1, 2, 3, 4, 5, 6)}


def host(x):
    return x


@pytest.fixture(scope="module")
def wasabi_exports():
    return wasabi_instance(WAT, {"env": {"h": HostFunction(FuncType((I32,), (I32,)), host)}}).exports


@pytest.fixture(scope="module")
def wasmtime_exports():
    fn = wasmtime.Func
    store = wasmtime.Store()
    h = fn(store, wasmtime.FuncType([wasmtime.ValType.i32()], [wasmtime.ValType.i32()]), host)
    module = wasmtime.Module(store.engine, wasmtime.wat2wasm(WAT))
    instance = wasmtime.Instance(store, module, [h])
    return store, instance.exports(store)


def call_loop(f, args, n):
    a = args
    r = range(n)

    def loop():
        for _ in r:
            f(*a)
    return loop


def call_loop2(f, x, y, n):
    # the common two-argument shape without star-args, as user code would write it
    r = range(n)

    def loop():
        for _ in r:
            f(x, y)
    return loop


def measure(benchmark, label, loop, n, rounds=ROUNDS):
    benchmark.pedantic(loop, rounds=rounds, iterations=1, warmup_rounds=1)
    return REPORT.record(label, benchmark, n)


def test_operator_add(benchmark, embed_report):
    benchmark.group = "calls"
    measure(benchmark, "operator.add(1, 2)", call_loop2(operator.add, 1, 2, CALLS), CALLS)


def test_operator_add_floats(benchmark, embed_report):
    benchmark.group = "calls"
    measure(benchmark, "operator.add(1.5, 2.25)", call_loop2(operator.add, 1.5, 2.25, CALLS),
            CALLS)


@pytest.mark.parametrize("name", ["add", "addf", "six"])
def test_wasabi_call(benchmark, embed_report, wasabi_exports, name):
    benchmark.group = "calls"
    f = wasabi_exports[name]
    assert f.fast_path == "registers"
    loop = (call_loop2(f, *ARGS[name], CALLS) if len(ARGS[name]) == 2
            else call_loop(f, ARGS[name], CALLS))
    label = f"wasabi {name}{ARGS[name]}"
    measure(benchmark, label, loop, CALLS)
    baseline = "operator.add(1.5, 2.25)" if name == "addf" else "operator.add(1, 2)"
    embed_report.check(f"wasabi {name} / {baseline}", label, baseline, "<=", 4)
    embed_report.check(f"wasmtime {name} / wasabi {name}", f"wasmtime {name}{ARGS[name]}", label,
                       ">=", 100)


@pytest.mark.parametrize("kind", ["instance", "fast"])
def test_wasabi_call_through_exports(benchmark, embed_report, wasabi_exports, kind):
    # instance.exports.add(1, 2) with the attribute lookup inside the loop: the
    # instance's own Exports object, and the extension's FastExports namespace
    benchmark.group = "calls"
    exports = wasabi_exports if kind == "instance" else _ext.FastExports(dict(wasabi_exports))
    r = range(CALLS)

    def loop():
        for _ in r:
            exports.add(1, 2)
    label = f"wasabi {kind}.exports.add(1, 2), {type(exports).__name__}"
    measure(benchmark, label, loop, CALLS)
    embed_report.check(f"wasabi {kind}.exports.add / operator.add(1, 2)",
                       label, "operator.add(1, 2)", "<=", 4)


@pytest.mark.parametrize("name", ["add", "addf", "six"])
def test_wasmtime_call(benchmark, embed_report, wasmtime_exports, name):
    benchmark.group = "calls"
    store, exports = wasmtime_exports
    f = exports[name]
    args = (store, *ARGS[name])
    measure(benchmark, f"wasmtime {name}{ARGS[name]}", call_loop(f, args, SLOW_CALLS), SLOW_CALLS,
            rounds=5)


def test_wasabi_host_call(benchmark, embed_report, wasabi_exports):
    benchmark.group = "host calls"
    f = wasabi_exports.hostloop
    assert f(10) == 55
    label = "wasabi wasm -> Python -> wasm host call"
    measure(benchmark, label, lambda: f(HOST_CALLS), HOST_CALLS)
    embed_report.times.setdefault("1 us", 1e-6)
    embed_report.check("wasabi host call / 1 us", label, "1 us", "<=", 1)


def test_wasmtime_host_call(benchmark, embed_report, wasmtime_exports):
    benchmark.group = "host calls"
    store, exports = wasmtime_exports
    f = exports["hostloop"]
    label = "wasmtime wasm -> Python -> wasm host call"
    measure(benchmark, label, lambda: f(store, SLOW_CALLS), SLOW_CALLS, rounds=5)
    embed_report.check("wasmtime host call / wasabi host call", label,
                       "wasabi wasm -> Python -> wasm host call", ">=", 1)
