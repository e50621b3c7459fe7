# The C runtime (wasabi/_native) as Cython sees it: its declarations, and the
# process-wide parts: ABI tables, builtin addresses, code ranges, signal handlers.
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
    int TRAP_KEYBOARD_INTERRUPT
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
    wrt_table* wrt_table_new_limited(uint64_t size, uint64_t max, uint64_t limit,
                                     uint64_t elem_type, uint64_t init)
    ctypedef int (*wrt_limiter_dispatch_fn)(void* limiter, int kind, uint64_t current,
                                            uint64_t desired, uint64_t maximum)
    int WRT_LIMIT_MEMORY
    void wrt_set_limiter_dispatch(wrt_limiter_dispatch_fn fn)
    void wrt_memory_set_limiter(wrt_memory* mem, void* limiter, uint64_t declared_max_bytes)
    void wrt_table_set_limiter(wrt_table* t, void* limiter)
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
