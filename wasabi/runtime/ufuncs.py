"""The runtime side of vectorize() and export.address (see vectorize.py's doc).

- make(func, ...): the numpy.ufunc of an export, over loops compiled once per
  module and function (wasabi/compiler/ufunc.py) and cached on the code object;
- native_pointer(func): the export as a C function pointer bound to its instance.
"""
import os
import threading

from .. import _ext
from .instance import bounds_mode

_lock = threading.Lock()


def _owner_and_index(func):
    """(instance, defined function index) of a compiled export."""
    owner = getattr(func, "_owner", None)
    functions = getattr(owner, "_functions", None)
    if functions is not None:
        for index, f in functions.items():
            if f is func:
                return owner, index
    raise TypeError("vectorize needs a function exported by a wasabi instance")


def _options(code):
    return {"bounds": bounds_mode(code), "fuel": bool(getattr(code, "fuel", False)),
            "interruptible": bool(getattr(code, "interruptible", True)),
            # LAZY/REPL code: callees through the instance's records (they may change)
            "table_calls": getattr(code, "attach_instance", None) is not None}


def compiled_loops(instance, index):
    """(library, [(loop address, dtypes)]) for function `index` of the instance's
    module, compiled on first use and kept on the code object."""
    from ..compiler import ufunc as cu
    code = instance.code
    with _lock:
        cache = code.__dict__.setdefault("_wasabi_ufunc_loops", {})
        found = cache.get(index)
        if found is None:
            ftype = instance.desc.func_type(index)
            sigs = cu.signatures_for(ftype.params, ftype.results)
            library, addresses = cu.compile_loops(instance.desc, index, sigs, _options(code))
            found = (library, [(a, ins + outs) for a, (ins, outs) in zip(addresses, sigs)])
            cache[index] = found
    return found


def make(func, parallel=False, threads=None, min_chunk=1 << 16):
    instance, index = _owner_and_index(func)
    library, loops = compiled_loops(instance, index)
    clones = []
    if parallel:
        from .clone import clone_instance
        threads = threads or os.cpu_count() or 1
        clones = [clone_instance(instance) for _ in range(max(0, threads - 1))]
    name = instance.desc.export_name(index) if hasattr(instance.desc, "export_name") else None
    name = name or f"wasm_f{index}"
    doc = (f"wasabi ufunc of wasm function {index} {func.functype}"
           + (f", parallel over {len(clones) + 1} threads" if clones else ""))
    poll = _options(instance.code)["interruptible"]
    keep = (library, func, instance, clones)
    return _ext.make_ufunc(name, doc, len(func.params), len(func.results), loops,
                           instance.vmctx_address, poll, keep,
                           [c.vmctx_address for c in clones], min_chunk)


# ---- native function pointers ----

class NativePointer:
    """The export as a C function (export.address / export.ctype)."""

    def __init__(self, func):
        from ..compiler import ufunc as cu
        ft = func.functype
        self.ctype = cu.c_declaration(ft.params, ft.results)
        self._record = _ext.NativeRecord(func.thunk, func.code, func.vmctx, func)
        self._code, self.address = cu.compile_native_wrapper(
            ft.params, ft.results, self._record.address, _ext.native_call_address())


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
