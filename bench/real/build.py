"""A real program for the benchmarks: the SQLite shell (sqlite3.c + shell.c, SQLite 3.50.4),
built to a WASI command with Debian's clang + wasi-libc, and natively with gcc -O2.

    python bench/real/build.py        # build both (about 1.5 min on 2 cores), print the paths

The sources come from the sdist of sqlean-py on PyPI (it ships the amalgamation and the shell
unmodified under sqlite/; sqlite.org itself need not be reachable), downloaded once and checked
against a pinned sha256. Everything goes to bench/build/real/ (not committed), keyed on the
sdist, the flags and the compiler version, so a change rebuilds. WASABI_SQLITE_SDIST may name a
local copy of the sdist (checked the same way) for machines without network.

sqlean appends a hook for its own extensions to sqlite3.c; it is cut off, so the program is
SQLite's own shell (SQLITE_SOURCE_ID 2025-07-30 19:33:53 4d8adfb3..., release 3.50.4).
The options are the ones sqlite.org builds its shell with (FTS4/5, R-tree, JSON, math, the
virtual tables behind .dbinfo and the like), minus what WASI cannot do: no threads, no
loadable extensions, no system(), no WAL (it needs shared memory). Both builds use the same
options, so the native one is the same program. shim.c supplies chmod for WASI.
"""
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
BUILD = HERE.parent / "build" / "real"
SHIM = HERE / "shim.c"

SDIST_NAME = "sqlean_py-3.50.4.5.tar.gz"
SDIST_URL = ("https://files.pythonhosted.org/packages/ec/61/"
             "5332f923ec20c0b3ae9b3cf05731049bd4d17714dce1dbbc69129264664e/" + SDIST_NAME)
SDIST_SHA256 = "9764b565e7ab430ab6e9e43cb2816199c2b39926dffc93c212a52f0019278459"
SDIST_DIR = "sqlean_py-3.50.4.5/sqlite/"
SOURCES = ("sqlite3.c", "shell.c", "sqlite3.h")
# sqlean appends its extension hook (an #include of its init.h) after this line of the
# amalgamation; the extraction cuts it off, leaving SQLite's own sqlite3.c
AMALGAMATION_END = b"/************************** End of sqlite3.c ******************************/\n"
WASI_SYSROOT = os.environ.get("WASI_SYSROOT", "/usr")

# sqlite.org's shell options (its Makefile's SHELL_OPT) plus FTS5 and the math functions
SHELL_OPTIONS = [
    "-DSQLITE_ENABLE_FTS4", "-DSQLITE_ENABLE_FTS5", "-DSQLITE_ENABLE_RTREE",
    "-DSQLITE_ENABLE_MATH_FUNCTIONS", "-DSQLITE_ENABLE_EXPLAIN_COMMENTS",
    "-DSQLITE_ENABLE_UNKNOWN_SQL_FUNCTION", "-DSQLITE_ENABLE_STMTVTAB",
    "-DSQLITE_ENABLE_DBPAGE_VTAB", "-DSQLITE_ENABLE_DBSTAT_VTAB",
    "-DSQLITE_ENABLE_BYTECODE_VTAB", "-DSQLITE_ENABLE_OFFSET_SQL_FUNC",
]
# what WASI preview 1 lacks (kept for the native build too: the same program)
PORTABLE = ["-DSQLITE_THREADSAFE=0", "-DSQLITE_OMIT_LOAD_EXTENSION", "-DSQLITE_OMIT_WAL",
            "-DSQLITE_NOHAVE_SYSTEM"]
# wasi-libc's emulations of signal(), clock(), getpid() and mmap(), each with its library
WASI_EMULATED = ["signal", "process-clocks", "getpid", "mman"]
WASI_FLAGS = (["--target=wasm32-wasi", f"--sysroot={WASI_SYSROOT}", "-O2", "-w"]
              + [f"-D_WASI_EMULATED_{name.upper().replace('-', '_')}" for name in WASI_EMULATED])
WASI_LIBS = [f"-lwasi-emulated-{name}" for name in WASI_EMULATED] + ["-Wl,--strip-debug"]
NATIVE_CC = os.environ.get("CC", "gcc")
NATIVE_FLAGS = ["-O2", "-w"]
NATIVE_LIBS = ["-lm"]


class Unavailable(RuntimeError):
    """The program cannot be had here (no toolchain, no network); the message says why."""


def toolchain_missing():
    """Why the programs cannot be built here, or None."""
    for tool, package in (("clang", "clang"), ("wasm-ld", "lld"), (NATIVE_CC, "gcc")):
        if not shutil.which(tool):
            return f"{tool} is not installed (package {package})"
    libdir = pathlib.Path(WASI_SYSROOT, "lib", "wasm32-wasi")
    if not (libdir / "libc.a").exists():
        return "wasi-libc is not installed (package wasi-libc)"
    for name in WASI_EMULATED:
        if not (libdir / f"libwasi-emulated-{name}.a").exists():
            return f"wasi-libc lacks libwasi-emulated-{name}.a"
    return None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(tool):
    return subprocess.run([tool, "--version"], capture_output=True, text=True).stdout


def _key(*parts):
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def sdist():
    """The path of the sqlean-py sdist under bench/build/real/ (downloaded once, verified)."""
    target = BUILD / SDIST_NAME
    if target.exists() and _sha256(target) == SDIST_SHA256:
        return target
    BUILD.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    local = os.environ.get("WASABI_SQLITE_SDIST")
    try:
        if local:
            shutil.copyfile(local, partial)
        else:
            with urllib.request.urlopen(SDIST_URL, timeout=60) as response, \
                    open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
    except OSError as exc:
        where = local or SDIST_URL
        raise Unavailable(f"cannot get the SQLite sources ({where}): {exc}; set "
                          "WASABI_SQLITE_SDIST to a copy of " + SDIST_NAME) from None
    if _sha256(partial) != SDIST_SHA256:
        partial.unlink()
        raise Unavailable(f"{SDIST_NAME} does not have the pinned sha256 {SDIST_SHA256}")
    partial.replace(target)
    return target


def sources():
    """The directory holding sqlite3.c, shell.c and sqlite3.h."""
    out = BUILD / f"src-{SDIST_SHA256[:12]}"
    if all((out / name).exists() for name in SOURCES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist()) as tar:
        for name in SOURCES:
            text = tar.extractfile(SDIST_DIR + name).read()
            if name == "sqlite3.c":
                text = text[:text.index(AMALGAMATION_END) + len(AMALGAMATION_END)]
            (out / (name + ".part")).write_bytes(text)
            (out / (name + ".part")).replace(out / name)
    return out


def _compile_all(compiler, flags, units):
    """Each (source, object) compiled, two at a time; RuntimeError on failure."""
    running = []
    for source, obj in units:
        running.append(subprocess.Popen([compiler, *flags, "-c", str(source), "-o", str(obj)],
                                        stderr=subprocess.PIPE, text=True))
        if len(running) >= 2:
            _wait(running.pop(0))
    for process in running:
        _wait(process)


def _wait(process):
    _, err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"{' '.join(process.args[:1])} failed:\n{err[-3000:]}")


def _build(kind, compiler, flags, extra_sources, libs, output_name):
    src = sources()
    units = [src / "shell.c", src / "sqlite3.c", *extra_sources]
    key = _key(SDIST_SHA256, flags, libs, [p.read_bytes() for p in extra_sources],
               _version(compiler))
    output = BUILD / output_name.format(key=key)
    if output.exists():
        return output
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)    # two runs at once build it once
        if output.exists():
            return output
        workdir = BUILD / f"{kind}-{key}"
        workdir.mkdir(exist_ok=True)
        objects = [workdir / (source.stem + ".o") for source in units]
        _compile_all(compiler, flags, zip(units, objects))
        partial = output.with_name(output.name + ".part")
        _wait(subprocess.Popen([compiler, *flags, "-o", str(partial), *map(str, objects), *libs],
                               stderr=subprocess.PIPE, text=True))
        partial.replace(output)
    return output


def build_wasm():
    """bench/build/real/sqlite3-<key>.wasm, built if needed (Unavailable without a toolchain)."""
    missing = toolchain_missing()
    if missing:
        raise Unavailable(missing)
    return _build("wasm", "clang", WASI_FLAGS + SHELL_OPTIONS + PORTABLE, [SHIM], WASI_LIBS,
                  "sqlite3-{key}.wasm")


def build_native():
    """bench/build/real/sqlite3-native-<key>: the same shell, gcc -O2."""
    missing = toolchain_missing()
    if missing:
        raise Unavailable(missing)
    return _build("native", NATIVE_CC, NATIVE_FLAGS + SHELL_OPTIONS + PORTABLE, [], NATIVE_LIBS,
                  "sqlite3-native-{key}")


def build_or_skip():
    """(wasm path, native path), or the calling test skips saying why they cannot be had."""
    try:
        return build_wasm(), build_native()
    except Unavailable as exc:
        import pytest
        pytest.skip(str(exc))


if __name__ == "__main__":
    try:
        wasm, native = build_wasm(), build_native()
    except Unavailable as exc:
        sys.exit(f"cannot build: {exc}")
    print(f"{wasm} ({wasm.stat().st_size} bytes)\n{native}")
