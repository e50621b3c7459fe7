"""Exports as native function pointers (export.address / export.ctype) and
wasabi.last_trap(); the wrapper is compiled by wasabi/compiler/native_wrapper.py and
enters through wasabi/_native/native_ptr.c."""
import threading as _threading

from .. import _ext

_lock = _threading.Lock()


class NativePointer:
    """The export as a C function (export.address / export.ctype)."""

    def __init__(self, func):
        from ..compiler import native_wrapper as cu
        ft = func.functype
        self.ctype = cu.c_declaration(ft.params, ft.results)
        self._record = _ext.NativeRecord(func.thunk, func.code, func.vmctx, func)
        # pure: calls run the inlined body with no entry when they can
        self._code, self.address, self.pure = cu.compile_native_wrapper(
            ft.params, ft.results, self._record.address, _ext.native_call_address(),
            _pure(func))


def _pure(func):
    """(desc, index, closure, vmctx) when calls can skip the entry (compiler.native_wrapper
    pure_closure), for code compiled without fuel; None otherwise."""
    from ..compiler import native_wrapper as cu
    owner = getattr(func, "_owner", None)
    code = getattr(owner, "code", None)
    if code is None or code.fuel:
        return None
    for index, f in getattr(owner, "_functions", {}).items():
        if f is func:
            closure = cu.pure_closure(owner.desc, index)
            return None if closure is None else (owner.desc, index, closure, func.vmctx)
    return None


def native_pointer(func):
    """The NativePointer of a compiled function, made on first use."""
    with _lock:
        ptr = getattr(func, "_native_pointer", None)
        if ptr is None:
            ptr = NativePointer(func)
            func._native_pointer = ptr
        return ptr


def last_trap():
    """The trap of this thread's last failed call through an export.address
    pointer (or the error that stopped it), cleared; None if there is none."""
    return _ext.last_trap()
