"""The command line: `python -m wasabi run | compile | inspect` (and the `wasabi` script)."""
import os
import shutil
import subprocess
import sys

import pytest

from wasi_programs.wasi_build import program_path

from wasabi.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ADD_WAT = """(module
  (func (export "add") (param i32 i64) (result i64)
    local.get 0 i64.extend_i32_s local.get 1 i64.add)
  (func (export "pair") (param f64) (result f64 i32) local.get 0 i32.const 7)
  (func (export "boom") unreachable))
"""


def wasabi_cli(*args, stdin=b"", cwd=None):
    return subprocess.run([sys.executable, "-m", "wasabi", *map(str, args)], input=stdin,
                          capture_output=True, cwd=cwd or ROOT, timeout=300)


@pytest.fixture
def program():
    return lambda name: str(program_path(name))


def test_run_args_env_and_exit_code(program):
    done = wasabi_cli("run", "--tier", "T0", "--env", "GREETING=hey", "--env", "EMPTY=",
                      program("hello"), "5", "--not-an-option")
    out = done.stdout.decode()
    assert done.returncode == 5
    assert "argc=3\n" in out and "argv[1]=5\nargv[2]=--not-an-option\n" in out
    assert "GREETING=hey\nEMPTY=\nMISSING=(unset)\n" in out
    assert done.stderr == b"to stderr\n"


def test_run_exit_paths(program):
    done = wasabi_cli("run", "--tier", "T0", program("exit"), "42", "exit")
    assert done.returncode == 42
    assert done.stdout == b"started\nexiting with 42\natexit handler ran\n"
    assert wasabi_cli("run", "--tier", "T0", program("exit"), "0", "return").returncode == 0


def test_run_stdin(program):
    done = wasabi_cli("run", "--tier", "T0", program("stdin"), stdin=b"piped\n")
    assert done.stdout.endswith(b"bytes=6 lines=1 eof=1\nPIPED\n")


def test_run_with_directories(program, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.txt").write_text("xyz")
    done = wasabi_cli("run", "--tier", "T0", "--mode", "lazy",
                      "--dir", f"{tmp_path / 'data'}::/sandbox", program("ls"), "/sandbox")
    assert done.returncode == 0
    assert "f 3 x.txt" in done.stdout.decode()
    # the host path as the guest name
    done = wasabi_cli("run", "--tier", "T0", "--dir", "data", program("ls"), "data", cwd=tmp_path)
    assert "f 3 x.txt" in done.stdout.decode()
    done = wasabi_cli("run", "--tier", "T0", "--dir-ro", f"{tmp_path / 'data'}::.",
                      program("files"))
    assert done.stdout.startswith(b"mkdir work: Operation not permitted\n")
    assert sorted(os.listdir(tmp_path / "data")) == ["x.txt"]


def test_invoke_and_traps(tmp_path):
    (tmp_path / "add.wat").write_text(ADD_WAT)
    done = wasabi_cli("run", "--invoke", "add", tmp_path / "add.wat", "2", "40")
    assert (done.returncode, done.stdout) == (0, b"42\n")
    done = wasabi_cli("run", "--invoke", "pair", tmp_path / "add.wat", "1.5")
    assert done.stdout == b"1.5\n7\n"
    done = wasabi_cli("run", "--invoke", "boom", tmp_path / "add.wat")
    assert done.returncode == 134 and b"trap: unreachable" in done.stderr
    done = wasabi_cli("run", "--invoke", "add", tmp_path / "add.wat", "1")
    assert done.returncode == 1 and b"takes 2 arguments" in done.stderr


def test_run_errors(tmp_path):
    assert wasabi_cli("run", tmp_path / "missing.wasm").returncode == 1
    (tmp_path / "bad.wasm").write_bytes(b"\0asm\x01\0\0\0\x99")
    done = wasabi_cli("run", tmp_path / "bad.wasm")
    assert done.returncode == 1 and b"error" in done.stderr
    (tmp_path / "needs.wat").write_text('(module (import "env" "f" (func)) '
                                        '(func (export "_start")))')
    done = wasabi_cli("run", tmp_path / "needs.wat")
    assert done.returncode == 1 and b"env" in done.stderr


def test_bad_options_are_usage_errors():
    with pytest.raises(SystemExit) as info:
        main(["run", "--dir", "host::", "x.wasm"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "--mode", "fast", "x.wasm"])
    with pytest.raises(SystemExit):
        main([])


def test_compile_writes_an_object(program, tmp_path):
    out = tmp_path / "hello.o"
    done = wasabi_cli("compile", "--tier", "T0", program("hello"), "-o", out)
    assert done.returncode == 0
    text = done.stdout.decode()
    assert "validated in" in text and "compiled (T0)" in text and "bytes of machine code" in text
    assert out.read_bytes()[:4] == b"\x7fELF"


def test_inspect(program, capsys):
    assert main(["inspect", program("hello")]) == 0
    text = capsys.readouterr().out
    assert "WASI: SNAPSHOT1" in text
    assert "wasi_snapshot_preview1.fd_write: func [i32 i32 i32 i32] -> [i32]" in text
    assert "_start: func [] -> []" in text and "memory: memory" in text


def test_console_script(tmp_path):
    script = shutil.which("wasabi")
    if script is None:
        pytest.skip("the wasabi console script is not installed (pip install -e .)")
    (tmp_path / "add.wat").write_text(ADD_WAT)
    done = subprocess.run([script, "run", "--invoke", "add", str(tmp_path / "add.wat"), "1", "2"],
                          capture_output=True, timeout=300)
    assert done.stdout == b"3\n"


def test_run_caches_eager_code(program, tmp_path):
    """The second run links the stored objects instead of compiling; a corrupt
    entry is compiled again and replaced; --no-cache leaves the cache alone."""
    import glob
    env_dir = tmp_path / "cache"

    def run(*extra):
        env = dict(os.environ, WASABI_CACHE_DIR=str(env_dir))
        return subprocess.run([sys.executable, "-m", "wasabi", "run", "--tier", "T0", *extra,
                               program("hello"), "1"], capture_output=True, cwd=ROOT,
                              timeout=300, env=env)
    first = run("--no-cache")
    assert first.returncode == 1 and not env_dir.exists()
    second = run()
    entries = glob.glob(str(env_dir / "*.wasabi"))
    assert len(entries) == 1 and second.stdout == first.stdout
    # a hit touches the entry's mtime (its LRU place); a rewrite is a new file
    stamp = os.stat(entries[0]).st_ino
    assert run().stdout == first.stdout and os.stat(entries[0]).st_ino == stamp         # a hit
    with open(entries[0], "r+b") as f:
        f.seek(40)
        f.write(b"garbage!")
    assert run().stdout == first.stdout
    assert os.stat(entries[0]).st_ino != stamp                                           # rewritten


def test_compile_bytes_with_cache_links_instead_of_compiling(tmp_path):
    import wasmtime
    from wasabi.compiler.cache import compile_bytes, entry_path
    from wasabi.options import Options
    wasm = wasmtime.wat2wasm(ADD_WAT)
    options = Options(tier="T0", cache=True)
    fresh = compile_bytes(wasm, options, tmp_path)
    assert "codegen_seconds" in fresh.code.stats
    assert entry_path(wasm, options, tmp_path).exists()
    again = compile_bytes(wasm, options, tmp_path)
    assert "codegen_seconds" not in again.code.stats and "link_seconds" in again.code.stats
    assert again.instantiate().exports["add"](2, 40) == 42
    other = compile_bytes(wasm, Options(tier="T1", cache=True), tmp_path)   # another key
    assert "codegen_seconds" in other.code.stats
    lazy = compile_bytes(wasm, Options(mode="lazy", cache=True), tmp_path)  # not cached
    assert len(list(tmp_path.glob("*.wasabi"))) == 2 and lazy.instantiate().exports["add"](1, 1) == 2


# ---- issue 12: user errors are one line, never a traceback ----

MIXED_WAT = """(module (memory (export "mem") 1) (table (export "tab") 1 funcref)
  (global (export "g") i32 (i32.const 1))
  (func (export "f") (param i32) (result i32) local.get 0)
  (func (export "f64") (param i64 f64) (result i64) local.get 0)
  (func (export "r") (param externref) (result externref) local.get 0))
"""


def one_line_error(argv, capsys):
    """Run the CLI in this process (an exception out of main fails the test) and return
    its one error line."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert status == 1 and len(lines) == 1, captured.err
    assert lines[0].startswith("wasabi: error: ")
    return lines[0], captured.out


def test_reported_user_errors_are_one_line(tmp_path, capsys):
    """The four paths of the issue that printed a Python traceback."""
    (tmp_path / "x.wat").write_text(MIXED_WAT)
    line, _ = one_line_error(["run", "--invoke", "f", tmp_path / "x.wat", "1099511627776"], capsys)
    assert "out of range for i32" in line
    line, _ = one_line_error(["run", "--invoke", "mem", tmp_path / "x.wat"], capsys)
    assert "'mem' is a memory, not a function" in line
    (tmp_path / "random.bin").write_bytes(bytes(range(7, 256)) * 3)
    one_line_error(["inspect", tmp_path / "random.bin"], capsys)
    line, out = one_line_error(["compile", "-o", tmp_path / "missing" / "x.o",
                                tmp_path / "x.wat"], capsys)
    assert out == "" and "No such file or directory" in line


@pytest.mark.parametrize("value, accepted", [
    ("4294967295", True), ("-2147483648", True), ("0x7fffffff", True),
    ("4294967296", False), ("-2147483649", False), ("1.5", False), ("", False)])
def test_invoke_i32_range(tmp_path, capsys, value, accepted):
    (tmp_path / "x.wat").write_text(MIXED_WAT)
    status = main(["run", "--invoke", "f", str(tmp_path / "x.wat"), value])
    captured = capsys.readouterr()
    if accepted:
        assert status == 0 and captured.err == ""
    else:
        assert status == 1 and captured.err.startswith("wasabi: error: ")


def test_bounded_read_of_a_device(monkeypatch, capsys):
    """`wasabi run /dev/zero` read forever: a module file is read up to a limit."""
    import wasabi.__main__ as cli
    monkeypatch.setattr(cli, "MAX_MODULE_BYTES", 1 << 20)
    assert main(["run", "/dev/zero"]) == 1
    assert "more than 1048576 bytes" in capsys.readouterr().err
    assert main(["inspect", "/dev/null"]) == 1           # empty: a truncated binary
    assert "unexpected end" in capsys.readouterr().err


def _fuzz_inputs(tmp_path):
    files = {"x.wat": MIXED_WAT.encode(), "blank.wat": b"  \n;; nothing\n",
             "start.wat": b'(module (func (export "_start")))',
             "trap.wat": b'(module (func (export "_start") unreachable))',
             "memstart.wat": b'(module (memory (export "_start") 1))',
             "argstart.wat": b'(module (func (export "_start") (param i32)))',
             "random.bin": bytes((i * 37 + 11) % 256 for i in range(500)),
             "nul.bin": b"\0\1\2", "trunc.wasm": b"\0asm\1\0\0\0\1\7", "empty.wasm": b"",
             "latin1.wat": "(module) ;; \xe9".encode("latin-1")}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "dir").mkdir()
    return [str(tmp_path / name) for name in [*files, "dir", "missing.wasm"]] + ["/dev/null"]


def test_cli_argument_fuzz(tmp_path, capsys):
    """Random command lines: every outcome is a clean exit (a usage error, a one-line
    `wasabi: error:` or trap line, or success), never an exception out of main."""
    import random
    rng = random.Random(12)
    modules = _fuzz_inputs(tmp_path)
    values = ["0", "-1", "1099511627776", "18446744073709551616", "0x10", "abc", "1e999",
              "nan", "", "-", "--", "1.5"]
    options = [["--tier", "T0"], ["--tier", "X"], ["--mode", "lazy"], ["--no-cache"],
               ["--env", "A=1"], ["--env", "=x"], ["--dir", str(tmp_path)],
               ["--dir", str(tmp_path / "missing")], ["--dir-ro", f"{tmp_path}::/ro"],
               ["--dir", "::"], ["--invoke", "f"], ["--invoke", "f64"], ["--invoke", "mem"],
               ["--invoke", "g"], ["--invoke", "r"], ["--invoke", "nope"], ["--invoke", ""],
               ["-o", str(tmp_path / "out.o")], ["-o", str(tmp_path / "missing" / "o.o")],
               ["-o", str(tmp_path / "dir")], ["--bogus"]]
    for _ in range(250):
        argv = [rng.choice(["run", "run", "compile", "inspect", "nope"])]
        for _ in range(rng.randrange(3)):
            argv += rng.choice(options)
        argv.append(rng.choice(modules))
        argv += [rng.choice(values) for _ in range(rng.randrange(3))]
        try:
            status = main(argv)
        except SystemExit as exit_:                # argparse: a usage error
            status = exit_.code
            assert status == 2, argv
        err = capsys.readouterr().err
        assert "Traceback" not in err, argv
        if status not in (0, 2):
            assert err.startswith(("wasabi: error: ", "wasabi: trap: ")), (argv, err)
            assert err.count("\n") == 1, (argv, err)
