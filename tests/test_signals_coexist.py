"""wasabi's fault handler shares the process with other engines' handlers (wasmtime's).

Our handler goes on top of whatever is installed and passes on every fault that is not
ours. wasmtime's handler leaves by unwinding (it never returns), which once left our
chaining state stale, so the next wasmtime trap ended the process. Run in a child process:
a regression is a dead child, reported with its output.
"""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import wasmtime, wasabi.runtime
    from wasabi.binary.types import Limits, MemoryType
    from wasabi.compiler import compile_module
    import wasabi

    WAT = """(module (memory 1)
      (func (export "oob") (result i32) (i32.load (i32.const 70000)))
      (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))"""
    data = wasmtime.wat2wasm(WAT)

    store = wasmtime.Store()
    theirs = wasmtime.Instance(store, wasmtime.Module(store.engine, data), []).exports(store)
    desc = wasabi.parse(data)
    ours = wasabi.runtime.instantiate(desc, compile_module(desc), {}).exports

    def expect_trap(call, text):
        try:
            call()
        except Exception as error:
            assert text in str(error), (text, str(error))
        else:
            raise AssertionError("no trap")

    for round in range(3):
        for _ in range(3):   # the same faulting pc and address, again and again
            expect_trap(lambda: theirs["oob"](store), "out of bounds")
            expect_trap(lambda: theirs["div"](store, 0), "divide by zero")
        expect_trap(lambda: ours["oob"](), "out of bounds memory access")
        wasabi.runtime.Memory(wasabi.runtime.Store(), MemoryType(Limits(1)))  # re-checks our handler
    print("ok")
''')


def test_wasmtime_and_wasabi_traps_interleave():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", (proc.returncode, proc.stdout, proc.stderr[-3000:])
