"""The bytes of a compiled module: Module.serialize / deserialize and the disk cache.

    MAGIC (8 bytes) | header length (u32 LE) | header (JSON) | wasm bytes | objects | digest

(the objects one after the other: one per part of a module compiled in parts;
the header lists their lengths; digest: SHA-256 of everything before it)

The digest is checked before anything else is read, so bytes damaged in any way
(a bit flipped on disk, a truncated cache entry) are refused with a CompileError
and never linked: linking a damaged object can crash the process. It guards
against accidents, not attackers (anyone can compute a digest).

The header names the options the code was compiled with (its CodeOptions: tier,
bounds, fuel, interruptible; and the mode), the module's name,
the symbol of each function and a key of everything the machine code depends
on (wasabi and LLVM versions, target triple, CPU and its features, the ABI).
When the key matches this process, deserialize links the stored object again
(no LLVM optimisation or code generation); otherwise, or when there is no
object, it compiles the embedded wasm afresh. Either way the module behaves
the same. `restore` is the one loader: Module.deserialize and the disk cache
(cache.py) both use it. Like wasmer's, these bytes contain machine code: deserialize only
bytes you produced yourself.
"""
import functools as _functools
import hashlib as _hashlib
import json as _json
import struct as _struct

from .. import _ext
from .._version import __version__
from ..errors import CompileError
from ..options import CodeOptions, Options
from ..runtime.compiled import CompiledModule
from ..validate import parse
from . import modes
from .modes import eager
from .pipelines import host_identity

MAGIC = b"\0wasabi\x01"
FORMAT = 3                  # 3: the trailing digest
DIGEST_SIZE = _hashlib.sha256().digest_size
MODES = tuple(mode.value for mode in modes.STRATEGIES)


@_functools.lru_cache(maxsize=1)
def machine_key():
    """What compiled code depends on, as one string."""
    abi = repr(sorted(_ext.abi_layout().items())) + repr(sorted(_ext.builtin_addresses()))
    parts = [__version__, *host_identity(), _hashlib.sha256(abi.encode()).hexdigest()[:16]]
    return "|".join(parts)


def dump(wasm, compiled, name):
    """The serialized bytes of a CompiledModule: its wasm, its code's artifact (the
    objects of an EAGER module; LAZY and REPL modules compile again, lazily, when
    loaded), name and mode."""
    code = compiled.code
    objects, symbols = code.artifact() or ([], {})
    header = {
        "format": FORMAT,
        "key": machine_key() if objects else None,
        **code.code_options.as_dict(),
        "name": name,
        "mode": compiled.mode.value,
        "wasm": len(wasm),
        "objects": [len(obj) for obj in objects],
        "symbols": {str(index): symbol for index, symbol in symbols.items()},
    }
    text = _json.dumps(header, sort_keys=True).encode()
    body = b"".join([MAGIC, _struct.pack("<I", len(text)), text, wasm, *objects])
    return body + _hashlib.sha256(body).digest()


def _bad(reason):
    return CompileError(f"not a serialized wasabi module: {reason}")


def load(data):
    """(header dict, wasm bytes, list of objects or None when they cannot be used here)."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise _bad("wrong magic bytes")
    start = len(MAGIC) + 4
    if len(data) < start + DIGEST_SIZE:
        raise _bad("truncated")
    data, digest = data[:-DIGEST_SIZE], data[-DIGEST_SIZE:]
    if _hashlib.sha256(data).digest() != digest:
        raise _bad("damaged or truncated (digest mismatch), or another format version")
    (length,) = _struct.unpack_from("<I", data, len(MAGIC))
    try:
        header = _json.loads(data[start:start + length].decode())
        wasm_end = start + length + int(header["wasm"])
        sizes = [int(size) for size in header["objects"]]
        object_end = wasm_end + sum(sizes)
        mode = header.setdefault("mode", "eager")
        fields = {"fuel": False, "interruptible": True, **header}
        code = CodeOptions(**{name: fields[name] for name in CodeOptions.FIELDS})
        header["symbols"] = {int(k): str(v) for k, v in header["symbols"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise _bad(f"unreadable header ({exc})") from None
    if header.get("format") != FORMAT or object_end != len(data) or wasm_end > len(data) \
            or wasm_end < start + length or any(size <= 0 for size in sizes):
        raise _bad("unknown format or wrong length")
    if mode not in MODES:
        raise _bad(f"unknown mode {mode!r}")
    header["code"] = code
    wasm = data[start + length:wasm_end]
    objects, at = [], wasm_end
    for size in sizes:
        objects.append(data[at:at + size])
        at += size
    if not objects or header.get("key") != machine_key():
        objects = None
    return header, wasm, objects


def options_of(header):
    """The Options a loaded artifact's code was compiled with."""
    return Options(mode=header["mode"], **header["code"].as_dict())


def restore(data, *, compile_missing=True):
    """(CompiledModule, header, wasm) of artifact bytes: the stored objects linked
    when this machine can run them (no LLVM optimisation or code generation), else
    the wasm compiled afresh in the stored options; with not `compile_missing`
    (the cache: it compiles and stores a fresh entry itself) None instead.
    CompileError for bytes that are no artifact."""
    header, wasm, objects = load(data)
    desc = parse(wasm)
    compiled = link(header, desc, objects)
    if compiled is None:
        if not compile_missing:
            return None
        compiled = modes.compile(desc, options_of(header))
    return compiled, header, wasm


def link(header, desc, objects):
    """The CompiledModule of load()'s objects linked (no LLVM optimisation or code
    generation), or None when there are none for this machine or JITLink refuses
    them (api/pickling.py then compiles through the cache)."""
    if objects is None:
        return None
    try:
        code = eager.from_objects(objects, header["symbols"], header["code"])
    except (RuntimeError, KeyError, ValueError):      # objects JITLink refuses
        return None
    return CompiledModule(desc, code, options_of(header))
