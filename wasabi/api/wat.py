"""wat2wasm / wasm2wat: the WebAssembly text format.

wasabi's own text format package (wasabi.text) is used when it is there;
otherwise wat2wasm falls back to the `wasmtime` package's. wasm2wat has no
fallback (wasmtime-py cannot print modules): without wasabi.text it raises
an ImportError that says so.
"""
import importlib as _importlib

from ..errors import CompileError


def _text_function(name):
    """wasabi.text.<name>, or None when the package (or the function) is missing."""
    try:
        module = _importlib.import_module("wasabi.text")
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
    """The binary module of WebAssembly text `wat` (bytes); CompileError when it does not parse.

    >>> import wasabi
    >>> wasabi.wat2wasm("(module)")
    b'\\x00asm\\x01\\x00\\x00\\x00'
    >>> wasabi.wat2wasm("(module (func (export \\"add\\") (param i32 i32) (result i32)"
    ...                 "  (i32.add local.get 0 local.get 1)))")[:8]
    b'\\x00asm\\x01\\x00\\x00\\x00'
    """
    text = _as_text(wat)
    if not _has_module_field(text):
        # an empty or comment-only text is no module (wasmtime: "expected at least one
        # module field"), not an empty one
        raise CompileError("invalid WebAssembly text: expected at least one module field")
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
    """The WebAssembly text of binary module `data` (str).

    >>> import wasabi
    >>> print(wasabi.wasm2wat(wasabi.wat2wasm('(module (memory (export "m") 1))')))
    (module
      (memory (;0;) 1)
      (export "m" (memory 0)))
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the bytes of a module, got {type(data).__name__}")
    own = _text_function("wasm2wat")
    if own is None:
        raise ImportError("wasm2wat needs wasabi.text (wasabi's WebAssembly text package), "
                          "which is not available")
    return own(bytes(data))


def looks_binary(data):
    """Whether bytes `data` are to be decoded as a binary module, not as text: empty
    bytes and anything starting with a NUL (which text never holds) are, so that a
    truncated binary is reported as one ("unexpected end", as the spec's binary.wast
    expects for b"")."""
    return len(data) == 0 or bytes(data[:1]) == b"\0"


def _has_module_field(text):
    """Whether `text` holds anything but white space and comments."""
    at, end = 0, len(text)
    while at < end:
        char = text[at]
        if char in " \t\n\r":
            at += 1
        elif text.startswith(";;", at):
            newline = text.find("\n", at)
            at = end if newline < 0 else newline + 1
        elif text.startswith("(;", at):
            at = _block_comment_end(text, at)
            if at < 0:
                return True          # unterminated: the parser says where
        else:
            return True
    return False


def _block_comment_end(text, at):
    """The index after the (nested) block comment opened at `at`, or -1."""
    depth = 0
    while at < len(text):
        if text.startswith("(;", at):
            depth, at = depth + 1, at + 2
        elif text.startswith(";)", at):
            depth, at = depth - 1, at + 2
            if depth == 0:
                return at
        else:
            at += 1
    return -1
