# Calling exported wasm functions from Python in tens of nanoseconds.
#
# A FuncHandle is its own vectorcall entry point: CPython calls the C function
# stored in the object (`_vectorcall`) with the arguments on the caller's stack,
# so `f(1, 2)` builds no tuple and looks up no method. The function is chosen
# per signature when the handle is made:
#   - _call_regs: parameters i32/i64/f32/f64 that fit the register call
#     (fastcall.h: 5 ints, 8 floats, 4 stack words on x86-64), at most one
#     numeric result. Arguments are converted straight into a register image and
#     the machine code is called directly (wrt_call_regs: gate, GIL release,
#     _setjmp, fn(vmctx, ...)), no thunk and no slots.
#   - _call_slots: everything else (multi-value, v128, references, many
#     parameters) goes through the signature's JIT-generated array thunk.
# (A cdef `__call__` alone would go through tp_call and a tuple: measured
# +18 ns per call in Cython 3.3; see the llvmlite findings, section 5.)
from cpython.long cimport PyLong_FromLong, PyLong_FromLongLong
from cpython.float cimport PyFloat_FromDouble
from cpython.tuple cimport PyTuple_GET_SIZE

cdef extern from "Python.h":
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    PyObject** PySequence_Fast_ITEMS(object seq)
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    ctypedef struct _PyTypeObjectFields "PyTypeObject":
        unsigned long tp_flags
        Py_ssize_t tp_vectorcall_offset
        void* tp_call

ctypedef object (*_call_impl)(FuncHandle self, PyObject** args, Py_ssize_t nargs)


cdef object _arity_error(FuncHandle self, Py_ssize_t given):
    return TypeError(f"the wasm function takes {self.nparams} argument"
                     f"{'' if self.nparams == 1 else 's'} ({given} given)")


cdef struct RegisterImage:
    # the argument registers and stack words of one register call
    uint64_t ints[5]          # WRT_REG_INTS
    double floats[8]          # WRT_REG_FLOATS
    uint64_t stack[4]         # WRT_STACK_WORDS


cdef inline void _place_bits(RegisterImage* img, uint8_t place, uint64_t bits) noexcept nogil:
    cdef uint8_t index = place & 31
    cdef uint8_t cls = place >> 5
    if cls == WRT_PLACE_INT:
        img.ints[index] = bits
    elif cls == WRT_PLACE_FLOAT:
        memcpy(&img.floats[index], &bits, 8)
    else:
        img.stack[index] = bits


cdef inline int _load_argument(RegisterImage* img, int vtype, uint8_t place,
                               object value) except -1:
    cdef float f
    cdef double d
    cdef uint64_t bits = 0
    if vtype == T_I32:
        bits = _int_bits(value, 32)
    elif vtype == T_I64:
        bits = _int_bits(value, 64)
    elif vtype == T_F64:
        d = _as_double(value)
        memcpy(&bits, &d, 8)
    else:
        f = <float>_as_double(value)            # f32: its 4 bytes in the low half
        memcpy(&bits, &f, 4)
    _place_bits(img, place, bits)
    return 0


cdef inline object _box_result(int vtype, uint64_t bits):
    cdef float f
    cdef double d
    cdef uint32_t low = <uint32_t>bits
    if vtype == T_I32:
        return PyLong_FromLong(<int32_t>low)
    if vtype == T_I64:
        return PyLong_FromLongLong(<int64_t>bits)
    if vtype == T_F64:
        memcpy(&d, &bits, 8)
        return PyFloat_FromDouble(d)
    if vtype == T_F32:
        memcpy(&f, &low, 4)
        return PyFloat_FromDouble(<double>f)
    return None


cdef object _call_regs(FuncHandle self, PyObject** args, Py_ssize_t nargs):
    cdef RegisterImage img
    cdef uint64_t out = 0
    cdef Py_ssize_t k
    cdef int code
    if nargs != self.nparams:
        raise _arity_error(self, nargs)
    memset(&img, 0, sizeof(img))
    for k in range(nargs):
        _load_argument(&img, self.ptypes[k], self.places[k], <object>args[k])
    code = wrt_call_regs(<void*>self.code, <VMContext*>self.vmctx, img.ints, img.floats,
                         img.stack, self.uses_stack, self.float_result, &out)
    if code != 0:
        raise _trap_error(code)
    return _box_result(self.rtype, out)


cdef object _call_slots(FuncHandle self, PyObject** args, Py_ssize_t nargs):
    cdef Py_ssize_t n = self.nparams, m = self.nresults, i
    cdef uint64_t inline_buf[2 * MAX_STACK_SLOTS + 2]
    cdef uint8_t* slots = <uint8_t*>((<uintptr_t>inline_buf + 15) & ~(<uintptr_t>15))
    cdef _HeapSlots heap
    if nargs != n:
        raise _arity_error(self, nargs)
    if n > MAX_STACK_SLOTS or m > MAX_STACK_SLOTS:
        heap = _HeapSlots(max(n, m))
        slots = heap.ptr
    for i in range(n):
        _to_slot(slots + 16 * i, self.ptypes[i], <object>args[i], self.keep)
    _enter(self.thunk, self.code, self.vmctx, slots)
    if m == 0:
        return None
    if m == 1:
        return _from_slot(slots, self.rtypes[0])
    return tuple([_from_slot(slots + 16 * i, self.rtypes[i]) for i in range(m)])


cdef object _vectorcall(FuncHandle self, PyObject** args, size_t nargsf, PyObject* kwnames):
    if kwnames != NULL and PyTuple_GET_SIZE(<object>kwnames) != 0:
        raise TypeError("wasm functions take positional arguments only")
    return self.impl(self, args, PyVectorcall_NARGS(nargsf))


ctypedef object (*_vectorcall_impl)(FuncHandle, PyObject**, size_t, PyObject*)
cdef Py_ssize_t _vectorcall_offset = -1


cdef bint _register_shape(tuple params, tuple results, uint8_t* places, int* uses_stack):
    """Whether the register call fits the signature; fills each parameter's
    place (see wrt_regcall in fastcall.h: registers in order, then stack words
    in parameter order)."""
    cdef int ints = 0, floats = 0, words = 0, i
    if not WRT_HAVE_REGCALL or len(results) > 1 or len(params) > MAX_STACK_SLOTS:
        return False
    for r in results:
        if r not in (T_I32, T_I64, T_F32, T_F64):
            return False
    for i, p in enumerate(params):
        if (p == T_I32 or p == T_I64) and ints < WRT_REG_INTS:
            places[i] = (WRT_PLACE_INT << 5) | ints
            ints += 1
        elif (p == T_F32 or p == T_F64) and floats < WRT_REG_FLOATS:
            places[i] = (WRT_PLACE_FLOAT << 5) | floats
            floats += 1
        elif p in (T_I32, T_I64, T_F32, T_F64) and words < WRT_STACK_WORDS:
            places[i] = (WRT_PLACE_STACK << 5) | words
            words += 1
        else:
            return False
    uses_stack[0] = words > 0
    return True


cdef void _enable_vectorcall(type cls, Py_ssize_t offset):
    cdef _PyTypeObjectFields* t = <_PyTypeObjectFields*><PyObject*>cls
    t.tp_vectorcall_offset = offset
    t.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL


cdef class FuncHandle:
    """A callable compiled function: code + vmctx + its signature.

    Calling it enters compiled code with the GIL released (vectorcall, typed
    register path where the signature allows); traps raise wasabi.Trap, a host
    function's exception passes unchanged, and a call while the instance runs
    on another thread raises RuntimeError. wasabi.runtime.Function subclasses
    it; a Python subclass stays on the vectorcall path unless it overrides
    __call__. `call` and `call_raw` are kept for the array path's callers.
    """
    cdef void* _vectorcall          # read by CPython through tp_vectorcall_offset
    cdef _call_impl impl
    cdef readonly uintptr_t thunk, code, vmctx, record_address
    cdef readonly tuple params, results
    cdef readonly dict keep
    cdef bytes _codes               # owns ptypes/rtypes
    cdef const uint8_t* ptypes
    cdef const uint8_t* rtypes
    cdef Py_ssize_t nparams, nresults
    cdef uint8_t places[MAX_STACK_SLOTS]
    cdef int rtype, float_result, uses_stack

    def __cinit__(self, *args, **kwargs):
        self._vectorcall = <void*><_vectorcall_impl>_vectorcall
        self.impl = _call_unready

    def __init__(self, uintptr_t thunk, uintptr_t code, uintptr_t vmctx, tuple params,
                 tuple results, dict keep, uintptr_t record_address):
        self.thunk = thunk
        self.code = code
        self.vmctx = vmctx
        self.params = params
        self.results = results
        self.keep = keep
        self.record_address = record_address
        self._codes = bytes(params) + bytes(results)
        self.ptypes = <const uint8_t*>PyBytes_AS_STRING(self._codes)
        self.rtypes = self.ptypes + len(params)
        self.nparams = len(params)
        self.nresults = len(results)
        self.rtype = results[0] if len(results) == 1 else 0
        self.float_result = self.rtype == T_F32 or self.rtype == T_F64
        fits = _register_shape(params, results, self.places, &self.uses_stack)
        self.impl = _call_regs if fits else _call_slots
        _ensure_vectorcall(type(self))

    @property
    def _record_address(self):
        return self.record_address

    @property
    def fast_path(self):
        """'registers' (typed direct call) or 'thunk' (array thunk and slots)."""
        return "registers" if self.impl == <_call_impl>_call_regs else "thunk"

    def __call__(self, *args):
        # reached only by callers that bypass vectorcall
        return self.impl(self, PySequence_Fast_ITEMS(args), len(args))

    def call(self, *args):
        return self.impl(self, PySequence_Fast_ITEMS(args), len(args))

    def call_raw(self, raw_args):
        return call_array_raw(self.thunk, self.code, self.vmctx, raw_args, len(self.results))


cdef object _call_unready(FuncHandle self, PyObject** args, Py_ssize_t nargs):
    raise TypeError("FuncHandle.__init__ was not called")


cdef int _ensure_vectorcall(type cls) except -1:
    """Give a Python subclass the vectorcall flag (CPython 3.11 does not inherit
    it into heap types), unless the subclass defines its own __call__."""
    cdef _PyTypeObjectFields* t = <_PyTypeObjectFields*><PyObject*>cls
    cdef _PyTypeObjectFields* base = <_PyTypeObjectFields*><PyObject*>FuncHandle
    if t.tp_flags & Py_TPFLAGS_HAVE_VECTORCALL:
        return 0
    if t.tp_call == base.tp_call:
        _enable_vectorcall(cls, _vectorcall_offset)
    return 0


cdef Py_ssize_t _find_vectorcall_offset():
    cdef FuncHandle probe = FuncHandle.__new__(FuncHandle)
    return <char*>&probe._vectorcall - <char*><PyObject*>probe


_vectorcall_offset = _find_vectorcall_offset()
_enable_vectorcall(FuncHandle, _vectorcall_offset)


# ---- the exports namespace ----

cdef class LazyExport:
    """A function export not made yet: its Python object is created on first
    access (a module with thousands of exports instantiates without making
    thousands of Function objects)."""
    cdef readonly object index

    def __init__(self, index):
        self.index = index


cdef class FastExports:
    """Name -> extern, by attribute or item, created once per instance.

    Attribute access looks in the items dict first (one dict probe), so
    `instance.exports.add(1, 2)` costs a dict lookup plus the call. An unknown
    name raises `error` (a LookupError that is also an AttributeError, in
    wasabi.runtime.instance.ExportNotFound). Items may be LazyExport
    placeholders, replaced by make(index) on first access (keeping the
    export order)."""
    cdef readonly dict _items
    cdef object _error
    cdef object _make

    def __init__(self, dict items, error=None, make=None):
        self._items = items
        self._error = error if error is not None else _DefaultExportNotFound
        self._make = make

    cdef object _made(self, name, LazyExport lazy):
        obj = self._make(lazy.index)
        self._items[name] = obj
        return obj

    def __getattribute__(self, name):
        found = self._items.get(name)
        if found is not None:
            if type(found) is LazyExport:
                return self._made(name, found)
            return found
        try:
            return object.__getattribute__(self, name)
        except AttributeError:
            raise self._error(f"Export `{name}` does not exist.") from None

    def __getitem__(self, name):
        found = self._items.get(name)
        if found is None:
            raise self._error(f"Export `{name}` does not exist.")
        if type(found) is LazyExport:
            return self._made(name, found)
        return found

    def materialize(self):
        """Make every lazy export now; returns the items dict."""
        for name, found in list(self._items.items()):
            if type(found) is LazyExport:
                self._made(name, found)
        return self._items

    def __iter__(self):
        return iter(self.materialize().items())

    def __len__(self):
        return len(self._items)

    def __contains__(self, name):
        return name in self._items

    def keys(self):
        return self._items.keys()

    def __repr__(self):
        return f"<wasabi Exports {list(self._items)}>"


class _DefaultExportNotFound(LookupError, AttributeError):
    pass
