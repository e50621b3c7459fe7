"""Run tests against wasabi._ext built with ASan + UBSan (WASABI_SANITIZE, see setup.py).

    python tests/sanitize.py [--dir DIR] [--keep] [pytest arguments...]

copies the package and the tests to a directory of its own (never over the in-place build),
builds the extension there with WASABI_SANITIZE=address,undefined, and runs pytest there in a
child process with the ASan runtime preloaded (CPython itself is not built with ASan).
Sanitizer reports go to files in a log directory: any report, from pytest or from any
process it starts, is a failure. Without pytest arguments: SUITES (what CI runs).

Options that fit wasabi:
- wasabi turns SIGSEGV/SIGBUS of compiled code into traps (wasabi/_native/signals.c): ASan
  must leave those signals to it (handle_segv=0, handle_sigbus=0, allow_user_segv_handler=1).
- CPython keeps objects until exit on purpose: no leak check (detect_leaks=0).
- Memories are 8 GiB PROT_NONE reservations made with mmap, which ASan does not track:
  nothing to set, and JIT code is not instrumented (only the C and Cython runtime is).
- allocator_may_return_null=1: a huge malloc fails as with glibc (MemoryError), not as a report.
- UBSan stops at the first finding (-fno-sanitize-recover in setup.py, halt_on_error=1).
  Next to ASan, gcc's libubsan runs as a plugin that ignores log_path and writes to stderr
  (which pytest captures and loses when the process exits): a sitecustomize.py in the
  sanitized tree points it at the log directory in every Python process.
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SANITIZERS = "address,undefined"
ASAN_OPTIONS = ("handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1:detect_leaks=0:"
                "allocator_may_return_null=1")
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1"

# What CI runs under the sanitizers (tests/test_sanitized.py), by name: pytest arguments.
# Measured on the 2 shared cores: build 1-2 min; default suite 68-76 s at load ~3 (3.6 min
# at load ~6; 35 s unsanitized); WASI adversarial suite 8 s; full spec suite in every tier,
# bounds mode and compile mode 8.5 min at load ~6 (1460 tests), 18 min at CI's load.
# Compiled wasm is not instrumented, only the C and Cython runtime, which is the same
# whatever the tier: the spec suite runs at T1 in both bounds modes (guard pages and the
# fault handler; explicit checks) and in every lazy mode (stubs, the code table, swaps),
# not at T0, O2 or compiled in parts (876 of 1606 tests; CI took 82 of its 90 minutes).
SUITES = {
    "default": ["tests"],
    "wasi_adversarial": ["--run-slow", "tests/test_wasi_adversarial.py"],
    "thread_stress": ["--run-slow", "tests/test_thread_stress.py"],
    "spec_full": ["--run-slow", "tests/test_codegen_spec.py",
                  "-k", "(test_spec_full and T1) or test_spec_full_lazy_modes"],
}

# Tests that cannot pass under ASan for reasons of the test, not of wasabi.
DESELECT = {
    # fuzz_worker.py limits RLIMIT_DATA to 2 GiB: ASan cannot map its shadow memory then
    "tests/test_fuzz.py::test_fuzz_short": "RLIMIT_DATA in the worker",
    "tests/test_fuzz.py::test_worker_reports_a_crash_with_its_input": "RLIMIT_DATA in the worker",
    # ASan's quarantine keeps freed memory (256 MiB): resident memory does not stay flat
    "tests/test_runtime_entry.py::test_thousands_of_traps_keep_memory_flat": "ASan quarantine",
}


def asan_runtime():
    """The path of gcc's ASan runtime (to preload); RuntimeError when there is none."""
    done = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True)
    path = done.stdout.strip()
    if done.returncode or not os.path.isabs(path) or not os.path.exists(path):
        raise RuntimeError("gcc's ASan runtime (libasan.so) was not found: install gcc")
    return path


def _prebuild_wasi_programs():
    """Build the WASI test programs whose committed .wasm is out of date with the normal
    environment (clang need not run under the preloaded ASan runtime); they are copied
    with the tests."""
    sys.path.insert(0, str(ROOT / "tests"))
    from wasi_programs.wasi_build import build, names, toolchain_missing
    if toolchain_missing():
        return
    for name in names():
        build(name)


def copy_tree(dest):
    """The package, the tests (with their built programs), the benchmark sources that some
    tests import (bench/real builds the SQLite shell; not bench/build, their outputs) and
    the build files, under dest."""
    ignore = shutil.ignore_patterns("*.so", "*.o", "__pycache__", "_ext.c")
    dest = pathlib.Path(dest)
    for name in ("wasabi", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(ROOT / "bench", dest / "bench", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("build", "__pycache__"))
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    (dest / "sitecustomize.py").write_text(SITECUSTOMIZE)


# imported by every Python process of the sanitized run (the tree is on PYTHONPATH)
SITECUSTOMIZE = """\
# written by tests/sanitize.py: UBSan reports to files (its log_path is ignored next to ASan)
import ctypes
import os

if os.environ.get("WASABI_UBSAN_LOG_PATH"):
    ctypes.CDLL("libubsan.so.1", mode=os.RTLD_GLOBAL).__sanitizer_set_report_path(
        os.environ["WASABI_UBSAN_LOG_PATH"].encode())
"""


def build(dest):
    """Copy the tree to dest and build the sanitized extension there (about a minute)."""
    _prebuild_wasi_programs()
    copy_tree(dest)
    env = {**os.environ, "WASABI_SANITIZE": SANITIZERS}
    done = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                          cwd=dest, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the sanitized build failed:\n{done.stdout[-3000:]}\n"
                           f"{done.stderr[-5000:]}")


def sanitized_env(dest, log_dir):
    env = dict(os.environ)
    env.update(
        LD_PRELOAD=asan_runtime(),
        ASAN_OPTIONS=f"{ASAN_OPTIONS}:log_path={log_dir}/asan",
        UBSAN_OPTIONS=f"{UBSAN_OPTIONS}:log_path={log_dir}/ubsan",
        WASABI_UBSAN_LOG_PATH=f"{log_dir}/ubsan",
        PYTHONPATH=str(dest),
        PYTHONFAULTHANDLER="1",
    )
    return env


def check_instrumented(dest, env):
    """That the child imports the sanitized wasabi._ext of dest (and nothing else)."""
    done = subprocess.run([sys.executable, "-c", "import wasabi._ext as e; print(e.__file__)"],
                          cwd=dest, env=env, capture_output=True, text=True)
    where = done.stdout.strip()
    if done.returncode or not where.startswith(str(dest)):
        raise RuntimeError(f"the sanitized extension is not the one imported: {where!r} "
                           f"{done.stderr[-2000:]}")
    libs = subprocess.run(["ldd", where], capture_output=True, text=True).stdout
    if "libasan" not in libs or "libubsan" not in libs:
        raise RuntimeError(f"{where} is not linked with ASan and UBSan:\n{libs}")


def reports(log_dir):
    """The text of every sanitizer report written so far."""
    return [(path.name, path.read_text(errors="replace"))
            for path in sorted(pathlib.Path(log_dir).glob("*san.*"))]


def run_pytest(dest, args, log_dir, timeout=3600):
    """(pytest's exit status, its output) of `pytest args` in dest under the sanitizers."""
    env = sanitized_env(dest, log_dir)
    deselect = [arg for test in DESELECT for arg in ("--deselect", test)]
    # -v: when a report kills pytest, the last line names the test that was running
    done = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
                           *deselect, *args], cwd=dest, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def existing_suites():
    """The names of the SUITES whose files are in the tree (some are still being written)."""
    return [name for name, args in SUITES.items()
            if all((ROOT / a).exists() for a in args if a.startswith("tests"))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", help="build here (default: a new temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the directory afterwards")
    parser.add_argument("--no-build", action="store_true",
                        help="reuse the sanitized build in --dir (tests copied again)")
    options, pytest_args = parser.parse_known_args(argv)
    dest = pathlib.Path(options.dir or tempfile.mkdtemp(prefix="wasabi-sanitized-")).resolve()
    log_dir = dest / "sanitizer-logs"
    try:
        if options.no_build:
            copy_tree(dest)
        else:
            build(dest)
        shutil.rmtree(log_dir, ignore_errors=True)
        log_dir.mkdir()
        check_instrumented(dest, sanitized_env(dest, log_dir))
        failed = False
        for args in [pytest_args] if pytest_args else [SUITES[n] for n in existing_suites()]:
            status, output = run_pytest(dest, args, log_dir)
            print(f"== pytest {' '.join(args)}: exit {status}\n{output[-3000:]}")
            failed |= status != 0
        for name, text in reports(log_dir):
            print(f"== sanitizer report {name}:\n{text[:20000]}")
            failed = True
        return 1 if failed else 0
    finally:
        if not options.keep and not options.dir:
            shutil.rmtree(dest, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main())
