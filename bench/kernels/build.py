"""Build kernels.c to wasm32 (clang -O2) and to a native shared library (gcc -O2), cached.

The build goes to bench/build/ (gitignored) and is redone when the source is newer.
Needs Debian's clang and lld (the wasm32 target); gcc for the native build.
"""
import ctypes
import os
import pathlib
import shutil
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
BUILD = HERE.parent / "build"
SOURCE = HERE / "kernels.c"

# (kernel, argument): sized so that each run takes tens of milliseconds natively
KERNELS = {
    "k_fib": 30,
    "k_sieve": 4_000_000,
    "k_mandel": 300,
    "k_nbody": 1000,
    "k_stream": 4,
    "k_hash": 10,
    "k_sort": 500_000,
    "k_interp": 1_000_000,
    "k_matmul": 10,
    "k_strsearch": 10,
    "k_hashtable": 2_000_000,
    "k_compress": 20,
}


def _stale(target):
    return not target.exists() or target.stat().st_mtime < SOURCE.stat().st_mtime


def build_wasm():
    out = BUILD / "kernels.wasm"
    if _stale(out):
        if not shutil.which("clang") or not shutil.which("wasm-ld"):
            raise RuntimeError("clang and lld are needed: apt-get install clang lld")
        BUILD.mkdir(exist_ok=True)
        # bulk memory turns the memset of the static arrays into memory.fill (no libc)
        subprocess.run(["clang", "--target=wasm32", "-O2", "-mbulk-memory", "-nostdlib",
                        "-fvisibility=hidden", "-Wl,--no-entry", "-Wl,--export-dynamic",
                        "-o", str(out), str(SOURCE)], check=True)
    return out


def build_native():
    out = BUILD / "libkernels.so"
    if _stale(out):
        BUILD.mkdir(exist_ok=True)
        subprocess.run([os.environ.get("CC", "gcc"), "-O2", "-shared", "-fPIC",
                        "-o", str(out), str(SOURCE)], check=True)
    return out


def load_native():
    """The native library, each kernel typed int64 k(int32)."""
    lib = ctypes.CDLL(str(build_native()))
    for name in KERNELS:
        getattr(lib, name).restype = ctypes.c_int64
        getattr(lib, name).argtypes = [ctypes.c_int32]
    return lib
