"""LAZY mode: validation up front, compilation on first call, shared code, threads."""
import threading

import pytest
import wasmtime

import wasabi
from wasabi import _ext
from wasabi.compiler import modes
from wasabi.compiler import builder as lazy_mode
from wasabi.errors import Trap, ValidationError
from wasabi.options import Mode, Options

# f0..f4 are leaves; chain_a calls chain_b only when its argument is nonzero;
# fib recurses; dispatch calls through a table; deep recurses n times, then calls late
WAT = """
(module
  (memory (export "mem") 1)
  (table 2 funcref)
  (elem (i32.const 0) $f0 $f1)
  (type $i2i (func (param i32) (result i32)))
  (func $f0 (export "f0") (param i32) (result i32) local.get 0 i32.const 10 i32.add)
  (func $f1 (export "f1") (param i32) (result i32) local.get 0 i32.const 11 i32.add)
  (func $f2 (export "f2") (param i32) (result i32) local.get 0 i32.const 12 i32.add)
  (func $f3 (export "f3") (param i32) (result i32) local.get 0 i32.const 13 i32.add)
  (func $f4 (export "f4") (param i32) (result i32) local.get 0 i32.const 14 i32.add)
  (func $chain_a (export "chain_a") (param i32) (result i32)
    (if (result i32) (local.get 0) (then (call $chain_b (local.get 0))) (else (i32.const -1))))
  (func $chain_b (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
  (func $fib (export "fib") (param i64) (result i64)
    (if (result i64) (i64.lt_u (local.get 0) (i64.const 2)) (then (local.get 0))
      (else (i64.add (call $fib (i64.sub (local.get 0) (i64.const 1)))
                     (call $fib (i64.sub (local.get 0) (i64.const 2)))))))
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect (type $i2i) (local.get 1) (local.get 0)))
  (func (export "multi") (param i32 f64 i64) (result f64 i64 i32)
    local.get 1 local.get 2 local.get 0)
  (func (export "boom") (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
  (func $forever (export "forever") (param i32) (result i32) local.get 0 call $forever)
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (call $late (i32.const 0)))))
  (func $late (param i32) (result i32) local.get 0 i32.const 100 i32.add)
)
"""


@pytest.fixture(scope="module")
def desc():
    return wasabi.parse(wasmtime.wat2wasm(WAT))


def lazy(desc, **kwargs):
    return modes.compile(desc, Options(mode=Mode.LAZY), **kwargs)


def compiled_count(module):
    return module.stats()["functions_compiled"]


def test_nothing_is_compiled_up_front(desc):
    module = lazy(desc)
    module.instantiate()
    stats = module.stats()
    assert stats["functions_compiled"] == 0 and stats["batches"] == 0
    assert stats["functions"] == len(desc.funcs)


def test_only_what_runs_is_compiled(desc):
    module = lazy(desc)
    inst = module.instantiate()
    assert inst.exports.f0(1) == 11
    assert inst.exports.f3(1) == 14
    assert compiled_count(module) == 2
    assert inst.exports.f0(2) == 12          # compiled once, then direct
    assert compiled_count(module) == 2
    assert all(module.code.is_compiled(i) == (i in (0, 3)) for i in range(len(desc.funcs)))


def test_callees_are_batched_with_their_caller(desc):
    module = lazy(desc)
    inst = module.instantiate()
    assert inst.exports.chain_a(0) == -1     # chain_b did not run, but came in the batch
    stats = module.stats()
    assert (stats["functions_compiled"], stats["batches"]) == (2, 1)
    assert inst.exports.chain_a(4) == 8
    assert module.stats()["batches"] == 1


def test_batch_limit_one_compiles_exactly_what_ran(desc):
    module = lazy(desc, batch_limit=1)
    inst = module.instantiate()
    assert inst.exports.chain_a(0) == -1
    assert compiled_count(module) == 1
    assert inst.exports.chain_a(5) == 10
    assert compiled_count(module) == 2


def test_recursion_calls_and_results(desc):
    inst = lazy(desc).instantiate()
    assert inst.exports.fib(20) == 6765
    assert inst.exports.multi(7, 2.5, -3) == (2.5, -3, 7)     # a struct return through the stub
    assert inst.exports.dispatch(1, 5) == 16                    # call_indirect to a stub
    assert inst.exports.dispatch(0, 5) == 15


def test_traps_in_lazily_compiled_code(desc):
    inst = lazy(desc).instantiate()
    with pytest.raises(Trap, match="integer divide by zero"):
        inst.exports.boom(1)
    with pytest.raises(Trap, match="call stack exhausted"):
        inst.exports.forever(1)
    assert inst.exports.f1(1) == 12          # the instance still works


def test_code_is_shared_by_instances(desc):
    module = lazy(desc)
    first, second = module.instantiate(), module.instantiate()
    assert first.exports.fib(15) == 610
    assert compiled_count(module) == 1
    # the second instance's record was patched to the compiled code (no stub on the way)
    index = desc.export("fib").index
    code = module.code.table.published(index)
    assert second.funcs.get_u64(index * 24) == code
    assert second.exports.fib(16) == 987
    third = module.instantiate()             # created after the compile: gets the code too
    assert third.funcs.get_u64(index * 24) == code
    assert compiled_count(module) == 1


def test_compile_error_is_the_original_exception(desc, monkeypatch):
    module = lazy(desc)
    inst = module.instantiate()
    error = ValueError("simulated compile failure")

    def failing_emit(text, tier):
        raise error
    monkeypatch.setattr(lazy_mode, "emit_object", failing_emit)
    with pytest.raises(ValueError) as caught:
        inst.exports.f2(1)
    assert caught.value is error
    assert compiled_count(module) == 0
    monkeypatch.undo()
    assert inst.exports.f2(1) == 13          # the next call compiles it
    assert compiled_count(module) == 1


def test_invalid_function_rejected_before_anything_runs():
    bad = wasmtime.wat2wasm("""(module
        (func (export "good") (result i32) i32.const 1)
        (func (export "never_called") (result i32) i64.const 1))""", )
    with pytest.raises(ValidationError):
        modes.compile(wasabi.parse(bad), Options(mode=Mode.LAZY))


def test_threads_wait_for_a_compile_in_progress(desc, monkeypatch):
    module = lazy(desc)
    instances = [module.instantiate() for _ in range(4)]
    real_emit = lazy_mode.emit_object
    started = threading.Event()
    calls = []

    def slow_emit(text, tier):
        calls.append(1)
        started.set()
        threading.Event().wait(0.3)          # the other threads arrive meanwhile
        return real_emit(text, tier)
    monkeypatch.setattr(lazy_mode, "emit_object", slow_emit)
    results = [None] * len(instances)

    def run(i):
        results[i] = instances[i].exports.fib(18 + i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(instances))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2584, 4181, 6765, 10946]
    assert len(calls) == 1 and compiled_count(module) == 1


def test_compile_on_a_nearly_full_stack(desc):
    """A thread with a small stack compiles elsewhere (LLVM needs more stack)."""
    module = lazy(desc)
    inst = module.instantiate()
    out = {}

    def run():
        try:
            out["value"] = inst.exports.deep(200)
        except BaseException as exc:
            out["error"] = exc
    old = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=run)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join()
    assert out == {"value": 300}
    assert module.stats()["deep_compiles"] >= 1


def test_without_native_stubs_everything_is_compiled_up_front(desc, monkeypatch):
    monkeypatch.setattr(_ext, "lazy_supported", lambda: False)
    module = lazy(desc)
    assert compiled_count(module) == len(desc.funcs)
    assert module.instantiate().exports.fib(10) == 55


def test_eager_stats_count_every_function(desc):
    module = modes.compile(desc, Options(mode=Mode.EAGER))
    assert compiled_count(module) == len(desc.funcs)
    assert module.instantiate().exports.fib(10) == 55


def test_module_clone_shares_the_code(desc):
    module = lazy(desc)
    assert module.instantiate().exports.f4(1) == 15
    copy = module.clone()
    assert copy.code is module.code
    assert copy.instantiate().exports.f4(2) == 16
    assert compiled_count(copy) == 1
