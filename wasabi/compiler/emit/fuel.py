"""Fuel accounting (Options(fuel=True)): wasmtime's `consume_fuel`, operator for operator.

Cost model (wasmtime's default): 0 for nop, drop, block, loop, unreachable, return,
else and end, 1 for every other operator, 1 for entering a function; plus, like
wasmtime 51, 1 per byte or element of memory.fill/copy/init and table.fill/copy/init,
and 1 per page or element that a successful memory.grow/table.grow added.

Where it is counted mirrors wasmtime's cranelift translator (func_environ.rs), so that
the fuel a call consumes, and the point where it runs out, are the same:

- the costs of straight-line operators are summed at compile time (`pending`) and
  subtracted from the function's running count where control may leave the straight
  line: before loop, if, else, end, br, br_if, br_table; before call, call_indirect,
  return and unreachable the count is also stored to the store's cell, which the
  callee (or the host, or Store.get_fuel) reads; after a call it is read back (the
  same around memory.grow and table.grow, whose limiter may run wasm);
- the count is checked (remaining <= 0 traps, as wasmtime's `consumed >= 0`) at
  function entry, at every loop header, and at a bulk operation or successful grow
  whose size is not a constant of at most 128.

The running count lives in an alloca (%fuel) that SROA keeps in a register, so a
loop iteration costs a subtract, a compare and a branch. It is kept one below the
remaining fuel, so that "no fuel left" is a negative count: a sign test, which LLVM
folds into the subtract's flags better than a test for <= 0 (one add when the count is
stored to the cell, one subtract when it is read back). The cell is the store's
(vmctx->fuel, a pointer): instances of one store draw from one supply. Running out
stores 0 to the cell (what wasmtime's get_fuel reports then) and traps with
TRAP_OUT_OF_FUEL (wasabi.OutOfFuel).

The translator takes its dispatch tables from `dispatch()` when the module context
asks for fuel: every handler wrapped by its operator's accounting. Off, nothing
here runs and the IR is unchanged.
"""
import functools as _functools

from ...abi.traps import TRAP_OUT_OF_FUEL
from ...abi.vmctx import VMCTX_FUEL
from ..irnames import MD_COLD_BRANCH

SLOT = "%fuel"                 # the running count (remaining fuel - 1), an alloca
OUT_LABEL = "fuel.out"         # the out-of-fuel block, made at function entry

FREE = frozenset({"nop", "drop", "block", "loop", "unreachable", "return", "else", "end"})
# operators before which the pending cost is added to the running count
FLUSH = frozenset({"if", "else", "end", "br", "br_if", "br_table"})
CALLS = frozenset({"call", "call_indirect"})
# the last operand is a count of bytes or elements, each costing 1 more
BULK = frozenset({"memory.fill", "memory.copy", "memory.init",
                  "table.fill", "table.copy", "table.init"})
# the last operand is the delta; 1 more per page/element when the grow succeeds
GROW = frozenset({"memory.grow", "table.grow"})
# bulk work whose constant cost is at most this is not followed by a check (wasmtime's)
SMALL_BULK_COST = 128


class Fuel:
    """The per-function state: fuel counted at compile time but not yet subtracted."""
    __slots__ = ("pending",)

    def __init__(self):
        self.pending = 1               # entering the function costs 1

    # -- the running count ------------------------------------------------------------
    def enter(self, t):
        """At the top of the body: load the store's fuel, pay for the entry, check.
        The out-of-fuel block is placed here, so every later check can reach it."""
        t._invariant(("fuel", "slot"), SLOT, [f"  {SLOT} = alloca i64"])
        cell = t.vmctx_ptr(VMCTX_FUEL)
        self.reload(t)
        self.flush(t)
        cont = t.new_label()
        t.emit(f"br i1 {self._exhausted(t)}, label %{OUT_LABEL}, label %{cont}, "
               f"!prof {MD_COLD_BRANCH}")
        t.start_block(OUT_LABEL)
        t.emit(f"store i64 0, ptr {cell}")
        t.emit(f"call void @wasabi_rt_trap(i32 {TRAP_OUT_OF_FUEL})")
        t.emit("unreachable")
        t.start_block(cont)

    def _exhausted(self, t):
        count = t.inst(f"load i64, ptr {SLOT}")
        return t.inst(f"icmp slt i64 {count}, 0")

    def subtract(self, t, amount):
        count = t.inst(f"load i64, ptr {SLOT}")
        t.emit(f"store i64 {t.inst(f'sub i64 {count}, {amount}')}, ptr {SLOT}")

    def flush(self, t):
        """Subtract the pending cost (nothing to do in dead code, which costs nothing)."""
        pending, self.pending = self.pending, 0
        if pending and not t.dead:
            self.subtract(t, pending)

    def check(self, t):
        """Flush, then trap when no fuel is left."""
        self.flush(t)
        cont = t.new_label()
        t.emit(f"br i1 {self._exhausted(t)}, label %{OUT_LABEL}, label %{cont}, "
               f"!prof {MD_COLD_BRANCH}")
        t.start_block(cont)

    def save(self, t):
        """Store the fuel left to the store's cell (before leaving the function)."""
        count = t.inst(f"load i64, ptr {SLOT}")
        remaining = t.inst(f"add i64 {count}, 1")
        t.emit(f"store i64 {remaining}, ptr {t.vmctx_ptr(VMCTX_FUEL)}")

    def reload(self, t):
        """Read the cell back (after a call, which consumed some of it)."""
        remaining = t.inst(f"load i64, ptr {t.vmctx_ptr(VMCTX_FUEL)}")
        t.emit(f"store i64 {t.inst(f'sub i64 {remaining}, 1')}, ptr {SLOT}")

    # -- variable costs ---------------------------------------------------------------
    def bulk(self, t):
        """Before a bulk operation: pay for its count (the top operand), check unless
        it is a small constant."""
        value, ty = t.stack[-1]
        units = _constant(value, ty)
        if units is not None:
            self.pending += units
            if units <= SMALL_BULK_COST:
                return
        else:
            self.flush(t)
            self.subtract(t, _widened(t, value, ty))
        self.check(t)

    def grow(self, t, delta):
        """After a grow: pay for the delta when it succeeded (result != -1), and check
        unless the delta is a small constant."""
        self.flush(t)
        value, ty = delta
        units = _constant(value, ty)
        if units == 0:
            return
        result, result_ty = t.stack[-1]
        grew, done = t.new_label(), t.new_label()
        failed = t.inst(f"icmp eq {result_ty} {result}, -1")
        t.emit(f"br i1 {failed}, label %{done}, label %{grew}")
        t.start_block(grew)
        self.subtract(t, units if units is not None else _widened(t, value, ty))
        if units is None or units > SMALL_BULK_COST:
            self.check(t)
        t.emit(f"br label %{done}")
        t.start_block(done)


def _constant(value, ty):
    """The unsigned value of a literal integer operand, None for a computed one."""
    if value[0] == "%":
        return None
    return int(value) & (0xFFFFFFFF if ty == "i32" else 0xFFFFFFFFFFFFFFFF)


def _widened(t, value, ty):
    return t.inst(f"zext i32 {value} to i64") if ty == "i32" else value


# -- the wrapped handlers ------------------------------------------------------------------
def _wrap(name, handler):
    cost = 0 if name in FREE else 1
    if name in CALLS:
        def wrapped(t, imm, op):
            fuel = t.fuel
            fuel.pending += 1
            fuel.flush(t)
            fuel.save(t)
            handler(t, imm, op)
            fuel.reload(t)
    elif name == "unreachable":
        def wrapped(t, imm, op):
            t.fuel.flush(t)
            t.fuel.save(t)
            handler(t, imm, op)
    elif name == "loop":
        def wrapped(t, imm, op):
            t.fuel.flush(t)            # what precedes the loop is paid once
            handler(t, imm, op)
            t.fuel.check(t)            # in the header: every iteration
    elif name in FLUSH or name == "return":
        # (return: the translator's emit_return stores the count to the cell)
        def wrapped(t, imm, op):
            t.fuel.pending += cost
            t.fuel.flush(t)
            handler(t, imm, op)
    elif name in BULK:
        def wrapped(t, imm, op):
            t.fuel.pending += 1
            t.fuel.bulk(t)
            handler(t, imm, op)
    elif name in GROW:
        # (the count goes through the cell around the builtin: a resource limiter
        # it asks, Python, may run wasm of this store)
        def wrapped(t, imm, op):
            fuel = t.fuel
            fuel.pending += 1
            fuel.flush(t)
            fuel.save(t)
            delta = t.stack[-1]
            handler(t, imm, op)
            fuel.reload(t)
            fuel.grow(t, delta)
    elif cost:
        def wrapped(t, imm, op):
            t.fuel.pending += 1
            handler(t, imm, op)
    else:
        return handler
    return wrapped


def start(t):
    """Begin a function compiled with fuel: its state, the entry code, and the
    dispatch tables whose handlers count."""
    t.fuel = Fuel()
    t.fuel.enter(t)
    return dispatch()


@_functools.lru_cache(maxsize=1)
def dispatch():
    """(DISPATCH, DISPATCH_PREFIXED) of emit/__init__.py with fuel accounting."""
    from . import DISPATCH, DISPATCH_PREFIXED

    def wrap(entry):
        if entry is None:
            return None
        op, handler = entry
        return op, _wrap(op.name, handler)

    return ([wrap(entry) for entry in DISPATCH],
            {key: wrap(entry) for key, entry in DISPATCH_PREFIXED.items()})
