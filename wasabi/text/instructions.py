"""Instructions, flat and folded, parsed and encoded in one pass.

Everything an instruction refers to by name is known before any code is parsed:
module-level identifiers from the module assembler's first pass, locals from the
function header, labels from the enclosing blocks. So instructions go straight to
bytes: no instruction objects. A folded `(op imm* instr*)` encodes its operands
(folded or plain instructions, as the wat crate reads them) first and then op+imm: its immediates, which the text gives first, are cut from the
output and kept on the parser's stack until its ')'. Nesting (folded operands, blocks
of either form) lives on that explicit stack, not in Python recursion.

Names, encodings and immediate kinds come from wasabi.binary.opcodes; this module
only knows how each immediate kind is written in the text.

InstructionParser is a mixin of ModuleAssembler (wasabi.text.module), which provides
the token stream, the index spaces (`spaces`), `typeuse_index` and `type_for`; per
function it sets `out` (the body's bytearray), `labels` and `local_names`.
"""
from ..binary import opcodes
from .encoding import sleb
from .immediates import IMMEDIATES as _IMMEDIATES
from .tokens import VALTYPES

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


# frames of the instruction parser's stack
_FOLDED = 0          # (op imm* instr*): its opcode and immediates, emitted at ")"
_FOLDED_COND = 1     # (if label? bt child* ...: the condition, before (then
_FOLDED_BLOCK = 2    # (block ...) / (loop ...)
_FOLDED_THEN = 3     # (then ...)
_FOLDED_ELSE = 4     # (else ...)
_FLAT_BLOCK = 5      # block/loop/if ... end


class LabelStack:
    """The labels of the enclosing blocks, innermost last, None for unnamed ones; the depth
    of a name is found through a map of its positions, not a search (blocks can nest
    thousands deep)."""

    __slots__ = ("names", "positions")

    def __init__(self):
        self.names = []
        self.positions = {}            # name -> its positions in `names`, innermost last

    def push(self, name):
        if name is not None:
            self.positions.setdefault(name, []).append(len(self.names))
        self.names.append(name)

    def pop(self):
        name = self.names.pop()
        if name is not None:
            self.positions[name].pop()

    def depth(self, name):
        """The branch depth of the innermost block labelled `name`, or None."""
        found = self.positions.get(name)
        return len(self.names) - 1 - found[-1] if found else None


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
                # inside (op ...) plain instructions come before op, as its operands
                # (the wat crate's reading); the condition of a folded if admits only
                # folded ones
                if stack and stack[-1][0] == _FOLDED_COND:
                    self.unexpected(i, "a folded instruction or '(then'")
                code, kind, op = entry
                if kind == "none":
                    out += code
                    i += 1
                elif kind == "blocktype":
                    label, i = self._label_definition(i + 1)
                    blocktype, i = self._blocktype(i)
                    out += code
                    out += blocktype
                    labels.push(label)
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
                _, label, blocktype, hint = stack[-1]
                self.note_block(label)
                if hint is not None:
                    self.hints.append((len(out), hint))
                out += _IF
                out += blocktype
                self.labels.push(label)                  # the condition is outside it
                stack[-1] = (_FOLDED_THEN,)
                return i + 2
            if name == "@metadata.code.branch_hint":
                return self._branch_hint(i, stack)
            self.bad_instruction(i + 1)
        code, kind, op = entry
        if kind == "blocktype":
            # a folded if opens where its `if` is written, after its condition
            label, i = self._label_definition(i + 2, note=code != _IF)
            blocktype, i = self._blocktype(i)
            if code == _IF:
                stack.append((_FOLDED_COND, label, blocktype, None))
            else:
                out += code
                out += blocktype
                self.labels.push(label)
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

    def _branch_hint(self, i, stack):
        """`(@metadata.code.branch_hint "\\00" or "\\01")` at i: a hint for the head of the
        instruction that follows (a folded one's op, written after its operands; a
        folded if's `if`, written at its (then), at that head's offset in the body."""
        value, j = self.string(i + 2)
        if value not in (b"\x00", b"\x01"):
            self.error("invalid value for branch hint", i + 2)
        j = self.close(j)
        toks = self.toks
        nxt = toks[j]
        if nxt in INSTRUCTIONS or (nxt in ("end", "else") and stack
                                   and stack[-1][0] == _FLAT_BLOCK):
            self.hints.append((len(self.out), value[0]))   # a flat one: written next
            return j
        entry = INSTRUCTIONS.get(toks[j + 1]) if nxt == "(" else None
        if entry is None:
            message = ("duplicate annotation" if toks[j + 1] == "@metadata.code.branch_hint"
                       and nxt == "(" else "must precede an instruction")
            self.error(f"@metadata.code.branch_hint annotation: {message}", i)
        code, kind, op = entry
        if kind == "blocktype":
            if code != _IF:
                self.hints.append((len(self.out), value[0]))
                return self._open_folded(j, stack)
            j = self._open_folded(j, stack)
            stack[-1] = stack[-1][:3] + (value[0],)    # noted when its (then) opens
            return j
        # (op imm* instr*): operands first, then the op the hint is for
        out = self.out
        mark = len(out)
        j = j + 2 if kind == "none" else _IMMEDIATES[kind](self, j + 2, code, op, out)
        if kind == "none":
            out += code
        head = out[mark:]
        del out[mark:]
        j = self.close_instrs(self.instrs(j))
        self.hints.append((len(out), value[0]))
        out += head
        return j

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
            if self.wabt and len(out) == frame[1] + 1:   # an empty else: left out by wabt
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
        if self.wabt and else_mark is not None and len(self.out) == else_mark + 1:
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
        saved = self.out, self.labels, self.block_count, self.block_names, self.hints
        self.out, self.labels, self.hints = bytearray(), LabelStack(), []
        self.block_count, self.block_names = 0, {}     # no label names outside functions
        try:
            i = self.instrs(i, single)
            if not single and self.toks[i] != ")":
                self.bad_instruction(i)
            self.out.append(_END)
            return bytes(self.out), i
        finally:
            self.out, self.labels, self.block_count, self.block_names, self.hints = saved

    def _label_definition(self, i, note=True):
        """The optional label of a block, loop or if that opens at i (noted for the name
        section unless `note` is False: then the caller notes it where it opens)."""
        label = None
        if self.toks[i][:1] == "$" or self.toks[i] == "(":     # $id, (@name "...")
            label, i = self.optional_id(i)
        if note:
            self.note_block(label)
        return label, i

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
        if keyword == "type" and not self.wabt:
            return sleb(index), i                   # the wat crate keeps a (type x) as written
        if params is not None and not params and len(results) <= 1:
            # the short form: what wabt writes also for a (type x) of this shape
            return (bytes((results[0],)) if results else b"\x40"), i
        return sleb(index), i

    # --- references ---------------------------------------------------------------------

    def label_index(self, i):
        tok = self.toks[i]
        if tok[:1] == "$":
            depth = self.labels.depth(tok)
            if depth is None:
                self.error(f"unknown label {tok}", i)
            return depth, i + 1
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
