"""decode_module(data) -> ModuleDesc, over the Cython decoder in wasabi/_cy/decoder.pxi.

Also the decoder's one Python path: the immediates of a non-constant instruction found
in a constant expression (only invalid modules have one), read from the opcode table.
"""
from .. import _ext
from ..errors import CompileError
from . import opcodes


def decode_module(data) -> "ModuleDesc":
    """Decode a binary module into a ModuleDesc; raises CompileError on malformed bytes.

    Only decodes: code bodies are located, not checked (see wasabi.validate).
    """
    return _ext.decode_module(bytes(data))


def _u32(data, pos, end):
    return _ext._read_u32_at(data, pos, end)


def _take(pos, end, n):
    if end - pos < n:
        raise CompileError("unexpected end of section or function", end)
    return pos + n


def _zero_byte(data, pos, end):
    pos2 = _take(pos, end, 1)
    if data[pos] != 0:
        raise CompileError("zero byte expected", pos)
    return pos2


def _u32s(count):
    """A reader of `count` consecutive u32 immediates."""
    def read(data, pos, end):
        for _ in range(count):
            _, pos = _u32(data, pos, end)
        return pos
    return read


def _memarg(data, pos, end):
    return _u32s(2)(data, pos, end)


def _vec(item):
    def read(data, pos, end):
        n, pos = _u32(data, pos, end)
        for _ in range(n):
            pos = item(data, pos, end)
        return pos
    return read


def _u32_item(data, pos, end):
    return _u32(data, pos, end)[1]


def _byte_item(data, pos, end):
    return _take(pos, end, 1)


# immediate kind -> reader(data, pos, end) -> new pos (see wasabi.binary.opcodes)
_IMMEDIATE_READERS = {
    "none": lambda data, pos, end: pos,
    "blocktype": lambda data, pos, end: _ext._read_sleb_at(data, pos, end, 33)[1],
    "label": _u32s(1), "func": _u32s(1), "local": _u32s(1), "global": _u32s(1),
    "table": _u32s(1), "elem": _u32s(1), "data": _u32s(1),
    "call_indirect": _u32s(2), "two_tables": _u32s(2), "elem_and_table": _u32s(2),
    "br_table": lambda data, pos, end: _u32_item(data, _vec(_u32_item)(data, pos, end), end),
    "data_and_zero": lambda data, pos, end: _zero_byte(data, _u32_item(data, pos, end), end),
    "zero_byte": _zero_byte,
    "two_zero_bytes": lambda data, pos, end: _zero_byte(data, _zero_byte(data, pos, end), end),
    "memarg": _memarg,
    "memarg_lane": lambda data, pos, end: _take(_memarg(data, pos, end), end, 1),
    "lane": lambda data, pos, end: _take(pos, end, 1),
    "i32": lambda data, pos, end: _ext._read_sleb_at(data, pos, end, 32)[1],
    "i64": lambda data, pos, end: _ext._read_sleb_at(data, pos, end, 64)[1],
    "f32": lambda data, pos, end: _take(pos, end, 4),
    "f64": lambda data, pos, end: _take(pos, end, 8),
    "v128": lambda data, pos, end: _take(pos, end, 16),
    "shuffle": lambda data, pos, end: _take(pos, end, 16),
    "reftype": lambda data, pos, end: _take(pos, end, 1),
    "select_types": _vec(_byte_item),
}


def skip_nonconst_immediates(data, pos, end, op, sub, at):
    """Position after the immediates of the instruction whose opcode byte `op` (and, for
    the 0xFC / 0xFD prefixes, sub-opcode `sub`) was read at `at`; CompileError("illegal
    opcode") for an unknown instruction."""
    if op in (opcodes.PREFIX_FC, opcodes.PREFIX_FD):
        entry = opcodes.lookup(op, sub)
    else:
        entry = opcodes.lookup(None, op)
    if entry is None:
        raise CompileError("illegal opcode", at)
    return _IMMEDIATE_READERS[entry.imm](data, pos, end)
