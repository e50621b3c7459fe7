"""Issue 16: shared libraries (`wasabi compile --dylib`, Module.write_dylib): used from
C through the generated header, from cffi through the same header, and from Python
through wasabi.load_dylib without LLVM."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import wasabi
from wasabi import aot
from wasabi.aot.dylib import skeleton, write_dylib
from wasabi.binary.reader import decode_module
from wasabi.errors import CompileError

ROOT = pathlib.Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

WAT = """
(module
  (import "env" "log" (func $log (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello")
  (global $g (mut i32) (i32.const 7))
  (table 2 funcref)
  (elem (i32.const 0) $add $neg)
  (type $binop (func (param i32 i32) (result i32)))
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $neg (param i32 i32) (result i32) (i32.sub (i32.const 0) (local.get 0)))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "callog") (param i32) (result i32)
    (call $log (i32.add (local.get 0) (global.get $g))))
  (func (export "two") (param f64) (result f64 i64)
    (f64.mul (local.get 0) (f64.const 2)) (i64.const -5))
  (func $rec (export "rec") (param i32) (result i32)
    (call $rec (i32.add (local.get 0) (i32.const 1))))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32)
    (call_indirect (type $binop) (local.get 1) (i32.const 1) (local.get 0)))
  (func (export "spin") (loop $l (br $l)))
)
"""

C_PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
#include "libdemo.h"
static int32_t my_log(void* env, int32_t x) { ++*(int*)env; return x * 10; }
static void* on_a_thread(void* inst) {     /* a thread of its own: prepared on its first call */
    int32_t r = 0;
    int st = demo_call_rec(inst, 0, &r);
    printf("thread rec %d %d\n", st, demo_last_trap());
    st = demo_call_add(inst, 1, 1, &r);
    printf("thread add %d %d\n", st, r);
    return NULL;
}
int main(void) {
    int calls = 0;
    demo_instance* inst;
    demo_imports none = {0};
    printf("missing %d\n", demo_instantiate(&none, &inst));
    printf("null %d\n", demo_instantiate(NULL, &inst));
    demo_imports imports = {&calls, my_log};
    printf("instantiate %d\n", demo_instantiate(&imports, &inst));
    int32_t r = 0; double d = 0; int64_t l = 0; uint64_t size = 0;
    int st = demo_call_add(inst, 2, 3, &r); printf("add %d %d\n", st, r);
    st = demo_call_div(inst, 1, 0, &r);
    printf("div %d %s %d\n", st, demo_trap_message(st), demo_last_trap());
    st = demo_call_callog(inst, 5, &r); printf("callog %d %d %d\n", st, r, calls);
    st = demo_call_two(inst, 1.5, &d, &l); printf("two %d %g %lld\n", st, d, (long long)l);
    st = demo_call_rec(inst, 0, &r); printf("rec %d %s\n", st, demo_trap_message(st));
    st = demo_call_load(inst, 65534, &r); printf("load %d %s\n", st, demo_trap_message(st));
    st = demo_call_indirect(inst, 0, 7, &r); printf("indirect %d %d\n", st, r);
    st = demo_call_indirect(inst, 3, 7, &r); printf("indirect %d %s\n", st, demo_trap_message(st));
    uint8_t* mem = demo_memory(inst, &size); printf("memory %.5s %llu\n", mem + 16,
                                                   (unsigned long long)size);
    st = demo_call_grow(inst, 2, &r); demo_memory(inst, &size);
    printf("grow %d %d %llu\n", st, r, (unsigned long long)size);
    st = demo_call_add(inst, 40, 2, &r); printf("add %d %d\n", st, r);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    pthread_t thread;
    pthread_create(&thread, &attr, on_a_thread, inst);
    pthread_join(thread, NULL);
    printf("main last %d\n", demo_last_trap());
    demo_free(inst);
    return 0;
}
"""

C_EXPECTED = """missing -1
null -1
instantiate 0
add 0 5
div 2 integer divide by zero 2
callog 0 120 1
two 0 3 -5
rec 10 call stack exhausted
load 5 out of bounds memory access
indirect 0 8
indirect 7 undefined element
memory hello 65536
grow 0 1 196608
add 0 42
thread rec 10 10
thread add 0 2
main last 0
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """(directory, header path): libdemo.so of WAT, compiled once (T1)."""
    folder = tmp_path_factory.mktemp("dylib")
    header = write_dylib(wasabi.wat2wasm(WAT), folder / "libdemo.so",
                         options=wasabi.Options(tier="T1"))
    return folder, header


def copy_of(library, name):
    """The library under another path: dlopen maps each path once, and a process uses
    one mapping either through the C API or through wasabi.load_dylib."""
    folder, _ = library
    path = folder / name
    if not path.exists():       # never over a mapped library (its pages would change)
        shutil.copyfile(folder / "libdemo.so", path)
    return path


def test_c_program_against_the_header(library):
    """A C program compiled against the header and linked with the library: imports as
    C function pointers with their env, typed exports, multiple results, traps
    (a builtin's, guard-page, stack exhaustion, table) reported as statuses, memory."""
    folder, header = library
    assert header == folder / "libdemo.h"
    (folder / "app.c").write_text(C_PROGRAM)
    subprocess.run(["cc", "-o", str(folder / "app"), str(folder / "app.c"), f"-L{folder}",
                    "-ldemo", f"-Wl,-rpath,{folder}", "-lpthread"], check=True)
    ran = subprocess.run([str(folder / "app")], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, C_EXPECTED, "")


def test_cffi_reads_the_header(library):
    """cffi's cdef reads the header (wasabi.aot.cdef); a cffi callback is an import."""
    cffi = pytest.importorskip("cffi")
    _, header = library
    ffi = cffi.FFI()
    ffi.cdef(aot.cdef(header.read_text()))
    lib = ffi.dlopen(str(copy_of(library, "libdemo_cffi.so")))
    seen = []

    @ffi.callback("int32_t(void*, int32_t)")
    def log(env, x):
        seen.append(x)
        return -x

    imports = ffi.new("demo_imports*")
    imports.env_log = log
    out = ffi.new("demo_instance**")
    assert lib.demo_instantiate(imports, out) == lib.DEMO_OK
    r = ffi.new("int32_t*")
    assert (lib.demo_call_callog(out[0], 1, r), r[0], seen) == (0, -8, [8])
    status = lib.demo_call_load(out[0], 70000, r)
    assert ffi.string(lib.demo_trap_message(status)) == b"out of bounds memory access"
    size = ffi.new("uint64_t*")
    memory = ffi.buffer(lib.demo_memory(out[0], size), size[0])
    assert memory[16:21] == b"hello"
    lib.demo_free(out[0])
    with pytest.raises(CompileError, match="in use through its C API"):
        wasabi.load_dylib(copy_of(library, "libdemo_cffi.so"))


LOAD_IN_FRESH_PROCESS = r"""
import json, sys, time
start = time.perf_counter()
import wasabi
module = wasabi.load_dylib(sys.argv[1])
calls = []
instance = wasabi.instantiate(module, {"env": {"log": lambda x: calls.append(x) or x * 10}})
e = instance.exports
out = {"add": e.add(2, 3), "callog": e.callog(5), "calls": calls, "two": list(e.two(1.5)),
       "indirect": e.indirect(0, 7), "memory": bytes(e.memory.uint8_view()[16:21]).decode()}
traps = {}
for name, args in [("div", (1, 0)), ("rec", (0,)), ("load", (65534,)), ("indirect", (3, 7))]:
    try:
        getattr(e, name)(*args)
    except wasabi.Trap as trap:
        traps[name] = str(trap)
out["traps"] = traps
import ctypes                         # the C API refuses: the library is bound to wasabi
out["c_api"] = ctypes.CDLL(sys.argv[1]).demo_instantiate(None, ctypes.byref(ctypes.c_void_p()))
out["llvmlite"] = sorted(m for m in sys.modules if m.split(".")[0] == "llvmlite")
print(json.dumps(out))
"""


def test_load_dylib_in_a_fresh_process_without_llvm(library):
    """wasabi.load_dylib instantiates and calls (a Python host function, multiple results,
    traps) and llvmlite is never imported; the library's C API then refuses to
    instantiate in that process."""
    path = copy_of(library, "libdemo_fresh.so")
    ran = subprocess.run([sys.executable, "-c", LOAD_IN_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out.pop("llvmlite") == []
    assert out == {"add": 5, "callog": 120, "calls": [12], "two": [3.0, -5],
                   "indirect": 8, "memory": "hello", "c_api": -4,
                   "traps": {"div": "integer divide by zero", "rec": "call stack exhausted",
                             "load": "out of bounds memory access",
                             "indirect": "undefined element"}}


def test_load_dylib_behaves_as_compile(library):
    """The same results as wasabi.compile's module; the code runs under the extension
    (a deadline interrupts a loop through the library's builtin table)."""
    module = wasabi.load_dylib(copy_of(library, "libdemo_py.so"))
    again = wasabi.load_dylib(copy_of(library, "libdemo_py.so"))
    assert again._code is module._code                  # mapped once
    compiled = wasabi.compile(WAT)
    results = []
    for m in (module, compiled):
        instance = wasabi.instantiate(m, {"env": {"log": lambda x: x + 1}})
        e = instance.exports
        results.append((e.add(-1, 1), e.callog(1), e.two(-0.25), e.indirect(1, 3),
                        e.grow(1), e.grow(0)))
        assert [x.name for x in m.exports] == [x.name for x in compiled.exports]
    assert results[0] == results[1]
    with pytest.raises(wasabi.DeadlineExceeded):
        instance = wasabi.instantiate(module, {"env": {"log": lambda x: x}})
        instance.call("spin", timeout=0.05)
    assert module.stats()["mode"] == "dylib"


def test_load_dylib_refuses_other_files(tmp_path):
    import ctypes.util
    libm = ctypes.util.find_library("m")
    with pytest.raises(CompileError, match="not a wasabi shared library"):
        wasabi.load_dylib(libm or "/nonexistent/libx.so")


def test_skeleton_decodes_to_the_same_module():
    data = wasabi.wat2wasm(WAT)
    full, shape = decode_module(data), decode_module(skeleton(data))
    assert len(skeleton(data)) < len(data)
    for field in ("types", "imports", "tables", "memories", "globals", "exports", "elems",
                  "start", "func_type_indices"):
        assert getattr(shape, field) == getattr(full, field), field
    # (data segments come after the code: their expressions' byte offsets differ)
    assert [(d.mode, d.data, d.offset.instrs) for d in shape.datas] == \
        [(d.mode, d.data, d.offset.instrs) for d in full.datas]
    assert [(f.index, f.type_index) for f in shape.funcs] == \
        [(f.index, f.type_index) for f in full.funcs]


def test_cli_dylib(tmp_path):
    source = tmp_path / "m.wat"
    source.write_text(WAT)
    ran = subprocess.run([sys.executable, "-m", "wasabi", "compile", str(source), "--dylib",
                          "-o", str(tmp_path / "libm.so"), "--tier", "T0"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert ran.returncode == 0, ran.stderr
    assert "shared library" in ran.stdout
    assert "int m_call_add(m_instance* instance" in (tmp_path / "libm.h").read_text()
    module = wasabi.load_dylib(tmp_path / "libm.so")
    assert module.options.tier == "T0"


def test_module_without_a_c_api(tmp_path):
    """A module the C API cannot instantiate (it imports a global) still makes a library:
    its header says so, and load_dylib instantiates it with the import given."""
    wat = """(module (import "env" "base" (global $base i32))
               (func (export "get") (result i32) (i32.add (global.get $base) (i32.const 1))))"""
    header = write_dylib(wasabi.wat2wasm(wat), tmp_path / "libnoc.so",
                         options=wasabi.Options(tier="T0"))
    text = header.read_text()
    assert "no C API: it imports a non-function" in text and "noc_instantiate" not in text
    module = wasabi.load_dylib(tmp_path / "libnoc.so")
    store = wasabi.Store()
    base = wasabi.Global(store, wasabi.Value.i32(41))
    instance = wasabi.Instance(module, {"env": {"base": base}}, store=store)
    assert instance.exports.get() == 42


def test_dylib_module_wasm_and_pickle(library):
    """A library's Module gives its wasm (read from the library) to serialize and pickle."""
    import pickle
    module = wasabi.load_dylib(copy_of(library, "libdemo_py.so"))
    assert module._wasm == wasabi.wat2wasm(WAT)
    assert module.path.endswith("libdemo_py.so")
    again = pickle.loads(pickle.dumps(module))
    instance = wasabi.instantiate(again, {"env": {"log": lambda x: x}})
    assert instance.exports.add(20, 22) == 42
