"""The WASI sandbox: guests see only their preopens. `..`, absolute paths,
symlinks and hard links cannot reach outside (EPERM, as wasmtime answers),
read-only preopens stay unchanged, and bad guest pointers give EFAULT."""
import os

import pytest

from wasi_programs.layouts import escape_layout
from wasi_programs.wasi_build import compiled

from wasabi.wasi import Preopen, WasiConfig, run

def snapshot(directory):
    """Every path below `directory` with its kind, contents or link target, and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.islink(path):
                found[path] = ("link", os.readlink(path), st.st_mtime_ns)
            elif os.path.isdir(path):
                found[path] = ("dir", None, st.st_mtime_ns)
            else:
                with open(path, "rb") as f:
                    found[path] = ("file", f.read(), st.st_mtime_ns, st.st_nlink)
    return found


EPERM = "errno 63 (Operation not permitted)"
ELOOP = "errno 32 (Symbolic link loop)"
ESCAPE_EXPECTED = [
    ("open ../outside", EPERM),
    ("open inner/../../outside", EPERM),
    ("open out_rel", EPERM),
    ("open out_abs", EPERM),
    ("open out_dir/secret.txt", EPERM),
    ("open chain/secret.txt", EPERM),
    ("open loop_a", ELOOP),
    ("open out_rel nofollow", ELOOP),
    ("create via out_dir", EPERM),
    ("stat out_rel", EPERM),
    ("lstat out_rel", "ok"),
    ("stat out_dir/", EPERM),
    ("opendir out_dir", EPERM),
    ("link inner/f.txt out", EPERM),
    ("link secret in", EPERM),
    ("link via out_dir", EPERM),
    ("rename out", EPERM),
    ("rename in", EPERM),
    ("rename via out_dir", EPERM),
    ("mkdir ../outside/d", EPERM),
    ("mkdir out_dir/d", EPERM),
    ("unlink ../outside", EPERM),
    ("unlink out_dir/secret", EPERM),
    ("rmdir ..", EPERM),
    ("symlink abs target", EPERM),
    ("symlink rel target", "ok"),
    ("open made/secret.txt", EPERM),
    ("unlink made", "ok"),
    ("truncate out_rel", EPERM),
    ("utimensat out_rel", EPERM),
    ("readlink out_rel", "ok"),
    ("open ok_link", "ok"),
    ("open inner/..", "ok"),
    ("open ok_dir/f.txt", "ok"),
    ("open via/f.txt", "ok"),
    ("open via/../inner/f.txt", "ok"),
    ("open via/../../outside", EPERM),
    ("raw /etc/passwd", "wasi errno 63"),
    ("raw ..", "wasi errno 63"),
    ("raw inner/../..", "wasi errno 63"),
    ("raw out_rel follow", "wasi errno 63"),
    ("raw out_abs follow", "wasi errno 63"),
    ("raw out_rel nofollow", "wasi errno 32"),
    ("raw empty", "wasi errno 44"),
    ("raw inner/..", "wasi errno 0"),
]


def parse_results(text):
    out = []
    for line in text.splitlines():
        name, _, result = line.partition("  ")
        out.append((name.strip(), result.strip()))
    return out


def test_escape_attempts_fail_and_the_host_is_untouched(tmp_path):
    sandbox, outside = escape_layout(tmp_path)
    before_outside, before_sandbox = snapshot(outside), snapshot(sandbox)
    result = run(compiled("escape"), WasiConfig(argv=["escape"], preopens=[(str(sandbox), ".")],
                                                stdout="capture"))
    assert result.exit_code == 0
    assert parse_results(result.stdout.decode()) == ESCAPE_EXPECTED
    assert snapshot(outside) == before_outside
    assert snapshot(sandbox) == before_sandbox


READONLY_EXPECTED = [
    ("open read", "ok (4)"),
    ("read", "ok (4)"),
    ("write on it", "errno 8 (Bad file descriptor)"),
    ("ftruncate it", EPERM),
    ("open write", EPERM),
    ("open rdwr", EPERM),
    ("open append", EPERM),
    ("open trunc", EPERM),
    ("create", EPERM),
    ("mkdir", EPERM),
    ("unlink", EPERM),
    ("rename", EPERM),
    ("symlink", EPERM),
    ("link", EPERM),
    ("rmdir sub", EPERM),
    ("utimensat", EPERM),
    ("futimens", EPERM),
    ("stat", "ok (0)"),
]


def test_read_only_preopen_stays_unchanged(tmp_path):
    (tmp_path / "data.txt").write_text("data")
    (tmp_path / "sub").mkdir()
    before = snapshot(tmp_path)
    config = WasiConfig(argv=["readonly"], preopens=[Preopen(str(tmp_path), ".", readonly=True)],
                        stdout="capture")
    result = run(compiled("readonly"), config)
    assert parse_results(result.stdout.decode()) == READONLY_EXPECTED
    assert snapshot(tmp_path) == before


def test_bad_pointers_and_lengths_give_errnos(tmp_path):
    config = WasiConfig(argv=["faults"], env={"A": "1"}, preopens=[(str(tmp_path), ".")],
                        stdout="capture")
    result = run(compiled("faults"), config)
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("hi")             # the one good write
    assert len(lines) == 30
    bad = [line for line in lines if not line.endswith(" ok")]
    assert bad == []
    assert result.exit_code == 0
    assert os.listdir(tmp_path) == []


def test_a_preopen_that_is_a_host_symlink_is_allowed(tmp_path):
    sandbox, _ = escape_layout(tmp_path)
    os.symlink(sandbox, tmp_path / "alias")
    config = WasiConfig(argv=["ls", "."], preopens=[(str(tmp_path / "alias"), ".")],
                        stdout="capture")
    assert "f 6 f.txt" not in run(compiled("ls"), config).stdout.decode()
    config = WasiConfig(argv=["ls", "inner"], preopens=[(str(tmp_path / "alias"), ".")],
                        stdout="capture")
    assert "f 6 f.txt" in run(compiled("ls"), config).stdout.decode()


@pytest.mark.parametrize("depth", [50, 300])
def test_deep_paths(tmp_path, depth):
    # a path of many components walks with one fd per level and frees them all
    deep = tmp_path
    for _ in range(depth):
        deep = deep / "d"
    deep.mkdir(parents=True)
    guest = "/".join(["d"] * depth)
    config = WasiConfig(argv=["ls", guest], preopens=[(str(tmp_path), ".")], stdout="capture")
    result = run(compiled("ls"), config)
    assert result.stdout.decode().startswith(f"{guest}: 2 entries")
