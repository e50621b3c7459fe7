"""One of several processes sharing a small code cache: compiles modules from a pool
(so that entries are stored, hit, evicted and stored again by the others all the
time), checks every result, and, as the `clearer`, empties the cache now and then.
Run by tests/test_cache_lru.py; prints `ok HITS MISSES`.

    python cache_lru_worker.py CACHE_DIR SEED ITERATIONS POOL LIMIT [clearer]
"""
import os
import random
import sys

WAT = """(module (memory 1) (table 2 funcref) (elem (i32.const 0) $sq $inc)
  (type $t (func (param i32) (result i32)))
  (func $sq (type $t) local.get 0 local.get 0 i32.mul)
  (func $inc (type $t) local.get 0 i32.const %d i32.add)
  (func (export "f") (param i32 i32) (result i32)
    (i32.store (i32.const 8) (call_indirect (type $t) (local.get 1) (local.get 0)))
    (i32.load (i32.const 8))))"""


def main(cache_dir, seed, iterations, pool, limit, role=""):
    os.environ["WASABI_CACHE_DIR"] = cache_dir
    import wasabi
    from wasabi.compiler import cache
    from wasabi.options import Options

    options = Options(tier="T0", cache=True, cache_size=limit)
    modules = [wasabi.wat2wasm(WAT % k) for k in range(pool)]
    rng = random.Random(seed)
    hits = misses = 0
    for _ in range(iterations):
        k = rng.randrange(pool)
        hit = cache.entry_path(modules[k], options).exists()
        exports = wasabi.instantiate(wasabi.compile(modules[k], options)).exports
        got = (exports.f(0, 5), exports.f(1, 5))
        assert got == (25, 5 + k), f"module {k}: wrong result {got}"
        hits, misses = hits + hit, misses + (not hit)
        if role == "clearer" and rng.random() < 0.1:
            cache.clear()
    print(f"ok {hits} {misses}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         *sys.argv[6:])
