# The Cython glue of the C runtime (wasabi/_native): entering compiled code,
# traps, host calls, value conversion, and the native records (memories,
# tables, raw buffers) that wasabi/runtime/*.py assembles into instances.
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memcpy, memset
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.ref cimport PyObject, Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.exc cimport PyErr_Occurred, PyErr_Clear, PyErr_ExceptionMatches
from cpython.float cimport PyFloat_AsDouble, PyFloat_CheckExact, PyFloat_AS_DOUBLE

import operator
from itertools import islice as _islice
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
    int TRAP_HOST_EXCEPTION, TRAP_COMPILE_ERROR, TRAP_WASI_EXIT, TRAP_UNINITIALIZED_ELEMENT
    uint64_t MEMORY_FLAG_GUARDED, WASM_PAGE_SIZE, TABLE_NO_MAX

cdef extern from "runtime.h":
    ctypedef int (*wrt_host_dispatch_fn)(void* hostrec, void* slots)
    int64_t wrt_stack_limit_tpoff()
    int wasabi_entry(void* thunk, void* fn, void* vmctx, void* slots) nogil
    void wrt_set_max_wasm_stack(uint64_t nbytes)
    int wrt_signals_ensure()
    int wrt_signals_on_top()
    int wrt_register_code_range(uintptr_t begin, uintptr_t end)
    int wrt_unregister_code_range(uintptr_t begin, uintptr_t end)
    wrt_memory* wrt_memory_new(uint64_t min_pages, uint64_t max_pages, int guarded, int cow)
    void wrt_memory_free(wrt_memory* mem)
    int64_t wrt_memory_grow(wrt_memory* mem, uint64_t delta_pages)
    int wrt_memory_init(wrt_memory* mem, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n)
    wrt_table* wrt_table_new(uint64_t size, uint64_t max, uint64_t elem_type, uint64_t init)
    void wrt_table_free(wrt_table* t)
    int64_t wrt_table_grow(wrt_table* t, uint64_t delta, uint64_t init)
    uint64_t wrt_table_capacity(wrt_table* t)
    int wrt_table_init(wrt_table* t, wrt_segment* seg, uint64_t dst, uint64_t src, uint64_t n)
    void wrt_set_host_dispatch(wrt_host_dispatch_fn fn)
    int64_t wrt_take_trap_element()

cdef extern from "fastcall.h":
    ctypedef struct VMContext:
        int64_t stack_limit_tpoff
        uint64_t gate_owner
    ctypedef void (*wrt_body_fn)(void* arg) noexcept nogil
    int WRT_BUSY, WRT_HAVE_REGCALL, WRT_REG_INTS, WRT_REG_FLOATS, WRT_STACK_WORDS
    int WRT_PLACE_INT, WRT_PLACE_FLOAT, WRT_PLACE_STACK
    uint64_t wrt_regcall(void* fn, void* vmctx, const uint64_t* i, const double* f,
                         const uint64_t* s, int stack, int float_result) nogil
    int wrt_call_regs(void* fn, VMContext* ctx, const uint64_t* iregs, const double* fregs,
                      const uint64_t* stack_words, int stack, int float_result, uint64_t* out)
    int wrt_call_thunk(void* thunk, void* fn, VMContext* ctx, void* slots)
    bint wrt_small_int(object o, long long* out)
    int wrt_call_body(VMContext* ctx, wrt_body_fn body, void* arg)

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
    # an absolute symbol, not a function (abi.builtins.STACK_LIMIT_TPOFF_SYMBOL)
    out["wasabi_stack_limit_tpoff"] = <uint64_t>wrt_stack_limit_tpoff()
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


cdef extern from "Python.h":
    # declared here without Cython's automatic error check: callers test
    # for -1 + PyErr_Occurred themselves, to retry OverflowError as unsigned
    long long _PyLong_AsLongLong "PyLong_AsLongLong"(object o)
    unsigned long long _PyLong_AsUnsignedLongLong "PyLong_AsUnsignedLongLong"(object o)


cdef uint64_t _unsigned_bits(object value, int bits) except? 0xFFFFFFFFFFFFFFFF:
    # the slow path of _int_bits: a value beyond the signed range (or an error)
    cdef unsigned long long u
    PyErr_Clear()
    u = _PyLong_AsUnsignedLongLong(value)
    if u == <unsigned long long>-1 and PyErr_Occurred():
        PyErr_Clear()
        raise OverflowError(f"{value!r} does not fit in i{bits}")
    if bits == 32:
        raise OverflowError(f"{value!r} does not fit in i32")
    return u


cdef inline uint64_t _int_bits(object value, int bits) except? 0xFFFFFFFFFFFFFFFF:
    """The bits of an i32/i64 argument: signed or unsigned, as wasm makes no
    difference; anything wider is an OverflowError, a non-integer a TypeError."""
    cdef long long v
    if wrt_small_int(value, &v):
        return <uint64_t><uint32_t>v if bits == 32 else <uint64_t>v
    v = _PyLong_AsLongLong(value)
    if v == -1 and PyErr_Occurred():
        if not PyErr_ExceptionMatches(OverflowError):
            return 0xFFFFFFFFFFFFFFFF      # the TypeError stays set
        return _unsigned_bits(value, bits)
    if bits == 32:
        if v < -0x80000000 or v > 0xFFFFFFFF:
            raise OverflowError(f"{value!r} does not fit in i32")
        return <uint64_t><uint32_t>v
    return <uint64_t>v


cdef inline double _as_double(object value) except? -1.0:
    if PyFloat_CheckExact(value):
        return PyFloat_AS_DOUBLE(value)
    return PyFloat_AsDouble(value)


cdef object _v128_bits(object value):
    """A v128 argument as an unsigned 128-bit int: an integer, signed or unsigned
    (as for i32/i64); a float or anything wider is refused, not truncated."""
    v = operator.index(value)          # TypeError for floats and non-integers
    if not -(1 << 127) <= v < (1 << 128):
        raise OverflowError(f"{value!r} does not fit in v128")
    return v & ((1 << 128) - 1)


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
        f = <float>_as_double(value)
        memcpy(slot, &f, 4)
    elif vtype == T_F64:
        d = _as_double(value)
        memcpy(slot, &d, 8)
    elif vtype == T_V128:
        v = _v128_bits(value)
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
    if code == WRT_BUSY:
        return RuntimeError(
            "this wasm instance is running on another thread: an instance runs on one thread"
            " at a time (give each thread its own instance)")
    if code == TRAP_HOST_EXCEPTION or code == TRAP_COMPILE_ERROR:
        exc = _take_pending()
        if exc is not None:
            return exc
    if code == TRAP_WASI_EXIT:          # proc_exit: the program ended on purpose
        return wasi_exit()
    from wasabi.errors import Trap, trap_class
    from wasabi.abi.traps import message
    cdef int64_t element = wrt_take_trap_element()    # always taken: never left stale
    if code == TRAP_UNINITIALIZED_ELEMENT and element >= 0:
        return Trap(f"{message(code)} {element}", code)
    return trap_class(code)(message(code), code)


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
    # wrt_call_thunk checks the instance gate and releases the GIL itself
    cdef int code = wrt_call_thunk(<void*>thunk, <void*>fn, <VMContext*>vmctx, slots)
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


# ---- host functions ----

cdef class HostRecord:
    """The native side of a host function: the wrt_host record compiled code
    passes to wasabi_rt_host_call, and the wrt_func record a funcref points to.

    The signature is kept as C arrays of type codes (`ptypes`, `rtypes`), so a
    call converts values without touching the Python tuples."""
    cdef wrt_host host
    cdef wrt_func func
    cdef readonly object callable
    cdef readonly tuple params, results
    cdef readonly dict keep
    cdef bytes _codes             # owns the arrays below
    cdef const uint8_t* ptypes
    cdef const uint8_t* rtypes
    cdef Py_ssize_t nparams, nresults

    def __init__(self, callable, tuple params, tuple results, uint64_t type_id,
                 uintptr_t host_thunk, dict keep):
        self.callable = callable
        self.params = params
        self.results = results
        self.keep = keep
        self._codes = bytes(params) + bytes(results)
        self.ptypes = <const uint8_t*>PyBytes_AS_STRING(self._codes)
        self.rtypes = self.ptypes + len(params)
        self.nparams = len(params)
        self.nresults = len(results)
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


cdef object _call_host(HostRecord rec, const uint8_t* s):
    # the common arities call with the arguments on the C stack (vectorcall)
    cdef Py_ssize_t n = rec.nparams, i
    cdef const uint8_t* t = rec.ptypes
    if n == 0:
        return rec.callable()
    if n == 1:
        return rec.callable(_from_slot(s, t[0]))
    if n == 2:
        return rec.callable(_from_slot(s, t[0]), _from_slot(s + 16, t[1]))
    if n == 3:
        return rec.callable(_from_slot(s, t[0]), _from_slot(s + 16, t[1]),
                            _from_slot(s + 32, t[2]))
    args = PyTuple_New(n)
    for i in range(n):
        v = _from_slot(s + 16 * i, t[i])
        Py_INCREF(v)
        PyTuple_SET_ITEM(args, i, v)
    return rec.callable(*args)


cdef tuple _host_result_values(object out, Py_ssize_t m):
    """The m results of a host function as a tuple: at most m + 1 values are taken
    from an iterable (an endless generator must not exhaust memory)."""
    cdef tuple values
    if type(out) is tuple:
        values = <tuple>out
    elif type(out) is list:
        values = tuple(<list>out)
    else:
        values = tuple(_islice(out, m + 1))
    if len(values) != m:
        got = f"more than {m}" if len(values) > m else str(len(values))
        raise TypeError(f"host function returned {got} values, expected {m}")
    return values


cdef int _store_host_results(HostRecord rec, uint8_t* s, object out) except -1:
    cdef Py_ssize_t m = rec.nresults, i
    if m == 1:
        _to_slot(s, rec.rtypes[0], out, rec.keep)
    elif m > 1:
        out = _host_result_values(out, m)
        for i in range(m):
            _to_slot(s + 16 * i, rec.rtypes[i], out[i], rec.keep)
    return 0


cdef int _host_dispatch(void* hostrec, void* slots) noexcept:
    # called by wasabi_rt_host_call with the GIL held
    cdef HostRecord rec = <HostRecord>(<wrt_host*>hostrec).func
    cdef uint8_t* s = <uint8_t*>slots
    try:
        _store_host_results(rec, s, _call_host(rec, s))
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
