"""Linking a module's objects ahead of time into an image that loads without LLVM.

    image = prelink(objects, exported)     # an image.Image; PrelinkError if it cannot

JITLink links the objects of a cached module again in every process: for the
4 MB of objects of a 1.5 MB module that is about 100 ms, plus importing
llvmlite. But nearly everything it does gives the same result every time: the
sections are laid out the same way, and every PC-relative reference between
them resolves to the same displacement wherever the image lands. So this
module does that work once, when an artifact is written (compiler/artifact.py),
and keeps what depends on the process for the load (compiler/image.py):

- the sections with SHF_ALLOC of all objects, laid out in three page-aligned
  regions (code: read+execute; read-only data and GOT slots; writable data),
  with every PC-relative relocation between them applied;
- a call (R_X86_64_PLT32) to a symbol none of the objects defines (the
  runtime's builtins, libc) goes to a stub in the code region that jumps
  through a slot (jmp *slot(%rip)), and a GOTPCREL reference to a GOT slot:
  the loader fills the slots;
- what the loader patches: 64-bit absolute addresses of the image (base
  added), and values of external symbols (a slot, or the stack limit's
  thread-pointer offset, an R_X86_64_32S immediate).

Anything else (another machine than x86-64, a relocation type not listed
below, a thread-local section, a PC-relative data reference to an external
symbol) is a PrelinkError, and the artifact keeps the objects for JITLink as
before. Only what wasabi's own code generation emits has to be handled here,
and nothing is guessed: a reference the image cannot express is refused.
"""
import struct as _struct

import array as _array

import numpy as _np

from .image import (FIX_EXT32, FIX_EXT32S, FIX_EXT64, FIX_REBASE64, FIXUP_SIZE, PAGE,
                    THUNK_KINDS, CodeImage, Image)

# the fixup records image.py's loader reads (wasabi/_cy/image.pxi applies them)
FIXUP_DTYPE = _np.dtype([("offset", "<u8"), ("kind", "<u4"), ("target", "<u4"),
                         ("addend", "<i8")])
assert FIXUP_DTYPE.itemsize == FIXUP_SIZE

EM_X86_64 = 62
ET_REL = 1
SHT_NOBITS, SHT_RELA, SHT_REL = 8, 4, 9
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR, SHF_TLS = 0x1, 0x2, 0x4, 0x400
SHN_UNDEF, SHN_ABS, SHN_COMMON, SHN_LORESERVE = 0, 0xFFF1, 0xFFF2, 0xFF00
STT_TLS = 6
STB_LOCAL = 0

R_NONE, R_64, R_PC32, R_PLT32, R_GOTPCREL, R_32, R_32S, R_PC64 = 0, 1, 2, 4, 9, 10, 11, 24
R_GOTPCRELX, R_REX_GOTPCRELX = 41, 42
GOT_TYPES = (R_GOTPCREL, R_GOTPCRELX, R_REX_GOTPCRELX)
KNOWN_TYPES = (R_NONE, R_64, R_PC32, R_PLT32, R_32, R_32S, R_PC64) + GOT_TYPES

SECTION = _np.dtype([("name", "<u4"), ("type", "<u4"), ("flags", "<u8"), ("addr", "<u8"),
                     ("offset", "<u8"), ("size", "<u8"), ("link", "<u4"), ("info", "<u4"),
                     ("align", "<u8"), ("entsize", "<u8")])
SYMBOL = _np.dtype([("name", "<u4"), ("info", "u1"), ("other", "u1"), ("shndx", "<u2"),
                    ("value", "<u8"), ("size", "<u8")])
RELA = _np.dtype([("offset", "<u8"), ("info", "<u8"), ("addend", "<i8")])

# where a symbol is, once laid out
K_INTERNAL, K_EXTERNAL, K_ABSOLUTE, K_UNUSABLE = 0, 1, 2, 3
STUB = b"\xff\x25"          # jmp *disp32(%rip), then two int3 to 8 bytes
STUB_SIZE = 8
REGIONS = ("text", "ro", "rw")


class PrelinkError(Exception):
    """The objects hold something the image cannot express (JITLink links them)."""


def _align(value, alignment):
    alignment = max(int(alignment), 1)
    return -(-value // alignment) * alignment


def _name(strtab, offset):
    end = strtab.index(b"\0", offset)
    return strtab[offset:end].decode()


class _Object:
    """One relocatable ELF object: its sections, symbols and relocations."""

    def __init__(self, data):
        self.data = data = bytes(data)
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise PrelinkError("not a little-endian ELF64 object")
        (etype, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum,
         shstrndx) = _struct.unpack_from("<HHIQQQIHHHHHH", data, 16)
        if etype != ET_REL or machine != EM_X86_64:
            raise PrelinkError(f"an ELF object of type {etype} for machine {machine}, "
                               "not a relocatable x86-64 object")
        if shnum == 0 or shentsize != SECTION.itemsize or shstrndx >= SHN_LORESERVE:
            raise PrelinkError("extended ELF section numbering")
        self.sections = _np.frombuffer(data, SECTION, shnum, shoff)
        self.symtab = None
        for index, section in enumerate(self.sections):
            if section["type"] == 2:            # SHT_SYMTAB
                self.symtab = index
        if self.symtab is None:
            raise PrelinkError("an object without a symbol table")
        sym = self.sections[self.symtab]
        self.symbols = _np.frombuffer(data, SYMBOL, int(sym["size"]) // SYMBOL.itemsize,
                                      int(sym["offset"]))
        strtab = self.sections[int(sym["link"])]
        self.strtab = data[int(strtab["offset"]):int(strtab["offset"] + strtab["size"])]

    def allocated(self):
        """Indices of the sections that are loaded (SHF_ALLOC, with a size)."""
        flags = self.sections["flags"]
        found = _np.nonzero((flags & SHF_ALLOC) != 0)[0]
        if (flags[found] & SHF_TLS).any():
            raise PrelinkError("a thread-local section")
        return [int(i) for i in found if self.sections[i]["size"]]

    def symbol_name(self, index):
        return _name(self.strtab, int(self.symbols[index]["name"]))


class _Layout:
    """Section placement: image offset per (object, section)."""

    def __init__(self, objects):
        self.place = {}                 # (k, section) -> image offset
        self.sizes = {name: 0 for name in REGIONS}
        members = {name: [] for name in REGIONS}
        for k, obj in enumerate(objects):
            for index in obj.allocated():
                flags = int(obj.sections[index]["flags"])
                region = "text" if flags & SHF_EXECINSTR else "rw" if flags & SHF_WRITE else "ro"
                members[region].append((k, index))
        self.offsets = {}
        for region in REGIONS:
            at = 0
            for k, index in members[region]:
                section = objects[k].sections[index]
                at = _align(at, section["align"])
                self.place[(k, index)] = (region, at)
                at += int(section["size"])
            self.sizes[region] = at
        self.members = members

    def reserve(self, region, size, alignment):
        """Room for `size` more bytes at the end of `region`: its offset there."""
        at = _align(self.sizes[region], alignment)
        self.sizes[region] = at + size
        return at

    def finish(self):
        """The regions' image offsets (page-aligned, in order), then each section's."""
        at = 0
        for region in REGIONS:
            self.offsets[region] = at
            at += _align(self.sizes[region], PAGE)
        self.total = at
        self.section_offset = {key: self.offsets[region] + offset
                               for key, (region, offset) in self.place.items()}


def code_image(desc, objects, symbols):
    """The CodeImage (compiler/image.py) of an EAGER module's objects and symbols
    ({func index: symbol}, every defined function), with its signature thunks; None
    when they cannot be prelinked (the artifact then keeps the objects)."""
    from .irnames import code_markers
    markers = [code_markers(part) for part in range(len(objects))]
    first = desc.num_imported_funcs
    indices = range(first, first + len(desc.funcs))
    if sorted(symbols) != list(indices):
        return None
    try:
        image = prelink(objects, [name for pair in markers for name in pair]
                        + [symbols[i] for i in indices])
    except PrelinkError:
        return None
    functions = _np.array([image.symbols[symbols[i]] for i in indices], _np.uint64)
    ranges = [(image.symbols[begin], image.symbols[end]) for begin, end in markers]
    inside = _np.zeros(len(functions), bool)
    for begin, end in ranges:
        inside |= (functions > begin) & (functions < end)
    if not inside.all():            # as JitLibrary.link: code outside its markers
        return None
    thunks, table = _thunk_image(desc)
    return CodeImage(image, first, _array.array("Q", functions.tolist()), ranges, thunks, table)


def _thunk_image(desc):
    """(Image, offsets per (type index, kind), -1 for none) of the array, host and
    native thunks of every type of `desc` (as a shared library has them: aot/dylib.py),
    or (None, None) when there are none or they cannot be prelinked."""
    from .jit import emit_object
    from .thunks import thunks_object_ir
    if not desc.types:
        return None, None
    text, names = thunks_object_ir(desc.types)
    obj, _ = emit_object(text, "T1", passes=False)      # as the JIT's thunks
    try:
        image = prelink([obj], list(names.values()))
    except PrelinkError:
        return None, None
    table = _np.full((len(desc.types), len(THUNK_KINDS)), -1, _np.int64)
    for (kind, index), name in names.items():
        table[index, THUNK_KINDS.index(kind)] = image.symbols[name]
    return image, [tuple(int(offset) for offset in row) for row in table]


def prelink(objects, exported):
    """An image.Image of `objects` (bytes each; they may call each other) in which the
    symbols `exported` have known offsets (Image.symbols). PrelinkError otherwise."""
    parsed = [_Object(obj) for obj in objects]
    layout = _Layout(parsed)
    externals = {}                      # name -> external index
    stubs, slots = {}, {}               # external -> stub offset; (kind, target) -> slot
    # the stubs and slots need room before the regions are placed: count them first
    resolved = [_symbols(obj) for obj in parsed]
    defined = _globals(parsed, resolved)
    needs = [_plan(obj, k, res, defined, externals) for k, (obj, res) in
             enumerate(zip(parsed, resolved))]
    stub_needs = sorted({e for need in needs for e in need["stubs"]})
    slot_needs = sorted({s for need in needs for s in need["slots"]})
    stub_at = layout.reserve("text", STUB_SIZE * len(stub_needs), 16)
    slot_at = layout.reserve("ro", 8 * len(slot_needs), 8)
    layout.finish()
    for n, external in enumerate(stub_needs):
        stubs[external] = layout.offsets["text"] + stub_at + STUB_SIZE * n
    for n, slot in enumerate(slot_needs):
        slots[slot] = layout.offsets["ro"] + slot_at + 8 * n
    image = _np.zeros(layout.total, _np.uint8)
    for (k, index), offset in layout.section_offset.items():
        section = parsed[k].sections[index]
        if section["type"] != SHT_NOBITS:
            start = int(section["offset"])
            image[offset:offset + int(section["size"])] = _np.frombuffer(
                parsed[k].data, _np.uint8, int(section["size"]), start)
    fixups = []
    for k, obj in enumerate(parsed):
        _relocate(obj, k, resolved[k], defined, layout, image, fixups, stubs, slots)
    _stubs_and_slots(image, fixups, stubs, slots, layout)
    symbols = {}
    for name in exported:
        found = defined.get(name)
        if found is None:
            raise PrelinkError(f"no object defines {name}")
        symbols[name] = layout.section_offset[found[:2]] + found[2]
    regions = [(layout.offsets[r], layout.sizes[r], r) for r in REGIONS]
    table = _np.concatenate(fixups) if fixups else _np.zeros(0, FIXUP_DTYPE)
    names = sorted(externals, key=externals.get)
    return Image.from_layout(image, regions, layout.total, names, table.tobytes(), symbols)


def _symbols(obj):
    """(kind, section or external name, value) per symbol: numpy arrays kind/section/value."""
    syms = obj.symbols
    shndx = syms["shndx"].astype(_np.int64)
    kind = _np.full(len(syms), K_INTERNAL, _np.int64)
    kind[shndx == SHN_UNDEF] = K_EXTERNAL
    kind[shndx == SHN_ABS] = K_ABSOLUTE
    other = (shndx >= SHN_LORESERVE) & (shndx != SHN_ABS)
    kind[other] = K_UNUSABLE                    # COMMON, XINDEX: not in our objects
    kind[(syms["info"] & 0xF) == STT_TLS] = K_UNUSABLE
    allocated = set(obj.allocated())
    internal = _np.nonzero(kind == K_INTERNAL)[0]
    for i in internal:
        if int(shndx[i]) not in allocated:      # a symbol of a section not loaded
            kind[i] = K_UNUSABLE
    kind[0] = K_UNUSABLE                        # the null symbol
    return {"kind": kind, "shndx": shndx, "value": syms["value"].astype(_np.int64)}


def _globals(parsed, resolved):
    """name -> (object, section, value) of every defined non-local symbol."""
    defined = {}
    for k, (obj, res) in enumerate(zip(parsed, resolved)):
        binding = obj.symbols["info"] >> 4
        for i in _np.nonzero((binding != STB_LOCAL) & (res["kind"] == K_INTERNAL))[0]:
            name = obj.symbol_name(i)
            if name in defined:
                raise PrelinkError(f"{name} is defined twice")
            defined[name] = (k, int(res["shndx"][i]), int(res["value"][i]))
    return defined


def _relocations(obj):
    """(target section, RELA array) for each relocation section of a loaded section."""
    allocated = set(obj.allocated())
    for index, section in enumerate(obj.sections):
        if section["type"] == SHT_REL:
            raise PrelinkError("SHT_REL relocations")
        if section["type"] != SHT_RELA or int(section["info"]) not in allocated:
            continue
        count = int(section["size"]) // RELA.itemsize
        yield int(section["info"]), _np.frombuffer(obj.data, RELA, count, int(section["offset"]))


def _external_index(obj, i, defined, externals):
    """For an undefined symbol: None when another object defines it, else its external index."""
    name = obj.symbol_name(i)
    if name in defined:
        return None
    return externals.setdefault(name, len(externals))


def _plan(obj, k, res, defined, externals):
    """The stubs and GOT slots the object's relocations need: {"stubs", "slots"}, and
    res["target"]: per symbol, the defining (object, section, value) or external index."""
    res["target"] = {}
    stubs, slots = set(), set()
    for _, rela in _relocations(obj):
        types = (rela["info"] & 0xFFFFFFFF).astype(_np.int64)
        unknown = _np.setdiff1d(types, KNOWN_TYPES)
        if len(unknown):
            raise PrelinkError(f"relocation type {int(unknown[0])}")
        syms = (rela["info"] >> 32).astype(_np.int64)
        if (res["kind"][syms[types != R_NONE]] == K_UNUSABLE).any():
            raise PrelinkError("a relocation against a symbol that is not loaded")
        for i in _np.unique(syms[res["kind"][syms] == K_EXTERNAL]):
            if int(i) not in res["target"]:
                ext = _external_index(obj, int(i), defined, externals)
                res["target"][int(i)] = ("ext", ext) if ext is not None else \
                    ("def", defined[obj.symbol_name(int(i))])
        for i in _np.unique(syms[types == R_PLT32]):
            target = res["target"].get(int(i))
            if target is not None and target[0] == "ext":
                stubs.add(target[1])
                slots.add(target)               # the slot the stub jumps through
        for i in _np.unique(syms[_np.isin(types, GOT_TYPES)]):
            slots.add(_slot_key(res, k, int(i)))
    return {"stubs": stubs, "slots": slots}


def _slot_key(res, k, i):
    """What a GOT slot for symbol i of object k holds: ("ext", n), ("abs", value) or
    ("def", (object, section, value))."""
    target = res["target"].get(i)
    if target is not None:
        return target
    if res["kind"][i] == K_ABSOLUTE:
        return ("abs", int(res["value"][i]))
    return ("def", (k, int(res["shndx"][i]), int(res["value"][i])))


def _addresses(obj, k, res, layout):
    """Per symbol: (image offset or external index or absolute value, kind), as arrays."""
    kind = res["kind"].copy()
    where = _np.zeros(len(kind), _np.int64)
    internal = _np.nonzero(kind == K_INTERNAL)[0]
    for i in internal:
        where[i] = layout.section_offset[(k, int(res["shndx"][i]))] + res["value"][i]
    absolute = kind == K_ABSOLUTE
    where[absolute] = res["value"][absolute]
    for i, (what, target) in res["target"].items():
        if what == "ext":
            where[i] = target
        else:
            kind[i] = K_INTERNAL
            where[i] = layout.section_offset[target[:2]] + target[2]
    return kind, where


def _fixups(offsets, kind, targets, addends):
    table = _np.zeros(len(offsets), FIXUP_DTYPE)
    table["offset"], table["kind"] = offsets, kind
    table["target"], table["addend"] = targets, addends
    return table


def _write(image, at, values, size):
    """Little-endian `size`-byte values at image offsets `at` (vectorised)."""
    if not len(at):
        return
    dtype = {4: "<i4", 8: "<i8"}[size]
    raw = values.astype(dtype).view(_np.uint8).reshape(-1, size)
    image[at[:, None] + _np.arange(size)] = raw


def _check_range(values, low, high, what):
    if len(values) and (values.min() < low or values.max() > high):
        raise PrelinkError(f"a {what} out of range")


def _relocate(obj, k, res, defined, layout, image, fixups, stubs, slots):
    kind, where = _addresses(obj, k, res, layout)
    for target, rela in _relocations(obj):
        types = (rela["info"] & 0xFFFFFFFF).astype(_np.int64)
        syms = (rela["info"] >> 32).astype(_np.int64)
        place = layout.section_offset[(k, target)] + rela["offset"].astype(_np.int64)
        addend = rela["addend"]
        sym_kind, sym_at = kind[syms], where[syms]
        internal, external = sym_kind == K_INTERNAL, sym_kind == K_EXTERNAL
        absolute = sym_kind == K_ABSOLUTE
        # PC-relative (calls, jumps, data, jump tables): displacements within the image
        pc32 = _np.isin(types, (R_PC32, R_PLT32))
        if (pc32 & absolute).any() or ((types == R_PC32) & external).any():
            raise PrelinkError("a PC-relative data reference to a symbol outside the image")
        call = (types == R_PLT32) & external
        stub_at = _np.array([stubs[int(e)] for e in sym_at[call]], _np.int64)
        sym_at = sym_at.copy()
        sym_at[call] = stub_at
        near = pc32 & ~absolute
        values = sym_at[near] + addend[near] - place[near]
        _check_range(values, -(1 << 31), (1 << 31) - 1, "32-bit displacement")
        _write(image, place[near], values, 4)
        pc64 = (types == R_PC64)
        if (pc64 & ~internal).any():
            raise PrelinkError("a 64-bit PC-relative reference to a symbol outside the image")
        _write(image, place[pc64], sym_at[pc64] + addend[pc64] - place[pc64], 8)
        # GOT references: the displacement to a slot the loader fills
        got = _np.isin(types, GOT_TYPES)
        if got.any():
            slot_at = _np.array([slots[_slot_key(res, k, int(i))] for i in syms[got]], _np.int64)
            values = slot_at + addend[got] - place[got]
            _check_range(values, -(1 << 31), (1 << 31) - 1, "GOT displacement")
            _write(image, place[got], values, 4)
        # absolute: constants now; image addresses and external values at load time
        for rtype, size, fix in ((R_64, 8, FIX_EXT64), (R_32S, 4, FIX_EXT32S),
                                 (R_32, 4, FIX_EXT32)):
            mask = types == rtype
            if not mask.any():
                continue
            const = mask & absolute
            if const.any():
                values = sym_at[const] + addend[const]
                if size == 4:
                    low = -(1 << 31) if rtype == R_32S else 0
                    _check_range(values, low, low + (1 << 32) - 1, "32-bit constant")
                _write(image, place[const], values, size)
            if (mask & internal).any():
                if rtype != R_64:
                    raise PrelinkError("a 32-bit absolute address of the image")
                sel = mask & internal
                fixups.append(_fixups(place[sel], FIX_REBASE64, sym_at[sel], addend[sel]))
            sel = mask & external
            if sel.any():
                fixups.append(_fixups(place[sel], fix, sym_at[sel], addend[sel]))


def _stubs_and_slots(image, fixups, stubs, slots, layout):
    """Write the stubs (jmp through their slot) and the slots' load-time fixups."""
    for external, stub in stubs.items():
        slot = slots[("ext", external)]
        code = STUB + _struct.pack("<i", slot - (stub + 6)) + b"\xcc\xcc"
        image[stub:stub + STUB_SIZE] = _np.frombuffer(code, _np.uint8)
    rows = []
    for (what, target), slot in slots.items():
        if what == "ext":
            rows.append((slot, FIX_EXT64, target, 0))
        elif what == "abs":
            image[slot:slot + 8] = _np.frombuffer(_struct.pack("<q", target), _np.uint8)
        else:
            k, section, value = target
            rows.append((slot, FIX_REBASE64, layout.section_offset[(k, section)] + value, 0))
    if rows:
        offsets, kinds, targets, addends = map(list, zip(*rows))
        fixups.append(_fixups(offsets, kinds, targets, addends))
