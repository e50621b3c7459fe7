"""The commands of a .wast script (the spec tests' format), read with wasabi.text.

    read_script(source, name="x") -> [command dict, ...]

Each command is a dict in the shape of wabt's wast2json JSON (its `commands`
list), so that a harness written for that format runs on the .wast directly:

    {"type": "module", "line": 3, "name": "$M"?, "filename": "x.0.wasm", "data": bytes}
    {"type": "register", "line": .., "as": "M", "name": "$M"?}
    {"type": "action" | "assert_return" | "assert_trap" | "assert_exhaustion", "line": ..,
     "action": {"type": "invoke" | "get", "module": "$M"?, "field": str, "args": [value]},
     "expected": [value]?, "text": str?}
    {"type": "assert_invalid" | "assert_malformed" | "assert_unlinkable" |
             "assert_uninstantiable", "line": .., "filename": .., "module_type": "binary" | "text",
     "data": bytes, "text": str}

Values are {"type": "i32", "value": "<unsigned decimal bits>"}; f32/f64 expected
results may be "nan:canonical" / "nan:arithmetic"; v128 is {"type": "v128",
"lane_type": "i8".., "value": [lanes]}; references carry "null" or the number N of
`ref.extern N`, and an expected `(ref.func)` has no "value". Unlike the JSON, the
module bytes are in "data": binary modules are assembled here (text forms by
wat2wasm without a name section, as wast2json; `binary` forms from their strings;
`quote` forms by assembling the quoted text), and a quoted module of
assert_malformed stays text ("data" is the quoted text, for the engine's own
text reader). As wast2json does, `assert_trap` on a module becomes
assert_uninstantiable, and every module form takes the next file number.
"""
from .errors import WatSyntaxError, line_and_column
from .lexer import blank_block_comments, tokenize_with_positions
from .literals import LiteralError, float_bits, int_bits, lane_bits, string_bytes, SHAPES
from .script import _MODULE_FIELDS, _line, _matching_parens
from ..binary.types import F32, F64

NAN_PATTERNS = ("nan:canonical", "nan:arithmetic")
_FLOATS = {"f32": F32, "f64": F64}
_REFS = {"func": "funcref", "extern": "externref"}


class ScriptError(WatSyntaxError):
    """A command the reader does not understand."""


class _Reader:
    def __init__(self, source, name):
        self.text = blank_block_comments(source)
        self.tokens = tokenize_with_positions(self.text)
        self.closes = _matching_parens(self.tokens, self.text)
        self.newlines = [k for k, c in enumerate(self.text) if c == "\n"]
        self.name = name
        self.files = 0

    # --- tokens

    def tok(self, i):
        return self.tokens[i][0]

    def line(self, i):
        return _line(self.newlines, self.tokens[i][1])

    def fail(self, i, message):
        pos = self.tokens[min(i, len(self.tokens) - 1)][1]
        line, column = line_and_column(self.text, pos)
        raise ScriptError(message, line, column, pos)

    def string(self, i):
        try:
            return string_bytes(self.tok(i))
        except LiteralError as exc:
            self.fail(i, str(exc))

    def source(self, i):
        """The source text of the form opening at token i."""
        return self.text[self.tokens[i][1]:self.tokens[self.closes[i]][1] + 1]

    # --- commands

    def commands(self):
        if len(self.tokens) > 1 and self.tok(1) in _MODULE_FIELDS:
            # a script that is only module fields: one inline module (inline-module.wast)
            module = "(module " + self.text + ")"
            return [{"type": "module", "line": self.line(1), **self.file("wasm"),
                     "data": _assemble(module)}]
        out, i = [], 0
        while i < len(self.tokens):
            if self.tok(i) != "(":
                self.fail(i, f"unexpected token {self.tok(i)!r} at the script level")
            out.append(self.command(i))
            i = self.closes[i] + 1
        return out

    def command(self, i):
        kind = self.tok(i + 1)
        line = self.line(i + 1)
        if kind == "module":
            return {"type": "module", "line": line, **self.module(i, "module")}
        if kind == "register":
            command = {"type": "register", "line": line, "as": self.string(i + 2).decode()}
            if self.tok(i + 3).startswith("$"):
                command["name"] = self.tok(i + 3)
            return command
        if kind in ("invoke", "get"):
            return {"type": "action", "line": line, "action": self.action(i)}
        if kind == "assert_return":
            action = self.action(i + 2)
            expected = [self.value(k, expected=True) for k in self.forms(self.closes[i + 2] + 1,
                                                                            self.closes[i])]
            return {"type": kind, "line": line, "action": action, "expected": expected}
        if kind in ("assert_trap", "assert_exhaustion") and self.tok(i + 3) in ("invoke", "get"):
            return {"type": kind, "line": line, "action": self.action(i + 2),
                    "text": self.message(i)}
        if kind in ("assert_invalid", "assert_malformed", "assert_unlinkable", "assert_trap",
                    "assert_uninstantiable"):
            if kind == "assert_trap":
                kind = "assert_uninstantiable"     # a trap in the start function
            command = {"type": kind, "line": self.line(i + 3), **self.module(i + 2, kind)}
            command["text"] = self.message(i)
            return command
        self.fail(i + 1, f"unknown script command {kind!r}")

    def message(self, i):
        """The expected message of the assertion opening at i: its last token."""
        return self.string(self.closes[i] - 1).decode("utf-8")

    def forms(self, start, end):
        """The token indices of the forms opening between start and end."""
        found, k = [], start
        while k < end:
            if self.tok(k) == "(":
                found.append(k)
                k = self.closes[k] + 1
            else:
                k += 1
        return found

    def module(self, i, command):
        """{"name"?, "filename", "module_type", "data"} of the module form opening at i."""
        end = self.closes[i]
        k = i + 2
        out = {}
        if self.tok(k).startswith("$"):
            out["name"] = self.tok(k)
            k += 1
        form = self.tok(k) if self.tok(k) in ("binary", "quote") else "text"
        strings = b"".join(self.string(s) for s in range(k + 1, end)) if form != "text" else b""
        if form == "binary":
            data, module_type = strings, "binary"
        elif form == "quote" and command == "assert_malformed":
            data, module_type = strings, "text"
        elif form == "quote":
            data, module_type = _assemble("(module " + strings.decode("utf-8") + ")"), "binary"
        else:
            data, module_type = _assemble(self.source(i)), "binary"
        out.update(self.file("wasm" if module_type == "binary" else "wat"))
        if command != "module":
            out["module_type"] = module_type
        out["data"] = data
        return out

    def file(self, extension):
        """The file name wast2json would give the next module."""
        name = f"{self.name}.{self.files}.{extension}"
        self.files += 1
        return {"filename": name}

    def action(self, i):
        kind = self.tok(i + 1)
        k = i + 2
        action = {"type": kind}
        if self.tok(k).startswith("$"):
            action["module"] = self.tok(k)
            k += 1
        action["field"] = self.string(k).decode("utf-8")
        if kind == "invoke":
            action["args"] = [self.value(f) for f in self.forms(k + 1, self.closes[i])]
        return action

    # --- values

    def value(self, i, expected=False):
        op = self.tok(i + 1)
        args = [self.tok(k) for k in range(i + 2, self.closes[i])]
        try:
            return self._value(op, args, expected)
        except (LiteralError, IndexError, KeyError, ValueError) as exc:
            self.fail(i + 1, f"bad value {self.source(i)!r}: {exc}")

    @staticmethod
    def _value(op, args, expected):
        if op in ("i32.const", "i64.const"):
            width = 32 if op[1:3] == "32" else 64
            return {"type": op[:3], "value": str(_int(args[0], width))}
        if op in ("f32.const", "f64.const"):
            if expected and args[0] in NAN_PATTERNS:
                return {"type": op[:3], "value": args[0]}
            return {"type": op[:3], "value": str(_float(args[0], _FLOATS[op[:3]]))}
        if op == "v128.const":
            count, width, float_type = SHAPES[args[0]]
            if len(args) != count + 1:
                raise ValueError(f"{count} lanes expected")
            lanes = [lane if expected and lane in NAN_PATTERNS else
                     str(lane_bits(lane, width, float_type)) for lane in args[1:]]
            return {"type": "v128", "lane_type": args[0].split("x")[0], "value": lanes}
        if op == "ref.null":
            return {"type": _REFS[args[0]], "value": "null"}
        if op == "ref.extern":
            if not args:
                return {"type": "externref"}
            return {"type": "externref", "value": str(int(args[0]))}
        if op == "ref.func" and expected:
            return {"type": "funcref"}
        raise ValueError(f"unknown value form {op!r}")


def _int(token, width):
    value = int_bits(token, width)
    if value is None:
        raise LiteralError(f"not an integer: {token!r}")
    return value & ((1 << width) - 1)


def _float(token, valtype):
    bits = float_bits(token, valtype)
    if bits is None:
        raise LiteralError(f"not a float: {token!r}")
    return bits


def _assemble(text):
    from .assemble import wat2wasm
    return wat2wasm(text, debug_names=False, encoder="wabt")   # as wast2json: no name section


def read_script(source, name="script"):
    """The commands of .wast `source` as wast2json-shaped dicts (see the module doc);
    `name` names the module files ("<name>.<N>.wasm", as wast2json numbers them)."""
    return _Reader(source, name).commands()
