"""An on-disk cache of EAGER machine code, as wasmtime's CLI keeps one.

    compiled = compile_bytes(wasm, Options(cache=True))    # a CompiledModule

An entry is the bytes of artifact.py (the code as a prelinked image, the key of the
machine the code was made for, and the SHA-256 of the wasm but not the wasm itself),
named by a hash of the wasm bytes, the code options (Options.code) and that machine
key, so that another wasabi, LLVM or CPU never finds it. A hit is the fast path of a
cached program (a 1.5 MB module in about 10 ms, without importing llvmlite): the
entry's digest of the wasm is compared with the one asked for, the wasm asked for is
decoded but not validated again (the entry was written after it was validated), and
the image is mapped (compiler/image.py): no LLVM at all. A missing,
unreadable, corrupt or stale entry is compiled afresh and written again, atomically
(a temporary file renamed into place), so concurrent runs never see half an entry.
Corrupt means anything artifact.load refuses: its digest over header and code is
checked before any code is mapped, so a damaged entry is never run. Only the modes
whose strategy says `cached` (EAGER) are cached: LAZY and REPL compile nothing up
front.

Where: $WASABI_CACHE_DIR, else $XDG_CACHE_HOME/wasabi, else ~/.cache/wasabi.
The entries hold machine code that this process will run: the directory is
made private to the user (0700), and only this user's entries are read.

Size: at most Options.cache_size bytes, else $WASABI_CACHE_SIZE (64MiB, 1GiB,
a number of bytes), else 512 MiB as wasmtime. A hit touches its entry's mtime,
so mtimes order the entries by last use; a store that takes the directory past
the cap removes the least recently used entries until it holds 3/4 of it (so
that not every store scans the directory). Removal is an unlink: a process that
is reading the entry keeps its open file, one that has not opened it yet finds
nothing and compiles; loading reads the whole entry into memory before linking
it, so no process ever maps bytes that change under it. `info()` and `clear()`
are `wasabi cache info|clear`.
"""
import hashlib as _hashlib
import os as _os
import pathlib as _pathlib
import re as _re
import tempfile as _tempfile
import time as _time

from ..errors import CompileError
from ..validate import parse
from . import artifact, modes

DEFAULT_SIZE = 512 << 20        # wasmtime's default cap
ENTRY_SUFFIX = ".wasabi"
TEMP_PREFIX = ".entry-"
# a temporary file this old belongs to a writer that died (a write takes milliseconds)
STALE_TEMP_SECONDS = 600
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1000, "m": 1 << 20,
          "mib": 1 << 20, "mb": 1000 ** 2, "g": 1 << 30, "gib": 1 << 30, "gb": 1000 ** 3}


def cache_dir():
    explicit = _os.environ.get("WASABI_CACHE_DIR")
    if explicit:
        return _pathlib.Path(explicit)
    base = _os.environ.get("XDG_CACHE_HOME") or _os.path.join(_os.path.expanduser("~"), ".cache")
    return _pathlib.Path(base) / "wasabi"


def entry_path(wasm, options, directory=None, wasm_digest=None):
    """Where the entry of `wasm` (bytes; `wasm_digest`: its SHA-256 when known) in
    `options` is: named by a hash of the machine key, the code options and the wasm."""
    digest = _hashlib.sha256()
    code = options.code
    parts = [artifact.machine_key(), code.tier, code.bounds]
    if code.fuel:
        parts.append("fuel")
    if not code.interruptible:
        parts.append("no-polls")
    for part in parts:
        digest.update(part.encode() + b"\0")
    digest.update(wasm_digest or _hashlib.sha256(wasm).digest())
    return _pathlib.Path(directory or cache_dir()) / f"{digest.hexdigest()}{ENTRY_SUFFIX}"


def parse_size(text):
    """'512MiB', '1GiB', '2GB' (decimal), '65536' -> bytes (ValueError otherwise)."""
    match = _re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"expected a size such as 512MiB, 1GiB or 65536 (bytes), got {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def size_limit(options=None):
    """The cap in bytes: options.cache_size, else $WASABI_CACHE_SIZE, else 512 MiB."""
    explicit = getattr(options, "cache_size", None)
    if explicit is not None:
        return explicit
    text = _os.environ.get("WASABI_CACHE_SIZE")
    if text:
        try:
            return parse_size(text)
        except ValueError:
            pass            # a bad variable must not stop a program from running
    return DEFAULT_SIZE


def _load(path, wasm, options, wasm_digest):
    """The CompiledModule stored at `path` for `wasm` (whose SHA-256 is `wasm_digest`),
    or None."""
    try:
        if path.stat().st_uid != _os.getuid():
            return None
        restored = artifact.restore(path.read_bytes(), compile_missing=False, wasm=wasm,
                                    wasm_digest=wasm_digest)
    except (OSError, CompileError):
        return None
    if restored is None:
        return None
    compiled, header, _ = restored
    if header["code"] != options.code:
        compiled.code.close()
        return None
    _touch(path)
    compiled.options = options
    return compiled


def _touch(path):
    """Mark an entry used now (its mtime is its place in the LRU order)."""
    try:
        _os.utime(path)
    except OSError:
        pass        # evicted meanwhile, or a read-only cache: the hit stands


def _store(path, compiled, wasm, limit):
    try:
        write_entry(path, artifact.dump(wasm, compiled, "", with_wasm=False), limit)
    except OSError:
        pass        # a read-only or full disk: the module is compiled all the same


def write_entry(path, data, limit):
    """Write `data` to `path` atomically (a temporary file renamed into place: readers
    in other processes see the old file or the new one), then evict past `limit`.
    False when it would not fit (it would evict everything and itself); OSError when
    the disk refuses."""
    if len(data) > limit:
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    replace_atomically(path, data)
    evict(path.parent, limit)
    return True


def replace_atomically(path, data):
    """Write `data` to `path` through a temporary file in its directory renamed into
    place; OSError when the directory is missing or the disk refuses."""
    fd, temporary = _tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with _os.fdopen(fd, "wb") as f:
            f.write(data)
        _os.replace(temporary, path)
    except BaseException:
        _os.unlink(temporary)
        raise


def _scan(directory):
    """[(mtime, size, path)] of the entries, and the paths of stale temporary files."""
    entries, stale = [], []
    now = _time.time()
    try:
        listing = list(_os.scandir(directory))
    except OSError:
        return entries, stale
    for item in listing:
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            continue        # removed by another process meanwhile
        if item.name.endswith(ENTRY_SUFFIX):
            entries.append((st.st_mtime, st.st_size, item.path))
        elif item.name.startswith(TEMP_PREFIX) and now - st.st_mtime > STALE_TEMP_SECONDS:
            stale.append(item.path)
    return entries, stale


def _unlink(path):
    try:
        _os.unlink(path)
        return True
    except OSError:
        return False        # another process removed it first


def evict(directory, limit):
    """Remove the least recently used entries while `directory` holds more than
    `limit` bytes, down to 3/4 of it; and temporary files of dead writers.
    Returns the number of entries removed."""
    entries, stale = _scan(directory)
    for temporary in stale:
        _unlink(temporary)
    total = sum(size for _, size, _ in entries)
    if total <= limit:
        return 0
    removed = 0
    for _, size, path in sorted(entries):
        if total <= limit * 3 // 4:
            break
        if _unlink(path):
            removed += 1
        total -= size
    return removed


def info(directory=None, options=None):
    """What the cache holds: a dict of directory, entries, bytes, limit."""
    directory = _pathlib.Path(directory or cache_dir())
    entries, _ = _scan(directory)
    return {"directory": str(directory), "entries": len(entries),
            "bytes": sum(size for _, size, _ in entries), "limit": size_limit(options),
            "oldest": min((m for m, _, _ in entries), default=None),
            "newest": max((m for m, _, _ in entries), default=None)}


def clear(directory=None):
    """Remove every entry (and temporary file); (entries removed, bytes freed)."""
    directory = _pathlib.Path(directory or cache_dir())
    removed = freed = 0
    try:
        listing = list(_os.scandir(directory))
    except OSError:
        return 0, 0
    for item in listing:
        if item.name.endswith(ENTRY_SUFFIX) or item.name.startswith(TEMP_PREFIX):
            try:
                size = item.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            if _unlink(item.path) and item.name.endswith(ENTRY_SUFFIX):
                removed += 1
                freed += size
    return removed, freed


def compile_bytes(wasm, options, directory=None, *, wasm_digest=None, check_wasm=None):
    """A CompiledModule of `wasm` (bytes) in `options`. With options.cache, EAGER
    code comes from the cache when it holds some for this machine, else it is
    compiled and stored there; otherwise (and in the lazy modes) it is compiled.
    `wasm_digest`: the SHA-256 of `wasm` when the caller has it already. With
    `check_wasm` (unpickling), the digest `wasm` claims to have, which is being
    checked meanwhile: check_wasm() raises CompileError unless it has; it is called
    before `wasm` is compiled or a hit is returned."""
    wasm = bytes(wasm)
    if check_wasm is not None and not (options.cache and modes.strategy(options.mode).cached):
        check_wasm()
    if not options.cache or not modes.strategy(options.mode).cached:
        if options.cache and modes.strategy(options.mode).profiled:   # PGO: profile_store.py
            return modes.compile(parse(wasm), options, stored_profile=(
                entry_path(wasm, options, directory).with_suffix(".pgo" + ENTRY_SUFFIX)))
        return modes.compile(parse(wasm), options)
    wasm_digest = wasm_digest or _hashlib.sha256(wasm).digest()
    path = entry_path(wasm, options, directory, wasm_digest)
    compiled = _load(path, wasm, options, wasm_digest)
    if check_wasm is not None:
        try:
            check_wasm()
        except CompileError:
            if compiled is not None:
                compiled.code.close()
            raise
    if compiled is None:
        compiled = modes.compile(parse(wasm), options)
        _store(path, compiled, wasm, size_limit(options))
    return compiled
