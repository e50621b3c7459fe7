"""wasabi's WebAssembly text format: wat2wasm (text -> binary) and wasm2wat (binary -> text).

    wat2wasm(text, debug_names=True) -> bytes
    wasm2wat(data) -> str

Malformed text raises WatSyntaxError, a wasabi.CompileError with `line` and `column`.
The bytes are the wat crate's (wasmtime's and wasmer's wat2wasm), name section included.

>>> from wasabi.text import wat2wasm, wasm2wat
>>> data = wat2wasm("(module (func $twice (param $x i32) (result i32)"
...                 "  (i32.mul local.get $x (i32.const 2))))")
>>> print(wasm2wat(data, folded=True))
(module
  (type (;0;) (func (param i32) (result i32)))
  (func $twice (type 0) (param $x i32) (result i32)
    (i32.mul
      (local.get $x)
      (i32.const 2))))
>>> wat2wasm("(module (func (i32.add")
Traceback (most recent call last):
  ...
wasabi.text.errors.WatSyntaxError: unexpected end of input (at line 1, column 23)
"""
from .assemble import wat2wasm
from .errors import WatSyntaxError
from .printer import wasm2wat

__all__ = ["wat2wasm", "wasm2wat", "WatSyntaxError"]
