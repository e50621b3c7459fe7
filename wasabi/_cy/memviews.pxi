# Python access to linear memory without copies: a buffer-protocol object over
# the live bytes (numpy, memoryview, bytearray, ctypes), and the typed views of
# the `wasmer` package (Uint8Array ... Float64Array).
#
# A memory's base never moves (it is a reservation, grown in place), so any
# pointer derived from it stays valid for the memory's lifetime, and the
# views hold the NativeMemory, which owns the reservation. Every access is
# checked against the size at the moment of the access (memories only grow),
# so an out-of-range index is an IndexError, never a fault.
#
# View semantics follow wasmer-python 1.1.0 where they are defined: `offset` is
# in elements, len() is the live number of elements from the offset (it grows
# with the memory), a slice read returns a list, a slice assignment writes
# min(len(slice), len(values)) elements. As in wasmer, an index is not Python's:
# a negative index is an IndexError (not counted from the end), and so is a slice
# whose start passes its stop (`view[2:1]`); slice bounds are normalized as
# Python's (`view[-3:]` is the last three). Beyond wasmer: slices may have a
# negative step, and buffers (numpy arrays, bytes, bytearray, memoryview) of the
# view's element kind are copied with one memmove.
from cpython.buffer cimport (PyObject_CheckBuffer, PyObject_GetBuffer, PyBuffer_Release,
                             PyBUF_RECORDS_RO, PyBUF_RECORDS, PyBUF_FORMAT, PyBUF_STRIDES, PyBUF_ND)
from cpython.slice cimport PySlice_Unpack, PySlice_AdjustIndices
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_FromUnsignedLongLong
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_SIZE, PySequence_Fast_GET_ITEM
from cpython.number cimport PyIndex_Check
from libc.string cimport memmove
from libc.stdint cimport int8_t, int16_t, uint16_t

cdef extern from "Python.h":
    Py_ssize_t PyNumber_AsSsize_t(object o, object exc) except? -1
    bint PySlice_Check(object o)

cdef enum ViewKind:
    K_INT8, K_UINT8, K_INT16, K_UINT16, K_INT32, K_UINT32, K_INT64, K_UINT64, K_FLOAT32, K_FLOAT64

cdef int[10] _KIND_SIZE = [1, 1, 2, 2, 4, 4, 8, 8, 4, 8]
_KIND_NAMES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
               "float32", "float64")
# integer bounds per kind (the 64-bit ones are checked by the C conversions)
cdef long long[8] _KIND_MIN = [-128, 0, -32768, 0, -2147483648, 0, 0, 0]
cdef long long[8] _KIND_MAX = [127, 255, 32767, 65535, 2147483647, 4294967295, 0, 0]


cdef NativeMemory _native_memory(object memory):
    """A NativeMemory from itself or from a wasabi Memory (its `_native`)."""
    if isinstance(memory, NativeMemory):
        return <NativeMemory>memory
    native = getattr(memory, "_native", None)
    if not isinstance(native, NativeMemory):
        raise TypeError(f"expected a wasabi Memory, got {type(memory).__name__}")
    return <NativeMemory>native


cdef class MemoryBuffer:
    """The live bytes of a memory through the buffer protocol (writable, format
    'B', one dimension). Each export covers the size at the time it is made:
    `np.asarray(buf)`, `memoryview(buf)` and `bytearray(buf)` see the memory as
    it is now; after a grow, take a new export to see the new pages."""
    cdef readonly NativeMemory memory

    def __cinit__(self, memory):
        self.memory = _native_memory(memory)

    def __len__(self):
        return self.memory.mem.size

    def __getbuffer__(self, Py_buffer* view, int flags):
        # shape and stride live with the export (exports may differ in size)
        cdef Py_ssize_t* dims = <Py_ssize_t*>malloc(2 * sizeof(Py_ssize_t))
        if dims == NULL:
            raise MemoryError()
        dims[0] = <Py_ssize_t>self.memory.mem.size
        dims[1] = 1
        view.buf = self.memory.mem.base
        view.obj = self
        view.len = dims[0]
        view.readonly = 0
        view.itemsize = 1
        view.format = NULL
        if flags & PyBUF_FORMAT:
            view.format = b"B"
        view.ndim = 1
        view.shape = NULL
        if flags & PyBUF_ND:
            view.shape = dims
        view.strides = NULL
        if flags & PyBUF_STRIDES:
            view.strides = dims + 1
        view.suboffsets = NULL
        view.internal = dims

    def __releasebuffer__(self, Py_buffer* view):
        free(view.internal)

    def __repr__(self):
        return f"<wasabi MemoryBuffer: {self.memory.mem.size} bytes>"


cdef class MemoryView:
    """A typed, live, bounds-checked view of a memory from element `offset` on."""
    cdef readonly NativeMemory memory
    cdef wrt_memory* mem
    cdef readonly Py_ssize_t offset
    cdef int kind
    cdef Py_ssize_t itemsize

    def __cinit__(self, memory, Py_ssize_t offset=0, *args, **kwargs):
        if offset < 0:
            raise ValueError("a view offset cannot be negative")
        self.memory = _native_memory(memory)
        self.mem = self.memory.mem
        self.offset = offset
        self._set_kind(K_UINT8)

    cdef void _set_kind(self, int kind):
        # each subclass's __cinit__ (run after this class's) sets its own kind
        self.kind = kind
        self.itemsize = _KIND_SIZE[kind]

    @property
    def bytes_per_element(self):
        return self.itemsize

    @property
    def dtype(self):
        """The numpy dtype name of the elements."""
        return _KIND_NAMES[self.kind]

    cdef inline Py_ssize_t _length(self) nogil:
        cdef Py_ssize_t total = <Py_ssize_t>(self.mem.size // <uint64_t>self.itemsize)
        return total - self.offset if total > self.offset else 0

    cdef inline uint8_t* _address(self, Py_ssize_t index) nogil:
        return self.mem.base + (self.offset + index) * self.itemsize

    def __len__(self):
        return self._length()

    cdef Py_ssize_t _index(self, object key) except -1:
        cdef Py_ssize_t n = self._length()
        cdef Py_ssize_t i = PyNumber_AsSsize_t(key, IndexError)
        # wasmer's rules and messages (its tests compare them)
        if i < 0:
            raise IndexError("Out of bound: Index cannot be negative")
        if i >= n:
            raise IndexError(f"Out of bound: Index {i} is larger than the view size {n}")
        return i

    cdef Py_ssize_t _slice(self, object key, Py_ssize_t* start, Py_ssize_t* step) except -1:
        """The start, step and element count of slice `key` (bounds normalized as
        Python's); a start past the stop is wasmer's IndexError, not an empty list."""
        cdef Py_ssize_t stop
        if PySlice_Unpack(key, start, &stop, step) < 0:
            raise ValueError("invalid slice")
        count = PySlice_AdjustIndices(self._length(), start, &stop, step[0])
        if step[0] > 0 and start[0] > stop:
            raise IndexError(f"Slice `{start[0]}:{stop}` cannot be empty")
        return count

    def __getitem__(self, key):
        cdef Py_ssize_t start, step, count
        if PyIndex_Check(key):
            return _read_element(self.kind, self._address(self._index(key)))
        if PySlice_Check(key):
            count = self._slice(key, &start, &step)
            return self._read_list(start, step, count)
        raise ValueError("Only integers and slices are valid to represent an index")

    cdef list _read_list(self, Py_ssize_t start, Py_ssize_t step, Py_ssize_t count):
        cdef list out = PyList_New(count)
        cdef Py_ssize_t k
        for k in range(count):
            v = _read_element(self.kind, self._address(start + k * step))
            Py_INCREF(v)
            PyList_SET_ITEM(out, k, v)
        return out

    def __setitem__(self, key, value):
        cdef Py_ssize_t start, step, count
        if PyIndex_Check(key):
            _write_element(self.kind, self._address(self._index(key)), value)
            return
        if not PySlice_Check(key):
            raise ValueError("Only integers and slices are valid to represent an index")
        count = self._slice(key, &start, &step)
        if PyObject_CheckBuffer(value):
            if self._write_buffer(start, step, count, value):
                return
            value = _convert_buffer(value, _KIND_NAMES[self.kind])
            if PyObject_CheckBuffer(value) and self._write_buffer(start, step, count, value):
                return
        self._write_sequence(start, step, count, value)

    cdef bint _write_buffer(self, Py_ssize_t start, Py_ssize_t step, Py_ssize_t count,
                            object value) except -1:
        """Copy from a buffer of this view's element kind; False if the kind differs."""
        cdef Py_buffer src
        cdef Py_ssize_t n, k, src_stride
        cdef uint8_t* p
        PyObject_GetBuffer(value, &src, PyBUF_RECORDS_RO)
        try:
            if src.ndim > 1 or not _same_kind(src.format, src.itemsize, self.kind):
                return False
            n = src.len // src.itemsize
            if n > count:
                n = count
            src_stride = src.strides[0] if src.ndim == 1 else src.itemsize
            p = <uint8_t*>src.buf
            if step == 1 and src_stride == self.itemsize:
                # memmove: the source may be this very memory
                memmove(self._address(start), p, n * self.itemsize)
            else:
                for k in range(n):
                    memmove(self._address(start + k * step), p + k * src_stride, self.itemsize)
            return True
        finally:
            PyBuffer_Release(&src)

    cdef int _write_sequence(self, Py_ssize_t start, Py_ssize_t step, Py_ssize_t count,
                             object value) except -1:
        cdef Py_ssize_t n, k
        try:
            seq = PySequence_Fast(value, "")
        except TypeError:
            raise TypeError("a slice of a memory view takes a sequence or a buffer of values,"
                            f" not {type(value).__name__}") from None
        n = PySequence_Fast_GET_SIZE(seq)
        if n > count:
            n = count
        for k in range(n):
            _write_element(self.kind, self._address(start + k * step),
                           <object>PySequence_Fast_GET_ITEM(seq, k))
        return 0

    def __repr__(self):
        return (f"<wasabi {type(self).__name__}: {self._length()} elements"
                f" from element {self.offset}>")


cdef object _read_element(int kind, const uint8_t* p):
    cdef int8_t i8
    cdef int16_t i16
    cdef uint16_t u16
    cdef int32_t i32
    cdef uint32_t u32
    cdef int64_t i64
    cdef uint64_t u64
    cdef float f
    cdef double d
    if kind == K_UINT8:
        return PyLong_FromLong(p[0])
    if kind == K_INT8:
        return PyLong_FromLong(<int8_t>p[0])
    if kind == K_INT16:
        memcpy(&i16, p, 2)
        return PyLong_FromLong(i16)
    if kind == K_UINT16:
        memcpy(&u16, p, 2)
        return PyLong_FromLong(u16)
    if kind == K_INT32:
        memcpy(&i32, p, 4)
        return PyLong_FromLong(i32)
    if kind == K_UINT32:
        memcpy(&u32, p, 4)
        return PyLong_FromLongLong(u32)
    if kind == K_INT64:
        memcpy(&i64, p, 8)
        return PyLong_FromLongLong(i64)
    if kind == K_UINT64:
        memcpy(&u64, p, 8)
        return PyLong_FromUnsignedLongLong(u64)
    if kind == K_FLOAT32:
        memcpy(&f, p, 4)
        return PyFloat_FromDouble(f)
    memcpy(&d, p, 8)
    return PyFloat_FromDouble(d)


cdef int _write_element(int kind, uint8_t* p, object value) except -1:
    cdef long long v
    cdef uint64_t u
    cdef float f
    cdef double d
    if kind == K_FLOAT32:
        f = <float>_as_double(value)
        memcpy(p, &f, 4)
    elif kind == K_FLOAT64:
        d = _as_double(value)
        memcpy(p, &d, 8)
    elif kind == K_UINT64:
        u = value                  # OverflowError outside 0..2**64-1
        memcpy(p, &u, 8)
    elif kind == K_INT64:
        v = value                  # OverflowError outside the signed range
        memcpy(p, &v, 8)
    else:
        v = value
        if v < _KIND_MIN[kind] or v > _KIND_MAX[kind]:
            raise OverflowError(f"{value!r} does not fit in {_KIND_NAMES[kind]}")
        memcpy(p, &v, _KIND_SIZE[kind])     # little-endian: the low bytes
    return 0


cdef bint _same_kind(const char* fmt, Py_ssize_t itemsize, int kind):
    """Whether buffer items of struct format `fmt` copy bit for bit into `kind`:
    same size, both integers or both floats, native (little-endian) order."""
    cdef char c
    if fmt == NULL:
        c = b'B'
    else:
        while fmt[0] == b'@' or fmt[0] == b'=' or fmt[0] == b'<':
            fmt += 1
        if fmt[0] == 0 or fmt[1] != 0:
            return False            # byte-swapped, composite or empty formats
        c = fmt[0]
    if itemsize != _KIND_SIZE[kind]:
        return False
    if kind == K_FLOAT32 or kind == K_FLOAT64:
        return c == b'f' or c == b'd'
    return c in b"bBhHiIlLqQnN"


cdef object _convert_buffer(object value, str dtype):
    """A buffer of another element kind, as an array of `dtype` (numpy rules,
    casting 'same_kind': ints widen or wrap, ints become floats, floats never
    silently become ints)."""
    try:
        import numpy
    except ImportError:
        return value                # the per-element path converts instead
    return numpy.asarray(value).ravel().astype(dtype, casting="same_kind", copy=False)


cdef class Int8Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_INT8)

cdef class Uint8Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_UINT8)

cdef class Int16Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_INT16)

cdef class Uint16Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_UINT16)

cdef class Int32Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_INT32)

cdef class Uint32Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_UINT32)

cdef class Int64Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_INT64)

cdef class Uint64Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_UINT64)

cdef class Float32Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_FLOAT32)

cdef class Float64Array(MemoryView):
    def __cinit__(self, *args, **kwargs):
        self._set_kind(K_FLOAT64)
