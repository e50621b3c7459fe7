"""The Python side of WASI: the wasmer face (StateBuilder, Environment,
get_version, Version), imports as objects (called from Python, stored in
tables), wasi_unstable's layouts, memory binding and growth."""
import collections
import os

import pytest

wasmtime = pytest.importorskip("wasmtime")

import wasabi  # noqa: E402
from wasabi.runtime import instantiate  # noqa: E402
from wasabi.compiler import compile_module  # noqa: E402
from wasabi.wasi import (Environment, StateBuilder, Version, WasiConfig, WasiExit,  # noqa: E402
                         WasiFunction, bind_instance, get_version)

WASMER_NAMES = [
    "args_get", "args_sizes_get", "clock_res_get", "clock_time_get", "environ_get",
    "environ_sizes_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
    "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
    "fd_filestat_set_times", "fd_pread", "fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite",
    "fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
    "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
    "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
    "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "random_get", "sched_yield",
    "sock_recv", "sock_send", "sock_shutdown",
]


def module(wat):
    desc = wasabi.parse(wasmtime.wat2wasm(wat))
    return desc, compile_module(desc)


def test_version_enum_matches_wasmer():
    assert issubclass(Version, int)
    assert (Version.LATEST, Version.SNAPSHOT0, Version.SNAPSHOT1) == (1, 2, 3)
    assert len(Version) == 3


def test_get_version():
    def desc(*imports):
        body = "".join(f'(import "{m}" "{n}" (func))' for m, n in imports)
        return wasabi.parse(wasmtime.wat2wasm(f"(module {body})"))
    assert get_version(desc(("wasi_snapshot_preview1", "a")), strict=True) == Version.SNAPSHOT1
    assert get_version(desc(("wasi_unstable", "a")), strict=True) == Version.SNAPSHOT0
    mixed = desc(("env", "f"), ("wasi_snapshot_preview1", "a"))
    assert get_version(mixed, strict=True) is None
    assert get_version(mixed, strict=False) == Version.SNAPSHOT1
    assert get_version(desc(("env", "f")), strict=False) is None
    assert get_version(desc(), strict=True) is None
    assert get_version(wasmtime.wat2wasm('(module (import "wasi_unstable" "a" (func)))')) \
        == Version.SNAPSHOT0


def test_state_builder_chains_and_finalizes(tmp_path):
    builder = StateBuilder("prog")
    same = (builder.argument("--foo").arguments(["a", "b"]).environment("K", "V")
            .environments({"X": "Y"}).preopen_directory(str(tmp_path))
            .preopen_directories([str(tmp_path)]).map_directory("alias", str(tmp_path))
            .map_directories({"other": str(tmp_path)}))
    assert same is builder
    env = builder.finalize()
    assert isinstance(env, Environment)
    assert env.config.argv == ["prog", "--foo", "a", "b"]
    assert env.config.env == {"K": "V", "X": "Y"}
    assert [p.guest for p in env.config.preopens] == [str(tmp_path)] * 2 + ["alias", "other"]
    with pytest.raises(RuntimeError):
        StateBuilder("prog").map_directory("x", str(tmp_path / "missing"))
    built = StateBuilder("p", arguments=["1"], environments={"A": "B"},
                         map_directories={"d": str(tmp_path)}).finalize()
    assert built.config.argv == ["p", "1"] and built.config.env == {"A": "B"}


def test_generated_imports():
    env = StateBuilder("foo").finalize()
    imports = env.generate_imports(wasabi.runtime.Store(), Version.LATEST)
    assert isinstance(imports, dict)
    # wasmer 1.1's list, plus sock_accept (newer wasi-libc programs import it)
    assert sorted(imports["wasi_snapshot_preview1"]) == sorted(WASMER_NAMES + ["sock_accept"])
    assert all(isinstance(f, WasiFunction) for f in imports["wasi_snapshot_preview1"].values())
    old = env.generate_imports(None, Version.SNAPSHOT0)
    assert sorted(old["wasi_unstable"]) == WASMER_NAMES
    import_object = env.generate_import_object(wasabi.runtime.Store(), Version.SNAPSHOT1)
    assert "wasi_snapshot_preview1" in import_object
    assert hasattr(import_object, "register") or isinstance(import_object, dict)


def test_calling_wasi_functions_from_python():
    env = Environment(WasiConfig(argv=["x"]))
    wasi = env.generate_imports()["wasi_snapshot_preview1"]
    assert wasi["sched_yield"]() == 0
    assert wasi["fd_write"](1, 0, 0, 0) == 21        # no memory bound: every pointer is bad
    assert wasi["fd_close"](77) == 8
    with pytest.raises(WasiExit) as info:
        wasi["proc_exit"](3)
    assert info.value.code == 3 and env.exit_code == 3
    with pytest.raises(TypeError):
        wasi["fd_close"]()


WAT_TOOLS = """
(module
  (import "{ns}" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "{ns}" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "{ns}" "fd_seek" (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "{ns}" "fd_filestat_get" (func $fstat (param i32 i32) (result i32)))
  (import "{ns}" "random_get" (func $random (param i32 i32) (result i32)))
  (type $write_t (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 3)
  (table 1 funcref)
  (elem (i32.const 0) $fd_write)
  (data (i32.const 16) "f.txt")
  (data (i32.const 32) "\\28\\00\\00\\00\\03\\00\\00\\00abc")
  (func (export "open") (result i32)
    (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 5) (i32.const 0)
                     (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 100)))
  (func (export "seek") (param i32 i64 i32) (result i32)
    (call $fd_seek (local.get 0) (local.get 1) (local.get 2) (i32.const 200)))
  (func (export "fstat") (param i32) (result i32) (call $fstat (local.get 0) (i32.const 300)))
  (func (export "write_indirect") (result i32)
    (call_indirect (type $write_t) (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 400)
                   (i32.const 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "random_at") (param i32 i32) (result i32)
    (call $random (local.get 0) (local.get 1)))
)
"""


def u64(memory, offset):
    return int.from_bytes(memory.read(offset, 8), "little")


@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"0123456789")
    return tmp_path


@pytest.mark.parametrize("version", [Version.SNAPSHOT1, Version.SNAPSHOT0])
def test_layouts_per_version(version, data_dir):
    ns = "wasi_unstable" if version == Version.SNAPSHOT0 else "wasi_snapshot_preview1"
    desc, code = module(WAT_TOOLS.replace("{ns}", ns))
    env = Environment(WasiConfig(argv=["t"], preopens=[(str(data_dir), ".")], stdout="capture"))
    instance = instantiate(desc, code, env.generate_imports(None, version))
    assert bind_instance(instance) == 1
    e, memory = instance.exports, instance.exports["memory"]
    assert e.open() == 0
    fd = int.from_bytes(memory.read(100, 4), "little")
    set_, cur, end = (2, 0, 1) if version == Version.SNAPSHOT0 else (0, 1, 2)
    assert e.seek(fd, 3, set_) == 0 and u64(memory, 200) == 3
    assert e.seek(fd, 2, cur) == 0 and u64(memory, 200) == 5
    assert e.seek(fd, -1, end) == 0 and u64(memory, 200) == 9
    assert e.seek(fd, 0, 3) == 28
    assert e.fstat(fd) == 0
    assert memory.read(316, 1) == b"\x04"                      # a regular file
    if version == Version.SNAPSHOT0:
        assert int.from_bytes(memory.read(320, 4), "little") == 1   # u32 nlink
        assert u64(memory, 324) == 10                                # size
    else:
        assert u64(memory, 324) == 1 and u64(memory, 332) == 10
    assert e.write_indirect() == 0                             # a WASI import in a table
    assert env.stdout == b"abc"


def test_memory_growth_is_seen_by_pointer_checks():
    desc, code = module(WAT_TOOLS.replace("{ns}", "wasi_snapshot_preview1"))
    env = Environment(WasiConfig(argv=["t"]))
    instance = instantiate(desc, code, env.generate_imports())
    env.bind(instance)
    e = instance.exports
    assert e.random_at(65536 - 16, 16) == 0
    assert e.random_at(65536 - 16, 17) == 21                   # one byte past the end
    assert e.random_at(65536, 16) == 21
    assert e.grow(1) == 1
    assert e.random_at(65536, 65536) == 0                      # the new page is in bounds
    assert e.random_at(65536, 65537) == 21
    assert instance.exports["memory"].read(65536, 65536) != bytes(65536)


FUZZ_SKIP = {
    "poll_oneoff",    # random clock timeouts would sleep for years
    "fd_allocate",    # random lengths would really reserve disk space
    "proc_exit",
}


def test_random_arguments_never_crash(tmp_path):
    """Every import with random arguments over random memory: errnos, no crash,
    nothing written outside the preopen."""
    import random
    rng = random.Random(1234)
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "f").write_bytes(b"x" * 100)
    before_outside = sorted(os.listdir(tmp_path))
    desc, code = module(WAT_TOOLS.replace("{ns}", "wasi_snapshot_preview1"))
    env = Environment(WasiConfig(argv=["fuzz"], env={"A": "B"}, stdin=b"input",
                                 stdout="capture", stderr="capture",
                                 preopens=[(str(tmp_path / "box"), ".")]))
    instance = instantiate(desc, code, env.generate_imports())
    env.bind(instance)
    memory = instance.exports["memory"]
    memory.write(0, bytes(rng.getrandbits(8) for _ in range(65536)))
    wasi = {n: f for n, f in env.generate_imports()["wasi_snapshot_preview1"].items()
            if n not in FUZZ_SKIP}
    interesting = [0, 1, 2, 3, 4, 5, 8, 16, 24, 64, 4096, 65535, 65536, 0x7FFFFFFF,
                   -1, -2 ** 31]

    def arg(valtype):
        if rng.random() < 0.5:
            return rng.choice(interesting)
        if valtype == wasabi.binary.types.I64:
            return rng.getrandbits(64) - 2 ** 63
        return rng.randrange(0, 70000) if rng.random() < 0.8 else rng.getrandbits(32) - 2 ** 31

    names = sorted(wasi)
    seen = collections.Counter()
    for _ in range(4000):
        f = wasi[rng.choice(names)]
        result = f(*(arg(t) for t in f.functype.params))
        assert 0 <= result <= 76
        seen[result] += 1
    assert sorted(os.listdir(tmp_path)) == before_outside
    # not only EBADF/EFAULT: the calls got past the checks often enough
    assert seen[0] > 100 and len(seen) > 8


def test_wasmer_face_end_to_end(tmp_path, capfd):
    from wasi_programs.wasi_build import program
    (tmp_path / "x.txt").write_text("1234")
    store = wasabi.Store()
    module = wasabi.Module(store, program("ls"))
    version = get_version(module, strict=True)
    assert version == Version.SNAPSHOT1
    env = StateBuilder("ls").argument("data").map_directory("data", str(tmp_path)).finalize()
    instance = wasabi.Instance(module, env.generate_import_object(store, version))
    assert bind_instance(instance) == 1
    instance.exports._start()
    assert capfd.readouterr().out.endswith("  f 4 x.txt\n")


class Guest:
    """Raw WASI calls from Python over an instance's memory (scratch from offset 1024)."""

    def __init__(self, directory):
        desc, code = module(WAT_TOOLS.replace("{ns}", "wasi_snapshot_preview1"))
        self.env = Environment(WasiConfig(argv=["raw"], preopens=[(str(directory), ".")],
                                          stdout="capture"))
        self.instance = instantiate(desc, code, self.env.generate_imports())
        bind_instance(self.instance)
        self.memory = self.instance.exports["memory"]
        self.wasi = self.env.generate_imports()["wasi_snapshot_preview1"]

    def __getattr__(self, name):
        return self.wasi[name]

    def put(self, offset, data):
        self.memory.write(offset, data)
        return offset

    def u32(self, offset):
        return int.from_bytes(self.memory.read(offset, 4), "little")

    def u64(self, offset):
        return int.from_bytes(self.memory.read(offset, 8), "little")

    def path(self, text, offset=1024):
        return self.put(offset, text.encode()), len(text.encode())

    def open(self, name, oflags=0, rights=(1 << 30) - 1):
        assert self.path_open(3, 0, *self.path(name), oflags, rights, rights, 0, 100) == 0
        return self.u32(100)

    def write(self, fd, data):
        self.put(2048, data)
        self.put(200, (2048).to_bytes(4, "little") + len(data).to_bytes(4, "little"))
        return self.fd_write(fd, 200, 1, 104)


def test_fd_operations_directly(tmp_path):
    g = Guest(tmp_path)
    fd = g.open("a.txt", oflags=1)                     # O_CREAT
    assert g.write(fd, b"hello world") == 0 and g.u32(104) == 11
    assert g.fd_tell(fd, 108) == 0 and g.u64(108) == 11
    assert g.fd_advise(fd, 0, 10, 1) == 0 and g.fd_advise(fd, 0, 10, 9) == 28
    assert g.fd_allocate(fd, 0, 4096) == 0
    assert (tmp_path / "a.txt").stat().st_size == 4096
    assert g.fd_filestat_set_size(fd, 5) == 0
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    assert g.fd_sync(fd) == 0 and g.fd_datasync(fd) == 0
    assert g.fd_fdstat_get(fd, 300) == 0
    assert g.memory.read(300, 1) == b"\x04" and g.memory.read(302, 2) == b"\0\0"
    assert g.fd_fdstat_set_flags(fd, 1) == 0             # APPEND
    assert g.fd_fdstat_get(fd, 300) == 0 and g.memory.read(302, 2) == b"\x01\0"
    assert g.write(fd, b"!") == 0
    assert (tmp_path / "a.txt").read_bytes() == b"hello!"
    assert g.fd_fdstat_set_flags(fd, 2) == 58            # DSYNC is fixed at open
    # rights can be dropped, never regained
    assert g.fd_fdstat_set_rights(fd, 1 << 1, 0) == 0    # FD_READ only
    assert g.write(fd, b"?") == 8
    assert g.fd_fdstat_set_rights(fd, (1 << 1) | (1 << 6), 0) == 76
    # renumber moves the fd (over stdout), the old number is closed
    assert g.fd_renumber(fd, 1) == 0
    assert g.fd_close(fd) == 8 and g.write(1, b"?") == 8
    assert g.fd_renumber(1, 99) == 8
    assert g.fd_close(1) == 0
    assert (tmp_path / "a.txt").read_bytes() == b"hello!"


def test_prestat(tmp_path):
    g = Guest(tmp_path)
    assert g.fd_prestat_get(3, 300) == 0
    assert g.memory.read(300, 1) == b"\0" and g.u32(304) == 1
    assert g.fd_prestat_dir_name(3, 400, 1) == 0 and g.memory.read(400, 1) == b"."
    assert g.fd_prestat_dir_name(3, 400, 0) == 37        # ENAMETOOLONG
    assert g.fd_prestat_get(0, 300) == 8 and g.fd_prestat_get(4, 300) == 8


def test_readdir_pages_with_cookies(tmp_path):
    names = {f"entry-{i}" for i in range(7)}
    for name in names:
        (tmp_path / name).write_text(name)
    g = Guest(tmp_path)
    found, cookie = [], 0
    for _ in range(100):
        # a 40-byte buffer: one entry at a time, often cut short
        assert g.fd_readdir(3, 500, 40, cookie, 104) == 0
        used = g.u32(104)
        if used < 24:
            assert used == 0
            break
        namlen = g.u32(516)
        if 24 + namlen > used:                          # cut short: ask again, bigger
            assert g.fd_readdir(3, 600, 24 + namlen, cookie, 104) == 0
            base = 600
        else:
            base = 500
        found.append(g.memory.read(base + 24, namlen).decode())
        cookie = g.u64(base)
    assert sorted(found) == sorted(names | {".", ".."})
    assert g.fd_readdir(3, 500, 4096, cookie, 104) == 0 and g.u32(104) == 0
    assert g.fd_readdir(3, 500, 4096, 0, 104) == 0 and g.u32(104) > 24 * 9   # rewound


def test_path_operations_directly(tmp_path):
    g = Guest(tmp_path)
    (tmp_path / "f").write_text("data")
    assert g.path_create_directory(3, *g.path("d")) == 0
    assert g.path_create_directory(3, *g.path("d")) == 20             # EEXIST
    assert g.path_symlink(*g.path("f", 1100), 3, *g.path("d/../l")) == 0
    assert os.readlink(tmp_path / "l") == "f"
    assert g.path_readlink(3, *g.path("l"), 700, 1, 104) == 0         # truncated to 1 byte
    assert g.u32(104) == 1 and g.memory.read(700, 1) == b"f"
    assert g.path_readlink(3, *g.path("f"), 700, 10, 104) == 28        # not a link: EINVAL
    assert g.path_filestat_get(3, 1, *g.path("l"), 800) == 0
    assert g.memory.read(816, 1) == b"\x04" and g.u64(832) == 4       # followed: the file
    assert g.path_filestat_get(3, 0, *g.path("l"), 800) == 0
    assert g.memory.read(816, 1) == b"\x07"                           # the link itself
    assert g.path_filestat_set_times(3, 0, *g.path("f"), 5 * 10 ** 9, 7 * 10 ** 9, 1 | 4) == 0
    st = (tmp_path / "f").stat()
    assert (st.st_atime, st.st_mtime) == (5, 7)
    assert g.path_filestat_set_times(3, 0, *g.path("f"), 0, 0, 1 | 2) == 28
    assert g.path_link(3, 0, *g.path("f"), 3, *g.path("d/hard", 1100)) == 0
    assert (tmp_path / "f").stat().st_nlink == 2
    assert g.path_rename(3, *g.path("d/hard"), 3, *g.path("moved", 1100)) == 0
    assert g.path_remove_directory(3, *g.path("d")) == 0
    assert g.path_unlink_file(3, *g.path("moved/")) == 54              # ENOTDIR
    assert g.path_unlink_file(3, *g.path("moved")) == 0
    assert g.path_open(3, 0, *g.path("f/"), 0, 2, 0, 0, 100) == 54
    assert sorted(os.listdir(tmp_path)) == ["f", "l"]
