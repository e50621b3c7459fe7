"""Shared libraries (issue 16): `wasabi compile prog.wasm --dylib -o libprog.so`,
Module.write_dylib(path).

    from wasabi.aot import write_dylib
    header = write_dylib(wasm_bytes, "libprog.so")   # and libprog.h beside it

The library holds, in one ELF shared object linked by the system C compiler:
- the module's machine code (as EAGER compiles it, in parts for a big module;
  the stack check reads its limit's offset from the vmctx, dylib_c.py says why);
- the array-call, host-call and native-call thunks of every type of the module
  (compiler/thunks.py thunks_object_ir), which the Python runtime otherwise
  JIT-compiles per signature;
- the wasm and a skeleton of it (function bodies emptied: it decodes in a few
  ms, runtime/dylib.py), the code options, an ABI key;
- the standalone C runtime (wasabi/_native/standalone/) and a C API (dylib.c,
  the header written beside the library, which cffi's cdef also reads through
  wasabi.aot.cdef); a module importing WASI gets the runtime's WASI there,
  configured by <name>_wasi_* (dylib_wasi.c) rather than as import fields.

wasabi.load_dylib(path) (runtime/dylib.py) maps it and instantiates it through
the extension's runtime without LLVM. The code is compiled for this machine's
CPU (as the code cache's), x86-64 Linux only.
"""
import pathlib as _pathlib
import re as _re
import shutil as _shutil
import tempfile as _tempfile

from .._version import __version__
from ..runtime.dylib import abi_key
from ..options import CodeOptions, Options

DYLIB_SOURCES = ("standalone/standalone.c", "standalone/dylib.c", "standalone/dylib_wasi.c",
                 "memory.c", "memory_backing.c", "tables.c", "signals.c", "wasi_ctx.c",
                 "wasi_fs.c", "wasi_misc.c", "wasi_path.c", "wasi_poll.c", "wasi_root.c")
# the wasm code section's id (the skeleton keeps every section, the bodies emptied)
CODE_SECTION_ID = 10


def lib_name(path):
    """The C prefix a library's file name gives (libprog.so -> prog)."""
    stem = _pathlib.Path(path).name.split(".")[0]
    if stem.startswith("lib") and len(stem) > 3:
        stem = stem[3:]
    name = _re.sub(r"\W", "_", stem) or "module"
    return name if not name[0].isdigit() else "m_" + name


# ---- the skeleton ----

def _uleb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _uleb_bytes(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def skeleton(wasm):
    """`wasm` with every function body replaced by an empty one (no locals, `end`):
    it decodes to the same ModuleDesc but for the bodies' offsets, in a fraction of
    the time (the code is compiled already)."""
    out, pos = [wasm[:8]], 8
    while pos < len(wasm):
        section = wasm[pos]
        size, body = _uleb(wasm, pos + 1)
        end = body + size
        if section == CODE_SECTION_ID:
            count, _ = _uleb(wasm, body)
            payload = _uleb_bytes(count) + b"\x02\x00\x0b" * count
            out.append(bytes([CODE_SECTION_ID]) + _uleb_bytes(len(payload)) + payload)
        else:
            out.append(wasm[pos:end])
        pos = end
    return b"".join(out)


# ---- compiling ----

def compile_for_dylib(desc, code_options, jobs=None):
    """(objects, {func index: symbol}) of every defined function, the stack check
    reading its offset from the vmctx; in parts on worker processes when big."""
    from ..compiler import parallel
    from ..compiler.jit import emit_object
    from ..compiler.module_ir import translate_module
    from ..compiler.pipelines import target_machine
    tier = code_options.tier
    machine = target_machine(tier)
    triple, layout = machine.triple, str(machine.target_data)
    jobs = parallel.default_jobs() if jobs is None else jobs
    parts = parallel.partition(desc, tier, jobs)
    symbols = {}

    def text_of(k):
        indices = None if len(parts) == 1 else parts[k]
        made = translate_module(desc, code_options, indices, triple, layout, part=k,
                                segment_stack_check=False)
        symbols.update(made.symbols)
        return made.text

    if len(parts) == 1:
        emitted = [emit_object(text_of(0), tier)]
    else:
        emitted = parallel.emit_parts(text_of, len(parts), tier, jobs)
    return [obj for obj, _ in emitted], symbols


def compile_thunks(desc, tier):
    """(object, {(kind, type index): symbol}) of the thunks of every type of `desc`."""
    from ..compiler.jit import emit_object
    from ..compiler.thunks import thunks_object_ir
    text, symbols = thunks_object_ir(desc.types)
    obj, _ = emit_object(text, tier, passes=False)
    return obj, symbols


# ---- linking ----

def _version_script(name):
    return (f"{{\n  global:\n    wasabi_dylib_info;\n    wasabi_dylib_bind;\n    {name}_*;\n"
            "  local:\n    *;\n};\n")


def link_dylib(desc, wasm, objects, symbols, thunk_object, thunks, path, name, code_options):
    """Link the shared library at `path` (see the module docstring)."""
    from .build import CFLAGS, _includes, _run, compiler, runtime_objects
    from .dylib_c import library_source, wrap_flags
    cc = compiler()
    runtime = runtime_objects(sources=DYLIB_SOURCES)
    header = {"format": 1, "wasabi": __version__, "name": name, **code_options.as_dict()}
    with _tempfile.TemporaryDirectory(prefix="wasabi-dylib-") as work:
        work = _pathlib.Path(work)
        files = {"wasm": work / "module.wasm", "skeleton": work / "skeleton.wasm"}
        files["wasm"].write_bytes(wasm)
        shape = skeleton(wasm)
        files["skeleton"].write_bytes(shape)
        files.update(wasm_len=len(wasm), skeleton_len=len(shape))
        code = []
        for k, obj in enumerate(objects):
            code.append(work / f"code{k}.o")
            code[-1].write_bytes(obj)
        (work / "thunks.o").write_bytes(thunk_object)
        (work / "library.c").write_text(library_source(
            desc, name, symbols, thunks, len(objects), files, abi_key(), header))
        (work / "exports.map").write_text(_version_script(name))
        output = work / "library.so"
        _run([cc, *CFLAGS, *_includes(), "-shared", "-o", str(output), str(work / "library.c"),
              *map(str, code), str(work / "thunks.o"), *map(str, runtime),
              f"-Wl,--version-script={work / 'exports.map'}", "-Wl,--gc-sections",
              "-Wl,-z,noexecstack", "-Wl,-z,text", *wrap_flags(), "-lpthread", "-lm",
              "-Wl,--no-undefined"])     # a runtime file left out fails here, not at load
        # a library in use stays intact: the new one is renamed over it
        partial = _pathlib.Path(str(path) + ".tmp")
        _shutil.copyfile(output, partial)
        partial.chmod(0o755)
        partial.replace(path)
    return _pathlib.Path(path)


def write_dylib(wasm, path, name=None, options=None, source="a wasm module", jobs=None):
    """Write the shared library of `wasm` (bytes) to `path` and its C header beside it
    (path with .h); returns the header's path. `options`: an Options or CodeOptions
    (tier, bounds, fuel, interruptible; the defaults are wasabi.Options()'s)."""
    from ..validate import parse
    from .build import compiler
    from .dylib_c import header
    compiler()                          # no compiler: say so before compiling
    wasm = bytes(wasm)
    code_options = CodeOptions.of(options if options is not None else Options())
    name = name or lib_name(path)
    desc = parse(wasm)
    objects, symbols = compile_for_dylib(desc, code_options, jobs)
    thunk_object, thunks = compile_thunks(desc, code_options.tier)
    link_dylib(desc, wasm, objects, symbols, thunk_object, thunks, path, name, code_options)
    header_path = _pathlib.Path(path).with_suffix(".h")
    header_path.write_text(header(desc, name, _pathlib.Path(path).name, source,
                                  header_path.name, code_options.fuel))
    return header_path
