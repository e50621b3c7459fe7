"""Import objects: what an Instance takes to resolve a module's imports.

An import object maps a namespace (the import's module name) to a namespace
mapping name -> extern. It may be an ImportObject, a dict of dicts (wasmer's
preferred form), or any mapping whose namespaces are mappings too, such as
another instance's `exports`. An extern is a Function, Global, Memory or Table
of any store; for a function import, a plain Python callable also does: it is
wrapped in a Function of the type the module declares for that import.
"""
from collections.abc import Mapping

from ..binary.types import EXTERN_FUNC
from ..runtime.func import Function as _RuntimeFunction, HostFunction as _RuntimeHostFunction
from ..runtime.globalvar import Global as _RuntimeGlobal
from ..runtime.memory import Memory as _RuntimeMemory
from ..runtime.native import c_function, native_function
from ..runtime.table import Table as _RuntimeTable
from .externs import Function
from .types import FunctionType

_EXTERN_CLASSES = (_RuntimeFunction, _RuntimeHostFunction, _RuntimeGlobal, _RuntimeMemory,
                   _RuntimeTable)


def is_extern(value):
    return isinstance(value, _EXTERN_CLASSES)


class ImportObject(dict):
    """Namespaces of imports: a dict with wasmer's `register` and `contains_namespace`.

        import_object = ImportObject()
        import_object.register("env", {"sum": Function(store, sum), "memory": memory})
        Instance(module, import_object)

    ## Example

    ```py
from wasabi import Store, Module, Instance, ImportObject, Function, Memory, MemoryType

store = Store()
memory = Memory(store, MemoryType(minimum=1))
import_object = ImportObject()

def answer() -> int:
    return 42

import_object.register("env", {"memory": memory, "answer": Function(store, answer)})
assert import_object.contains_namespace("env")
instance = Instance(Module(store, '''(module
  (import "env" "memory" (memory 1))
  (import "env" "answer" (func $answer (result i32)))
  (func (export "save") (i32.store8 (i32.const 0) (call $answer))))'''), import_object)
instance.exports.save()
assert memory.uint8_view()[0] == 42
    ```
    """

    def register(self, namespace_name, namespace):
        """Set (or replace) namespace `namespace_name` to the externs of the dict `namespace`."""
        if not isinstance(namespace_name, str):
            raise TypeError(f"a namespace name is a str, not {type(namespace_name).__name__}")
        if not isinstance(namespace, Mapping):
            raise TypeError(f"a namespace is a dict of externs, not {type(namespace).__name__}")
        items = {}
        for name, item in namespace.items():
            if not isinstance(name, str):
                raise TypeError(f"an import name is a str, not {type(name).__name__}")
            if not (is_extern(item) or callable(item)):
                raise TypeError(f"`ImportObject` cannot register the given type "
                                f"`{type(item).__name__}`")
            items[name] = item
        self[namespace_name] = items

    def contains_namespace(self, namespace_name):
        return namespace_name in self

    def to_dict(self):
        """A plain dict of dicts with the same externs."""
        return {name: dict(namespace) for name, namespace in self.items()}

    def __repr__(self):
        return f"ImportObject({dict.__repr__(self)})"


def _lookup(import_object, module, name):
    try:
        return import_object[module][name]
    except (LookupError, TypeError):      # a missing namespace or name, however it says so
        return None


def prepare_imports(desc, import_object, store):
    """{module: {name: extern}} for the imports of `desc` found in `import_object`.

    Missing imports are left out (the runtime's linker names them in a LinkError);
    plain callables for function imports become Functions in `store`.
    """
    if import_object is None:
        return {}
    if not hasattr(import_object, "__getitem__") or isinstance(import_object,
                                                               (str, bytes, list, tuple)):
        raise TypeError("an import object is an ImportObject or a dict of namespaces, not "
                        f"{type(import_object).__name__}")
    resolved = {}
    for imp in desc.imports:
        extern = _lookup(import_object, imp.module, imp.name)
        if extern is None:
            continue
        if imp.kind == EXTERN_FUNC and not is_extern(extern) and c_function(extern) is not None:
            extern = native_function(extern, desc.types[imp.type], store)    # a C function
        elif imp.kind == EXTERN_FUNC and not is_extern(extern) and callable(extern):
            extern = Function(store, extern, FunctionType._from_binary(desc.types[imp.type]))
        resolved.setdefault(imp.module, {})[imp.name] = extern
    return resolved
