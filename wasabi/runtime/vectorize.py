"""vectorize(export): a scalar wasm export applied over numpy arrays like a ufunc.

    add = vectorize(instance.exports.add)         # or instance.exports.add.map(a, b)
    add(np.arange(10), 5)                         # -> array([5, 6, ..., 14], dtype=int32)

Arguments broadcast against each other as in numpy; each is converted to its
parameter's dtype (i32 -> int32, i64 -> int64, f32 -> float32, f64 -> float64)
with numpy's 'same_kind' casting (ints may narrow, wrapping like wasm; a float
never silently becomes an int). The loop over the elements is C calling the
machine code directly, inside one entry with the GIL released; results are new
arrays of the result dtypes (or the `out` arrays): one array for one result, a
tuple for several, None for none. A trap raises wasabi.Trap (or the host
function's exception) after the elements before it were written.
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
    """The elementwise version of a compiled wasm function (see the module doc)."""
    return Vectorized(func)
