"""Issue 16: C function pointers (cffi, ctypes, numba cfunc, a bare address) as imports
that compiled code calls directly; a memory handed to cffi."""
import ctypes
import shutil
import subprocess

import pytest

import wasabi
from wasabi.binary.types import F64, I32, I64, FuncType
from wasabi.errors import LinkError
from wasabi.runtime import instantiate
from wasabi.runtime.native import NativeFunction, native_function

cffi = pytest.importorskip("cffi")

WAT = """(module
  (import "env" "h" (func $h (param i32) (result i32)))
  (import "env" "d" (func $d (param f64 f64) (result f64)))
  (table 1 funcref) (elem (i32.const 0) $h)
  (type $t (func (param i32) (result i32)))
  (func (export "callh") (param i32) (result i32) local.get 0 call $h)
  (func (export "calld") (param f64 f64) (result f64) local.get 0 local.get 1 call $d)
  (func (export "indirect") (param i32) (result i32) local.get 0 i32.const 0 call_indirect (type $t))
  (func (export "loop") (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call $h (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc))"""

C_SOURCE = """#include <stdint.h>
static int64_t calls;
int32_t twice(int32_t x) { calls++; return 2 * x; }
int64_t count(void) { return calls; }
double mix(double a, double b) { return a * 10 + b; }
"""


@pytest.fixture(scope="module")
def clib(tmp_path_factory):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    folder = tmp_path_factory.mktemp("clib")
    (folder / "c.c").write_text(C_SOURCE)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(folder / "libc.so"),
                    str(folder / "c.c")], check=True)
    ffi = cffi.FFI()
    ffi.cdef("int32_t twice(int32_t); int64_t count(void); double mix(double, double);")
    return ffi, ffi.dlopen(str(folder / "libc.so")), str(folder / "libc.so")


def _instance(h, d):
    store = wasabi.Store()
    return wasabi.Instance(wasabi.Module(store, WAT), {"env": {"h": h, "d": d}})


def test_cffi_functions_are_called_directly(clib):
    ffi, lib, _ = clib
    inst = _instance(lib.twice, lib.mix)
    e = inst.exports
    before = lib.count()
    assert e.callh(21) == 42 and e.callh(-4) == -8
    assert e.calld(3.0, 4.5) == 34.5
    assert e.indirect(5) == 10               # through the table: the import's record
    assert e.loop(1000) == 1000 * 1001
    assert lib.count() - before == 1003      # every call reached the C function


def test_the_importer_record_calls_the_pointer_without_a_gate(clib):
    """The importing instance's record of a C import: {thunk with the pointer built
    in, the instance's own vmctx}: a call is a plain call, no gate, no Python."""
    from wasabi.abi import vmctx as V
    from wasabi.compiler.thunks import native_import_thunk
    ffi, lib, _ = clib
    desc = wasabi.parse(wasabi.wat2wasm(WAT))
    inst = instantiate(desc, wasabi.compiler.compile_module(desc),
                       {"env": {"h": lib.twice, "d": lib.mix}})
    assert isinstance(inst.function(0), NativeFunction)
    address = int(ffi.cast("uintptr_t", lib.twice))
    assert inst.funcs.get_u64(V.FUNC_CODE) == native_import_thunk(FuncType((I32,), (I32,)),
                                                                   address)
    assert inst.funcs.get_u64(V.FUNC_VMCTX) == inst.vmctx_address
    assert inst.exports["callh"](8) == 16


def test_callbacks_and_casts(clib):
    ffi, lib, _ = clib
    seen = []

    @ffi.callback("int32_t(int32_t)")
    def back(x):
        seen.append(x)
        return x + 1

    e = _instance(back, lib.mix).exports
    assert e.callh(41) == 42 and seen == [41]
    cast = ffi.cast("int32_t(*)(int32_t)", int(ffi.cast("uintptr_t", lib.twice)))
    assert _instance(cast, lib.mix).exports.callh(7) == 14


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_callback_that_raises_returns_its_error_value(clib):
    ffi, lib, _ = clib

    @ffi.callback("int32_t(int32_t)", error=-1)
    def broken(x):
        raise ValueError("a C function cannot raise")

    assert _instance(broken, lib.mix).exports.callh(3) == -1


def test_ctypes_pointers(clib):
    _, lib, path = clib
    c = ctypes.CDLL(path)
    c.twice.argtypes, c.twice.restype = [ctypes.c_int32], ctypes.c_int32
    c.mix.argtypes, c.mix.restype = [ctypes.c_double, ctypes.c_double], ctypes.c_double
    e = _instance(c.twice, c.mix).exports
    assert (e.callh(6), e.calld(1.0, 2.0)) == (12, 12.0)
    callback = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32)(lambda x: x * 3)
    assert _instance(callback, c.mix).exports.callh(5) == 15


def test_signatures_must_match(clib):
    ffi, lib, path = clib
    with pytest.raises(LinkError, match="the import wants"):
        _instance(lib.mix, lib.mix)              # (f64, f64) -> f64 for (i32) -> i32
    ffi2 = cffi.FFI()
    ffi2.cdef("int printf(const char *, ...); short s(short);")
    with pytest.raises(LinkError, match="variadic"):
        _instance(ffi2.dlopen(None).printf, lib.mix)
    with pytest.raises(LinkError):
        native_function(ffi2.cast("short(*)(short)", 1))
    c = ctypes.CDLL(path)
    c.twice.argtypes, c.twice.restype = [ctypes.c_int64], ctypes.c_int64
    with pytest.raises(LinkError):
        _instance(c.twice, lib.mix)
    with pytest.raises(TypeError):
        NativeFunction(FuncType((I32, I32), (I32, I32)), 1234)


def test_bare_address_and_call_from_python(clib):
    ffi, lib, _ = clib
    f = native_function(int(ffi.cast("uintptr_t", lib.twice)), FuncType((I32,), (I32,)))
    assert f(9) == 18                        # entered as compiled code is
    g = native_function(lib.mix)
    assert g.functype == FuncType((F64, F64), (F64,)) and g(1.0, 2.5) == 12.5
    e = _instance(f, g).exports
    assert (e.callh(2), e.calld(0.5, 0.5)) == (4, 5.5)


def test_funcref_of_a_c_import_and_a_clone(clib):
    ffi, lib, _ = clib
    desc = wasabi.parse(wasabi.wat2wasm(WAT))
    inst = instantiate(desc, wasabi.compiler.compile_module(desc),
                       {"env": {"h": lib.twice, "d": lib.mix}})
    got = inst.tables[0].get(0)
    assert isinstance(got, NativeFunction) and got(4) == 8
    from wasabi.runtime.clone import clone_instance
    clone = clone_instance(inst)
    from wasabi.abi import vmctx as V
    assert clone.funcs.get_u64(V.FUNC_VMCTX) == clone.vmctx_address
    assert clone.exports["callh"](11) == 22 and clone.exports["indirect"](3) == 6


def test_memory_to_cffi_without_a_copy():
    store = wasabi.Store()
    inst = wasabi.Instance(wasabi.Module(store, '(module (memory (export "m") 1) '
                           '(func (export "get") (param i32) (result i32) local.get 0 i32.load))'),
                           {})
    memory = inst.exports.m
    ffi = cffi.FFI()
    data = ffi.from_buffer("int32_t[]", memory.buffer)
    assert len(data) == 65536 // 4
    data[3] = 123456
    assert inst.exports.get(12) == 123456
    assert ffi.cast("uintptr_t", data) == memory.base         # the live bytes, not a copy


@pytest.mark.slow
def test_numba_cfunc():
    numba = pytest.importorskip("numba")

    @numba.cfunc("int64(int64)")
    def square(x):
        return x * x

    store = wasabi.Store()
    module = wasabi.Module(store, '(module (import "env" "h" (func $h (param i64) (result i64)))'
                           ' (func (export "f") (param i64) (result i64) local.get 0 call $h))')
    f = native_function(square)
    assert f.functype == FuncType((I64,), (I64,))
    assert wasabi.Instance(module, {"env": {"h": square}}).exports.f(12) == 144


def test_a_python_callback_while_another_thread_runs(clib):
    """With another thread alive the entry releases the GIL: a cffi callback takes it
    back itself, and the other thread keeps running Python meanwhile."""
    import threading
    ffi, lib, _ = clib

    @ffi.callback("int32_t(int32_t)")
    def back(x):
        return x + 1

    e = _instance(back, lib.mix).exports
    stop, spins = threading.Event(), []

    def spin():
        n = 0
        while not stop.is_set():
            n += 1
        spins.append(n)

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        results = [e.loop(5000) for _ in range(4)]
    finally:
        stop.set()
        thread.join()
    assert results == [sum(range(1, 5001)) + 5000] * 4 and spins[0] > 0
