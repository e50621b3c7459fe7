"""EAGER mode: compile every function of the validated module before instantiation.

The code is one CodeLibrary (one LLJIT, one library). Calls between the
module's functions are direct (LLVM may inline them at O2).
"""
from ..codegen import compile_module


def compile(desc, options):
    return compile_module(desc, options)


def stats(code):
    """The counters of an eager CodeLibrary, under the names the lazy modes use."""
    out = dict(code.stats)
    out.update(mode="eager", functions_compiled=out.get("functions", 0), batches=1)
    return out
