"""wasabi: a WebAssembly runtime for Python that compiles wasm to machine code through LLVM.

Two faces of the same objects:

    module = wasabi.compile(wasm_bytes, wasabi.Options(mode=wasabi.Mode.EAGER))
    instance = wasabi.instantiate(module, {"env": {"log": print}})
    instance.call("main")                      # or instance.exports.main()

and the `wasmer` 1.1.0 package's, so that `import wasabi as wasmer` works:

    store = wasmer.Store()
    instance = wasmer.Instance(wasmer.Module(store, wat_or_wasm), import_object)
    instance.exports.sum(1, 2)
"""
import sys as _sys
import types as _types

from .errors import (CompileError, ValidationError, LinkError, Trap, ResourceLimitError,
                     OutOfFuel, Interrupted, DeadlineExceeded)
from .binary.reader import decode_module
from .validate import validate, validate_module, parse
from .options import Mode, Options

from ._version import __version__

# importing the runtime installs wasabi's fault handler (guard-page traps)
from . import runtime  # noqa: E402
from . import api as _api  # noqa: E402
from .api import *  # noqa: E402,F401,F403  (the public faces; the names are api.__all__)
from .runtime.vectorize import vectorize  # noqa: E402
from . import wasi  # noqa: E402
from .wasi import WasiConfig, WasiExit  # noqa: E402

__all__ = [
    "CompileError", "ValidationError", "LinkError", "Trap", "ResourceLimitError",
    "OutOfFuel", "Interrupted", "DeadlineExceeded",
    "decode_module", "validate", "validate_module", "parse", "Options", "Mode",
    *_api.__all__,
    "vectorize", "wasi", "WasiConfig", "WasiExit",
    "__version__", "__core_version__",
]


class _Package(_types.ModuleType):
    """The wasabi module object.

    `wasabi.compile` is the seed's function, while wasabi/compile/ is also the
    compiler's subpackage: importing that subpackage sets the package attribute
    of the same name, which would hide the function. This keeps the function
    (the subpackage stays in sys.modules as "wasabi.compile").
    """

    @property
    def compile(self):
        return self.__dict__["_compile_function"]

    @compile.setter
    def compile(self, value):
        if not isinstance(value, _types.ModuleType):
            self.__dict__["_compile_function"] = value

    @property
    def __core_version__(self):
        """The version of the core wasabi compiles with: LLVM's (through llvmlite)."""
        from .compile.pipelines import llvm_version
        return llvm_version()


_compile_function = compile
del compile
_sys.modules[__name__].__class__ = _Package
