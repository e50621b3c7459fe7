"""Run a WASI command under wasmtime-py, as `wasabi run` runs it: stdin, stdout and stderr
inherited, the exit code passed on. The reference the real-program benchmarks compare with.

    python bench/real/wasmtime_run.py prog.wasm [args...]

Compilation (wasmtime.Module, Cranelift, no cache) is part of the run, as in a cold
`wasabi run`; with WASMTIME_RUN_TIMES=path, the compile and run seconds are written there.
"""
import os
import sys
import time

import wasmtime


def main(path, args):
    started = time.perf_counter()
    engine = wasmtime.Engine()
    module = wasmtime.Module.from_file(engine, path)
    compiled = time.perf_counter()
    store = wasmtime.Store(engine)
    config = wasmtime.WasiConfig()
    config.argv = [os.path.basename(path), *args]
    config.inherit_stdin()
    config.inherit_stdout()
    config.inherit_stderr()
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    status = 0
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_trap:
        status = exit_trap.code
    except wasmtime.Trap as trap:
        print(trap, file=sys.stderr)
        status = 134
    finished = time.perf_counter()
    times = os.environ.get("WASMTIME_RUN_TIMES")
    if times:
        with open(times, "w") as out:
            out.write(f"{compiled - started} {finished - compiled}\n")
    return status


if __name__ == "__main__":
    sys.stdout.flush()
    sys.exit(main(sys.argv[1], sys.argv[2:]))
