# Lazy compilation and hot swap (wasabi/_native/lazy.c): the per-module stubs
# and code slots, the dispatcher through which the native resolver asks Python
# (wasabi.compiler.modes.lazy.LazyCode) to compile, and the atomic record
# patches that publish compiled or swapped code to live instances.

cdef extern from "lazy.h":
    ctypedef struct wrt_lazy:
        pass
    ctypedef int (*wrt_lazy_dispatch_fn)(void* owner, uint32_t index, int deep, void** code)
    int wrt_lazy_supported()
    void wrt_lazy_set_dispatch(wrt_lazy_dispatch_fn fn)
    wrt_lazy* wrt_lazy_new(uint32_t count, void* owner)
    void wrt_lazy_free(wrt_lazy* lz)
    void* wrt_lazy_stub(wrt_lazy* lz, uint32_t index)
    void* wrt_lazy_code(wrt_lazy* lz, uint32_t index)
    void wrt_lazy_publish(wrt_lazy* lz, uint32_t index, void* code)
    int wrt_lazy_patch_record(wrt_func* record, void* expected, void* code)
    void wrt_lazy_set_record(wrt_func* record, void* code, void* vmctx)
    int wrt_lazy_vmctx_busy(void* vmctx)


def lazy_supported():
    """Whether the runtime writes lazy stubs for this CPU (x86-64 so far)."""
    return bool(wrt_lazy_supported())


cdef class LazyStubs:
    """One stub and one code slot per function index of a lazily compiled module.

    `owner` gets `_resolve(index, deep) -> code address` calls from the native
    resolver (with the GIL). It is held weakly here, by address: the owner
    keeps this object, and with it the stubs, alive."""
    cdef wrt_lazy* lz
    cdef readonly uint32_t count

    def __cinit__(self, uint32_t count, owner):
        if not wrt_lazy_supported():
            raise NotImplementedError("lazy stubs are not implemented for this CPU")
        self.lz = wrt_lazy_new(count, <void*>owner)
        if self.lz == NULL:
            raise MemoryError(f"cannot map lazy stubs for {count} functions")
        self.count = count

    def __dealloc__(self):
        wrt_lazy_free(self.lz)

    cdef int _check(self, uint32_t index) except -1:
        if index >= self.count:
            raise IndexError(f"function index {index} out of range ({self.count} functions)")
        return 0

    def stub(self, uint32_t index):
        """The stub address: valid code for function `index` at any time."""
        self._check(index)
        return <uintptr_t>wrt_lazy_stub(self.lz, index)

    def code(self, uint32_t index):
        """The compiled code address, or 0 while the function is not compiled."""
        self._check(index)
        return <uintptr_t>wrt_lazy_code(self.lz, index)

    def swap(self, uint32_t index, uintptr_t code):
        """Make every later call through the stub go to `code` instead of the code
        published before (tiered code: a hot function's optimised build). Calls
        running in the old code finish there; it must stay mapped."""
        self._check(index)
        if code == 0:
            raise ValueError("cannot swap in a NULL code address")
        if wrt_lazy_code(self.lz, index) == NULL:
            raise RuntimeError(f"function {index} was never published")
        wrt_lazy_publish(self.lz, index, <void*>code)

    def publish(self, uint32_t index, uintptr_t code):
        """Make every later call through the stub go to `code` (set once)."""
        self._check(index)
        if code == 0:
            raise ValueError("cannot publish a NULL code address")
        if wrt_lazy_code(self.lz, index) != NULL:
            raise RuntimeError(f"function {index} was already compiled")
        wrt_lazy_publish(self.lz, index, <void*>code)


cdef int _lazy_dispatch(void* owner, uint32_t index, int deep, void** code) noexcept:
    # called by wrt_lazy_resolve with the GIL held
    try:
        code[0] = <void*><uintptr_t>(<object>owner)._resolve(index, deep != 0)
        return 0
    except BaseException as exc:
        set_pending_exception(exc)
        return 1


wrt_lazy_set_dispatch(_lazy_dispatch)


def patch_record_code(uintptr_t record, uintptr_t expected, uintptr_t code):
    """record->code = code if it still is `expected` (one atomic compare-and-swap):
    a record that was swapped to other code meanwhile keeps it. True if replaced."""
    return bool(wrt_lazy_patch_record(<wrt_func*>record, <void*>expected, <void*>code))


def set_record_target(uintptr_t record, uintptr_t code, uintptr_t vmctx):
    """Point a wrt_func record at other code with its own vmctx (hot swap).

    Only safe while no thread runs code of the record's instance (the caller
    checks the gates): a call between the two stores would pair them wrongly."""
    wrt_lazy_set_record(<wrt_func*>record, <void*>code, <void*>vmctx)


def retarget_handle(FuncHandle handle, uintptr_t code, uintptr_t vmctx):
    """Make a Python function handle call other code (same signature): hot swap
    reaches handles callers kept. Done with the GIL, which every call holds
    while it reads code and vmctx."""
    handle.code = code
    handle.vmctx = vmctx


def vmctx_busy(uintptr_t vmctx):
    """Whether some thread is inside the instance of this vmctx (its gate)."""
    return bool(wrt_lazy_vmctx_busy(<void*>vmctx))
