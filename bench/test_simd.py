"""SIMD kernels (bench/kernels/simd.c) under wasabi, the wasmtime package and native C, in one run.

    python bench/test_simd.py            # prints the table of times and ratios
    python -m pytest bench/test_simd.py  # the same, as a test (checksums must agree)

The C source uses GCC vector extensions: clang --target=wasm32 -O2 -msimd128 turns them
into wasm simd128 instructions, gcc -O2 into SSE2, so every engine runs the same vector
algorithm. The reference ("native") is gcc -O2 for the baseline x86-64 (SSE2), as a
distributed binary would be built. "clang host" (clang -O2 -march=native, the compiler
that made the wasm, for the host CPU) is shown beside it for scale: wasabi and wasmtime
also compile for the host CPU (pmovzx, pmaddwd, AVX encodings...).
wasabi runs at its default tier (T1) and at O2. The rounds go round-robin over the
engines (a load spike on the shared machine then hits all of them alike); each time is
the best round after a warm-up, and every engine's checksum must equal the native one.
"""
import ctypes
import os
import pathlib
import shutil
import subprocess
import sys
import time

BENCH = pathlib.Path(__file__).resolve().parent
SOURCE = BENCH / "kernels" / "simd.c"
BUILD = BENCH / "build"

# kernel -> repeat count: tens of milliseconds natively on a 2-core VM
KERNELS = {"k_dot_f32": 60000, "k_dot_i16": 5000, "k_blur": 100}
WASABI_TIERS = ("T1", "O2")
ROUNDS = 5

# no FMA contraction anywhere: the float checksums must be bit-identical
WASM_FLAGS = ["--target=wasm32", "-O2", "-msimd128", "-nostdlib", "-mbulk-memory",
              "-ffp-contract=off", "-fvisibility=hidden", "-Wl,--no-entry", "-Wl,--export-dynamic"]
NATIVE_FLAGS = ["-O2", "-ffp-contract=off", "-shared", "-fPIC"]
# engine -> (compiler, library, extra flags)
NATIVE_BUILDS = {"native": (os.environ.get("CC", "gcc"), "libsimd.so", []),
                 "clang host": ("clang", "libsimd_clang_host.so", ["-march=native"])}


def _stale(target):
    return not target.exists() or target.stat().st_mtime < SOURCE.stat().st_mtime


def build_wasm():
    out = BUILD / "simd.wasm"
    if _stale(out):
        if not shutil.which("clang") or not shutil.which("wasm-ld"):
            raise RuntimeError("clang and lld are needed: apt-get install clang lld")
        BUILD.mkdir(exist_ok=True)
        subprocess.run(["clang", *WASM_FLAGS, "-o", str(out), str(SOURCE)], check=True)
    return out.read_bytes()


def build_native(variant="native"):
    compiler, filename, extra = NATIVE_BUILDS[variant]
    out = BUILD / filename
    if _stale(out):
        BUILD.mkdir(exist_ok=True)
        subprocess.run([compiler, *NATIVE_FLAGS, *extra, "-o", str(out), str(SOURCE)], check=True)
    return out


# -- engines: name -> {kernel: callable(reps) -> checksum} -----------------------------

def native_engine(variant):
    lib = ctypes.CDLL(str(build_native(variant)))
    out = {}
    for name in KERNELS:
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int64
        fn.argtypes = [ctypes.c_int32]
        out[name] = fn
    return out


def wasabi_engine(wasm, tier):
    import wasabi
    from wasabi.compiler import compile_module
    from wasabi.options import Options
    from wasabi.runtime import instantiate
    desc = wasabi.parse(wasm)
    instance = instantiate(desc, compile_module(desc, Options(tier=tier)), {})
    return {name: instance.exports[name] for name in KERNELS}


def wasmtime_engine(wasm):
    import wasmtime
    store = wasmtime.Store()
    exports = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm), []).exports(store)
    return {name: (lambda f: lambda reps: f(store, reps))(exports[name]) for name in KERNELS}


def all_engines():
    wasm = build_wasm()
    engines = {variant: native_engine(variant) for variant in NATIVE_BUILDS}
    for tier in WASABI_TIERS:
        engines[f"wasabi {tier}"] = wasabi_engine(wasm, tier)
    engines["wasmtime"] = wasmtime_engine(wasm)
    return engines


def measure_kernel(engines, kernel):
    """{engine: (best seconds, checksum)}: a warm-up call each, then ROUNDS rounds in
    which every engine runs once."""
    reps = KERNELS[kernel]
    checksums = {engine: fns[kernel](reps) for engine, fns in engines.items()}
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(ROUNDS):
        for engine, fns in engines.items():
            start = time.perf_counter()
            again = fns[kernel](reps)
            best[engine] = min(best[engine], time.perf_counter() - start)
            if again != checksums[engine]:
                raise AssertionError(f"{engine} {kernel}: checksum changed between rounds")
    return {engine: (best[engine], checksums[engine]) for engine in engines}


def measure(engines):
    """{kernel: {engine: (seconds, checksum)}}."""
    return {kernel: measure_kernel(engines, kernel) for kernel in KERNELS}


def table(results):
    engines = list(next(iter(results.values())))
    others = [e for e in engines if e != "native"]
    header = f"{'kernel':10s} {'native ms':>10s}" + "".join(f" {e + '/native':>18s}" for e in others)
    lines = [header + f" {'wasmtime/wasabi T1':>19s}"]
    for kernel, row in results.items():
        native = row["native"][0]
        line = f"{kernel:10s} {native * 1e3:10.2f}"
        line += "".join(f" {row[e][0] / native:18.2f}" for e in others)
        line += f" {row['wasmtime'][0] / row['wasabi T1'][0]:19.2f}"
        lines.append(line)
    return "\n".join(lines)


def check_checksums(results):
    for kernel, row in results.items():
        expected = row["native"][1]
        for engine, (_, checksum) in row.items():
            assert checksum == expected, f"{engine} {kernel}: {checksum}, native gives {expected}"


def test_simd_kernels(capsys):
    results = measure(all_engines())
    check_checksums(results)
    with capsys.disabled():      # the table is the point of the run: show it even under -q
        print("\nsimd kernels: time ratios (best of rounds, same run)")
        print(table(results))


def main():
    results = measure(all_engines())
    check_checksums(results)
    print(table(results))


if __name__ == "__main__":
    sys.exit(main())
