"""vectorize(export) / export.map: broadcasting, dtypes, strides, out=, traps, host calls."""
import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasabi  # noqa: E402
from wasabi.binary.types import I32, FuncType  # noqa: E402
from wasabi.errors import Trap  # noqa: E402
from wasabi.runtime import HostFunction, instantiate  # noqa: E402
from wasabi.runtime.vectorize import Vectorized, vectorize  # noqa: E402

codegen = pytest.importorskip("wasabi.compiler")

WAT = """
(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (memory (export "mem") 1)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
  (func (export "scale") (param f32 f64) (result f32)
    local.get 0 f64.promote_f32 local.get 1 f64.mul f32.demote_f64)
  (func (export "hyp") (param f64 f64) (result f64)
    local.get 0 local.get 0 f64.mul local.get 1 local.get 1 f64.mul f64.add f64.sqrt)
  (func (export "mix") (param i32 f64 i64 f32) (result f64)
    local.get 0 f64.convert_i32_s local.get 1 f64.add
    local.get 2 f64.convert_i64_s f64.add local.get 3 f64.promote_f32 f64.add)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    local.get 0 local.get 1 i32.div_s local.get 0 local.get 1 i32.rem_s)
  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "viahost") (param i32) (result i32) local.get 0 call $h)
  (func (export "seven") (param i32 i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 6 i32.const 10 i32.mul i32.add)
  (func (export "ref") (param externref) (result i32) i32.const 0)
)
"""


@pytest.fixture(scope="module")
def compiled():
    desc = wasabi.parse(wasmtime.wat2wasm(WAT))
    return desc, codegen.compile_module(desc)


def make(compiled, h=lambda x: x + 1000):
    desc, code = compiled
    return instantiate(desc, code, {"env": {"h": HostFunction(FuncType((I32,), (I32,)), h)}})


def test_broadcasting_like_a_ufunc(compiled):
    add = vectorize(make(compiled).exports.add)
    a = np.arange(6).reshape(2, 3)
    assert np.array_equal(add(a, np.array([10, 20, 30])), a + [10, 20, 30])
    assert np.array_equal(add(np.array([[1], [2]]), np.array([10, 20, 30])),
                          np.add.outer([1, 2], [10, 20, 30]))
    assert np.array_equal(add(a, 5), a + 5)
    result = add(3, 4)
    assert result == 7 and np.ndim(result) == 0
    assert add(np.zeros((0, 3), np.int32), 1).shape == (0, 3)
    with pytest.raises(ValueError):
        add(np.arange(3), np.arange(4))
    with pytest.raises(TypeError):
        add(np.arange(3))


def test_result_dtypes_and_values(compiled):
    e = make(compiled).exports
    out = e.add.map(np.array([2**31 - 1, 5], np.int32), 1)
    assert out.dtype == np.int32 and out.tolist() == [-2**31, 6]        # wasm wrapping
    big = np.array([2**62, -5], np.int64)
    assert e.add64.map(big, big).dtype == np.int64
    assert e.add64.map(big, big).tolist() == [-2**63, -10]
    s = e.scale.map(np.array([1.5, 2.25], np.float32), 2.0)
    assert s.dtype == np.float32 and s.tolist() == [3.0, 4.5]
    x, y = np.random.default_rng(0).random((2, 1000))
    assert np.array_equal(e.hyp.map(x, y), np.sqrt(x * x + y * y))
    m = e.mix.map(np.array([1, 2]), np.array([0.5, 0.25]), np.array([10, 20]),
                  np.array([0.125, 4.0], np.float32))
    assert m.dtype == np.float64 and m.tolist() == [11.625, 26.25]


def test_casting_rules(compiled):
    e = make(compiled).exports
    assert e.add.map(np.array([1, 2], np.int64), np.array([1, 2], np.uint8)).tolist() == [2, 4]
    assert e.hyp.map(np.array([3]), np.array([4])).tolist() == [5.0]         # ints -> floats
    with pytest.raises(TypeError):
        e.add.map(np.array([1.5]), 1)                                        # floats never -> ints


def test_strided_and_reversed_inputs(compiled):
    add = make(compiled).exports.add.map
    a = np.arange(24, dtype=np.int32).reshape(4, 6)
    assert np.array_equal(add(a[:, ::2], a.T[1::2].T), a[:, ::2] + a[:, 1::2])
    assert np.array_equal(add(a[::-1, ::-3], 1), a[::-1, ::-3] + 1)
    f = np.asfortranarray(a)
    assert np.array_equal(add(f, f), 2 * a)


def test_multi_value_and_no_result(compiled):
    e = make(compiled).exports
    q, r = e.divmod.map(np.array([7, -7, 9]), np.array([2, 2, 3]))
    assert q.tolist() == [3, -3, 3] and r.tolist() == [1, -1, 0]
    assert e.store.map(np.array([0, 4, 8]), np.array([5, 6, 7])) is None
    assert e.mem.read(0, 12) == np.array([5, 6, 7], "<i4").tobytes()


def test_out_arrays(compiled):
    e = make(compiled).exports
    out = np.zeros(3, np.int32)
    assert e.add.map(np.arange(3), 10, out=out) is out
    assert out.tolist() == [10, 11, 12]
    a = np.arange(4, dtype=np.int32)
    e.add.map(a, a, out=a)                       # in place
    assert a.tolist() == [0, 2, 4, 6]
    strided = np.zeros(6, np.int32)[::2]
    e.add.map(np.arange(3), 1, out=strided)
    assert strided.tolist() == [1, 2, 3]
    for bad in (np.zeros(3, np.int64), np.zeros(4, np.int32), [0, 0, 0]):
        with pytest.raises(ValueError):
            e.add.map(np.arange(3), 1, out=bad)
    q, r = np.zeros(2, np.int32), np.zeros(2, np.int32)
    assert e.divmod.map(np.array([5, 6]), 4, out=(q, r)) == (q, r)
    assert q.tolist() == [1, 1] and r.tolist() == [1, 2]


def test_trap_stops_the_loop(compiled):
    e = make(compiled).exports
    out = np.full(4, -1, np.int32)
    with pytest.raises(Trap) as info:
        e.div.map(np.array([8, 9, 10, 11]), np.array([2, 3, 0, 1]), out=out)
    assert str(info.value) == "integer divide by zero"
    assert out.tolist() == [4, 3, -1, -1]
    assert e.div.map(np.array([8]), 2).tolist() == [4]


def test_host_calls_inside_the_loop(compiled):
    seen = []
    e = make(compiled, h=lambda x: seen.append(x) or x * 3).exports
    assert e.viahost.map(np.arange(5)).tolist() == [0, 3, 6, 9, 12]
    assert seen == [0, 1, 2, 3, 4]

    class Stop(Exception):
        pass

    def h(x):
        if x == 2:
            raise Stop(x)
        return x

    e = make(compiled, h=h).exports
    with pytest.raises(Stop):
        e.viahost.map(np.arange(5))


def test_stack_words_and_thunk_paths(compiled):
    e = make(compiled).exports
    assert e.seven.fast_path == "registers"       # the 7th int is a stack word
    cols = [np.arange(4) + k for k in range(7)]
    assert e.seven.map(*cols).tolist() == (cols[0] + 10 * cols[6]).tolist()
    assert e.divmod.fast_path == "thunk"


def test_unsupported_signatures(compiled):
    e = make(compiled).exports
    with pytest.raises(TypeError, match="externref"):
        vectorize(e.ref)
    with pytest.raises(TypeError):
        Vectorized(len)
