"""How a WASI program's proc_exit reaches Python.

proc_exit leaves compiled code like a trap, with the dedicated code
TRAP_WASI_EXIT of wasabi.abi.traps; the status is kept per thread by the C side. `exit_from_trap` turns such a
wasabi.Trap into WasiExit, which is not a Trap: the program ended on purpose
and the host carries on.
"""
from .. import _ext
from ..errors import Trap, WasiExit  # noqa: F401  (WasiExit: with wasabi's other exceptions)

from ..abi.traps import TRAP_WASI_EXIT  # noqa: E402  (the one trap table)


def is_exit_trap(exc):
    return isinstance(exc, Trap) and exc.code == TRAP_WASI_EXIT


def exit_from_trap(trap):
    """The WasiExit for a Trap with code TRAP_WASI_EXIT (reads this thread's status)."""
    return _ext.wasi_exit()
