"""An on-disk cache of EAGER machine code, as wasmtime's CLI keeps one.

    compiled = compile_bytes(wasm, Options(cache=True))    # a CompiledModule

An entry is the bytes of artifact.py (wasm, objects, and the key of the
machine the code was made for), named by a hash of the wasm bytes, the code options
(Options.code) and that machine key, so that another wasabi, LLVM or CPU never
finds it. A hit parses and validates the wasm again (fast) and links the
stored objects: no LLVM code generation. A missing, unreadable, corrupt or
stale entry is compiled afresh and written again, atomically (a temporary file
renamed into place), so concurrent runs never see half an entry. Corrupt means
anything artifact.load refuses: its digest over header, wasm and objects is
checked before an object is linked, so a damaged entry is never run. Only the
modes whose strategy says `cached` (EAGER) are cached: LAZY and REPL compile
nothing up front.

Where: $WASABI_CACHE_DIR, else $XDG_CACHE_HOME/wasabi, else ~/.cache/wasabi.
The entries hold machine code that this process will run: the directory is
made private to the user (0700), and only this user's entries are read.
"""
import hashlib as _hashlib
import os as _os
import pathlib as _pathlib
import tempfile as _tempfile

from ..errors import CompileError
from ..validate import parse
from . import artifact, modes


def cache_dir():
    explicit = _os.environ.get("WASABI_CACHE_DIR")
    if explicit:
        return _pathlib.Path(explicit)
    base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
    return _pathlib.Path(base) / "wasabi"


def entry_path(wasm, options, directory=None):
    digest = _hashlib.sha256()
    code = options.code
    parts = [artifact.machine_key(), code.tier, code.bounds]
    if code.fuel:
        parts.append("fuel")        # (without fuel the key is what it always was)
    if not code.interruptible:
        parts.append("no-polls")
    for part in parts:
        digest.update(part.encode() + b"\0")
    digest.update(wasm)
    return _pathlib.Path(directory or cache_dir()) / f"{digest.hexdigest()}.wasabi"


def _load(path, wasm, options):
    """The CompiledModule stored at `path`, or None."""
    try:
        if path.stat().st_uid != _os.getuid():
            return None
        restored = artifact.restore(path.read_bytes(), compile_missing=False)
    except (OSError, CompileError):
        return None
    if restored is None:
        return None
    compiled, header, stored_wasm = restored
    if stored_wasm != wasm or header["code"] != options.code:
        compiled.code.close()
        return None
    compiled.options = options
    return compiled


def _store(path, compiled, wasm):
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = artifact.dump(wasm, compiled, "")
        fd, temporary = _tempfile.mkstemp(dir=path.parent, prefix=".entry-")
        try:
            with _os.fdopen(fd, "wb") as f:
                f.write(data)
            _os.replace(temporary, path)
        except BaseException:
            _os.unlink(temporary)
            raise
    except OSError:
        pass        # a read-only or full disk: the module is compiled all the same


def compile_bytes(wasm, options, directory=None):
    """A CompiledModule of `wasm` (bytes) in `options`. With options.cache, EAGER
    code comes from the cache when it holds some for this machine, else it is
    compiled and stored there; otherwise (and in the lazy modes) it is compiled."""
    wasm = bytes(wasm)
    if not options.cache or not modes.strategy(options.mode).cached:
        return modes.compile(parse(wasm), options)
    path = entry_path(wasm, options, directory)
    compiled = _load(path, wasm, options)
    if compiled is None:
        compiled = modes.compile(parse(wasm), options)
        _store(path, compiled, wasm)
    return compiled
