"""Exported functions as vectorcall callables: typed register path, thunk path,
argument conversion, results, traps, host calls and the exports namespace."""
import struct

import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasabi  # noqa: E402
from wasabi import _ext  # noqa: E402
from wasabi.binary.types import F32, F64, I32, I64, FuncType  # noqa: E402
from wasabi.errors import Trap  # noqa: E402
from wasabi.runtime import HostFunction, instantiate  # noqa: E402

codegen = pytest.importorskip("wasabi.compiler")

WAT = """
(module
  (import "env" "host1" (func $host1 (param i32) (result i32)))
  (import "env" "host5" (func $host5 (param i32 i64 f32 f64 i32) (result f64)))
  (import "env" "pair" (func $pair (param i32) (result i32 i64)))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "id32") (param i32) (result i32) local.get 0)
  (func (export "id64") (param i64) (result i64) local.get 0)
  (func (export "idf32") (param f32) (result f32) local.get 0)
  (func (export "addf") (param f64 f64) (result f64) local.get 0 local.get 1 f64.add)
  (func (export "none"))
  (func (export "swap") (param i32 i64) (result i64 i32) local.get 1 local.get 0)
  ;; ints and floats interleaved: each register file is filled in order
  (func (export "mixed") (param i32 f64 i64 f32 i32 f64 i32 i64) (result f64)
    local.get 0 f64.convert_i32_s
    local.get 1 f64.const 10 f64.mul f64.add
    local.get 2 f64.convert_i64_s f64.const 100 f64.mul f64.add
    local.get 3 f64.promote_f32 f64.const 1000 f64.mul f64.add
    local.get 4 f64.convert_i32_s f64.const 10000 f64.mul f64.add
    local.get 5 f64.const 100000 f64.mul f64.add
    local.get 6 f64.convert_i32_s f64.const 1000000 f64.mul f64.add
    local.get 7 f64.convert_i64_s f64.const 10000000 f64.mul f64.add)
  (func (export "six") (param i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 i32.const 2 i32.mul i32.add local.get 2 i32.const 3 i32.mul i32.add
    local.get 3 i32.const 4 i32.mul i32.add local.get 4 i32.const 5 i32.mul i32.add
    local.get 5 i32.const 6 i32.mul i32.add)
  ;; 7 ints + 9 floats: the last 3 parameters go to stack words, interleaved
  (func (export "wide") (param i64 i64 i64 i64 i64 f64 f64 f64 f64 f64 f64 f64 f64
                               i64 f32 i32) (result i64)
    local.get 13 i64.const 1000 i64.mul
    local.get 14 i64.trunc_f32_s i64.const 10 i64.mul i64.add
    local.get 15 i64.extend_i32_s i64.add
    local.get 0 i64.add local.get 12 i64.trunc_f64_s i64.const 10000000 i64.mul i64.add)
  ;; more stack words than the register path carries: the thunk path
  (func (export "ten") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 9 i32.const 100 i32.mul i32.add)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "callhost") (param i32) (result i32) local.get 0 call $host1)
  (func (export "callhost5") (param i32 i64 f32 f64 i32) (result f64)
    local.get 0 local.get 1 local.get 2 local.get 3 local.get 4 call $host5)
  (func (export "callpair") (param i32) (result i32 i64) local.get 0 call $pair)
)
"""


@pytest.fixture(scope="module")
def compiled():
    desc = wasabi.parse(wasmtime.wat2wasm(WAT))
    return desc, codegen.compile_module(desc)


def make(compiled, host1=lambda x: x * 10, host5=lambda *a: float(sum(a)),
         pair=lambda x: (x, x * 2)):
    desc, code = compiled
    imports = {"env": {
        "host1": HostFunction(FuncType((I32,), (I32,)), host1),
        "host5": HostFunction(FuncType((I32, I64, F32, F64, I32), (F64,)), host5),
        "pair": HostFunction(FuncType((I32,), (I32, I64)), pair)}}
    return instantiate(desc, code, imports)


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_paths(compiled):
    e = make(compiled).exports
    for name in ("add", "id32", "id64", "idf32", "addf", "none", "mixed", "six", "wide"):
        assert e[name].fast_path == "registers", name
    for name in ("swap", "ten", "callpair"):
        assert e[name].fast_path == "thunk", name


def test_results(compiled):
    e = make(compiled).exports
    assert e.add(2, 3) == 5
    assert e.add(0x7FFFFFFF, 1) == -0x80000000
    assert e.addf(0.5, 0.25) == 0.75
    assert e.idf32(0.1) == f32(0.1)
    assert e.none() is None
    assert e.swap(7, 2**40) == (2**40, 7)
    args = (1, 2.5, -3, 1.5, 4, 0.125, -6, 7)
    expect = 0.0
    for arg, weight in zip(args, (1, 10, 100, 1000, 10000, 100000, 1000000, 10000000)):
        expect = expect + float(arg) * weight if weight != 1 else float(arg)
    assert e.mixed(*args) == expect
    assert e.six(1, 1, 1, 1, 1, 1) == 21 and e.six(6, 5, 4, 3, 2, 1) == 56
    wide = (1, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 2, 4.0, -5)
    assert e.wide(*wide) == 1 + 9 * 10**7 + 2000 + 40 - 5
    assert e.ten(*range(1, 11)) == 1 + 1000


def test_integer_arguments(compiled):
    e = make(compiled).exports
    assert e.id32(0xFFFFFFFF) == -1 and e.id32(-0x80000000) == -0x80000000
    assert e.id64(2**64 - 1) == -1 and e.id64(-2**63) == -2**63
    assert e.id32(True) == 1 and e.id32(np.int32(-7)) == -7 and e.id64(np.uint64(5)) == 5
    for bad in (2**32, -2**31 - 1, 2**100):
        with pytest.raises(OverflowError):
            e.id32(bad)
    for bad in (2**64, -2**63 - 1):
        with pytest.raises(OverflowError):
            e.id64(bad)
    with pytest.raises(TypeError):
        e.id32(1.5)
    with pytest.raises(TypeError):
        e.id64("1")
    assert e.addf(1, 2) == 3.0 and e.addf(np.float32(0.5), 1) == 1.5
    with pytest.raises(TypeError):
        e.addf("x", 1.0)


def test_arity_and_keywords(compiled):
    e = make(compiled).exports
    with pytest.raises(TypeError):
        e.add(1)
    with pytest.raises(TypeError):
        e.add(1, 2, 3)
    with pytest.raises(TypeError):
        e.add(1, b=2)
    with pytest.raises(TypeError):
        e.swap(1)
    assert e.add(*[4, 5]) == 9 and e.add.call(4, 5) == 9 and e.add.__call__(4, 5) == 9


def test_traps_then_normal_calls(compiled):
    e = make(compiled).exports
    for _ in range(100):
        with pytest.raises(Trap) as info:
            e.div(1, 0)
        assert str(info.value) == "integer divide by zero"
        assert e.div(7, 2) == 3


def test_host_calls(compiled):
    seen = []
    e = make(compiled, host5=lambda *a: seen.append(a) or 1.25).exports
    assert e.callhost(4) == 40
    assert e.callhost5(1, -2, 0.5, 0.25, 3) == 1.25
    assert seen == [(1, -2, 0.5, 0.25, 3)]
    assert e.callpair(21) == (21, 42)


def test_host_exception_is_reraised_unchanged(compiled):
    class Boom(Exception):
        pass

    err = Boom("from the host")

    def raising(x):
        raise err

    e = make(compiled, host1=raising).exports
    for _ in range(50):
        with pytest.raises(Boom) as info:
            e.callhost(1)
        assert info.value is err
    assert e.add(1, 1) == 2


def test_host_result_errors_propagate(compiled):
    e = make(compiled, host1=lambda x: "nope", pair=lambda x: (1,)).exports
    with pytest.raises(TypeError):
        e.callhost(1)
    with pytest.raises(TypeError):
        e.callpair(1)


def test_reentry_from_a_host_function(compiled):
    holder = {}
    e = make(compiled, host1=lambda x: holder["e"].add(x, 100) if x > 0 else -1).exports
    holder["e"] = e
    assert e.callhost(5) == 105


def test_python_subclass_stays_vectorcall(compiled):
    e = make(compiled).exports
    add = e.add

    class Plain(_ext.FuncHandle):
        pass

    class Custom(_ext.FuncHandle):
        def __call__(self, *args):
            return ("custom", args)

    args = (add.thunk, add.code, add.vmctx, add.params, add.results, {}, 0)
    assert Plain(*args)(2, 5) == 7
    assert Custom(*args)(2, 5) == ("custom", (2, 5))
    assert Custom(*args).call(2, 5) == 7


def test_fast_exports_namespace(compiled):
    inst = make(compiled)
    items = dict(inst.exports)
    exports = _ext.FastExports(items, LookupError)
    assert exports.add is items["add"] and exports["add"] is items["add"]
    assert exports.add(1, 2) == 3
    assert "add" in exports and len(exports) == len(items) and set(exports.keys()) == set(items)
    assert dict(iter(exports)) == items
    with pytest.raises(LookupError):
        exports.missing
    with pytest.raises(LookupError):
        exports["missing"]
    default = _ext.FastExports({})
    with pytest.raises(AttributeError):
        default.missing
    assert not hasattr(default, "missing")
    keys_export = _ext.FastExports({"keys": 1})
    assert keys_export.keys == 1          # an export wins over a method of the same name


def test_export_objects_are_created_once(compiled):
    inst = make(compiled)
    assert inst.exports.add is inst.exports.add
