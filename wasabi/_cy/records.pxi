# The native records wasabi/runtime/*.py assembles into instances: raw buffers,
# linear memories, tables.

cdef class RawBuffer:
    """Zeroed, 16-byte aligned native memory owned by a Python object: the
    vmctx, its arrays (funcs, globals, tables, type ids, segments), global
    cells and element segments."""
    cdef uint8_t* mem
    cdef uint8_t* ptr
    cdef readonly Py_ssize_t nbytes

    def __cinit__(self, Py_ssize_t nbytes):
        if nbytes < 0:
            raise ValueError("negative size")
        self.mem = <uint8_t*>calloc(nbytes + 16, 1)
        if self.mem == NULL:
            raise MemoryError()
        self.ptr = <uint8_t*>((<uintptr_t>self.mem + 15) & ~(<uintptr_t>15))
        self.nbytes = nbytes

    def __dealloc__(self):
        free(self.mem)

    @property
    def address(self):
        return <uintptr_t>self.ptr

    cdef int _check(self, Py_ssize_t offset, Py_ssize_t n) except -1:
        if offset < 0 or n < 0 or offset + n > self.nbytes:
            raise IndexError(f"offset {offset} + {n} outside a {self.nbytes}-byte buffer")
        return 0

    def get_u64(self, Py_ssize_t offset):
        cdef uint64_t v
        self._check(offset, 8)
        memcpy(&v, self.ptr + offset, 8)
        return v

    def set_u64(self, Py_ssize_t offset, uint64_t value):
        self._check(offset, 8)
        memcpy(self.ptr + offset, &value, 8)

    def get_bytes(self, Py_ssize_t offset, Py_ssize_t n):
        self._check(offset, n)
        return PyBytes_FromStringAndSize(<char*>self.ptr + offset, n)

    def set_bytes(self, Py_ssize_t offset, const uint8_t[:] data):
        cdef Py_ssize_t n = data.shape[0]
        self._check(offset, n)
        if n:
            memcpy(self.ptr + offset, &data[0], n)

    def fill_u64(self, Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t count, uint64_t value):
        """Write `value` at offset, offset + stride, ... (count times): one field of
        each record of an array (the vmctx of every function record)."""
        cdef Py_ssize_t i
        if count <= 0:
            return
        if stride < 8:
            raise ValueError("stride below 8 bytes")
        self._check(offset, (count - 1) * stride + 8)
        for i in range(count):
            memcpy(self.ptr + offset + i * stride, &value, 8)


cdef class NativeMemory:
    """A wrt_memory: a reservation whose base never moves."""
    cdef wrt_memory* mem
    cdef object limiter     # the C record points at it: kept alive here

    def __cinit__(self, uint64_t min_pages, uint64_t max_pages, bint guarded, bint cow=True):
        # faulthandler.enable() may have put its handler above ours since the
        # last check: a guard-page fault must reach wasabi first
        wrt_signals_ensure()
        self.mem = wrt_memory_new(min_pages, max_pages, guarded, cow)
        if self.mem == NULL:
            raise MemoryError(f"cannot reserve a memory of {min_pages} pages"
                              f" ({'guarded' if guarded else 'explicit bounds'})")

    def __dealloc__(self):
        wrt_memory_free(self.mem)

    @property
    def address(self):
        return <uintptr_t>self.mem

    @property
    def base(self):
        return <uintptr_t>self.mem.base

    @property
    def size(self):
        """Accessible bytes."""
        return self.mem.size

    @property
    def pages(self):
        return self.mem.size // WASM_PAGE_SIZE

    @property
    def max_pages(self):
        return self.mem.max_pages

    @property
    def reserved(self):
        return self.mem.reserved

    @property
    def guarded(self):
        return bool(self.mem.flags & MEMORY_FLAG_GUARDED)

    def set_limiter(self, limiter, declared_max_bytes):
        """memory.grow in compiled code asks `limiter` first (limits.c); None: nobody."""
        cdef uint64_t mx = 0xFFFFFFFFFFFFFFFF if declared_max_bytes is None else declared_max_bytes
        self.limiter = limiter
        wrt_memory_set_limiter(self.mem, NULL if limiter is None else <void*>limiter, mx)

    def grow(self, uint64_t delta_pages):
        """Old size in pages, or -1 when the memory cannot grow that much."""
        return wrt_memory_grow(self.mem, delta_pages)

    cdef int _check(self, uint64_t offset, uint64_t n) except -1:
        if offset > self.mem.size or n > self.mem.size - offset:
            raise IndexError(f"bytes {offset}..{offset + n} outside a memory of {self.mem.size} bytes")
        return 0

    def read(self, uint64_t offset, uint64_t n):
        self._check(offset, n)
        return PyBytes_FromStringAndSize(<char*>self.mem.base + offset, n)

    def write(self, uint64_t offset, const uint8_t[:] data):
        cdef uint64_t n = data.shape[0]
        self._check(offset, n)
        if n:
            memcpy(self.mem.base + offset, &data[0], n)

    def init_segment(self, uint64_t dst, bytes data, uint64_t src, uint64_t n):
        """memory.init from Python (instantiation): a trap code, 0 on success."""
        cdef wrt_segment seg
        seg.ptr = PyBytes_AS_STRING(data)
        seg.len = len(data)
        return wrt_memory_init(self.mem, &seg, dst, src, n)


cdef class NativeTable:
    """A wrt_table of raw u64 references."""
    cdef wrt_table* table
    cdef object limiter     # the C record points at it: kept alive here

    def __cinit__(self, uint64_t size, object maximum, uint64_t elem_type, uint64_t init,
                  object limit=None):
        # limit: the most elements it may grow to (a store's table_elements), below maximum
        cdef uint64_t mx = TABLE_NO_MAX if maximum is None else maximum
        cdef uint64_t lim = mx if limit is None else limit
        self.table = wrt_table_new_limited(size, mx, lim, elem_type, init)
        if self.table == NULL:
            raise MemoryError(f"cannot allocate a table of {size} elements")

    def __dealloc__(self):
        wrt_table_free(self.table)

    @property
    def address(self):
        return <uintptr_t>self.table

    @property
    def size(self):
        return self.table.size

    @property
    def maximum(self):
        return None if self.table.max == TABLE_NO_MAX else self.table.max

    @property
    def elem_type(self):
        return self.table.elem_type

    @property
    def capacity(self):
        """Elements the table can hold: it grows in place up to this, never further."""
        return wrt_table_capacity(self.table)

    def get(self, uint64_t index):
        if index >= self.table.size:
            raise IndexError(f"table index {index} out of range (size {self.table.size})")
        return self.table.elems[index]

    def set(self, uint64_t index, uint64_t raw):
        if index >= self.table.size:
            raise IndexError(f"table index {index} out of range (size {self.table.size})")
        self.table.elems[index] = raw

    def grow(self, uint64_t delta, uint64_t init):
        return wrt_table_grow(self.table, delta, init)

    def set_limiter(self, limiter):
        """table.grow in compiled code asks `limiter` first (limits.c); None: nobody."""
        self.limiter = limiter
        wrt_table_set_limiter(self.table, NULL if limiter is None else <void*>limiter)

    def init_segment(self, uint64_t dst, RawBuffer refs, uint64_t count, uint64_t src, uint64_t n):
        """table.init from Python (instantiation): a trap code, 0 on success."""
        cdef wrt_segment seg
        seg.ptr = refs.ptr
        seg.len = count
        return wrt_table_init(self.table, &seg, dst, src, n)


def bytes_address(bytes data):
    """Address of a bytes object's buffer (valid while the object lives): data
    segments point into the module's own bytes instead of copies."""
    return <uintptr_t>PyBytes_AS_STRING(data)
