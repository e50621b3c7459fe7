# LEB128 and fixed-width readers shared by the decoder, the validator and the translator.
# Each reader takes the buffer, the end and the position (in/out) and returns the value,
# or sets *err to a negative error code (see leb_error_message) without raising, so the
# hot loops stay in C.

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int32_t, int64_t

cdef enum:
    LEB_OK = 0
    LEB_EOF = -1            # unexpected end
    LEB_TOO_LONG = -2       # integer representation too long
    LEB_TOO_LARGE = -3      # integer too large (unused bits set)

cdef inline str leb_error_message(int err):
    if err == LEB_EOF:
        return "unexpected end"
    if err == LEB_TOO_LONG:
        return "integer representation too long"
    return "integer too large"


cdef inline uint32_t read_u32(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err) noexcept nogil:
    """Unsigned LEB128, at most 5 bytes; the unused bits of the 5th byte must be 0."""
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef uint8_t b
    cdef Py_ssize_t p = pos[0]
    while True:
        if p >= end:
            err[0] = LEB_EOF
            return 0
        b = buf[p]
        p += 1
        if shift == 28:
            if b & 0x80:
                err[0] = LEB_TOO_LONG
                return 0
            if b & 0x70:
                err[0] = LEB_TOO_LARGE
                return 0
        result |= (<uint64_t>(b & 0x7F)) << shift
        if not (b & 0x80):
            break
        shift += 7
    pos[0] = p
    return <uint32_t>result


cdef inline int64_t read_sleb(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err, int bits) noexcept nogil:
    """Signed LEB128 of `bits` bits (32, 33 or 64): the unused bits of the last byte
    must all equal the sign bit."""
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef int maxbytes = (bits + 6) // 7
    cdef int n = 0
    cdef int used, spare
    cdef uint8_t b, mask, signbits
    cdef Py_ssize_t p = pos[0]
    while True:
        if p >= end:
            err[0] = LEB_EOF
            return 0
        b = buf[p]
        p += 1
        n += 1
        if n == maxbytes:
            if b & 0x80:
                err[0] = LEB_TOO_LONG
                return 0
            used = bits - shift           # payload bits of this byte that count (1..7)
            # bits from (used-1) .. 6 must equal the sign bit (bit used-1)
            mask = <uint8_t>((0x7F >> (used - 1)) << (used - 1)) & 0x7F
            signbits = b & mask
            if signbits != 0 and signbits != mask:
                err[0] = LEB_TOO_LARGE
                return 0
        if shift < 64:
            result |= (<uint64_t>(b & 0x7F)) << shift
        shift += 7
        if not (b & 0x80):
            break
    pos[0] = p
    if shift < 64 and (b & 0x40):
        result |= (~(<uint64_t>0)) << shift
    return <int64_t>result


cdef inline int32_t read_s32(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err) noexcept nogil:
    return <int32_t>read_sleb(buf, end, pos, err, 32)


cdef inline int64_t read_s33(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err) noexcept nogil:
    return read_sleb(buf, end, pos, err, 33)


cdef inline int64_t read_s64(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err) noexcept nogil:
    return read_sleb(buf, end, pos, err, 64)


cdef inline uint8_t read_byte(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err) noexcept nogil:
    if pos[0] >= end:
        err[0] = LEB_EOF
        return 0
    pos[0] += 1
    return buf[pos[0] - 1]


cdef inline uint64_t read_fixed(const uint8_t* buf, Py_ssize_t end, Py_ssize_t* pos, int* err, int nbytes) noexcept nogil:
    """Little-endian fixed-width (f32/f64 bit patterns): nbytes = 4 or 8."""
    cdef uint64_t v = 0
    cdef int i
    if pos[0] + nbytes > end:
        err[0] = LEB_EOF
        return 0
    for i in range(nbytes):
        v |= (<uint64_t>buf[pos[0] + i]) << (8 * i)
    pos[0] += nbytes
    return v


def _leb_test_read(bytes data, str kind):
    """For tests: decode one LEB128 of `kind` ('u32','s32','s33','s64'); returns (value, length)."""
    cdef const uint8_t* buf = data
    cdef Py_ssize_t pos = 0
    cdef int err = 0
    cdef int64_t v
    if kind == "u32":
        v = read_u32(buf, len(data), &pos, &err)
    elif kind == "s32":
        v = read_s32(buf, len(data), &pos, &err)
    elif kind == "s33":
        v = read_s33(buf, len(data), &pos, &err)
    elif kind == "s64":
        v = read_s64(buf, len(data), &pos, &err)
    else:
        raise ValueError(f"unknown LEB128 kind {kind!r}")
    if err:
        raise ValueError(leb_error_message(err))
    return v, pos
