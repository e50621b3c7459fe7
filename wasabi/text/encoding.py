"""Binary encoding helpers: LEB128, vectors, names, sections (minimal encodings)."""

from ..binary.leb128 import sleb, uleb  # noqa: F401  (re-exported for the assembler)


def name(text):
    data = text.encode("utf-8")
    return uleb(len(data)) + data


def vector(items):
    """A vec(...) of already encoded items."""
    return uleb(len(items)) + b"".join(items)


def section(section_id, payload):
    return bytes((section_id,)) + uleb(len(payload)) + payload


def limits(minimum, maximum, shared=False):
    flags = (1 if maximum is not None else 0) | (2 if shared else 0)
    out = bytes((flags,)) + uleb(minimum)
    return out if maximum is None else out + uleb(maximum)
