"""Tables: native arrays of references (wasabi/_native/tables.c)."""
from .. import _ext
from ..binary.types import EXTERNREF, FUNCREF, Limits, TableType
from .store import Store


class Table:
    def __init__(self, store, type, init=None):
        self._setup(store, type, init)

    @classmethod
    def _create(cls, store, type):
        """A table of `cls` from its TableType, null-filled (instantiation)."""
        table = cls.__new__(cls)
        Table._setup(table, store, type, None)
        return table

    def _setup(self, store, type, init):
        if not isinstance(type, TableType):
            raise TypeError(f"expected a TableType, got {type!r}")
        if type.elem_type not in (FUNCREF, EXTERNREF):
            raise ValueError(f"invalid table element type {type.elem_type:#x}")
        self.store = store if store is not None else Store()
        self.elem_type = type.elem_type
        raw = self._raw(init)
        self._native = _ext.NativeTable(type.limits.min, type.limits.max, type.elem_type, raw)

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
        return self._native.grow(delta, self._raw(init))

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"<wasabi Table: {self.size} elements, max {self.maximum}>"
