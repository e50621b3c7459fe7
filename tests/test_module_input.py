"""Issue 12 item 12: which input is text, which is binary, and that nothing is an empty module.

b"" and text with no module field (white space, comments) must not compile as an empty
module (wasmtime rejects both; the spec's binary.wast line 6 expects "unexpected end"
for b""); bytes starting with a NUL are a (bad or truncated) binary, never text.
"""
import pytest

import wasabi
from wasabi.errors import CompileError

BLANK_TEXTS = ["", "   ", "\n\t\r ", ";; only a comment", "(; block (; nested ;) ;)\n;; x"]


@pytest.mark.parametrize("text", BLANK_TEXTS)
def test_blank_text_is_not_a_module(text):
    for source in (text, text.encode()) if text else (text,):    # b"" is binary
        with pytest.raises(CompileError, match="at least one module field"):
            wasabi.compile(source)
    with pytest.raises(CompileError):
        wasabi.wat2wasm(text)


def test_empty_bytes_are_a_truncated_binary():
    with pytest.raises(CompileError, match="unexpected end"):
        wasabi.compile(b"")
    assert not wasabi.Module.validate(wasabi.Store(), b"")


@pytest.mark.parametrize("data", [b"\0", b"\0a", b"\0as", b"\0asm", b"\0asm\1\0\0",
                                  b"\0\0\0\0\1\0\0\0", b"\0xyz(module)"])
def test_a_leading_nul_means_binary(data):
    with pytest.raises(CompileError) as info:
        wasabi.compile(data)
    message = str(info.value)
    assert "illegal character" not in message and "text" not in message
    assert "unexpected end" in message or "magic" in message


def test_text_with_a_field_still_compiles():
    for source in ["(module)", " ;; c\n(func)", b"(; x ;)(memory 1)"]:
        wasabi.compile(source)
