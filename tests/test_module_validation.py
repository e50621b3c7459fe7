"""Module-level validation (wasabi/validate/module.py): every rule with a module that
breaks it and, next to it, one that keeps it."""
import pytest
import wasmtime

from wasabi.binary.reader import decode_module
from wasabi.errors import ValidationError
from wasabi.validate.module import declared_func_refs, validate_module


def wat(text):
    return decode_module(wasmtime.wat2wasm(text))


def valid(text):
    validate_module(wat(text))


def invalid(text_or_desc, message):
    desc = wat(text_or_desc) if isinstance(text_or_desc, str) else text_or_desc
    with pytest.raises(ValidationError) as info:
        validate_module(desc)
    assert info.value.message.startswith(message), info.value.message


def test_a_module_using_everything_is_valid():
    valid("""(module
      (type $v (func))
      (import "m" "f" (func (type $v)))
      (import "m" "g" (global i32))
      (import "m" "t" (table 1 10 funcref))
      (table 2 externref)
      (memory 1 65536)
      (global i32 (global.get 0))
      (global (mut funcref) (ref.func $f))
      (global v128 (v128.const i32x4 1 2 3 4))
      (func $f (type $v))
      (start $f)
      (elem (table 0) (offset (global.get 0)) func $f 0)
      (elem externref (ref.null extern))
      (elem declare funcref (ref.func $f))
      (data (i32.const 1) "x") (data "passive")
      (export "f" (func $f)) (export "t" (table 1)) (export "m" (memory 0))
      (export "g" (global 1)))""")


def test_unknown_type():
    # function section naming type 1 of 1
    invalid(decode_module(b"\x00asm\x01\x00\x00\x00\x01\x04\x01\x60\x00\x00"
                          b"\x03\x02\x01\x01\x0a\x04\x01\x02\x00\x0b"), "unknown type")
    invalid(decode_module(b"\x00asm\x01\x00\x00\x00\x02\x07\x01\x01m\x01f\x00\x00"),
            "unknown type")


@pytest.mark.parametrize("decl,message", [
    ("(table 2 1 funcref)", "size minimum must not be greater than maximum"),
    ("(memory 2 1)", "size minimum must not be greater than maximum"),
    ("(memory 65537)", "memory size must be at most 65536 pages (4GiB)"),
    ("(memory 0 65537)", "memory size must be at most 65536 pages (4GiB)"),
    ('(import "m" "m" (memory 0 65537))', "memory size must be at most 65536 pages (4GiB)"),
    ('(import "m" "t" (table 3 2 funcref))', "size minimum must not be greater than maximum"),
    ("(memory 1) (memory 1)", "multiple memories"),
    ('(import "m" "m" (memory 1)) (memory 1)', "multiple memories"),
])
def test_limits_and_memory_count(decl, message):
    invalid(f"(module {decl})", message)


def test_limits_at_the_edges_are_valid():
    valid("(module (memory 65536 65536) (table 0xffffffff 0xffffffff funcref))")


@pytest.mark.parametrize("global_decl,message", [
    ("(global i32 (i32.ctz (i32.const 0)))", "constant expression required"),
    ("(global i32 (nop))", "constant expression required"),
    ("(global i32 (i32.const 0) (nop))", "constant expression required"),
    ("(global f32 (f32.neg (f32.const 1)))", "constant expression required"),
    ("(global i32 (f32.const 0))", "type mismatch"),
    ("(global i32)", "type mismatch"),
    ("(global i32 (i32.const 0) (i32.const 0))", "type mismatch"),
    ("(global funcref (ref.null extern))", "type mismatch"),
    ("(global funcref (ref.func 7))", "unknown function"),
    ("(global i32 (i32.const 0)) (global i32 (global.get 0))", "unknown global"),
    ("(global i32 (global.get 1)) (global i32 (i32.const 0))", "unknown global"),
    ('(global (import "m" "g") (mut i32)) (global i32 (global.get 0))',
     "constant expression required"),
    ('(global (import "m" "g") externref) (global funcref (global.get 0))', "type mismatch"),
])
def test_constant_expressions(global_decl, message):
    invalid(f"(module {global_decl})", message)


def test_element_segments():
    invalid("(module (elem (i32.const 0) func))", "unknown table")
    invalid("(module (table 1 externref) (func $f) (elem (i32.const 0) func $f))",
            "type mismatch")
    invalid("(module (table 1 funcref) (elem (i64.const 0)))", "type mismatch")
    invalid("(module (table 1 funcref) (elem (offset (nop) (i32.const 0))))",
            "constant expression required")
    invalid("(module (table 1 funcref) (elem (i32.const 0) funcref (ref.null extern)))",
            "type mismatch")
    invalid("(module (table 1 funcref) (elem (i32.const 0) funcref (item (i32.const 0))))",
            "type mismatch")
    invalid("(module (table 1 funcref) (func $f (result funcref) (ref.null func))"
            " (elem (i32.const 0) funcref (item (call $f))))", "constant expression required")
    invalid("(module (table 1 funcref) (elem (i32.const 0) func 3))", "unknown function")
    valid("(module (table 1 funcref) (table 1 externref) (func $f)"
          " (elem (table 1) (i32.const 0) externref (ref.null extern))"
          " (elem (i32.const 0) $f) (elem func $f) (elem declare func $f))")


def test_data_segments():
    invalid('(module (data (i32.const 0) ""))', "unknown memory")
    invalid('(module (memory 1) (data (i64.const 0) ""))', "type mismatch")
    invalid('(module (memory 1) (data (offset (i32.const 0) (nop)) ""))',
            "constant expression required")
    valid('(module (data "passive segments need no memory"))')
    valid('(module (global (import "m" "g") i32) (memory 1) (data (global.get 0) "x"))')


def test_start_function():
    invalid("(module (start 0))", "unknown function")
    invalid("(module (func $f (param i32)) (start $f))", "start function")
    invalid("(module (func $f (result i32) (i32.const 0)) (start $f))", "start function")
    valid('(module (import "m" "f" (func)) (start 0))')


def test_exports():
    invalid('(module (func) (export "a" (func 0)) (export "a" (func 0)))',
            "duplicate export name")
    invalid('(module (func) (memory 1) (export "a" (func 0)) (export "a" (memory 0)))',
            "duplicate export name")
    invalid('(module (export "f" (func 0)))', "unknown function")
    invalid('(module (export "t" (table 0)))', "unknown table")
    invalid('(module (export "m" (memory 0)))', "unknown memory")
    invalid('(module (global i32 (i32.const 0)) (export "g" (global 1)))', "unknown global")
    valid('(module (global (import "m" "g") i32) (global (mut i32) (i32.const 0))'
          ' (export "a" (global 0)) (export "b" (global 1)) (export "\u00e9" (global 1)))')


def test_declared_func_refs():
    desc = wat("""(module
      (func $a) (func $b) (func $c) (func $d) (func $e) (func $unreferenced)
      (func $body (drop (ref.func $a)))
      (table 2 funcref)
      (global funcref (ref.func $b))
      (elem (i32.const 0) $c)
      (elem funcref (ref.func $d))
      (export "e" (func $e)) (start $unreferenced))""")
    # $a is named only inside a body, $unreferenced only by the start section
    assert declared_func_refs(desc) == frozenset({1, 2, 3, 4})


def test_ref_func_in_a_body_needs_a_declaration():
    invalid("(module (func $f (drop (ref.func $f))))", "undeclared function reference")
    valid("(module (func $f (drop (ref.func $f))) (elem declare func $f))")
    valid('(module (func $f (drop (ref.func $f))) (export "f" (func $f)))')
