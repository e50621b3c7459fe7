"""Memory buffer, typed views and numpy arrays over linear memory (no compiler needed)."""
import ctypes
import gc

import numpy as np
import pytest

from wasabi.binary.types import Limits, MemoryType
from wasabi.runtime import Memory, Store
from wasabi.runtime.views import (Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
                                  Int64Array, MemoryBuffer, MemoryViewsMixin, Uint8Array,
                                  Uint16Array, Uint32Array, Uint64Array, numpy_array)

PAGE = 65536


class ViewMemory(Memory, MemoryViewsMixin):
    """A Memory with the views surface, as the lead's Memory will have it."""


@pytest.fixture
def memory():
    return ViewMemory(Store(), MemoryType(Limits(1, 4)))


def test_buffer_is_live_writable_and_zero_copy(memory):
    array = np.asarray(MemoryBuffer(memory))
    assert array.shape == (PAGE,) and array.dtype == np.uint8 and array.flags.writeable
    array[100:103] = [7, 8, 9]
    assert memory.read(100, 3) == b"\x07\x08\x09"
    memory.write(200, b"xyz")
    assert bytes(array[200:203]) == b"xyz"
    view = memoryview(memory.buffer)
    assert (view.nbytes, view.readonly, view.format, view.ndim, view.strides) == \
        (PAGE, False, "B", 1, (1,))
    assert len(bytearray(memory.buffer)) == PAGE


def test_buffer_keeps_memory_alive():
    view = memoryview(ViewMemory(Store(), MemoryType(Limits(1))).buffer)
    gc.collect()
    view[0:4] = b"abcd"                    # the reservation must still be mapped
    assert bytes(view[0:4]) == b"abcd"


def test_buffer_works_with_ctypes(memory):
    arr = (ctypes.c_uint8 * 4).from_buffer(memory.buffer)
    arr[0], arr[3] = 1, 64
    assert memory.read(0, 4) == b"\x01\x00\x00\x40"


def test_numpy_array_dtype_offset_count(memory):
    a = memory.numpy(np.int32, 8, 4)
    a[:] = [1, -2, 3, -4]
    assert memory.read(8, 16) == np.array([1, -2, 3, -4], "<i4").tobytes()
    assert numpy_array(memory, "float64").shape == (PAGE // 8,)
    assert numpy_array(memory, "uint8", 10).shape == (PAGE - 10,)
    with pytest.raises(IndexError):
        numpy_array(memory, "int32", PAGE - 4, 2)
    with pytest.raises(IndexError):
        numpy_array(memory, "uint8", PAGE + 1)
    assert np.asarray(memory).shape == (PAGE,)


@pytest.mark.parametrize("cls, dtype", [
    (Int8Array, "i1"), (Uint8Array, "u1"), (Int16Array, "<i2"), (Uint16Array, "<u2"),
    (Int32Array, "<i4"), (Uint32Array, "<u4"), (Int64Array, "<i8"), (Uint64Array, "<u8"),
    (Float32Array, "<f4"), (Float64Array, "<f8")])
def test_typed_views_match_numpy(memory, cls, dtype):
    view = cls(memory)
    item = np.dtype(dtype).itemsize
    assert view.bytes_per_element == item and len(view) == PAGE // item
    values = np.arange(-3, 7).astype(dtype) if dtype[-2] != "u" else np.arange(10).astype(dtype)
    view[2:12] = values
    expect = np.frombuffer(memory.read(2 * item, 10 * item), dtype)
    assert list(expect) == list(values)
    assert view[2:12] == values.tolist()
    assert view[2] == values[0] and view[11] == values[9]


def test_views_share_bytes_and_use_element_offsets(memory):
    int8, int16, int32 = memory.int8_view(), memory.int16_view(), memory.int32_view()
    int8[0:4] = [0b1, 0b100, 0b10000, 0b1000000]
    assert int16[0] == 0b0000010000000001 and int16[1] == 0b0100000000010000
    assert int32[0] == 0b01000000000100000000010000000001
    shifted = memory.int32_view(1)          # offset counts elements (wasmer semantics)
    shifted[0] = -5
    assert int32[1] == -5 and len(shifted) == PAGE // 4 - 1


def test_indices_and_steps(memory):
    view = memory.uint8_view()
    view[0:10] = list(range(10))
    view[len(view) - 1] = 99
    with pytest.raises(IndexError, match="Index cannot be negative"):   # wasmer: no -1
        view[-1]
    with pytest.raises(IndexError, match="Index cannot be negative"):
        view[-1] = 1
    assert view[8:2:-2] == [8, 6, 4]                    # wasabi: negative steps
    assert view[:5][::-1] == [4, 3, 2, 1, 0]
    assert view[0:10:3] == [0, 3, 6, 9]
    view[1:8:3] = [50, 51, 52]
    assert view[0:8] == [0, 50, 2, 3, 51, 5, 6, 52]
    view[9:0:-4] = b"\x01\x02\x03"
    assert view[1] == 3 and view[5] == 2 and view[9] == 1
    assert view[5:5] == [] and view[-3:] == view[len(view) - 3:] == [0, 0, 99]


def test_slice_assignment_from_buffers(memory):
    view = memory.uint8_view()
    view[7:12] = bytes(b"abcde")
    assert view[7:12] == [97, 98, 99, 100, 101]
    view[7:12] = bytearray(b"ABCDE")
    assert memory.read(7, 5) == b"ABCDE"
    view[0:3] = memoryview(b"xyz")
    assert memory.read(0, 3) == b"xyz"
    view[100:104] = np.array([1, 2, 3, 4], dtype=np.uint8)
    assert memory.read(100, 4) == b"\x01\x02\x03\x04"
    view[200:203] = np.array([1, 2, 3], dtype=np.uint8)[::-1]     # negative source stride
    assert memory.read(200, 3) == b"\x03\x02\x01"
    view[300:306:2] = np.arange(3, dtype=np.uint8)
    assert memory.read(300, 6) == b"\x00\x00\x01\x00\x02\x00"


def test_slice_assignment_converts_other_dtypes(memory):
    f64 = memory.float64_view()
    f64[0:3] = np.array([1, 2, 3], dtype=np.int64)        # ints become floats
    assert f64[0:3] == [1.0, 2.0, 3.0]
    i32 = memory.int32_view()
    i32[10:12] = np.array([[5, 6]], dtype=np.int64)       # narrowed and flattened
    assert i32[10:12] == [5, 6]
    with pytest.raises(TypeError):
        i32[0:2] = np.array([1.5, 2.5])                   # never float -> int silently
    i32[20:22] = [7, -8]
    assert i32[20:22] == [7, -8]


def test_slice_assignment_writes_the_shorter_of_slice_and_values(memory):
    view = memory.uint8_view()
    view[7:12:2] = [1, 2, 3, 4, 5]        # wasmer: zip of the slice and the values
    assert view[7:12] == [1, 0, 2, 0, 3]
    view[0:10] = b"ab"
    assert view[0:3] == [97, 98, 0]


def test_big_copy_is_exact(memory):
    memory.grow(3)
    data = np.random.default_rng(1).integers(0, 256, 4 * PAGE, dtype=np.uint8)
    memory.uint8_view()[:] = data
    assert np.array_equal(np.asarray(memory.buffer), data)
    floats = np.random.default_rng(2).random(PAGE // 4)
    memory.float64_view(3)[0:PAGE // 4] = floats
    assert np.array_equal(memory.numpy(np.float64, 24, PAGE // 4), floats)


def test_bounds_errors(memory):
    view = memory.uint8_view()
    for bad in (PAGE, PAGE + 1, -PAGE - 1, 2 ** 40, -2 ** 70):
        with pytest.raises(IndexError):
            view[bad]
        with pytest.raises(IndexError):
            view[bad] = 1
    i64 = memory.int64_view(PAGE // 8 - 1)
    assert len(i64) == 1
    with pytest.raises(IndexError):
        i64[1]
    assert len(memory.int64_view(PAGE)) == 0              # offset past the end: empty
    with pytest.raises(IndexError):
        memory.int64_view(PAGE)[0]
    with pytest.raises(ValueError):
        memory.uint8_view(-1)
    with pytest.raises(ValueError):
        view["a"]
    with pytest.raises(OverflowError):
        view[0] = 256
    with pytest.raises(OverflowError):
        memory.int8_view()[0] = -129
    with pytest.raises(TypeError):
        view[0:3] = 5
    assert view[PAGE - 2:PAGE + 10] == [0, 0]             # slices clamp, as in Python


def test_views_and_arrays_survive_grow(memory):
    view = memory.uint8_view()
    i32 = memory.int32_view()
    before = np.asarray(memory.buffer)
    view[PAGE - 1] = 42
    assert memory.grow(2) == 1
    assert len(view) == 3 * PAGE and len(i32) == 3 * PAGE // 4      # views see the new size
    view[3 * PAGE - 1] = 7
    assert view[len(view) - 1] == 7 and memory.read(3 * PAGE - 1, 1) == b"\x07"
    assert before[PAGE - 1] == 42 and before.shape == (PAGE,)     # arrays keep their length
    before[0] = 9
    assert view[0] == 9
    assert np.asarray(memory.buffer).shape == (3 * PAGE,)


def test_views_need_a_memory():
    with pytest.raises(TypeError):
        Uint8Array(object())
    with pytest.raises(TypeError):
        MemoryBuffer(b"not a memory")
