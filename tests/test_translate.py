"""wasm -> LLVM IR: every instruction family translates to IR that LLVM verifies (SIMD in test_simd.py)."""
import llvmlite.binding as llvm
import pytest
import wasmtime

import wasabi
from wasabi.binary.opcodes import OPCODES
from wasabi.compiler import emit
from wasabi.compiler.irtypes import f32_const, f64_const, i32_const
from wasabi.compiler.module_ir import translate_module
from wasabi.options import CodeOptions
from wasabi.compiler.pipelines import initialize

FAMILIES = {
    "control": """
      (func (export "f") (param i32) (result i32)
        block $out (result i32)
          local.get 0
          loop $l (param i32) (result i32)
            local.get 0
            i32.eqz
            if (param i32) (result i32)
              i32.const 1
              br $out
            else
              i32.const 1
              i32.sub
            end
            local.get 0
            br_if $l
            local.get 0
            br_table $l $out $l
          end
        end)
      (func (param i32) (result i32 i64)
        (block (result i32 i64) (local.get 0) (i64.const 1) (br_if 0 (local.get 0)) (return))
        (unreachable) (nop))
      (func (param i32) (if (local.get 0) (then (return))) (br_table 0 0 (local.get 0)))
      (func (result f32) (block (result f32) (f32.const 1) (br 0)) (unreachable) (drop))""",
    "numeric": """
      (func (param i32 i64 f32 f64) (result i32)
        (i32.add (i32.clz (local.get 0)) (i32.wrap_i64 (i64.rotr (local.get 1) (i64.const 65))))
        (i32.trunc_f32_u (local.get 2)) (i32.div_s) (i32.trunc_sat_f64_s (local.get 3)) (i32.rem_u)
        (i32.extend8_s) (f64.nearest (local.get 3)) (f64.const -nan:0x4000000000000) (f64.max)
        (f32.demote_f64) (f32.copysign (local.get 2)) (i32.reinterpret_f32) (i32.shl))""",
    "memory": """
      (memory 1 2) (data "abc") (data (i32.const 0) "x")
      (func (param i32) (result i64)
        (i64.store32 offset=7 (local.get 0) (i64.load16_s offset=4294967295 (i32.const 0)))
        (memory.fill (i32.const 0) (i32.const 1) (memory.size))
        (memory.copy (i32.const 1) (i32.const 2) (i32.const 3))
        (memory.init 0 (i32.const 1) (i32.const 2) (i32.const 0)) (data.drop 0)
        (drop (memory.grow (i32.const 1)))
        (f64.store (i32.const 8) (f64.load (local.get 0)))
        (i64.load8_u (local.get 0)))""",
    "variables": """
      (global $g (mut f64) (f64.const 1)) (global $c i64 (i64.const 2))
      (func (param i32) (result f64) (local f32 externref funcref)
        (local.set 1 (f32.const 2)) (drop (local.tee 2 (ref.null extern)))
        (global.set $g (f64.add (global.get $g) (f64.promote_f32 (local.get 1))))
        (drop (select (global.get $c) (i64.const 3) (local.get 0)))
        (drop (select (result funcref) (local.get 3) (ref.null func) (local.get 0)))
        (global.get $g))""",
    "calls_and_tables": """
      (type $t (func (param i32) (result i32)))
      (table $a 2 funcref) (table $b 1 externref)
      (elem (table $a) (i32.const 0) func $f) (elem $p funcref (ref.func $f)) (elem declare func $g)
      (func $f (type $t) (call $g (local.get 0)))
      (func $g (param i32) (result i32) (call_indirect $a (type $t) (local.get 0) (local.get 0)))
      (func (param i32 externref) (result i32)
        (table.set $b (i32.const 0) (local.get 1))
        (drop (table.get $a (local.get 0)))
        (drop (table.grow $a (ref.func $g) (i32.const 1)))
        (table.fill $b (i32.const 0) (ref.null extern) (i32.const 1))
        (table.copy $a $a (i32.const 0) (i32.const 1) (i32.const 1))
        (table.init $a $p (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop $p)
        (i32.add (table.size $b) (ref.is_null (local.get 1))))""",
}


def desc_of(body, validate=True):
    data = wasmtime.wat2wasm(f"(module {body})")
    if validate:        # wat2wasm does not validate; the translator expects valid code
        wasmtime.Module.validate(wasmtime.Engine(), data)
    return wasabi.decode_module(data)


def test_every_instruction_has_an_emitter():
    assert emit.MISSING == []
    names = {op.name for op in OPCODES}
    covered = {op.name for op, _ in filter(None, emit.DISPATCH)}
    covered |= {op.name for op, _ in emit.DISPATCH_PREFIXED.values()}
    assert names <= covered


@pytest.mark.parametrize("bounds", ["guard", "explicit"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_translates_to_valid_ir(family, bounds):
    initialize()
    ir = translate_module(desc_of(FAMILIES[family]), CodeOptions(bounds=bounds))
    module = llvm.parse_assembly(ir.text)
    module.verify()
    assert ir.instructions > 0
    assert "@__wasabi_code_begin" in ir.text.split("define", 2)[1]   # first function


def test_explicit_bounds_mode_checks_and_guard_mode_does_not():
    body = FAMILIES["memory"]
    assert "trap5" in translate_module(desc_of(body), CodeOptions(bounds="explicit")).text
    assert "trap5" not in translate_module(desc_of(body), CodeOptions(bounds="guard")).text


def test_constants_are_exact_bit_patterns():
    assert f32_const(0x7FA00000) == "0x7FF4000000000000"      # signalling NaN kept
    assert f32_const(0x80000000) == "0x8000000000000000"      # -0
    assert f32_const(0x00000001) == "0x36A0000000000000"      # smallest subnormal
    assert f64_const(0xFFF8000000000001) == "0xFFF8000000000001"
    assert i32_const(0xFFFFFFFF) == "-1"


def test_dead_code_after_branches_is_skipped():
    ir = translate_module(desc_of("""(func (result i32) (return (i32.const 1))
        (drop (f32.add (f32.const 0) (f32.const 1))) (block (loop (br 0))) (i32.const 2))"""))
    assert "fadd" not in ir.text and "L" not in ir.text.split("body:")[1].split("trap")[0]


def test_stack_check_in_every_prologue():
    ir = translate_module(desc_of("(func) (func (call 0))"))
    assert ir.text.count("@llvm.read_register.i64(metadata !0)") == 2


def test_code_padding_moves_the_code_and_traps_are_still_ours(monkeypatch):
    """bench/pgo_weights.py measures builds at several code addresses by padding the
    start of the code (module_ir.CODE_PADDING): the padding is inside the marked code
    range, so a trap in the moved code is still a wasm trap."""
    from wasabi.compiler import module_ir
    wat = """(module (memory 1)
        (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"""
    monkeypatch.setattr(module_ir, "CODE_PADDING", 48)
    assert '".skip 48"' in translate_module(desc_of("(func)")).text
    load = wasabi.instantiate(wasabi.compile(wasabi.wat2wasm(wat),
                                             wasabi.Options(mode="eager"))).exports.load
    assert load(8) == 0
    with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
        load(65536)
