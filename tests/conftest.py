import atexit
import os
import pathlib
import shutil
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# the spec suite's .wast scripts (tests/spec/README.md); WASABI_SPEC_DIR=<dir> reads <dir>/wast
SPEC_DIR = pathlib.Path(os.environ.get("WASABI_SPEC_DIR", ROOT / "tests" / "spec"))

# the CLI's code cache (wasabi/compiler/cache.py) goes to a directory of this run,
# not the user's ~/.cache: tests start from an empty cache and leave nothing behind
_CACHE = tempfile.mkdtemp(prefix="wasabi-test-cache-")
os.environ["WASABI_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)
# LLVM's verifier checks the IR of every tier here, T0's too (compiler/jit.verifies)
os.environ["WASABI_VERIFY_IR"] = "1"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the suites marked slow (CI does)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
