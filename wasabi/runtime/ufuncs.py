"""The runtime side of vectorize() and export.address (see vectorize.py's doc).

- make(func, ...): the numpy.ufunc of an export, over loops compiled once per
  module and function (wasabi/compiler/ufunc.py) and cached on the code object;
- vectorize(func, parallel=...): what wasabi.vectorize is (see vectorize.py's doc).

A ufunc made here pickles as the vectorize call that made it (its export pickles
with its instance: api/pickling.py): numpy pickles ufuncs by name, so a reducer for
numpy.ufunc (copyreg) knows ours and leaves numpy's to numpy.
"""
import copyreg as _copyreg
import os as _os
import threading as _threading
import weakref as _weakref

from .. import _ext
from .clone import clone_instance
from .vectorize import Vectorized, _dtype_names

_lock = _threading.Lock()


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
    return {"bounds": code.bounds, "fuel": code.fuel, "interruptible": code.interruptible,
            # LAZY/REPL/PGO code: callees through the instance's records (they may change)
            "table_calls": code.calls_through_records}


def compiled_loops(instance, index):
    """(library, [(loop address, dtypes)]) for function `index` of the instance's
    module, compiled on first use and kept on the code object."""
    from ..compiler import ufunc as cu
    code = instance.code
    with _lock:
        cache = code.derived.setdefault("ufunc_loops", {})
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
        threads = threads or _os.cpu_count() or 1
        clones = [clone_instance(instance) for _ in range(max(0, threads - 1))]
    name = instance.desc.export_name(index) if hasattr(instance.desc, "export_name") else None
    name = name or f"wasm_f{index}"
    doc = (f"wasabi ufunc of wasm function {index} {func.functype}"
           + (f", parallel over {len(clones) + 1} threads" if clones else ""))
    poll = _options(instance.code)["interruptible"]
    made = _Made(func, parallel, threads, min_chunk)
    keep = (library, func, instance, clones, made)
    ufunc = _ext.make_ufunc(name, doc, len(func.params), len(func.results), loops,
                            instance.vmctx_address, poll, keep,
                            [c.vmctx_address for c in clones], min_chunk)
    _remember(ufunc, made)
    return ufunc


class _Made:
    """How a ufunc was made; kept alive by the ufunc (in its loops' `keep`)."""
    __slots__ = ("arguments", "__weakref__")

    def __init__(self, *arguments):
        self.arguments = arguments


_made = {}          # id(ufunc) -> weak reference to its _Made (gone with the ufunc)
_numpy_reducer = []     # the reducer numpy registered for its ufuncs (by name)


def _remember(ufunc, made):
    key = id(ufunc)
    _made[key] = _weakref.ref(made)
    _weakref.finalize(made, _made.pop, key, None)
    ufunc_type = type(ufunc)        # numpy.ufunc: numpy is imported only when a ufunc is made
    current = _copyreg.dispatch_table.get(ufunc_type)
    if current is not _reduce_ufunc:
        _numpy_reducer[:] = [current]
        _copyreg.pickle(ufunc_type, _reduce_ufunc)


def _reduce_ufunc(ufunc):
    ref = _made.get(id(ufunc))
    made = ref() if ref is not None else None
    if made is None:                        # numpy's own ufuncs: by name, as always
        numpy_reducer = _numpy_reducer[0] if _numpy_reducer else None
        return numpy_reducer(ufunc) if numpy_reducer is not None else ufunc.__name__
    func, parallel, threads, min_chunk = made.arguments
    return _revectorize, (func, parallel, threads, min_chunk)


def _revectorize(func, parallel, threads, min_chunk):
    return vectorize(func, parallel=parallel, threads=threads, min_chunk=min_chunk)


def vectorize(func, parallel=False, threads=None, min_chunk=1 << 16):
    """The numpy.ufunc of a compiled wasm function (see vectorize.py's doc)."""
    if not isinstance(func, _ext.FuncHandle):
        raise TypeError(f"expected a compiled wasm function, got {type(func).__name__}")
    _dtype_names(func.params, "parameters")
    _dtype_names(func.results, "results")
    if not func.results or len(func.params) + len(func.results) > 32:
        return Vectorized(func)
    return make(func, parallel=parallel, threads=threads, min_chunk=min_chunk)
