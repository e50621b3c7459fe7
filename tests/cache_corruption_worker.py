"""Corrupts code-cache entries and serialized modules in many ways and checks that each
load gives the right result or a clean error, never a crash. Run by
tests/test_cache_integrity.py in a subprocess, so that a crash fails the test (not pytest).

    python cache_corruption_worker.py CACHE_DIR SEED COUNT
"""
import hashlib
import os
import random
import sys

WAT = """(module (memory 1) (table 2 funcref) (elem (i32.const 0) $sq $inc)
  (type $t (func (param i32) (result i32)))
  (func $sq (type $t) local.get 0 local.get 0 i32.mul)
  (func $inc (type $t) local.get 0 i32.const 1 i32.add)
  (func (export "f") (param i32 i32) (result i32)
    (i32.store (i32.const 8) (call_indirect (type $t) (local.get 1) (local.get 0)))
    (i32.load (i32.const 8))))"""


def corruptions(good, rng, count):
    """(what, bytes) pairs of `good` (a cache entry, or serialized bytes): bit flips and random bytes at many offsets, truncations,
    appended bytes, and the header's version and lengths changed."""
    for _ in range(count):
        at = rng.randrange(len(good))
        data = bytearray(good)
        if rng.random() < 0.5:
            data[at] ^= 1 << rng.randrange(8)
        else:
            data[at] = (data[at] + rng.randrange(1, 256)) % 256
        yield f"byte {at} changed", bytes(data)
    for cut in sorted({0, 1, 8, 12, len(good) // 2, len(good) - 33, len(good) - 1}
                      | {rng.randrange(len(good)) for _ in range(count // 10)}):
        yield f"truncated to {cut}", good[:cut]
    yield "a byte appended", good + b"\0"
    # header changes, also with the digest made to match (another version, not damage)
    body = good[:-32]
    for old, new in [(b'"format": 4', b'"format": 3'), (b'"format": 4', b'"format": 5'),
                     (b'"tier": "T1"', b'"tier": "T9"'), (b'"mode": "eager"', b'"mode": "nope"'),
                     (b'"wasm": ', b'"wasm": 1'), (b'"objects": [', b'"objects": [-1, '),
                     (b'"wasm_sha256": "', b'"wasm_sha256": "0')]:
        assert old in body, old
        changed = body.replace(old, new)
        yield f"{old!r} -> {new!r}", changed + good[-32:]
        yield f"{old!r} -> {new!r}, digest matching", changed + hashlib.sha256(changed).digest()


def main(cache_dir, seed, count):
    os.environ["WASABI_CACHE_DIR"] = cache_dir
    import wasabi
    from wasabi.compiler.cache import entry_path
    from wasabi.errors import CompileError
    from wasabi.options import Options

    wasm = wasabi.wat2wasm(WAT)
    options = Options(tier="T1", cache=True)
    store = wasabi.Store(options=options)

    def check(module, what):
        exports = wasabi.instantiate(module).exports
        got = (exports.f(0, 5), exports.f(1, 5))
        assert got == (25, 6), f"{what}: wrong result {got}"

    module = wasabi.compile(wasm, options)
    check(module, "first compile")
    path = entry_path(wasm, options)
    good = path.read_bytes()
    serialized = module.serialize()
    check(wasabi.Module.deserialize(store, serialized), "deserialize of good bytes")
    rng = random.Random(seed)
    cases = 0
    for what, data in corruptions(good, rng, count):
        if data == good:
            continue
        path.write_bytes(data)
        check(wasabi.compile(wasm, options), f"cache entry with {what}")
        # the bad entry was replaced by a good one
        assert path.read_bytes() == good, f"{what}: entry not rewritten"
        cases += 1
    for what, data in corruptions(serialized, rng, count):
        if data == serialized:
            continue
        try:
            wasabi.Module.deserialize(store, data)
        except CompileError:
            pass
        else:
            raise AssertionError(f"deserialize accepted serialized bytes with {what}")
        cases += 1
    print(f"ok {cases}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
