"""wasm -> LLVM IR text -> machine code.

- module_ir / translator / emit/: the translation of validated function bodies to IR text
- pipelines: target machines and the tiers (T0, T1, O2); jit: the llvmlite.binding door
- builder: the one batch builder (translate -> optimise -> emit -> link), parallel: big
  modules in parts on worker processes, library: the JIT library that owns a module's code
- modes/: the strategies (EAGER, LAZY, REPL) that implement runtime.code.Code
- artifact: the bytes of a compiled module (Module.serialize, the disk cache: cache.py)
- thunks: per-signature array-call and host-call thunks (process-wide)

compile_module(desc, options, jobs=None) is EAGER's build: an EagerCode.
"""
from .jit import emit_object
from .module_ir import translate_module
from .modes.eager import EagerCode, build as compile_module

__all__ = ["EagerCode", "compile_module", "emit_object", "translate_module"]
