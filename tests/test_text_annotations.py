"""Annotations and the other forms of issue 17 section 2 the wat crate reads: custom
sections (@custom, @producers, @dylink.0) placed where it places them, @name, branch
hints, unknown annotations (ignored), `$"..."` identifiers, a (type x) defined by an
implicit type written later. Each text is compared with wasmtime.wat2wasm (the wat
crate)."""
import pytest

from wasabi.text import WatSyntaxError, wat2wasm

wasmtime = pytest.importorskip("wasmtime")


def same_bytes(text):
    ours = wat2wasm(text)
    assert ours == bytes(wasmtime.wat2wasm(text))
    return ours


def both_reject(text):
    with pytest.raises(WatSyntaxError):
        wat2wasm(text)
    with pytest.raises(Exception):
        wasmtime.wat2wasm(text)


@pytest.mark.parametrize("text", [
    '(module (@custom "" ""))',
    '(module (@custom "name" "data" "more"))',
    '(module (@custom "b" "x") (@custom "a" "y") (func))',
    '(module (@custom "a" (before first) "x") (type (func)) (@custom "b" (after last) "y"))',
    # every anchor, before and after, with and without the section present
    '(module (@custom "A" "aaa") (type (func)) (@custom "B" (after func) "bbb")'
    ' (@custom "C" (before func) "ccc") (@custom "D" (after last) "ddd") (table 10 funcref)'
    ' (func (type 0)) (@custom "E" (after import) "eee") (@custom "F" (before type) "fff")'
    ' (@custom "G" (after data) "ggg") (@custom "H" (after code) "hhh")'
    ' (@custom "I" (after func) "iii") (@custom "J" (before func) "jjj")'
    ' (@custom "K" (before first) "kkk"))',
    '(module (@custom "s" (before start) "1") (@custom "t" (after start) "2")'
    ' (@custom "e" (before elem) "3") (@custom "x" (after export) "4")'
    ' (@custom "g" (before global) "5") (@custom "m" (after memory) "6")'
    ' (@custom "tb" (after table) "7") (@custom "tg" (before tag) "8")'
    ' (@custom "c" (before code) "9") (@custom "d" (before data) "10")'
    ' (func $f) (start $f) (elem func $f) (export "f" (func $f)) (global i32 (i32.const 0))'
    ' (memory 1) (table 1 funcref) (data "x"))',
    # before code, with a data count section (written before it)
    '(module (@custom "c" (before code) "x") (memory 1) (func (data.drop 0)) (data ""))',
    # a custom section called "name" is written instead of the generated one
    '(module $m (@custom "name" "data") (func $f))',
    '(module $m (@custom "name" (before first) "data") (@custom "name" "x") (func $f))',
])
def test_custom_sections(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    '(module (@producers))',
    '(module (@producers (language "foo" "bar")))',
    '(module (@producers (processed-by "p" "1") (sdk "s" "2") (language "l" "3")'
    ' (language "l2" "4")))',
    '(module (@producers) (@producers (sdk "foo" "bar")) (func $f))',
])
def test_producers_sections(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    '(module (@dylink.0))',
    '(module (type (func)) (@dylink.0 (mem-info (memory 0 4)) (needed "foo")))',
    '(module (@dylink.0 (mem-info (memory 8 2) (table 2 0))))',
    '(module (@dylink.0 (mem-info)))',
    '(module (@dylink.0 (needed "a" "b") (needed) (runtime-path "/x")))',
    '(module (@dylink.0 (import-info "env" "foo" binding-weak)'
    ' (import-info "env" "bar" binding-weak undefined 0x400)'
    ' (export-info "f" exported tls) (export-info "g" 3) (import-info "a" "b")))',
    '(module (@dylink.0 (mem-info (memory 0 4))) (@custom "x" (before first) "y"))',
])
def test_dylink_sections(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    '(module (@name "foo"))',
    '(module $bar (@name "foo bar"))',
    '(module (@name ""))',
    '(module (@name "\\00"))',
    '(module (func (@name "foo")))',
    '(module (func $bar (@name "foo") (export "e")))',
    '(module (func $foo) (func (@name "foo")) (func $foo_1))',
    '(module (func (param (@name "foo") i32)))',
    '(module (func (param $bar (@name "foo bar") i32) (result i32) (local $l (@name "l") i64)'
    ' local.get $bar))',
    '(module (func (local (@name "foo") i32) (local $foo i32) (local (@name "") f32)))',
    '(module (type (func (param i32))) (func (type 0) (param $l i32)'
    ' (local $a (@name "l") i32) (local $b (@name "l") i32) local.get $l drop))',
    '(module (import "a" "b" (func $i (@name "imp") (param (@name "p") i32))))',
    '(module (func $f (@name "g") block $l (@name "m") end (block (@name "n") (br 0))))',
    '(module (global $g (@name "h") i32 (i32.const 0)) (table (@name "t") 1 funcref)'
    ' (memory (@name "m") 1) (type (@name "ty") (func)) (elem (@name "e") func)'
    ' (data (@name "d") ""))',
    '(module (type (func (param (@name "x") i32))))',
])
def test_name_annotations(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    # flat if and br_if, offsets counted from the start of the body (locals included)
    '(module (func (param i32) (local i64 i64 f32) local.get 0'
    ' (@metadata.code.branch_hint "\\01") if end))',
    '(module (import "" "" (func)) (func i32.const 0 (@metadata.code.branch_hint "\\00") if'
    ' i32.const 0 (@metadata.code.branch_hint "\\01") br_if 0 end)'
    ' (func i32.const 0 (@metadata.code.branch_hint "\\01") if end))',
    # folded: the hint is for the head (br_if after its operands, if at its (then))
    '(module (func (param i32) (block (@metadata.code.branch_hint "\\01")'
    ' (br_if 0 (local.get 0)))))',
    '(module (func (param i32) (result i32) (@metadata.code.branch_hint "\\00")'
    ' (if (result i32) (local.get 0) (@metadata.code.branch_hint "\\01")'
    ' (if (result i32) (local.get 0) (then (i32.const 1)) (else (i32.const 2)))'
    ' (then (i32.const 1)) (else (i32.const 2)))))',
    '(module (func (@metadata.code.branch_hint "\\01") (block (nop))'
    ' (@metadata.code.branch_hint "\\00") nop (@metadata.code.branch_hint "\\00") (nop)))',
    '(module (func block (@metadata.code.branch_hint "\\00") end))',
    # a global's initializer has no hints to keep
    '(module (global i32 (@metadata.code.branch_hint "\\00") i32.const 0) (func))',
])
def test_branch_hints(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    '(module (func (@metadata.code.branch_hint "\\01")))',
    '(module (func (@metadata.code.branch_hint "\\02") nop))',
    '(module (func (@metadata.code.branch_hint "\\01\\01") nop))',
    '(module (func (@metadata.code.branch_hint "\\01") (@metadata.code.branch_hint "\\00") nop))',
    '(module (func (if (i32.const 0) (@metadata.code.branch_hint "\\01") (then))))',
])
def test_misplaced_branch_hints_are_rejected(text):
    both_reject(text)


@pytest.mark.parametrize("text", [
    '(module (@foo bar (baz)) (func (@x) (param (@y) i32) nop (@z "q" (w))))',
    '(module (@a) (func $f (@b 1 2) (result i32) (@c) (i32.const 1)) (@custom "x" (@d) "y"))',
    '(@x)(func (@y) nop)',
    # an annotation in a block comment or string is no annotation
    '(module (; (@custom "x" "y") ;) (@custom "z" "(@q)"))',
])
def test_unknown_annotations_are_ignored(text):
    same_bytes(text)


def test_unknown_annotation_blanking_keeps_error_positions():
    with pytest.raises(WatSyntaxError) as info:
        wat2wasm('(module (@foo (x)\n "y") (func\n  bogus))')
    assert info.value.line == 3


@pytest.mark.parametrize("text", [
    '(module (func $"dwarf(name)" i32.const 0 drop) (func $another-function))',
    '(module (func $"a b" (call $"a b")) (func $"\\63" call $c))',
    '(module (func (param $"x y" i32) (local.get $"x y") drop)'
    ' (func (block $"l" (br $l))))',
    '(module $"my module")',
])
def test_string_identifiers(text):
    same_bytes(text)


def test_string_identifier_must_be_a_name():
    both_reject('(module (func $""))')


@pytest.mark.parametrize("text", [
    # type 0 is the implicit type of the block types written after it
    '(module (func $main (type 0) (param i32 i32 i32) (result i32) i32.const 0 i32.const 0'
    ' i32.const 0 i32.const 0 if (param i32 i32 i32) (result i32) br 0 else call $main end))',
    '(module (func (type 1) (param i32)) (func (param i64)) (func (param i32)))',
])
def test_a_type_defined_by_a_later_implicit_type(text):
    same_bytes(text)


@pytest.mark.parametrize("text", [
    '(module (func (type 0) (param i32)))',
    '(module (func (type 0) (param i32)) (func (param i64)))',
])
def test_an_inline_type_must_still_match(text):
    both_reject(text)
