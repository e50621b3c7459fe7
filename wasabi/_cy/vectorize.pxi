# Elementwise application of a scalar wasm export over strided arrays: one
# entry (one gate check, one GIL release, one _setjmp) for the whole loop, and
# per element a direct register call into the machine code (or, for
# signatures the register path cannot carry, the array thunk). The broadcasting
# and dtype decisions are made by wasabi/runtime/vectorize.py; this loop only
# walks operands that already share one shape, with any (even zero or
# negative) strides.

cdef enum:
    VEC_MAX_DIMS = 64           # numpy's limit (NPY_MAXDIMS in numpy 2)

cdef struct VecLoop:
    void* fn
    void* vmctx
    void* thunk
    int use_regs, float_result, uses_stack, nin, nout, ndim
    const Py_ssize_t* shape
    char* ptr[2 * MAX_STACK_SLOTS]               # inputs, then outputs
    const Py_ssize_t* strides[2 * MAX_STACK_SLOTS]
    uint8_t types[2 * MAX_STACK_SLOTS]           # value type per operand
    uint8_t places[MAX_STACK_SLOTS]              # register place per input


cdef inline uint64_t _vec_load_bits(uint8_t vtype, const char* p) noexcept nogil:
    # fixed-size copies: a variable-size memcpy becomes a byte loop and a
    # store-forwarding stall on every element
    cdef uint32_t narrow
    cdef uint64_t wide
    if vtype == T_I32 or vtype == T_F32:
        memcpy(&narrow, p, 4)
        return narrow                            # i32/f32 in the low half
    memcpy(&wide, p, 8)
    return wide


cdef inline void _vec_store(uint8_t vtype, char* p, uint64_t bits) noexcept nogil:
    cdef uint32_t narrow
    if vtype == T_I32 or vtype == T_F32:
        narrow = <uint32_t>bits
        memcpy(p, &narrow, 4)
    else:
        memcpy(p, &bits, 8)


cdef inline void _vec_element(VecLoop* L, RegisterImage* img, uint8_t* slots) noexcept nogil:
    # img and slots belong to the whole loop: every element overwrites the
    # places it uses, and the unused registers stay zero
    cdef int k
    cdef uint64_t r
    if L.use_regs:
        for k in range(L.nin):
            _place_bits(img, L.places[k], _vec_load_bits(L.types[k], L.ptr[k]))
        r = wrt_regcall(L.fn, L.vmctx, img.ints, img.floats, img.stack, L.uses_stack,
                        L.float_result)
        if L.nout:
            _vec_store(L.types[L.nin], L.ptr[L.nin], r)
        return
    for k in range(L.nin):
        r = _vec_load_bits(L.types[k], L.ptr[k])
        memcpy(slots + 16 * k, &r, 8)
    (<void (*)(void*, void*, void*) noexcept nogil>L.thunk)(L.fn, L.vmctx, slots)
    for k in range(L.nout):
        memcpy(&r, slots + 16 * k, 8)
        _vec_store(L.types[L.nin + k], L.ptr[L.nin + k], r)


cdef void _vec_body(void* arg) noexcept nogil:
    # An odometer over the outer dimensions, a plain loop over the last one.
    cdef VecLoop* L = <VecLoop*>arg
    cdef Py_ssize_t idx[VEC_MAX_DIMS]
    cdef RegisterImage img
    cdef uint64_t slot_buf[2 * MAX_STACK_SLOTS + 2]
    cdef uint8_t* slots = <uint8_t*>((<uintptr_t>slot_buf + 15) & ~(<uintptr_t>15))
    cdef int nops = L.nin + L.nout, o, d
    cdef int last = L.ndim - 1
    cdef Py_ssize_t inner = L.shape[last] if L.ndim > 0 else 1
    cdef Py_ssize_t j
    memset(&img, 0, sizeof(img))
    for d in range(L.ndim):
        if L.shape[d] == 0:
            return
        idx[d] = 0
    while True:
        for j in range(inner):
            _vec_element(L, &img, slots)
            if L.ndim > 0:
                for o in range(nops):
                    L.ptr[o] += L.strides[o][last]
        if L.ndim <= 1:
            return
        for o in range(nops):
            L.ptr[o] -= inner * L.strides[o][last]
        d = last - 1
        while d >= 0:
            idx[d] += 1
            for o in range(nops):
                L.ptr[o] += L.strides[o][d]
            if idx[d] < L.shape[d]:
                break
            for o in range(nops):
                L.ptr[o] -= L.shape[d] * L.strides[o][d]
            idx[d] = 0
            d -= 1
        if d < 0:
            return


cdef int _vec_operand(VecLoop* L, int k, Py_buffer* buf, object array, bint writable,
                      tuple shape, uint8_t vtype) except -1:
    cdef int d
    cdef Py_ssize_t size = 4 if vtype == T_I32 or vtype == T_F32 else 8
    PyObject_GetBuffer(array, buf, PyBUF_RECORDS if writable else PyBUF_RECORDS_RO)
    if buf.ndim != L.ndim or buf.itemsize != size:
        PyBuffer_Release(buf)
        raise ValueError(f"operand {k} does not match the loop's shape {shape} and item size")
    for d in range(L.ndim):
        if buf.shape[d] != L.shape[d]:
            PyBuffer_Release(buf)
            raise ValueError(f"operand {k} has shape {array.shape}, the loop {shape}")
    L.ptr[k] = <char*>buf.buf
    L.strides[k] = buf.strides
    L.types[k] = vtype
    return 0


def vectorized_call(FuncHandle func, list inputs, list outputs, tuple shape):
    """Run `func` over equally shaped strided arrays: outputs[r][i] = result r of
    func(inputs[0][i], ...) for every index i of `shape`; raises on a trap (the
    outputs then hold the elements done so far)."""
    cdef VecLoop L
    cdef Py_buffer bufs[2 * MAX_STACK_SLOTS]
    cdef Py_ssize_t dims[VEC_MAX_DIMS]
    cdef int taken = 0, k, code
    if len(inputs) != func.nparams or len(outputs) != func.nresults:
        raise TypeError("vectorized_call: operand counts do not match the signature")
    if func.nparams > MAX_STACK_SLOTS or func.nresults > MAX_STACK_SLOTS:
        raise TypeError("too many operands to vectorize")
    if len(shape) > VEC_MAX_DIMS:
        raise ValueError(f"at most {VEC_MAX_DIMS} dimensions")
    for k in range(len(shape)):
        dims[k] = shape[k]
    memset(&L, 0, sizeof(L))
    L.fn = <void*>func.code
    L.vmctx = <void*>func.vmctx
    L.thunk = <void*>func.thunk
    L.use_regs = func.impl == <_call_impl>_call_regs
    L.float_result = func.float_result
    L.uses_stack = func.uses_stack
    L.nin = <int>func.nparams
    L.nout = <int>func.nresults
    L.ndim = <int>len(shape)
    L.shape = dims
    memcpy(L.places, func.places, sizeof(L.places))
    try:
        for k in range(L.nin):
            _vec_operand(&L, k, &bufs[taken], inputs[k], False, shape, func.ptypes[k])
            taken += 1
        for k in range(L.nout):
            _vec_operand(&L, L.nin + k, &bufs[taken], outputs[k], True, shape, func.rtypes[k])
            taken += 1
        code = wrt_call_body(<VMContext*>func.vmctx, _vec_body, &L)
    finally:
        for k in range(taken):
            PyBuffer_Release(&bufs[k])
    if code != 0:
        raise _trap_error(code)


from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.exc cimport PyErr_SetObject

# ---- real numpy ufuncs over compiled strided loops (wasabi/_native/native_ptr.c) ----

cdef extern from "fastcall.h":
    int wrt_call_thunk_foreign(void* thunk, void* fn, VMContext* ctx, void* slots) nogil

cdef extern from *:
    """
    typedef void (*wrt_ufunc_trap_fn)(int code, int64_t element, char** args,
                                      const int64_t* steps, void* data);
    void wrt_set_ufunc_trap(wrt_ufunc_trap_fn fn);
    PyObject* wrt_ufunc_new(void** api, void* funcs, void* const* data, const char* types,
                            int ntypes, int nin, int nout, const char* name, const char* doc,
                            PyObject* keep);
    size_t wrt_ufunc_data_size(void);
    void wrt_ufunc_data_set(void* data, void* loop, void* vmctx, int nargs, int poll,
                            void* clones, int nclones, int64_t min_chunk);
    void* wrt_native_call_address(void);
    int wrt_native_take_trap(void);
    """
    ctypedef void (*wrt_ufunc_trap_fn)(int code, int64_t element, char** args,
                                      const int64_t* steps, void* data) noexcept nogil
    void wrt_set_ufunc_trap(wrt_ufunc_trap_fn fn)
    object wrt_ufunc_new(void** api, void* funcs, void* const* data, const char* types,
                         int ntypes, int nin, int nout, const char* name, const char* doc,
                         object keep)
    size_t wrt_ufunc_data_size()
    void wrt_ufunc_data_set(void* data, void* loop, void* vmctx, int nargs, int poll,
                            void* clones, int nclones, int64_t min_chunk)
    void* wrt_native_call_address()
    int wrt_native_take_trap() nogil


cdef void** _ufunc_api = NULL


cdef void** _numpy_ufunc_api() except NULL:
    global _ufunc_api
    if _ufunc_api == NULL:
        try:
            from numpy._core import _multiarray_umath as umath       # numpy 2
        except ImportError:
            from numpy.core import _multiarray_umath as umath        # numpy 1.x
        _ufunc_api = <void**>PyCapsule_GetPointer(umath._UFUNC_API, NULL)
    return _ufunc_api


# numpy type numbers of the dtypes a loop may take (NPY_INT32 ... on LP64 Linux/macOS)
_NPY_TYPENUM = {"int32": 5, "int64": 7, "float32": 11, "float64": 12}
_DTYPE_OF = {"int32": ("<i4", 4), "int64": ("<i8", 8), "float32": ("<f4", 4),
             "float64": ("<f8", 8)}


cdef class UfuncLoops:
    """What a wasabi ufunc's loops need alive (the ufunc holds it): the numpy
    arrays of loop functions, data and types, the loops' data records, and
    Python references to the compiled code and the instance."""
    cdef void* funcs
    cdef void** data
    cdef char* records
    cdef uintptr_t* clones
    cdef readonly bytes types, name, doc
    cdef readonly object keep
    cdef readonly list signatures
    cdef int ntypes, nargs, nin
    cdef object __weakref__

    def __dealloc__(self):
        free(self.funcs)
        free(self.data)
        free(self.records)
        free(self.clones)


cdef void _ufunc_trap(int code, int64_t element, char** args, const int64_t* steps,
                      void* data) noexcept nogil:
    with gil:
        try:
            if code == -2:
                raise MemoryError()
            exc = _trap_error(code)
            from wasabi.errors import Trap
            if isinstance(exc, Trap):
                exc = _named_element(exc, element, _element_arguments(element, args, steps,
                                                                      data))
        except BaseException as other:
            exc = other
        PyErr_SetObject(type(exc), exc)


cdef object _named_element(object exc, int64_t element, tuple arguments):
    shown = f", arguments {arguments}" if arguments is not None else ""
    message = f"{exc} (at element {element} of the ufunc loop{shown})"
    new = type(exc)(message, exc.code)
    new.element = element
    new.arguments = arguments
    return new


# loop data address -> (the UfuncLoops, loop index), to read a trapped element's inputs
_loop_owners = {}


cdef object _element_arguments(int64_t element, char** args, const int64_t* steps,
                               void* data):
    """The input values of the element a loop trapped at (None if unknown)."""
    found = _loop_owners.get(<uintptr_t>data)
    if found is None or found[0]() is None:
        return None
    holder, k = found[0](), found[1]
    dtypes = (<UfuncLoops>holder).signatures[k]
    values = []
    cdef int j
    cdef int32_t i32
    cdef int64_t i64
    cdef float f32
    cdef double f64
    cdef const char* p
    for j in range((<UfuncLoops>holder).nin):
        p = args[j] + element * steps[j]
        d = dtypes[j]
        if d == "int32":
            memcpy(&i32, p, 4)
            values.append(i32)
        elif d == "int64":
            memcpy(&i64, p, 8)
            values.append(i64)
        elif d == "float32":
            memcpy(&f32, p, 4)
            values.append(f32)
        else:
            memcpy(&f64, p, 8)
            values.append(f64)
    return tuple(values)


def _forget_loops(addresses):
    for address in addresses:
        _loop_owners.pop(address, None)


wrt_set_ufunc_trap(_ufunc_trap)


def make_ufunc(str name, str doc, int nin, int nout, list loops, uintptr_t vmctx, bint poll,
               object keep, list clones=None, int64_t min_chunk=0):
    """A numpy.ufunc over compiled loops: `loops` is [(loop address, [dtype names of
    the inputs then the outputs])], best first; each loop runs bound to `vmctx`, or
    split over threads bound to `clones` (vmctx addresses) in parts of at least
    `min_chunk` elements."""
    cdef UfuncLoops holder = UfuncLoops.__new__(UfuncLoops)
    cdef int ntypes = len(loops), nargs = nin + nout, k, j
    cdef size_t rec = wrt_ufunc_data_size()
    if nargs > 32:
        raise TypeError("a ufunc takes at most 32 operands")
    holder.ntypes = ntypes
    holder.nargs = nargs
    holder.funcs = calloc(ntypes, sizeof(void*))
    holder.data = <void**>calloc(ntypes, sizeof(void*))
    holder.records = <char*>calloc(ntypes, rec)
    clones = clones or []
    holder.clones = <uintptr_t*>calloc(len(clones) + 1, sizeof(uintptr_t))
    if (holder.funcs == NULL or holder.data == NULL or holder.records == NULL
            or holder.clones == NULL):
        raise MemoryError()
    for k in range(len(clones)):
        holder.clones[k] = clones[k]
    types = bytearray()
    for k, (address, dtypes) in enumerate(loops):
        if len(dtypes) != nargs:
            raise ValueError("each loop needs a dtype per operand")
        types.extend(_NPY_TYPENUM[d] for d in dtypes)
        holder.data[k] = holder.records + k * rec
        wrt_ufunc_data_set(holder.data[k], <void*><uintptr_t>address, <void*>vmctx, nargs, poll,
                           holder.clones, len(clones), min_chunk)
    holder.types = bytes(types)
    holder.name = name.encode()
    holder.doc = doc.encode()
    holder.keep = keep
    holder.signatures = [list(d) for _, d in loops]
    holder.nin = nin
    import weakref
    addresses = [<uintptr_t>holder.data[k] for k in range(ntypes)]
    for k in range(ntypes):
        _loop_owners[addresses[k]] = (weakref.ref(holder), k)
    weakref.finalize(holder, _forget_loops, addresses)
    return wrt_ufunc_new(_numpy_ufunc_api(), holder.funcs, holder.data, holder.types,
                         ntypes, nin, nout, holder.name, holder.doc, holder)


# ---- exports as native function pointers ----

def native_call_address():
    """Address of wasabi_native_call(rec, slots), imported by the JIT wrappers."""
    return <uintptr_t>wrt_native_call_address()


cdef class NativeRecord:
    """The (thunk, code, vmctx) record a native wrapper calls through."""
    cdef uintptr_t* rec
    cdef readonly object keep

    def __cinit__(self, uintptr_t thunk, uintptr_t code, uintptr_t vmctx, keep):
        self.rec = <uintptr_t*>malloc(3 * sizeof(uintptr_t))
        if self.rec == NULL:
            raise MemoryError()
        self.rec[0] = thunk
        self.rec[1] = code
        self.rec[2] = vmctx
        self.keep = keep

    @property
    def address(self):
        return <uintptr_t>self.rec

    def __dealloc__(self):
        free(self.rec)


def last_trap():
    """The trap (or error) of this thread's last failed call through an
    export.address pointer, cleared by this call; None if there was none."""
    cdef int code = wrt_native_take_trap()
    if code == 0:
        return None
    return _trap_error(code)
