"""The Store: the context objects are created in, and keeper of refs that crossed into code.

Native records refer to each other by raw pointers, so whatever a pointer may
reach must outlive it. The owners are kept alive by the Python objects that
hold their pointers, not by the Store, so that an instance nobody uses any
more is freed (a server making one instance per request in one Store must not
grow without end):

- an instance keeps its imports, memories, tables and globals;
- a Function keeps its instance (its vmctx, records and code);
- instances, funcref tables and funcref globals that may exchange funcrefs
  without Python seeing it (linking one table or global, a function import
  whose type has funcrefs, a clone holding the original's foreign funcrefs)
  are joined into a lifetime group and keep each other alive
  (runtime/lifetimes.py). A failed instantiation whose segments already wrote
  into an imported table stays alive as long as that table, as those
  references must.
- refs that Python passed into compiled code (funcref and externref arguments,
  results of host functions, Table.set, Global.value) may be stored anywhere,
  so the Store keeps those objects, in `keep`, for as long as it lives.

When an object of another store is imported, the two stores keep each other
alive. Cycles between these are freed by Python's cycle collector.

Control (wasabi/_native/control.c): `interrupt()` and `set_deadline()` stop code
running in the store's instances, from any thread.

Limits and a limiter (runtime/limits.py) bound what the store may hold and how
far its memories and tables may grow; a Store made without them has none.

The Store also holds the fuel of code compiled with Options(fuel=True): one
signed 64-bit cell, the remaining fuel, that every instance's vmctx->fuel points
to (so instances of one store draw from one supply; compile/emit/fuel.py).
"""
import operator as _operator

from .. import _ext
from .limits import StoreLimits

I64_MAX = (1 << 63) - 1
U64_MAX = (1 << 64) - 1


class Store:
    def __init__(self, engine=None, *, limits=None, limiter=None):
        self.engine = engine
        self.control = _ext.StoreControl()
        self.resource_limits = StoreLimits(limits, limiter)
        # address -> object, for refs that compiled code may have stored
        self.keep = {}
        self._linked = set()
        # the remaining fuel, read and written by compiled code; a store starts with
        # none (as wasmtime's), so fuel code traps until set_fuel
        self._fuel = _ext.RawBuffer(8)
        # fuel set above what the cell holds (wasmtime's "reserve"): only reported
        self._fuel_reserve = 0

    @property
    def fuel_cell_address(self):
        """Address of the remaining-fuel cell (an int64) that vmctx->fuel points to."""
        return self._fuel.address

    def set_fuel(self, fuel):
        """Set the fuel that code compiled with Options(fuel=True) may consume in this
        store (wasmtime's Store.set_fuel): most operators cost 1, see compile/emit/fuel.py.
        Running out traps with wasabi.OutOfFuel. 0 <= fuel < 2**64; what exceeds
        2**63 - 1 is reported by get_fuel but never consumed."""
        fuel = _operator.index(fuel)
        if not 0 <= fuel <= U64_MAX:
            raise ValueError(f"fuel must be an int in [0, 2**64), not {fuel!r}")
        injected = min(fuel, I64_MAX)
        self._fuel_reserve = fuel - injected
        self._fuel.set_u64(0, injected)

    def get_fuel(self):
        """The fuel left (wasmtime's Store.get_fuel); 0 once it ran out."""
        remaining = self._fuel.get_u64(0)
        if remaining > I64_MAX:          # negative: the last operators overdrew it
            remaining = 0
        return self._fuel_reserve + remaining

    def link(self, other):
        """Keep `other` (a Store) alive as long as this one, and vice versa."""
        if other is not None and other is not self:
            self._linked.add(other)
            other._linked.add(self)

    # ---- control ----

    def interrupt(self):
        """Stop code running in this store: it traps wasabi.Interrupted at its next
        function entry, or where it runs a loop. Callable from any thread and from a signal
        handler. When nothing runs, the next call into the store traps instead; each
        interrupt() stops one call."""
        self.control.interrupt()

    def set_deadline(self, seconds):
        """Code of this store traps wasabi.DeadlineExceeded once `seconds` (wall clock,
        from now) have passed, at its next function entry or wherever it loops, and so do
        later calls until the deadline is changed; None clears it."""
        self.control.set_deadline(seconds)

    @property
    def deadline(self):
        """Seconds left until the deadline (negative once past), or None."""
        return self.control.deadline_remaining

    @property
    def limits(self):
        """The store's wasabi.Limits (every field None: no limit)."""
        return self.resource_limits.limits

    @property
    def limiter(self):
        return self.resource_limits.limiter

    def __repr__(self):
        return f"<wasabi Store: {len(self.keep)} kept refs>"
