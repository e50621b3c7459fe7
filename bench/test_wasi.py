"""WASI call cost: a program making 1,000,000 small fd_writes (16 bytes each, one
write() each) to a file in a preopened directory, under wasabi and wasmtime in
the same run, with the same C compiled natively as the floor.

    python -m pytest bench/test_wasi.py --benchmark-only

The program is tests/wasi_programs/bench_write.c (clang + wasi-libc). Each
round instantiates and runs _start; compilation is outside the timing. Goal:
wasabi no slower than wasmtime.
"""
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, SUMMARIES

TESTS = pathlib.Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))

from wasi_programs.wasi_build import HERE as PROGRAMS, build, toolchain_missing  # noqa: E402

WRITES = 1_000_000
EXPECTED_BYTES = 16 * WRITES
RESULTS = {}          # label -> best seconds


def summary():
    if not RESULTS:
        return []
    lines = [f"WASI: {WRITES:,} fd_writes of 16 bytes to a file (best round):"]
    for label, seconds in RESULTS.items():
        lines.append(f"  {label:10s} {seconds:8.3f} s  {seconds / WRITES * 1e9:8.0f} ns/write")
    if "wasabi" in RESULTS:
        lines += [f"  wasabi / {label}: {RESULTS['wasabi'] / s:.2f}x the time"
                  for label, s in RESULTS.items() if label != "wasabi"]
    return lines


SUMMARIES.append(summary)


@pytest.fixture(scope="module")
def bench_wasm():
    missing = toolchain_missing()
    if missing:
        pytest.skip(missing)
    return build("bench_write").read_bytes()


def _record(label, benchmark, out_file):
    assert out_file.stat().st_size == EXPECTED_BYTES
    RESULTS[label] = benchmark.stats.stats.min
    benchmark.extra_info["ns_per_write"] = round(RESULTS[label] / WRITES * 1e9, 1)


def test_wasabi_fd_write(benchmark, bench_wasm, tmp_path):
    from wasabi.wasi import WasiConfig, compile_wasm, run
    compiled = compile_wasm(bench_wasm, tier="O2")
    config = WasiConfig(argv=["bench_write", str(WRITES)], preopens=[(str(tmp_path), ".")])

    def once():
        assert run(compiled, config).exit_code == 0

    benchmark.group = "wasi fd_write"
    benchmark.pedantic(once, rounds=3, iterations=1)
    _record("wasabi", benchmark, tmp_path / "out.bin")


def test_wasmtime_fd_write(benchmark, bench_wasm, tmp_path):
    wasmtime = pytest.importorskip("wasmtime")
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, bench_wasm)

    def once():
        store = wasmtime.Store(engine)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        config = wasmtime.WasiConfig()
        config.argv = ["bench_write", str(WRITES)]
        config.preopen_dir(str(tmp_path), ".")
        store.set_wasi(config)
        linker.instantiate(store, module).exports(store)["_start"](store)

    benchmark.group = "wasi fd_write"
    benchmark.pedantic(once, rounds=1, iterations=1)     # ~30 s a round on 2 cores
    _record("wasmtime", benchmark, tmp_path / "out.bin")


def test_native_fd_write(benchmark, tmp_path):
    if not shutil.which("clang"):
        pytest.skip("clang is not installed")
    BUILD.mkdir(exist_ok=True)
    exe = BUILD / "bench_write_native"
    subprocess.run(["clang", "-O2", "-o", str(exe), str(PROGRAMS / "bench_write.c")], check=True)

    def once():
        subprocess.run([str(exe), str(WRITES)], cwd=tmp_path, check=True)

    benchmark.group = "wasi fd_write"
    benchmark.pedantic(once, rounds=3, iterations=1)
    _record("native", benchmark, tmp_path / "out.bin")
