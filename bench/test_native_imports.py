"""A C function pointer as a wasm import (runtime/native.py), beside a Python host function.

    python -m pytest bench/test_native_imports.py --benchmark-only

The same wasm loop calls an imported `(i32) -> i32` N times: through a C identity
function (built here with `cc`, loaded with cffi's dlopen; compiled code calls it
through a thunk with the pointer built in), through the same function imported
as a ctypes pointer, and through a Python host function. A loop calling a
function of the module itself is the baseline. Target: a C import costs at most
5 ns per call over the baseline loop (issue 16).
"""
import shutil
import subprocess

import pytest

from embed_ratios import REPORT, embed_report, wasabi_instance  # noqa: F401
from wasabi.binary.types import I32, FuncType
from wasabi.runtime import HostFunction

LOOP = """
  (func (export "{name}") (param $n i32) (result i32) (local $acc i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (call {callee} (local.get $n))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br 0)))
    local.get $acc)"""
WAT = ("""(module (import "env" "h" (func $h (param i32) (result i32)))
  (func $own (param i32) (result i32) local.get 0)"""
       + LOOP.format(name="hostloop", callee="$h") + LOOP.format(name="ownloop", callee="$own")
       + ")")
C_CALLS, PY_CALLS, ROUNDS = 2_000_000, 20_000, 9


@pytest.fixture(scope="module")
def c_library(tmp_path_factory):
    if shutil.which("cc") is None:
        pytest.skip("no C compiler")
    folder = tmp_path_factory.mktemp("native")
    (folder / "ident.c").write_text("#include <stdint.h>\nint32_t ident(int32_t x) "
                                    "{ return x; }\n")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", str(folder / "libident.so"),
                    str(folder / "ident.c")], check=True)
    return str(folder / "libident.so")


def _exports(kind, path):
    if kind == "python":
        h = HostFunction(FuncType((I32,), (I32,)), lambda x: x)
    elif kind == "cffi":
        import cffi
        ffi = cffi.FFI()
        ffi.cdef("int32_t ident(int32_t);")
        h = ffi.dlopen(path).ident
    else:
        import ctypes
        h = ctypes.CDLL(path).ident
        h.argtypes, h.restype = [ctypes.c_int32], ctypes.c_int32
    return wasabi_instance(WAT, {"env": {"h": h}}).exports


def measure(benchmark, label, f, n):
    assert f(10) == 55
    benchmark.pedantic(lambda: f(n), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    return REPORT.record(label, benchmark, n)


@pytest.mark.parametrize("kind", ["own", "cffi", "ctypes", "python"])
def test_import_call(benchmark, embed_report, c_library, kind):
    benchmark.group = "native imports"
    if kind == "own":
        measure(benchmark, "wasm loop, call to its own function", _exports("cffi", c_library)
                .ownloop, C_CALLS)
        return
    label = f"wasm loop, call to a {kind} import"
    measure(benchmark, label, _exports(kind, c_library).hostloop,
            PY_CALLS if kind == "python" else C_CALLS)
    times = embed_report.times
    if kind == "cffi" and "wasm loop, call to its own function" in times:
        times["C import over the loop"] = times[label] - times["wasm loop, call to its own "
                                                             "function"]
        times.setdefault("5 ns", 5e-9)
        embed_report.check("C import's own cost / 5 ns", "C import over the loop", "5 ns",
                           "<=", 1)
    embed_report.check("Python import / cffi import", "wasm loop, call to a python import",
                       "wasm loop, call to a cffi import", ">=", 10)
