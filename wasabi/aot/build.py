"""Compiling and linking with the system C compiler: the standalone runtime (built
once per runtime source and compiler, kept in the code cache directory) and an
executable from a module's object and its generated description.

    cc -O2 -o prog prog-module.c prog.o <runtime objects> -lpthread

`cc` is $CC when set. A missing compiler is a clear error (CompileError).
"""
import hashlib as _hashlib
import os as _os
import pathlib as _pathlib
import shutil as _shutil
import subprocess as _subprocess
import tempfile as _tempfile

from ..errors import CompileError

NATIVE = _pathlib.Path(__file__).resolve().parent.parent / "_native"
# standalone.c lives apart: setup.py compiles every _native/*.c into the extension
STANDALONE = NATIVE / "standalone"
# the Python-free runtime files an executable links (standalone.c replaces entry.c,
# control.c, limits.c and hostcall.c)
RUNTIME_SOURCES = ("standalone/standalone.c", "memory.c", "memory_backing.c", "tables.c", "signals.c",
                   "wasi_ctx.c", "wasi_fs.c", "wasi_misc.c", "wasi_path.c", "wasi_poll.c",
                   "wasi_root.c")
CFLAGS = ("-O2", "-fPIC", "-ffunction-sections", "-fdata-sections", "-DWASABI_STANDALONE")
# -no-pie: the stack check addresses %fs:<absolute symbol> (an R_X86_64_32S a PIE refuses)
LDFLAGS = ("-no-pie", "-Wl,--gc-sections", "-lpthread")


def compiler():
    """The C compiler's command name (CompileError when there is none)."""
    cc = _os.environ.get("CC") or "cc"
    if _shutil.which(cc) is None:
        raise CompileError(f"no C compiler: {cc!r} is not installed (set $CC, or install "
                           "gcc or clang) -- an executable is linked with it")
    return cc


def _run(command):
    done = _subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CompileError(f"{' '.join(map(str, command[:2]))} ... failed:\n{done.stderr[-3000:]}")
    return done


def _includes():
    return ["-I", str(NATIVE), "-I", str(STANDALONE)]


def _runtime_key(cc):
    digest = _hashlib.sha256(" ".join(CFLAGS).encode())
    digest.update(_subprocess.run([cc, "--version"], capture_output=True).stdout)
    for folder in (NATIVE, STANDALONE):
        for name in sorted(_os.listdir(folder)):
            if name.endswith((".c", ".h")):
                digest.update(name.encode() + (folder / name).read_bytes())
    return digest.hexdigest()[:16]


def runtime_objects(directory=None, sources=RUNTIME_SOURCES):
    """The standalone runtime's object files (of `sources`, in NATIVE), each compiled
    on first use into <cache dir>/runtime-<key>/ (atomically: renamed into place), so
    that executables and shared libraries share the files they both link."""
    from ..compiler.cache import cache_dir
    cc = compiler()
    base = _pathlib.Path(directory or cache_dir())
    target = base / f"runtime-{_runtime_key(cc)}"
    objects = [target / _pathlib.Path(source).with_suffix(".o").name for source in sources]
    missing = [(s, o) for s, o in zip(sources, objects) if not o.exists()]
    if missing:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
        target.mkdir(mode=0o700, exist_ok=True)
    for source, obj in missing:
        fd, partial = _tempfile.mkstemp(dir=target, prefix=".", suffix=".o")
        _os.close(fd)
        partial = _pathlib.Path(partial)
        try:
            _run([cc, *CFLAGS, *_includes(), "-c", str(NATIVE / source), "-o", str(partial)])
            _os.replace(partial, obj)
        finally:
            partial.unlink(missing_ok=True)
    return objects


def link_executable(object_bytes, module_c, output):
    """Link `output` from the module's machine code and its C description."""
    cc = compiler()
    runtime = runtime_objects()
    with _tempfile.TemporaryDirectory(prefix="wasabi-exe-") as work:
        work = _pathlib.Path(work)
        (work / "module.o").write_bytes(object_bytes)
        (work / "module.c").write_text(module_c)
        _run([cc, *CFLAGS, *_includes(), "-o", str(output), str(work / "module.c"),
              str(work / "module.o"), *map(str, runtime), *LDFLAGS])
    return _pathlib.Path(output)


def link_object(object_bytes, module_c, output, keep):
    """Write `output`: one relocatable object of the module's machine code, its C
    description and the standalone runtime (cc -r), every symbol but `keep` local,
    so that it links into any C program (and beside another such object)."""
    cc = compiler()
    runtime = runtime_objects()
    objcopy = _shutil.which("objcopy")
    with _tempfile.TemporaryDirectory(prefix="wasabi-obj-") as work:
        work = _pathlib.Path(work)
        (work / "code.o").write_bytes(object_bytes)
        (work / "module.c").write_text(module_c)
        _run([cc, *CFLAGS, *_includes(), "-c", str(work / "module.c"), "-o",
              str(work / "module.o")])
        combined = work / "combined.o"
        _run([cc, "-r", "-nostdlib", "-o", str(combined), str(work / "module.o"),
              str(work / "code.o"), *map(str, runtime)])
        if objcopy:
            _run([objcopy, *[f"--keep-global-symbol={name}" for name in keep], str(combined)])
        _shutil.copyfile(combined, output)
    return _pathlib.Path(output)
