"""wasm -> LLVM IR text -> machine code.

- module_ir / translator / emit/: the translation of validated function bodies to IR text
- pipelines: target machines and the tiers (T0, T1, O2); jit: the llvmlite.binding door
- builder: the one batch builder (translate -> optimise -> emit -> link), parallel: big
  modules in parts on worker processes, library: the JIT library that owns a module's code
- modes/: the strategies (EAGER, LAZY, REPL) that implement runtime.code.Code
- artifact: the bytes of a compiled module (Module.serialize, the disk cache: cache.py)
- thunks: per-signature array-call and host-call thunks (process-wide)

compile_module(desc, options, jobs=None) is EAGER's build: an EagerCode.

Importing this package loads no LLVM (the API reads the mode registry when a
Store is made); the names below are imported on first use.
"""
import importlib as _importlib

_LAZY_NAMES = {"compile_module": ("modes.eager", "build"), "EagerCode": ("modes.eager", "EagerCode"),
               "emit_object": ("jit", "emit_object"),
               "translate_module": ("module_ir", "translate_module")}

__all__ = sorted(_LAZY_NAMES)


def __getattr__(name):
    try:
        module, attribute = _LAZY_NAMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(_importlib.import_module(f"{__name__}.{module}"), attribute)
