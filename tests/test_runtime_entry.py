"""Entering compiled code and leaving it by trap: hand-written IR that follows
the ABI, linked against the C runtime by tests/handir.py (no translator involved)."""
import faulthandler
import gc
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from wasabi import _ext
from wasabi.abi import traps
from wasabi.abi.vmctx import FUNC_RECORD_SIZE, VMCTX_FUNCS, VMCTX_MEM_BASE, VMCTX_MEMORY, VMCTX_SIZE
from wasabi.binary.types import I32, FuncType
from wasabi.errors import Trap
from handir import array_thunk_ir, host_thunk_ir, link_ir

I_I = FuncType((I32,), (I32,))

IR = r"""
define i32 @load32(ptr %vmctx, i32 %addr) {
  %base = load ptr, ptr %vmctx
  %ea = zext i32 %addr to i64
  %p = getelementptr i8, ptr %base, i64 %ea
  %v = load i32, ptr %p
  ret i32 %v
}

; explicit bounds mode: compare with memory->size, trap through the builtin
define i32 @load32_checked(ptr %vmctx, i32 %addr) {
  %mp = getelementptr i8, ptr %vmctx, i64 8
  %mem = load ptr, ptr %mp
  %base = load ptr, ptr %mem
  %sp = getelementptr i8, ptr %mem, i64 8
  %size = load i64, ptr %sp
  %ea = zext i32 %addr to i64
  %end = add i64 %ea, 4
  %oob = icmp ugt i64 %end, %size
  br i1 %oob, label %trap, label %ok
trap:
  call void @wasabi_rt_trap(i32 5)
  unreachable
ok:
  %p = getelementptr i8, ptr %base, i64 %ea
  %v = load i32, ptr %p
  ret i32 %v
}

define i32 @trapper(ptr %vmctx, i32 %code) {
  call void @wasabi_rt_trap(i32 %code)
  unreachable
}

; recursion with the stack-limit prologue of the ABI
define i32 @rec(ptr %vmctx, i32 %n) {
entry:
  %sp = call i64 @llvm.read_register.i64(metadata !0)
  %lp = getelementptr i8, ptr %vmctx, i64 16
  %lim = load i64, ptr %lp
  %ok = icmp uge i64 %sp, %lim
  br i1 %ok, label %body, label %trap, !prof !1
trap:
  call void @wasabi_rt_trap(i32 10)
  unreachable
body:
  %pad = alloca [8 x i64]
  store volatile i64 0, ptr %pad
  %z = icmp eq i32 %n, 0
  br i1 %z, label %done, label %more
more:
  %m = sub i32 %n, 1
  %r = call i32 @rec(ptr %vmctx, i32 %m)
  %s = add i32 %r, 1
  ret i32 %s
done:
  ret i32 0
}

; recursion without any check: only the fault handler's safety net stops it
define i32 @rec_unchecked(ptr %vmctx, i32 %n) {
entry:
  %pad = alloca [8 x i64]
  store volatile i64 0, ptr %pad
  %z = icmp eq i32 %n, 0
  br i1 %z, label %done, label %more
more:
  %m = sub i32 %n, 1
  %r = call i32 @rec_unchecked(ptr %vmctx, i32 %m)
  %s = add i32 %r, 1
  ret i32 %s
done:
  ret i32 0
}

; calls function 0 of the vmctx's funcs array (an import)
define i32 @call_import0(ptr %vmctx, i32 %a) {
  %fp = getelementptr i8, ptr %vmctx, i64 24
  %funcs = load ptr, ptr %fp
  %code = load ptr, ptr %funcs
  %cvp = getelementptr i8, ptr %funcs, i64 8
  %cv = load ptr, ptr %cvp
  %r = call i32 %code(ptr %cv, i32 %a)
  ret i32 %r
}

declare i64 @llvm.read_register.i64(metadata)
!0 = !{!"rsp"}
!1 = !{!"branch_weights", i32 1000, i32 1}
"""

NAMES = ["load32", "load32_checked", "trapper", "rec", "rec_unchecked", "call_import0",
         "thunk_i_i", "host_i_i"]


class Harness:
    """One memory + one vmctx whose funcs[0] is a host function."""

    def __init__(self, guarded=True, host=None):
        self.lib = link_ir(IR + array_thunk_ir("thunk_i_i", I_I) + host_thunk_ir("host_i_i", I_I),
                           NAMES)
        self.mem = _ext.NativeMemory(1, 4, guarded)
        self.vm = _ext.RawBuffer(VMCTX_SIZE)
        self.vm.set_u64(VMCTX_MEM_BASE, self.mem.base)
        self.vm.set_u64(VMCTX_MEMORY, self.mem.address)
        self.funcs = _ext.RawBuffer(FUNC_RECORD_SIZE)
        self.vm.set_u64(VMCTX_FUNCS, self.funcs.address)
        self.keep = {}
        self.set_host(host or (lambda x: x + 1))

    def set_host(self, fn):
        self.host = _ext.HostRecord(fn, (I32,), (I32,), 1, self.lib["host_i_i"], self.keep)
        self.funcs.set_u64(0, self.lib["host_i_i"])
        self.funcs.set_u64(8, self.host.host_address)

    def call(self, name, arg):
        return _ext.FuncHandle(self.lib["thunk_i_i"], self.lib[name], self.vm.address,
                               (I32,), (I32,), self.keep, 0)(arg)


@pytest.fixture(scope="module")
def h():
    return Harness()


def trap_code(fn, *args):
    with pytest.raises(Trap) as info:
        fn(*args)
    return info.value.code, str(info.value)


def test_a_load_inside_memory_returns_the_value(h):
    h.mem.write(8, (1234).to_bytes(4, "little"))
    assert h.call("load32", 8) == 1234


@pytest.mark.parametrize("addr", [0xFFFD, 0x10000, 1 << 20, 0xFFFFFFFF])
def test_out_of_bounds_load_faults_into_a_trap(h, addr):
    assert trap_code(h.call, "load32", addr) == (traps.TRAP_OOB_MEMORY, "out of bounds memory access")
    assert h.call("load32", 8) == h.call("load32", 8)   # still usable


def test_grown_memory_becomes_accessible(h):
    old = h.mem.pages
    assert h.mem.grow(1) == old
    assert h.call("load32", old * 65536) == 0


def test_explicit_bounds_mode_on_an_unguarded_memory():
    e = Harness(guarded=False)
    assert not e.mem.guarded and e.mem.reserved == 4 * 65536
    assert e.call("load32_checked", 65532) == 0
    assert trap_code(e.call, "load32_checked", 65533)[0] == traps.TRAP_OOB_MEMORY
    assert e.mem.grow(3) == 1 and e.mem.grow(1) == -1
    assert e.call("load32_checked", 4 * 65536 - 4) == 0


@pytest.mark.parametrize("code", sorted(traps.MESSAGES))
def test_every_trap_code_gives_its_message(h, code):
    if code in (traps.TRAP_HOST_EXCEPTION, traps.TRAP_COMPILE_ERROR):
        return   # these re-raise a pending Python exception (tested below)
    if code == traps.TRAP_WASI_EXIT:   # proc_exit ends the run with WasiExit, not a Trap
        from wasabi.wasi import WasiExit
        with pytest.raises(WasiExit):
            h.call("trapper", code)
        return
    if code == traps.TRAP_KEYBOARD_INTERRUPT:   # Ctrl-C in wasm is Ctrl-C, not a Trap
        with pytest.raises(KeyboardInterrupt):
            h.call("trapper", code)
        return
    assert trap_code(h.call, "trapper", code) == (code, traps.MESSAGES[code])


def test_deep_recursion_traps_with_call_stack_exhausted(h):
    assert h.call("rec", 1000) == 1000
    assert trap_code(h.call, "rec", 1_000_000) == (traps.TRAP_STACK_EXHAUSTED, "call stack exhausted")
    assert h.call("rec", 1000) == 1000


def test_recursion_without_prologue_check_is_caught_by_the_fault_handler(h):
    assert trap_code(h.call, "rec_unchecked", 10_000_000)[0] == traps.TRAP_STACK_EXHAUSTED
    assert h.call("rec", 10) == 10


def test_recursion_on_a_thread_with_a_small_stack(h):
    out = []

    def run():
        try:
            h.call("rec", 10_000_000)
        except Trap as e:
            out.append(e.code)
        out.append(h.call("rec", 100))

    old = threading.stack_size(1 << 20)
    try:
        t = threading.Thread(target=run)
        t.start()
        t.join()
    finally:
        threading.stack_size(old)
    assert out == [traps.TRAP_STACK_EXHAUSTED, 100]


def test_host_function_is_called_with_converted_values(h):
    h.set_host(lambda x: x * 2)
    assert h.call("call_import0", 21) == 42
    h.set_host(lambda x: -1)
    assert h.call("call_import0", 0) == -1
    h.set_host(lambda x: 0xFFFFFFFF)                 # wraps to i32
    assert h.call("call_import0", 0) == -1


def test_host_exception_comes_out_unchanged(h):
    err = ValueError("from the host")

    def boom(x):
        raise err

    h.set_host(boom)
    with pytest.raises(ValueError) as info:
        h.call("call_import0", 1)
    assert info.value is err


def test_host_result_of_the_wrong_type_raises_type_error(h):
    h.set_host(lambda x: "text")
    with pytest.raises((TypeError, ValueError)):
        h.call("call_import0", 1)


def test_nested_entries_wasm_host_wasm(h):
    h.set_host(lambda x: h.call("rec", x) + 1000)
    assert h.call("call_import0", 5) == 1005
    # a trap in the inner wasm passes through the host function as the Trap itself
    h.set_host(lambda x: h.call("trapper", traps.TRAP_UNREACHABLE))
    assert trap_code(h.call, "call_import0", 0) == (traps.TRAP_UNREACHABLE, "unreachable")
    h.set_host(lambda x: h.call("load32", 0xFFFFFFF0))
    assert trap_code(h.call, "call_import0", 0)[0] == traps.TRAP_OOB_MEMORY


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def trap_all_kinds(h, n):
    def boom(x):
        raise KeyError("x")   # a fresh exception: re-raising one object grows its traceback

    h.set_host(boom)
    for _ in range(n):
        for name, arg in (("trapper", 2), ("load32", 0x20000000), ("rec", 1 << 30),
                          ("call_import0", 0)):
            try:
                h.call(name, arg)
            except (Trap, KeyError):
                pass
            else:
                raise AssertionError(f"{name} did not trap")


def check_traps_do_not_leak(n, slack_kib):
    h = Harness()
    trap_all_kinds(h, 500)        # warm up caches and allocator pools
    gc.collect()
    before = rss_kib()
    trap_all_kinds(h, n)
    gc.collect()
    assert rss_kib() - before < slack_kib


def test_thousands_of_traps_keep_memory_flat():
    check_traps_do_not_leak(2000, 2048)


@pytest.mark.slow
def test_100k_traps_of_each_kind_keep_memory_flat():
    check_traps_do_not_leak(100_000, 4096)


def test_two_threads_trap_concurrently_with_the_gil_released():
    errors = []

    def worker():
        h = Harness()
        try:
            for i in range(300):
                assert trap_code(h.call, "load32", 0x30000000 + i)[0] == traps.TRAP_OOB_MEMORY
                assert trap_code(h.call, "trapper", 3)[0] == traps.TRAP_INT_OVERFLOW
                assert trap_code(h.call, "rec", 1 << 30)[0] == traps.TRAP_STACK_EXHAUSTED
                assert h.call("rec", 50) == 50
        except BaseException as e:       # reported below: an assert in a thread is lost
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_guard_trap_after_faulthandler_enable_in_process(h):
    was = faulthandler.is_enabled()
    faulthandler.enable()
    try:
        _ext.NativeMemory(1, 1, True)       # creating a memory re-checks the handler
        assert _ext.signals_on_top()
        assert trap_code(h.call, "load32", 0x7FFFFFFF)[0] == traps.TRAP_OOB_MEMORY
    finally:
        if not was:
            faulthandler.disable()
            _ext.signals_ensure()


def run_python(code):
    env = dict(os.environ, PYTHONFAULTHANDLER="")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120, env=env)


HARNESS_IMPORT = f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"


def test_faulthandler_enabled_after_import_in_a_subprocess():
    r = run_python(HARNESS_IMPORT + textwrap.dedent("""
        import faulthandler
        import wasabi.runtime
        from test_runtime_entry import Harness
        from wasabi.errors import Trap
        faulthandler.enable()          # now on top of wasabi's handler
        h = Harness()                  # creating a memory puts wasabi back on top
        try:
            h.call("load32", 0x40000000)
        except Trap as e:
            print("trap", e.code)
        """))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "trap 5"


def test_a_real_crash_still_reaches_faulthandler():
    r = run_python("""
        import faulthandler, ctypes
        faulthandler.enable()
        import wasabi.runtime
        from wasabi import _ext
        _ext.signals_ensure()
        ctypes.string_at(0)
        """)
    assert r.returncode == -11
    assert "Fatal Python error: Segmentation fault" in r.stderr


def test_removing_the_wasm_stack_bound_takes_effect_at_the_next_call():
    # the limit of a thread is computed at its outermost entry; "no bound" (0) must
    # replace a bound set before, on a thread that already ran under it
    import wasabi
    down = wasabi.instantiate(wasabi.compile("""(module
      (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"""),
        {}).exports.down
    _ext.set_max_wasm_stack(64 << 10)
    try:
        with pytest.raises(wasabi.Trap, match="call stack exhausted"):
            down(50_000)
    finally:
        _ext.set_max_wasm_stack(0)
    assert down(50_000) == 50_000
