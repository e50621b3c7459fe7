"""wat2wasm / wasm2wat: the WebAssembly text format.

wasabi's own text format package (wasabi.text) is used when it is there;
otherwise wat2wasm falls back to the `wasmtime` package's. wasm2wat has no
fallback (wasmtime-py cannot print modules): without wasabi.text it raises
an ImportError that says so.
"""
import importlib

from ..errors import CompileError


def _text_function(name):
    """wasabi.text.<name>, or None when the package (or the function) is missing."""
    try:
        module = importlib.import_module("wasabi.text")
    except ImportError as exc:
        if exc.name not in ("wasabi.text", "wasabi"):
            raise                  # wasabi.text exists but is broken: say so
        return None
    return getattr(module, name, None)


def _as_text(wat):
    if isinstance(wat, str):
        return wat
    if isinstance(wat, (bytes, bytearray, memoryview)):
        try:
            return bytes(wat).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CompileError(f"WebAssembly text is not UTF-8: {exc}") from None
    raise TypeError(f"expected WebAssembly text as a str, got {type(wat).__name__}")


def wat2wasm(wat):
    """The binary module of WebAssembly text `wat` (bytes); CompileError when it does not parse."""
    text = _as_text(wat)
    own = _text_function("wat2wasm")
    if own is not None:
        return _bytes_or_error(own, text)
    try:
        import wasmtime
    except ImportError:
        raise ImportError("wat2wasm needs wasabi.text or the `wasmtime` package; "
                          "neither is available") from None
    return _bytes_or_error(wasmtime.wat2wasm, text)


def _bytes_or_error(function, text):
    try:
        return bytes(function(text))
    except CompileError:
        raise
    except Exception as exc:      # each parser has its own error class
        raise CompileError(f"invalid WebAssembly text: {exc}") from None


def wasm2wat(data):
    """The WebAssembly text of binary module `data` (str)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the bytes of a module, got {type(data).__name__}")
    own = _text_function("wasm2wat")
    if own is None:
        raise ImportError("wasm2wat needs wasabi.text (wasabi's WebAssembly text package), "
                          "which is not available")
    return own(bytes(data))


def looks_binary(data):
    """Whether `data` starts like a binary module (b'\\0asm')."""
    return bytes(data[:4]) == b"\0asm"
