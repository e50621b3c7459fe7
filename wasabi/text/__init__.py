"""wasabi's WebAssembly text format: wat2wasm (text -> binary) and wasm2wat (binary -> text).

    wat2wasm(text, debug_names=True) -> bytes
    wasm2wat(data) -> str

Malformed text raises WatSyntaxError, a wasabi.CompileError with `line` and `column`.
"""
from .assemble import wat2wasm
from .errors import WatSyntaxError
from .printer import wasm2wat

__all__ = ["wat2wasm", "wasm2wat", "WatSyntaxError"]
