"""Compute kernels under wasabi, the wasmtime package and native C, in the same run.

    python -m pytest bench/kernels --benchmark-only

Each kernel's checksum must agree across the three engines before its time counts.
The ratios (and their geometric mean) are printed at the end of the run.
"""

import pytest

from .build import KERNELS, build_wasm, load_native
from .conftest import record

ENGINES = ("native", "wasabi", "wasmtime")


@pytest.fixture(scope="module")
def native_lib():
    return load_native()


@pytest.fixture(scope="module")
def wasm_bytes():
    return build_wasm().read_bytes()


@pytest.fixture(scope="module")
def wasabi_exports(wasm_bytes):
    import wasabi
    module = wasabi.compile(wasm_bytes)
    return wasabi.instantiate(module, {}).exports


@pytest.fixture(scope="module")
def wasmtime_call(wasm_bytes):
    import wasmtime
    store = wasmtime.Store()
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, wasm_bytes), [])
    exports = instance.exports(store)
    return lambda name, arg: exports[name](store, arg)


def _runner(engine, name, request):
    if engine == "native":
        return getattr(request.getfixturevalue("native_lib"), name)
    if engine == "wasabi":
        return getattr(request.getfixturevalue("wasabi_exports"), name)
    call = request.getfixturevalue("wasmtime_call")
    return lambda arg: call(name, arg)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_kernel(benchmark, request, kernel, engine, native_lib):
    arg = KERNELS[kernel]
    run = _runner(engine, kernel, request)
    expected = getattr(native_lib, kernel)(arg)
    benchmark.group = kernel
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(run, args=(arg,), rounds=5, iterations=1, warmup_rounds=1)
    assert result == expected, f"{engine} {kernel}({arg}) = {result}, native gives {expected}"
    record(kernel, engine, benchmark)
