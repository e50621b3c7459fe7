"""wat2wasm / wasm2wat behaviour: abbreviations, index spaces, errors, names, robustness."""
import random

import pytest
import wasmtime

import wasabi
from wasabi.binary import opcodes
from wasabi.errors import CompileError
from wasabi.text import WatSyntaxError, wasm2wat, wat2wasm
from wasabi.text.script import script_modules

import spec_harness
from conftest import SPEC_DIR
from test_text_spec import module_summary


def summary(data):
    return module_summary(wasabi.decode_module(bytes(data)))


def same_module(text):
    """Our binary of `text` is equivalent to wasmtime's (which adds names; encodings may differ)."""
    assert summary(wat2wasm(text)) == summary(wasmtime.wat2wasm(text))


# --- every instruction, against wasmtime's assembler ----------------------------------

_IMMEDIATE_TEXT = {
    "none": "", "label": " 0", "br_table": " 0 1 0", "func": " 1", "local": " 1",
    "global": " 0", "table": " 1", "two_tables": " 1 0", "elem_and_table": " 1 0",
    "elem": " 0", "data": " 0", "data_and_zero": " 0", "zero_byte": "",
    "two_zero_bytes": "", "memarg": " offset=7 align=1", "memarg_lane": " offset=3 1",
    "lane": " 1", "i32": " -77", "i64": " 0x7fff_ffff_ffff", "f32": " -0x1.8p3",
    "f64": " 1e-300", "v128": " i16x8 1 -2 3 4 5 6 7 0xffff",
    "shuffle": " 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31", "reftype": " extern",
    "select_types": " (result i64)", "call_indirect": " 1 (type 0)",
}


def instruction_text(op):
    if op.imm == "blocktype":
        return {"block": "block (result i32) br 0 end", "loop": "loop (param i32) end",
                "if": "if (result f64) f64.const 1 else f64.const 2 end"}[op.name]
    if op.name in ("else", "end"):
        return "block end"
    if op.name == "select" and op.imm == "select_types":
        return "select (result i64)"
    return op.name + _IMMEDIATE_TEXT[op.imm]


@pytest.mark.parametrize("op", opcodes.OPCODES, ids=lambda op: f"{op.name}-{op.imm}")
def test_every_instruction_matches_wasmtime(op):
    context = ("(type (func (param i32) (result i32))) (memory 1) (table 2 funcref) "
               "(table 2 funcref) (global (mut i32) (i32.const 0)) (elem func 0) (data \"\")")
    text = f"(module {context} (func (param i32 i64) {instruction_text(op)}))"
    same_module(text)
    folded = f"(module {context} (func (param i32 i64) (block {instruction_text(op)})))"
    same_module(folded)


# --- module structure ---------------------------------------------------------------

def test_implicit_types_follow_explicit_ones_in_text_order():
    text = """(module
      (func (param i64))
      (type $t (func (param i32)))
      (func (param i32))                                   ;; reuses $t
      (func (result f32) (block (param i32) (result i32 i32) unreachable) unreachable)
      (func (call_indirect (param f64) (i32.const 0)))
      (table 1 funcref))"""
    desc = wasabi.decode_module(wat2wasm(text))
    names = [(t.params, t.results) for t in desc.types]
    assert names == [((0x7F,), ()), ((0x7E,), ()), ((), (0x7D,)), ((0x7F,), (0x7F, 0x7F)),
                     ((), ()), ((0x7C,), ())]
    assert [f.type_index for f in desc.funcs] == [1, 0, 2, 4]


def test_inline_imports_exports_and_index_order():
    text = """(module
      (func $a (import "m" "a") (param i32))
      (global $g (export "g") (import "m" "g") i32)
      (func $b (export "b") (export "b2") (result i32) (call $a (global.get $g)) (i32.const 1))
      (memory (export "mem") (data "hello" "world"))
      (table $t (export "t") funcref (elem $b $a)))"""
    desc = wasabi.decode_module(wat2wasm(text))
    assert [(i.module, i.name, i.kind) for i in desc.imports] == [("m", "a", 0), ("m", "g", 3)]
    assert [(e.name, e.kind, e.index) for e in desc.exports] == [
        ("g", 3, 0), ("b", 0, 1), ("b2", 0, 1), ("mem", 2, 0), ("t", 1, 0)]
    assert desc.memories[0].limits.min == desc.memories[0].limits.max == 1
    assert desc.datas[0].data == b"helloworld"
    assert desc.tables[0].limits.min == desc.tables[0].limits.max == 2
    assert [e.init[0].instrs for e in desc.elems] == [((0xD2, 1),)]
    same_module(text)


def test_segments_forms():
    text = """(module
      (import "m" "g" (global $gf funcref))
      (table $t 4 funcref) (table $u 4 externref) (memory $m 1)
      (func $f)
      (elem $p func $f)
      (elem $d declare funcref (ref.func $f))
      (elem (table $u) (offset (i32.const 1)) externref (ref.null extern) (item ref.null extern))
      (elem (i32.const 0) $f)
      (elem (table $t) (i32.const 2) funcref (item (global.get $gf)))
      (data $x "passive")
      (data (memory $m) (offset i32.const 4) "a" "b")
      (func (table.init $t $p (i32.const 0) (i32.const 0) (i32.const 1)) (elem.drop $d)
            (memory.init $x (i32.const 0) (i32.const 0) (i32.const 1)) (data.drop $x)))"""
    same_module(text)
    desc = wasabi.decode_module(wat2wasm(text))
    assert [e.mode for e in desc.elems] == ["passive", "declarative", "active", "active", "active"]
    assert desc.data_count == 2
    wasabi.validate(wat2wasm(text))


def test_folded_and_flat_are_the_same_code():
    folded = """(module (func (param $x i32) (result i32)
      (if (result i32) (local.get $x)
        (then (block $b (result i32) (br_if $b (i32.const 1) (local.get $x))))
        (else (loop $l (result i32) (i32.const 2))))))"""
    flat = """(module (func (param $x i32) (result i32)
      local.get $x
      if (result i32)
        block $b (result i32) i32.const 1 local.get $x br_if $b end $b
      else
        loop $l (result i32) i32.const 2 end
      end))"""
    assert wat2wasm(folded) == wat2wasm(flat)


def test_labels_shadow_and_count_depth():
    text = "(module (func block $a block $a br $a end br $a end))"
    desc = wasabi.decode_module(wat2wasm(text))
    body = desc.data[desc.funcs[0].body_start:desc.funcs[0].body_end]
    assert body == bytes([0x02, 0x40, 0x02, 0x40, 0x0C, 0, 0x0B, 0x0C, 0, 0x0B, 0x0B])


def test_module_binary_and_quote_forms():
    binary = '(module $m binary "\\00asm" "\\01\\00\\00\\00")'
    assert wat2wasm(binary) == b"\0asm\x01\0\0\0"
    quoted = '(module quote "(func (export \\"f\\")" " (result i32) i32.const 7)")'
    assert wat2wasm(quoted) == wat2wasm('(module (func (export "f") (result i32) i32.const 7))')
    assert wat2wasm("") == b"\0asm\x01\0\0\0"
    assert wat2wasm("(func) (memory 1)") == wat2wasm("(module (func) (memory 1))")


def test_comments_and_whitespace():
    text = "(module (; block (; nested ;) \"(;\" ;) ;; line (;\n (func \"\" (;x;)) )"
    with pytest.raises(WatSyntaxError):      # a string is no function field
        wat2wasm(text)
    assert wat2wasm("(module(;a;)(func(;b;)nop;;c\n))") == wat2wasm("(module (func nop))")
    with pytest.raises(WatSyntaxError, match="unclosed block comment"):
        wat2wasm("(module (; never closed")


@pytest.mark.parametrize("text,message,line,column", [
    ("(module\n  (func\n    i32.foo))", "unknown operator", 3, 5),
    ("(module\n  (func $f)\n  (func $f))", "duplicate func", 3, 9),
    ("(module (func (local $x i32) (local $x i32)))", "duplicate local", 1, 30),
    ("(module (func br $nowhere))", "unknown label", 1, 18),
    ("(module (func block $a end $b))", "mismatching label", 1, 28),
    ("(module (func call $g))", "unknown func", 1, 20),
    ("(module (func) (import \"a\" \"b\" (func)))", "import after function", 1, 16),
    ("(module (start 0) (start 0))", "multiple start sections", 1, 19),
    ("(module (func (i32.load align=3 (i32.const 0))))", "alignment", 1, 25),
    ("(module (memory 0x1_0000_0000))", "i32 constant out of range", 1, 17),
    ("(module (type $t (func)) (func (type $t) (param i32)))", "inline function type", 1, 42),
    ("(module (func)", "unexpected end", 1, 15),
    ("(module (func)))", "unexpected token", 1, 16),
    ("(module (export \"\\ff\" (func 0)))", "malformed UTF-8 encoding", 1, 17),
    ("(module (func (drop (i32.const 1)) \x0c))", "illegal character", 1, 36),
    ("(module (func\n  (i32.const 1) \"abc))", "unclosed string", 2, 17),
])
def test_errors_name_line_and_column(text, message, line, column):
    with pytest.raises(WatSyntaxError) as info:
        wat2wasm(text)
    error = info.value
    assert error.message.startswith(message)
    assert (error.line, error.column) == (line, column)
    assert isinstance(error, CompileError)


def test_invalid_but_well_formed_modules_assemble():
    """Index and type errors are validation's business, not the parser's."""
    data = wat2wasm("(module (func (result i32) (call 7) (local.get 9) (f32.const 1)))")
    with pytest.raises(wasabi.ValidationError):
        wasabi.validate(data)


# --- wasm2wat ---------------------------------------------------------------------------

def test_wasm2wat_uses_names():
    text = """(module $mod
      (func $add (export "add") (param $lhs i32) (param $rhs i32) (result i32) (local $tmp i32)
        (local.set $tmp (i32.add (local.get $lhs) (local.get $rhs))) (local.get $tmp))
      (func $call (result i32) (call $add (i32.const 1) (i32.const 2))))"""
    data = wat2wasm(text, debug_names=True)
    printed = wasm2wat(data)
    for fragment in ("(module $mod", "(func $add", "(param $lhs i32)", "(local $tmp i32)",
                     "local.get $rhs", "call $add", '(export "add" (func $add))'):
        assert fragment in printed
    assert wat2wasm(printed, debug_names=True) == data


def test_wasm2wat_makes_identifiers_from_any_names():
    # wasmtime's names: "a b" (a space) and a duplicate become valid, unique identifiers
    data = wasmtime.wat2wasm('(module (func $a (export "x")) (func $b) (func $c))')
    desc = wasabi.decode_module(data)
    assert desc.names.funcs
    printed = wasm2wat(data)
    assert "(func $a" in printed and "(func $b" in printed
    assert summary(wat2wasm(printed)) == summary(data)


def test_wasm2wat_float_and_vector_constants_round_trip():
    text = """(module (func
      f32.const 0.1 drop f32.const -nan:0x123 drop f32.const 0x1p-149 drop
      f32.const 3.4028235e38 drop
      f64.const 0.1 drop f64.const -0 drop f64.const nan drop f64.const inf drop
      v128.const f64x2 1.5 -2 drop))"""
    data = wat2wasm(text)
    assert wat2wasm(wasm2wat(data)) == data


def test_wasm2wat_rejects_malformed():
    with pytest.raises(CompileError):
        wasm2wat(b"\0asm\x01\0\0\0\x01\x05")


# --- robustness ---------------------------------------------------------------------------

def mutated_texts(count, seed):
    rng = random.Random(seed)
    sources = []
    for name in ("block", "simd_lane", "elem", "data", "imports", "const", "memory_copy"):
        sources += [m.text for m in script_modules(
            (SPEC_DIR / "wast" / f"{name}.wast").read_text(encoding="utf-8"))]
    pieces = ["(", ")", "$x", "0", "-1", "0x", '"', '"\\ff"', "i32.const", "block", "end",
              "(then", "(param", "(result i32)", "offset=", "align=3", "nan:0x1", "(;", ";)",
              "\x00", "é", "v128.const", "i8x16", "func", "(type 99)", "$", "1e999"]
    for _ in range(count):
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text) + 1)
            action = rng.random()
            if action < 0.4:
                text = text[:pos] + rng.choice(pieces) + text[pos:]
            elif action < 0.8:
                text = text[:pos] + text[pos + rng.randint(1, 12):]
            else:
                text = text[:pos] + text[pos:pos + 20] + text[pos:]
        yield text


def check_no_crash(text):
    try:
        data = wat2wasm(text)
    except CompileError:
        return
    assert isinstance(data, bytes)


def test_mutated_texts_only_raise_compile_errors():
    for text in mutated_texts(1500, seed=1):
        check_no_crash(text)


@pytest.mark.slow
def test_mutated_texts_only_raise_compile_errors_long():
    for text in mutated_texts(40000, seed=2):
        check_no_crash(text)


def test_wasm2wat_on_mutated_binaries_only_raises_compile_errors():
    rng = random.Random(3)
    binaries = sorted((spec_harness.binaries_dir(SPEC_DIR) / "json" / "simd_lane").glob("*.wasm"))[:40]
    for _ in range(600):
        data = bytearray(rng.choice(binaries).read_bytes())
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            text = wasm2wat(bytes(data))
        except CompileError:
            continue
        again = wat2wasm(text)
        assert summary(again) == summary(bytes(data))
