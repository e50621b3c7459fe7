"""WasiConfig: what a WASI program sees (argv, environment, directories, stdio).

    config = wasabi.WasiConfig(argv=["prog", "-v"], env={"HOME": "/"})
    config.preopen("data", "/data", readonly=True)
    config.stdin = b"input bytes"          # a Python bytes buffer
    config.stdout = "capture"              # collect into Environment.stdout
    env = config.finalize()                # the native WASI context

stdin / stdout / stderr each take:
    "inherit"           the host process's own descriptor 0 / 1 / 2 (the default)
    "capture"           stdout/stderr: an in-memory buffer (Environment.stdout/.stderr)
    bytes-like          stdin: reads these bytes, then end of file
    "null"              nothing in, everything out discarded (os.devnull)
    a path (str/Path)   a host file: read for stdin, created or truncated for output
    a file object       anything with fileno() (its descriptor is duplicated)
"""
import os
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


def _as_preopen(item):
    if isinstance(item, Preopen):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Preopen(os.fspath(item), os.fspath(item))
    return Preopen(*item)


class WasiConfig:
    def __init__(self, argv=None, env=None, preopens=(), stdin=INHERIT, stdout=INHERIT,
                 stderr=INHERIT):
        self.argv = list(argv) if argv is not None else []
        self.env = dict(env) if env is not None else {}
        self.preopens = [_as_preopen(p) for p in preopens]
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    def preopen(self, host, guest=None, readonly=False):
        """Give the guest `host` (a directory) under the name `guest` (default: `host`)."""
        host = os.fspath(host)
        self.preopens.append(Preopen(host, host if guest is None else os.fspath(guest),
                                     readonly))
        return self

    def inherit_env(self):
        """Pass the host process's environment (added under the variables already set)."""
        self.env = {**os.environ, **self.env}
        return self

    def finalize(self):
        """A new Environment (native context) with this configuration."""
        from .environment import Environment
        return Environment(self)

    def __repr__(self):
        return (f"WasiConfig(argv={self.argv!r}, env={self.env!r}, preopens={self.preopens!r}, "
                f"stdin={self.stdin!r}, stdout={self.stdout!r}, stderr={self.stderr!r})")


# ---- applying a configuration to a native context ----

def _encode(text):
    return text if isinstance(text, bytes) else os.fsencode(text)


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
            _set_stdio_path(ctx, slot, os.devnull)
    elif isinstance(spec, (bytes, bytearray, memoryview)):
        if slot != 0:
            raise ValueError('stdout/stderr collect output with "capture", not a bytes value')
        ctx.set_stdio_buffer(0, bytes(spec))
    elif isinstance(spec, (str, os.PathLike)):
        _set_stdio_path(ctx, slot, spec)
    elif hasattr(spec, "fileno"):
        if hasattr(spec, "flush"):
            spec.flush()          # what Python buffered goes out before the guest writes
        ctx.set_stdio_host(slot, spec.fileno())
    else:
        raise TypeError(f"unsupported stdio setting {spec!r}")


def _set_stdio_path(ctx, slot, path):
    flags = os.O_RDONLY if slot == 0 else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        ctx.set_stdio_host(slot, fd)     # the context keeps its own duplicate
    finally:
        os.close(fd)


def apply(config, ctx):
    """Configure the native WasiContext `ctx` from `config` (OSError for a bad directory)."""
    ctx.set_args([_encode(a) for a in config.argv])
    ctx.set_env(_env_pairs(config.env))
    for slot, spec in enumerate((config.stdin, config.stdout, config.stderr)):
        _set_stdio(ctx, slot, spec)
    for p in config.preopens:
        ctx.preopen(os.fsencode(p.host), _encode(p.guest), bool(p.readonly))
