"""Guard-page bounds: the access is the bounds check, so the optimiser must keep it.

Issue 12, item 9 (found by the executing fuzzer against wasmtime): an out-of-bounds
load whose value is unused did not trap at T1/O2 (LLVM deletes dead loads), a load
feeding an unused select arm did not trap even at T0, and O2's dead-store
elimination dropped a store that a trapping store followed, so memory after the
trap differed. Every case runs in every tier and both bounds modes.
"""
import pytest

import wasabi

TIERS = ("T0", "T1", "O2")
BOUNDS = ("guard", "explicit")
OOB = 70000      # past the one-page memory

# (name, body of `f` taking one i32 param $p that is OOB): each must trap
UNUSED_LOADS = {
    "dropped": "(drop (i32.load (local.get $p)))",
    "dead_local": "(local.set $x (i32.load (local.get $p)))",
    "dead_arithmetic": "(drop (i32.add (i32.load (local.get $p)) (i32.const 1)))",
    "times_zero": "(drop (i32.mul (i32.load (local.get $p)) (i32.const 0)))",
    "unused_select_arm": "(drop (select (i32.load (local.get $p)) (i32.const 1) (i32.const 0)))",
    "narrow": "(drop (i64.load8_u (local.get $p)))",
    "float": "(drop (f64.load (local.get $p)))",
    "br_if_value": "(drop (block (result i32) (br_if 0 (i32.load (local.get $p)) (i32.const 0))))",
    "v128": "(drop (v128.load (local.get $p)))",
    "v128_lane": "(drop (v128.load32_lane 1 (local.get $p) (v128.const i64x2 0 0)))",
    "v128_splat": "(drop (v128.load16_splat (local.get $p)))",
}

# the unused arm of a select (any condition) loads, or computes on a load, from a
# constant out-of-bounds address: with AVX-512, x86 isel folded these into masked
# instructions whose masked-off memory operand does not fault (found by the
# executing fuzzer: tests/test_fuzz_exec.py)
ARMS = {
    "f64": "(f64.load (i32.const -96))",
    "f32": "(f32.load (i32.const -96))",
    "i32": "(i32.load (i32.const -96))",
    "i64": "(i64.load (i32.const -96))",
    "f64_add": "(f64.add (local.get $x) (f64.load (i32.const -96)))",
    "f32_mul": "(f32.mul (f32.const 3) (f32.load (i32.const -96)))",
    "f64_bits": "(f64.reinterpret_i64 (i64.load (i32.const -96)))",
}
ZERO = {"f64": "(f64.const 0)", "f32": "(f32.const 0)", "i32": "(i32.const 0)",
        "i64": "(i64.const 0)"}
VECTOR_ARMS = {
    "v128_and_mask": "(v128.and (f32x4.lt (local.get $v) (f32x4.splat (f32.const 0)))"
                     " (v128.load (i32.const -96)))",
    "f32x4_pmin": "(f32x4.pmin (local.get $v) (v128.load (i32.const -96)))",
    "v128_select": "(select (v128.load (i32.const -96)) (local.get $v)"
                   " (f64.lt (local.get $x) (f64.const 0)))",
}


def _instance(wat, tier, bounds):
    return wasabi.instantiate(wasabi.compile(wat, wasabi.Options(tier=tier, bounds=bounds)))


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("case", sorted(UNUSED_LOADS))
def test_an_unused_out_of_bounds_load_traps(case, tier, bounds):
    wat = f'''(module (memory 1)
      (func (export "f") (param $p i32) (local $x i32) {UNUSED_LOADS[case]}))'''
    f = _instance(wat, tier, bounds).exports.f
    f(0)                                            # in bounds: no trap
    with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
        f(OOB)


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("case", sorted(ARMS))
def test_a_select_arm_that_loads_out_of_bounds_traps(case, tier, bounds):
    ty = case[:3]
    wat = f'''(module (memory 1)
      (func (export "f") (param $x f64) (result {ty})
        (select {ARMS[case]} {ZERO[ty]} (f64.lt (local.get $x) (f64.const 0)))))'''
    f = _instance(wat, tier, bounds).exports.f
    for x in (1.0, -1.0):
        with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
            f(x)


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("case", sorted(VECTOR_ARMS))
def test_a_masked_vector_load_out_of_bounds_traps(case, tier, bounds):
    wat = f'''(module (memory 1)
      (func (export "f") (param $x f64) (result i32) (local $v v128)
        (local.set $v (f32x4.splat (f32.demote_f64 (local.get $x))))
        (i32x4.extract_lane 0 {VECTOR_ARMS[case]})))'''
    f = _instance(wat, tier, bounds).exports.f
    for x in (1.0, -1.0):
        with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
            f(x)


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("case", sorted(VECTOR_ARMS))
def test_a_masked_vector_load_called_from_scalar_code_traps(case, tier, bounds):
    """With AVX-512, guard-mode loads are frozen except in functions that use SIMD,
    which get no AVX-512 (pipelines.masked_memory_operands): inlined into a caller
    without SIMD, their loads would be compiled with AVX-512 unfrozen."""
    wat = f'''(module (memory 1)
      (func $arm (param $x f64) (result i32) (local $v v128)
        (local.set $v (f32x4.splat (f32.demote_f64 (local.get $x))))
        (i32x4.extract_lane 0 {VECTOR_ARMS[case]}))
      (func (export "f") (param $x f64) (result i32)
        (i32.add (call $arm (local.get $x)) (i32.const 1))))'''
    f = _instance(wat, tier, bounds).exports.f
    for x in (1.0, -1.0):
        with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
            f(x)


@pytest.mark.parametrize("case", sorted(VECTOR_ARMS))
def test_a_masked_vector_load_in_a_ufunc_loop_traps(case):
    """The same in a `wasabi.vectorize` loop, whose module (ufunc.py) adds an attribute
    group of its own: every group is defined once (a second definition of the SIMD
    functions' group silently replaced it, AVX-512 and inlining included)."""
    import re
    from wasabi.compiler.ufunc import loop_module_ir, signatures_for
    from wasabi.binary.types import F64, I32
    np = pytest.importorskip("numpy")
    wat = f'''(module (memory 1)
      (func (export "f") (param $x f64) (result i32) (local $v v128)
        (local.set $v (f32x4.splat (f32.demote_f64 (local.get $x))))
        (i32x4.extract_lane 0 {VECTOR_ARMS[case]})))'''
    text, _ = loop_module_ir(wasabi.parse(wasabi.wat2wasm(wat)), 0,
                             signatures_for([F64], [I32]))
    groups = re.findall(r"^attributes (#[0-9]+) =", text, flags=re.M)
    assert len(groups) == len(set(groups)), groups
    f = wasabi.vectorize(_instance(wat, "T1", "guard").exports.f)
    with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
        f(np.array([1.0, -1.0]))


# stores before the trapping access must be in memory after the trap; a store to
# the same address after it must not be (dead-store elimination would drop the first)
STORE_ORDER = '''(module (memory (export "m") 1)
  (func (export "store_between") (param $p i32)
    (i32.store (i32.const 0) (i32.const 1))
    (i32.store (local.get $p) (i32.const 2))
    (i32.store (i32.const 0) (i32.const 3)))
  (func (export "load_between") (param $p i32)
    (i32.store (i32.const 0) (i32.const 1))
    (drop (i32.load (local.get $p)))
    (i32.store (i32.const 0) (i32.const 3)))
  (func (export "loop") (param $p i32) (local $i i32)
    ;; writes m[i] = i+1 for i = 0.. and loads m[p + 4i]: traps part way through
    (loop $l
      (i32.store8 (local.get $i) (i32.add (local.get $i) (i32.const 1)))
      (drop (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 64)))))
  (func (export "global_between") (param $p i32)
    (global.set $g (i32.const 1))
    (drop (i32.load (local.get $p)))
    (global.set $g (i32.const 3)))
  (global $g (export "g") (mut i32) (i32.const 0)))'''


@pytest.mark.parametrize("bounds", BOUNDS)
@pytest.mark.parametrize("tier", TIERS)
def test_memory_after_a_trap_holds_exactly_the_stores_before_it(tier, bounds):
    inst = _instance(STORE_ORDER, tier, bounds)
    memory = inst.exports.m
    for name in ("store_between", "load_between"):
        memory.uint8_view(0)[0:4] = bytes(4)
        with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
            getattr(inst.exports, name)(OOB)
        assert bytes(memoryview(memory.buffer)[0:4]) == b"\x01\0\0\0", name
    # the load of m[p + 4i] faults at the first i with p + 4i + 4 > 65536
    p = 65536 - 4 * 10
    with pytest.raises(wasabi.Trap):
        inst.exports.loop(p)
    assert bytes(memoryview(memory.buffer)[0:12]) == bytes(range(1, 12)) + b"\0"
    with pytest.raises(wasabi.Trap):
        inst.exports.global_between(OOB)
    assert inst.exports.g.value == 1
