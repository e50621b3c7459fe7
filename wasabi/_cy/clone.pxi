# Instance cloning (wasabi.runtime.clone): memories copy-on-write
# (wasabi/_native/memory_backing.c), tables copied, with the GIL released.

cdef extern from "runtime.h":
    int64_t wrt_memory_clone_contents(wrt_memory* dst, wrt_memory* src) nogil
    const char* wrt_memory_backing(wrt_memory* mem)


def memory_clone_contents(NativeMemory dst, NativeMemory src):
    """Give `dst` (fresh, the size of `src`) the bytes of `src`: both then map
    src's frozen image copy-on-write, and only the pages `src` wrote since
    its last freeze are copied. Returns the number of 4 KiB pages copied."""
    cdef int64_t copied
    if dst.mem.size != src.mem.size:
        raise ValueError(f"memory sizes differ: {dst.mem.size} != {src.mem.size}")
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
