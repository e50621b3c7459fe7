"""wat2wasm: WebAssembly text -> binary module bytes."""
from .errors import WatSyntaxError
from .annotations import blank_unknown_annotations
from .lexer import blank_block_comments, tokenize
from .module import ModuleAssembler
from .tokens import END, TokenStream, display_name, paren_depths, unquote_ids

_EMPTY_MODULE = b"\0asm\x01\0\0\0"


ENCODERS = ("wat", "wabt")


def wat2wasm(text, *, debug_names=True, encoder="wat"):
    """The binary of the module written in WebAssembly text `text` (str, or UTF-8 bytes).

    `text` is one `(module ...)` (also `(module binary "...")` and
    `(module quote "...")`) or a bare sequence of module fields. With debug_names (the
    default, as in wasmtime's and wasmer's wat2wasm), a `name` section records the
    module's, functions' and locals' $identifiers, when there are any: module names,
    and function names in traps, come from it. debug_names=False leaves it out, as
    wabt's wat2wasm (and wast2json) do.

    Where the binary format leaves a choice, `encoder` says whose to make: "wat" (the
    default) writes the bytes of the wat crate, wasmtime's and wasmer's wat2wasm
    (name section included); "wabt" those of wabt's wat2wasm and wast2json. They
    differ in element segments (the wat crate keeps an explicit table index and
    expressions as written, wabt writes the shortest form) and in block types
    written `(type x)` (the wat crate keeps the index, wabt the short form).

    Raises WatSyntaxError (a wasabi.CompileError) naming line and column when the
    text is malformed. Validation is not done here (see wasabi.validate).
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WatSyntaxError(f"malformed UTF-8 encoding: {exc}") from None
    if not isinstance(text, str):
        raise TypeError(f"expected WebAssembly text as str, got {type(text).__name__}")
    if encoder not in ENCODERS:
        raise ValueError(f"encoder must be one of {ENCODERS}, not {encoder!r}")
    text = blank_unknown_annotations(blank_block_comments(text))
    toks = tokenize(text)
    quoted_ids = unquote_ids(toks) if '$"' in text else frozenset()
    count = len(toks)
    depths = paren_depths(toks)
    toks += [END, END]
    stream = TokenStream(text, toks)
    stream.quoted_ids = quoted_ids
    if count == 0:
        return _EMPTY_MODULE
    if min(depths) < 0:
        stream.unexpected(depths.index(-1))         # a ')' closing nothing
    if depths[-1] != 0:
        stream.unexpected(count)                    # a '(' never closed
    if not (toks[0] == "(" and toks[1] == "module"):
        return _assemble(stream, depths, 0, count, None, debug_names, encoder)
    close = depths.index(0)
    if close != count - 1:
        stream.unexpected(close + 1)
    ident, i = stream.optional_id(2)
    module_name = display_name(ident) if ident is not None else None
    if toks[i] == "binary":
        data, i = stream.strings(i + 1)
        stream.close(i)
        return data
    if toks[i] == "quote":
        data, i = stream.strings(i + 1)
        stream.close(i)
        try:
            quoted = data.decode("utf-8")
        except UnicodeDecodeError:
            stream.error("malformed UTF-8 encoding", i - 1)
        return wat2wasm(quoted, debug_names=debug_names, encoder=encoder)
    return _assemble(stream, depths, i, close, module_name, debug_names, encoder)


def _assemble(stream, depths, start, end, module_name, debug_names, encoder):
    assembler = ModuleAssembler(stream.text, stream.toks, depths, start, end, module_name,
                                debug_names, encoder)
    assembler.quoted_ids = stream.quoted_ids
    return assembler.assemble()
