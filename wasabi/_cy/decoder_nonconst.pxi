# The decoder's one path through the opcode table: the immediates of a non-constant
# instruction found in a constant expression. Only invalid modules have one (the validator
# then rejects the expression), so this rare path stays plain Python over
# wasabi.binary.opcodes rather than a second hand-written table in C.

from wasabi.binary import opcodes as _nc_opcodes
from wasabi.errors import CompileError as _NcCompileError


def _nc_u32(data, pos, end):
    return _read_u32_at(data, pos, end)


def _nc_take(pos, end, n):
    if end - pos < n:
        raise _NcCompileError("unexpected end of section or function", end)
    return pos + n


def _nc_zero_byte(data, pos, end):
    pos2 = _nc_take(pos, end, 1)
    if data[pos] != 0:
        raise _NcCompileError("zero byte expected", pos)
    return pos2


def _nc_u32s(count):
    """A reader of `count` consecutive u32 immediates."""
    def read(data, pos, end):
        for _ in range(count):
            _, pos = _nc_u32(data, pos, end)
        return pos
    return read


def _nc_memarg(data, pos, end):
    return _nc_u32s(2)(data, pos, end)


def _nc_vec(item):
    def read(data, pos, end):
        n, pos = _nc_u32(data, pos, end)
        for _ in range(n):
            pos = item(data, pos, end)
        return pos
    return read


def _nc_u32_item(data, pos, end):
    return _nc_u32(data, pos, end)[1]


def _nc_byte_item(data, pos, end):
    return _nc_take(pos, end, 1)


# immediate kind -> reader(data, pos, end) -> new pos (see wasabi.binary.opcodes)
_nc_IMMEDIATE_READERS = {
    "none": lambda data, pos, end: pos,
    "blocktype": lambda data, pos, end: _read_sleb_at(data, pos, end, 33)[1],
    "label": _nc_u32s(1), "func": _nc_u32s(1), "local": _nc_u32s(1), "global": _nc_u32s(1),
    "table": _nc_u32s(1), "elem": _nc_u32s(1), "data": _nc_u32s(1),
    "call_indirect": _nc_u32s(2), "two_tables": _nc_u32s(2), "elem_and_table": _nc_u32s(2),
    "br_table":
        lambda data, pos, end: _nc_u32_item(data, _nc_vec(_nc_u32_item)(data, pos, end), end),
    "data_and_zero": lambda data, pos, end: _nc_zero_byte(data, _nc_u32_item(data, pos, end), end),
    "zero_byte": _nc_zero_byte,
    "two_zero_bytes":
        lambda data, pos, end: _nc_zero_byte(data, _nc_zero_byte(data, pos, end), end),
    "memarg": _nc_memarg,
    "memarg_lane": lambda data, pos, end: _nc_take(_nc_memarg(data, pos, end), end, 1),
    "lane": lambda data, pos, end: _nc_take(pos, end, 1),
    "i32": lambda data, pos, end: _read_sleb_at(data, pos, end, 32)[1],
    "i64": lambda data, pos, end: _read_sleb_at(data, pos, end, 64)[1],
    "f32": lambda data, pos, end: _nc_take(pos, end, 4),
    "f64": lambda data, pos, end: _nc_take(pos, end, 8),
    "v128": lambda data, pos, end: _nc_take(pos, end, 16),
    "shuffle": lambda data, pos, end: _nc_take(pos, end, 16),
    "reftype": lambda data, pos, end: _nc_take(pos, end, 1),
    "select_types": _nc_vec(_nc_byte_item),
}


def _skip_nonconst_immediates(data, pos, end, op, sub, at):
    """Position after the immediates of the instruction whose opcode byte `op` (and, for
    the 0xFC / 0xFD prefixes, sub-opcode `sub`) was read at `at`; CompileError("illegal
    opcode") for an unknown instruction."""
    if op in (_nc_opcodes.PREFIX_FC, _nc_opcodes.PREFIX_FD):
        entry = _nc_opcodes.lookup(op, sub)
    else:
        entry = _nc_opcodes.lookup(None, op)
    if entry is None:
        raise _NcCompileError("illegal opcode", at)
    return _nc_IMMEDIATE_READERS[entry.imm](data, pos, end)
