"""Resource limits of a Store: Limits, the limiter, and the live counts.

    store = wasabi.Store(limits=wasabi.Limits(memory_pages=256, instances=10),
                         limiter=my_limiter)

The semantics are wasmtime's StoreLimits and ResourceLimiter:

- memory_pages / table_elements: the largest size of *each* memory / table
  created in the store (64 KiB pages; elements). memory.grow and table.grow
  past it return -1, from wasm and from Python, as past a declared maximum.
  The native record's own bound is lowered when the memory or table is made
  (wrt_memory.max_pages, a table's capacity), so the grow fast path is the one
  of any memory; the type (`.type`, import matching, `.maximum`) keeps the
  declared maximum. An explicit-bounds memory reserves only up to that bound.
- instances / memories / tables: how many the store may hold at once.
  wasabi frees instances nobody refers to (wasmtime keeps every instance until
  its store is dropped), so what counts is the *live* ones: an instance, memory
  or table that was dropped stops counting once Python has freed it. When the
  count is reached, the cycle collector runs once before refusing (instances
  live in reference cycles). REPL cells are instances too.
- An instantiation that would pass a count, or whose memory or table starts
  above memory_pages / table_elements, raises ResourceLimitError before
  anything is made. So does Memory(store, ...) / Table(store, ...).
- limiter: an object with memory_growing(current, desired, maximum) and/or
  table_growing(current, desired, maximum) returning a truth value (False:
  the grow fails, -1). Memories are in bytes (as wasmtime), tables in
  elements; maximum is the declared one, None when there is none. It is asked
  when a memory or table of the store is made (current 0; False refuses the
  instantiation) and before each grow, from wasm (it runs with the GIL taken
  as a host call does: wasabi/_native/limits.c) and from Python, except for a
  grow of 0 or one that the maximum or the Limits refuse anyway. An exception
  it raises propagates to whoever grew, through the wasm frames, as a host
  function's does. Only memories and tables of a store with a limiter pay for
  the call.
- A memory or table is governed by the store that made it, also when another
  store's instance imports it.
"""
import gc as _gc
import threading as _threading
import weakref as _weakref
from dataclasses import dataclass, fields

from ..errors import ResourceLimitError

PAGE = 65536
COUNTED = ("instances", "memories", "tables")


@dataclass(frozen=True)
class Limits:
    """What a Store may hold; None (the default) is no limit."""
    memory_pages: int | None = None      # each memory's largest size, in 64 KiB pages
    table_elements: int | None = None    # each table's largest size, in elements
    instances: int | None = None         # live instances in the store
    memories: int | None = None          # live memories made in the store
    tables: int | None = None            # live tables made in the store

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Limits.{f.name} must be an int or None, not {value!r}")
            if value < 0:
                raise ValueError(f"Limits.{f.name} must not be negative, got {value}")

    @classmethod
    def from_bytes(cls, memory_bytes, **others):
        """Limits whose memory_pages holds memory_bytes (rounded down to whole pages)."""
        return cls(memory_pages=memory_bytes // PAGE, **others)


class StoreLimits:
    """A store's Limits and limiter, and the live objects its counted limits count."""

    def __init__(self, limits, limiter):
        if limits is None:
            limits = Limits()
        if not isinstance(limits, Limits):
            raise TypeError(f"expected wasabi.Limits, got {type(limits).__name__}")
        if limiter is not None and not (hasattr(limiter, "memory_growing")
                                        or hasattr(limiter, "table_growing")):
            raise TypeError("a limiter needs a memory_growing and/or table_growing method")
        self.limits = limits
        self.limiter = limiter
        self.memory_limiter = limiter if hasattr(limiter, "memory_growing") else None
        self.table_limiter = limiter if hasattr(limiter, "table_growing") else None
        self._lock = _threading.Lock()
        # kind -> WeakSet of the live objects, only for the kinds with a limit
        self._live = {kind: _weakref.WeakSet() for kind in COUNTED
                      if getattr(limits, kind) is not None}

    @property
    def active(self):
        """Whether anything here can refuse: unlimited stores skip every check."""
        return bool(self._live) or self.limiter is not None or \
            self.limits.memory_pages is not None or self.limits.table_elements is not None

    def live(self, kind):
        """How many live objects of `kind` count (None: that kind has no limit)."""
        live = self._live.get(kind)
        return None if live is None else len(live)

    def track(self, kind, obj):
        live = self._live.get(kind)
        if live is not None:
            with self._lock:
                live.add(obj)

    # ---- admission: before anything is made ----

    def admit(self, instances=0, memories=(), tables=()):
        """Refuse (ResourceLimitError) what would pass a limit: `instances` new
        instances, `memories` and `tables` as (initial size, declared maximum)
        pairs. Asks the limiter about each initial size."""
        limits = self.limits
        for i, (initial, _) in enumerate(memories):
            if limits.memory_pages is not None and initial > limits.memory_pages:
                raise ResourceLimitError(
                    f"memory {i} starts at {initial} pages, above the store's limit of "
                    f"memory_pages={limits.memory_pages}")
        for i, (initial, _) in enumerate(tables):
            if limits.table_elements is not None and initial > limits.table_elements:
                raise ResourceLimitError(
                    f"table {i} starts with {initial} elements, above the store's limit of "
                    f"table_elements={limits.table_elements}")
        self._admit_counts({"instances": instances, "memories": len(memories),
                            "tables": len(tables)})
        for i, (initial, maximum) in enumerate(memories):
            if not self.memory_allows(0, initial, maximum):
                raise ResourceLimitError(f"the store's limiter refused memory {i} of "
                                         f"{initial} pages")
        for i, (initial, maximum) in enumerate(tables):
            if not self.table_allows(0, initial, maximum):
                raise ResourceLimitError(f"the store's limiter refused table {i} of "
                                         f"{initial} elements")

    def _admit_counts(self, wanted):
        over = self._over(wanted)
        if over:
            _gc.collect()        # dropped instances in reference cycles stop counting
            over = self._over(wanted)
        if over:
            kind, live, n = over
            limit = getattr(self.limits, kind)
            raise ResourceLimitError(
                f"the store holds {live} live {kind} of its limit {kind}={limit}: "
                f"{n} more would pass it")

    def _over(self, wanted):
        with self._lock:
            for kind, n in wanted.items():
                live = self._live.get(kind)
                if n and live is not None and len(live) + n > getattr(self.limits, kind):
                    return kind, len(live), n
        return None

    # ---- growth ----

    def memory_pages(self, maximum):
        """The most pages a memory declared with `maximum` pages may have in this store."""
        limit = self.limits.memory_pages
        return maximum if limit is None else min(maximum, limit)

    def table_elements(self, maximum):
        """The most elements a table declared with `maximum` (None: none) may have."""
        limit = self.limits.table_elements
        if limit is None:
            return maximum
        return limit if maximum is None else min(maximum, limit)

    def memory_allows(self, current_pages, desired_pages, maximum_pages):
        limiter = self.memory_limiter
        if limiter is None:
            return True
        maximum = None if maximum_pages is None else maximum_pages * PAGE
        return bool(limiter.memory_growing(current_pages * PAGE, desired_pages * PAGE, maximum))

    def table_allows(self, current, desired, maximum):
        limiter = self.table_limiter
        return limiter is None or bool(limiter.table_growing(current, desired, maximum))


UNLIMITED = StoreLimits(None, None)


def store_limits(store):
    """The StoreLimits of `store` (any object: stores made before limits had none)."""
    return getattr(store, "resource_limits", None) or UNLIMITED
