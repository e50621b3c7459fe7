"""The immediates of instructions as the text writes them, one reader per kind of
wasabi.binary.opcodes.IMMEDIATE_KINDS.

Each reader takes the parser `p` (an InstructionParser), the index `i` of the first
immediate token, the opcode bytes, the Opcode and the output bytearray; it writes
opcode + encoded immediates and returns the index after them.
"""
from ..binary import opcodes
from . import literals
from .encoding import sleb, uleb
from .literals import LiteralError
from .tokens import HEAPTYPES


def _is_index(tok):
    """Whether a token can be an index: an identifier or an unsigned literal."""
    c = tok[:1]
    return c == "$" or "0" <= c <= "9"


def _label(p, i, code, op, out):
    depth, i = p.label_index(i)
    out += code
    out += uleb(depth)
    return i


def _br_table(p, i, code, op, out):
    depths = []
    while _is_index(p.toks[i]):
        depth, i = p.label_index(i)
        depths.append(depth)
    if not depths:
        p.unexpected(i, "a label")
    out += code
    out += uleb(len(depths) - 1)
    for depth in depths:
        out += uleb(depth)
    return i


def _space_index(kind):
    def read(p, i, code, op, out):
        index, i = p.index(i, kind)
        out += code
        out += uleb(index)
        return i
    return read


def _local(p, i, code, op, out):
    index = p.local_names.get(p.toks[i])          # the common case: a named local
    if index is None:
        index, i = p.local_index(i)
    else:
        i += 1
    out += code
    out += uleb(index)
    return i


def _optional_table(p, i, code, op, out):
    table = 0
    if _is_index(p.toks[i]):
        table, i = p.index(i, "table")
    out += code
    out += uleb(table)
    return i


def _call_indirect(p, i, code, op, out):
    table = 0
    if _is_index(p.toks[i]):
        table, i = p.index(i, "table")
    type_index, i = p.typeuse_index(i)
    out += code
    out += uleb(type_index)
    out += uleb(table)
    return i


def _two_tables(p, i, code, op, out):
    dest = source = 0
    if _is_index(p.toks[i]):
        dest, i = p.index(i, "table")
        source, i = p.index(i, "table")
    out += code
    out += uleb(dest)
    out += uleb(source)
    return i


def _table_init(p, i, code, op, out):
    """table.init table? elem (binary order: elem, table)."""
    table = 0
    if _is_index(p.toks[i]) and _is_index(p.toks[i + 1]):
        table, i = p.index(i, "table")
    elem, i = p.index(i, "elem")
    out += code
    out += uleb(elem)
    out += uleb(table)
    return i


def _data_segment(p, i, code, op, out):
    index, i = p.index(i, "data")
    p.uses_data_count = True
    out += code
    out += uleb(index)
    return i


def _memory_index(p, i):
    """An optional memory index (multi-memory; the wat crate reads it in Wasm 2.0 text
    too, where it can only be 0) -> (index, next index)."""
    if _is_index(p.toks[i]):
        return p.index(i, "memory")
    return 0, i


def _memory_init(p, i, code, op, out):
    """memory.init memory? data (binary order: data, memory)."""
    memory = 0
    if _is_index(p.toks[i]) and _is_index(p.toks[i + 1]):
        memory, i = p.index(i, "memory")
    i = _data_segment(p, i, code, op, out)
    out += uleb(memory)
    return i


def _zero_byte(p, i, code, op, out):
    """memory.size / memory.grow / memory.fill memory?: the byte is the memory index."""
    memory, i = _memory_index(p, i)
    out += code
    out += uleb(memory)
    return i


def _two_zero_bytes(p, i, code, op, out):
    """memory.copy (dest source)?"""
    dest = source = 0
    if _is_index(p.toks[i]):
        dest, i = p.index(i, "memory")
        source, i = p.index(i, "memory")
    out += code
    out += uleb(dest)
    out += uleb(source)
    return i


def _memarg_values(p, i, op):
    """offset=N? align=N? -> (align log2, offset, next index)."""
    toks = p.toks
    offset, align = 0, op.align
    tok = toks[i]
    if tok.startswith("offset="):
        offset = literals.parse_uint(tok[7:])
        if offset is None:
            p.error(f"unknown operator {tok!r}", i)
        if offset > 0xFFFFFFFF:
            p.error("i32 constant out of range (offset)", i)
        i += 1
        tok = toks[i]
    if tok.startswith("align="):
        value = literals.parse_uint(tok[6:])
        if value is None:
            p.error(f"unknown operator {tok!r}", i)
        if value == 0 or value & (value - 1):
            p.error("alignment must be a power of two", i)
        align = value.bit_length() - 1
        i += 1
    return align, offset, i


def _encode_memarg(out, align, memory, offset):
    """A memarg; a memory other than 0 sets bit 6 of the alignment field (multi-memory)."""
    if memory:
        out += uleb(align | 0x40)
        out += uleb(memory)
    else:
        out += uleb(align)
    out += uleb(offset)


def _memarg(p, i, code, op, out):
    memory, i = _memory_index(p, i)
    align, offset, i = _memarg_values(p, i, op)
    out += code
    _encode_memarg(out, align, memory, offset)
    return i


def _lane_index(p, i):
    """A lane index: an unsigned literal below 256 (a sign or a non-number is unexpected)."""
    tok = p.toks[i]
    value = literals.parse_uint(tok)
    if value is None:
        p.unexpected(i, "a lane index")
    if value > 255:
        p.error("malformed lane index", i)
    return value, i + 1


def _memarg_lane(p, i, code, op, out):
    """memory? memarg lane: a first number is the memory when another number or a
    memarg field follows it, else the lane (the wat crate's reading)."""
    toks = p.toks
    memory = 0
    if toks[i][:1] == "$" or ("0" <= toks[i][:1] <= "9" and (
            "0" <= toks[i + 1][:1] <= "9" or toks[i + 1].startswith(("offset=", "align=")))):
        memory, i = p.index(i, "memory")
    align, offset, i = _memarg_values(p, i, op)
    lane, i = _lane_index(p, i)
    out += code
    _encode_memarg(out, align, memory, offset)
    out.append(lane)
    return i


def _lane(p, i, code, op, out):
    lane, i = _lane_index(p, i)
    out += code
    out.append(lane)
    return i


def _i32(p, i, code, op, out):
    tok = p.toks[i]
    if tok.isdigit() and tok.isascii() and len(tok) < 10:      # fast path: small decimal
        value = int(tok)
    else:
        value = _integer(p, i, 32)
    out += code
    out += sleb(value)
    return i + 1


def _i64(p, i, code, op, out):
    out += code
    out += sleb(_integer(p, i, 64))
    return i + 1


def _integer(p, i, bits):
    try:
        value = literals.int_bits(p.toks[i], bits)
    except LiteralError as exc:
        p.literal_error(exc, i)
    if value is None:
        p.bad_literal(i)
    return value


def _float(valtype, size):
    def read(p, i, code, op, out):
        try:
            bits = literals.float_bits(p.toks[i], valtype)
        except LiteralError as exc:
            p.literal_error(exc, i)
        if bits is None:
            p.bad_literal(i)
        out += code
        out += bits.to_bytes(size, "little")
        return i + 1
    return read


def _v128(p, i, code, op, out):
    shape = literals.SHAPES.get(p.toks[i])
    if shape is None:
        p.unexpected(i, "a vector shape (i8x16, i16x8, i32x4, i64x2, f32x4, f64x2)")
    count, width, float_type = shape
    i += 1
    value = 0
    for lane in range(count):
        try:
            bits = literals.lane_bits(p.toks[i], width, float_type)
        except LiteralError as exc:
            p.literal_error(exc, i)
        if bits is None:
            if p.toks[i] in ("(", ")"):
                p.error("wrong number of lane literals", i)
            p.bad_literal(i)
        value |= bits << (lane * width)
        i += 1
    if _is_number(p.toks[i]):
        p.error("wrong number of lane literals", i)
    out += code
    out += value.to_bytes(16, "little")
    return i


def _is_number(tok):
    c = tok[:1]
    return "0" <= c <= "9" or (c in ("+", "-") and len(tok) > 1)


def _shuffle(p, i, code, op, out):
    lanes = []
    toks = p.toks
    while _is_number(toks[i]):
        lane = literals.parse_uint(toks[i])
        if lane is None or lane > 255:            # -1, 15.0, 256: numbers, but no lane
            p.error("malformed lane index", i)
        lanes.append(lane)
        i += 1
    if len(lanes) != 16:
        p.error("invalid lane length", i)
    out += code
    out += bytes(lanes)
    return i


def _reftype(p, i, code, op, out):
    t = HEAPTYPES.get(p.toks[i])
    if t is None:
        p.unexpected(i, "func or extern")
    out += code
    out.append(t)
    return i + 1


def _select(p, i, code, op, out):
    toks = p.toks
    if not (toks[i] == "(" and toks[i + 1] == "result"):
        out += code
        return i
    types = []
    while toks[i] == "(" and toks[i + 1] == "result":
        i += 2
        while toks[i] != ")":
            t, i = p.valtype(i)
            types.append(t)
        i += 1
    out.append(0x1C)
    out += uleb(len(types))
    out += bytes(types)
    return i


IMMEDIATES = {
    "label": _label, "br_table": _br_table,
    "func": _space_index("func"), "global": _space_index("global"),
    "elem": _space_index("elem"), "local": _local,
    "table": _optional_table, "call_indirect": _call_indirect, "two_tables": _two_tables,
    "elem_and_table": _table_init, "data": _data_segment, "data_and_zero": _memory_init,
    "zero_byte": _zero_byte, "two_zero_bytes": _two_zero_bytes,
    "memarg": _memarg, "memarg_lane": _memarg_lane, "lane": _lane,
    "i32": _i32, "i64": _i64, "f32": _float(0x7D, 4), "f64": _float(0x7C, 8),
    "v128": _v128, "shuffle": _shuffle, "reftype": _reftype, "select": _select,
}
_missing = set(opcodes.IMMEDIATE_KINDS) - set(IMMEDIATES) - {"none", "blocktype", "select_types"}
assert not _missing, f"immediate kinds without a text reader: {_missing}"
