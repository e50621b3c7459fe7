"""Globals: 16-byte native cells that compiled code reads and writes in place."""
from .. import _ext
from ..binary.types import REF_TYPES, GlobalType
from .store import Store


class Global:
    def __init__(self, store, type, value=None, *, raw=None):
        if not isinstance(type, GlobalType):
            raise TypeError(f"expected a GlobalType, got {type!r}")
        self.store = store if store is not None else Store()
        self.type = type
        self._cell = _ext.RawBuffer(16)
        if raw is None:
            if value is None and type.valtype not in REF_TYPES:
                value = 0
            raw = self._to_raw(value)
        self._set_raw(raw)
        self.store.own(self)

    def _to_raw(self, value):
        return _ext.raw_from_value(self.type.valtype, value, self.store.keep)

    def _set_raw(self, raw):
        self._cell.set_u64(0, raw & 0xFFFFFFFFFFFFFFFF)
        self._cell.set_u64(8, (raw >> 64) & 0xFFFFFFFFFFFFFFFF)

    @property
    def raw(self):
        return self._cell.get_u64(0) | (self._cell.get_u64(8) << 64)

    @property
    def address(self):
        """Address of the 16-byte cell."""
        return self._cell.address

    @property
    def mutable(self):
        return self.type.mutable

    @property
    def value(self):
        return _ext.value_from_raw(self.type.valtype, self.raw)

    @value.setter
    def value(self, value):
        if not self.type.mutable:
            raise AttributeError("the global is immutable")
        self._set_raw(self._to_raw(value))

    def __repr__(self):
        return f"<wasabi Global {self.type}: {self.value!r}>"
