"""Preview 1 behaviours the official WASI test suite (WebAssembly/wasi-testsuite)
showed us getting wrong, each as a raw WASI call (the suite itself stays outside
the repository; tools/wasi_testsuite_adapter.py runs it):

- reopening a directory with the rights it has: Rust's standard library does
  path_open(preopen, ".", O_DIRECTORY, <the preopen's own rights>), and those
  rights include FD_DATASYNC, which means nothing for a directory; it used to
  become a write open (EISDIR);
- seeking a directory: EBADF (the suite accepts EBADF, EISDIR or ENOTCAPABLE),
  not the ESPIPE of a pipe;
- the rights of a new fd are those asked for (and inheritable) as far as the
  host fd allows, so the same request through two directories gives the same
  rights (the suite compares a file's fdstat with its hard link's).
"""
import os

import pytest

from test_wasi_adversarial import (EBADF, EISDIR, ENOTDIR, EPERM, O_DIRECTORY, R_ALL,
                                   R_FD_READ, R_FD_WRITE, Guest, snapshot)
from wasabi.wasi import Preopen

ESPIPE = 70
R_FD_DATASYNC, R_FD_SEEK, R_FD_TELL = 1 << 0, 1 << 2, 1 << 5
R_PATH_OPEN, R_FD_FILESTAT_GET = 1 << 13, 1 << 21
O_CREAT = 1
FILETYPE_DIRECTORY, FILETYPE_REGULAR = 3, 4


def fdstat(g, fd):
    """(errno, filetype, rights_base, rights_inheriting)"""
    out = g.put(bytes(24))
    err = g.fd_fdstat_get(fd, out)
    data = g.memory.read(out, 24)
    return (err, data[0], int.from_bytes(data[8:16], "little"),
            int.from_bytes(data[16:24], "little"))


@pytest.fixture(params=[False, True], ids=["rw", "ro"])
def guest(request, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_bytes(b"data")
    g = Guest([Preopen(str(tmp_path), "/", readonly=request.param)])
    g.readonly = request.param
    return g


def test_a_directory_reopens_with_its_own_rights(guest, tmp_path):
    before = snapshot(tmp_path)
    _, _, base, inheriting = fdstat(guest, 3)
    assert base & R_FD_DATASYNC                      # the right that used to mean "write"
    for name in (".", "sub", "sub/"):
        for oflags in (O_DIRECTORY, 0):
            err, fd = guest.open(3, name, oflags, rights=base)
            assert err == 0, (name, oflags)
            assert fdstat(guest, fd)[1] == FILETYPE_DIRECTORY
            assert guest.fd_close(fd) == 0
    assert snapshot(tmp_path) == before


def test_a_directory_still_refuses_a_write_open(guest):
    # FD_WRITE asks to write data: a directory cannot be, as POSIX says (EISDIR);
    # below a read-only preopen any write is refused first
    expected = EPERM if guest.readonly else EISDIR
    assert guest.open(3, ".", O_DIRECTORY, rights=R_FD_READ | R_FD_WRITE)[0] == expected
    assert guest.open(3, "sub", 0, rights=R_FD_WRITE)[0] == expected


def test_incidental_write_rights_on_a_file_keep_their_old_answers(guest, tmp_path):
    # not a directory: a read-only preopen refuses, a writable one opens
    err, fd = guest.open(3, "file.txt", 0, rights=R_FD_READ | R_FD_DATASYNC)
    if guest.readonly:
        assert err == EPERM
    else:
        assert err == 0 and fdstat(guest, fd)[1] == FILETYPE_REGULAR
    assert guest.open(3, "file.txt", O_DIRECTORY, rights=R_FD_DATASYNC)[0] == ENOTDIR
    assert (tmp_path / "file.txt").read_bytes() == b"data"


def test_seeking_a_directory_is_ebadf(guest):
    err, fd = guest.open(3, "sub", O_DIRECTORY, rights=R_FD_SEEK | R_FD_TELL)
    assert err == 0
    assert fdstat(guest, fd)[2] & (R_FD_SEEK | R_FD_TELL) == 0
    out = guest.put(bytes(8))
    assert guest.fd_seek(fd, 0, 1, out) == EBADF
    assert guest.fd_tell(fd, out) == EBADF
    assert guest.fd_seek(3, 0, 0, out) == EBADF


def test_a_pipe_still_answers_espipe(tmp_path):
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stdin:
        g = Guest(stdin=stdin)
        assert g.fd_seek(0, 0, 1, g.put(bytes(8))) == ESPIPE
    os.close(write_end)


def test_the_same_request_gives_the_same_rights_through_any_directory(tmp_path):
    (tmp_path / "file.txt").write_bytes(b"data")
    g = Guest([Preopen(str(tmp_path), "/")])
    asked = R_FD_READ | R_PATH_OPEN | R_FD_FILESTAT_GET
    assert g.mkdir(3, "sub") == 0
    assert g.path_link(3, 0, *g.path("file.txt"), 3, *g.path("sub/link")) == 0
    # "sub" opened with narrow inheritable rights, then the link opened through it
    err, sub = g.open(3, "sub", O_DIRECTORY, rights=asked)
    assert err == 0
    direct = g.open(3, "file.txt", 0, rights=asked)[1]
    linked = g.open(sub, "link", 0, rights=asked)[1]
    assert fdstat(g, direct)[2:] == fdstat(g, linked)[2:]
    _, _, base, inheriting = fdstat(g, direct)
    assert base & asked == R_FD_READ | R_FD_FILESTAT_GET   # PATH_OPEN means nothing for a file
    assert not base & R_FD_WRITE and inheriting == asked
    # fdatasync still reaches the host on a read-only fd (wasi-libc asks no right for it)
    assert g.fd_datasync(direct) == 0


def test_rights_not_asked_for_are_not_granted(tmp_path):
    (tmp_path / "file.txt").write_bytes(b"data")
    g = Guest([Preopen(str(tmp_path), "/")])
    err, fd = g.open(3, "file.txt", 0, rights=R_FD_FILESTAT_GET)
    assert err == 0
    assert g.fd_read(fd, g.iov(bytes(4)), 1, g.put(bytes(4))) == EBADF
    err, fd = g.open(3, "file.txt", 0, rights=R_ALL)
    assert err == 0
    assert fdstat(g, fd)[2] & (R_FD_READ | R_FD_WRITE) == R_FD_READ | R_FD_WRITE
