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
    assert not found, "sanitizer reports:\n" + "\n".join(f"== {name}\n{text[:8000]}"
                                                         for name, text in found)
    assert status == 0, output[-6000:]
