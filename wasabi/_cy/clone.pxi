# Instance cloning (wasabi.runtime.clone): memories copy-on-write
# (wasabi/_native/memory_backing.c), tables copied, with the GIL released.
# The source instance's gate is held meanwhile (no thread may run it), and what
# other instances share with it (an exported table or memory) may grow
# concurrently: tables and memories never move, and each copy is a snapshot.

cdef extern from "runtime.h":
    int64_t wrt_memory_clone_contents(wrt_memory* dst, wrt_memory* src) nogil
    const char* wrt_memory_backing(wrt_memory* mem)


cdef extern from *:
    bint __sync_bool_compare_and_swap(uint64_t* ptr, uint64_t old, uint64_t new) nogil
    void __atomic_store_n(uint64_t* ptr, uint64_t value, int order) nogil
    int __ATOMIC_RELEASE

# the gate owner while a clone copies an instance: no thread's token (those are
# addresses of thread-locals), so every entry finds the instance busy
cdef uint64_t CLONING_TOKEN = 1


def gate_hold(uintptr_t vmctx):
    """Take the instance's gate for a clone: False if a thread is running it."""
    return __sync_bool_compare_and_swap(&(<VMContext*>vmctx).gate_owner, 0, CLONING_TOKEN)


def gate_release(uintptr_t vmctx):
    __atomic_store_n(&(<VMContext*>vmctx).gate_owner, 0, __ATOMIC_RELEASE)


def memory_clone_contents(NativeMemory dst, NativeMemory src):
    """Give `dst` (fresh) the bytes of `src`: both then map src's frozen image
    copy-on-write, and only the pages `src` wrote since its last freeze are
    copied. Returns the number of 4 KiB pages copied. When src has grown past
    dst (another thread may grow a shared memory meanwhile), dst grows to
    src's size first: the copy is a snapshot of src at some size."""
    cdef int64_t copied = -2
    if dst.mem.size > src.mem.size:
        raise ValueError(f"the copy ({dst.mem.size}) is larger than the memory ({src.mem.size})")
    while copied == -2:
        if dst.mem.size < src.mem.size and wrt_memory_grow(
                dst.mem, (src.mem.size - dst.mem.size) // WASM_PAGE_SIZE) < 0:
            raise MemoryError("cannot grow the clone's memory")
        with nogil:
            copied = wrt_memory_clone_contents(dst.mem, src.mem)
    if copied < 0:
        raise MemoryError("cannot map the clone's memory")
    return copied


def memory_backing(NativeMemory mem):
    """'shared' (its own memfd), 'private' (copy-on-write over a frozen image)
    or 'anon' (plain pages: a clone copies every byte)."""
    return wrt_memory_backing(mem.mem).decode()


def table_copy_rebased(NativeTable dst, NativeTable src, uint64_t lo, uint64_t hi,
                       uint64_t new_lo):
    """dst[i] = src[i] for i < dst's size (a snapshot: src is at least as large, as
    tables only grow, and may grow meanwhile on another thread: its array never
    moves), where a reference into [lo, hi) (the source instance's function
    records) moves by new_lo - lo (to the clone's records). Returns the set of
    the other non-null references copied (funcrefs into other instances' records,
    which the clone must keep alive)."""
    cdef uint64_t n = dst.table.size, i, e, others = 0
    cdef uint64_t* s = src.table.elems
    cdef uint64_t* d = dst.table.elems
    if src.table.size < n:
        raise ValueError(f"the source table ({src.table.size}) is smaller than the copy ({n})")
    with nogil:
        for i in range(n):
            e = s[i]
            if lo <= e < hi:
                e = e - lo + new_lo
            elif e:
                others += 1
            d[i] = e
    if not others:
        return set()
    cdef uint64_t new_hi = new_lo + (hi - lo)
    return {d[i] for i in range(n) if d[i] and not new_lo <= d[i] < new_hi}
