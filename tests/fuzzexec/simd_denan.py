"""--denan for v128: binaryen 108's --denan leaves SIMD alone, so this does it for f32x4/f64x2.

A NaN produced by wasm arithmetic may have any sign and payload (the spec allows a set of
results), so NaN bits that flow on into integers (an i8x16.eq of the lanes, a store, a shuffle)
make two correct engines differ. After every float SIMD operation that can make a NaN, this
inserts a call to a function that turns NaN lanes into +0 (v128.bitselect of the value, zero,
and its self-equality mask), as binaryen's --denan does for scalars.

Needs an instruction decoder: the immediates of every Wasm 2.0 opcode (skipped, kept as bytes).
"""
from __future__ import annotations

from .wasmbin import BadModule, Reader, append_to_vector, encode_type, parse, set_section, uleb, vec

# SIMD opcodes whose results can be NaN, by lane shape
F32X4_OPS = {0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0x67, 0x68, 0x69, 0x6A, 0x5E}
F64X2_OPS = {0xEF, 0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0x74, 0x75, 0x7A, 0x94, 0x5F}
MEMARG = set(range(0x28, 0x3F))
SINGLE_BYTE_BLOCK_TYPES = {0x40, 0x6F, 0x70, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F}
ONE_ULEB = {0x0C, 0x0D, 0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2, 0x41, 0x42}
FC_IMMEDIATES = {8: "ub", 9: "u", 10: "bb", 11: "b", 12: "uu", 13: "u", 14: "uu", 15: "u", 16: "u", 17: "u"}


def skip(r, form):
    for item in form:
        if item == "u":
            r.uleb()
        elif item == "b":
            r.byte()
        elif item == "m":     # memarg
            r.uleb()
            r.uleb()


def simd_immediates(op):
    if op <= 11 or op in (0x5C, 0x5D):
        return "m"
    if op in (12, 13):
        return "16"
    if 0x15 <= op <= 0x22:
        return "b"
    if 0x54 <= op <= 0x5B:
        return "mb"
    return ""


def instruction(r):
    """Skips one instruction; returns ("fd", simd op) for a SIMD one, else None."""
    op = r.byte()
    if op in (0x02, 0x03, 0x04):
        if r.data[r.pos] in SINGLE_BYTE_BLOCK_TYPES:
            r.byte()
        else:
            r.uleb()  # a type index (s33)
    elif op in ONE_ULEB:
        r.uleb()
    elif op == 0x0E:
        for _ in range(r.uleb() + 1):
            r.uleb()
    elif op == 0x11:
        skip(r, "uu")
    elif op == 0x1C:
        r.bytes(r.uleb())
    elif op in MEMARG:
        skip(r, "m")
    elif op in (0x3F, 0x40, 0xD0):
        r.byte()
    elif op == 0x43:
        r.bytes(4)
    elif op == 0x44:
        r.bytes(8)
    elif op == 0xFC:
        skip(r, FC_IMMEDIATES.get(r.uleb(), ""))
    elif op == 0xFD:
        simd = r.uleb()
        form = simd_immediates(simd)
        if form == "16":
            r.bytes(16)
        else:
            skip(r, form)
        return simd
    return None


def rewrite_body(body, dn32, dn64):
    r = Reader(body)
    for _ in range(r.uleb()):
        r.uleb()
        r.byte()
    out, start = bytearray(body[:r.pos]), r.pos
    while r.pos < len(body):
        simd = instruction(r)
        out += body[start:r.pos]
        start = r.pos
        if simd in F32X4_OPS:
            out += b"\x10" + uleb(dn32)
        elif simd in F64X2_OPS:
            out += b"\x10" + uleb(dn64)
    return bytes(out)


def denan_function(eq_op):
    # local.get 0, v128.const 0, local.get 0, local.get 0, fNxM.eq, v128.bitselect
    code = b"\x20\x00\xfd\x0c" + bytes(16) + b"\x20\x00\x20\x00\xfd" + uleb(eq_op) + b"\xfd" + uleb(0x52)
    return vec([]) + code + b"\x0b"


def denan_simd(data: bytes) -> bytes:
    """The module with NaN lanes of float SIMD results replaced by +0; unchanged without SIMD."""
    module = parse(data)
    code = module.payload(10)
    if not code or b"\xfd" not in code:
        return data
    dn32 = len(module.func_types)
    dn64 = dn32 + 1
    r = Reader(code)
    bodies = []
    for _ in range(r.uleb()):
        body = r.bytes(r.uleb())
        new = rewrite_body(body, dn32, dn64)
        bodies.append(uleb(len(new)) + new)
    if r.pos != len(code):
        raise BadModule("code section longer than its bodies")
    type_index = uleb(len(module.types))
    helpers = [denan_function(0x41), denan_function(0x47)]
    bodies += [uleb(len(h)) + h for h in helpers]
    sections = list(module.sections)
    set_section(sections, 1, append_to_vector(module.payload(1), [encode_type(b"\x7b", b"\x7b")]))
    set_section(sections, 3, append_to_vector(module.payload(3), [type_index, type_index]))
    set_section(sections, 10, vec(bodies))
    out = bytearray(data[:8])
    for section_id, payload in sections:
        out += bytes([section_id]) + uleb(len(payload)) + payload
    return bytes(out)
