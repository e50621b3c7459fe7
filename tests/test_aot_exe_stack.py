"""An executable's stack bounds (issue 16): the main thread's come from the auxiliary
vector and RLIMIT_STACK (standalone.c main_stack_low), not from glibc's parse of
/proc/self/maps (70 us of a hello-world's start-up); an unlimited stack falls back
to pthread_getattr_np. Either way deep recursion traps "call stack exhausted", with
a small stack or a large environment above it. (An unlimited stack takes glibc's
path, as before: its recursion runs until memory runs out, so it is not run here.)
"""
import os
import pathlib
import resource
import shutil
import subprocess

import pytest

import wasabi
from wasabi import aot

TRAPS = pathlib.Path(__file__).resolve().parent / "aot_traps.wat"
STACK_EXHAUSTION = ["0", "1", "2"]      # aot_traps.wat: three arguments recurse without end
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


@pytest.fixture(scope="module")
def traps_exe(tmp_path_factory):
    path = tmp_path_factory.mktemp("aot-stack") / "traps"
    aot.write_exe(wasabi.wat2wasm(TRAPS.read_text()), path, tier="T1")
    return path


def _run(exe, stack_limit, env_bytes):
    def limit():
        resource.setrlimit(resource.RLIMIT_STACK, (stack_limit, resource.RLIM_INFINITY))
    # (one string may have at most 128 KiB)
    env = dict(os.environ, **{f"FILLER{i}": "x" * 100_000 for i in range(env_bytes // 100_000)})
    return subprocess.run([str(exe), *STACK_EXHAUSTION], capture_output=True, env=env,
                          preexec_fn=limit, timeout=120)


@pytest.mark.parametrize("stack_limit,env_bytes", [
    (8 << 20, 0), (1 << 20, 0), (1 << 20, 200_000), (4 << 20, 900_000)],
    ids=["8MiB", "1MiB", "1MiB-big-env", "4MiB-bigger-env"])
def test_deep_recursion_traps_whatever_the_stack(traps_exe, stack_limit, env_bytes):
    _, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if hard != resource.RLIM_INFINITY and stack_limit > hard:
        pytest.skip("the hard stack limit is lower")
    done = _run(traps_exe, stack_limit, env_bytes)
    assert done.returncode == 134, done.stderr[-500:]
    assert done.stderr.decode().strip().endswith("call stack exhausted")
