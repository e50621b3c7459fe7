# Loading a prelinked image (wasabi/compiler/image.py): the regions' bytes copied
# into the mapping and the fixups applied, every offset checked first.
#
# Here rather than in numpy so that a cached or unpickled module loads without
# importing numpy (about 40 ms, and OpenBLAS threads that spin on the other core
# for a while after), and in one pass instead of a dozen array operations.

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t, uintptr_t
from libc.string cimport memcpy

# one fixup record, as compiler/prelink.py writes them (FIXUP_DTYPE): little-endian
# offset u64, kind u32, target u32, addend i64, packed (24 bytes)
cdef packed struct _ImageFixup:
    uint64_t offset
    uint32_t kind
    uint32_t target
    int64_t addend

# the kinds (compiler/image.py FIX_*): image base + target + addend (u64); an external
# value + addend as u64, as a signed 32-bit value, as an unsigned 32-bit value
cdef enum:
    _FIX_REBASE64 = 0
    _FIX_EXT64 = 1
    _FIX_EXT32S = 2
    _FIX_EXT32 = 3

IMAGE_FIXUP_SIZE = sizeof(_ImageFixup)


cdef uint64_t _fixup_value(const _ImageFixup* f, uint64_t base, const uint64_t[::1] externals):
    if f.kind == _FIX_REBASE64:
        return base + <uint64_t>f.target + <uint64_t>f.addend     # wraps as in C
    return externals[f.target] + <uint64_t>f.addend


cdef str _fixup_problem(const _ImageFixup* f, uint64_t size, uint64_t value,
                        Py_ssize_t num_externals):
    """Why fixup `f` (whose value is `value`) cannot be applied, or None."""
    cdef uint64_t width = 8 if f.kind <= _FIX_EXT64 else 4
    cdef int64_t signed_value = <int64_t>value
    if f.kind > _FIX_EXT32 or size < width or f.offset > size - width:
        return "a fixup outside the image"
    if f.kind != _FIX_REBASE64 and f.target >= num_externals:
        return "a fixup of an unknown symbol"
    if f.kind == _FIX_EXT32S and not (-(1 << 31) <= signed_value < (1 << 31)):
        return "a 32-bit symbol value out of range"
    if f.kind == _FIX_EXT32 and value >> 32:
        return "a 32-bit symbol value out of range"
    return None


def image_apply(uintptr_t base, uint64_t size, list regions, const uint8_t[::1] data,
                const uint8_t[::1] fixups, const uint64_t[::1] externals):
    """Copy the regions' bytes (`data`: region after region; `regions`: [(offset,
    length)]) into the writable mapping of `size` bytes at `base`, then apply the
    fixup records (`fixups`, IMAGE_FIXUP_SIZE bytes each) with `externals` (the
    external symbols' values). Checks everything before writing anything: ValueError
    naming the first problem, and then the mapping is untouched."""
    cdef Py_ssize_t count = fixups.shape[0] // sizeof(_ImageFixup)
    cdef Py_ssize_t i, at = 0
    cdef uint64_t offset, length, value
    cdef const _ImageFixup* records = <const _ImageFixup*>&fixups[0] if count else NULL
    if fixups.shape[0] % sizeof(_ImageFixup):
        raise ValueError("a partial fixup record")
    spans = []
    for offset, length in regions:
        if offset > size or length > size - offset or at + length > <uint64_t>data.shape[0]:
            raise ValueError("a region outside the image or its bytes")
        spans.append((offset, length, at))
        at += length
    for i in range(count):
        value = _fixup_value(&records[i], base, externals) \
            if records[i].kind == _FIX_REBASE64 or records[i].target < externals.shape[0] else 0
        problem = _fixup_problem(&records[i], size, value, externals.shape[0])
        if problem is not None:
            raise ValueError(problem)
    for offset, length, at in spans:
        if length:
            memcpy(<void*>(base + offset), &data[at], length)
    for i in range(count):
        value = _fixup_value(&records[i], base, externals)
        if records[i].kind <= _FIX_EXT64:
            memcpy(<void*>(base + records[i].offset), &value, 8)
        else:
            memcpy(<void*>(base + records[i].offset), &value, 4)     # little-endian low half
