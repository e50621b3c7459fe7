"""Globals: 16-byte native cells that compiled code reads and writes in place."""
from .. import _ext
from ..binary.types import REF_TYPES, GlobalType
from .func import bits_to_raw, raw_to_bits
from .store import Store


class ImmutableGlobalError(RuntimeError, AttributeError):
    """Setting the value of an immutable global (a RuntimeError, as in `wasmer`,
    and an AttributeError, as for a read-only attribute)."""


class Global:
    def __init__(self, store, type, value=None, *, raw=None):
        self._setup(store, type, value, raw)

    @classmethod
    def _create(cls, store, type, raw):
        """A global of `cls` from its GlobalType and initial raw bits (instantiation)."""
        glob = cls.__new__(cls)
        Global._setup(glob, store, type, None, raw)
        return glob

    def _setup(self, store, type, value, raw):
        if not isinstance(type, GlobalType):
            raise TypeError(f"expected a GlobalType, got {type!r}")
        self.store = store if store is not None else Store()
        self.global_type = type
        self._cell = _ext.RawBuffer(16)
        if raw is None:
            if value is None and type.valtype not in REF_TYPES:
                value = 0
            raw = self._to_raw(value)
        self._set_raw(raw)

    def _to_raw(self, value):
        return _ext.raw_from_value(self.global_type.valtype, value, self.store.keep)

    def _set_raw(self, raw):
        self._cell.set_u64(0, raw & 0xFFFFFFFFFFFFFFFF)
        self._cell.set_u64(8, (raw >> 64) & 0xFFFFFFFFFFFFFFFF)

    @property
    def type(self):
        """The GlobalType (the public API's subclass gives its own GlobalType)."""
        return self.global_type

    @property
    def raw(self):
        return self._cell.get_u64(0) | (self._cell.get_u64(8) << 64)

    @property
    def address(self):
        """Address of the 16-byte cell."""
        return self._cell.address

    @property
    def mutable(self):
        return self.global_type.mutable

    @property
    def value(self):
        return _ext.value_from_raw(self.global_type.valtype, self.raw)

    @value.setter
    def value(self, value):
        self._check_mutable()
        self._set_raw(self._to_raw(value))

    def _check_mutable(self):
        if not self.global_type.mutable:
            raise ImmutableGlobalError("The global variable is not mutable, cannot set a new value")

    def get_bits(self):
        """The exact value: i32/f32 as an unsigned 32-bit pattern, i64/f64 64-bit,
        v128 128-bit; a reference as its Python object (None is null)."""
        return raw_to_bits(self.global_type.valtype, self.raw)

    def set_bits(self, bits):
        """Set the exact value (the form get_bits returns); the global must be mutable."""
        self._check_mutable()
        self._set_raw(bits_to_raw(self.global_type.valtype, bits, self.store.keep))

    def __repr__(self):
        return f"<wasabi Global {self.type}: {self.value!r}>"
