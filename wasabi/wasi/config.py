"""What a WASI program sees (argv, environment, directories, stdio), and how a
configuration is applied to a native context. The configuration object, WasiConfig,
is in environment.py, next to the Environment its finalize() makes:

    config = wasabi.WasiConfig(argv=["prog", "-v"], env={"HOME": "/"})
    config.preopen("data", "/data", readonly=True)
    config.stdin = b"input bytes"          # a Python bytes buffer
    config.stdout = "capture"              # collect into Environment.stdout
    config.virtual_root = True             # "/" lists "data" (wasmer's way; default off)
    env = config.finalize()                # the native WASI context

stdin / stdout / stderr each take:
    "inherit"           the host process's own descriptor 0 / 1 / 2 (the default)
    "capture"           stdout/stderr: an in-memory buffer (Environment.stdout/.stderr)
    bytes-like          stdin: reads these bytes, then end of file
    "null"              nothing in, everything out discarded (os.devnull)
    a path (str/Path)   a host file: read for stdin, created or truncated for output
    a file object       anything with fileno() (its descriptor is duplicated)

virtual_root: False (the default, as wasmtime and `wasabi run`): the guest's
directories are the preopens, fd 3 onwards, and "/" itself names nothing. True (as
wasmer, and the default of the wasmer face's StateBuilder): fd 3 is a read-only
directory "/" whose entries are the preopens with plain names, and the preopens
follow it (fd 4 onwards), so opendir("/") / Rust's fs::read_dir("/") list them.
Nothing can be created, removed, renamed or written in "/" itself (EROFS); below
an entry, that preopen's rules apply, and ".." never leads out of it
(wasabi/_native/wasi_root.c).
"""
import os as _os
from dataclasses import dataclass

INHERIT = "inherit"
CAPTURE = "capture"
NULL = "null"


@dataclass(frozen=True)
class Preopen:
    """A host directory the guest sees as `guest` (read-only: nothing below it may change)."""
    host: str
    guest: str
    readonly: bool = False


def as_preopen(item):
    if isinstance(item, Preopen):
        return item
    if isinstance(item, (str, _os.PathLike)):
        return Preopen(_os.fspath(item), _os.fspath(item))
    return Preopen(*item)


# ---- applying a configuration to a native context ----

def _encode(text):
    return text if isinstance(text, bytes) else _os.fsencode(text)


def _env_pairs(env):
    pairs = []
    for key, value in env.items():
        key, value = _encode(key), _encode(value)
        if b"=" in key or not key:
            raise ValueError(f"invalid environment variable name {key!r}")
        pairs.append(key + b"=" + value)
    return pairs


def _set_stdio(ctx, slot, spec):
    if isinstance(spec, str) and spec == INHERIT:
        ctx.set_stdio_host(slot, slot)
    elif isinstance(spec, str) and spec == CAPTURE:
        if slot == 0:
            raise ValueError('stdin cannot be "capture": give the input as bytes')
        ctx.set_stdio_buffer(slot, None)
    elif isinstance(spec, str) and spec == NULL:
        if slot == 0:
            ctx.set_stdio_buffer(0, None)
        else:
            _set_stdio_path(ctx, slot, _os.devnull)
    elif isinstance(spec, (bytes, bytearray, memoryview)):
        if slot != 0:
            raise ValueError('stdout/stderr collect output with "capture", not a bytes value')
        ctx.set_stdio_buffer(0, bytes(spec))
    elif isinstance(spec, (str, _os.PathLike)):
        _set_stdio_path(ctx, slot, spec)
    elif hasattr(spec, "fileno"):
        if hasattr(spec, "flush"):
            spec.flush()          # what Python buffered goes out before the guest writes
        ctx.set_stdio_host(slot, spec.fileno())
    else:
        raise TypeError(f"unsupported stdio setting {spec!r}")


def _set_stdio_path(ctx, slot, path):
    flags = _os.O_RDONLY if slot == 0 else _os.O_WRONLY | _os.O_CREAT | _os.O_TRUNC
    fd = _os.open(path, flags | getattr(_os, "O_CLOEXEC", 0), 0o666)
    try:
        ctx.set_stdio_host(slot, fd)     # the context keeps its own duplicate
    finally:
        _os.close(fd)


def apply(config, ctx):
    """Configure the native WasiContext `ctx` from `config` (OSError for a bad directory)."""
    ctx.set_args([_encode(a) for a in config.argv])
    ctx.set_env(_env_pairs(config.env))
    for slot, spec in enumerate((config.stdin, config.stdout, config.stderr)):
        _set_stdio(ctx, slot, spec)
    if getattr(config, "virtual_root", False):       # configs pickled before it existed
        ctx.virtual_root()
    for p in config.preopens:
        ctx.preopen(_os.fsencode(p.host), _encode(p.guest), bool(p.readonly))
