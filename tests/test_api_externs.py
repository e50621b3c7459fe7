"""The `wasmer` 1.1.0 face of wasabi, continued: Global, Value, Memory (buffer and views),
Table, the text format and targets (expectations from wasmer-python 1.1.0's docs and tests;
wasabi's extras are marked)."""
import ctypes
import enum
import gc
import importlib

import pytest

import wasabi as wasmer
from wasabi import (Function, FunctionType, Global, GlobalType, Instance, Memory, MemoryType,
                    Module, Store, Table, TableType, Type, Value)

wasmtime = pytest.importorskip("wasmtime")   # wat2wasm when wasabi.text is absent


@pytest.fixture(scope="module")
def store():
    return Store()


# ---- Global ----

def test_global_constructors_and_types(store):
    global_ = Global(store, Value.i32(42))
    assert global_.value == 42
    assert (global_.type.type, global_.type.mutable, global_.mutable) == (Type.I32, False, False)
    assert Global(store, Value.i64(153), mutable=False).type.type == Type.I64
    assert Global(store, Value.f32(4.2)).value == pytest.approx(4.2, rel=1e-6)
    assert Global(store, Value.f64(4.2)).value == 4.2
    assert Global(store, Value.v128(1 << 100)).value == 1 << 100
    mutable = Global(store, Value.i32(42), mutable=True)
    mutable.value = 153
    assert mutable.value == 153
    assert str(mutable.type) == "GlobalType(type: I32, mutable: true)"
    assert mutable.type == GlobalType(Type.I32, mutable=True)
    reference = Global(store, Value.externref(store), mutable=True)     # wasabi: ref globals
    assert reference.value is store and reference.type == GlobalType(Type.EXTERN_REF, True)
    with pytest.raises(TypeError):
        Global(store, 42)
    with pytest.raises(TypeError):
        mutable.value = "x"


def test_immutable_global_cannot_be_set(store):
    z = Instance(Module(store, '(module (global (export "z") i32 (i32.const 42)))')).exports.z
    assert z.value == 42
    with pytest.raises(RuntimeError, match="The global variable is not mutable"):
        z.value = 153
    with pytest.raises(AttributeError):
        z.value = 153
    with pytest.raises(RuntimeError):
        z.set_bits(1)
    assert z.value == 42


def test_global_bits_and_sharing_with_wasm(store):
    exports = Instance(Module(store, """
        (module
          (global $x (export "x") (mut i32) (i32.const 0))
          (global (export "f") (mut f32) (f32.const -0))
          (global (export "r") (mut externref) (ref.null extern))
          (func (export "get_x") (result i32) global.get $x)
          (func (export "increment_x")
            global.get $x i32.const 1 i32.add global.set $x))""")).exports
    exports.x.value = 1
    assert exports.get_x() == 1
    exports.increment_x()
    assert exports.x.value == 2 and exports.x.get_bits() == 2
    exports.x.value = -1
    assert exports.x.get_bits() == 0xFFFFFFFF
    assert exports.f.get_bits() == 0x80000000
    exports.f.set_bits(0x7FC00001)
    assert exports.f.get_bits() == 0x7FC00001
    assert exports.r.get_bits() is None
    token = object()
    exports.r.value = token
    assert exports.r.get_bits() is token


def test_value_reprs_and_type_enum():
    assert repr(Value.i32(42)) == "I32(42)"
    assert repr(Value.i64(42)) == "I64(42)"
    assert repr(Value.f32(4.2)) == "F32(4.2)"
    assert repr(Value.f32(42)) == "F32(42.0)"
    assert repr(Value.f64(4.2)) == "F64(4.2)"
    assert repr(Value.v128((1 << 128) - 1)) == f"V128({(1 << 128) - 1})"
    assert Value.i32(0xFFFFFFFF).value == -1
    with pytest.raises(OverflowError):
        Value.i32(1 << 32)
    with pytest.raises(TypeError):
        Value.i64(1.0)
    assert issubclass(Type, enum.IntEnum) and len(Type) == 7
    assert [Type.I32, Type.I64, Type.F32, Type.F64, Type.V128, Type.EXTERN_REF, Type.FUNC_REF] \
        == [1, 2, 3, 4, 5, 6, 7]


# ---- Memory ----

def test_memory_basics(store):
    memory = Memory(store, MemoryType(minimum=3))
    assert (memory.size, memory.data_size) == (3, 3 * 65536)
    assert str(memory.type) == "MemoryType(minimum: 3, maximum: None, shared: false)"
    assert memory.grow(2) == 3 and memory.size == 5
    bounded = Memory(store, MemoryType(1, 2))
    with pytest.raises(RuntimeError, match="The memory could not grow: current size 1 pages, "
                                           "requested increase: 5 pages"):
        bounded.grow(5)
    exported = Instance(Module(store, '(module (memory (export "memory") 17))')).exports.memory
    assert isinstance(exported, Memory)
    assert (exported.size, exported.data_size, exported.type.minimum) == (17, 1114112, 17)


def test_memory_views(store):
    memory = Memory(store, MemoryType(1, 2))
    for name, size in [("uint8", 1), ("int8", 1), ("uint16", 2), ("int16", 2), ("uint32", 4),
                       ("int32", 4), ("uint64", 8), ("int64", 8), ("float32", 4), ("float64", 8)]:
        view = getattr(memory, f"{name}_view")()
        assert view.bytes_per_element == size
        assert len(view) == 65536 // size
    int8, int16, int32 = memory.int8_view(), memory.int16_view(), memory.int32_view()
    int8[0:4] = [1, 4, 16, 64]
    assert int16[0] == 0x0401 and int16[1] == 0x4010 and int32[0] == 0x40100401
    uint8 = memory.uint8_view()
    uint8[7:12] = b"abcde"
    assert uint8[7:12] == [97, 98, 99, 100, 101]
    uint8[7:12:2] = [1, 2, 3]
    assert uint8[7:12] == [1, 98, 2, 100, 3]
    assert uint8[11:6:-2] == [3, 2, 1]                  # wasabi: negative steps
    uint8[65535] = 255
    assert uint8[-3:] == [0, 0, 255]                    # slice bounds: normalized as Python's
    with pytest.raises(IndexError):
        uint8[65536]
    with pytest.raises(ValueError):
        uint8["a"]
    with pytest.raises(OverflowError):
        uint8[0] = 256
    offset = memory.uint8_view(offset=7)                # offset in elements
    assert offset[0] == 1 and len(offset) == 65536 - 7
    memory.grow(1)
    assert len(uint8) == 2 * 65536                     # views follow the memory's size
    floats = memory.float64_view(1)
    floats[0] = 2.5
    assert floats[0] == 2.5 and memory.float64_view()[1] == 2.5


def test_memory_buffer_protocol(store):
    np = pytest.importorskip("numpy")
    memory = Instance(Module(Store(), '(module (memory (export "memory") 1))')).exports.memory
    buffer = memory.buffer
    assert isinstance(buffer, wasmer.Buffer)
    view = memoryview(buffer)
    assert (view.nbytes, view.readonly, view.itemsize, view.ndim) == (65536, False, 1, 1)
    memory.int8_view()[0:3] = [1, 2, 3]
    assert view[0:3].tolist() == [1, 2, 3] and bytes(buffer)[0:3] == b"\x01\x02\x03"
    array = np.frombuffer(memory.buffer, dtype=np.uint8)
    array[10] = 99
    assert memory.uint8_view()[10] == 99
    arr = (ctypes.c_uint8 * 4).from_buffer(memory.buffer)
    arr[3] = 7
    assert bytearray(memory.buffer)[3] == 7
    del buffer, memory, array, arr
    gc.collect()
    view[100:104] = b"live"                             # the view keeps the memory alive
    assert bytes(view[100:104]) == b"live"


def test_imported_memory_is_shared(store):
    module = Module(store, """
        (module
          (import "env" "memory" (memory 1))
          (func (export "increment")
            i32.const 0 i32.const 0 i32.load i32.const 1 i32.add i32.store))""")
    memory = Memory(store, MemoryType(minimum=1))
    view = memory.uint8_view(offset=0)
    instance = Instance(module, {"env": {"memory": memory}})
    instance.exports.increment()
    instance.exports.increment()
    assert view[0] == 2


# ---- Table ----

def test_table(store):
    table = Instance(Module(store, '(module (table (export "table") 2 funcref))')).exports.table
    assert isinstance(table, Table) and table.size == 2
    assert str(table.type) == "TableType(type: FuncRef, minimum: 2, maximum: None)"
    own = Table(store, TableType(Type.EXTERN_REF, minimum=3, maximum=5), Value.externref("x"))
    assert own.size == 3 and own.get(2) == "x" and own.type.maximum == 5
    host = Function(store, lambda x: x + 1, FunctionType([Type.I32], [Type.I32]))
    funcs = Table(store, TableType(Type.FUNC_REF, 1), host)
    assert funcs.get(0) is host
    with pytest.raises(TypeError):
        Table(store, TableType(Type.FUNC_REF, 1), Value.i32(0))
    module = Module(store, """
        (module
          (type $i_i (func (param i32) (result i32)))
          (import "env" "table" (table 1 funcref))
          (func (export "call0") (param i32) (result i32)
            local.get 0 i32.const 0 call_indirect (type $i_i)))""")
    assert Instance(module, {"env": {"table": funcs}}).exports.call0(41) == 42


# ---- text format, target ----

def test_wat2wasm_and_wasm2wat():
    assert wasmer.wat2wasm("(module)") == b"\0asm\x01\0\0\0"
    with pytest.raises(wasmer.CompileError):
        wasmer.wat2wasm("(module (func")
    try:
        has_printer = hasattr(importlib.import_module("wasabi.text"), "wasm2wat")
    except ImportError:
        has_printer = False
    if has_printer:
        assert wasmer.wasm2wat(b"\0asm\x01\0\0\0").replace(" ", "") == "(module)"
    else:
        with pytest.raises(ImportError, match="wasabi.text"):
            wasmer.wasm2wat(b"\0asm\x01\0\0\0")


def test_target():
    from wasabi import target
    triple = target.Triple("x86_64-apple-darwin")
    assert str(triple) == "x86_64-apple-darwin"
    assert (triple.architecture, triple.vendor, triple.operating_system, triple.binary_format,
            triple.environment, triple.endianness, triple.pointer_width,
            triple.default_calling_convention) == ("x86_64", "apple", "darwin", "macho",
                                                   "unknown", "little", 8, "system_v")
    musl = target.Triple("x86_64-linux-musl")
    assert (musl.vendor, musl.operating_system, musl.environment, musl.binary_format) \
        == ("unknown", "linux", "musl", "elf")
    assert target.Triple("aarch64-unknown-linux-gnu").environment == "gnu"
    assert target.Triple("wasm32-wasi").binary_format == "wasm"
    with pytest.raises(ValueError):
        target.Triple("nonsense-arch")
    features = target.CpuFeatures()
    for name in ("sse2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "bmi", "bmi2",
                 "avx2", "avx512dq", "avx512vl", "lzcnt"):
        features.add(name)
    with pytest.raises(ValueError):
        features.add("warp-drive")
    assert "avx2" in features
    host = target.Target(target.Triple.host())
    assert isinstance(host.triple, target.Triple) and len(host.cpu_features) == 0
