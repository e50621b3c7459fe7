"""The bytes of a compiled module: Module.serialize / deserialize and the disk cache.

    MAGIC (8 bytes) | header length (u32 LE) | header (JSON) | wasm bytes | code | digest

code: either a prelinked image (compiler/prelink.py, loaded without LLVM by
compiler/image.py) or, when the objects hold something the image cannot express
(or on a machine other than x86-64), the objects one after the other (one per
part of a module compiled in parts; the header lists their lengths) for JITLink.
digest: SHA-256 of the magic bytes, length and header; the header holds the
SHA-256 of the wasm and of the code. A disk-cache entry leaves the wasm out
(header "wasm_omitted"; "wasm" is then 0): it is named by the wasm's digest and
loaded only for that wasm, which the caller passes in (load's `wasm`), so a hit
reads 1.5 MB less for a 1.5 MB module. Each part is checked before it is used:
the header first, the wasm (the disk cache compares the header's digest with the
one it computed of the wasm it was asked for; unpickling hashes the stored wasm on
a thread while the code loads), and the code when this machine can run it (code
for another machine is neither checked nor used: the wasm is compiled again).

So bytes damaged in any way (a bit flipped on disk, a truncated cache entry) are
refused with a CompileError and never mapped or linked: running damaged code can
crash the process. The digests guard against accidents, not attackers (anyone can
compute a digest).

The header names the options the code was compiled with (its CodeOptions: tier,
bounds, fuel, interruptible; and the mode), the module's name, and a key of
everything the machine code depends on (machine_key: wasabi, LLVM, the CPU, the
ABI). When the key matches this process, restore maps the stored image (or links
the objects: no LLVM optimisation or code generation either way) and decodes the
wasm without validating it again: the artifact was made from a module that was
validated when it was compiled, and its code is run as it is anyway. Otherwise,
or when there is no code, the wasm is validated and compiled afresh. Either way
the module behaves the same. `restore` is the one loader: Module.deserialize,
unpickling (api/pickling.py) and the disk cache (cache.py) use it. Like wasmer's,
these bytes contain machine code: deserialize only bytes you produced yourself.
"""
import functools as _functools
import hashlib as _hashlib
import json as _json
import os as _os
import struct as _struct
import threading as _threading

from .. import _ext
from .._version import __version__
from ..binary.reader import decode_module
from ..errors import CompileError
from ..options import CodeOptions, Options
from ..runtime.compiled import CompiledModule
from ..validate import parse
from . import modes

MAGIC = b"\0wasabi\x01"
FORMAT = 4          # 3: the trailing digest; 4: prelinked images, a digest per part
DIGEST_SIZE = _hashlib.sha256().digest_size
MODES = tuple(mode.value for mode in modes.STRATEGIES)


# ---- what the code depends on ----

@_functools.lru_cache(maxsize=1)
def machine_key():
    """What compiled code depends on, as one string: wasabi's version and ABI, the
    code generator's files (generator_stamp) and the host (host_fingerprint; LLVM's
    view of it when there is none)."""
    abi = repr(sorted(_ext.abi_layout().items())) + repr(sorted(_ext.builtin_addresses()))
    host = host_fingerprint()
    if host is None:
        from .pipelines import host_identity        # imports llvmlite (about 40 ms)
        host = "llvm:" + "|".join(host_identity())
    stamp = _hashlib.sha256((abi + generator_stamp()).encode()).hexdigest()[:16]
    return "|".join([__version__, host, stamp])


def generator_stamp():
    """A digest of every file code generation reads (the compiler's and the ABI's
    Python files): a change to any of them, between two releases of the same
    version, makes new keys, so that no cache entry keeps code the current compiler
    would not make. Contents, not modification times, so that two installs of the
    same files (a cluster's workers) agree. About 1 ms (400 KB)."""
    package = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    digest = _hashlib.sha256()
    for folder in ("compiler", "abi"):
        for root, dirs, files in _os.walk(_os.path.join(package, folder)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    digest.update(name.encode() + b"\0")
                    with open(_os.path.join(root, name), "rb") as f:
                        digest.update(f.read())
    return digest.hexdigest()


CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags",
              "CPU implementer", "CPU architecture", "CPU variant", "CPU part",
              "CPU revision", "Features", "isa", "uarch")


def host_fingerprint():
    """The host as the code generator sees it, without importing llvmlite: the LLVM
    build (llvmlite's revision and the size of its library), the OS and machine, and
    the CPU (model and feature flags of /proc/cpuinfo's first processor, which are
    what LLVM's CPU name and features are derived from). None where /proc/cpuinfo
    or llvmlite's files cannot be read (machine_key then asks LLVM)."""
    import importlib.util as _util
    try:
        spec = _util.find_spec("llvmlite")
        folder = spec.submodule_search_locations[0]
        with open(_os.path.join(folder, "_version.py"), "rb") as f:
            llvmlite = f.read()
        library = _os.stat(_os.path.join(folder, "binding", "libllvmlite.so")).st_size
        cpu = []
        with open("/proc/cpuinfo", "rb") as f:
            for line in f:
                if not line.strip():
                    break               # the first processor's block
                name, _, value = line.decode(errors="replace").partition(":")
                if name.strip() in CPU_FIELDS:
                    cpu.append(f"{name.strip()}={value.strip()}")
    except (OSError, AttributeError, TypeError, IndexError, ImportError, ValueError):
        return None
    if not cpu:
        return None
    uname = _os.uname()
    digest = _hashlib.sha256(llvmlite + repr((library, uname.sysname, uname.machine,
                                              cpu)).encode())
    return "host:" + digest.hexdigest()[:32]


# ---- writing ----

def dump(wasm, compiled, name, with_wasm=True):
    """The serialized bytes of a CompiledModule: its wasm (unless not `with_wasm`: a
    cache entry), its code (an EAGER module's image, or objects; LAZY and REPL modules
    compile again, lazily, when loaded), name and mode."""
    code_image, objects, symbols = _code_of(compiled)
    blob = code_image.blob() if code_image is not None else b""
    header = {
        "format": FORMAT,
        "key": machine_key() if objects or code_image is not None else None,
        **compiled.code.code_options.as_dict(),
        "name": name,
        "mode": compiled.mode.value,
        "wasm": len(wasm) if with_wasm else 0,
        "wasm_sha256": _hashlib.sha256(wasm).hexdigest(),
        "objects": [len(obj) for obj in objects],
        "symbols": {str(index): symbol for index, symbol in symbols.items()},
        "image": code_image.meta() if code_image is not None else None,
        "image_bytes": len(blob),
    }
    code = b"".join([*objects, blob])
    header["code_sha256"] = _hashlib.sha256(code).hexdigest()
    if not with_wasm:
        header["wasm_omitted"] = True
    text = _json.dumps(header, sort_keys=True).encode()
    head = MAGIC + _struct.pack("<I", len(text)) + text
    return b"".join([head, wasm if with_wasm else b"", code, _hashlib.sha256(head).digest()])


def _code_of(compiled):
    """(CodeImage or None, objects, symbols) to store: a loaded image as it is, else
    the objects prelinked (once per Code), else the objects themselves."""
    code = compiled.code
    loaded = getattr(code, "image", None)
    if loaded is not None:
        return loaded, [], {}
    objects, symbols = code.artifact() or ([], {})
    if not objects:
        return None, [], {}
    if "artifact.image" not in code.derived:
        from .prelink import code_image
        code.derived["artifact.image"] = code_image(compiled.desc, objects, symbols)
    made = code.derived["artifact.image"]
    return (made, [], {}) if made is not None else (None, list(objects), dict(symbols))


# ---- reading ----

class Loaded:
    """An artifact read by load(): header (dict; "code": its CodeOptions), wasm, and
    the code when this machine can run it: image (a CodeImage) or objects, else None.
    The code's digest may still be being checked (_Digest): check_code() says."""

    def __init__(self, header, wasm, image, objects, digest=None, wasm_digest=None):
        self.header, self.wasm, self.image, self.objects = header, wasm, image, objects
        self._digest, self._wasm_digest = digest, wasm_digest

    @property
    def usable(self):
        return self.image is not None or self.objects is not None

    def check_code(self):
        """CompileError unless the code's digest matched (before anything uses it)."""
        if self._digest is not None and not self._digest.matches():
            raise _bad("damaged code (digest mismatch)")

    def check_wasm(self):
        """CompileError unless the stored wasm's digest matched: load(defer_wasm_check=True)
        leaves it to the caller, to be called before the wasm is trusted (link does)."""
        if self._wasm_digest is not None and not self._wasm_digest.matches():
            raise _bad("damaged wasm (digest mismatch)")


class _Digest:
    """Whether the SHA-256 of `data` is `expected` (hex), computed on a thread of its own
    for large data: hashlib releases the GIL, so the hash of a cached module's code (2.3
    MB, about 1.6 ms) overlaps the decode of its wasm (link)."""
    THREAD_MIN = 1 << 20

    def __init__(self, data, expected, threaded=True):
        self._data, self._expected, self._result, self._thread = data, expected, None, None
        if threaded and len(data) >= self.THREAD_MIN:
            thread = _threading.Thread(target=self._compute, name="wasabi-digest", daemon=True)
            try:
                thread.start()
                self._thread = thread
            except RuntimeError:        # no thread to be had: the caller hashes it
                pass

    def _compute(self):
        self._result = _hashlib.sha256(self._data).hexdigest() == self._expected

    def matches(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._result is None:
            self._compute()
        self._data = None
        return self._result


def _bad(reason):
    return CompileError(f"not a serialized wasabi module: {reason}")


def load(data, wasm=None, wasm_digest=None, defer_wasm_check=False):
    """The Loaded artifact of `data`; CompileError for bytes that are no artifact or
    are damaged, or that hold no wasm (a cache entry) when `wasm` is None. `wasm`: the
    wasm the caller expects (the cache), with `wasm_digest` its SHA-256: the header's
    digest of the wasm is then compared with it, and the stored wasm is not hashed.
    `defer_wasm_check` (unpickling): the stored wasm is hashed on a thread of its own
    (_Digest) while the caller goes on, and Loaded.check_wasm() says whether it matched."""
    data = bytes(data)
    if not data.startswith(MAGIC):
        raise _bad("wrong magic bytes")
    start = len(MAGIC) + 4
    if len(data) < start + DIGEST_SIZE:
        raise _bad("truncated")
    (length,) = _struct.unpack_from("<I", data, len(MAGIC))
    code_end = len(data) - DIGEST_SIZE
    if start + length > code_end:
        raise _bad("truncated")
    if _hashlib.sha256(memoryview(data)[:start + length]).digest() != data[code_end:]:
        raise _bad("damaged or truncated (digest mismatch), or another format version")
    header = _header(data, start, length)
    wasm_end = start + length + header["wasm"]
    if wasm_end + sum(header["objects"]) + header["image_bytes"] != code_end:
        raise _bad("wrong length")
    pending = None          # the stored wasm's digest, when its check is deferred
    if header["wasm_omitted"]:
        if wasm is None:
            raise _bad("a cache entry, which holds the digest of its wasm but not the wasm")
        expected = wasm_digest or _hashlib.sha256(wasm).digest()
        if header["wasm_sha256"] != expected.hex():
            raise _bad("an entry for other wasm (digest mismatch)")
    else:
        wasm = data[start + length:wasm_end]
        if wasm_digest is None:
            stored = _Digest(wasm, header["wasm_sha256"], threaded=defer_wasm_check)
            if defer_wasm_check:
                pending = stored
            elif not stored.matches():
                raise _bad("damaged wasm (digest mismatch)")
        elif header["wasm_sha256"] != wasm_digest.hex():
            raise _bad("damaged wasm (digest mismatch)")
    if header["key"] != machine_key() or wasm_end == code_end:
        return Loaded(header, wasm, None, None, None, pending)     # no code for this machine
    code = memoryview(data)[wasm_end:code_end]
    digest = _Digest(code, header["code_sha256"])        # checked by link, before use
    if header["image"] is None:
        objects, at = [], wasm_end
        for size in header["objects"]:
            objects.append(data[at:at + size])
            at += size
        return Loaded(header, wasm, None, objects, digest, pending)
    from .image import CodeImage, ImageError
    try:
        # its metadata is checked against the bytes whatever the digest turns out to be
        image = CodeImage.parse(header["image"], code[sum(header["objects"]):])
    except ImageError as exc:
        digest.matches()                # no thread left behind
        if pending is not None:
            pending.matches()
        raise _bad(str(exc)) from None
    return Loaded(header, wasm, image, None, digest, pending)


def _header(data, start, length):
    """The header dict, its fields checked (CompileError otherwise)."""
    try:
        header = _json.loads(data[start:start + length].decode())
        for field in ("wasm", "image_bytes"):
            header[field] = int(header[field])
        header["objects"] = [int(size) for size in header["objects"]]
        mode = header.setdefault("mode", "eager")
        code = CodeOptions(**{name: header[name] for name in CodeOptions.FIELDS})
        header["symbols"] = {int(k): str(v) for k, v in header["symbols"].items()}
        header["wasm_sha256"] = str(header["wasm_sha256"])
        header["code_sha256"] = str(header["code_sha256"])
        header.setdefault("key", None)
        header.setdefault("image", None)
        header["wasm_omitted"] = header.get("wasm_omitted") is True
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise _bad(f"unreadable header ({exc})") from None
    if header.get("format") != FORMAT or header["wasm"] < 0 or header["image_bytes"] < 0 \
            or any(size <= 0 for size in header["objects"]) \
            or (header["wasm_omitted"] and header["wasm"] != 0):
        raise _bad("unknown format or wrong length")
    if mode not in MODES:
        raise _bad(f"unknown mode {mode!r}")
    header["code"] = code
    return header


def options_of(header):
    """The Options a loaded artifact's code was compiled with."""
    return Options(mode=header["mode"], **header["code"].as_dict())


def restore(data, *, compile_missing=True, wasm=None, wasm_digest=None):
    """(CompiledModule, header, wasm) of artifact bytes: the stored code mapped or
    linked when this machine can run it (no LLVM optimisation or code generation),
    else the wasm validated and compiled afresh in the stored options; with not
    `compile_missing` (the cache: it compiles and stores a fresh entry itself) None
    instead. `wasm` and `wasm_digest` (the cache): the wasm the artifact must hold
    and its SHA-256; None when it holds other bytes. CompileError for bytes that are
    no artifact."""
    loaded = load(data, wasm, wasm_digest)
    if wasm is not None and loaded.wasm is not wasm and loaded.wasm != wasm:
        return None
    compiled = link(loaded)
    if compiled is None:
        if not compile_missing:
            return None
        compiled = modes.compile(parse(loaded.wasm), options_of(loaded.header))
    return compiled, loaded.header, loaded.wasm


def link(loaded):
    """The CompiledModule of a Loaded artifact's code, mapped (an image) or linked
    (objects), with its wasm decoded but not validated again (see the module
    docstring); None when there is no code for this machine or it does not load here
    (a symbol missing in this process, objects JITLink refuses); CompileError when the
    code is damaged (its digest, which load() started computing)."""
    if not loaded.usable:
        return None
    try:
        desc = decode_module(loaded.wasm)   # while the digests are computed
    except CompileError:
        loaded.check_wasm()                 # damaged, rather than malformed when sent
        raise
    loaded.check_wasm()
    loaded.check_code()
    header = loaded.header
    if loaded.image is not None:
        from .image import ImageError, load_code
        try:
            code = load_code(loaded.image, desc, header["code"])
        except ImageError:
            return None
    else:
        from .modes import eager
        try:
            code = eager.from_objects(loaded.objects, header["symbols"], header["code"])
        except (RuntimeError, KeyError, ValueError):      # objects JITLink refuses
            return None
    return CompiledModule(desc, code, options_of(header))
