"""The single-pass baseline compiler (wasabi/_native/baseline*.c), PGO's first tier:
its code gives LLVM's results, traps and memory, counts what LLVM T0's baseline
counts, and hands over to LLVM what it does not compile.

Run under Mode.PGO with nothing ever hot (tiered.HOT huge), so that every function
stays in the baseline; the reference is EAGER at T1 (LLVM). The spec suite runs in
PGO mode too (tests/test_codegen_spec.py -k pgo), and the executing fuzzer has a
`baseline/guard` configuration and a `baseline-cached/guard` one, whose code keeps locals
in registers as hot functions' does (tests/fuzzexec)."""
import pytest

import wasabi
from wasabi import Mode, Options, _ext
from wasabi.compiler import modes, profile
from wasabi.compiler.modes import tiered

from baseline_programs import program

pytestmark = pytest.mark.skipif(not _ext.baseline_supported(),
                                reason="the baseline compiler needs x86-64 with SSE4.1 and BMI")


@pytest.fixture(autouse=True)
def never_hot(monkeypatch):
    monkeypatch.setattr(tiered, "HOT", 1 << 62)


def baseline_module(wat):
    module = wasabi.compile(wat, Options(mode=Mode.PGO))
    return module


def outcome(module, name, *args, imports=None):
    inst = wasabi.instantiate(module, imports or {})
    try:
        result = getattr(inst.exports, name)(*args)
    except wasabi.Trap as trap:
        result = f"trap: {trap}"
    memory = getattr(inst.exports, "mem", None)
    return result, (bytes(memory.read(0, 65536)) if memory is not None else None)


def same_as_llvm(wat, name, *args):
    """The baseline's outcome (result or trap, then memory), asserted equal to LLVM's."""
    module = baseline_module(wat)
    got = outcome(module, name, *args)
    assert module.stats()["tiers"]["baseline"] >= 1, "not compiled by the baseline"
    expected = outcome(wasabi.compile(wat, Options()), name, *args)
    assert got[0] == expected[0]
    assert got[1] == expected[1], "memory differs"
    return got[0]


# ---- random programs (baseline_programs.py) ----

@pytest.mark.parametrize("first", range(0, 240, 60))
def test_random_programs_give_llvms_results_traps_and_memory(first):
    for seed in range(first, first + 60):
        wat, args = program(seed)
        same_as_llvm(wat, "f", *args)


@pytest.mark.parametrize("first", range(0, 240, 60))
def test_random_programs_with_cached_locals(first, monkeypatch):
    """The code hot functions run in the baseline: no branch counters (as with
    profile.BRANCHES off), the most used integer locals in registers (baseline.h)."""
    monkeypatch.setattr(profile, "BRANCHES", False)
    assert tiered.CACHE_LOCALS
    for seed in range(first, first + 60):
        wat, args = program(seed)
        same_as_llvm(wat, "f", *args)


@pytest.mark.slow
@pytest.mark.parametrize("first", range(10_000, 14_000, 500))
def test_random_programs_long(first):
    for seed in range(first, first + 500):
        wat, args = program(seed, length=80)
        same_as_llvm(wat, "f", *args)


# ---- directed ----

def test_division_with_every_register_taken():
    # 13 values live, so rax and rdx both hold values when the division needs them
    # (the value evicted from rdx was once moved into rax, which the dividend then
    # overwrote)
    loads = " ".join(["local.get 0 local.get 1"] * 6)
    adds = " ".join(["i64.add"] * 12)
    for op in ("div_s", "div_u", "rem_s", "rem_u"):
        wat = f"""(module (func (export "f") (param i64 i64) (result i64)
            {loads} local.get 0 local.get 1 i64.{op} {adds}))"""
        assert same_as_llvm(wat, "f", 100, 7) == 6 * 107 + {"div_s": 14, "div_u": 14,
                                                            "rem_s": 2, "rem_u": 2}[op]


@pytest.mark.parametrize("bits", [32, 64])
def test_division_traps_and_edges(bits):
    t = f"i{bits}"
    low = -(1 << (bits - 1))
    wat = f"""(module
      (func (export "div_s") (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.div_s)
      (func (export "rem_s") (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.rem_s)
      (func (export "div_u") (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.div_u)
      (func (export "rem_u") (param {t} {t}) (result {t}) local.get 0 local.get 1 {t}.rem_u))"""
    assert same_as_llvm(wat, "div_s", low, -1) == "trap: integer overflow"
    assert same_as_llvm(wat, "rem_s", low, -1) == 0
    assert same_as_llvm(wat, "div_s", 7, 0) == "trap: integer divide by zero"
    assert same_as_llvm(wat, "rem_u", 7, 0) == "trap: integer divide by zero"
    assert same_as_llvm(wat, "div_s", -7, 2) == -3
    assert same_as_llvm(wat, "rem_s", -7, 2) == -1
    assert same_as_llvm(wat, "div_u", -1, 3) == ((1 << bits) - 1) // 3


def test_memory_bounds_at_the_end_and_large_offsets():
    wat = """(module (memory (export "mem") 1)
      (func (export "load") (param i32) (result i32) local.get 0 i32.load)
      (func (export "far") (param i32) (result i32) local.get 0 i32.load offset=4294967295)
      (func (export "store") (param i32 i64) local.get 0 local.get 1 i64.store offset=3)
      (func (export "const") (result i32) i32.const 65535 i32.load8_u offset=0))"""
    assert same_as_llvm(wat, "load", 65532) == 0
    assert same_as_llvm(wat, "load", 65533) == "trap: out of bounds memory access"
    assert same_as_llvm(wat, "load", -1) == "trap: out of bounds memory access"
    assert same_as_llvm(wat, "far", 0) == "trap: out of bounds memory access"
    assert same_as_llvm(wat, "store", 65525, -1) is None
    assert same_as_llvm(wat, "store", 65526, -1) == "trap: out of bounds memory access"
    assert same_as_llvm(wat, "const") == 0


def test_calls_with_stack_arguments_both_ways():
    # 9 integer and 10 float parameters: some of each go on the stack, both when the
    # baseline calls and when it is called (from the entry, and from LLVM code)
    params = " ".join(["i32", "f64"] * 9 + ["f32", "i64"])
    body = " ".join(f"local.get {i} {conv} f64.add" for i, conv in
                    [(i, "f64.convert_i32_s" if i % 2 == 0 else "") for i in range(18)])
    wat = f"""(module
      (func $many (export "many") (param {params}) (result f64)
        f64.const 0 {body} local.get 18 f64.promote_f32 f64.add
        local.get 19 f64.convert_i64_s f64.add)
      (func (export "f") (result f64)
        {" ".join(f"i32.const {i} f64.const {i}.5" for i in range(9))}
        f32.const 0.25 i64.const 1000 call $many))"""
    expected = sum(i + i + 0.5 for i in range(9)) + 0.25 + 1000
    assert same_as_llvm(wat, "f") == expected
    args = [v for i in range(9) for v in (i, i + 0.5)] + [0.25, 1000]
    assert same_as_llvm(wat, "many", *args) == expected


def test_call_indirect_traps_and_type_checks():
    wat = """(module (type $i (func (result i32))) (type $l (func (result i64)))
      (table 3 funcref) (elem (i32.const 0) $one $wide)
      (func $one (result i32) i32.const 1)
      (func $wide (result i64) i64.const 2)
      (func (export "call") (param i32) (result i32) local.get 0 call_indirect (type $i)))"""
    assert same_as_llvm(wat, "call", 0) == 1
    assert same_as_llvm(wat, "call", 1) == "trap: indirect call type mismatch"
    assert same_as_llvm(wat, "call", 2) == "trap: uninitialized element 2"
    assert same_as_llvm(wat, "call", 3) == "trap: undefined element"


def test_float_rules_min_max_nearest_and_truncation_traps():
    wat = """(module
      (func (export "min") (param f64 f64) (result f64) local.get 0 local.get 1 f64.min)
      (func (export "max") (param f32 f32) (result f32) local.get 0 local.get 1 f32.max)
      (func (export "nearest") (param f64) (result f64) local.get 0 f64.nearest)
      (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_u)
      (func (export "sat") (param f32) (result i64) local.get 0 i64.trunc_sat_f32_s)
      (func (export "cvt") (param i64) (result f32) local.get 0 f32.convert_i64_u)
      (func (export "sign") (param f64 f64) (result f64) local.get 0 local.get 1 f64.copysign))"""
    assert str(same_as_llvm(wat, "min", 0.0, -0.0)) == "-0.0"
    assert str(same_as_llvm(wat, "max", -0.0, 0.0)) == "0.0"
    assert same_as_llvm(wat, "nearest", 2.5) == 2.0
    assert same_as_llvm(wat, "nearest", -3.5) == -4.0
    assert same_as_llvm(wat, "trunc", -0.9) == 0
    assert same_as_llvm(wat, "trunc", -1.0) == "trap: integer overflow"
    assert same_as_llvm(wat, "trunc", float("nan")) == "trap: invalid conversion to integer"
    assert same_as_llvm(wat, "trunc", 4294967295.5) == -1          # (u32 max, as i32)
    assert same_as_llvm(wat, "sat", float("inf")) == (1 << 63) - 1
    assert same_as_llvm(wat, "sat", float("nan")) == 0
    assert same_as_llvm(wat, "cvt", -1) == float(2**64)
    assert str(same_as_llvm(wat, "sign", 3.0, -0.0)) == "-3.0"


def test_deep_recursion_traps_and_host_exceptions_pass_through():
    wat = """(module (import "env" "boom" (func $boom))
      (func $down (export "down") (param i32) (result i32)
        local.get 0 i32.eqz if (result i32) call $boom i32.const 0
        else local.get 0 i32.const 1 i32.sub call $down i32.const 1 i32.add end))"""

    def boom():
        raise KeyError("from the host")

    module = baseline_module(wat)
    inst = wasabi.instantiate(module, {"env": {"boom": boom}})
    with pytest.raises(wasabi.Trap, match="call stack exhausted"):
        inst.exports.down(10_000_000)
    with pytest.raises(KeyError, match="from the host"):
        inst.exports.down(1000)
    assert module.stats()["tiers"]["baseline"] == 1


def test_what_it_does_not_compile_runs_in_llvm_t0():
    wat = """(module
      (func (export "simd") (result i32) v128.const i32x4 1 2 3 4 i32x4.extract_lane 2)
      (func (export "pair") (result i32 i64) i32.const 1 i64.const 2)
      (func (export "plain") (result i32) call 0))"""
    module = baseline_module(wat)
    inst = wasabi.instantiate(module)
    assert inst.exports.plain() == 3 and inst.exports.pair() == (1, 2)
    stats = module.stats()
    assert stats["tiers"] == {"baseline": 1, "T0": 2, "T1": 0, "O2": 0}
    assert stats["single_pass_refused"] == 2


def test_it_counts_what_llvm_t0_counts(monkeypatch):
    # calls, loop iterations and every branch site (br_if, if, br_table), way by way:
    # the same counts as LLVM's counting baseline for the same run
    wat = """(module
      (func $collatz (param i64) (result i32) (local i32)
        block loop
          local.get 0 i64.const 1 i64.eq br_if 1
          local.get 0 i64.const 1 i64.and i64.eqz
          if (result i64) local.get 0 i64.const 1 i64.shr_u
          else local.get 0 i64.const 3 i64.mul i64.const 1 i64.add end
          local.set 0 local.get 1 i32.const 1 i32.add local.set 1 br 0
        end end local.get 1)
      (func (export "f") (param i32) (result i32) (local i32 i32)
        loop
          block block block
            local.get 1 i32.const 3 i32.rem_u br_table 0 1 2
          end local.get 2 i32.const 1 i32.add local.set 2
          end local.get 2 i32.const 2 i32.add local.set 2
          end
          local.get 2 local.get 1 i64.extend_i32_u i64.const 7 i64.add call $collatz i32.add
          local.set 2
          local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_u br_if 0
        end local.get 2))"""
    counts = {}
    expected = wasabi.instantiate(wasabi.compile(wat)).exports.f(50)
    for single_pass in (True, False):
        monkeypatch.setattr(tiered, "SINGLE_PASS", single_pass)
        module = modes.compile(wasabi.parse(wasabi.wat2wasm(wat)), Options(mode=Mode.PGO))
        assert module.instantiate().exports.f(50) == expected
        code = module.code
        assert code.stats["tiers"]["baseline" if single_pass else "T0"] == 2
        counts[single_pass] = (code.profile.counts.tolist(),
                               {k: v.tolist() for k, v in code.profile.sites().items()})
    assert counts[True] == counts[False]
    sites = counts[True][1]
    assert len(sites) == 4                              # 2 br_if, 1 if, 1 br_table
    assert sorted(len(ways) for ways in sites.values()) == [2, 2, 2, 3]   # (2 cases + default)
    assert counts[True][0][1] == [1, 50]                # f: one call, 50 iterations
    assert counts[True][0][0][0] == 50                  # collatz: 50 calls


def test_no_branch_counting_when_profiles_do_not_use_it(monkeypatch):
    monkeypatch.setattr(profile, "BRANCHES", False)
    module = baseline_module("""(module (func (export "f") (param i32) (result i32)
        local.get 0 if (result i32) i32.const 1 else i32.const 2 end))""")
    inst = wasabi.instantiate(module)
    assert inst.exports.f(0) == 2 and inst.exports.f(5) == 1
    assert module.stats()["branch_sites"] == 0 and module.stats()["tiers"]["baseline"] == 1


def test_a_forked_child_compiles_into_chunks_of_its_own():
    # the code arena's chunks are shared mappings: a child adding code where its
    # parent adds would overwrite the parent's functions
    import os
    module = baseline_module("""(module (func (export "a") (result i32) i32.const 1)
        (func (export "b") (result i32) i32.const 2) (func (export "c") (result i32) i32.const 3))""")
    inst = wasabi.instantiate(module)
    assert inst.exports.a() == 1
    go, ready = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # the child: b, after the parent's c
        os.read(go, 1)
        os._exit(0 if inst.exports.b() == 2 else 3)
    assert inst.exports.c() == 3                    # first after the fork: the same offset
    os.write(ready, b"x")
    _, status = os.waitpid(pid, 0)
    os.close(go)
    os.close(ready)
    assert status == 0
    assert inst.exports.c() == 3 and inst.exports.a() == 1


def test_a_function_with_more_locals_than_its_frame_takes_goes_to_llvm():
    # (i32) -> i32 with 5,000 i32 locals in one group: local 5000 = local 0 + 1, doubled
    body = (b"\x01\x88\x27\x7f"                        # one group: 5000 x i32
            b"\x20\x00\x41\x01\x6a\x22\x88\x27\x20\x88\x27\x6a\x0b")
    code = bytes([len(body)]) + body
    wasm = (b"\0asm\x01\0\0\0"
            b"\x01\x06\x01\x60\x01\x7f\x01\x7f"          # type (i32) -> i32
            b"\x03\x02\x01\x00"                              # one function
            b"\x07\x05\x01\x01f\x00\x00"                    # export "f"
            + b"\x0a" + bytes([len(code) + 1]) + b"\x01" + code)
    module = baseline_module(wasm)
    assert wasabi.instantiate(module).exports.f(20) == 42
    stats = module.stats()
    assert stats["tiers"]["T0"] == 1 and stats["single_pass_refused"] == 1
