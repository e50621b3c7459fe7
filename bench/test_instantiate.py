"""Instantiation and a fresh memory's first touch, beside wasmtime, in the same run.

    python -m pytest bench/test_instantiate.py --benchmark-only

- instantiate: a small module with a 1 MiB memory, a table, a global, a data
  segment and two exports (the per-request instance of a server).
- first touch: a fresh instance writes all of a 64 MiB memory once (memory.fill).
  wasabi's memories are memfds (so that clones are copy-on-write): their pages
  fault in as shared memory, which costs more than anonymous pages (wasmtime's,
  and wasabi's with Options(memory="anonymous"), measured too).
- many instances: 5,000 instances made and dropped in one Store.
"""
import pytest
import wasmtime

from conftest import SUMMARIES

RESULTS = {}
SMALL = """(module (memory (export "mem") 16) (table 4 funcref) (global (mut i32) (i32.const 0))
  (data (i32.const 0) "hello")
  (func (export "f") (result i32) i32.const 7) (func (export "g") (param i32) (result i32) local.get 0))"""
BIG = 64 << 20
FILL = f"""(module (memory (export "mem") {BIG >> 16})
  (func (export "fill") (memory.fill (i32.const 0) (i32.const 7) (i32.const {BIG}))))"""


def summary():
    lines = []
    for case in ("instantiate", "first touch of 64 MiB", "5,000 instances in one store"):
        for engine in ("wasabi", "wasabi anonymous"):
            if (case, engine) in RESULTS and (case, "wasmtime") in RESULTS:
                ours, theirs = RESULTS[case, engine], RESULTS[case, "wasmtime"]
                lines.append(f"  {case:30s} {engine:17s} {ours * 1e6:10.1f} us  "
                             f"wasmtime {theirs * 1e6:10.1f} us  ({ours / theirs:.2f}x)")
    return ["instantiation (best round):"] + lines if lines else []


SUMMARIES.append(summary)


def _record(benchmark, case, engine):
    RESULTS[case, engine] = benchmark.stats.stats.min


@pytest.fixture(scope="module")
def wasabi_modules():
    import wasabi
    anonymous = wasabi.Options(memory="anonymous")
    return {"small": wasabi.compile(wasmtime.wat2wasm(SMALL)),
            "fill": wasabi.compile(wasmtime.wat2wasm(FILL)),
            "fill anonymous": wasabi.compile(wasmtime.wat2wasm(FILL), anonymous)}


@pytest.fixture(scope="module")
def wasmtime_modules():
    engine = wasmtime.Engine()
    return engine, {name: wasmtime.Module(engine, wasmtime.wat2wasm(wat)) for name, wat in
                    (("small", SMALL), ("fill", FILL))}


def test_instantiate_wasabi(benchmark, wasabi_modules):
    import wasabi
    module = wasabi_modules["small"]
    benchmark.group = "instantiate"
    benchmark(lambda: wasabi.instantiate(module))
    _record(benchmark, "instantiate", "wasabi")


def test_instantiate_wasmtime(benchmark, wasmtime_modules):
    engine, modules = wasmtime_modules
    store = wasmtime.Store(engine)
    benchmark.group = "instantiate"
    benchmark(lambda: wasmtime.Instance(store, modules["small"], []))
    _record(benchmark, "instantiate", "wasmtime")


@pytest.mark.parametrize("memory", ["cow", "anonymous"])
def test_first_touch_wasabi(benchmark, wasabi_modules, memory):
    import gc
    import wasabi
    module = wasabi_modules["fill" if memory == "cow" else "fill anonymous"]

    def setup():
        gc.collect()        # free the last round's instance now, not inside the timing
        return (wasabi.instantiate(module),), {}
    benchmark.group = "first touch"
    benchmark.pedantic(lambda inst: inst.exports.fill(), setup=setup, rounds=6)
    _record(benchmark, "first touch of 64 MiB", "wasabi" if memory == "cow" else "wasabi anonymous")


def test_first_touch_wasmtime(benchmark, wasmtime_modules):
    engine, modules = wasmtime_modules

    def setup():
        store = wasmtime.Store(engine)
        return (store, wasmtime.Instance(store, modules["fill"], [])), {}
    benchmark.group = "first touch"
    benchmark.pedantic(lambda store, inst: inst.exports(store)["fill"](store), setup=setup,
                       rounds=6)
    _record(benchmark, "first touch of 64 MiB", "wasmtime")


def test_many_instances_wasabi(benchmark, wasabi_modules):
    import wasabi
    module = wasabi_modules["small"]          # its store is the one every instance goes in

    def run():
        for _ in range(5000):
            assert wasabi.Instance(module).exports.f() == 7
    benchmark.group = "many instances"
    benchmark.pedantic(run, rounds=2)
    _record(benchmark, "5,000 instances in one store", "wasabi")


def test_many_instances_wasmtime(benchmark, wasmtime_modules):
    engine, modules = wasmtime_modules

    def run():
        store = wasmtime.Store(engine)
        for _ in range(5000):
            assert wasmtime.Instance(store, modules["small"], []).exports(store)["f"](store) == 7
    benchmark.group = "many instances"
    benchmark.pedantic(run, rounds=2)
    _record(benchmark, "5,000 instances in one store", "wasmtime")
