# Wasm values in the runtime's 16-byte slots, to and from Python objects.
# i32/f32 in the low 4 bytes, i64/f64/refs in the low 8, v128 in all 16.

cdef enum:
    T_I32 = 0x7F
    T_I64 = 0x7E
    T_F32 = 0x7D
    T_F64 = 0x7C
    T_V128 = 0x7B
    T_FUNCREF = 0x70
    T_EXTERNREF = 0x6F
    MAX_STACK_SLOTS = 16

# set by wasabi.runtime: address of a wrt_func -> the Python function object
_funcref_resolver = None


def set_funcref_resolver(resolver):
    global _funcref_resolver
    _funcref_resolver = resolver


cdef extern from "Python.h":
    # declared here without Cython's automatic error check: callers test
    # for -1 + PyErr_Occurred themselves, to retry OverflowError as unsigned
    long long _PyLong_AsLongLong "PyLong_AsLongLong"(object o)
    unsigned long long _PyLong_AsUnsignedLongLong "PyLong_AsUnsignedLongLong"(object o)


cdef uint64_t _unsigned_bits(object value, int bits) except? 0xFFFFFFFFFFFFFFFF:
    # the slow path of _int_bits: a value beyond the signed range (or an error)
    cdef unsigned long long u
    PyErr_Clear()
    u = _PyLong_AsUnsignedLongLong(value)
    if u == <unsigned long long>-1 and PyErr_Occurred():
        PyErr_Clear()
        raise OverflowError(f"{value!r} does not fit in i{bits}")
    if bits == 32:
        raise OverflowError(f"{value!r} does not fit in i32")
    return u


cdef inline uint64_t _int_bits(object value, int bits) except? 0xFFFFFFFFFFFFFFFF:
    """The bits of an i32/i64 argument: signed or unsigned, as wasm makes no
    difference; anything wider is an OverflowError, a non-integer a TypeError."""
    cdef long long v
    if wrt_small_int(value, &v):
        return <uint64_t><uint32_t>v if bits == 32 else <uint64_t>v
    v = _PyLong_AsLongLong(value)
    if v == -1 and PyErr_Occurred():
        if not PyErr_ExceptionMatches(OverflowError):
            return 0xFFFFFFFFFFFFFFFF      # the TypeError stays set
        return _unsigned_bits(value, bits)
    if bits == 32:
        if v < -0x80000000 or v > 0xFFFFFFFF:
            raise OverflowError(f"{value!r} does not fit in i32")
        return <uint64_t><uint32_t>v
    return <uint64_t>v


cdef inline double _as_double(object value) except? -1.0:
    if PyFloat_CheckExact(value):
        return PyFloat_AS_DOUBLE(value)
    return PyFloat_AsDouble(value)


cdef object _v128_bits(object value):
    """A v128 argument as an unsigned 128-bit int: an integer, signed or unsigned
    (as for i32/i64); a float or anything wider is refused, not truncated."""
    v = operator.index(value)          # TypeError for floats and non-integers
    if not -(1 << 127) <= v < (1 << 128):
        raise OverflowError(f"{value!r} does not fit in v128")
    return v & ((1 << 128) - 1)


cdef int _to_slot(uint8_t* slot, int vtype, object value, dict keep) except -1:
    cdef uint64_t bits
    cdef float f
    cdef double d
    memset(slot, 0, 16)
    if vtype == T_I32:
        bits = _int_bits(value, 32)
        memcpy(slot, &bits, 4)
    elif vtype == T_I64:
        bits = _int_bits(value, 64)
        memcpy(slot, &bits, 8)
    elif vtype == T_F32:
        f = <float>_as_double(value)
        memcpy(slot, &f, 4)
    elif vtype == T_F64:
        d = _as_double(value)
        memcpy(slot, &d, 8)
    elif vtype == T_V128:
        v = _v128_bits(value)
        bits = v & 0xFFFFFFFFFFFFFFFF
        memcpy(slot, &bits, 8)
        bits = v >> 64
        memcpy(slot + 8, &bits, 8)
    elif vtype == T_FUNCREF:
        if value is None:
            bits = 0
        else:
            try:
                bits = value._record_address
            except AttributeError:
                raise TypeError(f"expected a wasm function or None for funcref, got {value!r}") from None
            keep[bits] = value
        memcpy(slot, &bits, 8)
    elif vtype == T_EXTERNREF:
        bits = 0 if value is None else <uintptr_t><PyObject*>value
        if bits:
            keep[bits] = value    # compiled code may store it in a table or global
        memcpy(slot, &bits, 8)
    else:
        raise TypeError(f"unsupported value type {vtype:#x}")
    return 0


cdef object _from_slot(const uint8_t* slot, int vtype):
    cdef int32_t i32
    cdef int64_t i64
    cdef uint64_t lo, hi
    cdef float f
    cdef double d
    if vtype == T_I32:
        memcpy(&i32, slot, 4)
        return i32
    if vtype == T_I64:
        memcpy(&i64, slot, 8)
        return i64
    if vtype == T_F32:
        memcpy(&f, slot, 4)
        return <double>f
    if vtype == T_F64:
        memcpy(&d, slot, 8)
        return d
    if vtype == T_V128:
        memcpy(&lo, slot, 8)
        memcpy(&hi, slot + 8, 8)
        return (<object>hi << 64) | lo
    memcpy(&lo, slot, 8)
    if lo == 0:
        return None
    if vtype == T_EXTERNREF:
        return <object><PyObject*><uintptr_t>lo
    if vtype == T_FUNCREF:
        return _funcref_resolver(lo)
    raise TypeError(f"unsupported value type {vtype:#x}")


def raw_from_value(int vtype, value, dict keep):
    """The slot bits (as an int) of a Python value (used for globals and tables)."""
    cdef uint64_t buf[2]
    _to_slot(<uint8_t*>buf, vtype, value, keep)
    return (<object>buf[1] << 64) | buf[0]


def value_from_raw(int vtype, raw):
    cdef uint64_t buf[2]
    buf[0] = raw & 0xFFFFFFFFFFFFFFFF
    buf[1] = (raw >> 64) & 0xFFFFFFFFFFFFFFFF
    return _from_slot(<uint8_t*>buf, vtype)
