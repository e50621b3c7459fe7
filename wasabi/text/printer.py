"""wasm2wat: a binary module as WebAssembly text that wat2wasm assembles back.

The text is flat (one instruction per line, indented by block depth), or folded
with folded=True (wasabi.text.folding: operands nested in their instruction, blocks
as (block ...) and (if ... (then ...) (else ...))); names come
from the `name` section ($identifiers for the module, functions and locals, made
into valid and unique identifiers), and every definition carries its index in a
(;N;) comment. Function signatures are written as `(type N)` plus the inline
params/results, so the type index survives the round trip.

What the text format cannot express raises CompileError: code that does not nest
(an `else` outside an `if`, unbalanced `end`s), which only invalid modules have.
Custom sections other than `name` are listed in comments.
"""
import struct as _struct

from ..binary import types as T
from ..binary.instructions import read_expression, read_instructions
from ..errors import CompileError, ValidationError
from ..module.desc import EXTERN_FUNC, EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE
from . import literals
from .folding import fold_body
from .lexer import IDCHARS_RE

_INDENT = "  "
_HEAP_NAMES = {T.FUNCREF: "func", T.EXTERNREF: "extern"}
_KIND_NAMES = {EXTERN_FUNC: "func", EXTERN_TABLE: "table", EXTERN_MEMORY: "memory",
               EXTERN_GLOBAL: "global"}
_SHAPE_OF_V128 = "i32x4"


def wasm2wat(data, *, folded=False):
    """The WebAssembly text of the binary module `data` (bytes) as a str; function
    bodies flat, or folded with `folded`.

    A malformed binary raises CompileError, as in decoding. An invalid module (one
    that breaks a validation rule) is printed all the same where the text can say
    it: the text of an invalid module is still text.
    """
    from ..binary.reader import decode_module
    from ..validate import validate_module
    desc = decode_module(bytes(data))
    try:
        validate_module(desc)          # malformed code bodies are found here
    except ValidationError:
        pass
    return ModulePrinter(desc, folded).text()


def valtype_name(t):
    name = T.NAMES.get(t)
    if name is None:
        raise CompileError(f"value type {t:#x} has no text form")
    return name


# --- literals -------------------------------------------------------------------------

# the text of each byte in a string: printable ASCII as itself, the rest as \hh
_BYTE_TEXT = [chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\{b:02x}"
              for b in range(256)]


def string_literal(data):
    """A string token for bytes (map + join: data segments can be megabytes)."""
    return '"' + "".join(map(_BYTE_TEXT.__getitem__, data)) + '"'


def float_literal(bits, valtype):
    """The shortest text that reads back (exactly rounded) as these float bits."""
    mbits, ebits = (23, 8) if valtype == T.F32 else (52, 11)
    sign = "-" if bits >> (mbits + ebits) else ""
    exponent = (bits >> mbits) & ((1 << ebits) - 1)
    mantissa = bits & ((1 << mbits) - 1)
    if exponent == (1 << ebits) - 1:
        if mantissa == 0:
            return sign + "inf"
        if mantissa == 1 << (mbits - 1):
            return sign + "nan"
        return f"{sign}nan:0x{mantissa:x}"
    if valtype == T.F64:
        return repr(_struct.unpack("<d", bits.to_bytes(8, "little"))[0])
    value = _struct.unpack("<f", bits.to_bytes(4, "little"))[0]
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        try:
            if literals.float_bits(text, T.F32) == bits:
                return text
        except literals.LiteralError:      # too few digits rounded up past the largest f32
            continue
    return value.hex()                      # not reached: 9 digits always round-trip


class _Names:
    """Printable unique $identifiers for one index space, from the name section."""

    def __init__(self, names):
        self.ids = {}
        taken = set()
        for index in sorted(names):
            ident = "$" + _identifier_chars(names[index])
            base, n = ident, 0
            while ident in taken:
                n += 1
                ident = f"{base}_{n}"
            taken.add(ident)
            self.ids[index] = ident

    def ref(self, index):
        return self.ids.get(index, str(index))

    def definition(self, index):
        """`$name ` (with a space) or `(;index;) `."""
        ident = self.ids.get(index)
        return f"{ident} " if ident else f"(;{index};) "


def _identifier_chars(name):
    if name and IDCHARS_RE.fullmatch(name):
        return name
    return "".join(c if IDCHARS_RE.fullmatch(c) else "_" for c in name) or "_"


# --- the module -----------------------------------------------------------------------

class ModulePrinter:
    def __init__(self, desc, folded=False):
        self.desc = desc
        self.folded = folded
        self.lines = []
        self.func_names = _Names(desc.names.funcs)

    def text(self):
        d = self.desc
        header = "(module"
        if d.names.module is not None:
            header += " $" + _identifier_chars(d.names.module)
        self.lines.append(header)
        for index, ft in enumerate(d.types):
            self.field(f"(type (;{index};) (func{self.signature(ft)}))")
        self._imports()
        for f in d.funcs:
            self._function(f)
        for k, table in enumerate(d.tables):
            index = d.num_imported_tables + k
            self.field(f"(table (;{index};) {self.tabletype(table)})")
        for k, memory in enumerate(d.memories):
            index = d.num_imported_memories + k
            self.field(f"(memory (;{index};) {self.memtype(memory)})")
        for k, g in enumerate(d.globals):
            index = d.num_imported_globals + k
            self.field(f"(global (;{index};) {self.globaltype(g.type)} "
                       f"{self.const_expr(g.init)})")
        for e in d.exports:
            self.field(f"(export {string_literal(e.name.encode())} "
                       f"({_KIND_NAMES[e.kind]} {self.reference(e.kind, e.index)}))")
        if d.start is not None:
            self.field(f"(start {self.func_names.ref(d.start)})")
        for index, elem in enumerate(d.elems):
            self.field(self.elem_segment(index, elem))
        for index, data in enumerate(d.datas):
            self.field(self.data_segment(index, data))
        for custom in d.customs:
            if custom.name != "name":
                self.field(f";; custom section {custom.name!r} ({len(custom.data)} bytes) "
                           "is not representable in the text format")
        # the closing paren ends the last line, as wasmprinter and wabt write it
        if self.lines[-1].lstrip().startswith(";;"):
            self.lines.append(")")
        else:
            self.lines[-1] += ")"
        return "\n".join(self.lines)

    def field(self, line):
        self.lines.append(_INDENT + line)

    def reference(self, kind, index):
        return self.func_names.ref(index) if kind == EXTERN_FUNC else str(index)

    # --- types ----------------------------------------------------------------------

    def signature(self, ft, param_names=None):
        out = []
        for k, t in enumerate(ft.params):
            name = param_names.ids.get(k) if param_names is not None else None
            out.append(f" (param {name} {valtype_name(t)})" if name
                       else f" (param {valtype_name(t)})")
        if ft.results:
            out.append(" (result " + " ".join(map(valtype_name, ft.results)) + ")")
        return "".join(out)

    def typeuse(self, type_index, param_names=None):
        use = f" (type {type_index})"
        if type_index < len(self.desc.types):
            use += self.signature(self.desc.types[type_index], param_names)
        return use

    def tabletype(self, tt):
        return f"{self.limits(tt.limits)} {valtype_name(tt.elem_type)}"

    def memtype(self, mt):
        return self.limits(mt.limits) + (" shared" if mt.shared else "")

    @staticmethod
    def limits(lim):
        return str(lim.min) if lim.max is None else f"{lim.min} {lim.max}"

    @staticmethod
    def globaltype(gt):
        name = valtype_name(gt.valtype)
        return f"(mut {name})" if gt.mutable else name

    # --- imports and functions --------------------------------------------------------

    def _imports(self):
        counts = dict.fromkeys(_KIND_NAMES, 0)
        for imp in self.desc.imports:
            index = counts[imp.kind]
            counts[imp.kind] += 1
            names = f"{string_literal(imp.module.encode())} {string_literal(imp.name.encode())}"
            if imp.kind == EXTERN_FUNC:
                desc = f"(func {self.func_names.definition(index)}".rstrip() + \
                    self.typeuse(imp.type) + ")"
            elif imp.kind == EXTERN_TABLE:
                desc = f"(table (;{index};) {self.tabletype(imp.type)})"
            elif imp.kind == EXTERN_MEMORY:
                desc = f"(memory (;{index};) {self.memtype(imp.type)})"
            else:
                desc = f"(global (;{index};) {self.globaltype(imp.type)})"
            self.field(f"(import {names} {desc})")

    def _function(self, f):
        d = self.desc
        locals_names = _Names(d.names.locals.get(f.index, {}))
        head = f"(func {self.func_names.definition(f.index)}".rstrip()
        self.field(head + self.typeuse(f.type_index, locals_names))
        num_params = (len(d.types[f.type_index].params) if f.type_index < len(d.types) else 0)
        local_index = num_params
        for count, t in f.locals:
            for _ in range(count):
                name = locals_names.ids.get(local_index)
                self.lines.append(_INDENT * 2 + (f"(local {name} {valtype_name(t)})" if name
                                                 else f"(local {valtype_name(t)})"))
                local_index += 1
        body = read_instructions(d.data, f.body_start, f.body_end)
        if not body or body[-1][0].name != "end":
            raise CompileError("function body does not end with `end`", f.body_start)
        printer = InstructionPrinter(self, locals_names, self.lines)
        if self.folded:
            _check_nesting(body[:-1])
            self.lines.extend(fold_body(printer, body[:-1], 2))
        else:
            printer.body(body[:-1])
        self.lines[-1] += ")"

    def type_at(self, index):
        """The FuncType of type index `index`, or None (an invalid module)."""
        types = self.desc.types
        return types[index] if 0 <= index < len(types) else None

    def func_type(self, index):
        """The FuncType of function `index` (imports first), or None."""
        d = self.desc
        imported = [imp.type for imp in d.imports if imp.kind == EXTERN_FUNC]
        if index < len(imported):
            return self.type_at(imported[index])
        index -= len(imported)
        return self.type_at(d.funcs[index].type_index) if index < len(d.funcs) else None

    # --- segments and constant expressions -------------------------------------------

    def const_expr(self, expr):
        """A ConstExpr as flat instructions on one line (without its final `end`)."""
        instrs = read_expression(self.desc.data, expr.offset, len(self.desc.data))
        return InstructionPrinter(self, _Names({}), None).inline(instrs[:-1])

    def elem_segment(self, index, elem):
        parts = [f"(elem (;{index};)"]
        if elem.mode == "declarative":
            parts.append("declare")
        elif elem.mode == "active":
            parts.append(f"(table {elem.table_index})")
            parts.append(f"(offset {self.const_expr(elem.offset)})")
        func_indices = [self._ref_func(item) for item in elem.init]
        if elem.elem_type == T.FUNCREF and None not in func_indices:
            parts.append("func")
            parts.extend(self.func_names.ref(x) for x in func_indices)
        else:
            parts.append(valtype_name(elem.elem_type))
            parts.extend(f"(item {self.const_expr(item)})" for item in elem.init)
        return " ".join(parts) + ")"

    def _ref_func(self, expr):
        if len(expr.instrs) == 1 and expr.instrs[0][0] == 0xD2:
            return expr.instrs[0][1]
        return None

    def data_segment(self, index, data):
        parts = [f"(data (;{index};)"]
        if data.mode == "active":
            if data.memory_index != 0:
                parts.append(f"(memory {data.memory_index})")
            parts.append(f"(offset {self.const_expr(data.offset)})")
        parts.append(string_literal(data.data))
        return " ".join(parts) + ")"


def _check_nesting(instrs):
    """CompileError unless blocks nest (what the folded form, like the flat one, needs)."""
    blocks = []
    for op, _, at in instrs:
        if op.name in ("block", "loop", "if"):
            blocks.append(op.name)
        elif op.name == "else":
            if not blocks or blocks[-1] != "if":
                raise CompileError("`else` outside an `if` cannot be written as text", at)
            blocks[-1] = "else"
        elif op.name == "end":
            if not blocks:
                raise CompileError("`end` outside a block cannot be written as text", at)
            blocks.pop()
    if blocks:
        raise CompileError("a block is not closed before the end of the function",
                           instrs[-1][2] if instrs else 0)


class InstructionPrinter:
    """Instructions as text, flat; blocks indent their contents."""

    def __init__(self, module, local_names, lines):
        self.module = module
        self.local_names = local_names
        self.lines = lines

    def body(self, instrs):
        blocks = []                      # the open blocks' names ("block", "loop", "if")
        for op, imm, at in instrs:
            name = op.name
            if name in ("end", "else"):
                if not blocks or (name == "else" and blocks[-1] != "if"):
                    raise CompileError(f"`{name}` outside a block cannot be written as text", at)
                if name == "end":
                    blocks.pop()
                    depth = len(blocks) + 1
                else:
                    blocks[-1] = "else"
                    depth = len(blocks)
            else:
                depth = len(blocks) + 1
            self.lines.append(_INDENT * (depth + 1) + self.instruction(op, imm, at))
            if name in ("block", "loop", "if"):
                blocks.append(name)
        if blocks:
            raise CompileError("a block is not closed before the end of the function", at)

    def inline(self, instrs):
        return " ".join(self.instruction(op, imm, at) for op, imm, at in instrs)

    def instruction(self, op, imm, at):
        return _FORMATTERS[op.imm](self, op, imm, at)

    # --- immediates ------------------------------------------------------------------

    def blocktype(self, op, imm, at):
        if imm[0] == "empty":
            return op.name
        if imm[0] == "value":
            return f"{op.name} (result {valtype_name(imm[1])})"
        return f"{op.name} (type {imm[1]})"

    def memarg(self, op, imm, at):
        align, offset = imm[0], imm[1]
        text = op.name
        if offset:
            text += f" offset={offset}"
        if align != op.align:
            if align >= 32:
                raise CompileError("alignment has no text form", at)
            text += f" align={1 << align}"
        if op.imm == "memarg_lane":
            text += f" {imm[2]}"
        return text

    def zero(self, op, imm, at):
        reserved = imm if isinstance(imm, tuple) else (imm,)
        if op.imm == "data_and_zero":
            reserved = (imm[1],)
        if any(reserved):
            raise CompileError(f"{op.name} with a nonzero reserved byte has no text form", at)
        return op.name if op.imm != "data_and_zero" else f"{op.name} {imm[0]}"


def _plain(p, op, imm, at):
    return op.name


def _number(p, op, imm, at):
    return f"{op.name} {imm}"


def _func(p, op, imm, at):
    return f"{op.name} {p.module.func_names.ref(imm)}"


def _local(p, op, imm, at):
    return f"{op.name} {p.local_names.ref(imm)}"


def _br_table(p, op, imm, at):
    depths, default = imm
    return " ".join([op.name, *map(str, depths), str(default)])


def _pair(p, op, imm, at):
    return f"{op.name} {imm[0]} {imm[1]}"


def _call_indirect(p, op, imm, at):
    type_index, table = imm
    return f"{op.name} {table}{p.module.typeuse(type_index)}"


def _table_init(p, op, imm, at):
    elem, table = imm
    return f"{op.name} {table} {elem}"


def _float(valtype):
    return lambda p, op, imm, at: f"{op.name} {float_literal(imm, valtype)}"


def _v128(p, op, imm, at):
    lanes = [(imm >> (32 * k)) & 0xFFFFFFFF for k in range(4)]
    return f"{op.name} {_SHAPE_OF_V128} " + " ".join(f"0x{lane:08x}" for lane in lanes)


def _shuffle(p, op, imm, at):
    return op.name + " " + " ".join(map(str, imm))


def _reftype(p, op, imm, at):
    heap = _HEAP_NAMES.get(imm)
    if heap is None:
        raise CompileError(f"reference type {imm:#x} has no text form", at)
    return f"{op.name} {heap}"


def _select_types(p, op, imm, at):
    return "select (result" + "".join(" " + valtype_name(t) for t in imm) + ")"


_FORMATTERS = {
    "none": _plain, "blocktype": InstructionPrinter.blocktype,
    "label": _number, "br_table": _br_table, "func": _func, "local": _local,
    "global": _number, "table": _number, "elem": _number, "data": _number,
    "call_indirect": _call_indirect, "two_tables": _pair, "elem_and_table": _table_init,
    "data_and_zero": InstructionPrinter.zero, "zero_byte": InstructionPrinter.zero,
    "two_zero_bytes": InstructionPrinter.zero,
    "memarg": InstructionPrinter.memarg, "memarg_lane": InstructionPrinter.memarg,
    "lane": _number, "i32": _number, "i64": _number,
    "f32": _float(T.F32), "f64": _float(T.F64), "v128": _v128, "shuffle": _shuffle,
    "reftype": _reftype, "select_types": _select_types,
}
