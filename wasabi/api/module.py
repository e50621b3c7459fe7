"""Module, Instance and the seed's compile / instantiate.

A Module is a validated ModuleDesc plus its code, compiled by the options' mode
(wasabi.compiler.modes: EAGER compiles everything now, LAZY each function on its
first call, REPL as LAZY plus functions added to live instances); it is shared
by any number of instances, on any thread, and its code is never compiled twice.
An Instance holds the module and one runtime instance (its own VMContext,
memories, tables and globals); its `exports` is the runtime's Exports, whose
functions are called straight through the runtime's fast path.
"""
from .. import _ext
from ..errors import CompileError
from .compile_errors import as_runtime_error
from ..options import Options
from ..runtime import cells
from ..runtime.instance import Instance as _RuntimeInstance
from ..runtime.store import Store as _RuntimeStore
from ..validate import parse
from . import pickling
from .externs import Global, Memory, Table, WasmFunction
from .imports import prepare_imports
from .store import Store, check_options
from .types import export_types, import_types
from .wat import looks_binary, wat2wasm


def _wasm_bytes(source):
    """Binary module bytes from bytes-like binary or text, or a WAT str."""
    if isinstance(source, str):
        return wat2wasm(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return data if looks_binary(data) else wat2wasm(data)
    raise TypeError("`Module` accepts Wasm bytes or a WAT string")


def _store_options(store):
    return getattr(store, "options", None) or Options()


class Module:
    """Module(store, bytes_or_wat): decode, validate and compile (CompileError when invalid).

    ## Example

    ```py
from wasabi import Store, Module, Instance

module = Module(Store(), '''
(module
  (func (export "sum") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
''')
assert [e.name for e in module.exports] == ["sum"]
assert Instance(module).exports.sum(1, 2) == 3
    ```
    """

    def __init__(self, store, source):
        if not isinstance(store, _RuntimeStore):
            raise TypeError(f"expected a wasabi Store, got {type(store).__name__}")
        from ..compiler.cache import compile_bytes
        try:
            wasm = _wasm_bytes(source)
            compiled = compile_bytes(wasm, check_options(_store_options(store)))
        except CompileError as error:           # wasmer raised RuntimeError here
            raise as_runtime_error(error).with_traceback(error.__traceback__) from None
        self._setup(store, wasm, compiled)

    def _setup(self, store, wasm, compiled, name=None):
        self.store = store
        self._wasm = wasm
        self._compiled = compiled
        self._name = name

    # ---- what the module is ----

    @property
    def _desc(self):
        return self._compiled.desc

    @property
    def _code(self):
        return self._compiled.code

    @staticmethod
    def validate(store, data):
        """Whether `data` (a binary module) is valid; never raises for bad input.

        ## Example

        ```py
from wasabi import Store, Module, wat2wasm

assert Module.validate(Store(), wat2wasm("(module)"))
assert not Module.validate(Store(), b"\\0asm")
        ```
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            return False
        try:
            parse(bytes(data))
        except CompileError:
            return False
        return True

    @property
    def name(self):
        """The module's name (its name section, unless set here), or None."""
        return self._name if self._name is not None else self._desc.names.module

    @name.setter
    def name(self, value):
        if not isinstance(value, str):
            raise TypeError(f"a module name is a str, not {type(value).__name__}")
        self._name = value

    @property
    def exports(self):
        """An ExportType(name, type) per export, in the module's order."""
        return export_types(self._desc)

    @property
    def imports(self):
        """An ImportType(module, name, type) per import, in the module's order.

        ## Example

        ```py
from wasabi import Store, Module, FunctionType, Type

module = Module(Store(), '''(module
  (import "env" "log" (func (param i32)))
  (memory (export "memory") 1))''')
imported = module.imports[0]
assert (imported.module, imported.name) == ("env", "log")
assert imported.type == FunctionType([Type.I32], [])
assert module.exports[0].name == "memory"
        ```
        """
        return import_types(self._desc)

    def custom_sections(self, name):
        """The contents (bytes) of every custom section called `name`, in order.

        ## Example

        ```py
from wasabi import Store, Module

module = Module(Store(), b"\\0asm\\1\\0\\0\\0" + b"\\0\\x08\\x04noteabc")
assert module.custom_sections("note") == [b"abc"]
        ```
        """
        return list(self._desc.custom_sections(name))

    @property
    def options(self):
        """The Options the code was compiled with (mode, tier, bounds)."""
        return self._compiled.options

    def stats(self):
        """Counters of the code: mode, functions, functions_compiled (LAZY and REPL
        compile only what runs), batches, compile seconds..."""
        return self._compiled.stats()

    def clone(self):
        """The same module (its code shared, never recompiled), with its own REPL cells."""
        module = Module.__new__(Module)
        module._setup(self.store, self._wasm, self._compiled.clone(), self._name)
        return module

    def extend(self, wasm):
        """REPL: validate `wasm` (bytes or WAT) against this module's exports and add it
        to every instance created afterwards (a live one grows with Instance.add_function)."""
        self._compiled.extend(_wasm_bytes(wasm))

    @property
    def desc(self):
        """The validated ModuleDesc."""
        return self._desc

    # ---- bytes ----

    def write_exe(self, path, tier="O2"):
        """Write a native executable of this WASI command to `path` (wasabi.aot:
        the machine code, its instantiation and the C runtime; no Python at run time)."""
        from ..aot import write_exe
        return write_exe(self._wasm, path, tier)

    def write_object(self, path, name=None, tier="O2"):
        """Write a relocatable object of this WASI command to `path` and its C header
        (path with .h, declaring `int <name>_main(int, char**)`); returns the header's path."""
        from ..aot import write_object
        return write_object(self._wasm, path, name, tier)

    def write_dylib(self, path, name=None, tier=None):
        """Write a shared library of this module to `path` and its C header (path with
        .h; C prefix `name`, default the file's name without lib and suffixes); returns
        the header's path. wasabi.load_dylib(path) loads it without LLVM. The code is
        compiled with this module's code options (`tier` overrides the tier)."""
        from ..aot.dylib import write_dylib
        from ..options import CodeOptions
        code = self._code.code_options
        if tier is not None:
            code = CodeOptions(tier, code.bounds, code.fuel, code.interruptible)
        return write_dylib(self._wasm, path, name, code)

    def serialize(self):
        """Bytes that Module.deserialize turns back into this module (with its code).

        ## Example

        ```py
from wasabi import Store, Module, Instance

store = Store()
module = Module(store, '(module (func (export "answer") (result i32) i32.const 42))')
serialized = module.serialize()

again = Module.deserialize(store, serialized)
assert Instance(again).exports.answer() == 42
        ```
        """
        from ..compiler import artifact
        return artifact.dump(self._wasm, self._compiled, self._name)

    @staticmethod
    def deserialize(store, data):
        """The Module that `serialize` wrote into `data` (code reused when this machine
        can run it, else compiled again); CompileError for anything else.

        ## Example

        ```py
from wasabi import Store, Module, Instance

store = Store()
module = Module(store, '(module (func (export "answer") (result i32) i32.const 42))')
serialized = module.serialize()

again = Module.deserialize(store, serialized)
assert Instance(again).exports.answer() == 42
        ```
        """
        if not isinstance(store, _RuntimeStore):
            raise TypeError(f"expected a wasabi Store, got {type(store).__name__}")
        from ..compiler import artifact
        compiled, header, wasm = artifact.restore(data)
        module = Module.__new__(Module)
        module._setup(store, wasm, compiled, header.get("name"))
        return module

    def __reduce__(self):
        """Pickled: its artifact, options and store's options (api/pickling.py); a
        process links the same module once, however often it is unpickled."""
        return pickling.reduce_module(self)

    def __repr__(self):
        return (f"<wasabi Module {self.name or ''}: {len(self._desc.imports)} imports, "
                f"{len(self._desc.exports)} exports, {self.options.mode.value}, tier {self._code.tier}>")


class _PublicRuntimeInstance(_RuntimeInstance):
    # the externs an instance made through the public API defines are the public classes
    function_class = WasmFunction
    global_class = Global
    memory_class = Memory
    table_class = Table

    def __reduce__(self):
        # a snapshot with its module and imports (api/pickling.py, runtime/snapshot.py)
        return pickling.reduce_instance(self)


class Instance:
    """Instance(module, import_object=None): link the imports, set up memories, tables,
    globals and segments, run the start function (a Trap in it raises Trap).

    `exports` gives each export by attribute (also for names that are not identifiers,
    through getattr) or by item, iterates as (name, extern) pairs and has a len.

    ## Example

    ```py
from wasabi import Store, Module, Instance, ImportObject, Function

store = Store()
module = Module(store, '''
(module
  (import "env" "double" (func $double (param i32) (result i32)))
  (func (export "quadruple") (param i32) (result i32)
    (call $double (call $double (local.get 0)))))
''')

def double(x: int) -> int:
    return 2 * x

import_object = ImportObject()
import_object.register("env", {"double": Function(store, double)})
instance = Instance(module, import_object)

assert instance.exports.quadruple(3) == 12
assert instance.exports["quadruple"](5) == 20
assert [name for name, _ in instance.exports] == ["quadruple"]
    ```
    """

    def __init__(self, module, import_object=None, *, store=None):
        if not isinstance(module, Module):
            raise TypeError(f"expected a wasabi Module, got {type(module).__name__}")
        store = store if store is not None else module.store
        imports = prepare_imports(module._desc, import_object, store)
        self.module = module
        self._instance = module._compiled.instantiate(imports, store=store,
                                                      instance_class=_PublicRuntimeInstance)
        self._instance._module = module        # what pickling it sends along
        self.exports = self._instance.exports

    @classmethod
    def _wrap(cls, module, runtime_instance):
        instance = cls.__new__(cls)
        instance.module = module
        instance._instance = runtime_instance
        runtime_instance._module = module
        instance.exports = runtime_instance.exports
        return instance

    def __reduce__(self):
        """Pickled as a snapshot: its module, memories (read copy-on-write), globals,
        tables and the imports that can travel (api/pickling.py)."""
        return (Instance._wrap, (self.module, self._instance))

    def add_function(self, wasm, imports=None):
        """REPL: validate `wasm` (bytes or WAT, whose imports may name this instance's
        exports) against the live instance and add its exports, callable by name from
        Python and from code added later; an export of an existing name replaces that
        function for every later call, also from compiled code. A module that fails
        validation changes nothing. Returns {name: extern} of the new exports."""
        store = self.store
        return cells.add_function(self._instance, _wasm_bytes(wasm), imports,
                                 prepare_imports=lambda desc, i: prepare_imports(desc, i, store))

    def clone(self):
        """A new instance of the same module with copies of this one's memories, tables
        and globals (the code is shared): the two then run independently, also on two
        threads.

        ## Example

        ```py
from wasabi import Store, Module, Instance

instance = Instance(Module(Store(), '''(module
  (global $n (mut i32) (i32.const 0))
  (func (export "next") (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (global.get $n)))'''))
assert instance.exports.next() == 1
twin = instance.clone()
assert twin.exports.next() == 2 and twin.exports.next() == 3
assert instance.exports.next() == 2           # each goes on with its own state
        ```
        """
        from ..runtime.clone import clone_instance
        return Instance._wrap(self.module, clone_instance(self._instance))

    @property
    def store(self):
        return self._instance.store

    def call(self, name, *args, timeout=None):
        """Call exported function `name` (LookupError if there is none, TypeError if
        that export is not a function). With `timeout` (seconds, wall clock) the call
        traps wasabi.DeadlineExceeded when it runs longer.

        ## Example

        ```py
from wasabi import Store, Module, Instance

instance = Instance(Module(Store(), '''(module
  (func (export "add") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1))))'''))
assert instance.call("add", 40, 2) == 42
assert instance.call("add", 1, 1, timeout=5.0) == 2
        ```
        """
        export = self.exports[name]
        if not callable(export):
            raise TypeError(f"export {name!r} is a {type(export).__name__}, not a function")
        if timeout is None:
            return export(*args)
        return _ext.call_with_timeout(timeout, export, *args)

    def __repr__(self):
        return f"<wasabi Instance of {self.module!r}>"


def compile(data, options=None):
    """The seed's entry: decode, validate and compile `data` (wasm bytes or WAT text)
    with `options` (a wasabi.Options; modes EAGER, LAZY and REPL)."""
    options = check_options(options if options is not None else Options())
    return Module(Store(options=options), data)


def instantiate(module, imports=None, *, store=None):
    """The seed's entry: a new Instance of `module` in a store of its own (unless given),
    so that dropping the instance frees it. `imports` maps namespace -> name -> extern
    or plain callable."""
    return Instance(module, imports, store=store if store is not None else Store())

