"""Annotations `(@id ...)`, read as the wat crate reads them.

Known annotations: `@custom`, `@producers` and `@dylink.0` (module fields that become
custom sections), `@name` (after an entity's optional $identifier: its name in the
name section) and `@metadata.code.branch_hint` (before an instruction: the branch
hint section). Any other annotation is ignored wherever it stands: it is blanked out
of the text before tokenizing (newlines kept, so positions do not move).

Custom sections are placed as the wat crate places them: `(before s)`/`(after s)` of a
known section s (written or not), `(before first)`, `(after last)` (the default);
producers go last, dylink.0 first.
"""
from . import encoding
from .encoding import uleb
from .lexer import tokenize_with_positions

KNOWN = frozenset({"@custom", "@producers", "@name", "@dylink.0",
                   "@metadata.code.branch_hint"})

# the sections a custom section may be placed before or after
ANCHORS = ("type", "import", "func", "table", "memory", "tag", "global", "export",
           "start", "elem", "code", "data")
BEFORE_FIRST, AFTER_LAST = ("before", "first"), ("after", "last")

_DYLINK_FLAGS = {
    "binding-weak": 1 << 0, "binding-local": 1 << 1, "visibility-hidden": 1 << 2,
    "undefined": 1 << 4, "exported": 1 << 5, "explicit-name": 1 << 6,
    "no-strip": 1 << 7, "tls": 1 << 8, "absolute": 1 << 9,
}
_DYLINK_IDS = {"mem-info": 1, "needed": 2, "export-info": 3, "import-info": 4,
               "runtime-path": 5}
_PRODUCER_FIELDS = ("language", "sdk", "processed-by")


def blank_unknown_annotations(text):
    """`text` with every annotation the wat crate does not know blanked out."""
    if "(@" not in text:
        return text
    toks = tokenize_with_positions(text)
    spans = []
    k = 0
    while k < len(toks) - 1:
        tok, pos = toks[k]
        nxt, npos = toks[k + 1]
        if tok == "(" and nxt[:1] == "@" and npos == pos + 1 and _annotation_id(nxt) not in KNOWN:
            end = _matching(toks, k)
            if end is None:
                break                         # unclosed: the parser reports it
            spans.append((pos, toks[end][1] + 1))
            k = end + 1
        else:
            k += 1
    if not spans:
        return text
    pieces, copied = [], 0
    for start, stop in spans:
        pieces.append(text[copied:start])
        pieces.append("".join(c if c == "\n" else " " for c in text[start:stop]))
        copied = stop
    pieces.append(text[copied:])
    return "".join(pieces)


def _annotation_id(tok):
    # `@id"glued string"` is one token; its id is the part before the string
    quote = tok.find('"')
    return tok if quote < 0 else tok[:quote]


def _matching(toks, k):
    depth = 0
    for j in range(k, len(toks)):
        t = toks[j][0]
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
            if depth == 0:
                return j
    return None


class AnnotationParser:
    """Module-field annotations: a mixin of ModuleAssembler (token stream, `customs`)."""

    def name_annotation(self, i):
        """An optional `(@name "...")` at i -> (the name or None, index after)."""
        if not self.is_keyword(i, "@name"):
            return None, i
        name, j = self.name(i + 2)
        return name, self.close(j)

    def _build_custom(self, i, _):
        name, i = self.name(i)
        place = AFTER_LAST
        if self.toks[i] == "(":
            place, i = self._custom_place(i + 1)
        data, i = self.strings(i)
        self.customs.append((place, _custom_section(name, data)))
        if name == "name":
            self.custom_name_section = True     # written instead of the generated one
        return i

    def _custom_place(self, i):
        where = self.toks[i]
        anchor = self.toks[i + 1]
        if where not in ("before", "after"):
            self.unexpected(i, "'before' or 'after'")
        if (where, anchor) not in (BEFORE_FIRST, AFTER_LAST) and anchor not in ANCHORS:
            self.unexpected(i + 1, "a section name")
        return (where, anchor), self.close(i + 2)

    def _build_producers(self, i, _):
        fields = {key: [] for key in _PRODUCER_FIELDS}
        while self.toks[i] == "(":
            key = self.toks[i + 1]
            if key not in fields:
                self.unexpected(i + 1, "language, sdk or processed-by")
            name, i = self.name(i + 2)
            version, i = self.name(i)
            fields[key].append(encoding.name(name) + encoding.name(version))
            i = self.close(i)
        present = [encoding.name(key) + encoding.vector(values)
                   for key, values in fields.items() if values]
        self.customs.append((AFTER_LAST, _custom_section("producers", encoding.vector(present))))
        return i

    def _build_dylink(self, i, _):
        subsections = []                  # [id, [encoded entries] or bytes]
        while self.toks[i] == "(":
            key = self.toks[i + 1]
            sub_id = _DYLINK_IDS.get(key)
            if sub_id is None:
                self.unexpected(i + 1, "a dylink.0 subsection")
            i = getattr(self, "_dylink_" + key.replace("-", "_"))(i + 2, sub_id, subsections)
            i = self.close(i)
        payload = bytearray()
        for sub_id, body in subsections:
            if isinstance(body, list):
                body = encoding.vector(body)
            payload += bytes((sub_id,)) + uleb(len(body)) + body
        self.customs.append((BEFORE_FIRST, _custom_section("dylink.0", bytes(payload))))
        return i

    def _dylink_mem_info(self, i, sub_id, subsections):
        values = [0, 0, 0, 0]
        for slot, word in ((0, "memory"), (2, "table")):
            if self.is_keyword(i, word):
                values[slot], i = self.u32(i + 2)
                values[slot + 1], i = self.u32(i)
                i = self.close(i)
        subsections.append([sub_id, b"".join(uleb(v) for v in values)])
        return i

    def _dylink_names(self, i, sub_id, subsections):
        names = []
        while self.toks[i][:1] == '"':
            name, i = self.name(i)
            names.append(encoding.name(name))
        subsections.append([sub_id, names])
        return i

    _dylink_needed = _dylink_runtime_path = _dylink_names

    def _dylink_export_info(self, i, sub_id, subsections):
        name, i = self.name(i)
        flags, i = self._dylink_flags(i)
        _append_merged(subsections, sub_id, encoding.name(name) + uleb(flags))
        return i

    def _dylink_import_info(self, i, sub_id, subsections):
        module, i = self.name(i)
        name, i = self.name(i)
        flags, i = self._dylink_flags(i)
        _append_merged(subsections, sub_id,
                       encoding.name(module) + encoding.name(name) + uleb(flags))
        return i

    def _dylink_flags(self, i):
        flags = 0
        while self.toks[i] != ")":
            tok = self.toks[i]
            if tok in _DYLINK_FLAGS:
                flags |= _DYLINK_FLAGS[tok]
                i += 1
            else:
                value, i = self.u32(i, "a symbol flag")
                flags |= value
        return flags, i


def _append_merged(subsections, sub_id, entry):
    """Consecutive export-info (import-info) entries share one subsection."""
    if subsections and subsections[-1][0] == sub_id:
        subsections[-1][1].append(entry)
    else:
        subsections.append([sub_id, [entry]])


def _custom_section(name, data):
    return encoding.section(0, encoding.name(name) + data)


def branch_hint_section(hints_by_func):
    """The metadata.code.branch_hint section: {function index: [(offset, value)]}."""
    funcs = [uleb(index) + encoding.vector([uleb(offset) + b"\x01" + bytes((value,))
                                            for offset, value in hints])
             for index, hints in sorted(hints_by_func.items())]
    return _custom_section("metadata.code.branch_hint", encoding.vector(funcs))
