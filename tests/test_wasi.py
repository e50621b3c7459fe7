"""WASI programs (C + wasi-libc, tests/wasi_programs/) under wasabi: output,
files in a preopened directory, listing, args and environment, clocks, exit
codes, stdin, stdio settings."""
import os

import pytest

from wasi_programs.wasi_build import compiled

from wasabi.wasi import Preopen, WasiConfig, WasiExit, call_export, instantiate_wasi, run
from wasabi.wasi.environment import Environment


def run_program(name, config, **kwargs):
    return run(compiled(name, **kwargs), config)


HELLO_OUT = ("argc=3\nargv[0]=hello\nargv[1]=7\nargv[2]=two words\nGREETING=hi there\nEMPTY=\n"
             "MISSING=(unset)\nputs works\n")


@pytest.mark.parametrize("mode,tier", [("eager", "T0"), ("eager", "T1"), ("lazy", "T1")])
def test_hello_args_env_exit_code(mode, tier):
    config = WasiConfig(argv=["hello", "7", "two words"], env={"GREETING": "hi there", "EMPTY": ""},
                        stdout="capture", stderr="capture")
    result = run_program("hello", config, mode=mode, tier=tier)
    assert result.stdout.decode() == HELLO_OUT
    assert result.stderr == b"to stderr\n"
    assert result.exit_code == 7


@pytest.mark.parametrize("how,expected_out", [
    ("exit", "started\nexiting with 42\natexit handler ran\n"),
    ("return", "started\natexit handler ran\n"),
    ("_exit", "started\n"),
])
def test_exit_codes(how, expected_out):
    result = run_program("exit", WasiConfig(argv=["exit", "42", how], stdout="capture"))
    assert result.exit_code == 42
    assert result.stdout.decode() == expected_out


def test_exit_zero_and_large_codes():
    assert run_program("exit", WasiConfig(argv=["exit", "0", "exit"], stdout="capture")).exit_code == 0
    # wasi-libc passes main's int as proc_exit's u32
    assert run_program("exit", WasiConfig(argv=["exit", "300", "exit"], stdout="capture")).exit_code == 300


def test_proc_exit_is_wasi_exit_and_the_host_carries_on():
    env = Environment(WasiConfig(argv=["exit", "5", "exit"], stdout="capture"))
    instance = instantiate_wasi(compiled("exit"), env)
    with pytest.raises(WasiExit) as info:
        call_export(instance, "_start")
    assert info.value.code == 5 and env.exit_code == 5
    assert env.stdout == b"started\nexiting with 5\natexit handler ran\n"
    # the process and other instances go on working
    again = run_program("hello", WasiConfig(argv=["hello", "0"], stdout="capture", stderr="capture"))
    assert again.exit_code == 0 and again.stdout.startswith(b"argc=2\n")


def test_stdin_from_bytes():
    config = WasiConfig(argv=["stdin"], stdin=b"first line\nsecond\n", stdout="capture")
    result = run_program("stdin", config)
    assert result.stdout.decode() == ("poll: 1 readable\nbytes=18 lines=2 eof=1\n"
                                      "FIRST LINE\nSECOND\n")


def test_stdin_and_stdout_files(tmp_path):
    (tmp_path / "in.txt").write_bytes(b"abc\n")
    config = WasiConfig(argv=["stdin"], stdin=tmp_path / "in.txt", stdout=tmp_path / "out.txt")
    assert run_program("stdin", config).exit_code == 0
    assert (tmp_path / "out.txt").read_text() == "poll: 1 readable\nbytes=4 lines=1 eof=1\nABC\n"


def test_stdin_null_and_stdout_file_object(tmp_path):
    with open(tmp_path / "out.txt", "w") as out:
        out.write("before\n")
        run_program("stdin", WasiConfig(argv=["stdin"], stdin="null", stdout=out))
        out.write("after\n")
    text = (tmp_path / "out.txt").read_text()
    assert text == "before\npoll: 1 readable\nbytes=0 lines=0 eof=1\nafter\n"


def test_inherited_stdout_reaches_fd_1(capfd):
    run_program("hello", WasiConfig(argv=["hello"], env={"GREETING": "x"}))
    out, err = capfd.readouterr()
    assert "GREETING=x\n" in out and "puts works\n" in out
    assert err == "to stderr\n"


FILES_OUT = """mkdir work: ok
fopen w: ok
work/a.txt = [hello
world
]
work/a.txt = [hello
world
again
]
open rdwr: ok
seek 6 -> 6
write XY: ok
tell -> 8
size -> 18
pread -> 5 [hello]
pwrite: ok
tell after pread/pwrite -> 18
ftruncate 9: ok
fstat: ok
fstat size=9 reg=1
work/a.txt = [hezzo
XYr]
stat dir: ok
rename: ok
old name gone: ok
symlink: ok
readlink -> 5 [b.txt]
work/link = [hezzo
XYr]
lstat link: ok
hard link: ok
nlink 2: ok
utimensat: ok
mtime set: ok
mkdir many: ok
many entries -> 302
rmdir many: ok
rmdir non-empty fails: ok
unlink link: ok
unlink hard: ok
unlink dir fails: ok
rename out: ok
rmdir: ok
entries in . -> 3
"""


def test_files_in_a_preopened_directory(tmp_path):
    result = run_program("files", WasiConfig(argv=["files"], preopens=[(str(tmp_path), ".")],
                                             stdout="capture"))
    assert result.stdout.decode() == FILES_OUT
    assert result.exit_code == 0
    assert sorted(os.listdir(tmp_path)) == ["result.txt"]
    assert (tmp_path / "result.txt").read_bytes() == b"hezzo\nXYr"
    assert (tmp_path / "result.txt").stat().st_mtime == 1234567890.0000005


def test_directory_listing_with_guest_names(tmp_path):
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("12345")
    (data / "sub" / "deep.bin").write_bytes(b"\0" * 10)
    os.symlink("a.txt", data / "link")
    config = WasiConfig(argv=["ls", "/data", "/data/sub", "/missing"],
                        preopens=[Preopen(str(data), "/data")], stdout="capture")
    result = run_program("ls", config)
    # "/data/.." is above the preopen: lstat fails with EPERM; "/missing" is under
    # no preopen, so wasi-libc itself answers ENOTCAPABLE
    assert result.stdout.decode() == (
        "/data: 5 entries\n  d .\n  ? .. (Operation not permitted)\n  f 5 a.txt\n  l link\n"
        "  d sub\n/data/sub: 3 entries\n  d .\n  d ..\n  f 10 deep.bin\n"
        "/missing: Capabilities insufficient\n")
    assert result.exit_code == 1


def test_two_preopens_and_relative_names(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / f"{name}.txt").write_text(name)
    config = WasiConfig(argv=["ls", "one", "two"], stdout="capture")
    config.preopen(tmp_path / "one", "one").preopen(tmp_path / "two", "two", readonly=True)
    out = run_program("ls", config).stdout.decode()
    assert "f 3 one.txt" in out and "f 3 two.txt" in out


def test_clocks_sleep_random():
    result = run_program("clocks", WasiConfig(argv=["clocks"], stdout="capture"))
    lines = result.stdout.decode().splitlines()
    assert lines == ["realtime after 2020: 1", "time() agrees: 1", "monotonic: 1",
                     "resolution <= 1ms: 1", "nanosleep 30ms: 1", "poll timeout 20ms: 1",
                     "random differs: 1"]


def test_missing_preopen_directory_is_an_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        WasiConfig(preopens=[(str(tmp_path / "nope"), ".")]).finalize()


def test_bad_stdio_settings():
    with pytest.raises(ValueError):
        WasiConfig(stdin="capture").finalize()
    with pytest.raises(ValueError):
        WasiConfig(stdout=b"bytes").finalize()
    with pytest.raises(TypeError):
        WasiConfig(stderr=3.5).finalize()
    with pytest.raises(ValueError):
        WasiConfig(argv=["a\0b"]).finalize()
    with pytest.raises(ValueError):
        WasiConfig(env={"A=B": "c"}).finalize()
