"""The runtime under real compiled modules (decoder + validator + wasabi.compiler)."""
import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasabi  # noqa: E402
from wasabi.abi import traps  # noqa: E402
from wasabi.binary.types import I32, FuncType  # noqa: E402
from wasabi.errors import LinkError, Trap  # noqa: E402
from wasabi.options import CodeOptions  # noqa: E402
from wasabi.runtime import HostFunction, instantiate  # noqa: E402

codegen = pytest.importorskip("wasabi.compiler")

WAT = """
(module
  (type $ii_i (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32) (result i32)))
  (memory (export "mem") 1 2)
  (table (export "t") 3 funcref)
  (global $g (export "g") (mut i32) (i32.const 7))
  (data (i32.const 16) "hi")
  (elem (i32.const 0) $add $log)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "callhost") (param i32) (result i32) local.get 0 call $log)
  (func (export "ind") (param i32 i32 i32) (result i32)
    local.get 0 local.get 1 local.get 2 call_indirect (type $ii_i))
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func $rec (export "rec") (param i32) (result i32) local.get 0 call $rec)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
  (func (export "bump") (result i32) global.get $g i32.const 1 i32.add global.set $g global.get $g)
)
"""


@pytest.fixture(scope="module", params=["guard", "explicit"])
def compiled(request):
    desc = wasabi.parse(wasmtime.wat2wasm(WAT))
    return desc, codegen.compile_module(desc, CodeOptions(bounds=request.param))


def make(compiled, log=lambda x: x * 10):
    desc, code = compiled
    return instantiate(desc, code, {"env": {"log": HostFunction(FuncType((I32,), (I32,)), log)}})


def trap(fn, *args):
    with pytest.raises(Trap) as info:
        fn(*args)
    return info.value.code


def test_calls_memory_globals_tables(compiled):
    e = make(compiled).exports
    assert e.add(2, 3) == 5
    assert e.load(16) == int.from_bytes(b"hi\0\0", "little")
    assert e.callhost(4) == 40
    assert e.ind(5, 6, 0) == 11
    assert e.bump() == 8 and e.g.value == 8
    assert e.grow(1) == 1 and e.grow(1) == -1 and e.mem.pages == 2
    assert e.load(2 * 65536 - 4) == 0
    e.fill(0, 0x41, 3)
    assert e.mem.read(0, 4) == b"AAA\0"


def test_traps(compiled):
    e = make(compiled).exports
    assert trap(e.div, 1, 0) == traps.TRAP_INT_DIV_ZERO
    assert trap(e.div, -2**31, -1) == traps.TRAP_INT_OVERFLOW
    assert trap(e.load, 65533) == traps.TRAP_OOB_MEMORY
    assert trap(e.load, 0xFFFFFFFF) == traps.TRAP_OOB_MEMORY
    assert trap(e.rec, 1) == traps.TRAP_STACK_EXHAUSTED
    assert trap(e.ind, 1, 2, 1) == traps.TRAP_INDIRECT_CALL_MISMATCH
    assert trap(e.ind, 1, 2, 2) == traps.TRAP_UNINITIALIZED_ELEMENT
    assert trap(e.ind, 1, 2, 3) == traps.TRAP_UNDEFINED_ELEMENT
    assert trap(e.fill, 65535, 0, 2) == traps.TRAP_OOB_MEMORY
    assert e.add(1, 1) == 2


def test_host_exception_passes_through_compiled_frames(compiled):
    err = ZeroDivisionError("host")

    def log(x):
        raise err
    with pytest.raises(ZeroDivisionError) as info:
        make(compiled, log).exports.callhost(1)
    assert info.value is err


def test_a_function_from_another_instance_in_a_table(compiled):
    a, b = make(compiled), make(compiled, log=lambda x: -x)
    a.exports.t.set(2, b.exports.add)
    assert a.exports.ind(3, 4, 2) == 7
    a.exports.t.set(2, b.exports.callhost)
    assert trap(a.exports.ind, 3, 4, 2) == traps.TRAP_INDIRECT_CALL_MISMATCH


def test_unknown_import(compiled):
    desc, code = compiled
    with pytest.raises(LinkError, match="unknown import"):
        instantiate(desc, code, {})
