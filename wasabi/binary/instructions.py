"""Instructions read back from binary code (for wasm2wat, and for comparing bodies).

`read_instructions(data, pos, end)` decodes a run of instructions into
(Opcode, immediate, offset) triples through the opcode table. Immediates come out
as plain values, independent of how the bytes encoded them (LEB128 padding, a block
type given as a type index or as a value type is kept as written, see blocktype):

  blocktype       ("empty",) | ("value", t) | ("index", x)
  label/func/local/global/table/elem/data   int
  br_table        (tuple of depths, default)
  call_indirect   (type index, table index)
  two_tables      (destination, source)
  elem_and_table  (elem, table)
  data_and_zero   (data, reserved byte)
  zero_byte       reserved byte;   two_zero_bytes  (byte, byte)
  memarg          (align log2, offset);   memarg_lane  (align, offset, lane)
  lane            int;   shuffle  tuple of 16 ints
  i32/i64         signed int;   f32/f64  bit pattern;   v128  128-bit unsigned int
  reftype         the type byte;   select_types  tuple of value types
  none            None
"""
from . import opcodes
from ..errors import CompileError


class _Reader:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data, pos, end):
        self.data, self.pos, self.end = data, pos, end

    def byte(self):
        if self.pos >= self.end:
            raise CompileError("unexpected end of code", self.pos)
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n):
        if self.end - self.pos < n:
            raise CompileError("unexpected end of code", self.pos)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uleb(self, bits=32):
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= bits + 7:
                raise CompileError("integer representation too long", self.pos)
        if value >> bits:
            raise CompileError("integer too large", self.pos)
        return value

    def sleb(self, bits):
        value = shift = 0
        while True:
            b = self.byte()
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
            if shift >= bits + 7:
                raise CompileError("integer representation too long", self.pos)
        if b & 0x40:
            value -= 1 << shift
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise CompileError("integer too large", self.pos)
        return value


def _blocktype(r):
    """0x40, a one-byte value type, or a non-negative s33 type index."""
    start = r.pos
    value = r.sleb(33)
    if value >= 0:
        return ("index", value)
    if r.pos != start + 1:
        raise CompileError("malformed block type", start)
    b = r.data[start]
    return ("empty",) if b == 0x40 else ("value", b)


def _br_table(r):
    count = r.uleb()
    if count > r.end - r.pos:
        raise CompileError("br_table longer than the code", r.pos)
    depths = tuple(r.uleb() for _ in range(count))
    return depths, r.uleb()


def _vector_of_types(r):
    count = r.uleb()
    if count > r.end - r.pos:
        raise CompileError("type vector longer than the code", r.pos)
    return tuple(r.byte() for _ in range(count))


_READERS = {
    "none": lambda r: None,
    "blocktype": _blocktype,
    "label": lambda r: r.uleb(), "func": lambda r: r.uleb(), "local": lambda r: r.uleb(),
    "global": lambda r: r.uleb(), "table": lambda r: r.uleb(), "elem": lambda r: r.uleb(),
    "data": lambda r: r.uleb(),
    "br_table": _br_table,
    "call_indirect": lambda r: (r.uleb(), r.uleb()),
    "two_tables": lambda r: (r.uleb(), r.uleb()),
    "elem_and_table": lambda r: (r.uleb(), r.uleb()),
    "data_and_zero": lambda r: (r.uleb(), r.byte()),
    "zero_byte": lambda r: r.byte(),
    "two_zero_bytes": lambda r: (r.byte(), r.byte()),
    "memarg": lambda r: (r.uleb(), r.uleb()),
    "memarg_lane": lambda r: (r.uleb(), r.uleb(), r.byte()),
    "lane": lambda r: r.byte(),
    "i32": lambda r: r.sleb(32), "i64": lambda r: r.sleb(64),
    "f32": lambda r: int.from_bytes(r.take(4), "little"),
    "f64": lambda r: int.from_bytes(r.take(8), "little"),
    "v128": lambda r: int.from_bytes(r.take(16), "little"),
    "shuffle": lambda r: tuple(r.take(16)),
    "reftype": lambda r: r.byte(),
    "select_types": _vector_of_types,
}
assert set(_READERS) == set(opcodes.IMMEDIATE_KINDS)


def read_instructions(data, pos, end):
    """[(Opcode, immediate, offset)] of the instructions in data[pos:end]."""
    r = _Reader(data, pos, end)
    out = []
    while r.pos < end:
        out.append(_instruction(r))
    return out


def _instruction(r):
    at = r.pos
    b = r.byte()
    if b == 0xFC or b == 0xFD:
        op = opcodes.lookup(b, r.uleb())
    else:
        op = opcodes.lookup(None, b)
    if op is None:
        raise CompileError(f"unknown opcode {b:#04x}", at)
    return op, _READERS[op.imm](r), at


def read_expression(data, pos, end):
    """The instructions of one expression from pos through its final `end` (included),
    nested blocks followed; for constant expressions inside other sections."""
    r = _Reader(data, pos, end)
    out = []
    depth = 0
    while True:
        op, imm, at = _instruction(r)
        out.append((op, imm, at))
        if op.name in ("block", "loop", "if"):
            depth += 1
        elif op.name == "end":
            if depth == 0:
                return out
            depth -= 1
