"""Tables: native arrays of references (wasabi/_native/tables.c).

A table's store's Limits cap how far it may grow (its capacity; the type keeps
the declared maximum) and its store's limiter is asked before it grows
(runtime/limits.py)."""
from .. import _ext
from ..binary.types import EXTERNREF, FUNCREF, Limits, TableType
from .limits import store_limits
from .store import Store


class Table:
    def __init__(self, store, type, init=None):
        self._setup(store, type, init)

    @classmethod
    def _create(cls, store, type):
        """A table of `cls` from its TableType, null-filled (instantiation and
        clones: the caller has had it admitted by the store's limits)."""
        table = cls.__new__(cls)
        Table._setup(table, store, type, None, admitted=True)
        return table

    def _setup(self, store, type, init, admitted=False):
        if not isinstance(type, TableType):
            raise TypeError(f"expected a TableType, got {type!r}")
        if type.elem_type not in (FUNCREF, EXTERNREF):
            raise ValueError(f"invalid table element type {type.elem_type:#x}")
        self.store = store if store is not None else Store()
        self.elem_type = type.elem_type
        raw = self._raw(init)
        limits = type.limits
        rl = self._store_limits = store_limits(self.store)
        if not rl.active:
            self._native = _ext.NativeTable(limits.min, limits.max, type.elem_type, raw)
            return
        if not admitted:
            rl.admit(tables=[(limits.min, limits.max)])
        self._native = _ext.NativeTable(limits.min, limits.max, type.elem_type, raw,
                                        rl.table_elements(limits.max))
        if rl.table_limiter is not None:
            self._native.set_limiter(rl.table_limiter)
        rl.track("tables", self)

    def _raw(self, value):
        return _ext.raw_from_value(self.elem_type, value, self.store.keep)

    @property
    def address(self):
        return self._native.address

    @property
    def type(self):
        return TableType(self.elem_type, Limits(self.size, self._native.maximum))

    @property
    def size(self):
        return self._native.size

    @property
    def maximum(self):
        return self._native.maximum

    def get(self, index):
        return _ext.value_from_raw(self.elem_type, self._native.get(index))

    def set(self, index, value):
        self._native.set(index, self._raw(value))

    def grow(self, delta, init=None):
        """The old size, or -1 when the table cannot grow (as table.grow)."""
        if delta < 0:
            raise ValueError("cannot shrink a table")
        if delta > 0xFFFFFFFF:
            return -1
        native = self._native
        if self._store_limits.table_limiter is not None and \
                0 < delta <= native.capacity - native.size and \
                not self._store_limits.table_allows(native.size, native.size + delta,
                                                    native.maximum):
            return -1
        return native.grow(delta, self._raw(init))

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"<wasabi Table: {self.size} elements, max {self.maximum}>"
