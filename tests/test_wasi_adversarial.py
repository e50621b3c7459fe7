"""Adversarial WASI: every escape and rights trick we know, against the native
WASI layer, with the host file system checked afterwards.

Most tricks are raw WASI calls made from Python through a module that imports
the WASI functions and re-exports them (the same C functions and context that
compiled code calls), so each call is exact: `..`, absolute paths, host and
guest symlinks (out of the preopen, dangling, loops), renumbering over stdio
and preopens, fd-table growth, links and renames across preopens, read-only
preopens (every mutating call refused), O_CREAT through dangling links, huge
iovecs, bad pointers. Then the thread rules: clones and instances sharing an
Environment get their own WASI state bound to their own memory, and calls on
one context from two threads are serialised.

Self-contained (the sanitizer run executes this file by name).
"""
import gc
import os
import stat
import subprocess
import sys
import threading

import pytest

import wasabi
from wasabi import _ext
from wasabi.runtime import instantiate
from wasabi.wasi import Environment, Preopen, WasiConfig, bind_instance

# ---- WASI constants (witx) ----
ESUCCESS, EBADF, EEXIST, EFAULT, EINVAL, EISDIR = 0, 8, 20, 21, 28, 31
ELOOP, ENOENT, ENOTCAPABLE, ENOTDIR, ENOTEMPTY, EPERM = 32, 44, 76, 54, 55, 63
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
FOLLOW = 1
FD_APPEND = 1
R_ALL = (1 << 30) - 1
R_FD_READ, R_FD_WRITE = 1 << 1, 1 << 6
R_WRITE_ANY = 1 | (1 << 6) | (1 << 8) | (1 << 22)   # any of these opens for writing
R_READ_ONLY = R_ALL & ~R_WRITE_ANY

SCRATCH = 4096          # guest memory from here on is the tests' scratch space


def _signature(params, results):
    names = {"i": "i32", "I": "i64"}
    p = " ".join(names[c] for c in params)
    r = " ".join(names[c] for c in results)
    return (f"(param {p})" if p else "") + (f" (result {r})" if r else "")


def reexport_wat(extra=""):
    """A module importing every WASI function and exporting it again, plus memory."""
    lines = ["(module"]
    for name, _, params, results in _ext.wasi_export_table(False):
        lines.append(f'  (import "wasi_snapshot_preview1" "{name}" '
                     f'(func ${name} {_signature(params, results)}))')
        lines.append(f'  (export "{name}" (func ${name}))')
    lines.append('  (memory (export "memory") 2)')
    lines.append(extra)
    lines.append(")")
    return "\n".join(lines)


_compiled = {}


def compiled(wat):
    if wat not in _compiled:
        from wasabi.compiler import compile_module
        desc = wasabi.parse(wasabi.wat2wasm(wat))
        _compiled[wat] = (desc, compile_module(desc))
    return _compiled[wat]


class Guest:
    """Raw WASI calls over one instance's memory; paths and results in scratch."""

    def __init__(self, preopens=(), env=None, wat=None, **config):
        desc, code = compiled(wat or reexport_wat())
        self.env = env or Environment(WasiConfig(argv=["adv"], preopens=list(preopens),
                                                 stdout=config.pop("stdout", "capture"),
                                                 **config))
        self.instance = instantiate(desc, code, self.env.generate_imports())
        bind_instance(self.instance)
        self.memory = self.instance.exports["memory"]
        self.at = SCRATCH

    def __getattr__(self, name):
        return self.instance.exports[name]

    def put(self, data):
        """Write bytes into fresh scratch; their guest address."""
        offset = self.at
        self.memory.write(offset, data)
        self.at += (len(data) + 15) & ~15
        if self.at > 60000:
            self.at = SCRATCH
        return offset

    def path(self, text):
        data = text.encode() if isinstance(text, str) else text
        return self.put(data), len(data)

    def u32(self, offset):
        return int.from_bytes(self.memory.read(offset, 4), "little")

    def open(self, dirfd, name, oflags=0, rights=R_ALL, fdflags=0, follow=FOLLOW):
        """(errno, fd)"""
        out = self.put(b"\xff" * 4)
        err = self.path_open(dirfd, follow, *self.path(name), oflags, rights, rights,
                             fdflags, out)
        return err, (self.u32(out) if err == 0 else None)

    def iov(self, data):
        buf = self.put(data)
        return self.put(buf.to_bytes(4, "little") + len(data).to_bytes(4, "little"))

    def write(self, fd, data):
        return self.fd_write(fd, self.iov(data), 1, self.put(bytes(4)))

    def mkdir(self, fd, name):
        return self.path_create_directory(fd, *self.path(name))


def snapshot(directory):
    """Every path below `directory`: kind, contents or link target, mode, mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                found[path] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                found[path] = ("dir", st.st_mtime_ns)
            else:
                with open(path, "rb") as f:
                    found[path] = ("file", f.read(), st.st_mtime_ns, st.st_nlink, st.st_size)
    return found


def open_host_fds():
    return len(os.listdir("/proc/self/fd"))


# ---- item 1: path_open read the directory entry after the fd table moved ----

def test_subdir_of_renumbered_read_only_preopen_stays_read_only_as_the_table_grows(tmp_path):
    """A --dir-ro preopen renumbered into slot 0, the table filled, then a
    directory opened below it: path_open used to read the preopen's read-only
    flag and inheritable rights from the freed old table (sometimes writable)."""
    ro = tmp_path / "ro"
    (ro / "sub").mkdir(parents=True)
    before = snapshot(tmp_path)
    for _ in range(25):
        g = Guest([Preopen(str(ro), "ro", readonly=True)])
        assert g.fd_renumber(3, 0) == 0
        occupied = 3                                   # 0 (the preopen), 1, 2
        for size in (8, 16, 32, 64, 128, 256):
            while occupied < size:                     # fill the table to the brim
                assert g.open(0, ".", O_DIRECTORY, rights=R_READ_ONLY)[0] == 0
                occupied += 1
            err, fd = g.open(0, "sub", O_DIRECTORY, rights=R_READ_ONLY)
            assert err == 0 and fd == size             # this open grew the table
            occupied += 1
            assert g.mkdir(fd, "made") == EPERM
            assert g.open(fd, "new.txt", O_CREAT)[0] == EPERM
        del g
        gc.collect()
    assert snapshot(tmp_path) == before


# ---- item 2: read-only preopens refuse every change, wherever it comes from ----
# Each probe is one guest function (fd 3: the read-only preopen "ro", fd 4: the
# writable "rw"), run in wasabi and, when the wasmtime package is installed,
# in wasmtime with the same directories: both must answer the same errno and
# leave the host unchanged.

READ_RIGHTS = R_READ_ONLY
RO_PROBES = {
    "link ro -> rw": '(call $path_link (i32.const 3) (i32.const 0) {secret.txt} (i32.const 4) {hard})',
    "link rw -> ro": '(call $path_link (i32.const 4) (i32.const 0) {file.txt} (i32.const 3) {hard})',
    "link ro -> ro": '(call $path_link (i32.const 3) (i32.const 0) {secret.txt} (i32.const 3) {hard})',
    "rename ro -> rw": '(call $path_rename (i32.const 3) {secret.txt} (i32.const 4) {moved})',
    "rename rw -> ro": '(call $path_rename (i32.const 4) {file.txt} (i32.const 3) {moved})',
    "rename in ro": '(call $path_rename (i32.const 3) {secret.txt} (i32.const 3) {moved})',
    "symlink in ro": '(call $path_symlink {secret.txt} (i32.const 3) {ln})',
    "unlink in ro": '(call $path_unlink_file (i32.const 3) {secret.txt})',
    "rmdir in ro": '(call $path_remove_directory (i32.const 3) {dir})',
    "mkdir in ro": '(call $path_create_directory (i32.const 3) {new})',
    "mkdir below ro": '(call $path_create_directory (i32.const 3) {dir/new})',
    "set times in ro": ('(call $path_filestat_set_times (i32.const 3) (i32.const 0) {secret.txt}'
                        ' (i64.const 0) (i64.const 0) (i32.const 10))'),
    "create in ro": ('(call $path_open (i32.const 3) (i32.const 0) {new.txt} (i32.const 1)'
                     f' (i64.const {READ_RIGHTS}) (i64.const {READ_RIGHTS}) (i32.const 0) (i32.const 0))'),
    "truncate in ro": ('(call $path_open (i32.const 3) (i32.const 0) {secret.txt} (i32.const 8)'
                       f' (i64.const {READ_RIGHTS}) (i64.const {READ_RIGHTS}) (i32.const 0) (i32.const 0))'),
    "open for writing in ro": ('(call $path_open (i32.const 3) (i32.const 0) {secret.txt} (i32.const 0)'
                               f' (i64.const {R_ALL}) (i64.const {R_ALL}) (i32.const 0) (i32.const 0))'),
    "open for writing below ro": ('(call $path_open (i32.const 3) (i32.const 0) {dir/inner.txt}'
                                  f' (i32.const 0) (i64.const {R_FD_WRITE}) (i64.const 0)'
                                  ' (i32.const 0) (i32.const 0))'),
    # the file opened for reading, then changed through its fd
    "fd_write on ro file": '(call $fd_write {ro_fd} (i32.const 16) (i32.const 1) (i32.const 8))',
    "fd_pwrite on ro file": ('(call $fd_pwrite {ro_fd} (i32.const 16) (i32.const 1) (i64.const 0)'
                             ' (i32.const 8))'),
    "fd_filestat_set_size on ro file": '(call $fd_filestat_set_size {ro_fd} (i64.const 0))',
    "fd_allocate on ro file": '(call $fd_allocate {ro_fd} (i64.const 0) (i64.const 4096))',
    "fd_filestat_set_times on ro file": ('(call $fd_filestat_set_times {ro_fd} (i64.const 0)'
                                         ' (i64.const 0) (i32.const 10))'),
    "fd_filestat_set_times on ro preopen": ('(call $fd_filestat_set_times (i32.const 3)'
                                            ' (i64.const 0) (i64.const 0) (i32.const 10))'),
}
# wasmtime implements no fd_allocate at all (ENOTSUP for every file); wasabi
# allocates on writable files, so below a read-only preopen it answers EPERM
WASMTIME_DIFFERS = {"fd_allocate on ro file": (EPERM, 58)}
RO_STRINGS = ["secret.txt", "file.txt", "hard", "moved", "ln", "dir", "new", "dir/new", "new.txt",
              "dir/inner.txt"]


def probe_wat(probes):
    """A module with one exported function per probe (its errno as i32)."""
    data, offsets, at = [], {}, 256
    for s in RO_STRINGS:
        offsets[s] = (at, len(s))
        data.append(f'  (data (i32.const {at}) "{s}")')
        at += 32
    imports = []
    for name, _, params, results in _ext.wasi_export_table(False):
        imports.append(f'  (import "wasi_snapshot_preview1" "{name}" '
                       f'(func ${name} {_signature(params, results)}))')
    open_ro = ('(call $path_open (i32.const 3) (i32.const 0) (i32.const {p}) (i32.const {n})'
               ' (i32.const 0) (i64.const {r}) (i64.const {r}) (i32.const 0) (i32.const 0))')
    p, n = offsets["secret.txt"]
    funcs = []
    for i, (label, body) in enumerate(probes.items()):
        for s, (off, length) in offsets.items():
            body = body.replace("{" + s + "}", f"(i32.const {off}) (i32.const {length})")
        prologue = ""
        if "{ro_fd}" in body:
            prologue = (f"(local.set $e {open_ro.format(p=p, n=n, r=READ_RIGHTS)})"
                        "(if (local.get $e) (then (return (i32.add (i32.const 1000) (local.get $e)))))")
            body = body.replace("{ro_fd}", "(i32.load (i32.const 0))")
        funcs.append(f'  (func (export "p{i}") (result i32) (local $e i32) {prologue} {body})')
    # iovec at 16: 4 bytes "XXXX" at 64
    return "\n".join(["(module", *imports, '  (memory (export "memory") 1)',
                      '  (data (i32.const 16) "\\40\\00\\00\\00\\04\\00\\00\\00")',
                      '  (data (i32.const 64) "XXXX")', *data, *funcs, ")"])


def ro_layout(root):
    ro, rw = root / "ro", root / "rw"
    (ro / "dir").mkdir(parents=True)
    rw.mkdir()
    (ro / "secret.txt").write_bytes(b"read-only contents")
    (ro / "dir" / "inner.txt").write_bytes(b"inner")
    (rw / "file.txt").write_bytes(b"writable")
    os.utime(ro / "secret.txt", (1000, 1000))
    return ro, rw


def run_probes_wasabi(root, wat, count):
    ro, rw = ro_layout(root)
    before = snapshot(root)
    results = []
    for i in range(count):
        g = Guest([Preopen(str(ro), "ro", readonly=True), Preopen(str(rw), "rw")], wat=wat)
        results.append(g.instance.exports[f"p{i}"]())
    return results, before, snapshot(root)


def run_probes_wasmtime(root, wat, count):
    wasmtime = pytest.importorskip("wasmtime")
    ro, rw = ro_layout(root)
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wat)
    results = []
    for i in range(count):
        config = wasmtime.WasiConfig()
        config.preopen_dir(str(ro), "ro", False)
        config.preopen_dir(str(rw), "rw", True)
        store = wasmtime.Store(engine)
        store.set_wasi(config)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        instance = linker.instantiate(store, module)
        results.append(instance.exports(store)[f"p{i}"](store))
    return results


def test_read_only_preopen_refuses_every_change_as_wasmtime_does(tmp_path):
    wat = probe_wat(RO_PROBES)
    ours, before, after = run_probes_wasabi(tmp_path / "wasabi", wat, len(RO_PROBES))
    assert after == before
    got = dict(zip(RO_PROBES, ours))
    assert all(v != 0 for v in got.values()), got
    try:
        theirs = dict(zip(RO_PROBES, run_probes_wasmtime(tmp_path / "wasmtime", wat,
                                                          len(RO_PROBES))))
    except pytest.skip.Exception:
        theirs = None
    if theirs is not None:
        for label, (ours_errno, theirs_errno) in WASMTIME_DIFFERS.items():
            assert (got.pop(label), theirs.pop(label)) == (ours_errno, theirs_errno)
        assert got == theirs


def test_hard_link_out_of_a_read_only_preopen_cannot_change_its_file(tmp_path):
    """The issue's exploit: link a read-only file into a writable preopen, open
    the link with O_TRUNC and write."""
    ro, rw = ro_layout(tmp_path)
    g = Guest([Preopen(str(ro), "ro", readonly=True), Preopen(str(rw), "rw")])
    assert g.path_link(3, 0, *g.path("secret.txt"), 4, *g.path("hard")) == EPERM
    err, fd = g.open(4, "hard", O_CREAT | O_TRUNC)
    assert err == 0 and g.write(fd, b"owned") == 0
    assert (ro / "secret.txt").read_bytes() == b"read-only contents"
    assert (ro / "secret.txt").stat().st_nlink == 1


# ---- items 5 and 6: whose WASI state, on which thread ----

WORK_WAT = reexport_wat('''
  (func (export "fill") (param i32 i32) (result i32) (call $random_get (local.get 0) (local.get 1)))
  (func (export "work") (param $n i32) (result i32)
    (local $e i32)
    (i32.store (i32.const 40) (i32.const 100))     ;; iovec for fd_write: 8 bytes at 100
    (i32.store (i32.const 44) (i32.const 8))
    (i32.store (i32.const 48) (i32.const 2000))    ;; iovec for fd_read: 16 bytes at 2000
    (i32.store (i32.const 52) (i32.const 16))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $e (call $random_get (i32.const 3000) (i32.const 64)))
        (br_if $done (local.get $e))
        (local.set $e (call $fd_read (i32.const 0) (i32.const 48) (i32.const 1) (i32.const 56)))
        (br_if $done (local.get $e))
        (local.set $e (call $fd_write (i32.const 1) (i32.const 40) (i32.const 1) (i32.const 60)))
        (br_if $done (local.get $e))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $e))
  (func (export "read_fd") (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 560) (local.get $ptr))
    (i32.store (i32.const 564) (local.get $len))
    (call $fd_read (local.get $fd) (i32.const 560) (i32.const 1) (i32.const 568)))
  (func (export "churn") (param $n i32) (result i32)
    ;; open and close the preopen's "." n times
    (local $e i32)
    (i32.store8 (i32.const 80) (i32.const 46))
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 80) (i32.const 1)
                                       (i32.const 2) (i64.const 0) (i64.const 0) (i32.const 0)
                                       (i32.const 84)))
        (br_if $done (local.get $e))
        (local.set $e (call $fd_close (i32.load (i32.const 84))))
        (br_if $done (local.get $e))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $e))
''')

STDIN = bytes(range(256)) * 4096


def zeroed(memory, offset, n):
    return memory.read(offset, n) == bytes(n)


@pytest.mark.parametrize("rounds", [20, pytest.param(500, marks=pytest.mark.slow)])
def test_clone_gets_its_own_wasi_state_bound_to_its_own_memory(tmp_path, rounds):
    from wasabi.runtime.clone import clone_instance
    g = Guest([str(tmp_path)], wat=WORK_WAT, stdin=STDIN)
    original = g.instance
    original.exports["memory"].write(100, b"ORIGINAL")
    original.exports["memory"].write(3000, bytes(64))
    clone = clone_instance(original)
    clone.exports["memory"].write(100, b"CLONE___")
    # the clone's random_get, fd_read and fd_write use the clone's memory
    assert clone.exports["fill"](3000, 64) == 0
    assert zeroed(original.exports["memory"], 3000, 64)
    assert not zeroed(clone.exports["memory"], 3000, 64)
    errors = []

    def run(instance, rounds):
        try:
            for _ in range(rounds):
                assert instance.exports["work"](200) == 0
        except BaseException as exc:           # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, rounds)) for i in (original, clone)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    n = rounds * 200
    assert g.env.stdout == b"ORIGINAL" * n
    assert g.env.state_of(clone).stdout == b"CLONE___" * n
    # each read the same stdin from where the original was when cloned
    assert original.exports["memory"].read(2000, 16) == clone.exports["memory"].read(2000, 16)


def test_clone_duplicates_open_files_and_preopens(tmp_path):
    """The clone's fds are its own duplicates: the original closing its file and
    its preopen leaves the clone's open (the offset is shared, as after fork)."""
    from wasabi.runtime.clone import clone_instance
    (tmp_path / "f.txt").write_bytes(b"0123456789")
    g = Guest([Preopen(str(tmp_path), "d")], wat=WORK_WAT)
    err, fd = g.open(3, "f.txt", rights=R_READ_ONLY)
    assert err == 0
    assert g.instance.exports["read_fd"](fd, 2100, 3) == 0
    clone = clone_instance(g.instance)
    assert g.fd_close(fd) == 0 and g.fd_close(3) == 0
    assert g.instance.exports["read_fd"](fd, 2100, 3) == EBADF
    assert clone.exports["read_fd"](fd, 2100, 3) == 0
    assert clone.exports["memory"].read(2100, 3) == b"345"
    assert clone.exports["churn"](10) == 0           # its preopen is still open
    del clone
    gc.collect()


def test_one_environment_for_two_instances_gives_each_its_own_state(tmp_path):
    env = Environment(WasiConfig(argv=["two"], preopens=[str(tmp_path)], stdin=STDIN,
                                 stdout="capture"))
    a = Guest(env=env, wat=WORK_WAT)
    b = Guest(env=env, wat=WORK_WAT)
    for guest, marker in ((a, b"AAAAAAAA"), (b, b"BBBBBBBB")):
        guest.memory.write(100, marker)
        guest.memory.write(3000, bytes(64))
    assert a.instance.exports["fill"](3000, 64) == 0
    assert not zeroed(a.memory, 3000, 64) and zeroed(b.memory, 3000, 64)
    assert a.instance.exports["work"](3) == 0 and b.instance.exports["work"](2) == 0
    assert env.state_of(a.instance).stdout == b"AAAAAAAA" * 3
    assert env.state_of(b.instance).stdout == b"BBBBBBBB" * 2
    assert env.stdout == b"AAAAAAAA" * 3          # the Environment's own: the first instance's
    # each read stdin from the start
    assert a.memory.read(2000, 16) == STDIN[32:48] and b.memory.read(2000, 16) == STDIN[16:32]


@pytest.mark.parametrize("rounds", [40, pytest.param(400, marks=pytest.mark.slow)])
def test_python_calls_and_the_running_instance_share_the_fd_table_safely(tmp_path, rounds):
    """A thread calling the import object's path_open/fd_close (or an export
    re-exporting them) while another thread runs the instance doing the same:
    calls on one context are serialised, so no fd is lost or closed twice.
    Without the lock, 40 rounds lost fds in about 1 run of 3, 400 in every run."""
    g = Guest([str(tmp_path)], wat=WORK_WAT)
    baseline = open_host_fds()
    wasi = g.env.generate_imports()["wasi_snapshot_preview1"]
    name = g.put(b".")
    stop = threading.Event()
    errors = []

    def from_python():
        out = g.put(bytes(4))
        try:
            while not stop.is_set():
                assert wasi["path_open"](3, 0, name, 1, O_DIRECTORY, 0, 0, 0, out) == 0
                fd = g.u32(out)
                assert g.instance.exports["fd_close"](fd) in (0, EBADF)
        except BaseException as exc:
            errors.append(exc)

    # one Python thread: two at once on one context get the runtime's "running
    # on another thread" error from the entry gate of the context's header
    threads = [threading.Thread(target=from_python)]
    for t in threads:
        t.start()
    try:
        for _ in range(rounds):
            assert g.instance.exports["churn"](1000) == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    # every guest fd above the preopen closed: the host has what it had
    for fd in range(4, 64):
        g.fd_close(fd)
    assert open_host_fds() == baseline


# ---- escapes: `..`, absolute paths, host and guest symlinks, dangling links ----

def escape_layout(root):
    outside, box = root / "outside", root / "box"
    outside.mkdir()
    (box / "inner").mkdir(parents=True)
    (outside / "secret.txt").write_bytes(b"secret")
    (box / "inner" / "f.txt").write_bytes(b"inside")
    links = {"out_rel": "../outside/secret.txt", "out_abs": str(outside / "secret.txt"),
             "out_dir": "../outside", "loop_a": "loop_b", "loop_b": "loop_a",
             "dangling": "nothing_here", "dangling_out": "../outside/new.txt",
             "ok_link": "inner/f.txt"}
    for name, target in links.items():
        os.symlink(target, box / name)
    return outside, box


ESCAPES = [
    # (what, call, expected errno)
    ("..", lambda g: g.open(3, "../outside/secret.txt")[0], EPERM),
    ("inner/../..", lambda g: g.open(3, "inner/../../outside/secret.txt")[0], EPERM),
    ("absolute", lambda g: g.open(3, "/etc/passwd")[0], EPERM),
    ("host link out", lambda g: g.open(3, "out_rel")[0], EPERM),
    ("host link absolute", lambda g: g.open(3, "out_abs")[0], EPERM),
    ("host dir link out", lambda g: g.open(3, "out_dir/secret.txt")[0], EPERM),
    ("link loop", lambda g: g.open(3, "loop_a")[0], ELOOP),
    ("nofollow on a link", lambda g: g.open(3, "out_rel", follow=0)[0], ELOOP),
    ("O_CREAT through a dangling link out", lambda g: g.open(3, "dangling_out", O_CREAT)[0],
     EPERM),
    ("O_CREAT|O_EXCL on a dangling link", lambda g: g.open(3, "dangling", O_CREAT | O_EXCL)[0],
     EEXIST),
    ("mkdir through a link out", lambda g: g.mkdir(3, "out_dir/new"), EPERM),
    ("mkdir ..", lambda g: g.mkdir(3, "../new"), EPERM),
    ("rename out", lambda g: g.path_rename(3, *g.path("inner/f.txt"), 3, *g.path("../stolen")),
     EPERM),
    ("rename in", lambda g: g.path_rename(3, *g.path("../outside/secret.txt"), 3,
                                          *g.path("stolen")), EPERM),
    ("rename through a link", lambda g: g.path_rename(3, *g.path("out_dir/secret.txt"), 3,
                                                      *g.path("stolen")), EPERM),
    ("link in (followed)", lambda g: g.path_link(3, FOLLOW, *g.path("out_rel"), 3,
                                                 *g.path("stolen")), EPERM),
    ("link through a dir link", lambda g: g.path_link(3, 0, *g.path("out_dir/secret.txt"), 3,
                                                      *g.path("stolen")), EPERM),
    ("symlink absolute", lambda g: g.path_symlink(*g.path("/etc/passwd"), 3, *g.path("abs")),
     EPERM),
    ("unlink ..", lambda g: g.path_unlink_file(3, *g.path("../outside/secret.txt")), EPERM),
    ("unlink through a link", lambda g: g.path_unlink_file(3, *g.path("out_dir/secret.txt")),
     EPERM),
    ("rmdir ..", lambda g: g.path_remove_directory(3, *g.path("..")), EPERM),
    ("stat through a link", lambda g: g.path_filestat_get(3, FOLLOW, *g.path("out_rel"),
                                                          g.put(bytes(64))), EPERM),
    ("set times through a link", lambda g: g.path_filestat_set_times(
        3, FOLLOW, *g.path("out_rel"), 0, 0, 2 | 8), EPERM),
    ("readlink ..", lambda g: g.path_readlink(3, *g.path("../outside/secret.txt"),
                                              g.put(bytes(64)), 64, g.put(bytes(4))), EPERM),
    ("NUL in a path", lambda g: g.open(3, "inner\0/f.txt")[0], EINVAL),
    ("empty path", lambda g: g.open(3, "")[0], ENOENT),
    ("path too long", lambda g: g.open(3, "a/" * 2100)[0], 37),
    ("path pointer out of memory", lambda g: g.path_open(3, 0, 0xFFFFFFF0, 32, 0, R_ALL, R_ALL,
                                                         0, g.put(bytes(4))), EFAULT),
    ("path length past memory", lambda g: g.path_open(3, 0, 65000, 200000, 0, R_ALL, R_ALL, 0,
                                                      g.put(bytes(4))), EFAULT),
    ("result pointer out of memory, O_CREAT", lambda g: g.path_open(
        3, 0, *g.path("created"), O_CREAT, R_ALL, R_ALL, 0, 0xFFFFFFFE), EFAULT),
]


@pytest.mark.parametrize("what,call,expected", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_escape_attempt_is_refused_and_the_host_is_unchanged(tmp_path, what, call, expected):
    outside, box = escape_layout(tmp_path)
    before = snapshot(tmp_path)
    g = Guest([Preopen(str(box), ".")])
    assert call(g) == expected
    assert snapshot(tmp_path) == before


def test_guest_made_symlinks_cannot_escape(tmp_path):
    outside, box = escape_layout(tmp_path)
    g = Guest([Preopen(str(box), ".")])
    assert g.path_symlink(*g.path("../outside"), 3, *g.path("g_out")) == 0    # made, not followed
    assert g.path_symlink(*g.path("g_loop2"), 3, *g.path("g_loop1")) == 0
    assert g.path_symlink(*g.path("g_loop1"), 3, *g.path("g_loop2")) == 0
    assert g.path_symlink(*g.path("g_out/new.txt"), 3, *g.path("g_dangling")) == 0
    before = snapshot(outside)
    assert g.open(3, "g_out/secret.txt")[0] == EPERM
    assert g.open(3, "g_loop1")[0] == ELOOP
    assert g.open(3, "g_dangling", O_CREAT)[0] == EPERM
    assert g.mkdir(3, "g_out/d") == EPERM
    assert g.path_rename(3, *g.path("inner/f.txt"), 3, *g.path("g_out/f.txt")) == EPERM
    assert snapshot(outside) == before
    assert os.readlink(box / "g_out") == "../outside"
    # a link made inside, pointing inside, works
    assert g.path_symlink(*g.path("inner/f.txt"), 3, *g.path("g_ok")) == 0
    assert g.open(3, "g_ok")[0] == 0


# ---- the fd table: renumbering over stdio and preopens, growth ----

def test_renumber_over_stdio_and_preopens(tmp_path):
    outside, box = escape_layout(tmp_path)
    before = snapshot(outside)
    g = Guest([Preopen(str(box), "."), Preopen(str(box / "inner"), "inner", readonly=True)])
    assert g.fd_renumber(3, 1) == 0                      # the preopen over stdout
    assert g.write(1, b"x") == EBADF                     # a directory: no FD_WRITE
    assert g.fd_prestat_get(1, g.put(bytes(8))) == 0 and g.fd_prestat_get(3, g.put(bytes(8))) == EBADF
    assert g.open(1, "../outside/secret.txt")[0] == EPERM
    assert g.open(1, "inner/f.txt")[0] == 0
    # the read-only preopen renumbered over the writable one stays read-only
    assert g.fd_renumber(4, 1) == 0
    assert g.mkdir(1, "d") == EPERM and g.open(1, "new", O_CREAT)[0] == EPERM
    assert g.fd_renumber(0, 1) == 0                      # stdin over it: no directory left
    assert g.open(1, "f.txt")[0] == ENOTDIR
    assert g.fd_renumber(9, 1) == EBADF and g.fd_renumber(1, 9) == EBADF
    assert g.fd_renumber(1, 0xFFFFFFFF) == EBADF and g.fd_renumber(1, 1) == 0
    assert g.env.stdout == b""
    assert snapshot(outside) == before
    assert sorted(os.listdir(box / "inner")) == ["f.txt"]


def test_fd_table_growth_with_opens_closes_and_renumbers(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"x")
    g = Guest([Preopen(str(tmp_path), ".")])
    baseline = open_host_fds()
    fds = []
    for _ in range(300):                               # several chunks
        err, fd = g.open(3, "f.txt", rights=R_READ_ONLY)
        assert err == 0
        fds.append(fd)
    assert fds == list(range(4, 304))
    for fd in fds[::2]:                                # holes, refilled lowest first
        assert g.fd_close(fd) == 0
    assert g.open(3, "f.txt", rights=R_READ_ONLY) == (0, 4)
    for fd in fds[1::2]:                               # move every odd one down a slot
        assert g.fd_renumber(fd, fd - 1 if fd - 1 != 4 else 4) in (0, EBADF)
    for fd in range(4, 400):
        g.fd_close(fd)
    assert open_host_fds() == baseline
    for fd in range(4, 400):
        assert g.fd_fdstat_get(fd, g.put(bytes(24))) == EBADF
    assert g.open(3, "f.txt", rights=R_READ_ONLY) == (0, 4)


@pytest.mark.slow
def test_fd_table_to_the_host_limit_and_back(tmp_path):
    """Opening until the host refuses gives EMFILE/ENFILE, never a crash; all
    of them close again."""
    (tmp_path / "f.txt").write_bytes(b"x")
    g = Guest([Preopen(str(tmp_path), ".")])
    baseline = open_host_fds()
    opened = 0
    while True:
        err, _ = g.open(3, "f.txt", rights=R_READ_ONLY)
        if err:
            assert err in (33, 41)                     # EMFILE, ENFILE
            break
        opened += 1
    assert opened > 100
    for fd in range(4, 4 + opened):
        assert g.fd_close(fd) == 0
    assert open_host_fds() == baseline


# ---- iovecs and pointers ----

def test_huge_and_bad_iovecs(tmp_path):
    g = Guest([Preopen(str(tmp_path), ".")])
    err, fd = g.open(3, "out.bin", O_CREAT)
    assert err == 0
    nwritten = g.put(bytes(4))
    assert g.fd_write(fd, 60000, 0x10000000, nwritten) == EFAULT      # the array itself
    assert g.fd_write(fd, 0xFFFFFFF8, 1, nwritten) == EFAULT
    bad = g.put((100).to_bytes(4, "little") + (0xFFFFFFFF).to_bytes(4, "little"))
    assert g.fd_write(fd, bad, 1, nwritten) == EFAULT                # a buffer past memory
    end = g.memory.data_size
    last = g.put((end - 1).to_bytes(4, "little") + (1).to_bytes(4, "little"))
    assert g.fd_write(fd, last, 1, nwritten) == 0 and g.u32(nwritten) == 1
    past = g.put((end - 1).to_bytes(4, "little") + (2).to_bytes(4, "little"))
    assert g.fd_write(fd, past, 1, nwritten) == EFAULT
    # 1000 one-byte iovecs: all written, in order
    data = g.put(bytes(range(250)) * 4)
    array = g.put(b"".join((data + i).to_bytes(4, "little") + (1).to_bytes(4, "little")
                           for i in range(1000)))
    assert g.fd_write(fd, array, 1000, nwritten) == 0 and g.u32(nwritten) == 1000
    assert g.fd_write(fd, array, 1000, 0xFFFFFFFF) == EFAULT          # result pointer
    assert (tmp_path / "out.bin").read_bytes() == b"\0" + bytes(range(250)) * 4
    # reads into memory past the end are refused before the host reads
    err, rfd = g.open(3, "out.bin", rights=R_READ_ONLY)
    assert g.fd_read(rfd, past, 1, nwritten) == EFAULT
    one = g.put(g.put(bytes(8)).to_bytes(4, "little") + (1).to_bytes(4, "little"))
    assert g.fd_read(rfd, one, 1, nwritten) == 0 and g.u32(nwritten) == 1
    assert g.random_get(end - 8, 16) == EFAULT and g.random_get(0xFFFFFFFF, 2) == EFAULT
    assert g.args_get(0xFFFFFFFC, 0) == EFAULT
    assert g.fd_readdir(3, end - 4, 100, 0, nwritten) == EFAULT


# ---- the CLI: --dir-ro next to --dir ----

CLI_LINK_WAT = r'''(module
  (import "wasi_snapshot_preview1" "path_link"
    (func $link (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "secret.txt")
  (data (i32.const 32) "hard")
  (data (i32.const 48) "\40\00\00\00\05\00\00\00")
  (data (i32.const 64) "owned")
  (func (export "_start")
    (local $ro i32) (local $rw i32) (local $err i32)
    ;; which of fds 3 and 4 is "/ro"
    (drop (call $name (i32.const 3) (i32.const 100) (i32.const 3)))
    (local.set $ro (select (i32.const 3) (i32.const 4) (i32.eq (i32.load8_u (i32.const 102))
                                                                (i32.const 111))))
    (local.set $rw (i32.sub (i32.const 7) (local.get $ro)))
    (local.set $err (call $link (local.get $ro) (i32.const 0) (i32.const 16) (i32.const 10)
                              (local.get $rw) (i32.const 32) (i32.const 4)))
    ;; O_CREAT|O_TRUNC and write, as the exploit did
    (if (i32.eqz (call $open (local.get $rw) (i32.const 0) (i32.const 32) (i32.const 4)
                             (i32.const 9) (i64.const 0x3fffffff) (i64.const 0x3fffffff)
                             (i32.const 0) (i32.const 200)))
      (then (drop (call $write (i32.load (i32.const 200)) (i32.const 48) (i32.const 1)
                               (i32.const 204)))))
    (call $exit (local.get $err))))
'''


def test_cli_dir_ro_next_to_dir_refuses_the_link(tmp_path):
    ro, rw = ro_layout(tmp_path)
    before = snapshot(ro)
    program = tmp_path / "link.wat"
    program.write_text(CLI_LINK_WAT)
    done = subprocess.run([sys.executable, "-m", "wasabi", "run", "--no-cache",
                           "--dir-ro", f"{ro}::/ro", "--dir", f"{rw}::/rw", str(program)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == EPERM, done.stderr
    assert snapshot(ro) == before
    assert (rw / "hard").read_bytes() == b"owned"          # a new file, not the secret
