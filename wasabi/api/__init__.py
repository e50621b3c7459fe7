"""The public API, both faces (re-exported by wasabi/__init__.py).

The seed's:   wasabi.compile(data, wasabi.Options(...)) -> Module,
              wasabi.instantiate(module, imports) -> Instance, instance.call(name, *args)
wasmer 1.1.0: Store, Module, Instance, Function, Global, Memory, Table, the types,
              Value, ImportObject, wat2wasm / wasm2wat, engine, target; so that
              `import wasabi as wasmer` runs code written for the `wasmer` package.
"""
from ..runtime.instance import Exports
from ..runtime.limits import Limits
from ..runtime.views import (Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
                             Int64Array, MemoryBuffer as Buffer, Uint8Array, Uint16Array,
                             Uint32Array, Uint64Array)
from . import engine, target
from .externs import Function, Global, Memory, Table, WasmFunction
from .imports import ImportObject
from .module import Instance, Module, compile, instantiate
from .dylib import load_dylib
from .store import Store
from .types import ExportType, FunctionType, GlobalType, ImportType, MemoryType, TableType, Type
from .values import Value
from .wat import wasm2wat, wat2wasm

# what iterating over an instance's exports gives (wasmer's ExportsIterator)
ExportsIterator = type(iter({}.items()))

__all__ = [
    "compile", "instantiate", "load_dylib",
    "Store", "Limits", "Module", "Instance", "Exports", "ExportsIterator", "ImportObject",
    "Function", "WasmFunction", "Global", "Memory", "Table",
    "Type", "Value", "FunctionType", "GlobalType", "MemoryType", "TableType",
    "ExportType", "ImportType",
    "Buffer", "Int8Array", "Uint8Array", "Int16Array", "Uint16Array", "Int32Array",
    "Uint32Array", "Int64Array", "Uint64Array", "Float32Array", "Float64Array",
    "wat2wasm", "wasm2wat", "engine", "target",
]
