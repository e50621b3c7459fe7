"""Instructions, flat and folded, parsed and encoded in one pass.

Everything an instruction refers to by name is known before any code is parsed:
module-level identifiers from the module assembler's first pass, locals from the
function header, labels from the enclosing blocks. So instructions go straight to
bytes: no instruction objects. A folded `(op imm* child*)` encodes its children
first and then op+imm: its immediates, which the text gives first, are cut from the
output and kept on the parser's stack until its ')'. Nesting (folded operands, blocks
of either form) lives on that explicit stack, not in Python recursion.

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

_IF, _ELSE, _END = b"\x04", 0x05, 0x0B

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


# frames of the instruction parser's stack; the first two admit only folded operands
_FOLDED = 0          # (op imm* child*): its opcode and immediates, emitted at ")"
_FOLDED_COND = 1     # (if label? bt child* ...: the condition, before (then
_FOLDED_BLOCK = 2    # (block ...) / (loop ...)
_FOLDED_THEN = 3     # (then ...)
_FOLDED_ELSE = 4     # (else ...)
_FLAT_BLOCK = 5      # block/loop/if ... end


class InstructionParser:
    """Parses `instr*` sequences into self.out (see the module docstring)."""

    # --- sequences --------------------------------------------------------------------

    def instrs(self, i, single=False):
        """Parse instructions from i up to a token that ends the sequence (a ')' or a
        non-instruction at the outer level), returned as its index. With `single`, parse
        exactly one folded instruction instead.

        One loop and an explicit stack of open blocks and folded instructions: nesting
        depth costs no Python recursion (generated code nests blocks thousands deep).
        """
        toks = self.toks
        out = self.out
        labels = self.labels
        table = INSTRUCTIONS
        stack = []
        while True:
            tok = toks[i]
            entry = table.get(tok)
            if entry is not None:                                   # a flat instruction
                if stack and stack[-1][0] <= _FOLDED_COND:
                    self.unexpected(i, "a folded instruction or ')'")
                code, kind, op = entry
                if kind == "none":
                    out += code
                    i += 1
                elif kind == "blocktype":
                    label, i = self._label_definition(i + 1)
                    blocktype, i = self._blocktype(i)
                    out += code
                    out += blocktype
                    labels.append(label)
                    stack.append([_FLAT_BLOCK, label, code, None])
                else:
                    i = _IMMEDIATES[kind](self, i + 1, code, op, out)
                continue
            if tok == "(":
                entry = table.get(toks[i + 1])
                if entry is None or entry[1] == "blocktype":
                    i = self._open_folded(i, stack)       # blocks, (then, errors
                else:                                     # inline: the bulk of folded code
                    code, kind, op = entry
                    mark = len(out)
                    if kind == "none":
                        out += code
                        i += 2
                    else:
                        i = _IMMEDIATES[kind](self, i + 2, code, op, out)
                    if toks[i] == ")":                    # a leaf: done
                        i += 1
                    else:                                 # emitted after its operands
                        stack.append((_FOLDED, out[mark:]))
                        del out[mark:]
            elif tok == ")":
                if not stack:
                    return i
                frame = stack[-1]
                if frame[0] == _FOLDED:
                    out += frame[1]
                    stack.pop()
                    i += 1
                else:
                    i = self._close_folded(i, stack)
            elif (tok == "end" or tok == "else") and stack and stack[-1][0] == _FLAT_BLOCK:
                i = self._flat_block_end(i, stack)
                continue
            elif not stack:
                return i
            else:
                self.bad_instruction(i)
            if single and not stack:
                return i

    def _open_folded(self, i, stack):
        """'(' at i: a folded instruction, or the (then ...) of a folded if."""
        toks = self.toks
        out = self.out
        name = toks[i + 1]
        entry = INSTRUCTIONS.get(name)
        if entry is None:
            if name == "then" and stack and stack[-1][0] == _FOLDED_COND:
                _, label, blocktype = stack[-1]
                out += _IF
                out += blocktype
                self.labels.append(label)                # the condition is outside it
                stack[-1] = (_FOLDED_THEN,)
                return i + 2
            self.bad_instruction(i + 1)
        code, kind, op = entry
        if kind == "blocktype":
            label, i = self._label_definition(i + 2)
            blocktype, i = self._blocktype(i)
            if code == _IF:
                stack.append((_FOLDED_COND, label, blocktype))
            else:
                out += code
                out += blocktype
                self.labels.append(label)
                stack.append((_FOLDED_BLOCK,))
            return i
        if kind == "none":
            i += 2
            if toks[i] == ")":                           # a leaf: done
                out += code
                return i + 1
            stack.append((_FOLDED, code))
            return i
        mark = len(out)
        i = _IMMEDIATES[kind](self, i + 2, code, op, out)
        if toks[i] == ")":
            return i + 1
        stack.append((_FOLDED, out[mark:]))              # emitted after the operands
        del out[mark:]
        return i

    def _close_folded(self, i, stack):
        """')' at i closing the innermost folded frame."""
        out = self.out
        frame = stack[-1]
        kind = frame[0]
        if kind == _FOLDED:
            out += frame[1]
            stack.pop()
            return i + 1
        if kind == _FOLDED_BLOCK:
            return self._end_block(i + 1, stack)
        if kind == _FOLDED_THEN:
            i += 1
            if self.toks[i] == "(" and self.toks[i + 1] == "else":
                stack[-1] = (_FOLDED_ELSE, len(out))
                out.append(_ELSE)
                return i + 2
            return self._end_block(self.close(i), stack)
        if kind == _FOLDED_ELSE:
            if len(out) == frame[1] + 1:                 # an empty else is left out (as wabt)
                del out[frame[1]]
            return self._end_block(self.close(i + 1), stack)
        if kind == _FOLDED_COND:
            self.unexpected(i, "(then ...)")
        self.unexpected(i, "'end'")                      # inside a flat block

    def _flat_block_end(self, i, stack):
        """'else' or 'end' at i in a flat block."""
        frame = stack[-1]
        _, label, code, else_mark = frame
        if self.toks[i] == "else":
            if code != _IF or else_mark is not None:
                self.unexpected(i)
            frame[3] = len(self.out)
            self.out.append(_ELSE)
            return self._closing_label(i + 1, label)
        if else_mark is not None and len(self.out) == else_mark + 1:
            del self.out[else_mark]
        return self._end_block(self._closing_label(i + 1, label), stack)

    def _end_block(self, i, stack):
        self.out.append(_END)
        self.labels.pop()
        stack.pop()
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
        return self._expression(i, False)

    def folded_expression(self, i):
        """One folded instruction as a whole expression (the `(offset ...)` and
        `(item ...)` abbreviations), encoded with its end."""
        if self.toks[i] != "(":
            self.unexpected(i, "a folded instruction")
        return self._expression(i, True)

    def _expression(self, i, single):
        saved_out, saved_labels = self.out, self.labels
        self.out, self.labels = bytearray(), []
        try:
            i = self.instrs(i, single)
            if not single and self.toks[i] != ")":
                self.bad_instruction(i)
            self.out.append(_END)
            return bytes(self.out), i
        finally:
            self.out, self.labels = saved_out, saved_labels

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
            try:
                return self.labels[::-1].index(tok), i + 1    # innermost first
            except ValueError:
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
