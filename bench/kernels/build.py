"""Build kernels.c to wasm32 (clang -O2) and to native shared libraries (gcc -O2; clang -O2
with and without its own PGO, for bench/pgo_weights.py), cached.

The build goes to bench/build/ (gitignored) and is redone when the source is newer.
Needs Debian's clang and lld (the wasm32 target); gcc for the native build.
"""
import ctypes
import os
import pathlib
import shutil
import subprocess
import sys

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


def load_native(path=None):
    """The native library (gcc -O2 unless `path` names another build of kernels.c), each
    kernel typed int64 k(int32)."""
    lib = ctypes.CDLL(str(path or build_native()))
    for name in KERNELS:
        getattr(lib, name).restype = ctypes.c_int64
        getattr(lib, name).argtypes = [ctypes.c_int32]
    return lib


def build_clang(padding=0, profile=None, instrument=False):
    """kernels.c as a native library by clang -O2, its code moved by `padding` bytes (as
    module_ir.CODE_PADDING moves ours); with `profile` (a .profdata) clang's own PGO uses
    it; `instrument` builds the library that counts (-fprofile-instr-generate)."""
    kind = "instrumented" if instrument else "pgo" if profile else "O2"
    out = BUILD / f"libkernels-clang-{kind}-{padding}.so"
    if _stale(out) or (profile and out.stat().st_mtime < pathlib.Path(profile).stat().st_mtime):
        BUILD.mkdir(exist_ok=True)
        pad = BUILD / f"padding-{padding}.h"
        pad.write_text(f'__asm__(".text\\n.p2align 6\\n.skip {padding}\\n");\n')
        flags = (["-fprofile-instr-generate"] if instrument else
                 [f"-fprofile-instr-use={profile}", "-Wno-profile-instr-out-of-date",
                  "-Wno-profile-instr-unprofiled"] if profile else [])
        subprocess.run(["clang", "-O2", "-shared", "-fPIC", "-include", str(pad), *flags,
                        "-o", str(out), str(SOURCE)], check=True)
    return out


def clang_profile(kernels):
    """clang's own profile of `kernels` (each run once with its argument by the
    instrumented library, in a process of its own: the counts are written at its exit),
    merged by llvm-profdata: the .profdata path. RuntimeError without llvm-profdata."""
    tool = shutil.which("llvm-profdata") or shutil.which("llvm-profdata-14")
    if not tool:
        raise RuntimeError("llvm-profdata not found: apt-get install llvm")
    lib = build_clang(instrument=True)
    raw, out = BUILD / "kernels.profraw", BUILD / "kernels.profdata"
    calls = "; ".join(f"lib.{k}({KERNELS[k]})" for k in kernels)
    script = f"import ctypes; lib = ctypes.CDLL({str(lib)!r}); {calls}"
    subprocess.run([sys.executable, "-c", script], check=True,
                   env={**os.environ, "LLVM_PROFILE_FILE": str(raw)})
    subprocess.run([tool, "merge", "-o", str(out), str(raw)], check=True)
    return out
