"""Linear memory: a native reservation (wasabi/_native/memory.c) owned by a Store."""
from .. import _ext
from ..binary.types import MAX_PAGES, Limits, MemoryType
from .limits import PAGE, store_limits
from .store import Store


class Memory:
    """A wasm memory.

    guarded=True reserves 8 GiB so that compiled code in guard mode needs no
    bounds checks; guarded=False reserves only up to the maximum and is meant
    for code compiled with explicit bounds checks (which also runs on guarded
    memories). cow=True keeps the bytes in a memfd so that clones are
    copy-on-write; cow=False uses plain anonymous pages (Options.memory).

    Its store's Limits cap how far it may grow (an unguarded memory reserves
    only that much) and its store's limiter is asked before it grows
    (runtime/limits.py).
    """

    def __init__(self, store, type, guarded=True, cow=True):
        self._setup(store, type, guarded, cow)

    @classmethod
    def _create(cls, store, type, guarded, cow=True):
        """A memory of `cls` from its MemoryType (instantiation and clones: the
        caller has had it admitted by the store's limits)."""
        memory = cls.__new__(cls)
        Memory._setup(memory, store, type, guarded, cow, admitted=True)
        return memory

    def _setup(self, store, type, guarded, cow=True, admitted=False):
        if not isinstance(type, MemoryType):
            raise TypeError(f"expected a MemoryType, got {type!r}")
        limits = type.limits
        maximum = MAX_PAGES if limits.max is None else limits.max
        if limits.min > maximum or maximum > MAX_PAGES:
            raise ValueError(f"invalid memory limits {limits.min}..{limits.max}")
        self.store = store if store is not None else Store()
        self.declared_max = limits.max
        self.shared = type.shared
        rl = self._store_limits = store_limits(self.store)
        if not rl.active:
            self._native = _ext.NativeMemory(limits.min, maximum, guarded, cow)
            return
        if not admitted:
            rl.admit(memories=[(limits.min, limits.max)])
        self._native = _ext.NativeMemory(limits.min, rl.memory_pages(maximum), guarded, cow)
        if rl.memory_limiter is not None:
            self._native.set_limiter(rl.memory_limiter,
                                     None if limits.max is None else limits.max * PAGE)
        rl.track("memories", self)

    # -- the record compiled code sees --
    @property
    def address(self):
        return self._native.address

    @property
    def base(self):
        return self._native.base

    @property
    def guarded(self):
        return self._native.guarded

    # -- wasm view --
    @property
    def type(self):
        """The current type: min is the current size, as import matching needs."""
        return MemoryType(Limits(self.pages, self.declared_max), self.shared)

    @property
    def pages(self):
        return self._native.pages

    @property
    def size(self):
        """Size in pages (as memory.size)."""
        return self._native.pages

    @property
    def data_size(self):
        """Size in bytes."""
        return self._native.size

    def grow(self, delta_pages):
        """The old size in pages, or -1 when the memory cannot grow (as memory.grow)."""
        if delta_pages < 0:
            raise ValueError("cannot shrink a memory")
        if delta_pages > MAX_PAGES:
            return -1
        native = self._native
        if self._store_limits.memory_limiter is not None and \
                0 < delta_pages <= native.max_pages - native.pages and \
                not self._store_limits.memory_allows(native.pages, native.pages + delta_pages,
                                               self.declared_max):
            return -1
        return native.grow(delta_pages)

    @property
    def limit_pages(self):
        """The most pages it may grow to: its maximum, lowered by its store's Limits."""
        return self._native.max_pages

    def read(self, offset, length):
        return self._native.read(offset, length)

    def write(self, offset, data):
        self._native.write(offset, memoryview(data).cast("B"))

    def __repr__(self):
        return f"<wasabi Memory: {self.pages} pages, max {self.declared_max}>"

