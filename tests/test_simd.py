"""Fixed-width SIMD in the compiler (wasabi/compiler/emit/simd*.py), beyond the spec scripts:

- every 0xFD instruction has an emitter;
- v128 values cross to and from Python: calls with 128-bit ints, call_raw, globals, host
  functions, multi-value results, tables of v128 functions, blocks, select, locals;
- memory accesses trap at the bounds in both bounds modes, dropped loads included;
- literal operands LLVM would fold NaN-unsafely still give quiet NaNs;
- a differential run against wasmtime of every v128 -> v128 / v128 -> i32 operation on
  random and special lane values, in every tier (wasmtime-py cannot pass v128 values, so
  the test functions take and return the vectors as pairs of i64).
The spec scripts themselves run in tests/test_codegen_spec.py.
"""
import random
import struct

import pytest
import wasmtime

import wasabi
from wasabi.binary.opcodes import OPCODES, PREFIX_FD
from wasabi.binary.types import I32, V128, FuncType, GlobalType
from wasabi.compiler import compile_module
from wasabi.compiler.emit import DISPATCH_PREFIXED, simd
from wasabi.errors import Trap
from wasabi.options import Options
from wasabi.runtime import Global, HostFunction, Store, instantiate

MASK128 = (1 << 128) - 1
CONFIGURATIONS = [(tier, bounds) for tier in ("T0", "T1", "O2") for bounds in ("guard", "explicit")]


def run(wat, imports=None, tier="T1", bounds="guard", store=None):
    desc = wasabi.parse(wasmtime.wat2wasm(wat))
    store = store or Store()
    return instantiate(desc, compile_module(desc, Options(tier=tier, bounds=bounds)),
                       imports or {}, store=store).exports


def i32x4(*lanes):
    return sum((lane & 0xFFFFFFFF) << (32 * i) for i, lane in enumerate(lanes))


def f32x4(*values):
    return i32x4(*(struct.unpack("<I", struct.pack("<f", v))[0] for v in values))


def lanes32(v):
    return [(v >> (32 * i)) & 0xFFFFFFFF for i in range(4)]


def test_every_simd_instruction_has_an_emitter():
    simd_ops = [op for op in OPCODES if op.prefix == PREFIX_FD]
    assert len(simd_ops) == 236
    assert [op.name for op in simd_ops if op.key not in DISPATCH_PREFIXED] == []


# -- v128 through the API ---------------------------------------------------------------

API = """(module
  (import "env" "host" (func $host (param v128 i32) (result v128)))
  (import "env" "g" (global $g (mut v128)))
  (global (export "own") (mut v128) (v128.const i32x4 1 2 3 4))
  (type $vv (func (param v128) (result v128)))
  (table 2 funcref) (elem (i32.const 0) $neg $twice)
  (func $neg (type $vv) (i32x4.neg (local.get 0)))
  (func $twice (type $vv) (i32x4.add (local.get 0) (local.get 0)))
  (func (export "add") (param v128 v128) (result v128) (i32x4.add (local.get 0) (local.get 1)))
  (func (export "via_host") (param v128) (result v128) (call $host (local.get 0) (i32.const 7)))
  (func (export "read_g") (result v128) (global.get $g))
  (func (export "write_g") (param v128) (global.set $g (local.get 0)))
  (func (export "multi") (param v128) (result v128 i32 v128)
    (local.get 0) (i32.const 5) (call $neg (local.get 0)))
  (func (export "indirect") (param v128 i32) (result v128)
    (call_indirect (type $vv) (local.get 0) (local.get 1)))
  (func (export "pick") (param v128 v128 i32) (result v128)
    (select (local.get 0) (local.get 1) (local.get 2)))
  (func (export "blocks") (param v128 i32) (result v128)
    local.get 0
    block (param v128) (result v128)
      local.get 1
      br_if 0
      drop
      i32.const 9
      i32x4.splat
    end
    loop (param v128) (result v128)
      local.get 0
      i32x4.add
    end))"""


@pytest.fixture(scope="module", params=["T0", "O2"])
def api(request):
    store = Store()
    seen = []

    def host(v, i):
        seen.append((v, i))
        return (v + i) & MASK128

    g = Global(store, GlobalType(V128, True), (1 << 127) | 5)
    imports = {"env": {"host": HostFunction(FuncType((V128, I32), (V128,)), host, store), "g": g}}
    return run(API, imports, tier=request.param, store=store), g, seen


def test_v128_arguments_and_results_are_128_bit_ints(api):
    e, _, _ = api
    assert e["add"](i32x4(1, 2, 3, 4), i32x4(10, 20, 30, 0xFFFFFFFF)) == i32x4(11, 22, 33, 3)
    assert e["add"](-1, 1) == i32x4(0, -1, -1, -1)          # -1: all 128 bits set
    assert e["add"].call_raw([MASK128, 2]) == [i32x4(1, -1, -1, -1)]


def test_v128_arguments_must_be_integers_that_fit(api):
    e, _, _ = api
    with pytest.raises(TypeError):
        e["add"](1.5, 0)                                     # not truncated to 1
    with pytest.raises(TypeError):
        e["add"]("1", 0)
    with pytest.raises(OverflowError):
        e["add"](1 << 128, 0)
    with pytest.raises(OverflowError):
        e["add"](-(1 << 127) - 1, 0)
    assert e["add"](True, -(1 << 127)) == (1 << 127) | 1    # bool is an int


def test_v128_host_functions_and_globals(api):
    e, g, seen = api
    assert e["via_host"](MASK128 - 10) == MASK128 - 3
    assert seen[-1] == (MASK128 - 10, 7)
    assert e["read_g"]() == (1 << 127) | 5
    e["write_g"](0x1234 << 64)
    assert g.value == 0x1234 << 64 and g.raw == 0x1234 << 64
    assert e["own"].value == i32x4(1, 2, 3, 4)


def test_v128_multi_value_tables_select_blocks(api):
    e, _, _ = api
    v = i32x4(1, -2, 3, 0x7FFFFFFF)
    assert tuple(e["multi"](v)) == (v, 5, i32x4(-1, 2, -3, -0x7FFFFFFF))
    assert e["indirect"](v, 0) == i32x4(-1, 2, -3, -0x7FFFFFFF)
    assert e["indirect"](v, 1) == i32x4(2, -4, 6, -2)
    assert e["pick"](1, 2, 1) == 1 and e["pick"](1, 2, 0) == 2
    assert e["blocks"](v, 1) == i32x4(2, -4, 6, -2)
    assert e["blocks"](v, 0) == i32x4(10, 7, 12, 0x80000008)


# -- memory -----------------------------------------------------------------------------

MEMORY = """(module (memory 1)
  (func (export "load") (param i32) (result v128) (v128.load offset=4 (local.get 0)))
  (func (export "store") (param i32 v128) (v128.store (local.get 0) (local.get 1)))
  (func (export "load_lane") (param i32 v128) (result v128)
    (v128.load32_lane 3 (local.get 0) (local.get 1)))
  (func (export "store_lane") (param i32 v128) (v128.store16_lane 7 (local.get 0) (local.get 1)))
  (func (export "splat") (param i32) (result v128) (v128.load16_splat (local.get 0)))
  (func (export "extend") (param i32) (result v128) (v128.load8x8_s (local.get 0)))
  (func (export "zero") (param i32) (result v128) (v128.load64_zero (local.get 0)))
  (func (export "dead_load") (param i32) (drop (v128.load (local.get 0)))))"""


@pytest.mark.parametrize("tier,bounds", CONFIGURATIONS)
def test_v128_memory_access_and_bounds(tier, bounds):
    e = run(MEMORY, tier=tier, bounds=bounds)
    value = i32x4(0x11223344, -1, 0x01020304, 0x80706050)
    e["store"](65520, value)
    assert e["load"](65516) == value
    assert e["load_lane"](65532, 0) == i32x4(0, 0, 0, 0x80706050)
    e["store_lane"](0, 0xABCD << 112)
    assert e["splat"](0) == sum(0xABCD << (16 * i) for i in range(8))
    assert e["extend"](65520) == sum(((b if b < 128 else b - 256) & 0xFFFF) << (16 * i)
                                     for i, b in enumerate(bytes.fromhex("44332211ffffffff")))
    assert e["zero"](65520) == value & ((1 << 64) - 1)
    e["dead_load"](65520)
    for call in (lambda: e["load"](65517), lambda: e["store"](65521, 0),
                 lambda: e["load_lane"](65533, 0), lambda: e["store_lane"](65535, 0),
                 lambda: e["splat"](0xFFFFFFFF), lambda: e["extend"](65529),
                 lambda: e["zero"](65529), lambda: e["dead_load"](65521)):
        with pytest.raises(Trap, match="out of bounds memory access"):
            call()


def test_unreachable_simd_code_is_skipped_with_its_immediates():
    wat = """(module (memory 1)
      (func (export "f") (param v128) (result v128)
        (block (result v128)
          (br 0 (local.get 0))
          (v128.store64_lane align=1 1 (i32.const 8) (local.get 0))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 (v128.const i64x2 -1 -1)
            (v128.load32_lane offset=4 2 (i32.const 0) (v128.const i32x4 1 2 3 4)))
          (i16x8.replace_lane 7 (i32.const 5)))))"""
    assert run(wat)["f"](12345) == 12345


# -- NaN-unsafe folds of literal operands ------------------------------------------------

SIGNALLING = 0x7FA00000


def _quiet(bits):
    return (bits & 0x7F800000) == 0x7F800000 and bits & 0x00400000


FOLDS = """(module
  (func (export "add_neg_zero") (param v128) (result v128)
    (f32x4.add (local.get 0) (v128.const f32x4 -0 -0 -0 -0)))
  (func (export "mul_one") (param v128) (result v128)
    (f32x4.mul (v128.const f32x4 1 1 1 1) (local.get 0)))
  (func (export "sub_zero_splat") (param v128) (result v128)
    (f32x4.sub (local.get 0) (f32x4.splat (f32.const 0))))
  (func (export "round_trip") (param v128) (result v128)
    (f32x4.demote_f64x2_zero (f64x2.promote_low_f32x4 (local.get 0)))))"""


@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
def test_literal_identities_still_quiet_signalling_nans(tier):
    e = run(FOLDS, tier=tier)
    v = i32x4(SIGNALLING, SIGNALLING, SIGNALLING, SIGNALLING)
    for name in ("add_neg_zero", "mul_one", "sub_zero_splat"):
        assert all(_quiet(lane) for lane in lanes32(e[name](v))), name
    low = lanes32(e["round_trip"](v))
    assert _quiet(low[0]) and _quiet(low[1]) and low[2:] == [0, 0]


def test_generic_swizzle_matches_the_x86_one(monkeypatch):
    wat = """(module (func (export "f") (param v128 v128) (result v128)
               (i8x16.swizzle (local.get 0) (local.get 1))))"""
    table = bytes(range(100, 116))
    indices = bytes([0, 15, 16, 255, 128, 3, 17, 7, 8, 0x70, 0x8F, 1, 2, 14, 31, 5])
    expected = bytes(table[i] if i < 16 else 0 for i in indices)
    args = (int.from_bytes(table, "little"), int.from_bytes(indices, "little"))
    assert run(wat)["f"](*args) == int.from_bytes(expected, "little")
    monkeypatch.setattr(simd, "X86", False)
    for tier in ("T0", "O2"):
        assert run(wat, tier=tier)["f"](*args) == int.from_bytes(expected, "little")


# -- differential against wasmtime ------------------------------------------------------

def _vector_ops():
    """(name, kind) for every 0xFD instruction without immediates that maps vectors to a
    vector or an i32: kind is the operand signature."""
    out = []
    for op in OPCODES:
        if op.prefix != PREFIX_FD or op.imm != "none" or op.special:
            continue
        sig = "".join("v" if t == V128 else "i" for t in op.params) + ":" + \
            "".join("v" if t == V128 else "i" for t in op.results)
        if sig in ("v:v", "vv:v", "vvv:v", "vi:v", "v:i"):
            out.append((op.name, sig))
    return out


VECTOR_OPS = _vector_ops()


def _function(index, name, sig):
    params, result = sig.split(":")
    vec_params = " ".join("i64 i64" for _ in params if _ == "v")
    extra = " i32" if "i" in params else ""
    operands = "".join(f" (i64x2.replace_lane 1 (i64x2.splat (local.get {2 * i})) "
                       f"(local.get {2 * i + 1}))" for i in range(params.count("v")))
    if "i" in params:
        operands += f" (local.get {2 * params.count('v')})"
    body = f"({name}{operands})"
    if result == "i":
        return f'(func (export "f{index}") (param {vec_params}{extra}) (result i32) {body})'
    return (f'(func (export "f{index}") (param {vec_params}{extra}) (result i64 i64)'
            f" (local $r v128) (local.set $r {body}) (i64x2.extract_lane 0 (local.get $r))"
            f" (i64x2.extract_lane 1 (local.get $r)))")


def _differential_module():
    funcs = "\n".join(_function(i, name, sig) for i, (name, sig) in enumerate(VECTOR_OPS))
    return wasmtime.wat2wasm(f"(module {funcs})")


SPECIAL_LANES32 = [0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x7FC00000, 0xFFC00000, 0x7FA00001,
                   0x7F800000, 0xFF800000, 0x3F800000, 0xBF800000, 0x4F000000, 0xCF000000,
                   0x00000001, 0x80000001, 0x3F000000, 0x4EFFFFFF, 0x4F800000, 0x00008000]
SPECIAL_LANES64 = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000001,
                   0x7FF0000000000000, 0x3FF0000000000000, 0x8000000000000000,
                   0x41E0000000000000, 0xC1E0000000000000, 0x41F0000000000000,
                   0x3FE0000000000000, 0x3FF8000000000000, 0x4004000000000000]


def _random_half(rng):
    choice = rng.random()
    if choice < 0.35:
        return rng.getrandbits(64)
    if choice < 0.55:
        return rng.choice(SPECIAL_LANES64)
    if choice < 0.75:     # small signed lanes of random width
        width = rng.choice((8, 16, 32))
        return sum((rng.randint(-3, 3) & ((1 << width) - 1)) << (width * i)
                   for i in range(64 // width))
    return rng.choice(SPECIAL_LANES32) | (rng.choice(SPECIAL_LANES32) << 32)


def _float_lanes(name):
    """Lane width of a float result (NaN lanes compare as 'both NaN'), or None."""
    shape, _, base = name.partition(".")
    if shape in ("f32x4", "f64x2") and base not in simd.FCMP:
        return 32 if shape == "f32x4" else 64
    return None


def _is_nan(bits, width):
    exponent = {32: 0x7F800000, 64: 0x7FF0000000000000}[width]
    mantissa = (1 << (width - 1)) - 1 - exponent
    return (bits & exponent) == exponent and bits & mantissa


def _same(name, got, want):
    """Equal bits; for float results NaN lanes only need to be NaN on both sides (the
    spec scripts check the canonical/arithmetic NaN rules exactly)."""
    if got == want:
        return True
    width = _float_lanes(name)
    if width is None:
        return False
    mask = (1 << width) - 1
    for i in range(128 // width):
        g, w = (got >> (width * i)) & mask, (want >> (width * i)) & mask
        if g != w and not (_is_nan(g, width) and _is_nan(w, width)):
            return False
    return True


def _signed64(x):
    return x - (1 << 64) if x >> 63 else x


def _joined(sig, out):
    """The i32 result, or the two i64 halves as one 128-bit int."""
    if sig.endswith("i"):
        return out
    return (out[0] & ((1 << 64) - 1)) | ((out[1] & ((1 << 64) - 1)) << 64)


SHIFT_COUNTS = (0, 1, 7, 8, 15, 16, 31, 32, 63, 64, 65, -1, 0x7FFFFFFF)


@pytest.fixture(scope="module")
def reference():
    """The module and [(function index, op name, signature, args, wasmtime's result)]."""
    wasm = _differential_module()
    store = wasmtime.Store()
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)
    cases = []
    rng = random.Random(20240)
    for i, (name, sig) in enumerate(VECTOR_OPS):
        params = sig.split(":")[0]
        for _ in range(24):
            args = [_signed64(_random_half(rng)) for _ in range(2 * params.count("v"))]
            if "i" in params:
                args.append(rng.choice(SHIFT_COUNTS))
            cases.append((i, name, sig, args, _joined(sig, exports[f"f{i}"](store, *args))))
    return wasm, cases


@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
def test_every_vector_operation_matches_wasmtime(reference, tier):
    wasm, cases = reference
    desc = wasabi.parse(wasm)
    exports = instantiate(desc, compile_module(desc, Options(tier=tier)), {}).exports
    mismatches = []
    for i, name, sig, args, want in cases:
        got = _joined(sig, exports[f"f{i}"](*args))
        if not _same(name, got, want):
            mismatches.append(f"{name}{tuple(hex(a) for a in args)}: {got:#x}, wasmtime {want:#x}")
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:20])


def test_the_differential_run_covers_the_lane_arithmetic():
    names = {name for name, _ in VECTOR_OPS}
    assert len(names) > 180
    assert {"i16x8.q15mulr_sat_s", "i32x4.dot_i16x8_s", "f64x2.promote_low_f32x4",
            "i8x16.narrow_i16x8_u", "i64x2.extmul_high_i32x4_u", "f32x4.pmin",
            "i8x16.swizzle", "i64x2.shr_s", "i8x16.bitmask", "v128.bitselect"} <= names
