"""C functions as imports: compiled code calls them directly, no Python on the way.

    ffi = cffi.FFI(); ffi.cdef("double hypot(double, double);")
    libm = ffi.dlopen("libm.so.6")
    instance = Instance(module, {"env": {"hypot": libm.hypot}})

An import may be a C function pointer: a cffi function (`lib.f` of ffi.dlopen,
ffi.cast to a function pointer type, ffi.callback), a ctypes function pointer
(CDLL attributes, CFUNCTYPE objects), an object with an integer `address` and
a `ctypes` function (a numba cfunc), or a NativeFunction made from a bare
address. When the C signature is known (cffi always, ctypes when argtypes are
set) it must be the import's: int32_t/uint32_t (or another 4-byte integer) for
i32, 8-byte integers for i64, float for f32, double for f64, void or one
result; no v128 or reference types.

The record an importing instance holds for the import is {thunk, the
instance's own vmctx, type id}, the thunk (compiler/thunks.py
native_import_thunk, one per pointer) dropping the vmctx and tail-calling the
pointer: to compiled code the call is a call within the instance (no gate
calls, which would cost more than the C call). The import's own record
(record_fields: tables, globals, REPL cells) is {per-signature thunk, rec, type
id}: rec a VMContext-sized zeroed block whose first word is the pointer and
whose `kind` is not WRT_KIND_VMCTX, so that the cross-instance gate treats it
as a host record. The C function runs on the wasm thread's stack without the GIL (or
with it, when the entry kept it because no other thread existed); it cannot
raise: whatever it returns is the result. A cffi or ctypes callback into
Python takes the GIL itself; an exception in it is printed and the callback
returns 0 (cffi's and ctypes' rules). It runs inside the 128 KiB margin below
the wasm stack limit, so a deep C callee (or Python in a callback) at the very
bottom of the wasm stack may overflow it: keep such callbacks shallow.
"""
import ctypes as _ctypes

from .. import _ext
from ..abi.vmctx import VMCTX_SIZE
from ..binary.types import F32, F64, I32, I64, FuncType, type_name
from ..errors import LinkError
from .func import HostFunction, register_func_records, thunk_provider
from .signatures import type_id

_CTYPES_INTS = {_ctypes.c_int8, _ctypes.c_uint8, _ctypes.c_int16, _ctypes.c_uint16}


class NativeFunction(HostFunction):
    """A C function pointer with a wasm FuncType; compiled code calls it directly.

    `address` is the function's address; `keep` whatever must stay alive as long
    as the function may be called (the cffi or ctypes object of a callback)."""

    def __init__(self, functype, address, keep=None, store=None):
        if not isinstance(address, int) or isinstance(address, bool) or address <= 0:
            raise TypeError(f"a C function address is a positive int, not {address!r}")
        _check_valtypes(functype)
        self.address = address
        self.keep = keep
        self._rec = _ext.RawBuffer(VMCTX_SIZE)      # zeroed: kind 0, no gate
        self._rec.set_u64(0, address)
        self._record = None
        self._handle = None
        super().__init__(functype, self._call_from_python, store)

    @property
    def rec_address(self):
        return self._rec.address

    def record_fields(self):
        return _native_thunk(self.functype), self._rec.address, type_id(self.functype)

    @property
    def _record_address(self):
        """A wrt_func record of its own: a funcref to this function (tables, globals)."""
        if self._record is None:
            record = _ext.RawBuffer(24)
            for i, value in enumerate(self.record_fields()):
                record.set_u64(8 * i, value)
            register_func_records(record.address, 1, self, lambda owner, index: owner)
            self._record = record
        return self._record.address

    def _native(self):
        raise TypeError("a C function import has no Python host record")

    def instantiated(self, instance):
        """For the runtime, once an importing instance is built: its records of this
        import call a thunk with the pointer built in, with the instance's own
        vmctx, so that a call needs no gate (the C function has no instance)."""
        self._bind(instance)

    def cloned(self, original, clone):
        self._bind(clone)

    def _bind(self, instance):
        code = _import_thunk(self.functype, self.address)
        for index, ext in instance._imported_funcs.items():
            if ext is self:
                instance._set_func_record(index, code, instance.vmctx_address,
                                          type_id(self.functype))

    def _call_from_python(self, *args):
        """Called from Python: through the same thunk, entered as compiled code is."""
        if self._handle is None:
            from .func import Function
            thunk = thunk_provider().array_thunk(self.functype)
            self._handle = Function(thunk, _native_thunk(self.functype), self._rec.address,
                                    self.functype, self.store.keep, self._record_address, self)
        return self._handle(*args)

    def __repr__(self):
        return f"<wasabi NativeFunction {self.functype} at {self.address:#x}>"


def _native_thunk(functype):
    provider = thunk_provider()
    make = getattr(provider, "native_thunk", None)
    if make is None:                    # a test's provider without one: the JIT's
        from ..compiler.thunks import native_thunk as make
    return make(functype)


def _import_thunk(functype, address):
    make = getattr(thunk_provider(), "native_import_thunk", None)
    if make is None:
        from ..compiler.thunks import native_import_thunk as make
    return make(functype, address)


def _check_valtypes(functype):
    if not isinstance(functype, FuncType):
        raise TypeError(f"expected a FuncType, got {functype!r}")
    for valtype in functype.params + functype.results:
        if valtype not in (I32, I64, F32, F64):
            raise TypeError(f"a C function import takes and returns numbers, not "
                            f"{type_name(valtype)} ({functype})")
    if len(functype.results) > 1:
        raise TypeError(f"a C function returns at most one value, not {functype}")


# ---- recognising C function pointers ----

def _cffi_valtype(ffi, ctype):
    """The wasm type of a cffi primitive type, or None (void: 'void')."""
    if ctype.kind == "void":
        return "void"
    if ctype.kind != "primitive":
        return None
    if ctype.cname == "float":
        return F32
    if ctype.cname == "double":
        return F64
    if ctype.cname in ("_Bool", "char", "wchar_t", "char16_t", "char32_t") or \
            "float" in ctype.cname or "double" in ctype.cname:
        return None
    return {4: I32, 8: I64}.get(ffi.sizeof(ctype))


def _from_cffi(obj):
    """(address, FuncType) of a cffi function cdata, or None if obj is none."""
    if type(obj).__module__ != "_cffi_backend":
        return None
    import cffi
    ffi = cffi.FFI()
    try:
        ctype = ffi.typeof(obj)
    except TypeError:
        return None
    if ctype.kind != "function":
        return None
    if ctype.ellipsis:
        raise LinkError(f"a C function import cannot be variadic ({ctype.cname})")
    params = [_cffi_valtype(ffi, arg) for arg in ctype.args]
    result = _cffi_valtype(ffi, ctype.result)
    if None in params or result is None or "void" in params:
        raise LinkError(f"{ctype.cname}: a C function import takes and returns 4- or 8-byte "
                        "integers, float or double")
    results = () if result == "void" else (result,)
    return int(ffi.cast("uintptr_t", obj)), FuncType(tuple(params), results)


def _ctypes_valtype(ctype):
    if ctype is None:
        return "void"
    if ctype in (_ctypes.c_float,):
        return F32
    if ctype in (_ctypes.c_double,):
        return F64
    if isinstance(ctype, type) and issubclass(ctype, _ctypes._SimpleCData) and \
            ctype._type_ in "bBhHiIlLqQ" and ctype not in _CTYPES_INTS:
        return {4: I32, 8: I64}.get(_ctypes.sizeof(ctype))
    return None


def _from_ctypes(obj):
    """(address, FuncType or None when argtypes are unset) of a ctypes function
    pointer, or None if obj is none."""
    if not isinstance(obj, _ctypes._CFuncPtr):
        return None
    address = _ctypes.cast(obj, _ctypes.c_void_p).value
    if obj.argtypes is None:
        return address, None
    params = [_ctypes_valtype(t) for t in obj.argtypes]
    result = _ctypes_valtype(obj.restype)
    if None in params or result is None or "void" in params:
        raise LinkError(f"{obj!r}: a C function import takes and returns 4- or 8-byte "
                        "integers, c_float or c_double")
    return address, FuncType(tuple(params), () if result == "void" else (result,))


def c_function(obj):
    """(address, FuncType or None) if obj is a C function pointer, else None."""
    if isinstance(obj, NativeFunction):
        return obj.address, obj.functype
    found = _from_cffi(obj) or _from_ctypes(obj)
    if found is None and isinstance(getattr(obj, "address", None), int) \
            and isinstance(getattr(obj, "ctypes", None), _ctypes._CFuncPtr):
        found = _from_ctypes(obj.ctypes)            # a numba cfunc
        if found is not None:
            found = (obj.address, found[1])
    return found


def native_function(obj, functype=None, store=None):
    """A NativeFunction of a C function pointer (see the module docstring), or of an
    int address with `functype`. LinkError when its C signature is not `functype`."""
    if isinstance(obj, int) and not isinstance(obj, bool):
        if functype is None:
            raise TypeError("a bare address needs its functype")
        return NativeFunction(functype, obj, store=store)
    found = c_function(obj)
    if found is None:
        raise TypeError(f"{obj!r} is not a C function pointer")
    address, ctype = found
    if functype is None:
        if ctype is None:
            raise TypeError(f"{obj!r} has no argtypes: give its functype")
        functype = ctype
    elif ctype is not None and ctype != functype:
        raise LinkError(f"the C function {obj!r} is {ctype}, the import wants {functype}")
    return NativeFunction(functype, address, keep=obj, store=store)
