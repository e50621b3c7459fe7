"""One run of a PGO module with the disk cache on, as a process of its own: run by
tests/test_pgo.py to check that profiles persist across processes (saved at exit).

    python pgo_profile_worker.py CACHE_DIR HOT FIB_N [WAIT_FOR_O2]

Prints one JSON line: the module's stats at load (before any call) and at the end.
"""
import json
import sys
import time

import wasabi
from wasabi import Mode, Options
from wasabi.compiler.cache import compile_bytes
from wasabi.compiler.modes import tiered

WAT = """(module
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2))))))))"""


def main(directory, hot, n, wait):
    tiered.HOT = hot
    tiered.TICK = 0.001
    module = compile_bytes(wasabi.wat2wasm(WAT), Options(mode=Mode.PGO, cache=True), directory)
    at_load = module.stats()
    result = module.instantiate().exports.fib(n)
    end = time.monotonic() + 20
    while wait and module.stats()["tiers"]["O2"] < 1 and time.monotonic() < end:
        time.sleep(0.002)
    print(json.dumps({"result": result, "at_load": at_load, "end": module.stats()}))
    # no close(): the profile is saved at interpreter exit


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), len(sys.argv) > 4)
