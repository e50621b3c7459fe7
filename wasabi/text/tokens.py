"""The token stream the parsers walk, with the small readers every grammar rule shares.

Parsers keep a plain int index `i` into `toks` and pass it along (`value, i = ...`):
cheaper than a cursor object in the hot loops. `toks` ends with two END sentinels so
that a lookahead of two never falls off the list.
"""
from itertools import accumulate, repeat

from ..binary.types import EXTERNREF, F32, F64, FUNCREF, I32, I64, V128
from . import literals
from .errors import WatSyntaxError, line_and_column
from .lexer import IDCHARS_RE, token_position

END = ""          # sentinel after the last token (no real token is empty)

# `anyfunc`: funcref's name before the reference types proposal, which wasmer's parser
# (the wat crate of its time) still read
VALTYPES = {"i32": I32, "i64": I64, "f32": F32, "f64": F64, "v128": V128,
            "funcref": FUNCREF, "externref": EXTERNREF, "anyfunc": FUNCREF}
REFTYPES = {"funcref": FUNCREF, "externref": EXTERNREF, "anyfunc": FUNCREF}
HEAPTYPES = {"func": FUNCREF, "extern": EXTERNREF}


class NamedId(str):
    """An entity's identifier (`$x`, or a unique stand-in `@<token index>` when it has
    none) that carries the name a `(@name "...")` annotation gives it."""

    def __new__(cls, ident, display):
        self = super().__new__(cls, ident)
        self.display = display
        return self


def display_name(ident):
    """The name the name section records for identifier `ident`."""
    display = getattr(ident, "display", None)
    return ident[1:] if display is None else display


class TokenStream:
    """Tokens of one text plus error reporting at a token's line and column."""

    quoted_ids = frozenset()     # `$"..."` identifiers, unquoted (see unquote_ids)

    def __init__(self, text, toks):
        self.text = text
        self.toks = toks

    # --- errors -----------------------------------------------------------------------

    def error(self, message, i):
        """Raise WatSyntaxError(message) located at token i."""
        position = token_position(self.text, i)
        line, column = line_and_column(self.text, position)
        raise WatSyntaxError(message, line, column, position)

    def unexpected(self, i, expected=None):
        tok = self.toks[i]
        if tok == END:
            message = "unexpected end of input"
        elif tok == '"':
            message = "unclosed string"
        elif len(tok) == 1 and tok not in "()" and IDCHARS_RE.fullmatch(tok) is None:
            message = f"illegal character {tok!r}"
        elif is_reserved(tok):
            message = f"unknown operator {tok!r} (not a token of the text format)"
        else:
            message = f"unexpected token {tok!r}"
        if expected:
            message += f", expected {expected}"
        self.error(message, i)

    def literal_error(self, exc, i):
        self.error(str(exc), i)

    # --- small readers ----------------------------------------------------------------

    def expect(self, i, tok):
        if self.toks[i] != tok:
            self.unexpected(i, repr(tok))
        return i + 1

    def close(self, i):
        if self.toks[i] != ")":
            self.unexpected(i, "')'")
        return i + 1

    def is_keyword(self, i, word):
        """Whether tokens i, i+1 are '(' word."""
        toks = self.toks
        return toks[i] == "(" and toks[i + 1] == word

    def optional_id(self, i):
        """An identifier at i ($name), or None; validated. A `(@name "...")` after it
        (or in its place) makes it a NamedId."""
        toks = self.toks
        tok = toks[i]
        if tok[:1] != "$":
            if tok == "(" and toks[i + 1] == "@name":
                display, i = self._name_annotation(i)
                return NamedId(f"@{i}", display), i
            return None, i
        self.check_id(i)
        if toks[i + 1] == "(" and toks[i + 2] == "@name":
            display, j = self._name_annotation(i + 1)
            return NamedId(tok, display), j
        return tok, i + 1

    def _name_annotation(self, i):
        display, i = self.name(i + 2)
        return display, self.close(i)

    def check_id(self, i):
        tok = self.toks[i]
        if len(tok) < 2 or (IDCHARS_RE.fullmatch(tok) is None and tok not in self.quoted_ids):
            self.unexpected(i, "an identifier")

    def string(self, i):
        """The bytes of the string token at i."""
        tok = self.toks[i]
        if tok[:1] != '"':
            self.unexpected(i, "a string")
        try:
            return literals.string_bytes(tok), i + 1
        except literals.LiteralError as exc:
            self.literal_error(exc, i)

    def strings(self, i):
        """The concatenated bytes of the string tokens from i on."""
        parts = []
        toks = self.toks
        while toks[i][:1] == '"':
            data, i = self.string(i)
            parts.append(data)
        return b"".join(parts), i

    def name(self, i):
        """A name: a string whose bytes are UTF-8."""
        data, j = self.string(i)
        try:
            return literals.name_text(data), j
        except literals.LiteralError as exc:
            self.literal_error(exc, i)

    def u32(self, i, what="i32 constant"):
        """An unsigned 32-bit literal at i."""
        value = literals.parse_uint(self.toks[i])
        if value is None:
            if "0" <= self.toks[i][:1] <= "9":          # e.g. "0drop": a malformed number
                self.error(f"unknown operator {self.toks[i]!r}", i)
            self.unexpected(i, what)
        if value > 0xFFFFFFFF:
            self.error("i32 constant out of range", i)
        return value, i + 1

    def valtype(self, i):
        t = VALTYPES.get(self.toks[i])
        if t is None:
            self.unexpected(i, "a value type")
        return t, i + 1

    def reftype(self, i):
        t = REFTYPES.get(self.toks[i])
        if t is None:
            self.unexpected(i, "a reference type")
        return t, i + 1


def unquote_ids(toks):
    """Replace each `$"..."` identifier token by `$` and its name (the same identifier as
    `$name` when the name is made of id characters); the set of those that are not."""
    quoted = set()
    for k, tok in enumerate(toks):
        if tok[:2] == '$"' and literals.STRING_TOKEN_RE.fullmatch(tok[1:]):
            try:
                name = literals.name_text(literals.string_bytes(tok[1:]))
            except literals.LiteralError:
                continue                          # left reserved: reported where used
            if not name:
                continue
            toks[k] = "$" + name
            if IDCHARS_RE.fullmatch(toks[k]) is None:
                quoted.add(toks[k])
    return frozenset(quoted)


def is_reserved(tok):
    """Whether a token is no keyword, number, identifier or string: the spec's `reserved`
    (e.g. `$l"a"`, `0drop` is a keyword-like token and so not reserved)."""
    if tok in ("(", ")", END):
        return False
    if tok[0] == '"':
        return literals.STRING_TOKEN_RE.fullmatch(tok) is None
    return IDCHARS_RE.fullmatch(tok) is None


class Space:
    """One index space (functions, tables, ...): identifiers and the number of entries."""

    __slots__ = ("kind", "names", "count")

    def __init__(self, kind):
        self.kind = kind
        self.names = {}
        self.count = 0

    def add(self, ident):
        """Append an entry (named `ident` unless None); its index, or None if the name is taken."""
        index = self.count
        if ident is not None:
            if ident in self.names:
                return None
            self.names[ident] = index
        self.count += 1
        return index



_DEPTH_STEP = {"(": 1, ")": -1}


def paren_depths(toks):
    """The parenthesis depth after each token, computed at C speed (map + accumulate):
    the ')' closing a '(' at i is depths.index(depths[i] - 1, i)."""
    return list(accumulate(map(_DEPTH_STEP.get, toks, repeat(0))))
