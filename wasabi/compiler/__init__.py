"""wasm -> LLVM IR text -> machine code.

- module_ir / translator / emit/: the translation of validated function bodies to IR text
- pipelines: target machines and the tiers (T0, T1, O2)
- codegen: compile_module(desc, options) -> CodeLibrary (one LLJIT per module), link_object
- thunks: per-signature array-call and host-call thunks (process-wide)
"""
from .codegen import CodeLibrary, compile_module, link_object
from .jit import emit_object
from .module_ir import translate_module

__all__ = ["CodeLibrary", "compile_module", "emit_object", "link_object", "translate_module"]
