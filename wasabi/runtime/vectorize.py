"""wasabi.vectorize(export): a scalar wasm export as a real numpy.ufunc
(made by wasabi.runtime.ufuncs.vectorize; this module keeps the older
elementwise callable, Vectorized, that export.map and vectorize() here return).

    add = vectorize(instance.exports.add)         # a numpy.ufunc
    add(np.arange(10, dtype=np.int32), 5)         # -> array([5, 6, ..., 14], dtype=int32)
    add.reduce(a), add.accumulate(a), add.outer(a, b), add(a, b, out=c, where=m)

The ufunc's inner loops are compiled by LLVM (wasabi/compiler/ufunc.py): the
export's body and its direct callees are inlined into a strided loop, optimised
at O2 and vectorised where the body allows. One loop per dtype signature: the
export's own (i32 -> int32, i64 -> int64, f32 -> float32, f64 -> float64), and
for functions with i32 parameters one that takes int64 there (truncated, as
i32.wrap_i64), so numpy's default integer arrays need no cast. Broadcasting,
out=, where=, dtype= and casting= are numpy's own. Every call runs bound to the
instance (its memory, globals and tables), elements in order, inside one entry
per inner-loop call (the instance gate; numpy releases the GIL around large
loops). A trap stops the loop and raises wasabi.Trap naming the element
(`trap.element`: its index in the inner loop, the array index for a loop numpy
runs in one piece; numpy runs a loop per row or per buffer when it must) and
`trap.arguments` its inputs; a host function's exception passes through.

The loops are compiled once per module and function (cached on the module's
code object) and shared by every instance; each ufunc binds one instance.

parallel=True splits every inner loop of at least `min_chunk` elements per
thread over `threads` threads (default: the CPUs), each running its part on its
own clone of the instance (made when vectorize() is called, wasabi.runtime.clone):
functions that only compute scale; functions with state (memory, globals,
tables) see each thread's clone, so state written by one part is invisible to
the others and to the original instance, and which elements share a clone
depends on the split. Use it for pure functions.

Functions without results (or of other value types) get the older elementwise
callable, Vectorized, which returns None.
"""
from .. import _ext
from ..binary.types import F32, F64, I32, I64, type_name

_DTYPES = {I32: "int32", I64: "int64", F32: "float32", F64: "float64"}


def _dtype_names(valtypes, what):
    try:
        return tuple(_DTYPES[t] for t in valtypes)
    except KeyError:
        bad = [type_name(t) for t in valtypes if t not in _DTYPES]
        raise TypeError(f"cannot vectorize a function with {what} of type {', '.join(bad)}"
                        " (only i32, i64, f32 and f64)") from None


class Vectorized:
    """A wasm function as an elementwise function of numpy arrays."""

    def __init__(self, func):
        if not isinstance(func, _ext.FuncHandle):
            raise TypeError(f"expected a compiled wasm function, got {type(func).__name__}")
        self.func = func
        self.in_dtypes = _dtype_names(func.params, "parameters")
        self.out_dtypes = _dtype_names(func.results, "results")

    def __call__(self, *arrays, out=None):
        import numpy as np
        if len(arrays) != len(self.in_dtypes):
            raise TypeError(f"the function takes {len(self.in_dtypes)} arrays"
                            f" ({len(arrays)} given)")
        inputs = [np.asarray(a).astype(dt, casting="same_kind", copy=False)
                  for a, dt in zip(arrays, self.in_dtypes)]
        inputs = list(np.broadcast_arrays(*inputs)) if inputs else []
        shape = inputs[0].shape if inputs else ()
        outputs = self._outputs(np, shape, out)
        _ext.vectorized_call(self.func, inputs, outputs, tuple(shape))
        return self._results(outputs, out)

    def _outputs(self, np, shape, out):
        if out is None:
            return [np.empty(shape, dtype=dt) for dt in self.out_dtypes]
        outs = [out] if not isinstance(out, tuple) else list(out)
        if len(outs) != len(self.out_dtypes):
            raise ValueError(f"out needs {len(self.out_dtypes)} arrays, got {len(outs)}")
        for o, dt in zip(outs, self.out_dtypes):
            if not isinstance(o, np.ndarray) or o.shape != shape or o.dtype != np.dtype(dt):
                raise ValueError(f"each out array must be a numpy array of shape {shape}"
                                 f" and dtype {dt}")
            if not o.flags.writeable:
                raise ValueError("out arrays must be writable")
        return outs

    def _results(self, outputs, out):
        if out is not None:
            return out
        outputs = [o[()] if o.ndim == 0 else o for o in outputs]
        if not outputs:
            return None
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def __reduce__(self):
        return (vectorize, (self.func,))      # vectorized again from the function

    def __repr__(self):
        return f"<wasabi vectorized {self.func!r}>"


def vectorize(func):
    """The older elementwise callable (Vectorized): one C loop calling the export's
    machine code per element; export.map uses it. wasabi.vectorize is the ufunc
    (wasabi.runtime.ufuncs.vectorize)."""
    return Vectorized(func)
