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


def load_dylib(path, store=None):
    """The Module of the shared library at `path` (CompileError when it is not a
    wasabi library, was built for another runtime ABI, or is in use through its C
    API in this process). Loading a path again gives a Module sharing the code."""
    compiled, wasm, _ = load_library(str(path))
    options = compiled.options
    if store is None:
        store = Store(options=Options(**options.code.as_dict()))
    module = Module.__new__(Module)
    module._setup(store, wasm, compiled.clone())
    return module
