"""The committed WASI test programs (tests/wasi_programs/*.wasm) match their C sources.

The tests run the committed .wasm, so that a clone needs no C toolchain; BUILT records the
source each was built from. `python tests/wasi_programs/wasi_build.py` rebuilds them.
"""
import shutil

import pytest

from wasi_programs import wasi_build


@pytest.mark.parametrize("name", wasi_build.names())
def test_wasi_program_is_built_from_its_source(name):
    assert (wasi_build.HERE / f"{name}.wasm").exists(), f"run {wasi_build.REBUILD} {name}"
    assert wasi_build.is_current(name), \
        f"tests/wasi_programs/{name}.wasm is older than {name}.c: run {wasi_build.REBUILD} {name}"


def test_rebuilding_gives_the_committed_bytes(tmp_path):
    """Toolchain test (needs clang + wasi-libc): the build is reproducible, so the committed
    bytes are what the script makes from the sources."""
    missing = wasi_build.toolchain_missing()
    if missing:
        pytest.skip(f"{missing}: this test checks the C toolchain's output")
    for name in wasi_build.names():
        output = tmp_path / f"{name}.wasm"
        wasi_build.compile_c(wasi_build.HERE / f"{name}.c", output)
        if output.read_bytes() != (wasi_build.HERE / f"{name}.wasm").read_bytes():
            version = wasi_build._clang_version().splitlines()[0]
            pytest.skip(f"{name}: {version} builds other bytes than the committed ones' "
                        "compiler (not an error; the committed programs stay valid)")


def test_programs_need_no_toolchain(monkeypatch):
    """Without clang on PATH the committed programs are still found."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert wasi_build.toolchain_missing()
    for name in wasi_build.names():
        assert wasi_build.build(name) == wasi_build.HERE / f"{name}.wasm"
