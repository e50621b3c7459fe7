"""WasiConfig and the Environment it makes: one native WASI context and the imports that use it.

Each import is a WasiFunction: a HostFunction whose wrt_func record points
straight at the C implementation with the context as its vmctx, so compiled
code calls WASI without Python in between. An importing instance is bound to
its own context when it is built (wasi/instances.py: the Environment's own
context for the first, a fresh copy of the configured state for later ones,
a copy of the original's state for a clone), each bound to that instance's
memory. bind_instance / Environment.bind repeat that binding on request.

Threads: every call on one context is serialised by the context's lock (C
side), whoever makes it -- the instance's code, Python calling an import or a
re-exported import, a clone being copied.
"""
import enum as _enum
import os as _os
import weakref as _weakref

from .. import _ext
from ..binary.types import I32, I64, FuncType
from ..errors import Trap
from ..runtime.func import HostFunction, register_func_records, thunk_provider
from ..runtime.signatures import type_id
from ..runtime.store import Store
from .config import INHERIT, Preopen, apply, as_preopen
from .errors import exit_from_trap, is_exit_trap
from .instances import ContextOutputs, attach, imports_from, runtime_instance, state_of

NAMESPACE_PREVIEW1 = "wasi_snapshot_preview1"
NAMESPACE_SNAPSHOT0 = "wasi_unstable"


class Version(_enum.IntEnum):
    """WASI versions, numbered as in the `wasmer` package."""
    LATEST = 1
    SNAPSHOT0 = 2
    SNAPSHOT1 = 3


_NAMESPACE_VERSIONS = {NAMESPACE_SNAPSHOT0: Version.SNAPSHOT0,
                       NAMESPACE_PREVIEW1: Version.SNAPSHOT1}


def _module_imports(module):
    """ImportDescs of a ModuleDesc, a wasabi/wasmer-style Module (its ModuleDesc), or wasm bytes."""
    for attr in ("_desc", "desc"):
        desc = getattr(module, attr, None)
        if desc is not None and hasattr(desc, "imports"):
            return desc.imports
    imports = getattr(module, "imports", None)
    if imports is not None and all(hasattr(i, "kind") for i in imports):
        return imports
    if isinstance(module, (bytes, bytearray, memoryview)):
        from ..validate import parse
        return parse(bytes(module)).imports
    raise TypeError(f"cannot read the imports of {type(module).__name__}")


def get_version(module, strict=False):
    """The WASI version `module` imports, or None.

    strict: every function import must come from that one WASI namespace;
    otherwise the first WASI namespace among the imports decides (as wasmer).

    ## Example

    ```py
from wasabi import Store, Module, wasi

old = Module(Store(), '(module (import "wasi_unstable" "proc_exit" (func (param i32))))')
assert wasi.get_version(old, strict=True) == wasi.Version.SNAPSHOT0
assert wasi.get_version(Module(Store(), "(module)")) is None
    ```
    """
    from ..binary.types import EXTERN_FUNC
    namespaces = [i.module for i in _module_imports(module) if i.kind == EXTERN_FUNC]
    if strict:
        if not namespaces or any(n != namespaces[0] for n in namespaces):
            return None
        return _NAMESPACE_VERSIONS.get(namespaces[0])
    for n in namespaces:
        if n in _NAMESPACE_VERSIONS:
            return _NAMESPACE_VERSIONS[n]
    return None


_VALTYPES = {"i": I32, "I": I64}


def _functype(params, results):
    return FuncType(tuple(_VALTYPES[c] for c in params), tuple(_VALTYPES[c] for c in results))


class WasiFunction(HostFunction):
    """One WASI import bound to an Environment's native context.

    Compiled code calls the C function directly (record_fields). Called from
    Python it enters the C function like compiled code (the context starts
    with a VMContext header), so proc_exit raises WasiExit there too.
    """

    def __init__(self, environment, name, address, functype, store=None):
        self.name = name
        self.environment = environment
        self.address = address
        self._record = None
        self._handle = None
        super().__init__(functype, self._call_from_python, store)

    def record_fields(self):
        return self.address, self.environment.context_address, type_id(self.functype)

    @property
    def _record_address(self):
        """A wrt_func record of its own: a funcref to this import (tables, globals)."""
        if self._record is None:
            record = _ext.RawBuffer(24)
            for i, value in enumerate(self.record_fields()):
                record.set_u64(8 * i, value)
            register_func_records(record.address, 1, self, lambda owner, index: owner)
            self._record = record
        return self._record.address

    def _native(self):
        raise TypeError(f"WASI function {self.name} has no Python host record")

    def instantiated(self, instance):
        """For the runtime, once an importing instance is built (before its start
        function): give that instance its context, bound to its memory."""
        self.environment.bind(instance)

    def cloned(self, original, clone):
        """For runtime/clone.py, once `clone` is built: it gets a copy of the
        original's WASI state, bound to its own memory."""
        self.environment.instance_cloned(original, clone)

    def _call_from_python(self, *args):
        if self._handle is None:
            from ..runtime.func import Function
            thunk = thunk_provider().array_thunk(self.functype)
            self._handle = Function(thunk, self.address, self.environment.context_address,
                                    self.functype, self.store.keep, self._record_address,
                                    self.environment)
        try:
            return self._handle(*args)
        except Trap as trap:
            if is_exit_trap(trap):
                raise exit_from_trap(trap) from None
            raise

    def __repr__(self):
        return f"<wasabi WasiFunction {self.name} {self.functype}>"


class WasiConfig:
    """What a WASI program sees (see wasabi.wasi.config for the settings); finalize()
    makes the Environment, which is why the two classes share this module."""

    def __init__(self, argv=None, env=None, preopens=(), stdin=INHERIT, stdout=INHERIT,
                 stderr=INHERIT, virtual_root=False):
        self.argv = list(argv) if argv is not None else []
        self.env = dict(env) if env is not None else {}
        self.preopens = [as_preopen(p) for p in preopens]
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        # wasmer's read-only "/" listing the preopens (fd 3; they follow it), or
        # wasmtime's table of preopens alone (the default; see wasi/config.py)
        self.virtual_root = bool(virtual_root)

    def preopen(self, host, guest=None, readonly=False):
        """Give the guest `host` (a directory) under the name `guest` (default: `host`)."""
        host = _os.fspath(host)
        self.preopens.append(Preopen(host, host if guest is None else _os.fspath(guest),
                                     readonly))
        return self

    def inherit_env(self):
        """Pass the host process's environment (added under the variables already set)."""
        self.env = {**_os.environ, **self.env}
        return self

    def finalize(self):
        """A new Environment (native context) with this configuration."""
        return Environment(self)

    def __repr__(self):
        return (f"WasiConfig(argv={self.argv!r}, env={self.env!r}, preopens={self.preopens!r}, "
                f"stdin={self.stdin!r}, stdout={self.stdout!r}, stderr={self.stderr!r}, "
                f"virtual_root={self.virtual_root!r})")


class Environment(ContextOutputs):
    """A configured WASI context (wasmer's `wasi.Environment`).

    ## Example

    ```py
from wasabi import Store, wasi

environment = wasi.StateBuilder("program").map_directory("data", ".").finalize()
imports = environment.generate_imports(Store(), wasi.Version.SNAPSHOT1)
assert "fd_write" in imports["wasi_snapshot_preview1"]
assert environment.config.virtual_root                  # "/" lists "data", as in wasmer
    ```
    """

    def __init__(self, config=None):
        self.config = config if config is not None else WasiConfig()
        self._ctx = _ext.WasiContext()
        apply(self.config, self._ctx)
        self._memory = None            # the bound Memory: kept alive while bound
        # the configured state, copied for every importing instance after the first
        self._template = self._ctx.copy()
        self._owner = None             # weakref: the instance the own context serves

    @property
    def context_address(self):
        return self._ctx.address

    # ---- imports ----

    def generate_imports(self, store=None, version=Version.LATEST):
        """{namespace: {name: WasiFunction}} for `version` (a dict of dicts)."""
        version = Version(version)
        snapshot0 = version == Version.SNAPSHOT0
        store = store if store is not None else Store()     # one for all, not one each
        namespace = NAMESPACE_SNAPSHOT0 if snapshot0 else NAMESPACE_PREVIEW1
        functions = {}
        for name, address, params, results in _ext.wasi_export_table(snapshot0):
            functions[name] = WasiFunction(self, name, address, _functype(params, results), store)
        return {namespace: functions}

    def generate_import_object(self, store=None, version=Version.LATEST):
        """The imports as the public API's ImportObject (a dict of dicts without it)."""
        imports = self.generate_imports(store, version)
        try:
            from ..api.imports import ImportObject
        except ImportError:
            return imports
        _register_with_public_function()
        import_object = ImportObject()
        for namespace, functions in imports.items():
            import_object.register(namespace, functions)
        return import_object

    # ---- running ----

    def bind(self, target):
        """Bind an importing instance to its context (see the module doc), or the
        Environment's own context to a Memory or to another instance's "memory"."""
        instance = runtime_instance(target)
        if instance is not None and imports_from(instance, self):
            self._bind_importer(instance)
            return
        memory = _memory_of(target)
        self._ctx.bind_memory(memory.address if memory is not None else 0)
        self._memory = memory

    def _bind_importer(self, instance):
        memory = _memory_of(instance)
        state = state_of(instance, self)
        if state is not None:
            state.bind(memory)
        elif self._owner is None or self._owner() is instance:
            self._owner = _weakref.ref(instance)
            self._memory = memory
            attach(instance, self, self._ctx, memory)
        else:
            attach(instance, self, self._template.copy(), memory)

    def instance_cloned(self, original, clone):
        """Give `clone` a copy of `original`'s WASI state (OSError naming an fd
        that cannot be duplicated), bound to the clone's memory."""
        clone = runtime_instance(clone)
        if state_of(clone, self) is not None:
            return
        source = state_of(runtime_instance(original), self)
        context = (source._ctx if source is not None else self._ctx).copy()
        attach(clone, self, context, _memory_of(clone))

    def state_of(self, instance):
        """The WASI state `instance` runs on: .stdout, .stderr, .exit_code."""
        inner = runtime_instance(instance)
        state = state_of(inner, self) if inner is not None else None
        if state is None:
            raise LookupError("the instance is not bound to this Environment's WASI state")
        return state

    def __repr__(self):
        return f"<wasabi wasi.Environment argv={self.config.argv!r}>"


def _memory_of(target):
    if hasattr(target, "address") and hasattr(target, "data_size"):
        return target                           # already a Memory
    exports = getattr(target, "exports", None)
    if exports is not None:
        try:
            memory = exports["memory"]
            if hasattr(memory, "data_size"):
                return memory
        except (LookupError, TypeError, AttributeError):
            pass
    memories = getattr(target, "memories", None)
    return memories[0] if memories else None


def bind_instance(instance):
    """Bind every WASI context `instance` imports to its memory; returns how many.

    Call it after instantiation and before running the instance."""
    imported = getattr(instance, "_imported_funcs", None)
    if imported is None:
        inner = getattr(instance, "_instance", None) or getattr(instance, "_inner", None)
        return bind_instance(inner) if inner is not None else 0
    environments = {id(f.environment): f.environment for f in imported.values()
                    if isinstance(f, WasiFunction)}
    for env in environments.values():
        env.bind(instance)
    return len(environments)


_registered = False


def _register_with_public_function():
    """Let isinstance(f, wasabi.Function) hold for WASI imports, as in wasmer."""
    global _registered
    if not _registered:
        try:
            from ..api.externs import Function
            Function.register(WasiFunction)
        except (ImportError, AttributeError):
            pass
        _registered = True
