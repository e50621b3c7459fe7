"""The tests under AddressSanitizer and UndefinedBehaviorSanitizer (issue 12).

Builds wasabi._ext with WASABI_SANITIZE=address,undefined in a directory of its own and runs
tests/sanitize.py's SUITES there (the default suite, the WASI adversarial suite and the thread
stress suite, the full spec suite): any failure or any sanitizer report fails this test.
About 15 minutes on 2 cores (see the measurements at SUITES).
"""
import pytest

import sanitize


@pytest.fixture(scope="module")
def sanitized_tree(tmp_path_factory):
    try:
        sanitize.asan_runtime()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    dest = tmp_path_factory.mktemp("sanitized")
    sanitize.build(dest)
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("suite", sanitize.existing_suites())
def test_under_sanitizers(sanitized_tree, suite, tmp_path):
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    sanitize.check_instrumented(sanitized_tree, sanitize.sanitized_env(sanitized_tree, log_dir))
    status, output = sanitize.run_pytest(sanitized_tree, sanitize.SUITES[suite], log_dir)
    found = sanitize.reports(log_dir)
    # pytest runs with -v: its last lines name the test that was running when a report
    # stopped the process
    assert not found, ("sanitizer reports:\n" + "\n".join(f"== {name}\n{text[:8000]}"
                                                          for name, text in found)
                       + "\n== the end of pytest's output:\n" + output[-1500:])
    assert status == 0, output[-6000:]


def test_the_copied_tree_collects(tmp_path):
    """What the sanitized run sees: every test module of the copied tree imports (session 6's
    CI failed because tests/test_real_program.py imports bench/real, which was not copied).
    Collected with the unsanitized extension, which is enough to import everything."""
    import glob
    import shutil
    import subprocess
    import sys
    sanitize.copy_tree(tmp_path)
    for ext in glob.glob(str(sanitize.ROOT / "wasabi" / "_ext*.so")):
        shutil.copy2(ext, tmp_path / "wasabi")
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "--run-slow",
                           "-p", "no:cacheprovider", "tests"], cwd=tmp_path, capture_output=True,
                          text=True, env={**sanitize.os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


BAD_C = """
#include <limits.h>
#include <stdlib.h>
int overflow(int c) { int x = INT_MAX; x += c; return x; }
int use_after_free(int c) { int* p = malloc(8 * sizeof *p); free(p); return p[c]; }
"""


@pytest.mark.slow
@pytest.mark.parametrize("call, kind", [("overflow(1)", "ubsan"), ("use_after_free(2)", "asan")])
def test_a_report_from_a_child_process_is_found(tmp_path, call, kind):
    """The harness's own check: a finding in any process of the run lands in the log
    directory (a library built with the same flags stands in for a bug in wasabi._ext)."""
    import subprocess
    import sys
    try:
        sanitize.asan_runtime()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    (tmp_path / "bad.c").write_text(BAD_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=undefined", "-o", str(tmp_path / "bad.so"),
                    str(tmp_path / "bad.c")], check=True)
    sanitize.copy_tree(tmp_path / "tree")
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    env = sanitize.sanitized_env(tmp_path / "tree", log_dir)
    done = subprocess.run([sys.executable, "-c", f"import ctypes; ctypes.CDLL("
                           f"{str(tmp_path / 'bad.so')!r}).{call}"], env=env,
                          capture_output=True, cwd=tmp_path)
    assert done.returncode != 0
    found = sanitize.reports(log_dir)
    assert [name.split(".")[0] for name, _ in found] == [kind], (found, done.stderr[-3000:])
