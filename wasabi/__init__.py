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
from .runtime.ufuncs import vectorize  # noqa: E402
from .runtime.export_pointers import last_trap  # noqa: E402
from . import wasi  # noqa: E402
from .wasi import WasiConfig, WasiExit  # noqa: E402

__all__ = [
    "CompileError", "ValidationError", "LinkError", "Trap", "ResourceLimitError",
    "OutOfFuel", "Interrupted", "DeadlineExceeded",
    "decode_module", "validate", "validate_module", "parse", "Options", "Mode",
    *_api.__all__,
    "vectorize", "last_trap", "wasi", "WasiConfig", "WasiExit",
    "__version__", "__core_version__",
]


def __getattr__(name):
    """`__core_version__`: the version of the core wasabi compiles with, LLVM's (through
    llvmlite), read on first use so that `import wasabi` does not load LLVM."""
    if name == "__core_version__":
        from .compiler.pipelines import llvm_version
        return llvm_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
