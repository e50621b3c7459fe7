"""PGO profiles kept in the disk cache (compiler/cache.py), so that a module's next
run starts where the last one got to.

    code = tiered.build(desc, options, stored_profile=path)    # cache.compile_bytes does this

One file per module and code options beside the cache's entries (`<key>.pgo.wasabi`:
keyed as an entry, so by wasabi, LLVM, CPU and code options too; evicted, listed and
cleared with them). It holds:

- the counters (calls and loop iterations per function, and the branch sites'
  counts: compiler/profile.py), added up over the runs;
- the optimised builds the tier-up made (each a hot function and the callees it
  calls directly), prelinked into images (compiler/prelink.py; the objects where
  they cannot be), which the next run maps (compiler/image.py, without importing
  LLVM: StoredBuild.load_into) and publishes before its first call: no LLVM work,
  and the hot functions never run in the baseline again.
  Functions hot in the profile without a stored build (one that failed to link, or
  one a later run made hot) are built in the background at once, not at their
  N-th call.

The stored builds are loaded rather than rebuilt from the counts: they are the code
the counts would make again, and loading costs a millisecond where an O2
build costs tenths of seconds per function (tests/test_pgo.py checks that a second
run compiles nothing for a function the first run optimised; the two were not timed
side by side).

Saving: when the module's code is closed or freed, and at interpreter exit (a
weakref.finalize, so that a program that never closes its module saves too); only
when something changed. A save reads the file again and adds this run's counts
since its load (or its last save) to what it holds, so concurrent runs add up
instead of overwriting each other (bar a race in the window between that read and
the rename); counts are halved while the largest exceeds MAX_COUNT (ratios kept),
and the builds kept are the hottest roots' up to MAX_BUILDS / MAX_OBJECT_BYTES.
Writes go to a temporary file renamed into place (atomic: readers see the old or
the new file, never half of one). A file that is unreadable, damaged (the digest),
of another format, module or owner is ignored, never an error; a save that fails
(read-only or full disk) leaves the program alone.

Spools: an O2 build still under way when the process exits is finished by its
worker process afterwards (parallel.shutdown), which writes it to a spool file beside
the profile (`<key>.pgo.spool<root>.wasabi`, an entry of the cache too). The next run
links the spooled builds (in place of a stored build of the same root) and its save
adds them to the profile file (a run that dies before saving loses them). Without
this, a build longer than a run (SQLite's 54 KB interpreter function takes seconds at
O2) was started again, and abandoned again, by every run: warm runs never got faster.
The first builds still owed when the code is closed or freed go to a worker the same
way, through a payload file beside the profile (ProfileKeeper.finish,
modes/after_exit.py).

Format: MAGIC | header length (u32 LE) | header (JSON) | counts (u64 LE, functions
x 2) | sites (u64 LE records, one per function: function, n, n offsets, n widths, the
counts of its sites one after another) | per build, its image (regions and fixups,
image.Image.blob) or its objects | SHA-256 of everything before it.
"""
import hashlib as _hashlib
import json as _json
import os as _os
import pathlib as _pathlib
import pickle as _pickle
import struct as _struct
import sys as _sys
import tempfile as _tempfile
import threading as _threading
import time as _time
import weakref as _weakref

from . import cache as _cache
from . import parallel as _parallel
from .artifact import machine_key
from .irnames import code_markers, osr_symbol
from .profile import numpy as _numpy, u64_view

MAGIC = b"\0wsbpgo\x01"
SPOOL_MAGIC = b"\0wsbspl\x01"
FORMAT = 3                      # 3: builds kept as prelinked images
SUFFIX = ".pgo" + _cache.ENTRY_SUFFIX      # beside the entry of the same key (cache.py)
DIGEST_SIZE = _hashlib.sha256().digest_size
MAX_COUNT = 1 << 40             # counts are halved past this (so they never overflow)
MAX_BUILDS = 1024               # optimised builds kept, the hottest roots first
MAX_OBJECT_BYTES = 64 << 20
# the first builds a run still owes when its code is closed or freed (or the process
# ends) are made by a worker after the process ended (modes/after_exit.py): whether, of
# at most how many functions, and for how long (CPU seconds of the worker; a run's payload:
# as long as the run took)
AFTER_EXIT = True
AFTER_EXIT_FUNCTIONS = 64
AFTER_EXIT_SECONDS = 20.0
BUILD_TIERS = ("T1", "O2")      # a build without one (written before it) is O2


class StoredBuild:
    """One optimised build: its root function (the hot one), its code, the symbol of
    each function in it, the loops it can be entered at (OSR, of the root) and its tier
    (T1 or O2: modes/tiered.py builds big functions at T1 first). Its code is its
    objects (as made; JITLink links them) or, once saved, the image they prelink to
    (compiler/prelink.py: mapped without LLVM, see `prelinked`)."""
    __slots__ = ("root", "objects", "symbols", "osr", "tier", "image", "parts")

    def __init__(self, root, objects, symbols, osr, tier="O2", image=None, parts=None):
        self.root = int(root)
        self.objects = [bytes(obj) for obj in objects]
        self.symbols = {int(i): str(s) for i, s in symbols.items()}
        self.osr = sorted((int(f), int(k)) for f, k in osr)
        if tier not in BUILD_TIERS:
            raise ValueError(f"a build at tier {tier!r}")
        self.tier = tier
        self.image = image                      # an image.Image, or None
        self.parts = len(self.objects) if parts is None else int(parts)

    def link_symbols(self):
        return [*self.symbols.values(), *(osr_symbol(f, k) for f, k in self.osr)]

    def markers(self):
        """The code marker pair of each of its parts (objects)."""
        return [code_markers(part) for part in range(self.parts)]

    def load_into(self, library):
        """Its code loaded into `library` (a JitLibrary): {symbol: address} of its
        functions and loop entries. Its image is mapped without LLVM; objects are
        linked by JITLink. Raises when it cannot load here."""
        if self.image is None:
            return library.link(self.objects, self.link_symbols())
        from .image import resolve
        return library.add_mapping(self.image.map(resolve), self.image.symbols,
                                   self.markers(), self.link_symbols())

    def size(self):
        """Bytes of code it keeps in the file."""
        if self.image is not None:
            return len(self.image.blob())
        return sum(map(len, self.objects))


def prelinked(build):
    """`build` with its objects prelinked into an image (the file keeps that instead of
    the objects: the next run maps it without importing LLVM, where JITLink took about
    a millisecond per build and LLVM's import 0.03 s), when they can be; else as it is."""
    if build.image is None and build.objects:
        from .prelink import prelink
        try:
            markers = [name for pair in build.markers() for name in pair]
            image = prelink(build.objects, markers + build.link_symbols())
        except Exception:       # noqa: BLE001 - PrelinkError, or what it did not foresee:
            return build        # the objects are kept (a save must not fail over it)
        return StoredBuild(build.root, [], build.symbols, build.osr, build.tier, image,
                           build.parts)
    return build


class StoredProfile:
    """What a profile file holds: counts (functions x 2), sites {func: (layout, counts)}
    (profile.py's site groups), builds [StoredBuild]."""

    def __init__(self, counts, sites, builds):
        self.counts = counts
        self.sites = sites
        self.builds = builds


def _counts_array(counts):
    """Counts (a numpy array, or any buffer of u64s: a decoded profile's memoryview,
    bytes) as a (functions, 2) numpy array of u64."""
    np = _numpy()
    return np.asarray(u64_view(counts), dtype=np.uint64).reshape(-1, 2)


def _sites_arrays(sites):
    """Sites {func: (layout, counts)} with numpy arrays for counts."""
    np = _numpy()
    return {func: (layout, np.asarray(u64_view(counts), dtype=np.uint64))
            for func, (layout, counts) in sites.items()}


# ---- bytes ----

def encode(stored):
    np = _numpy()
    counts = _counts_array(stored.counts)
    records = []
    for func, (layout, site_counts) in sorted(stored.sites.items()):
        records += [[func, len(layout)], [offset for offset, _ in layout],
                    [width for _, width in layout], site_counts]
    sites = np.concatenate([np.asarray(r, dtype="<u8") for r in records]) if records \
        else np.zeros(0, dtype="<u8")
    builds = [prelinked(b) for b in stored.builds]
    head = _envelope_head(MAGIC, functions=len(counts), sites=len(sites),
                          builds=[_build_record(b) for b in builds])
    body = b"".join([head, np.ascontiguousarray(counts, dtype="<u8").tobytes(),
                     np.asarray(sites, dtype="<u8").tobytes(),
                     *(b.image.blob() if b.image is not None else b"".join(b.objects)
                       for b in builds)])
    return body + _hashlib.sha256(body).digest()


def _build_record(build):
    """A build's record in the header: an image's metadata and the offsets of the
    symbols it exports, or its objects' sizes."""
    record = {"root": build.root, "symbols": {str(i): s for i, s in build.symbols.items()},
              "osr": build.osr, "tier": build.tier}
    if build.image is None:
        return dict(record, objects=[len(o) for o in build.objects])
    names = [name for pair in build.markers() for name in pair] + build.link_symbols()
    return dict(record, parts=build.parts, image=build.image.meta(),
                offsets={name: build.image.symbols[name] for name in names})


def _envelope_head(magic, **fields):
    """The start of an envelope (_envelope reads it): magic | header length | header
    (JSON: format, machine key and `fields`)."""
    text = _json.dumps({"format": FORMAT, "key": machine_key(), **fields},
                       sort_keys=True).encode()
    return magic + _struct.pack("<I", len(text)) + text


def _envelope(data, magic, what):
    """(body, header, offset past the header) of `data`: magic | header length (u32
    LE) | header (JSON) | ... | SHA-256 of everything before it; ValueError when it is
    not one, or is damaged."""
    if not data.startswith(magic) or len(data) < len(magic) + 4 + DIGEST_SIZE:
        raise ValueError(f"not a {what}")
    body, digest = data[:-DIGEST_SIZE], data[-DIGEST_SIZE:]
    if _hashlib.sha256(body).digest() != digest:
        raise ValueError(f"damaged {what} (digest mismatch)")
    (length,) = _struct.unpack_from("<I", body, len(magic))
    at = len(magic) + 4
    try:
        header = _json.loads(body[at:at + length].decode())
    except RecursionError:          # (its other errors are ValueErrors)
        raise ValueError(f"unreadable {what} header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT \
            or header.get("key") != machine_key():
        raise ValueError(f"a {what} of another format or machine")
    return body, header, at + length


def decode(data, functions, first):
    """The StoredProfile of `data` for a module of `functions` counters whose defined
    functions start at `first`; ValueError for anything else. Its counts (and its
    sites' counts) are read-only memoryviews of `data` (without numpy: a stored profile
    is read before the first call, see profile.py)."""
    if _sys.byteorder != "little":          # the file's u64s are little-endian
        raise ValueError("a profile on a big-endian host")
    body, header, at = _envelope(data, MAGIC, "profile")
    try:
        if header["functions"] != functions:
            raise ValueError("a profile of another module")
        sites_length = int(header["sites"])
        if sites_length < 0 or at + 16 * functions + 8 * sites_length > len(body):
            raise ValueError("truncated counts")
        view = memoryview(body)
        counts = view[at:at + 16 * functions].cast("Q")
        at += 16 * functions
        flat = view[at:at + 8 * sites_length].cast("Q")
        at += 8 * sites_length
        sites = _sites(flat, functions)
        builds = []
        for b in header["builds"]:
            build, at = (_imaged_build if "image" in b else _objects_build)(b, body, at)
            if not all(first <= i < functions for i in build.symbols) \
                    or not all(f in build.symbols for f, _ in build.osr):
                raise ValueError("a build of functions the module does not have")
            builds.append(build)
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ValueError(f"unreadable profile ({exc!r})") from None
    if at != len(body):
        raise ValueError("wrong length")
    return StoredProfile(counts, sites, builds)


def _objects_build(record, body, at):
    """(StoredBuild, offset after it) of a build kept as objects at body[at:]."""
    objects = []
    for size in record["objects"]:
        if size <= 0 or at + size > len(body):
            raise ValueError("truncated objects")
        objects.append(body[at:at + size])
        at += size
    if not objects:
        raise ValueError("a build without code")
    return _stored_build(record, objects), at


def _imaged_build(record, body, at):
    """(StoredBuild, offset after it) of a build kept as a prelinked image at body[at:]
    (its offsets checked against the image's size; image.py checks the rest)."""
    from .image import Image, ImageError
    try:
        image, at = Image.parse(record["image"], body, at)
    except ImageError as exc:
        raise ValueError(f"unreadable image ({exc})") from None
    image.symbols = {str(name): int(offset) for name, offset in record["offsets"].items()}
    if not all(0 <= offset < image.size for offset in image.symbols.values()):
        raise ValueError("a symbol outside its image")
    build = _stored_build(record, [], image=image, parts=int(record["parts"]))
    if build.parts <= 0:
        raise ValueError("a build without code")
    return build, at


def _sites(flat, functions):
    """{func: (layout, counts)} of the records in `flat` (a read-only 'Q' memoryview);
    the counts are views of it (profile.py copies them into counters)."""
    sites, i, n = {}, 0, len(flat)
    while i < n:
        if i + 2 > n:
            raise ValueError("truncated site record")
        func, count = flat[i], flat[i + 1]
        if func >= functions or func in sites or not 0 < count <= (n - i - 2) // 2:
            raise ValueError("a site record the module cannot have")
        offsets = flat[i + 2:i + 2 + count].tolist()
        widths = flat[i + 2 + count:i + 2 + 2 * count].tolist()
        width = sum(widths)
        i += 2 + 2 * count
        if min(widths) == 0 or width > n - i:
            raise ValueError("a site record the module cannot have")
        sites[func] = (tuple(zip(offsets, widths)), flat[i:i + width])
        i += width
    return sites


def _own_bytes(path):
    """The bytes of the file at `path`, None when it is another user's (OSError when
    it cannot be read)."""
    with open(path, "rb") as f:
        if _os.fstat(f.fileno()).st_uid != _os.getuid():
            return None
        return f.read()


def read(path, functions, first):
    """The StoredProfile at `path`, or None (missing, another user's, or anything
    decode refuses: a profile is an optimisation, never a reason to fail)."""
    try:
        data = _own_bytes(path)
        if data is None:
            return None
        stored = decode(data, functions, first)
    except (OSError, ValueError):
        return None
    try:
        _os.utime(path)             # used now: its place in the cache's LRU order
    except OSError:
        pass
    return stored


def write(path, stored, limit):
    """Write atomically (a temporary file renamed into place); then let the cache
    evict past its size limit. False when it could not (or would not fit)."""
    try:
        return _cache.write_entry(path, encode(stored), limit)
    except OSError:
        return False


# ---- spools: builds finished after their process ended ----

def _spool_path(path, root):
    return path.with_name(f"{path.name[:-len(_cache.ENTRY_SUFFIX)]}.spool{int(root)}"
                          f"{_cache.ENTRY_SUFFIX}")


def spool_request(path, root, symbols, osr, tier="O2"):
    """(spool path, prefix) for parallel.emit_elsewhere: where the build of `root`
    (its function symbols, its loop entries [(func, loop)], its tier) goes if its
    process ends first, and the bytes before its object there."""
    return str(_spool_path(path, root)), _envelope_head(
        SPOOL_MAGIC, root=int(root), symbols={str(i): s for i, s in symbols.items()},
        osr=sorted([int(f), int(k)] for f, k in osr), tier=tier)


def write_spooled(path, prefix, obj):
    """In the worker: prefix + object + digest to `path`, atomically; nothing when the
    cache directory is gone (a temporary one removed meanwhile) or refuses."""
    data = prefix + obj
    try:
        _cache.replace_atomically(_pathlib.Path(path), data + _hashlib.sha256(data).digest())
    except OSError:
        pass


def _stored_build(record, objects, image=None, parts=None):
    """The StoredBuild that a header record (a profile's build, or a spool's header)
    describes, with its objects or image; a record without a tier was written before
    builds had one, all at O2."""
    return StoredBuild(record["root"], objects,
                       {int(i): s for i, s in record["symbols"].items()},
                       [tuple(x) for x in record["osr"]], record.get("tier", "O2"),
                       image, parts)


def decode_spooled(data, functions, first):
    """The StoredBuild of a spool's bytes; ValueError for anything else."""
    body, header, at = _envelope(data, SPOOL_MAGIC, "spool")
    try:
        build = _stored_build(header, [body[at:]])
    except (KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ValueError(f"unreadable spool ({exc!r})") from None
    if not build.objects[0] or not all(first <= i < functions for i in build.symbols) \
            or build.root not in build.symbols \
            or not all(f in build.symbols for f, _ in build.osr):
        raise ValueError("a build of functions the module does not have")
    return build


def take_spooled(path, functions, first):
    """The builds spooled beside the profile at `path` ([StoredBuild]); their files
    are removed (a damaged or foreign one too)."""
    stem = path.name[:-len(_cache.ENTRY_SUFFIX)] + ".spool"
    builds = []
    try:
        listing = [item for item in _os.scandir(path.parent) if item.name.startswith(stem)
                   and item.name.endswith(_cache.ENTRY_SUFFIX)]
    except OSError:
        return builds
    for item in listing:
        try:
            data = _own_bytes(item.path)
            if data is None:
                continue            # another user's: not ours to remove
            builds.append(decode_spooled(data, functions, first))
        except (OSError, ValueError):
            pass
        _cache._unlink(item.path)
    return builds


# ---- a live module's profile and its file ----

class ProfileKeeper:
    """Saves one TieredCode's profile to its file (see the module docstring). Holds the
    Profile and the list of builds, not the code, so that it can run when the code is
    freed."""

    def __init__(self, path, profile, builds, functions, first, limit, unsaved=()):
        self.path = path
        self.profile = profile
        self.builds = builds            # the code's list of StoredBuilds (it appends)
        self.functions, self.first, self.limit = functions, first, limit
        self._lock = _threading.Lock()
        self.saves = 0
        # for builds after exit (modes/after_exit.py): the functions waiting for a first
        # build at the tier-up's last look, the module's bytes and code options
        self.owed = []
        self.wasm = self.code_options = None
        self.started = _time.monotonic()
        # before any call, without numpy: the counts as bytes, the sites as loaded (the
        # counters of functions compiled so far hold just those)
        self._mark(profile.counts_bytes(), dict(profile.prior))
        # builds in `builds` that the file does not have yet (spooled ones)
        self._saved_builds -= {id(b) for b in unsaved}

    def _mark(self, counts=None, sites=None):
        """What the file has of this process's counts (`counts` and `sites` when the
        caller just took them; counts as a numpy array or bytes): a save adds what came
        after."""
        self._saved_counts = self.profile.counts.copy() if counts is None else counts
        self._saved_sites = self.profile.site_groups(nonzero=True) if sites is None else sites
        self._saved_builds = {id(b) for b in self.builds}

    def save(self):
        """Add this run's counts and builds to the file; True when it wrote."""
        with self._lock:
            np = _numpy()
            counts = self.profile.counts.copy()
            sites = self.profile.site_groups(nonzero=True)
            builds = list(self.builds)
            delta = counts - np.minimum(counts, _counts_array(self._saved_counts))
            site_delta = _site_delta(sites, self._saved_sites)
            new_builds = [b for b in builds if id(b) not in self._saved_builds]
            if not delta.any() and not site_delta and not new_builds:
                return False
            disk = read(self.path, self.functions, self.first) or StoredProfile(
                np.zeros_like(counts), {}, [])
            merged = _merge(disk, delta, site_delta, builds)
            written = write(self.path, merged, self.limit)
            if written:
                self.saves += 1
                self._mark(counts, sites)
            return written

    def save_quietly(self):
        """save(), for the finalizer: a profile is an optimisation, so nothing it
        raises reaches the program (at exit, it would be printed)."""
        try:
            self.save()
        except Exception:       # noqa: BLE001 - see the docstring
            pass

    def finish(self):
        """When the code is closed or freed, or at exit (the finalizer): save, and leave
        the first builds still owed to a worker after the process ended."""
        self.save_quietly()
        try:
            path = self._owed_payload()
        except Exception:       # noqa: BLE001 - as save_quietly
            path = None
        if path is not None:
            _parallel.owe_after_exit(path)

    def _owed_payload(self):
        """The path of a payload file for after_exit.run (the module's bytes and code
        options, the profile, the functions owed, this file's path, the budget), or
        None when nothing is owed."""
        owed, self.owed = self.owed[:AFTER_EXIT_FUNCTIONS], []
        if not AFTER_EXIT or not owed or self.wasm is None:
            return None
        stored = StoredProfile(self.profile.counts.copy(),
                               self.profile.site_groups(nonzero=True), [])
        payload = {"wasm": self.wasm, "code": self.code_options, "profile": encode(stored),
                   "functions": self.functions, "path": str(self.path), "owed": owed,
                   "seconds": min(max(_time.monotonic() - self.started, 1.0),
                                  AFTER_EXIT_SECONDS)}
        stem = self.path.name[:-len(_cache.ENTRY_SUFFIX)]
        handle, path = _tempfile.mkstemp(prefix=stem + ".after", suffix=_cache.ENTRY_SUFFIX,
                                         dir=self.path.parent)
        with _os.fdopen(handle, "wb") as out:
            _pickle.dump(payload, out, protocol=_pickle.HIGHEST_PROTOCOL)
        return path

    def forget_parent(self):
        """In a forked child: what the parent counted is the parent's to save."""
        self._lock = _threading.Lock()
        self._mark()


def _site_delta(sites, saved):
    """The site groups' counts since `saved` (site_groups gave only groups with counts:
    one not saved before, or of another layout, is all new)."""
    delta = {}
    for func, (layout, counts) in sites.items():
        old = saved.get(func)
        if old is None or old[0] != layout:
            delta[func] = (layout, counts)
        elif old[1] is not counts:
            change = counts - old[1]
            if change.any():
                delta[func] = (layout, change)
    return delta


def _largest(sites):
    return max((int(counts.max()) for _, counts in sites.values()), default=0)


def _merge(disk, delta, site_delta, builds):
    counts = _counts_array(disk.counts) + delta
    sites = _sites_arrays(disk.sites)
    for func, (layout, change) in site_delta.items():
        old = sites.get(func)
        sites[func] = (layout, change.copy() if old is None or old[0] != layout
                       else old[1] + change)
    while counts.max(initial=0) > MAX_COUNT or _largest(sites) > MAX_COUNT:
        counts //= 2
        sites = {func: (layout, c // 2) for func, (layout, c) in sites.items()}
    by_root = {b.root: b for b in disk.builds}
    by_root.update((b.root, b) for b in builds)         # this run's are the newer
    heat = counts[:, 0] + counts[:, 1]
    kept, size = [], 0
    for build in sorted(by_root.values(), key=lambda b: -int(heat[b.root])):
        size += build.size()
        if len(kept) == MAX_BUILDS or size > MAX_OBJECT_BYTES:
            break
        kept.append(build)
    return StoredProfile(counts, sites, kept)


_KEEPERS = _weakref.WeakSet()


def keep(code, path, limit):
    """Load `path` into `code` (a TieredCode: code.adopt) and save its profile there
    when the code is closed or freed, or the interpreter exits. Returns the keeper."""
    functions, first = code.profile.functions, code.desc.num_imported_funcs
    stored = read(path, functions, first)
    spooled = take_spooled(path, functions, first)
    if spooled:         # newer than a stored build of the same root; saved with this run's
        roots = {b.root for b in spooled}
        stored = stored or StoredProfile(bytes(16 * functions), {}, [])
        stored = StoredProfile(stored.counts, stored.sites,
                               spooled + [b for b in stored.builds if b.root not in roots])
    if stored is not None:
        code.adopt(stored)
    keeper = ProfileKeeper(path, code.profile, code.stored_builds, functions, first, limit,
                           unsaved=spooled)
    keeper.wasm, keeper.code_options = code.desc.data, code.code_options.as_dict()
    code.profile_keeper = keeper
    # at close(), when the code is freed, or at exit (finalize's own atexit hook)
    code.save_profile = _weakref.finalize(code, keeper.finish)
    _KEEPERS.add(keeper)
    return keeper


def _after_fork_in_child():
    for keeper in list(_KEEPERS):
        keeper.forget_parent()


_os.register_at_fork(after_in_child=_after_fork_in_child)
