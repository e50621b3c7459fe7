# Instance cloning (wasabi.runtime.clone): bulk copies of memories and tables
# with the GIL released.

cdef extern from "sys/mman.h":
    int madvise(void* addr, size_t length, int advice) nogil

cdef enum:
    # transparent huge pages where the system allows them on request (numpy
    # asks for them too): 512x fewer page faults and TLB entries
    _MADV_HUGEPAGE = 14
    # Linux 5.14+: fault in every page of a range now, in one call. On older
    # kernels madvise fails with EINVAL and the copy faults the pages itself.
    _MADV_POPULATE_WRITE = 23


def memory_copy_contents(NativeMemory dst, NativeMemory src, bint populate=False,
                         bint huge=True):
    """Copy every accessible byte of `src` into `dst` (both the same size).

    `huge` asks for transparent huge pages there (one fault per 2 MiB instead
    of per 4 KiB: measured 63 -> 16 ms for 64 MiB, the time numpy's copy takes,
    as numpy asks for them too); `populate` pre-faults the destination pages in
    one system call instead (no gain with huge pages). Both are hints: the copy
    is the same."""
    cdef uint64_t n = src.mem.size
    if dst.mem.size != n:
        raise ValueError(f"memory sizes differ: {dst.mem.size} != {n}")
    if n == 0:
        return
    with nogil:
        if huge:
            madvise(dst.mem.base, n, _MADV_HUGEPAGE)
        if populate:
            madvise(dst.mem.base, n, _MADV_POPULATE_WRITE)
        memcpy(dst.mem.base, src.mem.base, n)


def table_copy_rebased(NativeTable dst, NativeTable src, uint64_t lo, uint64_t hi,
                       uint64_t new_lo):
    """dst[i] = src[i] for every element (both the same size), where a reference
    into [lo, hi) (the source instance's function records) moves by new_lo - lo
    (to the clone's records)."""
    cdef uint64_t n = src.table.size, i, e
    cdef uint64_t* s = src.table.elems
    cdef uint64_t* d = dst.table.elems
    if dst.table.size != n:
        raise ValueError(f"table sizes differ: {dst.table.size} != {n}")
    with nogil:
        for i in range(n):
            e = s[i]
            if lo <= e < hi:
                e = e - lo + new_lo
            d[i] = e
