"""Functions: compiled wasm functions, Python host functions, and funcref values.

A funcref value in compiled code is the address of a wrt_func record
{code, vmctx, type_id}. Records live in an instance's funcs array (one per
function index, imports copied in) or in a host function's HostRecord. To
turn an address back into a Python object, the arrays and host records are
registered here (weakly) by address range.
"""
import bisect
import threading
import weakref

from .. import _ext
from ..abi.vmctx import FUNC_RECORD_SIZE
from ..binary.types import FuncType
from .signatures import type_id
from .store import Store


class Function(_ext.FuncHandle):
    """A compiled function of an instance (or another instance's, re-exported).

    Calling it enters compiled code with the GIL released; traps raise
    wasabi.Trap. `call_raw` takes and returns raw slot bits.
    """

    def __init__(self, thunk, code, vmctx, functype, keep, record_address, owner):
        super().__init__(thunk, code, vmctx, functype.params, functype.results, keep,
                         record_address)
        self.type = functype
        self._owner = owner        # keeps the instance (its vmctx, code) alive

    def record_fields(self):
        """(code, vmctx, type_id) to copy into an importer's funcs array."""
        return self.code, self.vmctx, type_id(self.type)

    @property
    def store(self):
        return getattr(self._owner, "store", None)

    def __repr__(self):
        return f"<wasabi Function {self.type}>"


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
        self.type = functype
        self.callable = callable
        self.store = store if store is not None else Store()
        self._host = None
        self.store.own(self)

    def __call__(self, *args):
        return self.callable(*args)

    def _native(self):
        """The HostRecord, created on first use (it needs the JIT's host thunk)."""
        if self._host is None:
            thunk = thunk_provider().host_thunk(self.type)
            self._host = _ext.HostRecord(self.callable, self.type.params, self.type.results,
                                         type_id(self.type), thunk, self.store.keep)
            _registry.add(self._host.record_address, 1, self, lambda owner, i: owner)
        return self._host

    @property
    def _record_address(self):
        return self._native().record_address

    def record_fields(self):
        host = self._native()
        return host.code_address, host.host_address, type_id(self.type)

    def __repr__(self):
        return f"<wasabi HostFunction {self.type}: {self.callable!r}>"


# ---- the JIT thunks (per signature), from wasabi.compile unless replaced ----

_thunks = None


def thunk_provider():
    """An object with array_thunk(functype) and host_thunk(functype) -> address."""
    global _thunks
    if _thunks is None:
        from ..compile import thunks
        _thunks = thunks
    return _thunks


def set_thunk_provider(provider):
    """Replace the thunk source (tests with hand-written thunks); returns the old one."""
    global _thunks
    old, _thunks = _thunks, provider
    return old


# ---- funcref address -> Python object ----

class _RecordRegistry:
    """Address ranges of wrt_func records -> (weak owner, how to get the object)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._starts = []
        self._spans = {}       # start -> (end, weakref to owner, getter(owner, index))

    def add(self, start, count, owner, getter):
        with self._lock:
            if start not in self._spans:
                bisect.insort(self._starts, start)
            self._spans[start] = (start + count * FUNC_RECORD_SIZE, weakref.ref(owner), getter)
        weakref.finalize(owner, self._remove, start)

    def _remove(self, start):
        with self._lock:
            if self._spans.pop(start, None) is not None:
                del self._starts[bisect.bisect_left(self._starts, start)]

    def lookup(self, address):
        with self._lock:
            i = bisect.bisect_right(self._starts, address) - 1
            if i < 0:
                return None
            start = self._starts[i]
            end, ref, getter = self._spans[start]
        owner = ref()
        if owner is None or address >= end or (address - start) % FUNC_RECORD_SIZE:
            return None
        return getter(owner, (address - start) // FUNC_RECORD_SIZE)


_registry = _RecordRegistry()


def register_func_records(start, count, owner, getter):
    _registry.add(start, count, owner, getter)


def funcref_from_address(address):
    found = _registry.lookup(address)
    if found is None:
        raise RuntimeError(f"funcref {address:#x} does not point at a live function record")
    return found


_ext.set_funcref_resolver(funcref_from_address)
