# The Python handle of a native WASI context (wasabi/_native/wasi*.c).
#
# Python only configures the context; compiled wasm calls the C imports
# directly (the wrt_func record of each import holds the C function and the
# context). wasabi/wasi/ builds on these handles.

cdef extern from "wasi.h":
    ctypedef struct wasi_ctx:
        int32_t exit_code
        int32_t exited
    ctypedef struct wasi_buffer:
        uint8_t* data
        size_t len
    ctypedef struct wasi_export:
        const char* name
        void* fn
        const char* params
        const char* results
    wasi_ctx* wasi_ctx_new()
    void wasi_ctx_free(wasi_ctx* c)
    wasi_ctx* wasi_ctx_copy(wasi_ctx* src, int* failed_fd, int* host_errno) nogil
    void wasi_ctx_lock(wasi_ctx* c) nogil
    void wasi_ctx_unlock(wasi_ctx* c) nogil
    void wasi_ctx_bind_memory(wasi_ctx* c, wrt_memory* mem) nogil
    int wasi_ctx_set_args(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count)
    int wasi_ctx_set_env(wasi_ctx* c, const char* strings, uint32_t size, uint32_t count)
    int wasi_ctx_set_stdio_host(wasi_ctx* c, int slot, int host_fd)
    int wasi_ctx_set_stdio_buffer(wasi_ctx* c, int slot, const uint8_t* data, size_t n)
    int wasi_ctx_preopen(wasi_ctx* c, const char* host_path, const char* guest_name, int readonly)
    int wasi_ctx_virtual_root(wasi_ctx* c)
    int32_t wasi_take_exit_code()
    const wasi_export* wasi_exports(int snapshot0)

cdef extern from *:
    """
    /* the in-memory stdio buffer of a slot (wasi_ctx's layout stays in C) */
    static wasi_buffer* wasi_ctx_stdio_buffer(wasi_ctx* c, int slot) { return &c->stdio[slot]; }
    """
    wasi_buffer* wasi_ctx_stdio_buffer(wasi_ctx* c, int slot)



cdef _raise_errno(int negative_errno, what):
    import os
    code = -negative_errno
    raise OSError(code, f"{what}: {os.strerror(code)}")


cdef bytes _nul_joined(list strings):
    """b"a\\0b\\0" from [b"a", b"b"]: WASI's argv / environ buffer."""
    for s in strings:
        if b"\0" in s:
            raise ValueError(f"WASI strings cannot contain NUL bytes: {s!r}")
    return b"".join(s + b"\0" for s in strings)


cdef class WasiContext:
    """One native WASI context: args, environment, fd table, stdio, preopens.

    `address` is what compiled code receives as the first argument of every
    WASI import. The memory bound with bind_memory must outlive the calls
    (wasabi.wasi keeps the Memory object alongside).
    """
    cdef wasi_ctx* ctx

    def __cinit__(self):
        self.ctx = wasi_ctx_new()
        if self.ctx == NULL:
            raise MemoryError()

    def __dealloc__(self):
        wasi_ctx_free(self.ctx)

    @property
    def address(self):
        return <uintptr_t>self.ctx

    def set_args(self, list args):
        cdef bytes buf = _nul_joined(args)
        if wasi_ctx_set_args(self.ctx, buf, len(buf), len(args)) != 0:
            raise MemoryError()

    def set_env(self, list pairs):
        cdef bytes buf = _nul_joined(pairs)
        if wasi_ctx_set_env(self.ctx, buf, len(buf), len(pairs)) != 0:
            raise MemoryError()

    def set_stdio_host(self, int slot, int host_fd):
        """Give slot 0/1/2 a duplicate of the host descriptor."""
        cdef int rc = wasi_ctx_set_stdio_host(self.ctx, slot, host_fd)
        if rc != 0:
            _raise_errno(rc, f"WASI stdio {slot}")

    def set_stdio_buffer(self, int slot, const uint8_t[:] data=None):
        """Slot 0 reads `data`; slots 1 and 2 collect writes (read them with output())."""
        cdef Py_ssize_t n = 0 if data is None else data.shape[0]
        cdef const uint8_t* p = NULL
        if n:
            p = &data[0]
        cdef int rc = wasi_ctx_set_stdio_buffer(self.ctx, slot, p, n)
        if rc != 0:
            _raise_errno(rc, f"WASI stdio {slot}")

    def preopen(self, bytes host_path, bytes guest_name, bint readonly):
        """Open a host directory for the guest under `guest_name`; returns its fd."""
        cdef int rc = wasi_ctx_preopen(self.ctx, host_path, guest_name, readonly)
        if rc < 0:
            _raise_errno(rc, f"cannot preopen {host_path.decode(errors='replace')}")
        return rc

    def virtual_root(self):
        """Add the virtual read-only root "/" (before the preopens it lists); returns its fd."""
        cdef int rc = wasi_ctx_virtual_root(self.ctx)
        if rc < 0:
            _raise_errno(rc, "cannot add the virtual root")
        return rc

    def copy(self):
        """A new context with a copy of this one's whole state: args, environment,
        stdio buffers, and the fd table with every host descriptor duplicated
        (the same open file descriptions, as after fork). Bound to no memory."""
        cdef int failed_fd = -1, host_errno = 0
        cdef wasi_ctx* copied
        with nogil:                  # waits for a running import on another thread
            copied = wasi_ctx_copy(self.ctx, &failed_fd, &host_errno)
        if copied == NULL:
            if failed_fd < 0:
                raise MemoryError("cannot copy a WASI context")
            import os
            raise OSError(host_errno, f"cannot copy WASI fd {failed_fd}: "
                                      f"{os.strerror(host_errno)}")
        cdef WasiContext other = WasiContext()
        wasi_ctx_free(other.ctx)
        other.ctx = copied
        return other

    def bind_memory(self, uintptr_t memory_record):
        """Point the context at an instance's memory record (0 unbinds)."""
        with nogil:
            wasi_ctx_bind_memory(self.ctx, <wrt_memory*>memory_record)

    def output(self, int slot):
        """What the guest wrote to in-memory stdout (1) or stderr (2) so far."""
        if slot < 0 or slot > 2:
            raise ValueError("stdio slot must be 0, 1 or 2")
        cdef wasi_buffer* b = wasi_ctx_stdio_buffer(self.ctx, slot)
        with nogil:                  # an import on another thread may be appending
            wasi_ctx_lock(self.ctx)
        try:
            if b.data == NULL:
                return b""
            return PyBytes_FromStringAndSize(<const char*>b.data, b.len)
        finally:
            wasi_ctx_unlock(self.ctx)

    @property
    def exit_code(self):
        """proc_exit's status, or None while the program has not called it."""
        return self.ctx.exit_code if self.ctx.exited else None


def wasi_exit():
    """The WasiExit of the last proc_exit on this thread (its status is then reset)."""
    from wasabi.errors import WasiExit
    return WasiExit(wasi_take_exit_code() & 0xFFFFFFFF)


def wasi_export_table(bint snapshot0):
    """[(name, C function address, params, results)], params/results as 'i'/'I' strings."""
    cdef const wasi_export* e = wasi_exports(snapshot0)
    out = []
    while e.name != NULL:
        out.append((e.name.decode(), <uintptr_t>e.fn, e.params.decode(), e.results.decode()))
        e += 1
    return out
