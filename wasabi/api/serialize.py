"""The bytes of Module.serialize / Module.deserialize.

    MAGIC (8 bytes) | header length (u32 LE) | header (JSON) | wasm bytes | objects | digest

(the objects one after the other: one per part of a module compiled in parts;
the header lists their lengths; digest: SHA-256 of everything before it)

The digest is checked before anything else is read, so bytes damaged in any way
(a bit flipped on disk, a truncated cache entry) are refused with a CompileError
and never linked: linking a damaged object can crash the process. It guards
against accidents, not attackers (anyone can compute a digest).

The header names the options the code was compiled with (tier, bounds, fuel), the module's name,
the symbol of each function and a key of everything the machine code depends
on (wasabi and LLVM versions, target triple, CPU and its features, the ABI).
When the key matches this process, deserialize links the stored object again
(no LLVM optimisation or code generation); otherwise, or when there is no
object, it compiles the embedded wasm afresh. Either way the module behaves
the same. Like wasmer's, these bytes contain machine code: deserialize only
bytes you produced yourself.
"""
import functools as _functools
import hashlib as _hashlib
import json as _json
import struct as _struct

from ..errors import CompileError
from ..options import BOUNDS, TIERS

MAGIC = b"\0wasabi\x01"
FORMAT = 3                  # 3: the trailing digest
DIGEST_SIZE = _hashlib.sha256().digest_size
MODES = ("eager", "lazy", "repl")


@_functools.lru_cache(maxsize=1)
def machine_key():
    """What compiled code depends on, as one string."""
    from .. import _ext
    from .._version import __version__
    from ..compiler.pipelines import host_identity
    abi = repr(sorted(_ext.abi_layout().items())) + repr(sorted(_ext.builtin_addresses()))
    parts = [__version__, *host_identity(), _hashlib.sha256(abi.encode()).hexdigest()[:16]]
    return "|".join(parts)


def dump(wasm, code, name, mode):
    """The serialized bytes of a module: its wasm, its code (the object code of an EAGER
    module; LAZY and REPL modules compile again, lazily, when loaded), name and mode."""
    objects = getattr(code, "objects", None) or []
    symbols = getattr(code, "symbols", None) or {}
    header = {
        "format": FORMAT,
        "key": machine_key() if objects else None,
        "tier": code.tier,
        "bounds": code.bounds,
        "fuel": bool(getattr(code, "fuel", False)),
        "interruptible": bool(getattr(code, "interruptible", True)),
        "name": name,
        "mode": mode.value,
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
        tier, bounds, mode = header["tier"], header["bounds"], header.get("mode", "eager")
        fuel = header.setdefault("fuel", False)
        interruptible = header.setdefault("interruptible", True)
        header["symbols"] = {int(k): str(v) for k, v in header["symbols"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise _bad(f"unreadable header ({exc})") from None
    if header.get("format") != FORMAT or object_end != len(data) or wasm_end > len(data) \
            or wasm_end < start + length or any(size <= 0 for size in sizes):
        raise _bad("unknown format or wrong length")
    if tier not in TIERS or bounds not in BOUNDS or mode not in MODES \
            or not isinstance(fuel, bool) or not isinstance(interruptible, bool):
        raise _bad(f"unknown options (tier {tier!r}, bounds {bounds!r}, mode {mode!r}, "
                   f"fuel {fuel!r})")
    wasm = data[start + length:wasm_end]
    objects, at = [], wasm_end
    for size in sizes:
        objects.append(data[at:at + size])
        at += size
    if not objects or header.get("key") != machine_key():
        objects = None
    return header, wasm, objects


def link(objects, header):
    """A CodeLibrary from stored objects (registered with the fault handler)."""
    from ..compiler.codegen import link_object
    library = link_object(objects, header["symbols"],
                          stats={"tier": header["tier"], "bounds": header["bounds"],
                                 "fuel": header["fuel"],
                                 "interruptible": header["interruptible"]})
    library.register_code_range()
    return library
