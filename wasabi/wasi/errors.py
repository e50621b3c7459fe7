"""How a WASI program's proc_exit reaches Python.

proc_exit leaves compiled code like a trap, with the dedicated code
TRAP_WASI_EXIT of wasabi.abi.traps; the status is kept per thread by the C side. `exit_from_trap` turns such a
wasabi.Trap into WasiExit, which is not a Trap: the program ended on purpose
and the host carries on.
"""
from .. import _ext
from ..errors import Trap

from ..abi.traps import TRAP_WASI_EXIT  # noqa: E402  (the one trap table)


class WasiExit(Exception):
    """A WASI program called proc_exit(code) (wasi-libc: exit() or main's nonzero return)."""

    def __init__(self, code):
        self.code = code
        super().__init__(f"WASI program exited with code {code}")


def is_exit_trap(exc):
    return isinstance(exc, Trap) and exc.code == TRAP_WASI_EXIT


def exit_from_trap(trap):
    """The WasiExit for a Trap with code TRAP_WASI_EXIT (reads this thread's status)."""
    return WasiExit(_ext.wasi_take_exit_status() & 0xFFFFFFFF)
