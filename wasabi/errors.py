"""The exceptions of wasabi (one place, imported by every stage).

CompileError is a ValueError, as in the `wasmer` package; Trap is a RuntimeError,
which is what `wasmer` raises for traps.
"""


class CompileError(ValueError):
    """Malformed bytes: names the byte offset and what was expected."""

    def __init__(self, message, offset=None):
        self.offset = offset
        self.message = message
        if offset is not None:
            message = f"{message} (at byte offset {offset:#x})"
        super().__init__(message)


class ValidationError(CompileError):
    """A well-formed module that breaks a validation rule.

    For a code body: the function index, the instruction's byte offset and the
    type mismatch are named in the message and kept as attributes.
    """

    def __init__(self, message, offset=None, func_index=None):
        self.func_index = func_index
        full = message if func_index is None else f"func {func_index}: {message}"
        super().__init__(full, offset)
        self.message = message      # the bare reason, as the spec's texts phrase it


class LinkError(RuntimeError):
    """An import is missing or has the wrong type."""


class Trap(RuntimeError):
    """WebAssembly code trapped; `.code` is one of wasabi.abi.traps, str(trap) the spec message."""

    def __init__(self, message, code=None):
        self.code = code
        self.message = message
        super().__init__(message)


class ResourceLimitError(LinkError):
    """Instantiation would pass one of the store's Limits (instances, memories, tables, or a
    memory's or table's initial size)."""


class OutOfFuel(Trap):
    """Code compiled with Options(fuel=True) used up the store's fuel (store.set_fuel)."""


class Interrupted(Trap):
    """store.interrupt() stopped the running code."""


class DeadlineExceeded(Interrupted):
    """The store's deadline (store.set_deadline) or a call's timeout passed."""


class WasiExit(Exception):
    """A WASI program called proc_exit(code) (wasi-libc: exit() or main's nonzero return).

    Not a Trap: the program ended on purpose and the host carries on (wasabi.wasi)."""

    def __init__(self, code):
        self.code = code
        super().__init__(f"WASI program exited with code {code}")


def trap_class(code):
    """The Trap subclass raised for a trap code (wasabi.abi.traps)."""
    from .abi import traps     # a leaf module: no cycle
    return {traps.TRAP_OUT_OF_FUEL: OutOfFuel, traps.TRAP_INTERRUPTED: Interrupted,
            traps.TRAP_DEADLINE: DeadlineExceeded}.get(code, Trap)
