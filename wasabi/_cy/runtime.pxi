# The Cython glue of the C runtime (wasabi/_native): entering compiled code,
# traps, host calls, value conversion, and the native records (memories,
# tables, raw buffers) that wasabi/runtime/*.py assembles into instances.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.ref cimport PyObject

import threading as _threading

cdef extern from "vmctx.h":
    ctypedef struct wrt_memory:
        uint8_t* base
        uint64_t size
        uint64_t max_pages
        uint64_t reserved
        uint64_t flags
    ctypedef struct wrt_func:
        void* code
        void* vmctx
        uint64_t type_id
    ctypedef struct wrt_table:
        uint64_t* elems
        uint64_t size
        uint64_t max
        uint64_t elem_type
    ctypedef struct wrt_segment:
        void* ptr
        uint64_t len
    ctypedef struct wrt_host:
        void* func
        uint64_t type_id
    int TRAP_HOST_EXCEPTION, TRAP_COMPILE_ERROR
    uint64_t MEMORY_FLAG_GUARDED, WASM_PAGE_SIZE, TABLE_NO_MAX

cdef extern from "runtime.h":
    ctypedef int (*wrt_host_dispatch_fn)(void* hostrec, void* slots)
    int wasabi_entry(void* thunk, void* fn, void* vmctx, void* slots) nogil
    void wrt_set_max_wasm_stack(uint64_t nbytes)
    int wrt_signals_ensure()
    int wrt_signals_on_top()
    int wrt_register_code_range(uintptr_t begin, uintptr_t end)
    int wrt_unregister_code_range(uintptr_t begin, uintptr_t end)
    wrt_memory* wrt_memory_new(uint64_t min_pages, uint64_t max_pages, int guarded)
    void wrt_memory_free(wrt_memory* mem)
    int64_t wrt_memory_grow(wrt_memory* mem, uint64_t delta_pages)
    int wrt_memory_init(wrt_memory* mem, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n)
    wrt_table* wrt_table_new(uint64_t size, uint64_t max, uint64_t elem_type, uint64_t init)
    void wrt_table_free(wrt_table* t)
    int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init)
    int wrt_table_init(wrt_table* t, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n)
    void wrt_set_host_dispatch(wrt_host_dispatch_fn fn)

cdef extern from "abi.h":
    ctypedef struct wrt_abi_value:
        const char* name
        uint64_t value
    ctypedef struct wrt_builtin_entry:
        const char* name
        void* address
    const wrt_abi_value* wrt_abi_layout
    const wrt_abi_value* wrt_abi_traps
    const wrt_builtin_entry* wrt_builtin_table


# ---- ABI tables, builtins, code ranges, signal handlers ----

cdef dict _abi_table(const wrt_abi_value* entries):
    cdef dict out = {}
    cdef int i = 0
    while entries[i].name != NULL:
        out[entries[i].name.decode()] = entries[i].value
        i += 1
    return out


def abi_layout():
    """Offsets and sizes as the C compiler laid them out (name -> int)."""
    return _abi_table(wrt_abi_layout)


def abi_trap_codes():
    return _abi_table(wrt_abi_traps)


def builtin_addresses():
    """name -> address of every runtime builtin, for the JIT's import_symbol."""
    cdef dict out = {}
    cdef int i = 0
    while wrt_builtin_table[i].name != NULL:
        out[wrt_builtin_table[i].name.decode()] = <uintptr_t>wrt_builtin_table[i].address
        i += 1
    return out


def register_code_range(uintptr_t begin, uintptr_t end):
    """Declare [begin, end) as compiled code: faults there may become traps."""
    if end <= begin or wrt_register_code_range(begin, end) != 0:
        raise MemoryError("cannot register code range")


def unregister_code_range(uintptr_t begin, uintptr_t end):
    wrt_unregister_code_range(begin, end)


def signals_ensure():
    """Put wasabi's SIGSEGV/SIGBUS handler on top (chaining to the one found)."""
    if wrt_signals_ensure() != 0:
        raise OSError("cannot install the wasabi fault handler")


def signals_on_top():
    return bool(wrt_signals_on_top())


def set_max_wasm_stack(uint64_t nbytes):
    """Limit the stack compiled code may use below the outermost entry (0: no limit)."""
    wrt_set_max_wasm_stack(nbytes)


# ---- values in 16-byte slots ----
# i32/f32 in the low 4 bytes, i64/f64/refs in the low 8, v128 in all 16.

cdef enum:
    T_I32 = 0x7F
    T_I64 = 0x7E
    T_F32 = 0x7D
    T_F64 = 0x7C
    T_V128 = 0x7B
    T_FUNCREF = 0x70
    T_EXTERNREF = 0x6F
    MAX_STACK_SLOTS = 16

# set by wasabi.runtime: address of a wrt_func -> the Python function object
_funcref_resolver = None
_pending = _threading.local()


def set_funcref_resolver(resolver):
    global _funcref_resolver
    _funcref_resolver = resolver


def set_pending_exception(exc):
    """Keep `exc` for this thread: the entry that sees TRAP_HOST_EXCEPTION or
    TRAP_COMPILE_ERROR raises it (used by host calls and lazy compilation)."""
    _pending.exc = exc


cdef object _take_pending():
    exc = getattr(_pending, "exc", None)
    _pending.exc = None
    return exc


cdef uint64_t _int_bits(object value, int bits) except? 0xFFFFFFFFFFFFFFFF:
    # signed or unsigned, as wasm makes no difference; anything wider is an error
    cdef long long v
    cdef unsigned long long u
    try:
        v = value            # the common case: a signed value that fits a C long long
    except OverflowError:
        u = value            # 2**63 .. 2**64-1 (raises OverflowError beyond)
        if bits == 32:
            raise OverflowError(f"{value!r} does not fit in i32")
        return u
    if bits == 32:
        if v < -0x80000000 or v > 0xFFFFFFFF:
            raise OverflowError(f"{value!r} does not fit in i32")
        return (<uint64_t>v) & 0xFFFFFFFF
    return <uint64_t>v


cdef int _to_slot(uint8_t* slot, int vtype, object value, dict keep) except -1:
    cdef uint64_t bits
    cdef float f
    cdef double d
    memset(slot, 0, 16)
    if vtype == T_I32:
        bits = _int_bits(value, 32)
        memcpy(slot, &bits, 4)
    elif vtype == T_I64:
        bits = _int_bits(value, 64)
        memcpy(slot, &bits, 8)
    elif vtype == T_F32:
        f = <float>float(value)
        memcpy(slot, &f, 4)
    elif vtype == T_F64:
        d = float(value)
        memcpy(slot, &d, 8)
    elif vtype == T_V128:
        v = int(value) & ((1 << 128) - 1)
        bits = v & 0xFFFFFFFFFFFFFFFF
        memcpy(slot, &bits, 8)
        bits = v >> 64
        memcpy(slot + 8, &bits, 8)
    elif vtype == T_FUNCREF:
        if value is None:
            bits = 0
        else:
            try:
                bits = value._record_address
            except AttributeError:
                raise TypeError(f"expected a wasm function or None for funcref, got {value!r}") from None
            keep[bits] = value
        memcpy(slot, &bits, 8)
    elif vtype == T_EXTERNREF:
        bits = 0 if value is None else <uintptr_t><PyObject*>value
        if bits:
            keep[bits] = value    # compiled code may store it in a table or global
        memcpy(slot, &bits, 8)
    else:
        raise TypeError(f"unsupported value type {vtype:#x}")
    return 0


cdef object _from_slot(const uint8_t* slot, int vtype):
    cdef int32_t i32
    cdef int64_t i64
    cdef uint64_t lo, hi
    cdef float f
    cdef double d
    if vtype == T_I32:
        memcpy(&i32, slot, 4)
        return i32
    if vtype == T_I64:
        memcpy(&i64, slot, 8)
        return i64
    if vtype == T_F32:
        memcpy(&f, slot, 4)
        return <double>f
    if vtype == T_F64:
        memcpy(&d, slot, 8)
        return d
    if vtype == T_V128:
        memcpy(&lo, slot, 8)
        memcpy(&hi, slot + 8, 8)
        return (<object>hi << 64) | lo
    memcpy(&lo, slot, 8)
    if lo == 0:
        return None
    if vtype == T_EXTERNREF:
        return <object><PyObject*><uintptr_t>lo
    if vtype == T_FUNCREF:
        return _funcref_resolver(lo)
    raise TypeError(f"unsupported value type {vtype:#x}")


def raw_from_value(int vtype, value, dict keep):
    """The slot bits (as an int) of a Python value (used for globals and tables)."""
    cdef uint64_t buf[2]
    _to_slot(<uint8_t*>buf, vtype, value, keep)
    return (<object>buf[1] << 64) | buf[0]


def value_from_raw(int vtype, raw):
    cdef uint64_t buf[2]
    buf[0] = raw & 0xFFFFFFFFFFFFFFFF
    buf[1] = (raw >> 64) & 0xFFFFFFFFFFFFFFFF
    return _from_slot(<uint8_t*>buf, vtype)


# ---- entering compiled code ----

cdef object _trap_error(int code):
    if code == TRAP_HOST_EXCEPTION or code == TRAP_COMPILE_ERROR:
        exc = _take_pending()
        if exc is not None:
            return exc
    from wasabi.errors import Trap
    from wasabi.abi.traps import message
    return Trap(message(code), code)


cdef class _HeapSlots:
    """Slot storage for calls with more values than fit on the C stack."""
    cdef uint8_t* mem
    cdef uint8_t* ptr

    def __cinit__(self, Py_ssize_t count):
        self.mem = <uint8_t*>calloc(count * 16 + 16, 1)
        if self.mem == NULL:
            raise MemoryError()
        self.ptr = <uint8_t*>((<uintptr_t>self.mem + 15) & ~(<uintptr_t>15))

    def __dealloc__(self):
        free(self.mem)


cdef int _enter(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, uint8_t* slots) except -1:
    cdef int code
    with nogil:
        code = wasabi_entry(<void*>thunk, <void*>fn, <void*>vmctx, slots)
    if code != 0:
        raise _trap_error(code)
    return 0


cdef object _call_typed(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, tuple params,
                        tuple results, tuple args, dict keep):
    cdef Py_ssize_t n = len(params), m = len(results), i
    cdef uint64_t inline_buf[2 * MAX_STACK_SLOTS + 2]
    cdef uint8_t* slots = <uint8_t*>((<uintptr_t>inline_buf + 15) & ~(<uintptr_t>15))
    cdef _HeapSlots heap
    if len(args) != n:
        raise TypeError(f"expected {n} arguments, got {len(args)}")
    if n > MAX_STACK_SLOTS or m > MAX_STACK_SLOTS:
        heap = _HeapSlots(max(n, m))
        slots = heap.ptr
    for i in range(n):
        _to_slot(slots + 16 * i, <int>params[i], args[i], keep)
    _enter(thunk, fn, vmctx, slots)
    if m == 0:
        return None
    if m == 1:
        return _from_slot(slots, <int>results[0])
    return tuple([_from_slot(slots + 16 * i, <int>results[i]) for i in range(m)])


def call_array(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, tuple params, tuple results,
               args, dict keep):
    """Call compiled code `fn` through its signature's array thunk, with the GIL released.

    Returns None, the single result, or a tuple of results; a trap raises Trap
    (or the host function's own exception, unchanged).
    """
    return _call_typed(thunk, fn, vmctx, params, results, tuple(args), keep)


def call_array_raw(uintptr_t thunk, uintptr_t fn, uintptr_t vmctx, raw_args, Py_ssize_t nresults):
    """As call_array, with slots as raw 128-bit ints (exact NaN payloads)."""
    cdef Py_ssize_t n = len(raw_args), i
    cdef _HeapSlots slots = _HeapSlots(max(n, nresults, 1))
    cdef uint64_t lo, hi
    for i in range(n):
        raw = raw_args[i]
        lo = raw & 0xFFFFFFFFFFFFFFFF
        hi = (raw >> 64) & 0xFFFFFFFFFFFFFFFF
        memcpy(slots.ptr + 16 * i, &lo, 8)
        memcpy(slots.ptr + 16 * i + 8, &hi, 8)
    _enter(thunk, fn, vmctx, slots.ptr)
    out = []
    for i in range(nresults):
        memcpy(&lo, slots.ptr + 16 * i, 8)
        memcpy(&hi, slots.ptr + 16 * i + 8, 8)
        out.append((<object>hi << 64) | lo)
    return out


cdef class FuncHandle:
    """A callable compiled function: code + vmctx + its signature's array thunk.

    wasabi.runtime.Function subclasses it; `call` is a METH_FASTCALL method.
    """
    cdef readonly uintptr_t thunk, code, vmctx, record_address
    cdef readonly tuple params, results
    cdef readonly dict keep

    def __init__(self, uintptr_t thunk, uintptr_t code, uintptr_t vmctx, tuple params,
                 tuple results, dict keep, uintptr_t record_address):
        self.thunk = thunk
        self.code = code
        self.vmctx = vmctx
        self.params = params
        self.results = results
        self.keep = keep
        self.record_address = record_address

    @property
    def _record_address(self):
        return self.record_address

    def call(self, *args):
        return _call_typed(self.thunk, self.code, self.vmctx, self.params, self.results, args,
                           self.keep)

    def __call__(self, *args):
        return _call_typed(self.thunk, self.code, self.vmctx, self.params, self.results, args,
                           self.keep)

    def call_raw(self, raw_args):
        return call_array_raw(self.thunk, self.code, self.vmctx, raw_args, len(self.results))


# ---- host functions ----

cdef class HostRecord:
    """The native side of a host function: the wrt_host record compiled code
    passes to wasabi_rt_host_call, and the wrt_func record a funcref points to."""
    cdef wrt_host host
    cdef wrt_func func
    cdef readonly object callable
    cdef readonly tuple params, results
    cdef readonly dict keep

    def __init__(self, callable, tuple params, tuple results, uint64_t type_id,
                 uintptr_t host_thunk, dict keep):
        self.callable = callable
        self.params = params
        self.results = results
        self.keep = keep
        self.host.func = <void*>self
        self.host.type_id = type_id
        self.func.code = <void*>host_thunk
        self.func.vmctx = <void*>&self.host
        self.func.type_id = type_id

    @property
    def host_address(self):
        return <uintptr_t>&self.host

    @property
    def record_address(self):
        return <uintptr_t>&self.func

    @property
    def code_address(self):
        return <uintptr_t>self.func.code


cdef int _host_dispatch(void* hostrec, void* slots) noexcept:
    # called by wasabi_rt_host_call with the GIL held
    cdef HostRecord rec = <HostRecord>(<wrt_host*>hostrec).func
    cdef uint8_t* s = <uint8_t*>slots
    cdef Py_ssize_t i, m = len(rec.results)
    try:
        args = [_from_slot(s + 16 * i, rec.params[i]) for i in range(len(rec.params))]
        out = rec.callable(*args)
        if m == 1:
            _to_slot(s, rec.results[0], out, rec.keep)
        elif m > 1:
            out = tuple(out)
            if len(out) != m:
                raise TypeError(f"host function returned {len(out)} values, expected {m}")
            for i in range(m):
                _to_slot(s + 16 * i, rec.results[i], out[i], rec.keep)
        return 0
    except BaseException as exc:
        set_pending_exception(exc)
        return 1


wrt_set_host_dispatch(_host_dispatch)


# ---- native records ----

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


cdef class NativeMemory:
    """A wrt_memory: a reservation whose base never moves."""
    cdef wrt_memory* mem

    def __cinit__(self, uint64_t min_pages, uint64_t max_pages, bint guarded):
        # faulthandler.enable() may have put its handler above ours since the
        # last check: a guard-page fault must reach wasabi first
        wrt_signals_ensure()
        self.mem = wrt_memory_new(min_pages, max_pages, guarded)
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

    def __cinit__(self, uint64_t size, object maximum, uint64_t elem_type, uint64_t init):
        cdef uint64_t mx = TABLE_NO_MAX if maximum is None else maximum
        self.table = wrt_table_new(size, mx, elem_type, init)
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
