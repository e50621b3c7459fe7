"""Reading a validated code body: LEB128 numbers and immediates by their kind.

The immediate kinds come from wasabi.binary.opcodes (the one opcode table); this
module only knows how each kind is encoded. Bodies were validated before they get
here, so the readers do no bounds or range checks.

The reader is a small mutable cursor (data, pos). It is shaped so that it can move
to Cython (wasabi/_cy) without changing its callers.
"""
from .opcodes import BY_KEY, PREFIX_FC, PREFIX_FD


class BodyReader:
    __slots__ = ("data", "pos")

    def __init__(self, data, pos):
        self.data = data
        self.pos = pos

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def u32(self):
        data = self.data
        pos = self.pos
        b = data[pos]
        pos += 1
        result = b & 0x7F
        shift = 7
        while b & 0x80:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
        self.pos = pos
        return result

    def signed(self):
        """A signed LEB128 of any width (s32, s33, s64), as a Python int."""
        data = self.data
        pos = self.pos
        result = 0
        shift = 0
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        self.pos = pos
        if b & 0x40:
            result -= 1 << shift
        return result

    def fixed(self, n):
        """n little-endian bytes as an unsigned int (the raw bits of f32/f64 constants)."""
        pos = self.pos
        self.pos = pos + n
        return int.from_bytes(self.data[pos:pos + n], "little")

    def opcode(self):
        """The Opcode entry of the next instruction (prefixed opcodes included)."""
        b = self.byte()
        if b == PREFIX_FC or b == PREFIX_FD:
            return BY_KEY[(b, self.u32())]
        return BY_KEY[(None, b)]

    def blocktype(self):
        """0x40 -> None, a value type byte -> that byte, else ('type', index)."""
        b = self.data[self.pos]
        if b == 0x40:
            self.pos += 1
            return None
        if b >= 0x40 and b < 0x80:       # a one-byte negative s33: a value type
            self.pos += 1
            return b
        return ("type", self.signed())


def _vec_u32(r):
    return tuple(r.u32() for _ in range(r.u32()))


def _memarg(r):
    align = r.u32()
    return (align, r.u32())


# kind -> reader returning the immediate (or a tuple of them)
IMMEDIATE_READERS = {
    "none": lambda r: None,
    "blocktype": BodyReader.blocktype,
    "label": BodyReader.u32,
    "br_table": lambda r: (_vec_u32(r), r.u32()),
    "func": BodyReader.u32,
    "call_indirect": lambda r: (r.u32(), r.u32()),          # (type index, table index)
    "local": BodyReader.u32,
    "global": BodyReader.u32,
    "table": BodyReader.u32,
    "two_tables": lambda r: (r.u32(), r.u32()),             # (dst, src)
    "elem_and_table": lambda r: (r.u32(), r.u32()),         # (elem, table)
    "elem": BodyReader.u32,
    "data": BodyReader.u32,
    "data_and_zero": lambda r: (r.u32(), r.byte())[0],
    "zero_byte": BodyReader.byte,
    "two_zero_bytes": lambda r: (r.byte(), r.byte()),
    "memarg": _memarg,
    "memarg_lane": lambda r: (_memarg(r), r.byte()),
    "lane": BodyReader.byte,
    "i32": BodyReader.signed,
    "i64": BodyReader.signed,
    "f32": lambda r: r.fixed(4),
    "f64": lambda r: r.fixed(8),
    "v128": lambda r: r.fixed(16),
    "shuffle": lambda r: r.fixed(16),
    "reftype": BodyReader.byte,
    "select_types": lambda r: tuple(r.byte() for _ in range(r.u32())),
}


def read_immediate(reader, op):
    return IMMEDIATE_READERS[op.imm](reader)


def skip_to_block_end(reader):
    """Skip unreachable code up to the `else` or `end` that closes the current block.

    Leaves the reader on that else/end byte and returns it, so the caller handles
    the block boundary as usual.
    """
    depth = 0
    readers = IMMEDIATE_READERS
    while True:
        start = reader.pos
        op = reader.opcode()
        name = op.name
        if name in ("block", "loop", "if"):
            depth += 1
        elif name == "end" or name == "else":
            if depth == 0:
                reader.pos = start
                return op
            if name == "end":
                depth -= 1
        readers[op.imm](reader)

