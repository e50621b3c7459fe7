"""Scalar loops that native code vectorises (issue 15's target: within 1.2x of
`clang -O2 -march=native` on the same C), same run:

    python -m pytest bench/test_vectorisable.py --benchmark-only

bench/kernels/matmul.c's i32 and f64 matrix multiplies, built to wasm32 without SIMD
by clang -O2 (the loops stay scalar) and natively by gcc -O2 and by clang -O2
-march=native (which vectorises them with the host's widest vectors). The wasm runs
under wasabi EAGER O2, wasabi PGO after its tier-up, and the wasmtime package. Every
engine's checksum must equal native's before its time counts. At the end: time /
clang -march=native per kernel and engine.
"""
import ctypes
import shutil
import subprocess
import time

import pytest

from conftest import BUILD, SUMMARIES

SOURCE = BUILD.parent / "kernels" / "matmul.c"
KERNELS = {"mm_i32": 12, "mm_f64": 12}
ENGINES = ("clang-march-native", "gcc-O2", "wasabi-O2", "wasabi-pgo", "wasmtime")
ROUNDS = 5
TIMES = {}


def _built(name, command):
    out = BUILD / name
    if not out.exists() or out.stat().st_mtime < SOURCE.stat().st_mtime:
        BUILD.mkdir(exist_ok=True)
        subprocess.run([*command, "-o", str(out), str(SOURCE)], check=True)
    return out


def _native(name, command):
    lib = ctypes.CDLL(str(_built(name, [*command, "-shared", "-fPIC"])))
    for kernel in KERNELS:
        getattr(lib, kernel).restype = ctypes.c_int64
        getattr(lib, kernel).argtypes = [ctypes.c_int32]
    return lib


@pytest.fixture(scope="module")
def builds():
    if not (shutil.which("clang") and shutil.which("wasm-ld") and shutil.which("gcc")):
        pytest.skip("clang, lld and gcc are needed: apt-get install clang lld gcc")
    # bulk memory: the zeroing loops become memory.fill (no libc), as in bench/kernels
    wasm = _built("matmul.wasm", ["clang", "--target=wasm32", "-O2", "-nostdlib",
                                  "-mbulk-memory", "-fvisibility=hidden", "-Wl,--no-entry",
                                  "-Wl,--export-dynamic"]).read_bytes()
    return {"wasm": wasm,
            "gcc-O2": _native("libmatmul-gcc.so", ["gcc", "-O2"]),
            "clang-march-native": _native("libmatmul-clang-native.so",
                                          ["clang", "-O2", "-march=native"])}


def _runner(engine, kernel, builds):
    if engine in ("gcc-O2", "clang-march-native"):
        return getattr(builds[engine], kernel)
    if engine == "wasmtime":
        wasmtime = pytest.importorskip("wasmtime")
        store = wasmtime.Store()
        instance = wasmtime.Instance(store, wasmtime.Module(store.engine, builds["wasm"]), [])
        function = instance.exports(store)[kernel]
        return lambda arg: function(store, arg)
    import wasabi
    if engine == "wasabi-O2":
        module = wasabi.compile(builds["wasm"], wasabi.Options(tier="O2"))
        return getattr(wasabi.instantiate(module).exports, kernel)
    module = wasabi.compile(builds["wasm"], wasabi.Options(mode="pgo"))
    run = getattr(wasabi.instantiate(module).exports, kernel)
    index = module.desc.export(kernel).index
    deadline = time.monotonic() + 60
    while index not in module._code._optimized and time.monotonic() < deadline:
        run(1)                          # until the tier-up thread swapped it
        time.sleep(0.01)
    return run


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_vectorisable_loop(benchmark, builds, kernel, engine):
    arg = KERNELS[kernel]
    run = _runner(engine, kernel, builds)
    benchmark.group = f"vectorisable {kernel}"
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(run, args=(arg,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result == builds["gcc-O2"][kernel](arg), engine
    TIMES[kernel, engine] = benchmark.stats.stats.min


def lines():
    if not TIMES:
        return []
    out = ["scalar loops native code vectorises: time / clang -O2 -march=native "
           "(target for wasabi: <= 1.2)",
           "  " + f"{'kernel':8s}" + "".join(f"{e:>20s}" for e in ENGINES[1:])]
    for kernel in sorted({k for k, _ in TIMES}):
        reference = TIMES.get((kernel, "clang-march-native"))
        row = f"  {kernel:8s}"
        for engine in ENGINES[1:]:
            t = TIMES.get((kernel, engine))
            row += f"{t / reference:20.2f}" if t and reference else " " * 19 + "-"
        out.append(row)
    return out


SUMMARIES.append(lines)
