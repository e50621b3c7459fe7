"""The seed's face of wasabi (wasabi.compile, wasabi.instantiate, instance.call) and the package."""
import importlib
import threading

import pytest

import wasabi
from wasabi import Mode, Options

wasmtime = pytest.importorskip("wasmtime")

COUNTER = """
(module
  (import "env" "log" (func $log (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $n (export "n") (mut i32) (i32.const 0))
  (func (export "bump") (result i32)
    global.get $n i32.const 1 i32.add global.set $n
    global.get $n call $log)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "two words") (result i32) i32.const 2))
"""


@pytest.fixture(scope="module")
def counter():
    return wasabi.compile(wasmtime.wat2wasm(COUNTER), Options(mode=Mode.EAGER))


def test_compile_returns_a_module(counter):
    assert isinstance(counter, wasabi.Module)
    assert [e.name for e in counter.exports] == ["memory", "n", "bump", "store", "div", "two words"]
    assert isinstance(wasabi.compile("(module)"), wasabi.Module)      # text, default options


def test_compile_options_and_modes():
    wasm = wasmtime.wat2wasm('(module (func (export "f") (result i32) i32.const 5))')
    for tier, bounds in [("T0", "explicit"), ("O2", "guard")]:
        module = wasabi.compile(wasm, Options(tier=tier, bounds=bounds))
        assert (module.options.tier, module.options.bounds) == (tier, bounds)
        assert wasabi.instantiate(module).call("f") == 5
    for mode in (Mode.EAGER, Mode.LAZY, Mode.REPL, Mode.PGO):
        module = wasabi.compile(wasm, Options(mode=mode))
        assert module.options.mode is mode and module.stats()["mode"] == mode.value
        assert wasabi.instantiate(module).call("f") == 5
    for mode in (Mode.AOT,):
        with pytest.raises(ValueError, match=f"mode {mode.name} is not available yet"):
            wasabi.compile(wasm, Options(mode=mode))
    with pytest.raises(TypeError):
        wasabi.compile(wasm, {"mode": "eager"})


def test_instantiate_call_and_exports(counter):
    log = []
    instance = wasabi.instantiate(counter, {"env": {"log": lambda n: log.append(n) or n * 10}})
    assert instance.call("bump") == 10
    assert instance.exports.bump() == 20
    assert log == [1, 2]
    assert instance.exports.n.value == 2
    assert instance.call("two words") == 2
    assert getattr(instance.exports, "two words")() == 2
    assert instance.exports["two words"]() == 2
    with pytest.raises(LookupError):
        instance.call("missing")
    with pytest.raises(TypeError, match="not a function"):
        instance.call("memory")


def test_a_module_is_shared_by_instances(counter):
    a = wasabi.instantiate(counter, {"env": {"log": lambda n: n}})
    b = wasabi.instantiate(counter, {"env": {"log": lambda n: -n}})
    a.call("store", 0, 7)
    assert a.call("bump") == 1 and a.call("bump") == 2
    assert b.call("bump") == -1
    assert a.exports.memory.int32_view()[0] == 7
    assert b.exports.memory.int32_view()[0] == 0
    assert a.store is not b.store                 # each seed instance owns its store


def test_instances_on_threads(counter):
    results = {}

    def run(k):
        instance = wasabi.instantiate(counter, {"env": {"log": lambda n: n}})
        results[k] = [instance.call("bump") for _ in range(100)][-1]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: 100 for k in range(4)}


def test_errors_of_the_seed_face(counter):
    instance = wasabi.instantiate(counter, {"env": {"log": lambda n: n}})
    with pytest.raises(wasabi.Trap, match="integer divide by zero") as info:
        instance.call("div", 1, 0)
    assert isinstance(info.value, RuntimeError) and info.value.code is not None
    with pytest.raises(wasabi.LinkError, match='unknown import "env" "log"'):
        wasabi.instantiate(counter)
    with pytest.raises(wasabi.LinkError):
        wasabi.instantiate(counter, {"env": {"log": wasabi.Memory(wasabi.Store(),
                                                                  wasabi.MemoryType(1))}})
    with pytest.raises(wasabi.CompileError) as info:
        wasabi.compile(b"\0asm\x02\0\0\0")
    assert isinstance(info.value, ValueError)
    with pytest.raises(wasabi.ValidationError):
        wasabi.compile("(module (func (result i32)))")


def test_instantiate_in_a_given_store(counter):
    store = wasabi.Store()
    instance = wasabi.instantiate(counter, {"env": {"log": lambda n: n}}, store=store)
    assert instance.store is store


def test_the_package_surface():
    for name in wasabi.__all__:
        assert getattr(wasabi, name) is not None, name
    kept = ["CompileError", "ValidationError", "LinkError", "Trap", "decode_module", "validate",
            "validate_module", "parse", "Options", "Mode"]
    assert set(kept) <= set(wasabi.__all__)
    assert callable(wasabi.compile)
    importlib.import_module("wasabi.compiler.builder")   # the compiler's subpackage
    assert callable(wasabi.compile) and wasabi.compile.__module__ == "wasabi.api.module"
    assert wasabi.__core_version__.count(".") == 2
    namespace = {}
    exec("from wasabi import *", namespace)
    assert namespace["compile"] is wasabi.compile and "Instance" in namespace


def test_import_wasabi_installs_the_runtime():
    import sys
    assert "wasabi.runtime" in sys.modules
    from wasabi import _ext
    _ext.signals_ensure()
    assert _ext.signals_on_top()


def test_a_null_table_entry_traps_naming_its_index():
    import wasabi
    module = wasabi.compile(wasabi.wat2wasm("""(module
        (type $v (func))
        (table 4 funcref)
        (func (export "call") (param i32) (call_indirect (type $v) (local.get 0))))"""))
    call = wasabi.instantiate(module).exports.call
    for index in (3, 0):
        with pytest.raises(wasabi.Trap) as info:
            call(index)
        assert str(info.value) == f"uninitialized element {index}"
    with pytest.raises(wasabi.Trap, match="^undefined element$"):
        call(4)


def test_repl_and_clone_through_the_public_api():
    import wasabi
    module = wasabi.compile("""(module (memory (export "memory") 1)
        (func $f (export "f") (result i32) (i32.const 1))
        (func (export "g") (result i32) (call $f))
        (func (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1))))""",
        Options(mode=Mode.REPL))
    instance = wasabi.instantiate(module)
    assert instance.exports.g() == 1
    instance.add_function('(module (func (export "f") (result i32) (i32.const 42)))')
    assert (instance.exports.f(), instance.exports.g()) == (42, 42)   # earlier code sees it
    with pytest.raises(wasabi.CompileError):
        instance.add_function('(module (func (export "f") (result i32) (i64.const 1)))')
    assert (instance.exports.f(), instance.exports.g()) == (42, 42)   # untouched

    plain = wasabi.instantiate(wasabi.compile(module._wasm, Options(mode=Mode.LAZY)))
    plain.exports.put(0, 7)
    twin = plain.clone()
    twin.exports.put(0, 9)
    assert plain.exports.memory.uint8_view()[0] == 7 and twin.exports.memory.uint8_view()[0] == 9


def test_options_cache_links_stored_code_the_second_time(tmp_path, monkeypatch):
    import wasabi
    monkeypatch.setenv("WASABI_CACHE_DIR", str(tmp_path))
    wat = '(module (func (export "twice") (param i32) (result i32) local.get 0 i32.const 2 i32.mul))'
    first = wasabi.compile(wat, wasabi.Options(cache=True, tier="T0"))
    second = wasabi.compile(wat, wasabi.Options(cache=True, tier="T0"))
    assert "codegen_seconds" in first.stats() and "codegen_seconds" not in second.stats()
    assert len(list(tmp_path.glob("*.wasabi"))) == 1
    assert wasabi.instantiate(second).exports.twice(21) == 42
    uncached = wasabi.compile(wat, wasabi.Options(tier="T0"))
    assert "codegen_seconds" in uncached.stats()
