"""Instructions, flat and folded, parsed and encoded in one pass.

Everything an instruction refers to by name is known before any code is parsed:
module-level identifiers from the module assembler's first pass, locals from the
function header, labels from the enclosing blocks. So instructions go straight to
bytes: no instruction objects. A folded `(op imm* child*)` encodes its children
first and then op+imm; its immediates are parsed into a small side buffer, since in
the text they come before the children.

Names, encodings and immediate kinds come from wasabi.binary.opcodes; this module
only knows how each immediate kind is written in the text.

InstructionParser is a mixin of ModuleAssembler (wasabi.text.module), which provides
the token stream, the index spaces (`spaces`), `typeuse_index` and `type_for`; per
function it sets `out` (the body's bytearray), `labels` and `local_names`.
"""
from ..binary import opcodes
from . import literals
from .encoding import sleb, uleb
from .literals import LiteralError
from .tokens import HEAPTYPES, VALTYPES

# name -> (opcode bytes, immediate kind, Opcode). Structure words are not instructions
# here: block/loop/if get their own parsers, else/end end an instruction sequence.
INSTRUCTIONS = {}
for _op in opcodes.OPCODES:
    if _op.name not in INSTRUCTIONS and _op.name not in ("else", "end"):
        INSTRUCTIONS[_op.name] = (_op.encode(), _op.imm, _op)
# `select` reads an optional (result t*) and picks 0x1B or the typed 0x1C
INSTRUCTIONS["select"] = (b"\x1b", "select", opcodes.by_name("select"))

_BLOCK, _LOOP, _IF, _ELSE, _END = b"\x02", b"\x03", b"\x04", 0x05, 0x0B

# keywords that may follow "(" but are no instruction: met where an instruction was
# expected they are "unexpected", not "unknown operators"
_NON_INSTRUCTION_KEYWORDS = frozenset({
    "then", "else", "end", "param", "result", "type", "local", "export", "import",
    "item", "offset", "elem", "data", "mut", "func", "table", "memory", "global",
    "module", "start", "declare"})


def _is_index(tok):
    """Whether a token can be an index: an identifier or an unsigned literal."""
    c = tok[:1]
    return c == "$" or "0" <= c <= "9"


class InstructionParser:
    """Parses `instr*` sequences into self.out (see the module docstring)."""

    # --- sequences --------------------------------------------------------------------

    def instrs(self, i):
        """Parse instructions from i until a token that cannot start one; return its index."""
        toks = self.toks
        out = self.out
        table = INSTRUCTIONS
        while True:
            tok = toks[i]
            entry = table.get(tok)
            if entry is not None:
                code, kind, op = entry
                if kind == "none":
                    out += code
                    i += 1
                elif kind == "blocktype":
                    i = self._flat_block(i + 1, code)
                else:
                    i = _IMMEDIATES[kind](self, i + 1, code, op, out)
            elif tok == "(":
                i = self._folded(i)
            else:
                return i

    def close_instrs(self, i):
        """Expect the ')' that ends an instruction sequence at i."""
        if self.toks[i] != ")":
            self.bad_instruction(i)
        return i + 1

    def bad_instruction(self, i):
        tok = self.toks[i]
        if "a" <= tok[:1] <= "z" and tok not in _NON_INSTRUCTION_KEYWORDS:
            self.error(f"unknown operator {tok!r}", i)
        self.unexpected(i)

    def expression(self, i):
        """A constant or offset expression up to ')' (not consumed), encoded with its end."""
        saved_out, saved_labels = self.out, self.labels
        self.out, self.labels = bytearray(), []
        try:
            i = self.instrs(i)
            if self.toks[i] != ")":
                self.bad_instruction(i)
            self.out.append(_END)
            return bytes(self.out), i
        finally:
            self.out, self.labels = saved_out, saved_labels

    # --- blocks -----------------------------------------------------------------------

    def _flat_block(self, i, code):
        """block/loop/if label? blocktype instr* (else id? instr*)? end id?"""
        toks = self.toks
        out = self.out
        label, i = self._label_definition(i)
        blocktype, i = self._blocktype(i)
        out += code
        out += blocktype
        self.labels.append(label)
        i = self.instrs(i)
        if code == _IF and toks[i] == "else":
            i = self._closing_label(i + 1, label)
            i = self._else_branch(i)
        if toks[i] != "end":
            self.bad_instruction(i)
        i = self._closing_label(i + 1, label)
        out.append(_END)
        self.labels.pop()
        return i

    def _else_branch(self, i):
        """The instructions of an else branch; an empty one is left out (as wabt does)."""
        out = self.out
        start = len(out)
        out.append(_ELSE)
        i = self.instrs(i)
        if len(out) == start + 1:
            del out[start]
        return i

    def _folded(self, i):
        """( instr ... ) at i.

        The immediates go straight to `out`; only when children follow are they cut out
        and appended after the children (the common leaf `(local.get $x)` costs nothing).
        """
        toks = self.toks
        out = self.out
        entry = INSTRUCTIONS.get(toks[i + 1])
        if entry is None:
            self.bad_instruction(i + 1)
        code, kind, op = entry
        if kind == "none":
            i += 2
            while toks[i] == "(":
                i = self._folded(i)
            if toks[i] != ")":
                self.bad_instruction(i)
            out += code
            return i + 1
        if kind == "blocktype":
            if code == _IF:
                return self._folded_if(i + 2)
            return self._folded_block(i + 2, code)
        mark = len(out)
        i = _IMMEDIATES[kind](self, i + 2, code, op, out)
        if toks[i] == "(":
            immediates = out[mark:]
            del out[mark:]
            while toks[i] == "(":
                i = self._folded(i)
            out += immediates
        if toks[i] != ")":
            self.bad_instruction(i)
        return i + 1

    def _folded_block(self, i, code):
        label, i = self._label_definition(i)
        blocktype, i = self._blocktype(i)
        self.out += code
        self.out += blocktype
        self.labels.append(label)
        i = self.close_instrs(self.instrs(i))
        self.out.append(_END)
        self.labels.pop()
        return i

    def _folded_if(self, i):
        """(if label? blocktype folded* (then instr*) (else instr*)?)"""
        toks = self.toks
        label, i = self._label_definition(i)
        blocktype, i = self._blocktype(i)
        while toks[i] == "(" and toks[i + 1] != "then":    # the condition, outside the label
            i = self._folded(i)
        self.out += _IF
        self.out += blocktype
        self.labels.append(label)
        if not (toks[i] == "(" and toks[i + 1] == "then"):
            self.unexpected(i, "(then ...)")
        i = self.close_instrs(self.instrs(i + 2))
        if toks[i] == "(" and toks[i + 1] == "else":
            i = self.close_instrs(self._else_branch(i + 2))
        i = self.close(i)
        self.out.append(_END)
        self.labels.pop()
        return i

    def _label_definition(self, i):
        if self.toks[i][:1] == "$":
            return self.optional_id(i)
        return None, i

    def _closing_label(self, i, label):
        """An optional id after else/end: it must repeat the block's label."""
        tok = self.toks[i]
        if tok[:1] != "$":
            return i
        if tok != label:
            self.error("mismatching label", i)
        return i + 1

    def _blocktype(self, i):
        """The encoded block type at i: 0x40, a value type, or a type index (s33)."""
        toks = self.toks
        if toks[i] != "(":
            return b"\x40", i
        keyword = toks[i + 1]
        if keyword == "result" and toks[i + 3] == ")" and not (
                toks[i + 4] == "(" and toks[i + 5] == "result"):
            t = VALTYPES.get(toks[i + 2])                    # the common (result t)
            if t is not None:
                return bytes((t,)), i + 4
        if keyword not in ("type", "param", "result"):
            return b"\x40", i
        index, params, results, _, i = self.typeuse(i, block=True)
        if params is not None and not params and len(results) <= 1:
            # the short form: what wabt writes also for a (type x) of this shape
            return (bytes((results[0],)) if results else b"\x40"), i
        return sleb(index), i

    # --- references ---------------------------------------------------------------------

    def label_index(self, i):
        tok = self.toks[i]
        if tok[:1] == "$":
            labels = self.labels
            for depth in range(len(labels)):
                if labels[-1 - depth] == tok:
                    return depth, i + 1
            self.error(f"unknown label {tok}", i)
        return self.u32(i, "a label")

    def local_index(self, i):
        tok = self.toks[i]
        if tok[:1] == "$":
            index = self.local_names.get(tok)
            if index is None:
                self.error(f"unknown local {tok}", i)
            return index, i + 1
        return self.u32(i, "a local index")

    def index(self, i, kind):
        """An index (number or $id) in module index space `kind`."""
        tok = self.toks[i]
        if tok[:1] == "$":
            index = self.spaces[kind].names.get(tok)
            if index is None:
                self.error(f"unknown {kind} {tok}", i)
            return index, i + 1
        return self.u32(i, f"a {kind} index")


# --- immediates, by opcodes.IMMEDIATE_KINDS --------------------------------------------
# Each reads the immediates at i, writes opcode + immediates to `out`, returns the index
# after them.

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


def _memory_init(p, i, code, op, out):
    i = _data_segment(p, i, code, op, out)
    out.append(0)
    return i


def _zero_byte(p, i, code, op, out):
    out += code
    out.append(0)
    return i


def _two_zero_bytes(p, i, code, op, out):
    out += code
    out += b"\x00\x00"
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


def _memarg(p, i, code, op, out):
    align, offset, i = _memarg_values(p, i, op)
    out += code
    out += uleb(align)
    out += uleb(offset)
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
    i = _memarg(p, i, code, op, out)
    lane, i = _lane_index(p, i)
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


_IMMEDIATES = {
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
_missing = set(opcodes.IMMEDIATE_KINDS) - set(_IMMEDIATES) - {"none", "blocktype", "select_types"}
assert not _missing, f"immediate kinds without a text reader: {_missing}"
