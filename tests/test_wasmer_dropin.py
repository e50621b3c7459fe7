"""Behaviours wasmer-python 1.1.0's own test suite checks, written as our own tests
(issue 17, section 1): view indices and messages, the missing-export error, the compile
error of the wasmer face, and the text that wasmer's parser accepts."""
import pytest

import wasabi
import wasabi as wasmer
from wasabi import Instance, Memory, MemoryType, Module, Store

PAGE = 65536


@pytest.fixture(scope="module")
def store():
    return Store()


@pytest.fixture
def view(store):
    return Memory(store, MemoryType(17)).uint8_view()        # 17 pages: 1114112 bytes


# ---- typed views: wasmer's index rules and messages ----

def test_a_negative_index_is_an_index_error(view):
    with pytest.raises(IndexError) as info:
        view[-1]
    assert str(info.value) == "Out of bound: Index cannot be negative"
    with pytest.raises(IndexError) as info:
        view[-1] = 3
    assert str(info.value) == "Out of bound: Index cannot be negative"
    assert view[len(view) - 1] == 0                           # nothing written


def test_an_index_past_the_end_names_the_view_size(view):
    with pytest.raises(IndexError) as info:
        view[17 * PAGE + 1]
    assert str(info.value) == "Out of bound: Index 1114113 is larger than the view size 1114112"
    with pytest.raises(IndexError) as info:
        view[17 * PAGE] = 1
    assert str(info.value) == "Out of bound: Index 1114112 is larger than the view size 1114112"


def test_the_view_size_counts_elements_from_the_offset(store):
    memory = Memory(store, MemoryType(1))
    view = memory.uint32_view(offset=4)
    with pytest.raises(IndexError) as info:
        view[PAGE // 4 - 4]
    assert str(info.value) == f"Out of bound: Index {PAGE // 4 - 4} is larger than the view size {PAGE // 4 - 4}"


def test_a_slice_whose_start_passes_its_stop_is_an_index_error(view):
    view[0:4] = [1, 2, 3, 4]
    with pytest.raises(IndexError) as info:
        view[2:1]
    assert str(info.value) == "Slice `2:1` cannot be empty"
    with pytest.raises(IndexError) as info:
        view[3:1] = [9, 9]
    assert str(info.value) == "Slice `3:1` cannot be empty"
    assert view[0:4] == [1, 2, 3, 4]
    assert view[2:2] == []                                    # start == stop: empty, as wasmer
    assert view[1:3] == [2, 3] and view[1:7:2] == [2, 4, 0]


def test_slice_bounds_are_normalized_before_the_check(view):
    n = len(view)
    view[n - 2:n] = [7, 8]
    assert view[-2:] == [7, 8]                                # as slice.indices(len)
    with pytest.raises(IndexError) as info:
        view[-1:-3]
    assert str(info.value) == f"Slice `{n - 1}:{n - 3}` cannot be empty"


# ---- exports ----

def test_a_missing_export_is_a_lookup_error_named_as_wasmer(store):
    exports = Instance(Module(store, "(module)")).exports
    with pytest.raises(LookupError) as info:
        exports.foo
    assert str(info.value) == "Export `foo` does not exist."
    with pytest.raises(LookupError) as info:
        exports["bar"]
    assert str(info.value) == "Export `bar` does not exist."
    assert getattr(exports, "foo", None) is None              # still an AttributeError too


# ---- compile errors ----

def test_the_wasmer_face_compile_error_is_also_a_runtime_error(store):
    with pytest.raises(RuntimeError) as info:
        Module(store, b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00")   # a truncated type section
    assert isinstance(info.value, wasabi.CompileError) and isinstance(info.value, ValueError)
    with pytest.raises(RuntimeError) as info:
        Module(store, "(module (func (result i32) i64.const 1))")
    assert isinstance(info.value, wasabi.ValidationError)
    assert info.value.func_index == 0 and "type mismatch" in str(info.value)
    with pytest.raises(RuntimeError) as info:
        Module(store, "(module (func")
    assert isinstance(info.value, wasabi.text.WatSyntaxError) and info.value.line == 1
    assert type(info.value).__name__ == "WatSyntaxError"


def test_the_seed_entry_raises_the_same_errors():
    # wasabi.compile builds a Module: its errors are the same CompileError classes
    with pytest.raises(wasabi.CompileError) as info:
        wasabi.compile(b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00")
    assert isinstance(info.value, ValueError) and info.value.offset == 0xd


# ---- text that wasmer's parser accepted ----

def test_plain_instructions_inside_a_folded_instruction(store):
    instance = Instance(Module(store, """
        (module
          (func (export "sub") (param $x i32) (param $y i32) (result i32)
            (i32.sub local.get $x local.get $y)))"""))
    assert instance.exports.sub(10, 3) == 7


def test_anyfunc_is_the_legacy_name_of_funcref(store):
    module = Module(store, '(module (table (export "t") 2 anyfunc))')
    assert module.exports[0].type.type == wasmer.Type.FUNC_REF
