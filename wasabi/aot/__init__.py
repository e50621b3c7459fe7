"""Ahead-of-time outputs (issue 16): native executables of WASI commands.

    from wasabi.aot import write_exe
    write_exe(wasm_bytes, "prog")          # ./prog [--dir H::G --env K=V --] args...

The executable holds the module's machine code (EAGER's code, compiled without
interrupt polls), a generated C description of the module (cgen.py) and the C
runtime built without Python (wasabi/_native/standalone.c and the Python-free
runtime and WASI files), linked by the system C compiler (build.py). No Python
and no LLVM at run time.
"""
from ..options import Options

# the executable cannot be interrupted from outside the program (Ctrl-C ends
# the process as for any C program): no polls to pay for
EXE_OPTIONS = dict(interruptible=False)


def compile_for_exe(wasm, tier="O2"):
    """(desc, object bytes, {function index: symbol}) of `wasm` compiled in one object."""
    from ..compiler import compile_module
    from ..validate import parse
    from .cgen import check_importable
    desc = parse(bytes(wasm))
    check_importable(desc)              # before the compile: a clear error first
    code = compile_module(desc, Options(tier=tier, **EXE_OPTIONS), jobs=1)
    objects, symbols = code.artifact()
    if len(objects) != 1:
        raise RuntimeError("expected one object for an executable")
    return desc, objects[0], symbols


def write_exe(wasm, path, tier="O2"):
    """Write a native executable of the WASI command `wasm` (bytes) to `path`."""
    from .build import compiler, link_executable
    from .cgen import module_source
    compiler()                          # no compiler: say so before compiling
    desc, obj, symbols = compile_for_exe(wasm, tier)
    return link_executable(obj, module_source(desc, symbols), path)
