"""The module forms of a .wast script (the spec tests' format), at the script level only.

A script is a sequence of commands: `(module ...)`, `(register ...)`, actions and
`(assert_* ...)`; several assertions carry a module (`assert_invalid`,
`assert_malformed`, `assert_unlinkable`, `assert_trap`, `assert_uninstantiable`),
in any of the forms `(module ...)`, `(module $id? binary "..."*)` and
`(module $id? quote "..."*)`. `script_modules` returns each such module with its
command, line and source text; `wat2wasm(module.text)` assembles it.
"""
import bisect as _bisect
from dataclasses import dataclass

from .errors import WatSyntaxError, line_and_column
from .lexer import blank_block_comments, tokenize_with_positions


@dataclass(frozen=True)
class ScriptModule:
    command: str          # "module", "assert_invalid", "assert_malformed", ...
    line: int             # line of the `module` keyword (as wast2json's json records it)
    form: str             # "text", "binary" or "quote"
    text: str             # the whole (module ...) form, comments blanked
    expected: str | None  # an assertion's expected message


def script_modules(source):
    """Every module form of the .wast script `source`, in order."""
    text = blank_block_comments(source)
    tokens = tokenize_with_positions(text)
    newlines = [k for k, c in enumerate(text) if c == "\n"]
    closes = _matching_parens(tokens, text)
    modules = []
    if len(tokens) > 1 and tokens[1][0] in _MODULE_FIELDS:
        # a script that is just module fields: one inline module (as inline-module.wast)
        return [ScriptModule("module", _line(newlines, tokens[1][1]), "text", text, None)]
    i = 0
    while i < len(tokens):
        tok, pos = tokens[i]
        if tok != "(":
            line, column = line_and_column(text, pos)
            raise WatSyntaxError(f"unexpected token {tok!r} at the script level", line, column, pos)
        end = closes[i]
        command = tokens[i + 1][0] if i + 1 < end else ""
        if command == "module":
            modules.append(_module(tokens, i, closes, text, newlines, "module", None))
        elif command.startswith("assert_") and tokens[i + 2][0] == "(" \
                and tokens[i + 3][0] == "module":
            expected = None
            after = closes[i + 2] + 1
            if after < end and tokens[after][0].startswith('"'):
                expected = tokens[after][0][1:-1]
            modules.append(_module(tokens, i + 2, closes, text, newlines, command, expected))
        i = end + 1
    return modules


def _module(tokens, i, closes, text, newlines, command, expected):
    end = closes[i]
    k = i + 2
    if tokens[k][0].startswith("$"):
        k += 1
    form = tokens[k][0] if tokens[k][0] in ("binary", "quote") else "text"
    start_pos = tokens[i][1]
    source = text[start_pos:tokens[end][1] + 1]
    return ScriptModule(command, _line(newlines, tokens[i + 1][1]), form, source, expected)


def _line(newlines, position):
    return _bisect.bisect_left(newlines, position) + 1


_MODULE_FIELDS = frozenset({"type", "import", "func", "table", "memory", "global", "export",
                            "start", "elem", "data"})


def _matching_parens(tokens, text):
    closes = {}
    stack = []
    for k, (tok, pos) in enumerate(tokens):
        if tok == "(":
            stack.append(k)
        elif tok == ")":
            if not stack:
                line, column = line_and_column(text, pos)
                raise WatSyntaxError("unbalanced ')'", line, column, pos)
            closes[stack.pop()] = k
    if stack:
        pos = tokens[stack[-1]][1]
        line, column = line_and_column(text, pos)
        raise WatSyntaxError("unclosed '('", line, column, pos)
    return closes
