"""Loading a prelinked image (compiler/prelink.py) without LLVM: the fast way a
cached or unpickled EAGER module gets its machine code.

    code = load_code(meta, blob, desc, code_options)      # an ImageCode

An Image is the module's sections laid out as they will run, in three regions
(code, read-only data, writable data), with every reference inside it already
resolved; loading it is

1. one anonymous mapping (mmap), the regions copied in;
2. the fixups applied (wasabi._ext.image_apply, which checks them all first):
   64-bit addresses of the image get its base
   added, and references to symbols outside it (the runtime's builtins from
   wasabi._ext, anything else from the process, as JITLink's current-process
   lookup) get their values: the slots the stubs jump through, the stack
   limit's thread-pointer offset;
3. mprotect: code read+execute, read-only data read-only;
4. the code ranges registered with the fault handler (as compiler/library.py).

No LLVM, no llvmlite and no numpy import: the 2.6 MB image of a 1.5 MB module maps in 1 to 5
ms (most of it the kernel providing fresh pages) where JITLink took about 100. Only the bytes of an artifact whose digest
was checked (compiler/artifact.py) reach this module, but the loader still
checks every offset against the mapping, so that inconsistent metadata is an
ImageError and never a write outside it.

An ImageCode is the Code (runtime/code.py) of such a module: its table an
array of addresses (runtime/dylib.py LibraryTable), its image kept for the
next artifact (a cached module pickles without LLVM too). Its signature thunks
come in a second, small image that is mapped once per process and signature
and never unmapped (other modules' functions use thunks by signature).
"""
import array as _array
import ctypes as _ctypes
import mmap as _mmap
import threading as _threading
import time as _time

from .. import _ext
from ..runtime.code import Code
from ..runtime.dylib import LibraryTable

PAGE = 4096
# a fixup record: offset u64, kind u32, target u32, addend i64, little-endian, packed
# (compiler/prelink.py FIXUP_DTYPE writes them, wasabi/_cy/image.pxi applies them)
FIXUP_SIZE = 24
# kinds: image base + target + addend (u64); external value + addend: u64, i32, u32
FIX_REBASE64, FIX_EXT64, FIX_EXT32S, FIX_EXT32 = 0, 1, 2, 3
PROTECTION = {"text": _mmap.PROT_READ | _mmap.PROT_EXEC, "ro": _mmap.PROT_READ,
              "rw": _mmap.PROT_READ | _mmap.PROT_WRITE}
THUNK_KINDS = ("array", "host", "native")

_libc = _ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = _ctypes.c_void_p
_libc.mmap.argtypes = (_ctypes.c_void_p, _ctypes.c_size_t, _ctypes.c_int, _ctypes.c_int,
                       _ctypes.c_int, _ctypes.c_long)
_libc.mprotect.argtypes = (_ctypes.c_void_p, _ctypes.c_size_t, _ctypes.c_int)
_libc.munmap.argtypes = (_ctypes.c_void_p, _ctypes.c_size_t)
MAP_FAILED = _ctypes.c_void_p(-1).value
# the pages are written at once: faulting them in with the mapping is cheaper (Linux)
MAP_FLAGS = _mmap.MAP_PRIVATE | _mmap.MAP_ANONYMOUS | getattr(_mmap, "MAP_POPULATE", 0)


class ImageError(Exception):
    """An image that cannot be loaded here (a missing symbol, inconsistent metadata)."""


def _page_align(value):
    return -(-value // PAGE) * PAGE


class Image:
    """Prelinked code: regions [(offset, length, name)], the mapping's size, the names
    of the external symbols, the fixups (bytes of FIXUP_SIZE records) and the regions'
    bytes."""

    def __init__(self, size, regions, externals, fixups, data, symbols=None):
        self.size = size
        self.regions = [(int(o), int(n), str(r)) for o, n, r in regions]
        self.externals = list(externals)
        self.fixups = fixups            # bytes-like, FIXUP_SIZE bytes per record
        self.data = data                # the regions' bytes, one after the other
        self.symbols = symbols or {}    # name -> offset (made by prelink, not stored)

    @classmethod
    def from_layout(cls, image, regions, size, externals, fixups, symbols):
        data = b"".join(image[o:o + n].tobytes() for o, n, _ in regions)
        return cls(size, regions, externals, fixups, data, symbols)

    def meta(self):
        return {"size": self.size, "regions": [list(r) for r in self.regions],
                "externals": self.externals, "fixups": len(self.fixups) // FIXUP_SIZE}

    def blob(self):
        return bytes(self.data) + bytes(self.fixups)

    @classmethod
    def parse(cls, meta, buffer, at):
        """(Image, offset after it) of `meta` and its blob at `buffer[at:]`."""
        try:
            size = int(meta["size"])
            regions = [(int(o), int(n), str(r)) for o, n, r in meta["regions"]]
            externals = [str(name) for name in meta["externals"]]
            count = int(meta["fixups"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ImageError(f"unreadable image metadata ({exc})") from None
        length = sum(n for _, n, _ in regions)
        end = at + length + count * FIXUP_SIZE
        if size <= 0 or size % PAGE or count < 0 or end > len(buffer) or any(
                o < 0 or n < 0 or o % PAGE or o + n > size or r not in PROTECTION
                for o, n, r in regions):
            raise ImageError("inconsistent image metadata")
        data = memoryview(buffer)[at:at + length]
        fixups = memoryview(buffer)[at + length:end]
        return cls(size, regions, externals, fixups, data), end

    def map(self, resolve):
        """A Mapping of the image with its fixups applied and its regions protected;
        `resolve(name)` gives an external symbol's value (ImageError when unknown)."""
        values = _array.array("Q", [resolve(name) for name in self.externals])
        mapping = Mapping(self.size)
        try:
            try:
                _ext.image_apply(mapping.base, self.size, [(o, n) for o, n, _ in self.regions],
                                 self.data, self.fixups, values)
            except ValueError as exc:
                raise ImageError(str(exc)) from None
            for offset, length, region in self.regions:
                mapping.protect(offset, _page_align(length), PROTECTION[region])
        except BaseException:
            mapping.close()
            raise
        return mapping


class Mapping:
    """Anonymous memory for one image (read-write until protected); close() unmaps it."""

    def __init__(self, size):
        base = _libc.mmap(None, size, _mmap.PROT_READ | _mmap.PROT_WRITE, MAP_FLAGS, -1, 0)
        if base in (None, MAP_FAILED):
            raise MemoryError(f"mmap of {size} bytes failed (errno {_ctypes.get_errno()})")
        self.base, self.size = base, size

    def protect(self, offset, length, prot):
        if length and _libc.mprotect(self.base + offset, length, prot) != 0:
            raise ImageError(f"mprotect failed (errno {_ctypes.get_errno()})")

    def close(self):
        if self.base:
            _libc.munmap(self.base, self.size)
            self.base = 0


# ---- external symbols ----

_builtins = None
_process = None


def resolve(name):
    """The value of an external symbol: a builtin of the runtime, else the process's."""
    global _builtins, _process
    if _builtins is None:
        _builtins = _ext.builtin_addresses()
    value = _builtins.get(name)
    if value is not None:
        return value
    if _process is None:
        _process = _ctypes.CDLL(None)
    try:
        return _ctypes.cast(getattr(_process, name), _ctypes.c_void_p).value
    except AttributeError:
        raise ImageError(f"the symbol {name} is not in this process") from None


# ---- the code of a module ----

class CodeImage:
    """A module's artifact code: its Image, the offsets of its defined functions (the
    first being function `first`; an array("Q")) and of its code ranges, and the Image
    of its signature thunks with their offsets per type index ([(array, host, native)],
    -1 for none). Stored little-endian (the hosts wasabi compiles for are)."""

    def __init__(self, image, first, functions, ranges, thunks=None, thunk_table=None):
        self.image, self.first, self.functions = image, first, functions
        self.ranges = [(int(b), int(e)) for b, e in ranges]
        self.thunks, self.thunk_table = thunks, thunk_table

    def meta(self):
        return {"code": self.image.meta(), "first": self.first,
                "functions": len(self.functions), "ranges": [list(r) for r in self.ranges],
                "thunks": self.thunks.meta() if self.thunks is not None else None,
                "types": len(self.thunk_table) if self.thunk_table is not None else 0}

    def blob(self):
        parts = [self.image.blob(), self.functions.tobytes()]
        if self.thunks is not None:
            flat = _array.array("q", [offset for row in self.thunk_table for offset in row])
            parts += [self.thunks.blob(), flat.tobytes()]
        return b"".join(parts)

    @classmethod
    def parse(cls, meta, buffer):
        """The CodeImage of `meta` (the artifact header's) and `buffer` (its blob)."""
        try:
            image, at = Image.parse(meta["code"], buffer, 0)
            first, count, types = int(meta["first"]), int(meta["functions"]), int(meta["types"])
            ranges = [(int(b), int(e)) for b, e in meta["ranges"]]
            if first < 0 or count < 0 or types < 0 or at + 8 * count > len(buffer):
                raise ImageError("inconsistent code metadata")
            functions = _array.array("Q", bytes(buffer[at:at + 8 * count]))
            at += 8 * count
            thunks = table = None
            if meta["thunks"] is not None:
                thunks, at = Image.parse(meta["thunks"], buffer, at)
                if at + 24 * types > len(buffer):
                    raise ImageError("inconsistent thunk metadata")
                flat = _array.array("q", bytes(buffer[at:at + 24 * types]))
                table = [tuple(flat[3 * k:3 * k + 3]) for k in range(types)]
                at += 24 * types
                if max(flat, default=-1) >= thunks.size:
                    raise ImageError("a thunk outside its image")
        except (KeyError, TypeError, ValueError) as exc:
            raise ImageError(f"unreadable code metadata ({exc})") from None
        if at != len(buffer) or max(functions, default=0) >= image.size or any(
                not 0 <= b < e <= image.size for b, e in ranges):
            raise ImageError("inconsistent code metadata")
        return cls(image, first, functions, ranges, thunks, table)


class ImageCode(Code):
    """EAGER code loaded from a CodeImage: published up front, unmapped by close()."""
    mode = "eager"

    def __init__(self, code_image, mapping, code_options, seconds):
        base = mapping.base
        codes = _array.array("Q")
        codes.extend([offset + base for offset in code_image.functions])
        super().__init__(LibraryTable(code_image.first, codes), code_options)
        self.image = code_image
        self._mapping = mapping
        self._ranges = [(base + b, base + e) for b, e in code_image.ranges]
        for begin, end in self._ranges:
            _ext.register_code_range(begin, end)
        self._stats = {"mode": "eager", "functions": len(codes),
                       "functions_compiled": len(codes), "batches": 1, "link_seconds": seconds,
                       "image_bytes": code_image.image.size, **code_options.as_dict()}

    @property
    def stats(self):
        return self._stats

    @property
    def code_ranges(self):
        return list(self._ranges)

    def artifact(self):
        """No objects: the CodeImage (self.image) is what an artifact stores."""
        return [], {}

    def close(self):
        mapping, self._mapping = getattr(self, "_mapping", None), None
        if mapping is not None:
            for begin, end in self._ranges:
                _ext.unregister_code_range(begin, end)
            mapping.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"<wasabi ImageCode: {self._stats['functions']} functions, tier {self.tier}>"


def load_code(code_image, desc, code_options):
    """The ImageCode of `code_image` for the module `desc` (its thunks joined to the
    process's, runtime/dylib.py LibraryThunks). ImageError when it cannot load here."""
    start = _time.perf_counter()
    if code_image.first != desc.num_imported_funcs or len(code_image.functions) != len(desc.funcs):
        raise ImageError("the image does not match the module's functions")
    mapping = code_image.image.map(resolve)
    try:
        _add_thunks(code_image, desc)
        return ImageCode(code_image, mapping, code_options, _time.perf_counter() - start)
    except BaseException:
        mapping.close()
        raise


_thunk_lock = _threading.Lock()
_thunk_signatures = set()       # (kind, params, results) whose thunks a mapped image has
_thunk_mappings = []


def _add_thunks(code_image, desc):
    """Map the module's thunk image (once per process and set of new signatures: it is
    never unmapped, as any module's functions may use a thunk of the same signature)."""
    if code_image.thunks is None or len(code_image.thunk_table) != len(desc.types):
        return
    from ..runtime import dylib
    table = code_image.thunk_table
    with _thunk_lock:
        fresh = {(kind, tuple(t.params), tuple(t.results))
                 for t, row in zip(desc.types, table)
                 for kind, offset in zip(THUNK_KINDS, row) if offset >= 0}
        if fresh <= _thunk_signatures:
            return
        mapping = code_image.thunks.map(resolve)
        _thunk_mappings.append(mapping)                 # never unmapped
        base = mapping.base
        tables = {kind: _array.array("Q", [row[n] + base if row[n] >= 0 else 0 for row in table])
                  for n, kind in enumerate(THUNK_KINDS)}
        dylib.library_thunks().add(_ThunkSource(desc.types, tables))
        _thunk_signatures.update(fresh)


class _ThunkSource:
    """What runtime/dylib.py LibraryThunks.add reads of a library: types and thunk tables."""

    def __init__(self, desc_types, tables):
        self.desc_types, self._tables = desc_types, tables

    def thunk_tables(self):
        return self._tables
