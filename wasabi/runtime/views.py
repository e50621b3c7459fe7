"""Numpy-ready access to linear memory: the buffer, typed views, zero-copy arrays.

The native parts live in the extension (wasabi/_cy/memviews.pxi):
MemoryBuffer (buffer protocol over the live bytes) and the wasmer-style typed
views Int8Array ... Float64Array. This module adds the numpy helpers and a
mixin that gives a Memory class the whole surface:

    memory.buffer                       -> MemoryBuffer (np.asarray(memory.buffer): no copy)
    memory.uint8_view(offset=0) ...     -> live, bounds-checked typed views (offset in elements)
    memory.numpy(dtype, offset, count)  -> a numpy array over memory bytes (no copy)
    np.asarray(memory)                  -> the whole memory as uint8 (no copy)

A memory never moves when it grows, so arrays and views made before a grow
stay valid: typed views see the new size at once, numpy arrays keep the
length they were made with (make a new one to see new pages).
"""
from .. import _ext

MemoryBuffer = _ext.MemoryBuffer
MemoryView = _ext.MemoryView
Int8Array = _ext.Int8Array
Uint8Array = _ext.Uint8Array
Int16Array = _ext.Int16Array
Uint16Array = _ext.Uint16Array
Int32Array = _ext.Int32Array
Uint32Array = _ext.Uint32Array
Int64Array = _ext.Int64Array
Uint64Array = _ext.Uint64Array
Float32Array = _ext.Float32Array
Float64Array = _ext.Float64Array


def numpy_array(memory, dtype="uint8", offset=0, count=None):
    """A writable numpy array of `count` items of `dtype` over the memory bytes
    from byte `offset` on (count=None: as many whole items as fit now). No copy:
    writes go straight to wasm memory. IndexError when the range does not fit."""
    import numpy as np
    dtype = np.dtype(dtype)
    size = _ext.MemoryBuffer(memory).__len__()
    if offset < 0 or offset > size:
        raise IndexError(f"offset {offset} outside a memory of {size} bytes")
    available = (size - offset) // dtype.itemsize
    if count is None:
        count = available
    elif count < 0 or count > available:
        raise IndexError(f"{count} items of {dtype} from byte {offset} do not fit in a memory"
                         f" of {size} bytes")
    return np.frombuffer(_ext.MemoryBuffer(memory), dtype=dtype, count=count, offset=offset)


class MemoryViewsMixin:
    """The buffer, views and numpy surface for a class with a `_native` NativeMemory."""

    @property
    def buffer(self):
        return _ext.MemoryBuffer(self)

    def uint8_view(self, offset=0):
        return _ext.Uint8Array(self, offset)

    def int8_view(self, offset=0):
        return _ext.Int8Array(self, offset)

    def uint16_view(self, offset=0):
        return _ext.Uint16Array(self, offset)

    def int16_view(self, offset=0):
        return _ext.Int16Array(self, offset)

    def uint32_view(self, offset=0):
        return _ext.Uint32Array(self, offset)

    def int32_view(self, offset=0):
        return _ext.Int32Array(self, offset)

    def uint64_view(self, offset=0):
        return _ext.Uint64Array(self, offset)

    def int64_view(self, offset=0):
        return _ext.Int64Array(self, offset)

    def float32_view(self, offset=0):
        return _ext.Float32Array(self, offset)

    def float64_view(self, offset=0):
        return _ext.Float64Array(self, offset)

    def numpy(self, dtype="uint8", offset=0, count=None):
        return numpy_array(self, dtype, offset, count)

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        if copy:
            return np.array(_ext.MemoryBuffer(self), dtype=dtype, copy=True)
        array = np.frombuffer(_ext.MemoryBuffer(self), dtype="uint8")
        if dtype is not None and np.dtype(dtype) != array.dtype:
            if copy is False:
                raise ValueError("a memory is uint8: another dtype needs a copy")
            return array.astype(dtype)
        return array
