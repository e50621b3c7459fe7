"""WAT as people write it (issue 17, section 2): what the `wat` crate (wasmtime's and
wasmer's wat2wasm) reads, assembled to the bytes it writes, name section included.

Each form is checked against wasmtime.wat2wasm (the wat crate itself) and, where the
meaning matters, against what the module does. The generated texts (every spec module
printed by our wasm2wat, flat and folded) are compared at the end: a sample in the
default run, all of them with --run-slow.
"""
import pytest

import wasabi
from wasabi.text import WatSyntaxError, wasm2wat, wat2wasm

from conftest import SPEC_DIR

wasmtime = pytest.importorskip("wasmtime")


def same_bytes(text):
    ours = wat2wasm(text)
    assert ours == bytes(wasmtime.wat2wasm(text))
    return ours


# ---- plain instructions inside folded forms ----

@pytest.mark.parametrize("text", [
    "(module (func (param i32 i32) (result i32) (i32.add local.get 0 local.get 1)))",
    "(module (func (result i32) (i32.add (i32.const 1) i32.const 2)))",
    "(module (func (result i32) (i32.add i32.const 1 (i32.const 2))))",
    "(module (func (drop block (result i32) i32.const 1 end)))",
    "(module (func (block nop (nop) nop)))",
    "(module (func (if (i32.const 1) (then nop (nop)) (else nop))))",
    "(module (func (result i32) (select i32.const 1 i32.const 2 (i32.const 0))))",
])
def test_plain_instructions_inside_folded_forms(text):
    same_bytes(text)


def test_plain_operands_come_before_the_folded_instruction():
    instance = wasabi.instantiate(wasabi.compile(
        '(module (func (export "f") (param i32 i32) (result i32) '
        '(i32.sub local.get 0 (local.get 1))))'))
    assert instance.exports.f(10, 3) == 7


def test_the_condition_of_a_folded_if_must_be_folded():
    # as the wat crate: `(if i32.const 1 (then))` is malformed
    with pytest.raises(WatSyntaxError):
        wat2wasm("(module (func (if i32.const 1 (then))))")
    with pytest.raises(Exception):
        wasmtime.wat2wasm("(module (func (if i32.const 1 (then))))")


# ---- legacy and optional spellings ----

def test_anyfunc_is_funcref():
    # the wat crate of today rejects anyfunc; wasmer's (older) read it as funcref
    assert wat2wasm("(module (table 1 anyfunc))") == wat2wasm("(module (table 1 funcref))")
    assert wat2wasm("(module (func (param anyfunc)))") == wat2wasm("(module (func (param funcref)))")


@pytest.mark.parametrize("text", [
    "(module (memory i32 1))",
    "(module (memory i32 1 2))",
    '(module (memory $m i32 (data "ab")))',
    '(module (import "a" "b" (memory i32 1)))',
    "(module (table i32 1 funcref))",
    "(module (func) (table i32 funcref (elem 0)))",
])
def test_the_address_type_i32(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    "(module (memory 1) (func (drop (i32.load 0 (i32.const 0)))))",
    "(module (memory $m 1) (func (drop (i32.load $m offset=4 align=2 (i32.const 0)))))",
    "(module (memory 1) (func (i64.store 0 offset=8 (i32.const 0) (i64.const 1))))",
    "(module (memory 1) (func (drop (memory.size 0)) (drop (memory.grow 0 (i32.const 0)))))",
    "(module (memory 1) (func (memory.fill 0 (i32.const 0) (i32.const 0) (i32.const 0))))",
    "(module (memory 1) (func (memory.copy 0 0 (i32.const 0) (i32.const 0) (i32.const 0))))",
    '(module (memory 1) (data "a") (func (memory.init 0 0 (i32.const 0) (i32.const 0) (i32.const 0))))',
    "(module (memory 1) (func (drop (v128.load8_lane 0 1 (i32.const 0) (v128.const i64x2 0 0)))))",
    "(module (memory 1) (func (drop (v128.load8_lane 0 offset=2 1 (i32.const 0) (v128.const i64x2 0 0)))))",
    "(module (memory 1) (func (drop (v128.load8_lane 1 (i32.const 0) (v128.const i64x2 0 0)))))",
])
def test_memory_indices_on_memory_instructions(text):
    same_bytes(text)


def test_a_memory_index_other_than_zero_uses_the_multi_memory_encoding():
    # alignment field with bit 6 set, then the memory index (as the wat crate writes it)
    same_bytes("(module (memory 1) (memory $b 1) (func (drop (i32.load $b (i32.const 0)))))")


@pytest.mark.parametrize("text", [
    '(module (memory 1) (data 0 (i32.const 0) "a"))',
    '(module (memory 1) (data 0 (offset (i32.const 8)) "a" "b"))',
    "(module (table 1 funcref) (func) (elem 0 (i32.const 0) 0))",
    "(module (table 1 funcref) (func $f) (elem 0 (offset (i32.const 0)) $f $f))",
])
def test_wasm_1_segments_with_an_explicit_index(text):
    same_bytes(text)


def test_wasm_1_data_segment_means_what_it_says():
    instance = wasabi.instantiate(wasabi.compile(
        '(module (memory (export "m") 1) (data 0 (i32.const 3) "hi"))'))
    assert instance.exports.m.read(3, 2) == b"hi"


@pytest.mark.parametrize("text", [
    "(module (func) (table 1 funcref) (elem (i32.const 0) func 0))",
    "(module (func) (table 1 funcref) (elem (table 0) (i32.const 0) func 0))",
    "(module (func) (table 1 funcref) (elem (i32.const 0) funcref (ref.func 0)))",
    "(module (func) (table 1 funcref) (elem (i32.const 0) funcref (item ref.func 0)))",
    "(module (func) (table funcref (elem (ref.func 0))))",
    "(module (func) (table 1 externref) (elem (i32.const 0) externref (ref.null extern)))",
    "(module (func) (elem funcref (ref.func 0)))",
    "(module (func) (elem declare funcref (ref.func 0)))",
    "(module (type (func)) (type (func (result i32))) "
    "(func (block (type 0)) (block (type 1) (i32.const 0)) drop))",
    "(module (func i32.const 0 (if (then) (else))))",
    "(module (func i32.const 0 if else end))",
    "(module (memory 1) (func data.drop 0))",
])
def test_the_wat_crate_encoding_choices(text):
    # element segments keep an explicit table and expressions as written, a (type x)
    # block type stays an index, an empty else stays, data.drop brings a data count
    same_bytes(text)


def test_wabt_encoding_choices_stay_available():
    text = "(module (func) (table 1 funcref) (elem (table 0) (i32.const 0) funcref (ref.func 0)))"
    wat, wabt = wat2wasm(text), wat2wasm(text, encoder="wabt")
    assert wat != wabt and len(wabt) < len(wat)           # wabt: flags 0, function indices
    summary = [(e.mode, e.table_index, e.elem_type) for e in wasabi.decode_module(wat).elems]
    assert summary == [(e.mode, e.table_index, e.elem_type)
                       for e in wasabi.decode_module(wabt).elems]
    with pytest.raises(ValueError):
        wat2wasm("(module)", encoder="binaryen")


# ---- the name section ----

@pytest.mark.parametrize("text", [
    '(module (import "a" "b" (func $f (param $x i32) (param i32) (param $z i32))))',
    '(module (func $f (import "a" "b") (param $x i32)))',
    '(module (import "a" "b" (global $g i32)) (import "a" "c" (table $t 1 funcref)) '
    '(import "a" "d" (memory $m 1)))',
    "(module (type $t (func)) (global $g i32 (i32.const 0)) (table $tt 1 funcref) "
    '(memory $mm 1) (data $d "") (elem $e func))',
    "(module $mod (func (block $l1) (block) (block $l3)))",
    "(module (func $a (local $x i32) (block $l)) (func $b (param $p i32) (loop $q)))",
    "(module (func (if $i (block $c (result i32) (i32.const 1)) (then (block $t)))))",
    "(module (type $t (func (param $a i32) (param $b i32))) (func $f (param $x i32)))",
    "(module (func $$f (param $$p i32)))",
])
def test_the_name_section_is_the_wat_crate_s(text):
    same_bytes(text)


def test_imported_function_parameter_names_are_kept():
    data = wat2wasm('(module (import "a" "b" (func $f (param $x i32))))')
    assert wasabi.decode_module(data).names.locals == {0: {0: "x"}}


# ---- generated texts: every spec module through wasm2wat, flat and folded ----

def _spec_binaries():
    """Every binary module of the spec scripts (as wast2json lays them out: the JSON
    directory of WASABI_SPEC_DIR when it has one, else built from tests/spec's .wast)."""
    if (SPEC_DIR / "json").is_dir():
        return sorted(SPEC_DIR.glob("json/*/*.wasm"))
    import spec_harness
    return sorted(spec_harness.binaries_dir(SPEC_DIR).glob("json/*/*.wasm"))


def _round_trip(paths):
    compared = 0
    for path in paths:
        data = path.read_bytes()
        for folded in (False, True):
            try:
                text = wasm2wat(data, folded=folded)
            except wasabi.CompileError:
                continue                        # malformed binaries have no text
            assert wat2wasm(text) == bytes(wasmtime.wat2wasm(text)), (path.name, folded)
            compared += 1
    return compared


def test_generated_texts_sample():
    paths = _spec_binaries()
    if not paths:
        pytest.skip(f"no spec binaries under {SPEC_DIR} (set WASABI_SPEC_DIR)")
    assert _round_trip(paths[::40]) > 100


@pytest.mark.slow
def test_generated_texts_all():
    paths = _spec_binaries()
    if not paths:
        pytest.skip(f"no spec binaries under {SPEC_DIR} (set WASABI_SPEC_DIR)")
    assert _round_trip(paths) > 7000


def test_folded_text_nests_operands():
    data = wat2wasm("(module (func (param i32) (result i32) "
                    "local.get 0 i32.const 1 i32.add local.get 0 "
                    "if (result i32) i32.const 2 else i32.const 3 end i32.mul))")
    text = wasm2wat(data, folded=True)
    assert "(i32.mul\n" in text and "(i32.add\n" in text and "(then\n" in text
    assert wat2wasm(text) == data
