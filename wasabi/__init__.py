"""wasabi: a WebAssembly runtime for Python that compiles wasm to machine code through LLVM."""
from .errors import CompileError, ValidationError, LinkError, Trap
from .binary.reader import decode_module
from .validate import validate, validate_module, parse

__version__ = "0.1.0"

__all__ = [
    "CompileError", "ValidationError", "LinkError", "Trap",
    "decode_module", "validate", "validate_module", "parse",
    "__version__",
]
