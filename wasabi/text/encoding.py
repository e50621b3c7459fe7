"""Binary encoding helpers: LEB128, vectors, names, sections (minimal encodings)."""

# the one-byte encodings, looked up rather than computed: most indices are small
_SMALL_ULEB = [bytes((i,)) for i in range(128)]


def uleb(value):
    """Unsigned LEB128 of a non-negative int."""
    if value < 128:
        return _SMALL_ULEB[value]
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value):
    """Signed LEB128 of an int."""
    if -64 <= value < 64:
        return _SMALL_ULEB[value & 0x7F]
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


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
