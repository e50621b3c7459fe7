"""The text format's error: a CompileError that names line and column."""
from ..errors import CompileError


class WatSyntaxError(CompileError):
    """Malformed WebAssembly text.

    `message` is the bare reason (phrased as the spec tests' expected texts where
    there is one: "unknown operator", "unexpected token", "constant out of range",
    ...); `line` and `column` (1-based) locate the offending token, `position` is its
    character offset in the text (None when unknown).
    """

    def __init__(self, message, line=None, column=None, position=None):
        self.line = line
        self.column = column
        self.position = position
        full = message if line is None else f"{message} (at line {line}, column {column})"
        super().__init__(full)
        self.message = message


def line_and_column(text, position):
    """1-based (line, column) of character offset `position` in `text`."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column
