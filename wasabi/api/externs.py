"""The public externs: Function, Global, Memory, Table (wasmer's classes and signatures).

Each is a subclass of the runtime object that compiled code uses, so the same
object can be exported by one instance and imported by another. They differ
from the runtime's only in their constructors (wasmer's) and in `.type`, which
gives the public types of wasabi.api.types (the runtime keeps the binary records
in `functype`, `global_type` ...).

Function is the class of host functions, Function(store, callable,
function_type=None); exported wasm functions are WasmFunction objects (the fast,
vectorcall-callable runtime function), and isinstance(f, Function) holds for both.
"""
import abc as _abc

from .. import _ext
from ..binary import types as bt
from ..runtime import func as rfunc
from ..runtime.globalvar import Global as _RuntimeGlobal
from ..runtime.memory import Memory as _RuntimeMemory
from ..runtime.store import Store as _RuntimeStore
from ..runtime.table import Table as _RuntimeTable
from ..runtime.views import MemoryViewsMixin
from .annotations import function_type_from_annotations
from .types import FunctionType, GlobalType, MemoryType, TableType, Type
from .values import Value


def _check_store(store):
    if not isinstance(store, _RuntimeStore):
        raise TypeError(f"expected a wasabi Store, got {type(store).__name__}")
    return store


class Function(rfunc.HostFunction, metaclass=_abc.ABCMeta):
    """A Python callable as a wasm function.

    The type comes from `function_type` or else from the annotations:
    int, 'i32', 'I32' -> I32; 'i64', 'I64' -> I64; float, 'f32', 'F32' -> F32;
    'f64', 'F64' -> F64 (wasabi adds 'v128', 'externref', 'funcref' and Type
    members); a tuple or list of those as the return annotation gives several
    results; None (or no return annotation) none. Calling it from Python
    converts the arguments and results as wasm would (TypeError for a wrong
    count or kind, OverflowError for an int out of range).

    ## Example

    ```py
from wasabi import Store, Module, Instance, Function, FunctionType, Type

store = Store()

def sum(x: int, y: int) -> int:
    return x + y

add = Function(store, sum)                    # the type comes from the annotations
assert add.type == FunctionType([Type.I32, Type.I32], [Type.I32])

scale = Function(store, lambda x: x * 2.5, FunctionType([Type.F64], [Type.F64]))
instance = Instance(Module(store, '''(module
  (import "math" "scale" (func $scale (param f64) (result f64)))
  (func (export "scale_twice") (param f64) (result f64)
    (call $scale (call $scale (local.get 0)))))'''), {"math": {"scale": scale}})
assert instance.exports.scale_twice(2.0) == 12.5
    ```
    """

    def __init__(self, store, function, function_type=None):
        _check_store(store)
        if not callable(function):
            raise ValueError("Function must be a callable")
        if function_type is None:
            function_type = function_type_from_annotations(function)
        elif isinstance(function_type, bt.FuncType):
            function_type = FunctionType._from_binary(function_type)
        elif not isinstance(function_type, FunctionType):
            raise TypeError(f"expected a FunctionType, got {type(function_type).__name__}")
        super().__init__(function_type._binary(), function, store)
        self._public_type = function_type

    @property
    def type(self):
        return self._public_type

    def __call__(self, *args):
        params, results = self.functype.params, self.functype.results
        if len(args) != len(params):
            raise TypeError(f"the host function takes {len(params)} argument"
                            f"{'' if len(params) == 1 else 's'} ({len(args)} given)")
        keep = self.store.keep
        values = [_as_wasm(t, a, keep) for t, a in zip(params, args)]
        out = rfunc.result_tuple(self.callable(*values), len(results))
        converted = tuple(_as_wasm(t, v, keep) for t, v in zip(results, out))
        if not converted:
            return None
        return converted[0] if len(converted) == 1 else converted


def _as_wasm(valtype, value, keep):
    """`value` as wasm holds it (i32 wrapped to signed, f32 rounded), or TypeError."""
    return _ext.value_from_raw(valtype, _ext.raw_from_value(valtype, value, keep))


class WasmFunction(rfunc.Function):
    """An exported wasm function: call it like a Python function (the runtime's
    fast path); `.type` is its FunctionType, `call_bits` takes exact bit patterns.

    ## Example

    ```py
from wasabi import Store, Module, Instance, Function, FunctionType, Type

instance = Instance(Module(Store(), '''(module
  (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0))))'''))
neg = instance.exports.neg
assert isinstance(neg, Function)
assert neg.type == FunctionType([Type.F32], [Type.F32])
assert neg(1.5) == -1.5
    ```
    """

    @property
    def type(self):
        public = self.__dict__.get("_public_type")
        if public is None:
            public = self.__dict__["_public_type"] = FunctionType._from_binary(self.functype)
        return public


Function.register(WasmFunction)


class Global(_RuntimeGlobal):
    """Global(store, Value.i32(42), mutable=False); `.value` reads and writes it
    (RuntimeError when it is immutable); `get_bits` gives the exact bits.

    ## Example

    ```py
from wasabi import Store, Global, Value, Type

counter = Global(Store(), Value.i32(42), mutable=True)
assert counter.value == 42 and counter.mutable
counter.value = 7
assert counter.value == 7
assert counter.type.type == Type.I32

constant = Global(Store(), Value.f64(3.5))
assert not constant.mutable
    ```
    """

    def __init__(self, store, value, mutable=False):
        _check_store(store)
        if not isinstance(value, Value):
            raise TypeError(f"expected a wasabi Value (Value.i32(...) ...), got {value!r}")
        binary = GlobalType(value.type, mutable)._binary()
        self._setup(store, binary, value.value, None)

    @property
    def type(self):
        return GlobalType._from_binary(self.global_type)


class Memory(_RuntimeMemory, MemoryViewsMixin):
    """Memory(store, MemoryType(minimum, maximum=None)): `size` in pages,
    `data_size` in bytes, `grow`, the buffer and the typed views.

    ## Examples

    ```py
from wasabi import Store, Memory, MemoryType

memory = Memory(Store(), MemoryType(minimum=1, maximum=4))
assert memory.size == 1 and memory.data_size == 65536

view = memory.uint8_view(offset=16)
view[0:3] = [1, 2, 3]
assert memory.uint8_view()[16:19] == [1, 2, 3]
assert bytes(memory.buffer)[16:19] == b"\\x01\\x02\\x03"

old = memory.grow(2)                           # in pages of 64 KiB
assert old == 1 and memory.size == 3
    ```

    ```py
from wasabi import Store, Module, Instance

instance = Instance(Module(Store(), '''(module
  (memory (export "memory") 1)
  (data (i32.const 0) "hello")
  (func (export "store_i32") (param i32 i32) (i32.store (local.get 0) (local.get 1))))'''))
memory = instance.exports.memory

assert bytes(memory.uint8_view()[0:5]) == b"hello"
instance.exports.store_i32(8, -2)
assert memory.int32_view()[2] == -2            # index 2 of the i32 view: byte offset 8
assert memory.uint32_view()[2] == 2**32 - 2
memory.float64_view(offset=2)[0] = 0.5      # offsets count elements, as wasmer's
assert memory.float64_view()[2] == 0.5
    ```
    """

    def __init__(self, store, memory_type):
        _check_store(store)
        if isinstance(memory_type, MemoryType):
            memory_type = memory_type._binary()
        elif not isinstance(memory_type, bt.MemoryType):
            raise TypeError(f"expected a MemoryType, got {type(memory_type).__name__}")
        # in a store whose modules compile with explicit bounds checks, the memory
        # needs no 8 GiB guard reservation: it reserves only what it may grow to
        guarded = getattr(getattr(store, "options", None), "bounds", "guard") == "guard"
        try:
            self._setup(store, memory_type, guarded)
        except (ValueError, MemoryError) as exc:
            raise RuntimeError(str(exc)) from None

    @property
    def type(self):
        """The type now: the minimum is the current size."""
        return MemoryType(self.pages, self.declared_max, self.shared)

    def grow(self, number_of_pages):
        """Grow by `number_of_pages`; returns the previous size in pages, or raises
        RuntimeError when the memory cannot grow that much."""
        if not isinstance(number_of_pages, int) or number_of_pages < 0:
            raise TypeError("the number of pages must be a non-negative int, "
                            f"not {number_of_pages!r}")
        old = super().grow(number_of_pages)
        if old < 0:
            limit = self.store.limits.memory_pages
            why = (f" (past its store's limit memory_pages={limit})" if limit is not None
                   and self.pages + number_of_pages > limit else "")
            raise RuntimeError(f"The memory could not grow: current size {self.pages} pages, "
                               f"requested increase: {number_of_pages} pages{why}")
        return old


class Table(_RuntimeTable):
    """Table(store, TableType(Type.FUNC_REF, minimum, maximum), initial_value):
    `size`, `type`, and wasabi's get/set/grow.

    ## Example

    ```py
from wasabi import Store, Module, Instance, Table, TableType, Type

instance = Instance(Module(Store(), '''(module
  (table (export "table") 2 funcref)
  (func $f (result i32) (i32.const 7))
  (elem (i32.const 1) $f))'''))
table = instance.exports.table
assert table.size == 2
assert table.type == TableType(Type.FUNC_REF, minimum=2)

own = Table(Store(), TableType(Type.EXTERN_REF, minimum=1, maximum=3))
assert own.size == 1
    ```
    """

    def __init__(self, store, table_type, initial_value=None):
        _check_store(store)
        if not isinstance(table_type, TableType):
            raise TypeError(f"expected a TableType, got {type(table_type).__name__}")
        if isinstance(initial_value, Value):
            if initial_value.type != table_type.type:
                raise TypeError(f"a {table_type.type.name} table cannot start with a "
                                f"{initial_value.type.name} value")
            initial_value = initial_value.value
        self._setup(store, table_type._binary(), initial_value)

    @property
    def type(self):
        return TableType(Type.from_code(self.elem_type), self.size, self.maximum)
