"""Issue 16: native executables (`wasabi compile --exe`, Module.write_exe) and objects
(`--object`, Module.write_object): the same transcript as `wasabi run`."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import wasabi
from wasabi import aot
from wasabi.errors import CompileError

HERE = pathlib.Path(__file__).resolve().parent
TRAPS = HERE / "aot_traps.wat"
pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")


def wasabi_run(*args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "wasabi", "run", "--tier", "T1", *args],
                          capture_output=True, input=stdin, cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(HERE.parent)})


def exe_run(exe, argv0, options, args, stdin=None, cwd=None):
    """Run the executable with argv[0] = argv0 (what `wasabi run` gives the program:
    the module's path), runtime options before a `--`."""
    command = [argv0, *options, "--", *args] if options else [argv0, *args]
    return subprocess.run(command, executable=str(exe), capture_output=True, input=stdin,
                          cwd=cwd, timeout=300)


def same(ran, built):
    assert (built.returncode, built.stdout, built.stderr) == \
        (ran.returncode, ran.stdout, ran.stderr)


@pytest.fixture(scope="module")
def traps_exe(tmp_path_factory):
    path = tmp_path_factory.mktemp("aot") / "traps"
    aot.write_exe(wasabi.wat2wasm(TRAPS.read_text()), path, tier="T1")
    return path


def test_traps_and_segments_as_wasabi_run(traps_exe, capsys):
    """Each trap (unreachable, a guard-page fault, divide by zero, stack exhaustion,
    null and out-of-range table elements) and a run that grows memory and uses the
    element and data segments: exit status and message as `wasabi run` in process."""
    from wasabi.__main__ import main
    for n in range(7):
        args = [str(i) for i in range(n)]
        status = main(["run", "--tier", "T1", str(TRAPS), *args])
        expected = capsys.readouterr().err
        built = exe_run(traps_exe, str(TRAPS), [], args)
        assert (built.returncode, built.stderr.decode()) == (status, expected), n
        assert (status != 0) == (n < 6)


def test_executable_needs_no_python_or_llvm(traps_exe):
    libraries = subprocess.run(["ldd", str(traps_exe)], capture_output=True, text=True).stdout
    assert "python" not in libraries.lower() and "llvm" not in libraries.lower()


def test_only_wasi_imports(tmp_path):
    with pytest.raises(CompileError, match='only WASI functions, not "env" "f"'):
        aot.write_exe(wasabi.wat2wasm('(module (import "env" "f" (func)))'), tmp_path / "x")


def test_no_c_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", "no-such-cc")
    with pytest.raises(CompileError, match="no C compiler"):
        aot.write_exe(wasabi.wat2wasm("(module)"), tmp_path / "x")


@pytest.mark.slow
def test_cli_and_object_linked_into_c(tmp_path):
    """`wasabi compile --object` and its header, linked by the documented line."""
    from wasabi.__main__ import main
    assert main(["compile", str(TRAPS), "--tier", "T1", "--object", "-o",
                 str(tmp_path / "traps.o")]) == 0
    header = (tmp_path / "traps.h").read_text()
    assert "int traps_main(int argc, char** argv);" in header
    (tmp_path / "app.c").write_text('#include <stdio.h>\n#include "traps.h"\n'
                                    "int main(int argc, char** argv) {\n"
                                    '    int status = traps_main(argc, argv);\n'
                                    '    printf("host got %d\\n", status);\n    return 0;\n}\n')
    subprocess.run(["cc", "-no-pie", "-o", str(tmp_path / "app"), str(tmp_path / "app.c"),
                    str(tmp_path / "traps.o"), "-lpthread"], check=True, cwd=tmp_path)
    done = subprocess.run([str(tmp_path / "app"), "a", "b"], capture_output=True, timeout=60)
    assert done.stdout == b"host got 134\n"
    assert done.stderr == b"wasabi: trap: integer divide by zero\n"
    done = subprocess.run([str(tmp_path / "app"), "1", "2", "3", "4", "5", "6"],
                          capture_output=True, timeout=60)
    assert done.stdout == b"host got 0\n"


# ---- the WASI programs of tests/wasi_programs (clang + wasi-libc) ----

# name -> [(runtime options, program arguments, stdin)]
RUNS = {
    "hello": [([], [], None), ([], ["7", "x"], None),
              (["--env", "GREETING=hi", "--env", "EMPTY="], ["3"], None)],
    "exit": [([], ["42", "exit"], None), ([], ["0", "return"], None), ([], ["5", "_exit"], None)],
    "stdin": [([], [], b"piped\nlines\n")],
    "clocks": [([], [], None)],
    "alloc": [([], ["8"], None)],
    "faults": [([], [], None)],
}


def _program(name):
    sys.path.insert(0, str(HERE / "wasi_programs"))
    import wasi_build
    missing = wasi_build.toolchain_missing()
    if missing:
        pytest.skip(missing)
    return wasi_build.build(name)


def _compare(tmp_path, name, runs):
    wasm = _program(name)
    exe = tmp_path / name
    wasabi.Module(wasabi.Store(), wasm.read_bytes()).write_exe(exe, tier="T1")
    for options, args, stdin in runs:
        same(wasabi_run(*options, str(wasm), *args, stdin=stdin),
             exe_run(exe, str(wasm), options, args, stdin=stdin))


@pytest.mark.slow
def test_hello_as_wasabi_run(tmp_path):
    _compare(tmp_path, "hello", RUNS["hello"])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(RUNS) - {"hello"}))
def test_wasi_programs_as_wasabi_run(tmp_path, name):
    _compare(tmp_path, name, RUNS[name])


@pytest.mark.slow
def test_preopened_directories_as_wasabi_run(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("hello")
    wasm = _program("ls")
    exe = tmp_path / "ls"
    aot.write_exe(wasm.read_bytes(), exe, tier="T1")
    options = ["--dir", f"{data}::/sandbox"]
    same(wasabi_run(*options, str(wasm), "/sandbox"),
         exe_run(exe, str(wasm), options, ["/sandbox"]))
    files = _program("files")
    work = tmp_path / "work"
    work.mkdir()
    exe = tmp_path / "files"
    aot.write_exe(files.read_bytes(), exe, tier="T1")
    ran = wasabi_run("--dir", ".", str(files), cwd=work)
    result = (work / "result.txt").read_bytes()
    for leftover in work.iterdir():
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    same(ran, exe_run(exe, str(files), ["--dir", "."], [], cwd=work))
    assert (work / "result.txt").read_bytes() == result


# ---- stopping an executable: --timeout, Ctrl-C, --fuel (as `wasabi run`) ----

def _count_then(tail):
    """A WASI command that counts down from 100, then runs `tail`."""
    return f"""(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $n i32)
    (local.set $n (i32.const 100))
    (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    {tail}))"""


SPIN = _count_then("(loop $forever (br $forever))")
COUNT_THEN_EXIT = _count_then("(call $exit (i32.const 7))")


def _wat_file(tmp_path, name, text):
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(wasabi.wat2wasm(text))
    return path


def test_timeout_ends_an_endless_loop_as_wasabi_run(tmp_path):
    wasm = _wat_file(tmp_path, "spin", SPIN)
    exe = tmp_path / "spin"
    aot.write_exe(wasm.read_bytes(), exe, tier="T1")
    built = exe_run(exe, str(wasm), ["--timeout", "0.2"], [])
    assert (built.returncode, built.stderr) == (134, b"wasabi: trap: deadline exceeded\n")
    same(wasabi_run("--timeout", "0.2", str(wasm)), built)
    bad = exe_run(exe, str(wasm), ["--timeout", "soon"], [])
    assert bad.returncode == 1 and b"--timeout" in bad.stderr


def test_ctrl_c_ends_an_executable_with_status_130(tmp_path):
    import signal
    import time
    wasm = _wat_file(tmp_path, "spin", SPIN)
    exe = tmp_path / "spin"
    aot.write_exe(wasm.read_bytes(), exe, tier="T1")
    child = subprocess.Popen([str(exe)], stderr=subprocess.PIPE)
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=30)
    assert (child.returncode, err) == (130, b"wasabi: interrupted\n")


def test_fuel_bounds_an_executable_as_wasabi_run(tmp_path):
    for name, text in (("spin", SPIN), ("count", COUNT_THEN_EXIT)):
        wasm = _wat_file(tmp_path, name, text)
        exe = tmp_path / name
        aot.write_exe(wasm.read_bytes(), exe, tier="T1", fuel=True)
        for fuel in ("50", "100000"):
            built = exe_run(exe, str(wasm), ["--fuel", fuel], [])
            same(wasabi_run("--fuel", fuel, str(wasm)), built)
            if name == "count":
                assert built.returncode == (134 if fuel == "50" else 7), (fuel, built)
        if name == "count":             # without --fuel: as much as it takes
            assert exe_run(exe, str(wasm), [], []).returncode == 7
    unfueled = tmp_path / "plain"
    aot.write_exe(wasabi.wat2wasm(COUNT_THEN_EXIT), unfueled, tier="T1")
    refused = exe_run(unfueled, "plain", ["--fuel", "10"], [])
    assert refused.returncode == 1 and b"compiled without fuel" in refused.stderr
