"""wasabi.load_dylib(path): a Module of a shared library that `wasabi compile --dylib`
(Module.write_dylib) wrote, instantiated and called through the runtime's usual
fast path, without LLVM (llvmlite is not imported: runtime/dylib.py).

    module = wasabi.load_dylib("libprog.so")
    instance = wasabi.instantiate(module, {"env": {"log": print}})
    instance.exports.main()
"""
from ..options import Options
from ..runtime.dylib import load_library
from .module import Module
from .store import Store


class DylibModule(Module):
    """A Module whose code is a shared library's (`path`). Its wasm bytes, which only
    serialize, pickle and write_* need, are read from the library on first use."""

    @property
    def _wasm(self):
        wasm = self.__dict__.get("_wasm_bytes")
        if wasm is None:
            wasm = self.__dict__["_wasm_bytes"] = self._library.wasm()
        return wasm

    @_wasm.setter
    def _wasm(self, value):
        self.__dict__["_wasm_bytes"] = value

    @property
    def path(self):
        """The library's path (None for a module unpickled from one)."""
        library = self.__dict__.get("_library")
        return library.path if library is not None else None


def load_dylib(path, store=None):
    """The Module of the shared library at `path` (CompileError when it is not a
    wasabi library, was built for another runtime ABI, or is in use through its C
    API in this process). Loading a path again gives a Module sharing the code."""
    library = load_library(str(path))
    compiled = library.compiled
    if store is None:
        store = Store(options=Options(**compiled.options.code.as_dict()))
    module = DylibModule.__new__(DylibModule)
    module._library = library
    module._setup(store, None, compiled.clone())
    return module
