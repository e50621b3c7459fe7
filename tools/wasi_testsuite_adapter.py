"""Runtime adapter for the official WASI test suite's runner (WebAssembly/wasi-testsuite).

    git clone -b prod/testsuite-base https://github.com/WebAssembly/wasi-testsuite
    cd wasi-testsuite && python3.12 -m pip install -r test-runner/requirements.txt
    WASABI_PYTHON=python3.11 ./run-tests -r /path/to/wasabi/tools/wasi_testsuite_adapter.py

The runner (Python >= 3.12) loads this file as a module and runs each test as
`$WASABI_PYTHON -m wasabi run ...` in a subprocess. WASABI_PYTHON defaults to `python`;
set it to the interpreter that has wasabi installed when the runner runs under another one.
Only preview 1 command programs (wasm32-wasip1, wasi:cli/command) are supported.
"""
import os
import shlex
import subprocess

PYTHON = shlex.split(os.getenv("WASABI_PYTHON", "python"))


def get_name():
    return "wasabi"


def get_version():
    result = subprocess.run(PYTHON + ["-c", "import wasabi; print(wasabi.__version__)"],
                            encoding="utf-8", capture_output=True, check=True)
    return result.stdout.strip()


def get_wasi_versions():
    return ["wasm32-wasip1"]


def get_wasi_worlds():
    return ["wasi:cli/command"]


def get_timeout_seconds():
    # The first run of a program compiles it (the code cache serves later runs).
    return float(os.getenv("WASABI_TEST_TIMEOUT", "60"))


def compute_argv(test_path, args_env_root, proposals, wasi_world, wasi_version):
    args, env, root = args_env_root
    argv = PYTHON + ["-m", "wasabi", "run"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    if root:
        argv += ["--dir", f"{root}::/"]
    return argv + [str(test_path)] + list(args)
