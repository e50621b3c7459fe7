"""Tokens of the WebAssembly text format.

The lexer is one regular expression run by `re.findall`, so that a megabyte of
text becomes a list of token strings at C speed; a token's kind is read from its
first character when it is used:

    "(" / ")"     parentheses
    '"..."'       a string (escapes are decoded where the string is used)
    "$..."        an identifier
    otherwise     a keyword, a number or a reserved token (a run of id characters)

Whitespace (space, tab, LF, CR) separates tokens; `;; ...` line comments are
dropped after the split and `(; ... ;)` block comments (which nest, and so are
beyond a regular expression) are blanked out beforehand, keeping newlines so that
positions do not move. Any other character becomes a one-character token that
no grammar rule accepts, so it is reported where the parser meets it.

Token positions are not kept: an error re-runs the same expression with
`finditer` to find the offending token's offset (errors are rare, and a list of
offsets would cost as much as the tokens themselves).
"""
import re as _re

from .errors import WatSyntaxError, line_and_column

_ATOM = r'[^\x00-\x20()";\x7f]'                # a character of keywords, numbers, ids
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'          # unrolled: no per-character alternation
# Keywords, numbers, identifiers and strings: a run of them with no space between is one
# (reserved, unusable) token, as the spec says: `$l"a"` is not `$l` then `"a"`. Spelled
# so that the common cases (a plain keyword, a plain string) take no per-character
# alternation.
TOKEN_RE = _re.compile(
    rf'{_ATOM}+(?:{_STRING}{_ATOM}*)*'              # keyword-like, maybe with strings glued on
    rf'|[()]'                                      # parentheses
    rf'|{_STRING}(?:{_ATOM}|{_STRING})*'           # string, maybe with more glued on
    r'|;;[^\n]*'                                   # line comment
    r'|[^ \t\n\r]')                                # anything else: one illegal character

# outside block comments: strings and line comments hide "(;"
_COMMENT_START_RE = _re.compile(r'"(?:[^"\\\n]|\\.)*"|;;[^\n]*|\(;')
_COMMENT_NEST_RE = _re.compile(r'\(;|;\)')
_NOT_NEWLINE_RE = _re.compile(r'[^\n]')

# the characters an identifier, keyword or number may consist of
IDCHARS_RE = _re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+")


def blank_block_comments(text):
    """`text` with every (nested) block comment replaced by spaces, newlines kept."""
    if "(;" not in text:
        return text
    pieces = []
    copied = pos = 0
    while True:
        m = _COMMENT_START_RE.search(text, pos)
        if m is None:
            break
        if m.group() != "(;":
            pos = m.end()
            continue
        end = _block_comment_end(text, m.start())
        pieces.append(text[copied:m.start()])
        pieces.append(_NOT_NEWLINE_RE.sub(" ", text[m.start():end]))
        copied = pos = end
    pieces.append(text[copied:])
    return "".join(pieces)


def _block_comment_end(text, start):
    depth, pos = 0, start
    while True:
        m = _COMMENT_NEST_RE.search(text, pos)
        if m is None:
            line, column = line_and_column(text, start)
            raise WatSyntaxError("unclosed block comment", line, column, start)
        depth += 1 if m.group() == "(;" else -1
        pos = m.end()
        if depth == 0:
            return pos


def tokenize(text):
    """The token strings of `text` (block comments already blanked)."""
    tokens = TOKEN_RE.findall(text)
    if ";;" in text:
        tokens = [t for t in tokens if not t.startswith(";;")]
    return tokens


def token_position(text, index):
    """Character offset of token number `index` of tokenize(text) (len(text) past the end)."""
    n = 0
    for m in TOKEN_RE.finditer(text):
        if m.group().startswith(";;"):
            continue
        if n == index:
            return m.start()
        n += 1
    return len(text)


def tokenize_with_positions(text):
    """[(token, offset)] of `text` (block comments already blanked): for script readers."""
    return [(m.group(), m.start()) for m in TOKEN_RE.finditer(text)
            if not m.group().startswith(";;")]
