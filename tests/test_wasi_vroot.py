"""The virtual read-only root "/" (wasmer's WASI layout): WasiConfig(virtual_root=True)
and the wasmer face's StateBuilder, which turns it on. fd 3 is a preopen named "/"
listing the mapped directories, which follow as preopens of their own; nothing in the
root changes; nothing leads out of an entry. The seed face and `wasabi run` keep
wasmtime's layout (no root) by default."""
import os
import pickle

import pytest

from test_wasi_adversarial import FOLLOW, R_ALL, Guest, snapshot
from wasi_programs.wasi_build import compiled

import wasabi
from wasabi.wasi import Environment, StateBuilder, WasiConfig, call_export, instantiate_wasi, run

EROFS, EPERM, ENOENT, EISDIR, EBADF, EINVAL, ENOTDIR = 69, 63, 44, 31, 8, 28, 54
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
R_FD_READ, R_FD_WRITE, R_FD_READDIR = 1 << 1, 1 << 6, 1 << 14

VROOT_OUT = """\
preopen fd 3: "/" (len 1) filetype 3
preopen fd 4: "data" (len 4) filetype 3
preopen fd 5: "ro" (len 2) filetype 3
/: .(d) ..(d) data(d) ro(d)
/data: .(d) ..(d) f.txt(-) link_out(-) sub(d)
stat /                         ok
/ is a directory: 1
stat /data                     ok
/data is a directory: 1
read /data/f.txt               9 "data file"
read data/f.txt                9 "data file"
read /ro/r.txt                 7 "ro file"
read /../data/f.txt            9 "data file"
read /missing/x                errno 44 (No such file or directory)
read /data/../ro/r.txt         errno 63 (Operation not permitted)
read /data/link_out            errno 63 (Operation not permitted)
fstat root fd                  ok
root is a directory: 1
openat root data/f.txt         ok
openat root ./../data/f.txt    ok
openat root data/new.txt       ok
openat root ro/new.txt         errno 63 (Operation not permitted)
openat root ro/r.txt write     errno 63 (Operation not permitted)
openat root data/../ro/r.txt   errno 63 (Operation not permitted)
openat root data/../../x       errno 63 (Operation not permitted)
openat root new.txt            errno 69 (Read-only file system)
openat root . for writing      errno 31 (Is a directory)
openat root missing            errno 44 (No such file or directory)
mkdirat root d                 errno 69 (Read-only file system)
unlinkat root data             errno 69 (Read-only file system)
mkdir /newdir                  errno 69 (Read-only file system)
create /new.txt                errno 69 (Read-only file system)
open / for writing             errno 31 (Is a directory)
rmdir /data                    errno 28 (Invalid argument)
unlink /ro                     errno 63 (Operation not permitted)
rename /data /moved            errno 69 (Read-only file system)
rename /data/f.txt /f.txt      errno 69 (Read-only file system)
symlink /lnk                   errno 69 (Read-only file system)
link /data/f.txt /hard         errno 69 (Read-only file system)
create /data/made.txt          ok
mkdir /data/sub/d              ok
mkdir /ro/d                    errno 63 (Operation not permitted)
"""


def layout(root):
    """data/ (writable: f.txt, sub/, link_out -> ../ro/r.txt) and ro/ (read-only: r.txt)."""
    (root / "data" / "sub").mkdir(parents=True)
    (root / "ro").mkdir()
    (root / "data" / "f.txt").write_text("data file")
    (root / "ro" / "r.txt").write_text("ro file")
    os.symlink("../ro/r.txt", root / "data" / "link_out")
    return root / "data", root / "ro"


def vroot_config(root, **kwargs):
    data, ro = layout(root)
    config = WasiConfig(argv=["vroot"], stdout="capture", **kwargs)
    return config.preopen(data, "data").preopen(ro, "ro", readonly=True)


def test_read_dir_of_root_lists_the_mapped_directories_and_nothing_changes_in_it(tmp_path):
    result = run(compiled("vroot"), vroot_config(tmp_path, virtual_root=True))
    assert result.stdout.decode() == VROOT_OUT
    assert result.exit_code == 0
    # only what was made below the writable entry exists; nothing beside the entries
    assert sorted(os.listdir(tmp_path)) == ["data", "ro"]
    assert sorted(os.listdir(tmp_path / "data")) == ["f.txt", "link_out", "made.txt",
                                                     "new.txt", "sub"]
    assert os.listdir(tmp_path / "data" / "sub") == ["d"]
    assert os.listdir(tmp_path / "ro") == ["r.txt"]
    assert (tmp_path / "ro" / "r.txt").read_text() == "ro file"


def test_without_the_root_the_layout_stays_wasmtimes(tmp_path):
    out = run(compiled("vroot"), vroot_config(tmp_path)).stdout.decode()
    assert out.startswith('preopen fd 3: "data" (len 4) filetype 3\n'
                          'preopen fd 4: "ro" (len 2) filetype 3\n'
                          "opendir /: Capabilities insufficient\n")
    assert WasiConfig().virtual_root is False


def test_wasmer_state_builder_has_the_root(tmp_path, capfd):
    data, ro = layout(tmp_path)
    store = wasabi.Store()
    module = wasabi.Module(store, compiled_bytes("vroot"))
    env = StateBuilder("vroot").map_directory("data", str(data)).map_directory("ro", str(ro)) \
        .finalize()
    assert env.config.virtual_root is True
    instance = wasabi.Instance(module, env.generate_import_object(store, 1))
    instance.exports._start()
    out = capfd.readouterr().out
    assert out.startswith('preopen fd 3: "/" (len 1) filetype 3\n'
                          'preopen fd 4: "data" (len 4) filetype 3\n'
                          'preopen fd 5: "ro" (len 2) filetype 3\n'
                          "/: .(d) ..(d) data(d) ro(d)\n")
    # map_directory has no read-only form: ro is writable here, the root still is not
    assert "mkdir /ro/d                    ok\n" in out
    assert "mkdir /newdir                  errno 69 (Read-only file system)\n" in out
    without = StateBuilder("p", virtual_root=False).finalize()
    assert without.config.virtual_root is False


def compiled_bytes(name):
    from wasi_programs.wasi_build import program
    return program(name)


def test_every_instance_and_an_unpickled_environment_get_the_root(tmp_path):
    config = vroot_config(tmp_path, virtual_root=True)
    env = Environment(config)
    first = instantiate_wasi(compiled("vroot"), env)      # the environment's own context
    second = instantiate_wasi(compiled("vroot"), env)     # a copy of its configured state
    call_export(first, "_start")
    call_export(second, "_start")
    for instance in (first, second):
        out = env.state_of(instance).stdout.decode()
        assert out.startswith('preopen fd 3: "/" (len 1) filetype 3\n')
        assert "/: .(d) ..(d) data(d) ro(d)\n" in out
    again = pickle.loads(pickle.dumps(env))
    assert again.config.virtual_root is True
    g = Guest(env=again)
    assert g.fd_prestat_get(3, 100) == 0 and g.u32(104) == 1


# ---- raw calls on the root fd ----

def raw_guest(tmp_path, **kwargs):
    data, ro = layout(tmp_path)
    return Guest([(str(data), "data"), (str(ro), "ro", True)], virtual_root=True, **kwargs)


def readdir_names(g, fd, size=4096):
    """Every name fd_readdir gives, paging by cookie through a `size`-byte buffer."""
    names, cookie = [], 0
    for _ in range(100):
        buf, used_at = g.put(bytes(size)), g.put(bytes(4))
        assert g.fd_readdir(fd, buf, size, cookie, used_at) == 0
        used, data, at = g.u32(used_at), g.memory.read(buf, size), 0
        while at + 24 <= used:
            namlen = int.from_bytes(data[at + 16:at + 20], "little")
            if at + 24 + namlen > used:
                break                                   # cut short: ask again from here
            assert data[at + 20] == 3                   # a directory
            names.append(data[at + 24:at + 24 + namlen].decode())
            cookie = int.from_bytes(data[at:at + 8], "little")
            at += 24 + namlen
        if used < size:
            return names
    raise AssertionError("fd_readdir never ended")


def test_root_fd_readdir_prestat_and_stats(tmp_path):
    g = raw_guest(tmp_path)
    assert g.fd_prestat_get(3, 100) == 0 and g.u32(104) == 1
    assert g.fd_prestat_dir_name(3, 200, 1) == 0 and g.memory.read(200, 1) == b"/"
    assert g.fd_prestat_get(4, 100) == 0 and g.u32(104) == 4
    assert readdir_names(g, 3) == [".", "..", "data", "ro"]
    assert readdir_names(g, 3, size=30) == [".", "..", "data", "ro"]   # one at a time
    assert g.fd_filestat_get(3, 300) == 0 and g.memory.read(316, 1) == b"\x03"
    stat_at = g.put(bytes(64))
    assert g.path_filestat_get(3, 0, *g.path(".."), stat_at) == 0
    assert g.memory.read(stat_at + 16, 1) == b"\x03"
    assert g.path_filestat_get(3, 0, *g.path("ro/r.txt"), stat_at) == 0
    assert g.memory.read(stat_at + 16, 1) == b"\x04"
    # no data in a directory, no position
    assert g.fd_read(3, g.iov(bytes(4)), 1, g.put(bytes(4))) == EBADF
    assert g.write(3, b"x") == EBADF
    assert g.fd_seek(3, 0, 0, g.put(bytes(8))) == EBADF
    assert g.fd_filestat_set_times(3, 0, 0, 2) == EROFS
    assert g.path_readlink(3, *g.path("."), g.put(bytes(16)), 16, g.put(bytes(4))) == EINVAL


def test_root_opened_again_is_the_root(tmp_path):
    g = raw_guest(tmp_path)
    err, fd = g.open(3, ".", O_DIRECTORY, rights=R_FD_READDIR | (1 << 13))   # + PATH_OPEN
    assert err == 0 and fd not in (3, 4, 5)
    assert readdir_names(g, fd) == [".", "..", "data", "ro"]
    assert g.fd_prestat_get(fd, 100) == EBADF           # a copy, not a preopen
    err, inner = g.open(fd, "data/f.txt", rights=R_FD_READ)
    assert err == 0
    assert g.open(3, ".", 0, rights=R_FD_WRITE)[0] == EISDIR
    assert g.open(3, "..", O_CREAT | O_EXCL)[0] == EROFS
    assert g.open(3, "data", O_TRUNC)[0] == EROFS
    # an entry opened through the root is its preopen's directory, with its rules
    err, data_fd = g.open(3, "data", O_DIRECTORY, rights=R_ALL & ~R_FD_WRITE)
    assert err == 0 and g.open(data_fd, "made", O_CREAT)[0] == 0
    err, ro_fd = g.open(3, "ro/", O_DIRECTORY, rights=R_ALL & ~R_FD_WRITE)
    assert err == 0 and g.open(ro_fd, "made", O_CREAT)[0] == EPERM
    assert g.fd_close(3) == 0                            # the copy goes on working
    assert readdir_names(g, fd) == [".", "..", "data", "ro"]


CHANGES = [
    ("mkdir in root", lambda g: g.mkdir(3, "new")),
    ("mkdir root", lambda g: g.mkdir(3, ".")),
    ("rmdir entry", lambda g: g.path_remove_directory(3, *g.path("data"))),
    ("rmdir root", lambda g: g.path_remove_directory(3, *g.path("."))),
    ("unlink entry", lambda g: g.path_unlink_file(3, *g.path("ro"))),
    ("rename entry", lambda g: g.path_rename(3, *g.path("data"), 3, *g.path("x"))),
    ("rename into root", lambda g: g.path_rename(4, *g.path("f.txt"), 3, *g.path("f.txt"))),
    ("rename over entry", lambda g: g.path_rename(4, *g.path("sub"), 3, *g.path("ro"))),
    ("symlink in root", lambda g: g.path_symlink(*g.path("data"), 3, *g.path("l"))),
    ("link into root", lambda g: g.path_link(4, 0, *g.path("f.txt"), 3, *g.path("h"))),
    ("link entry", lambda g: g.path_link(3, 0, *g.path("data"), 4, *g.path("h"))),
    ("times of entry", lambda g: g.path_filestat_set_times(3, 0, *g.path("data"), 0, 0, 10)),
    ("times of root", lambda g: g.path_filestat_set_times(3, 0, *g.path(".."), 0, 0, 10)),
    ("create in root", lambda g: g.open(3, "new.txt", O_CREAT)[0]),
]


@pytest.mark.parametrize("what,call", CHANGES, ids=[c[0] for c in CHANGES])
def test_nothing_in_the_root_changes(tmp_path, what, call):
    g = raw_guest(tmp_path)
    before = snapshot(tmp_path)
    assert call(g) == EROFS
    assert snapshot(tmp_path) == before


ESCAPES = ["..", "../..", "data/..", "data/../..", "data/../ro/r.txt", "data/sub/../../ro",
           "data/link_out", "ro/../data/f.txt", "/etc/passwd", "data/../../etc/passwd"]


@pytest.mark.parametrize("path", ESCAPES)
def test_no_way_out_of_an_entry(tmp_path, path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    box = tmp_path / "box"
    box.mkdir()
    g = raw_guest(box)
    err, fd = g.open(3, path, follow=FOLLOW, rights=R_FD_READ | R_FD_READDIR | (1 << 13))
    if path in ("..", "../.."):
        assert err == 0                                 # the root is its own parent
        assert readdir_names(g, fd) == [".", "..", "data", "ro"]
    else:
        assert err in (EPERM,), (path, err)
    # and from the entries' own preopen fds as before
    assert g.open(4, "../ro/r.txt")[0] == EPERM
    assert g.open(4, "../../outside/secret")[0] == EPERM
