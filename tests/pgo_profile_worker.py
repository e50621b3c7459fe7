"""One run of a PGO module with the disk cache on, as a process of its own: run by
tests/test_pgo.py to check that profiles persist across processes (saved at exit).

    python pgo_profile_worker.py CACHE_DIR HOT FIB_N [wait]
    python pgo_profile_worker.py CACHE_DIR HOT N exit-mid-build
    python pgo_profile_worker.py CACHE_DIR HOT N owe

Prints one JSON line: the module's stats at load (before any call) and at the end.
`wait`: until fib is optimised. `exit-mid-build`: calls BIG_WAT's `big` until its O2
build is under way in a worker process, then exits (the worker finishes it into a
spool: compiler/profile_store.py). `owe`: makes N functions of MANY_WAT hot without
building any (the tier-up looks, but builds nothing), then exits: the worker builds
them afterwards (modes/after_exit.py).
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




def big_wat(statements=500):
    """A function whose O2 build takes about a second (500 statements: 0.9 s here)."""
    body = "".join(
        f"(local.set $a (i32.add (i32.mul (local.get $a) (i32.const {2 * k + 3}))"
        f" (i32.rotl (local.get $b) (i32.const {k % 31 + 1}))))"
        f"(if (i32.lt_u (local.get $a) (i32.const {k * 7919 & 0xffff}))"
        f" (then (local.set $b (i32.xor (local.get $b) (local.get $a)))))"
        for k in range(statements))
    return f"""(module (func $big (export "big") (param $n i32) (result i32)
      (local $a i32) (local $b i32)
      (local.set $b (local.get $n))
      (block $out (loop $l
        (br_if $out (i32.eqz (local.get $n)))
        {body}
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (i32.xor (local.get $a) (local.get $b))))"""


def many_wat(n):
    """n exported functions f0..f(n-1), each adding its number to its argument."""
    return "(module " + "".join(
        f'(func (export "f{k}") (param i32) (result i32) '
        f"(i32.add (local.get 0) (i32.const {k})))" for k in range(n)) + ")"


def owe(directory, hot, n):
    tiered.HOT = hot
    tiered.TICK = 0.001
    tiered.MAX_PER_TICK = 0                 # looks, stops counting, builds nothing
    module = compile_bytes(wasabi.wat2wasm(many_wat(n)), Options(mode=Mode.PGO, cache=True),
                           directory)
    exports = module.instantiate().exports
    result = sum(getattr(exports, f"f{k}")(i) for k in range(n) for i in range(hot + 1))
    end = time.monotonic() + 20
    while len(module.code.profile_keeper.owed) < n and time.monotonic() < end:
        time.sleep(0.002)                   # until the tier-up thread has looked
    print(json.dumps({"result": result, "end": module.stats()}))
    # exit: the hot functions wait for their first build


def exit_mid_build(directory, hot, n):
    from wasabi.compiler import parallel
    tiered.HOT = hot
    tiered.TICK = 0.001
    tiered.QUICK_FIRST_BYTES = 1 << 30      # its O2 build first: longer than the run
    module = compile_bytes(wasabi.wat2wasm(big_wat()), Options(mode=Mode.PGO, cache=True),
                           directory)
    big = module.instantiate().exports.big
    result = big(n)
    end = time.monotonic() + 60
    while not parallel._workers._busy and time.monotonic() < end:
        big(1)
        time.sleep(0.001)
    time.sleep(0.1)         # the request is written (the build takes about a second)
    stats = module.stats()
    print(json.dumps({"result": result, "building": bool(parallel._workers._busy),
                      "end": stats}))
    # exit now: the build is under way


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
    if sys.argv[4:] == ["exit-mid-build"]:
        exit_mid_build(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[4:] == ["owe"]:
        owe(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] == ["wait"])
