"""LEB128 encoders (minimal encodings): the text assembler, the opcode table and tests
write binaries with them. Decoding is Cython (wasabi/_cy/leb.pxi)."""

# the one-byte encodings, looked up rather than computed: most indices are small
_SMALL = [bytes((i,)) for i in range(128)]


def uleb(value):
    """Unsigned LEB128 of a non-negative int."""
    if value < 128:
        return _SMALL[value]
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
        return _SMALL[value & 0x7F]
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)
