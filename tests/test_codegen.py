"""Code generation: EagerCode, tiers, bounds modes, traps, thunks, object reload.

Modules run on FakeInstance (tests/test_codegen_harness.py): a vmctx laid out per
wasabi/abi, entered through the runtime's trampoline.
"""
import pytest

from test_codegen_harness import FakeInstance
from wasabi import _ext
from wasabi.binary.types import F64, I32, I64, FuncType
from wasabi.compiler import thunks
from wasabi.compiler.modes.eager import from_objects
from wasabi.errors import Trap

CONTROL = """(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "sum_loop") (param i32) (result i64)
    i64.const 0
    local.get 0
    loop $l (param i64 i32) (result i64)
      local.tee 0
      i32.eqz
      if (param i64) (result i64)
      else
        local.get 0
        i64.extend_i32_u
        i64.add
        local.get 0
        i32.const 1
        i32.sub
        br $l
      end
    end)
  (func (export "swap") (param i32 f64) (result f64 i32) (local.get 1) (local.get 0))
  (func (export "switch") (param i32) (result i32)
    (block $d (block $c (block $b (block $a
      (br_table $a $b $c $a $d (local.get 0)))
      (return (i32.const 10))) (return (i32.const 11))) (return (i32.const 12)))
    (i32.const 13))
  (func $deep (export "deep") (param i32) (result i32) (call $deep (local.get 0)))
  (func (export "trap") (unreachable)))"""

MEMORY = """(module (memory 1 3)
  (func (export "load") (param i32) (result i32) (i32.load offset=2 (local.get 0)))
  (func (export "store") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "dead_load") (param i32) (drop (i64.load8_s (local.get 0)))))"""

TABLES = """(module
  (type $ii (func (param i32) (result i32)))
  (table $t 3 5 funcref) (elem (table $t) (i32.const 0) func $inc $dbl) (elem declare func $other)
  (func $inc (type $ii) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $ii) (i32.mul (local.get 0) (i32.const 2)))
  (func $other (param i64) (result i64) (local.get 0))
  (func (export "dispatch") (param i32 i32) (result i32)
    (call_indirect $t (type $ii) (local.get 1) (local.get 0)))
  (func (export "set_other") (param i32) (table.set $t (local.get 0) (ref.func $other)))
  (func (export "grow") (param i32) (result i32) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (table.size $t))
  (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0)))))"""


@pytest.fixture(scope="module", params=["T0", "T1", "O2"])
def control(request):
    return FakeInstance(CONTROL, tier=request.param)


def test_calls_loops_and_multi_value(control):
    assert control.call("fib", 20) == 6765
    assert control.call("sum_loop", 100000) == 5000050000
    assert control.call("swap", 7, 2.5) == (2.5, 7)
    assert [control.call("switch", i) for i in range(7)] == [10, 11, 12, 10, 13, 13, 13]


def test_traps_and_stack_exhaustion(control):
    with pytest.raises(Trap, match="unreachable"):
        control.call("trap")
    with pytest.raises(Trap, match="call stack exhausted"):
        control.call("deep", 1)
    assert control.call("fib", 10) == 55          # usable after a trap


def test_code_library_shape(control):
    lib = control.lib
    begin, end = lib.code_range
    for f in control.desc.funcs:
        assert begin < lib.func_address(f.index) < end
    assert lib.object_bytes[:4] == b"\x7fELF"
    assert lib.stats["functions"] == len(control.desc.funcs)
    assert lib.stats["instructions"] > 50
    with pytest.raises(KeyError):
        lib.func_address(999)


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
def test_memory_bounds_and_growth(bounds):
    inst = FakeInstance(MEMORY, bounds=bounds)
    inst.call("store", 100, 0x0102030405060708)
    assert inst.read_memory(100, 8) == bytes(range(8, 0, -1))
    assert inst.call("load", 65530) == 0
    for address in (65531, 65536, 0xFFFFFFFF):
        with pytest.raises(Trap, match="out of bounds memory access"):
            inst.call("load", address)
    with pytest.raises(Trap, match="out of bounds memory access"):
        inst.call("dead_load", 65536)           # the dropped load still executes
    assert inst.call("grow", 1) == 1 and inst.call("size") == 2
    assert inst.call("load", 65536 * 2 - 6) == 0   # grown memory is accessible
    assert inst.call("grow", 5) == -1              # over the maximum
    inst.call("fill", 10, 0xAB, 4)
    assert inst.read_memory(10, 4) == b"\xab" * 4
    with pytest.raises(Trap, match="out of bounds memory access"):
        inst.call("fill", 65536 * 2 - 2, 0, 3)


def test_memory_load_values():
    inst = FakeInstance(MEMORY)
    inst.call("store", 100, 0x0102030405060708)
    assert inst.call("load", 98) & 0xFFFFFFFF == 0x05060708
    assert inst.call("load", 102) & 0xFFFFFFFF == 0x01020304


def test_tables_and_call_indirect():
    inst = FakeInstance(TABLES)
    assert inst.call("dispatch", 0, 5) == 6 and inst.call("dispatch", 1, 5) == 10
    with pytest.raises(Trap, match="uninitialized element"):
        inst.call("dispatch", 2, 5)
    with pytest.raises(Trap, match="undefined element"):
        inst.call("dispatch", 3, 5)
    inst.call("set_other", 2)
    with pytest.raises(Trap, match="indirect call type mismatch"):
        inst.call("dispatch", 2, 5)
    assert inst.call("is_null", 1) == 0
    assert inst.call("grow", 2) == 3 and inst.call("size") == 5
    assert inst.call("is_null", 4) == 1
    with pytest.raises(Trap, match="uninitialized element"):
        inst.call("dispatch", 4, 5)
    with pytest.raises(Trap, match="undefined element"):
        inst.call("dispatch", 5, 5)
    with pytest.raises(Trap, match="out of bounds table access"):
        inst.call("is_null", 5)


def test_object_bytes_reload_into_a_new_jit(control):
    lib = control.lib
    again = from_objects(lib.object_bytes, lib.symbols, lib.code_options, _ext.builtin_addresses())
    fib = next(e.index for e in control.desc.exports if e.name == "fib")
    thunk = thunks.array_thunk(control.desc.func_type(fib))
    assert _ext.FuncHandle(thunk, again.func_address(fib), control.address,
                           (I32,), (I32,), {}, 0)(15) == 610
    again.close()


def test_thunks_are_cached_per_signature():
    sig = FuncType((I32, I64, F64), (F64, I32))
    assert thunks.array_thunk(sig) == thunks.array_thunk(FuncType((I32, I64, F64), (F64, I32)))
    assert thunks.array_thunk(sig) != thunks.array_thunk(FuncType((I32,), ()))
    assert thunks.host_thunk(sig) == thunks.host_thunk(sig)
