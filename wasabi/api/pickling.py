"""Pickling modules, instances and exported functions, so that multiprocessing,
concurrent.futures, joblib, dask and ray can move them between processes.

- A Module pickles as its artifact (compiler/artifact.py: wasm, the options its
  code depends on, and its code, a prelinked image, with the key of the machine
  it was made for) plus its Options and its Store's options. Unpickled where the
  key matches, the image is mapped (no LLVM at all, llvmlite not even imported);
  elsewhere the wasm is compiled again through the on-disk cache
  (compiler/cache.py), so the workers of one machine compile it once.
- A worker links a module once: unpickled modules are registered by the
  artifact's digest (and options), and unpickling the same bytes again shares the
  CompiledModule already linked (while any module made from it lives, and for the
  KEEP most recent ones after that, so that a task per call does not relink).
- An Instance pickles as a snapshot (runtime/snapshot.py) with its module and
  its imports: functions of plain Python (a Function's callable is pickled) and
  WASI imports (their WasiConfig: the restored instance gets a fresh WASI context
  with that configuration) travel; imports of another instance's functions,
  memories, tables or globals, and WASI stdio bound to host files, cannot
  (pickle.PicklingError naming the import).
- An exported function pickles as (its instance, its function index); a vectorized
  function as the function it vectorizes.

The unpickled objects get Stores of their own (with the original's options; its
limits and limiter stay behind).
"""
import collections as _collections
import copyreg as _copyreg
import dataclasses as _dataclasses
import pickle as _pickle
import threading as _threading
import weakref as _weakref

from ..binary.types import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE
from ..runtime import func as rfunc
from ..runtime import snapshot
from ..runtime.clone import _imported_externs
from .externs import Function, WasmFunction
from .store import Store

KEEP = 8      # modules kept linked after their last user is gone (LRU)


# ---- modules ----

def reduce_module(module):
    compiled = module._compiled
    if compiled.cells:
        raise _pickle.PicklingError("cannot pickle a REPL module with cells added by extend(): "
                                   "they are live code, not part of its wasm")
    store_options = getattr(module.store, "options", None)
    payload = _payload(module)
    if "_entry" not in module.__dict__:
        module._entry = REGISTRY.get(payload, compiled.options,
                                     _Entry(compiled, module._wasm, module._name))
    return (load_module, (type(module), payload, compiled.options, store_options))


def _payload(module):
    """The module's artifact bytes, made once per module (and name)."""
    from ..compiler import artifact
    cached = module.__dict__.get("_pickled")
    if cached is None or cached[0] != module._name:
        cached = module.__dict__["_pickled"] = (
            module._name, artifact.dump(module._wasm, module._compiled, module._name))
    return cached[1]


class _Entry:
    """A linked module of the registry: what Modules made from the same bytes share."""

    def __init__(self, compiled, wasm, name):
        self.compiled, self.wasm, self.name = compiled, wasm, name


class _Registry:
    """Artifact digest + options -> _Entry: weakly (the Modules made from an entry keep it),
    and the KEEP most recently used strongly."""

    def __init__(self):
        self._lock = _threading.Lock()
        self._live = _weakref.WeakValueDictionary()
        self._recent = _collections.OrderedDict()
        self.links = 0          # entries made (linked or compiled): for tests and benchmarks

    def get(self, payload, options, entry=None):
        """The entry of `payload`: linked now unless registered (or `entry` is given:
        the sender's own module, so that unpickling in its process shares its code)."""
        key = (bytes(payload[-32:]), options)   # the artifact's SHA-256 (artifact.py)
        with self._lock:                       # one link per module, whoever asks first
            found = self._live.get(key)
            if found is None:
                found = self._live[key] = entry or _link(payload, options)
                self.links += entry is None
            entry = found
            self._recent[key] = entry
            self._recent.move_to_end(key)
            while len(self._recent) > KEEP:
                self._recent.popitem(last=False)
        return entry

    def clear(self):
        with self._lock:
            self._live.clear()
            self._recent.clear()


REGISTRY = _Registry()


def _link(payload, options):
    """Its code mapped (an image: no LLVM at all) or linked when this machine can run
    it, else compiled through the on-disk cache (EAGER) or afresh (the lazy modes)."""
    from ..compiler import artifact, cache, modes
    from ..validate import parse
    # the wasm's digest is computed on a thread while its code is read and decoded;
    # link and the cache check it before the module is used or compiled
    loaded = artifact.load(payload, defer_wasm_check=True)
    compiled = artifact.link(loaded)
    if compiled is None:
        if modes.strategy(options.mode).cached:
            compiled = cache.compile_bytes(
                loaded.wasm, _dataclasses.replace(options, cache=True),
                wasm_digest=bytes.fromhex(loaded.header["wasm_sha256"]),
                check_wasm=loaded.check_wasm)
        else:
            loaded.check_wasm()
            compiled = modes.compile(parse(loaded.wasm), options)
    compiled.options = options
    return _Entry(compiled, loaded.wasm, loaded.header.get("name"))


def load_module(module_class, payload, options, store_options):
    """A `module_class` (api Module) of the unpickled artifact, sharing the registry's code."""
    entry = REGISTRY.get(payload, options)
    module = module_class.__new__(module_class)
    module._setup(Store(options=store_options or options), entry.wasm, entry.compiled, entry.name)
    module._entry = entry                                   # keeps the registry's entry
    module.__dict__["_pickled"] = (entry.name, payload)     # pickled again as it came
    return module


# ---- instances ----

def reduce_instance(runtime_instance):
    """(runtime instance) -> how to rebuild it: its module, imports and snapshot."""
    module = runtime_instance.__dict__.get("_module")
    if module is None:
        raise _pickle.PicklingError("only instances made through wasabi's API (wasabi.instantiate, "
                                   "wasabi.Instance) can be pickled")
    externs = [_travelling(imp, ext) for imp, ext in
               zip(runtime_instance.desc.imports, _imported_externs(runtime_instance))]
    store = runtime_instance.store
    fuel = store.get_fuel() if runtime_instance.code.code_options.fuel else None
    state = snapshot.capture(runtime_instance)
    return (load_instance, (type(runtime_instance), module, externs, state, fuel))


_KINDS = {EXTERN_FUNC: "function", EXTERN_TABLE: "table", EXTERN_MEMORY: "memory",
          EXTERN_GLOBAL: "global"}


def _travelling(imp, extern):
    """The import itself when it can travel, else PicklingError naming it."""
    name = f"{imp.module}.{imp.name}"
    if imp.kind != EXTERN_FUNC:
        raise _pickle.PicklingError(
            f"the instance imports the {_KINDS[imp.kind]} {name}, which belongs to its "
            "exporter and cannot travel with it (only function imports can)")
    if isinstance(extern, rfunc.Function):
        raise _pickle.PicklingError(
            f"the instance imports {name}, a function of another instance, which cannot "
            "travel with it (plain Python functions and WASI imports can)")
    return extern       # (WASI imports: wasi/pickling.py checks their configuration)


def load_instance(instance_class, module, externs, state, fuel):
    compiled = module._compiled
    store = Store(options=module.store.options)
    if fuel is not None:
        store.set_fuel(fuel)
    instance = snapshot.rebuild(instance_class, compiled.desc, compiled.code, store,
                                externs, state, memory=compiled.options.memory)
    instance._module = module
    return instance


def _reduce_function(function):
    """An exported wasm function: (its instance, its index)."""
    owner = function._owner
    index = (function.record_address - owner.funcs.address) // _record_size()
    return (_instance_function, (owner, index))


def _record_size():
    from ..abi.vmctx import FUNC_RECORD_SIZE
    return FUNC_RECORD_SIZE


def _instance_function(instance, index):
    return instance.function(index)


# ---- imports that travel ----

def _reduce_host_function(function):
    if isinstance(function, Function):
        return (_public_host_function, (function.callable, function._public_type))
    return (rfunc.HostFunction, (function.functype, function.callable))


def _public_host_function(callable, function_type):
    return Function(Store(), callable, function_type)


# pickle and cloudpickle both consult copyreg's table (by exact type) before __reduce_ex__
_copyreg.pickle(WasmFunction, _reduce_function)
_copyreg.pickle(rfunc.Function, _reduce_function)
_copyreg.pickle(Function, _reduce_host_function)
_copyreg.pickle(rfunc.HostFunction, _reduce_host_function)
