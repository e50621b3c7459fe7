"""Builds the WASI test programs (the .c files here) with clang + wasi-libc.

    clang --target=wasm32-wasi --sysroot=/usr -O2 -o x.wasm x.c

needs Debian's packages clang, lld, wasi-libc and libclang-rt-14-dev-wasm32.
The .wasm files are cached in tests/build/wasi/ under a key of the source and
the compiler version; without the toolchain, `program` skips the test.
"""
import fcntl
import hashlib
import os
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
BUILD = HERE.parent / "build" / "wasi"
SYSROOT = os.environ.get("WASI_SYSROOT", "/usr")
CFLAGS = ["--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-O2", "-Wall", "-Wl,--strip-debug"]

_versions = {}


def toolchain_missing():
    """Why the programs cannot be built here, or None."""
    if not shutil.which("clang") or not shutil.which("wasm-ld"):
        return "clang and wasm-ld (packages clang, lld) are not installed"
    if not pathlib.Path(SYSROOT, "lib", "wasm32-wasi", "libc.a").exists():
        return "wasi-libc (package wasi-libc) is not installed"
    return None


def _clang_version():
    if "clang" not in _versions:
        _versions["clang"] = subprocess.run(["clang", "--version"], capture_output=True,
                                            text=True).stdout
    return _versions["clang"]


def build(name):
    """The path of tests/wasi_programs/<name>.c built to wasm (RuntimeError on failure)."""
    source = HERE / f"{name}.c"
    digest = hashlib.sha256(source.read_bytes() + _clang_version().encode()
                            + " ".join(CFLAGS).encode()).hexdigest()[:16]
    output = BUILD / f"{name}-{digest}.wasm"
    if output.exists():
        return output
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)     # parallel test runs build each program once
        if not output.exists():
            partial = output.with_suffix(".tmp")
            done = subprocess.run(["clang", *CFLAGS, "-o", str(partial), str(source)],
                                  capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"building {source.name} failed:\n{done.stderr[-3000:]}")
            partial.replace(output)
    return output


def program(name):
    """The wasm bytes of program `name`; skips the calling test without a toolchain."""
    missing = toolchain_missing()
    if missing:
        import pytest
        pytest.skip(missing)
    return build(name).read_bytes()


_compiled = {}


def compiled(name, mode="eager", tier="T0"):
    """Program `name` compiled by wasabi (cached per process: a libc program takes
    seconds at T1; T0 keeps the suite quick and behaves the same)."""
    key = (name, mode, tier)
    if key not in _compiled:
        from wasabi.wasi import compile_wasm
        _compiled[key] = compile_wasm(program(name), mode=mode, tier=tier)
    return _compiled[key]
