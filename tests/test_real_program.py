"""A real program (issues 15 and 16): the SQLite 3.50.4 shell, built to WASI by
bench/real/build.py, prints the same transcript (stdout, stderr, exit status) under
`wasabi run`, as a `wasabi compile --exe` executable and under wasmtime; stdout is also
the natively built shell's.

Slow: building the shell takes minutes the first time (it is cached in bench/build/real/),
then the test takes about half a minute (T0 keeps wasabi's compiles short). Skips, saying
why, without clang + wasi-libc + gcc, without a C compiler for --exe, without network
(or WASABI_SQLITE_SDIST) for the sources, or without wasmtime.
"""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from real.build import build_or_skip  # noqa: E402
from real.workload import small  # noqa: E402

pytestmark = pytest.mark.slow


def _run(cmd, stdin, env=None):
    done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=600, env=env)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    pytest.importorskip("wasmtime")
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) to link the --exe executable")
    wasm, native = build_or_skip()
    script = small().encode()
    return wasm, native, script


def test_sqlite_shell_transcripts_agree(shell, tmp_path):
    wasm, native, script = shell
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WASABI_CACHE_DIR": str(tmp_path / "cache")}
    exe = tmp_path / "sqlite3-exe"
    built = subprocess.run([sys.executable, "-m", "wasabi", "compile", str(wasm), "--exe",
                            "--tier", "T0", "-o", str(exe)], capture_output=True, text=True,
                           env=env, timeout=600)
    assert built.returncode == 0, built.stderr

    ran = _run([sys.executable, "-m", "wasabi", "run", "--tier", "T0", "--no-cache", str(wasm)],
               script, env)
    executable = _run([str(exe)], script)
    wasmtime = _run([sys.executable, str(ROOT / "bench" / "real" / "wasmtime_run.py"),
                     str(wasm)], script)
    native = _run([str(native)], script)

    status, out, err = wasmtime
    assert status == 1 and b"no such function: no_such_function" in err   # the failing line
    assert out.startswith(b"sqlite workload\n") and out.endswith(b"end\n")
    assert ran == wasmtime
    assert executable == wasmtime
    # natively the shell finds a home directory (getpwuid) and warns of nothing: stdout only
    assert native[:2] == wasmtime[:2]
