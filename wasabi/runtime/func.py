"""Functions: compiled wasm functions, Python host functions, and funcref values.

A funcref value in compiled code is the address of a wrt_func record
{code, vmctx, type_id}. Records live in an instance's funcs array (one per
function index, imports copied in) or in a host function's HostRecord. To
turn an address back into a Python object, the arrays and host records are
registered here (weakly) by address range.
"""
import bisect as _bisect
import itertools as _itertools
import threading as _threading
import weakref as _weakref

from .. import _ext
from ..abi.vmctx import FUNC_RECORD_SIZE
from ..binary.types import F32, F64, I32, I64, V128, FuncType, type_name
from .signatures import type_id
from .store import Store
from .vectorize import vectorize


class Function(_ext.FuncHandle):
    """A compiled function of an instance (or another instance's, re-exported).

    Calling it enters compiled code with the GIL released; traps raise
    wasabi.Trap. `call_raw` takes and returns raw slot bits.
    """

    def __init__(self, thunk, code, vmctx, functype, keep, record_address, owner):
        super().__init__(thunk, code, vmctx, functype.params, functype.results, keep,
                         record_address)
        self.functype = functype
        self._owner = owner        # keeps the instance (its vmctx, code) alive

    @property
    def type(self):
        """The FuncType (the public API's subclass gives a FunctionType instead)."""
        return self.functype

    def record_fields(self):
        """(code, vmctx, type_id) to copy into an importer's funcs array."""
        return self.code, self.vmctx, type_id(self.functype)

    def map(self, *arrays, out=None):
        """Apply this function elementwise over numpy arrays (broadcasting like a
        ufunc) in one C loop with the GIL released; see wasabi.runtime.vectorize."""
        return vectorize(self)(*arrays, out=out)

    def call_bits(self, *bits):
        """Call with exact bit patterns; returns a tuple of result bits (see bits_to_raw)."""
        params, results = self.functype.params, self.functype.results
        if len(bits) != len(params):
            raise TypeError(f"the wasm function takes {len(params)} argument"
                            f"{'' if len(params) == 1 else 's'} ({len(bits)} given)")
        raws = [bits_to_raw(t, b, self.keep) for t, b in zip(params, bits)]
        return tuple(raw_to_bits(t, r) for t, r in zip(results, self.call_raw(raws)))

    @property
    def address(self):
        """This function as a C function pointer (an int) with its C signature and
        the instance bound (no vmctx argument), for cffi, ctypes, C and numba:
        `ffi.cast(f.ctype, f.address)`. A trap returns zero; wasabi.last_trap()
        then gives it (per thread). See wasabi.runtime.export_pointers."""
        from .export_pointers import native_pointer
        return native_pointer(self).address

    @property
    def ctype(self):
        """The cffi declaration of `address`, e.g. "int32_t(*)(int32_t, int32_t)"."""
        from ..compiler.native_wrapper import c_declaration
        return c_declaration(self.functype.params, self.functype.results)

    @property
    def store(self):
        return getattr(self._owner, "store", None)

    def __repr__(self):
        return f"<wasabi Function {self.functype}>"


class HostFunction:
    """A Python callable with a wasm FuncType, importable by instances.

    Arguments arrive as Python values (i32/i64 ints, f32/f64 floats, externref
    objects, funcref Function objects or None); the callable returns None, one
    value, or a sequence for several results. An exception it raises passes
    through the wasm frames unchanged.
    """

    def __init__(self, functype, callable, store=None):
        if not isinstance(functype, FuncType):
            raise TypeError(f"expected a FuncType, got {functype!r}")
        self.functype = functype
        self.callable = callable
        self.store = store if store is not None else Store()
        self._host = None

    @property
    def type(self):
        """The FuncType (the public API's subclass gives a FunctionType instead)."""
        return self.functype

    def __call__(self, *args):
        return self.callable(*args)

    def call_bits(self, *bits):
        """Call the Python callable as wasm would: arguments and results as exact bits
        (f32 signalling NaNs come out quieted: Python floats are doubles)."""
        params, results = self.functype.params, self.functype.results
        if len(bits) != len(params):
            raise TypeError(f"the host function takes {len(params)} argument"
                            f"{'' if len(params) == 1 else 's'} ({len(bits)} given)")
        keep = self.store.keep
        args = [_ext.value_from_raw(t, bits_to_raw(t, b, keep)) for t, b in zip(params, bits)]
        out = result_tuple(self.callable(*args), len(results))
        return tuple(raw_to_bits(t, _ext.raw_from_value(t, v, keep)) for t, v in zip(results, out))

    def _native(self):
        """The HostRecord, created on first use (it needs the JIT's host thunk)."""
        if self._host is None:
            thunk = thunk_provider().host_thunk(self.functype)
            self._host = _ext.HostRecord(self.callable, self.functype.params,
                                         self.functype.results, type_id(self.functype), thunk,
                                         self.store.keep)
            _registry.add(self._host.record_address, 1, self, lambda owner, i: owner)
        return self._host

    @property
    def _record_address(self):
        return self._native().record_address

    def record_fields(self):
        host = self._native()
        return host.code_address, host.host_address, type_id(self.functype)

    def __repr__(self):
        return f"<wasabi HostFunction {self.functype}: {self.callable!r}>"


# ---- exact bit patterns (tests, differential runs) ----

_BIT_WIDTHS = {I32: 32, F32: 32, I64: 64, F64: 64, V128: 128}


def bits_to_raw(valtype, bits, keep):
    """The slot bits of one value given as bits: i32/f32 an unsigned 32-bit pattern,
    i64/f64 unsigned 64-bit, v128 an unsigned 128-bit int; a reference is the Python
    object itself (None is null) and goes through the normal conversion."""
    width = _BIT_WIDTHS.get(valtype)
    if width is None:
        return _ext.raw_from_value(valtype, bits, keep)
    if not isinstance(bits, int) or isinstance(bits, bool):
        raise TypeError(f"expected the bits of a {type_name(valtype)} as an int, got {bits!r}")
    if not 0 <= bits < 1 << width:
        raise OverflowError(f"{bits:#x} is not an unsigned {width}-bit pattern")
    return bits


def raw_to_bits(valtype, raw):
    """The inverse of bits_to_raw for a result slot (its unused high bytes masked off)."""
    width = _BIT_WIDTHS.get(valtype)
    if width is None:
        return _ext.value_from_raw(valtype, raw & 0xFFFFFFFFFFFFFFFF)
    return raw & ((1 << width) - 1)


def result_tuple(out, count):
    """A host callable's return value as a tuple of `count` values."""
    if count == 0:
        return ()
    if count == 1:
        return (out,)
    # at most count + 1 values: an endless iterator must not exhaust memory
    out = tuple(_itertools.islice(out, count + 1))
    if len(out) != count:
        got = f"more than {count}" if len(out) > count else len(out)
        raise TypeError(f"host function returned {got} values, expected {count}")
    return out


# ---- the JIT thunks (per signature), from wasabi.compiler unless replaced ----

_thunks = None


def thunk_provider():
    """An object with array_thunk(functype) and host_thunk(functype) -> address."""
    global _thunks
    if _thunks is None:
        from ..compiler import thunks
        _thunks = thunks
    return _thunks


def set_thunk_provider(provider):
    """Replace the thunk source (tests with hand-written thunks); returns the old one."""
    global _thunks
    old, _thunks = _thunks, provider
    return old


# ---- funcref address -> Python object ----

class _RecordRegistry:
    """Address ranges of wrt_func records -> (weak owner, how to get the object).

    An owner's weakref callback only queues its removal: the garbage collector may
    run it inside add() (any allocation can collect a dead instance), where
    taking the lock again would deadlock. The queue is drained under the lock,
    and an entry is removed only if it still belongs to the dead owner (a new
    owner may have the same address by then)."""

    def __init__(self):
        self._lock = _threading.Lock()
        self._starts = []
        self._spans = {}       # start -> (end, weakref to owner, getter(owner, index))
        self._dead = []        # (start, weakref) of collected owners, appended by weakref callbacks

    def add(self, start, count, owner, getter):
        # the callback only queues (start, ref); the span holds the ref, which keeps
        # the callback alive until the span is removed (weakref.finalize costs 10x more)
        dead = self._dead
        ref = _weakref.ref(owner, lambda ref, start=start: dead.append((start, ref)))
        span = (start + count * FUNC_RECORD_SIZE, ref, getter)
        with self._lock:
            self._drain_dead()
            if start not in self._spans:
                _bisect.insort(self._starts, start)
            self._spans[start] = span

    def _drain_dead(self):
        while self._dead:
            start, ref = self._dead.pop()
            span = self._spans.get(start)
            if span is not None and span[1] is ref:
                del self._spans[start]
                del self._starts[_bisect.bisect_left(self._starts, start)]

    def find(self, address):
        """(owner, index) of the record at address, or None."""
        with self._lock:
            i = _bisect.bisect_right(self._starts, address) - 1
            if i < 0:
                return None
            start = self._starts[i]
            end, ref, getter = self._spans[start]
        owner = ref()
        if owner is None or address >= end or (address - start) % FUNC_RECORD_SIZE:
            return None
        return owner, (address - start) // FUNC_RECORD_SIZE, getter

    def lookup(self, address):
        found = self.find(address)
        if found is None:
            return None
        owner, index, getter = found
        return getter(owner, index)


_registry = _RecordRegistry()


def register_func_records(start, count, owner, getter):
    _registry.add(start, count, owner, getter)


def funcref_owner(address):
    """The object whose records hold the funcref `address` (an instance, or a host
    function), or None if no live one does."""
    found = _registry.find(address)
    return None if found is None else found[0]


def funcref_from_address(address):
    found = _registry.lookup(address)
    if found is None:
        raise RuntimeError(f"funcref {address:#x} does not point at a live function record")
    return found


_ext.set_funcref_resolver(funcref_from_address)
