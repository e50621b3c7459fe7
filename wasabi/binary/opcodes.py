"""The Wasm 2.0 instruction set: the one table every stage reads.

Each `Opcode` says how an instruction is encoded (prefix byte, code, immediate
kind) and, for the "simple" instructions, its fixed stack signature. The code
validator (wasabi/_cy/codevalidator_table.pxi) builds its C tables from this module at
import time, the LLVM translator and the text format read the same entries, so an
instruction is added or renumbered here and nowhere else.

Encoding: an opcode is one byte (`prefix` None), or a prefix byte 0xFC / 0xFD
followed by `code` as an unsigned LEB128 (u32).

Immediate kinds (IMMEDIATE_KINDS), in binary order:
  none              -
  blocktype         0x40 | valtype | s33 type index        (block, loop, if)
  label             u32 label depth                         (br, br_if)
  br_table          vec(u32) labels, u32 default
  func              u32 function index                      (call, ref.func)
  call_indirect     u32 type index, u32 table index
  local / global / table   u32 index
  two_tables        u32 destination table, u32 source table (table.copy)
  elem_and_table    u32 elem segment, u32 table             (table.init)
  elem / data       u32 segment index                       (elem.drop, data.drop)
  data_and_zero     u32 data segment, 0x00                  (memory.init)
  zero_byte         0x00                                    (memory.size/grow/fill)
  two_zero_bytes    0x00 0x00                               (memory.copy)
  memarg            u32 alignment log2, u32 offset; `align` = natural alignment log2
  memarg_lane       memarg, then a lane byte < `lanes`      (v128.loadN_lane / storeN_lane)
  lane              a lane byte < `lanes`                   (extract_lane / replace_lane)
  i32 / i64         signed LEB128 (s32 / s64)
  f32 / f64         4 / 8 little-endian bytes
  v128              16 bytes                                (v128.const)
  shuffle           16 lane bytes, each < 32                (i8x16.shuffle)
  reftype           one reference type byte                 (ref.null)
  select_types      vec(valtype)                            (typed select)

Signatures: `params` and `results` are tuples of value type codes
(wasabi.binary.types); they are None for the "special" instructions whose typing
depends on their immediates or on the control structure (blocks, branches,
calls, locals, globals, polymorphic select/drop, table get/set/grow/fill,
ref.null, ref.is_null).
"""
from dataclasses import dataclass

from .leb128 import uleb
from .types import EXTERNREF, F32, F64, FUNCREF, I32, I64, V128

IMMEDIATE_KINDS = frozenset({
    "none", "blocktype", "label", "br_table", "func", "call_indirect", "local", "global",
    "table", "two_tables", "elem_and_table", "elem", "data", "data_and_zero", "zero_byte",
    "two_zero_bytes", "memarg", "memarg_lane", "lane", "i32", "i64", "f32", "f64", "v128",
    "shuffle", "reftype", "select_types",
})

PREFIX_FC = 0xFC
PREFIX_FD = 0xFD


@dataclass(frozen=True, slots=True)
class Opcode:
    prefix: int | None        # None, 0xFC or 0xFD
    code: int                 # the byte, or the u32 sub-opcode after a prefix
    name: str                 # text-format name, e.g. "i32.add"
    imm: str                  # one of IMMEDIATE_KINDS
    params: tuple | None      # value types popped (first = deepest); None if special
    results: tuple | None     # value types pushed; None if special
    align: int = 0            # natural alignment log2 (memarg, memarg_lane)
    lanes: int = 0            # lane count (lane, memarg_lane)

    @property
    def special(self) -> bool:
        return self.params is None

    @property
    def key(self):
        return (self.prefix, self.code)

    def encode(self) -> bytes:
        """The opcode bytes (without immediates)."""
        if self.prefix is None:
            return bytes([self.code])
        return bytes([self.prefix]) + uleb(self.code)


# --- building the table -------------------------------------------------------------
# Signatures are written as "params:results" with one letter per value type, which keeps
# the hundreds of numeric entries readable: i=i32 I=i64 f=f32 F=f64 v=v128
# r=funcref e=externref.
_LETTERS = {"i": I32, "I": I64, "f": F32, "F": F64, "v": V128, "r": FUNCREF, "e": EXTERNREF}

_table = []


def _sig(text):
    params, results = text.split(":")
    return tuple(_LETTERS[c] for c in params), tuple(_LETTERS[c] for c in results)


def _op(prefix, code, name, imm="none", sig=None, align=0, lanes=0):
    params, results = _sig(sig) if sig is not None else (None, None)
    _table.append(Opcode(prefix, code, name, imm, params, results, align, lanes))


def _family(prefix, first, names, sig, imm="none"):
    """Consecutive opcodes sharing one signature; None in `names` is an unassigned code."""
    for i, name in enumerate(names):
        if name is not None:
            _op(prefix, first + i, name, imm, sig)


def _s(names):
    """Space-separated names; '-' marks an unassigned opcode."""
    return [None if n == "-" else n for n in names.split()]


# control (0x00-0x11)
_op(None, 0x00, "unreachable")
_op(None, 0x01, "nop", sig=":")
_op(None, 0x02, "block", "blocktype")
_op(None, 0x03, "loop", "blocktype")
_op(None, 0x04, "if", "blocktype")
_op(None, 0x05, "else")
_op(None, 0x0B, "end")
_op(None, 0x0C, "br", "label")
_op(None, 0x0D, "br_if", "label")
_op(None, 0x0E, "br_table", "br_table")
_op(None, 0x0F, "return")
_op(None, 0x10, "call", "func")
_op(None, 0x11, "call_indirect", "call_indirect")

# parametric
_op(None, 0x1A, "drop")
_op(None, 0x1B, "select")
_op(None, 0x1C, "select", "select_types")   # typed select: same text name, `select (result t)`

# variable
_op(None, 0x20, "local.get", "local")
_op(None, 0x21, "local.set", "local")
_op(None, 0x22, "local.tee", "local")
_op(None, 0x23, "global.get", "global")
_op(None, 0x24, "global.set", "global")

# table
_op(None, 0x25, "table.get", "table")
_op(None, 0x26, "table.set", "table")

# memory: (code, name, signature, natural alignment log2)
for _code, _name, _sg, _al in [
        (0x28, "i32.load", "i:i", 2), (0x29, "i64.load", "i:I", 3),
        (0x2A, "f32.load", "i:f", 2), (0x2B, "f64.load", "i:F", 3),
        (0x2C, "i32.load8_s", "i:i", 0), (0x2D, "i32.load8_u", "i:i", 0),
        (0x2E, "i32.load16_s", "i:i", 1), (0x2F, "i32.load16_u", "i:i", 1),
        (0x30, "i64.load8_s", "i:I", 0), (0x31, "i64.load8_u", "i:I", 0),
        (0x32, "i64.load16_s", "i:I", 1), (0x33, "i64.load16_u", "i:I", 1),
        (0x34, "i64.load32_s", "i:I", 2), (0x35, "i64.load32_u", "i:I", 2),
        (0x36, "i32.store", "ii:", 2), (0x37, "i64.store", "iI:", 3),
        (0x38, "f32.store", "if:", 2), (0x39, "f64.store", "iF:", 3),
        (0x3A, "i32.store8", "ii:", 0), (0x3B, "i32.store16", "ii:", 1),
        (0x3C, "i64.store8", "iI:", 0), (0x3D, "i64.store16", "iI:", 1),
        (0x3E, "i64.store32", "iI:", 2)]:
    _op(None, _code, _name, "memarg", _sg, align=_al)
_op(None, 0x3F, "memory.size", "zero_byte", ":i")
_op(None, 0x40, "memory.grow", "zero_byte", "i:i")

# constants
_op(None, 0x41, "i32.const", "i32", ":i")
_op(None, 0x42, "i64.const", "i64", ":I")
_op(None, 0x43, "f32.const", "f32", ":f")
_op(None, 0x44, "f64.const", "f64", ":F")

# comparisons
_op(None, 0x45, "i32.eqz", sig="i:i")
_family(None, 0x46, [f"i32.{n}" for n in _s("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")], "ii:i")
_op(None, 0x50, "i64.eqz", sig="I:i")
_family(None, 0x51, [f"i64.{n}" for n in _s("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")], "II:i")
_family(None, 0x5B, [f"f32.{n}" for n in _s("eq ne lt gt le ge")], "ff:i")
_family(None, 0x61, [f"f64.{n}" for n in _s("eq ne lt gt le ge")], "FF:i")

# integer and float arithmetic
_family(None, 0x67, [f"i32.{n}" for n in _s("clz ctz popcnt")], "i:i")
_family(None, 0x6A, [f"i32.{n}" for n in _s(
    "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr")], "ii:i")
_family(None, 0x79, [f"i64.{n}" for n in _s("clz ctz popcnt")], "I:I")
_family(None, 0x7C, [f"i64.{n}" for n in _s(
    "add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr")], "II:I")
_family(None, 0x8B, [f"f32.{n}" for n in _s("abs neg ceil floor trunc nearest sqrt")], "f:f")
_family(None, 0x92, [f"f32.{n}" for n in _s("add sub mul div min max copysign")], "ff:f")
_family(None, 0x99, [f"f64.{n}" for n in _s("abs neg ceil floor trunc nearest sqrt")], "F:F")
_family(None, 0xA0, [f"f64.{n}" for n in _s("add sub mul div min max copysign")], "FF:F")

# conversions (0xA7-0xBF) and sign extension (0xC0-0xC4)
for _code, _name, _sg in [
        (0xA7, "i32.wrap_i64", "I:i"),
        (0xA8, "i32.trunc_f32_s", "f:i"), (0xA9, "i32.trunc_f32_u", "f:i"),
        (0xAA, "i32.trunc_f64_s", "F:i"), (0xAB, "i32.trunc_f64_u", "F:i"),
        (0xAC, "i64.extend_i32_s", "i:I"), (0xAD, "i64.extend_i32_u", "i:I"),
        (0xAE, "i64.trunc_f32_s", "f:I"), (0xAF, "i64.trunc_f32_u", "f:I"),
        (0xB0, "i64.trunc_f64_s", "F:I"), (0xB1, "i64.trunc_f64_u", "F:I"),
        (0xB2, "f32.convert_i32_s", "i:f"), (0xB3, "f32.convert_i32_u", "i:f"),
        (0xB4, "f32.convert_i64_s", "I:f"), (0xB5, "f32.convert_i64_u", "I:f"),
        (0xB6, "f32.demote_f64", "F:f"),
        (0xB7, "f64.convert_i32_s", "i:F"), (0xB8, "f64.convert_i32_u", "i:F"),
        (0xB9, "f64.convert_i64_s", "I:F"), (0xBA, "f64.convert_i64_u", "I:F"),
        (0xBB, "f64.promote_f32", "f:F"),
        (0xBC, "i32.reinterpret_f32", "f:i"), (0xBD, "i64.reinterpret_f64", "F:I"),
        (0xBE, "f32.reinterpret_i32", "i:f"), (0xBF, "f64.reinterpret_i64", "I:F"),
        (0xC0, "i32.extend8_s", "i:i"), (0xC1, "i32.extend16_s", "i:i"),
        (0xC2, "i64.extend8_s", "I:I"), (0xC3, "i64.extend16_s", "I:I"),
        (0xC4, "i64.extend32_s", "I:I")]:
    _op(None, _code, _name, sig=_sg)

# reference
_op(None, 0xD0, "ref.null", "reftype")
_op(None, 0xD1, "ref.is_null")
_op(None, 0xD2, "ref.func", "func", ":r")

# 0xFC: saturating truncation, bulk memory, table instructions
FC = PREFIX_FC
for _code, _name, _sg in [
        (0, "i32.trunc_sat_f32_s", "f:i"), (1, "i32.trunc_sat_f32_u", "f:i"),
        (2, "i32.trunc_sat_f64_s", "F:i"), (3, "i32.trunc_sat_f64_u", "F:i"),
        (4, "i64.trunc_sat_f32_s", "f:I"), (5, "i64.trunc_sat_f32_u", "f:I"),
        (6, "i64.trunc_sat_f64_s", "F:I"), (7, "i64.trunc_sat_f64_u", "F:I")]:
    _op(FC, _code, _name, sig=_sg)
_op(FC, 8, "memory.init", "data_and_zero", "iii:")
_op(FC, 9, "data.drop", "data", ":")
_op(FC, 10, "memory.copy", "two_zero_bytes", "iii:")
_op(FC, 11, "memory.fill", "zero_byte", "iii:")
_op(FC, 12, "table.init", "elem_and_table", "iii:")
_op(FC, 13, "elem.drop", "elem", ":")
_op(FC, 14, "table.copy", "two_tables", "iii:")
_op(FC, 15, "table.grow", "table")       # [t i32] -> [i32], t = the table's element type
_op(FC, 16, "table.size", "table", ":i")
_op(FC, 17, "table.fill", "table")       # [i32 t i32] -> []

# 0xFD: fixed-width SIMD, final numbering
FD = PREFIX_FD
for _code, _name, _al in [
        (0x00, "v128.load", 4),
        (0x01, "v128.load8x8_s", 3), (0x02, "v128.load8x8_u", 3),
        (0x03, "v128.load16x4_s", 3), (0x04, "v128.load16x4_u", 3),
        (0x05, "v128.load32x2_s", 3), (0x06, "v128.load32x2_u", 3),
        (0x07, "v128.load8_splat", 0), (0x08, "v128.load16_splat", 1),
        (0x09, "v128.load32_splat", 2), (0x0A, "v128.load64_splat", 3),
        (0x5C, "v128.load32_zero", 2), (0x5D, "v128.load64_zero", 3)]:
    _op(FD, _code, _name, "memarg", "i:v", align=_al)
_op(FD, 0x0B, "v128.store", "memarg", "iv:", align=4)
_op(FD, 0x0C, "v128.const", "v128", ":v")
_op(FD, 0x0D, "i8x16.shuffle", "shuffle", "vv:v")
_op(FD, 0x0E, "i8x16.swizzle", sig="vv:v")
for _code, _shape, _scalar in [(0x0F, "i8x16", "i"), (0x10, "i16x8", "i"), (0x11, "i32x4", "i"),
                               (0x12, "i64x2", "I"), (0x13, "f32x4", "f"), (0x14, "f64x2", "F")]:
    _op(FD, _code, f"{_shape}.splat", sig=f"{_scalar}:v")

# lane access: (code, name, signature, lane count)
for _code, _name, _sg, _n in [
        (0x15, "i8x16.extract_lane_s", "v:i", 16), (0x16, "i8x16.extract_lane_u", "v:i", 16),
        (0x17, "i8x16.replace_lane", "vi:v", 16),
        (0x18, "i16x8.extract_lane_s", "v:i", 8), (0x19, "i16x8.extract_lane_u", "v:i", 8),
        (0x1A, "i16x8.replace_lane", "vi:v", 8),
        (0x1B, "i32x4.extract_lane", "v:i", 4), (0x1C, "i32x4.replace_lane", "vi:v", 4),
        (0x1D, "i64x2.extract_lane", "v:I", 2), (0x1E, "i64x2.replace_lane", "vI:v", 2),
        (0x1F, "f32x4.extract_lane", "v:f", 4), (0x20, "f32x4.replace_lane", "vf:v", 4),
        (0x21, "f64x2.extract_lane", "v:F", 2), (0x22, "f64x2.replace_lane", "vF:v", 2)]:
    _op(FD, _code, _name, "lane", _sg, lanes=_n)

# lane-wise comparisons
_family(FD, 0x23, [f"i8x16.{n}" for n in _s("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")], "vv:v")
_family(FD, 0x2D, [f"i16x8.{n}" for n in _s("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")], "vv:v")
_family(FD, 0x37, [f"i32x4.{n}" for n in _s("eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u")], "vv:v")
_family(FD, 0x41, [f"f32x4.{n}" for n in _s("eq ne lt gt le ge")], "vv:v")
_family(FD, 0x47, [f"f64x2.{n}" for n in _s("eq ne lt gt le ge")], "vv:v")

# bitwise
_op(FD, 0x4D, "v128.not", sig="v:v")
_family(FD, 0x4E, _s("v128.and v128.andnot v128.or v128.xor"), "vv:v")
_op(FD, 0x52, "v128.bitselect", sig="vvv:v")
_op(FD, 0x53, "v128.any_true", sig="v:i")

# lane loads/stores: (code, name, signature, natural alignment log2, lane count)
for _code, _name, _sg, _al, _n in [
        (0x54, "v128.load8_lane", "iv:v", 0, 16), (0x55, "v128.load16_lane", "iv:v", 1, 8),
        (0x56, "v128.load32_lane", "iv:v", 2, 4), (0x57, "v128.load64_lane", "iv:v", 3, 2),
        (0x58, "v128.store8_lane", "iv:", 0, 16), (0x59, "v128.store16_lane", "iv:", 1, 8),
        (0x5A, "v128.store32_lane", "iv:", 2, 4), (0x5B, "v128.store64_lane", "iv:", 3, 2)]:
    _op(FD, _code, _name, "memarg_lane", _sg, align=_al, lanes=_n)

_op(FD, 0x5E, "f32x4.demote_f64x2_zero", sig="v:v")
_op(FD, 0x5F, "f64x2.promote_low_f32x4", sig="v:v")


def _simd_block(first, names):
    """A run of SIMD opcodes from `first`; the signature follows from the name:
    shifts take an i32 count, all_true/bitmask produce an i32, unary ops take one v128,
    the rest take two."""
    unary = {"abs", "neg", "popcnt", "ceil", "floor", "trunc", "nearest", "sqrt"}
    for i, name in enumerate(names):
        if name is None:
            continue
        op = name.split(".", 1)[1]
        if op in ("shl", "shr_s", "shr_u"):
            sig = "vi:v"
        elif op in ("all_true", "bitmask"):
            sig = "v:i"
        elif op in unary or op.startswith(("extend_", "extadd_pairwise_", "trunc_sat_",
                                           "convert_")):
            sig = "v:v"
        else:
            sig = "vv:v"
        _op(FD, first + i, name, sig=sig)


_simd_block(0x60, _s(
    "i8x16.abs i8x16.neg i8x16.popcnt i8x16.all_true i8x16.bitmask "
    "i8x16.narrow_i16x8_s i8x16.narrow_i16x8_u "
    "f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest "
    "i8x16.shl i8x16.shr_s i8x16.shr_u i8x16.add i8x16.add_sat_s i8x16.add_sat_u "
    "i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u f64x2.ceil f64x2.floor "
    "i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u "
    "i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u "
    "i32x4.extadd_pairwise_i16x8_s i32x4.extadd_pairwise_i16x8_u"))        # 0x60-0x7F
_simd_block(0x80, _s(
    "i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask "
    "i16x8.narrow_i32x4_s i16x8.narrow_i32x4_u "
    "i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s "
    "i16x8.extend_low_i8x16_u i16x8.extend_high_i8x16_u "
    "i16x8.shl i16x8.shr_s i16x8.shr_u i16x8.add i16x8.add_sat_s i16x8.add_sat_u "
    "i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u f64x2.nearest i16x8.mul "
    "i16x8.min_s i16x8.min_u i16x8.max_s i16x8.max_u - i16x8.avgr_u "
    "i16x8.extmul_low_i8x16_s i16x8.extmul_high_i8x16_s "
    "i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u"))                 # 0x80-0x9F
_simd_block(0xA0, _s(
    "i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - - "
    "i32x4.extend_low_i16x8_s i32x4.extend_high_i16x8_s "
    "i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u "
    "i32x4.shl i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub - - - i32x4.mul "
    "i32x4.min_s i32x4.min_u i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s - "
    "i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s "
    "i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u"))                 # 0xA0-0xBF
_simd_block(0xC0, _s(
    "i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - - "
    "i64x2.extend_low_i32x4_s i64x2.extend_high_i32x4_s "
    "i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u "
    "i64x2.shl i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub - - - i64x2.mul "
    "i64x2.eq i64x2.ne i64x2.lt_s i64x2.gt_s i64x2.le_s i64x2.ge_s "
    "i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s "
    "i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u"))                 # 0xC0-0xDF
_simd_block(0xE0, _s(
    "f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div "
    "f32x4.min f32x4.max f32x4.pmin f32x4.pmax "
    "f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div "
    "f64x2.min f64x2.max f64x2.pmin f64x2.pmax "
    "i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u "
    "f32x4.convert_i32x4_s f32x4.convert_i32x4_u "
    "i32x4.trunc_sat_f64x2_s_zero i32x4.trunc_sat_f64x2_u_zero "
    "f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u"))                # 0xE0-0xFF

OPCODES = tuple(_table)
del _table

BY_KEY = {op.key: op for op in OPCODES}
# names are unique except the two encodings of `select` (0x1B untyped, 0x1C typed);
# by name, "select" is the untyped one
BY_NAME = {}
for _o in OPCODES:
    BY_NAME.setdefault(_o.name, _o)


def lookup(prefix, code):
    """The Opcode for (prefix, code), or None."""
    return BY_KEY.get((prefix, code))


def by_name(name):
    """The Opcode with this text name ("select" is the untyped 0x1B), or None."""
    return BY_NAME.get(name)


__all__ = ["Opcode", "OPCODES", "BY_KEY", "BY_NAME", "IMMEDIATE_KINDS", "PREFIX_FC",
           "PREFIX_FD", "lookup", "by_name"]
