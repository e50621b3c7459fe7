"""Literals of the text format: integers, floats (exactly rounded), strings, SIMD lanes.

Functions raise LiteralError(reason); the parser turns it into a WatSyntaxError at
the token's position. A token that is not a literal of the asked kind at all makes
the integer and float readers return None, so that the caller can decide what the
token is instead (an instruction name, an index, ...).

Float literals round as the spec says: to nearest, ties to even, from the exact
value of the literal, and an overflow to infinity is an error. Decimal f64
literals go through Python's float(), which is correctly rounded. Decimal f32
literals are the subtle case: rounding first to double and then to single can
land on the wrong side of a tie. It cannot when the double is not itself an f32
tie (rounding is monotonic and every f32 tie is a double), so only literals whose
double is an exact f32 midpoint are redone exactly with integers.
"""
import re as _re
import struct as _struct

from ..binary.types import F32, F64


class LiteralError(Exception):
    """A literal with the right shape but an unusable value (out of range, bad escape...)."""


_DEC = r"[0-9](?:_?[0-9])*"
_HEX = r"[0-9a-fA-F](?:_?[0-9a-fA-F])*"
_INT_RE = _re.compile(rf"([+-]?)(?:({_DEC})|0x({_HEX}))\Z")
_FLOAT_RE = _re.compile(
    rf"([+-]?)(?:"
    rf"({_DEC})(?:\.({_DEC})?)?(?:[eE]([+-]?{_DEC}))?"          # decimal
    rf"|0x({_HEX})(?:\.({_HEX})?)?(?:[pP]([+-]?{_DEC}))?"      # hexadecimal
    rf"|(inf)|nan(?::0x({_HEX}))?)\Z")                          # inf, nan, nan:0x...


# --- integers -------------------------------------------------------------------------

def parse_int(token):
    """The value of an integer literal (sign allowed), or None if `token` is not one."""
    if token.isdigit() and token.isascii():          # the common case: plain decimal
        return int(token)
    m = _INT_RE.match(token)
    if m is None:
        return None
    sign, dec, hexa = m.groups()
    value = int(dec.replace("_", ""), 10) if dec is not None else int(hexa.replace("_", ""), 16)
    return -value if sign == "-" else value


def parse_uint(token):
    """The value of an unsigned integer literal (no sign), or None."""
    if token[:1] in ("+", "-"):
        return None
    return parse_int(token)


def int_bits(token, bits):
    """The signed value of an iN literal (-2^(N-1) .. 2^N-1, wrapped to signed), or None."""
    value = parse_int(token)
    if value is None:
        return None
    if not -(1 << (bits - 1)) <= value < (1 << bits):
        raise LiteralError("constant out of range")
    if value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


# --- floats ---------------------------------------------------------------------------

# (mantissa bits, exponent bits)
_FORMATS = {F32: (23, 8), F64: (52, 11)}


def _round_ratio(num, den, mbits, ebits):
    """IEEE bits of num/den (> 0) rounded to nearest-even, and whether it was a tie.

    Raises LiteralError when the value rounds to infinity.
    """
    bias = (1 << (ebits - 1)) - 1
    emin = 1 - bias
    exp = num.bit_length() - den.bit_length()          # 2^exp <= num/den < 2^(exp+2)
    if (num << max(0, -exp)) < (den << max(0, exp)):
        exp -= 1                                          # now 2^exp <= num/den < 2^(exp+1)
    quantum = max(exp, emin) - mbits                      # weight of the last mantissa bit
    if quantum < 0:
        q, r = divmod(num << -quantum, den)
    else:
        q, r = divmod(num, den << quantum)
        den <<= quantum
    tie = 2 * r == den
    if 2 * r > den or (tie and q & 1):
        q += 1
    if q >> (mbits + 1):                                  # rounding carried into a new bit
        q >>= 1
        quantum += 1
    if q >> mbits == 0:                                   # subnormal (or zero)
        return q, tie
    biased = quantum + mbits + bias
    if biased >= (1 << ebits) - 1:
        raise LiteralError("constant out of range")
    return (biased << mbits) | (q & ((1 << mbits) - 1)), tie


def _decimal_ratio(int_digits, frac_digits, exp_text):
    """The exact value of a decimal literal as (num, den); huge magnitudes clamped.

    Only called for f32 ties, whose exact decimal expansions are short: digits past the
    200th are folded into one sticky digit, which keeps the side of every tie.
    """
    digits = (int_digits + frac_digits).lstrip("0")
    if not digits:
        return 0, 1
    exp = _clamped_exponent(exp_text)
    scale = exp - len(frac_digits)
    if len(digits) > 200:
        tail = digits[200:]
        digits = digits[:200] + ("1" if tail.strip("0") else "0")
        scale += len(tail) - 1
    lead = scale + len(digits) - 1                        # decimal exponent of the first digit
    if lead > 400:
        raise LiteralError("constant out of range")
    if lead < -400:
        return 0, 1
    n = int(digits)
    return (n * 10 ** scale, 1) if scale >= 0 else (n, 10 ** -scale)


def _clamped_exponent(text):
    if not text:
        return 0
    text = text.replace("_", "")
    digits = text.lstrip("+-")
    if len(digits.lstrip("0")) > 12:                      # beyond any meaningful exponent
        return -10 ** 12 if text.startswith("-") else 10 ** 12
    return int(text)


def _hex_ratio(int_digits, frac_digits, exp_text):
    mantissa = int(int_digits + frac_digits, 16)
    if mantissa == 0:
        return 0, 1
    exp = _clamped_exponent(exp_text) - 4 * len(frac_digits)
    lead = mantissa.bit_length() - 1 + exp
    if lead > 2000:
        raise LiteralError("constant out of range")
    if lead < -2000:
        return 0, 1
    return (mantissa << exp, 1) if exp >= 0 else (mantissa, 1 << -exp)


def float_bits(token, valtype):
    """The IEEE bit pattern (int) of an fN literal, or None if `token` is not a float literal."""
    m = _FLOAT_RE.match(token)
    if m is None:
        return None
    mbits, ebits = _FORMATS[valtype]
    sign_bit = (1 << (mbits + ebits)) if m.group(1) == "-" else 0
    dec_int, dec_frac, dec_exp, hex_int, hex_frac, hex_exp, inf, payload = m.groups()[1:]
    exp_all_ones = ((1 << ebits) - 1) << mbits
    if inf:
        return sign_bit | exp_all_ones
    if dec_int is None and hex_int is None:               # nan or nan:0x...
        if payload is None:
            return sign_bit | exp_all_ones | (1 << (mbits - 1))
        value = int(payload.replace("_", ""), 16)
        if not 1 <= value < (1 << mbits):
            raise LiteralError("constant out of range")
        return sign_bit | exp_all_ones | value
    if hex_int is not None:
        num, den = _hex_ratio(hex_int.replace("_", ""), (hex_frac or "").replace("_", ""), hex_exp)
    else:
        num, den = _decimal_fast(token, m, valtype)
        if num is None:
            num, den = _decimal_ratio(dec_int.replace("_", ""),
                                      (dec_frac or "").replace("_", ""), dec_exp)
    if num == 0:
        return sign_bit
    bits, _ = _round_ratio(num, den, mbits, ebits)
    return sign_bit | bits


def _decimal_fast(token, match, valtype):
    """(num, den) of the literal's correctly rounded double when that rounds correctly to
    `valtype`, else (None, None)."""
    text = token.replace("_", "").lstrip("+-")
    value = float(text)                                   # correctly rounded to double
    if value == float("inf"):
        raise LiteralError("constant out of range")
    if value == 0.0:
        # below half the smallest double: zero in both formats, unless the literal is
        # itself nonzero and an f32 cannot tell (impossible: f32 ties are far larger)
        return 0, 1
    num, den = value.as_integer_ratio()
    if valtype == F64:
        return num, den
    _, tie = _round_ratio(num, den, 23, 8)
    if tie:
        return None, None                                 # redo from the exact decimal
    return num, den


def f32_bytes(bits):
    return _struct.pack("<I", bits)


def f64_bytes(bits):
    return _struct.pack("<Q", bits)


# --- strings --------------------------------------------------------------------------

_ESCAPE_SPLIT_RE = _re.compile(r"(\\(?:[0-9a-fA-F]{2}|u\{[^}]*\}|.?))", _re.S)
_NOT_HEX_ESCAPE_RE = _re.compile(r"\\(?![0-9a-fA-F]{2})")
_SIMPLE_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}
_ILLEGAL_IN_STRING_RE = _re.compile(r"[\x00-\x1f\x7f]")
_UNICODE_ESCAPE_RE = _re.compile(rf"u\{{({_HEX})\}}\Z")


STRING_TOKEN_RE = _re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', _re.S)


def string_bytes(token):
    """The bytes of a string token ('"..."' with escapes)."""
    if STRING_TOKEN_RE.fullmatch(token) is None:
        raise LiteralError("unclosed string" if token.count('"') < 2 else
                           f"unknown operator {token!r} (tokens must be separated)")
    body = token[1:-1]
    if _ILLEGAL_IN_STRING_RE.search(body):
        raise LiteralError("illegal character in string")
    if "\\" not in body:
        return _utf8(body)
    if body.isascii() and not _NOT_HEX_ESCAPE_RE.search(body):
        # only \hh escapes (binary data, as wasm2wat writes it): as \xhh they mean the
        # same to Python's unicode_escape codec, which decodes at C speed
        text = body.replace("\\", "\\x").encode("ascii").decode("unicode_escape")
        return text.encode("latin-1")
    out = bytearray()
    for i, part in enumerate(_ESCAPE_SPLIT_RE.split(body)):
        if i & 1:
            out += _escape(part[1:])
        elif part:
            out += _utf8(part)
    return bytes(out)


def _escape(code):
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        return simple
    if len(code) == 2 and code.isascii():
        try:
            return bytes((int(code, 16),))
        except ValueError:
            pass
    m = _UNICODE_ESCAPE_RE.match(code)
    if m is not None:
        cp = int(m.group(1).replace("_", ""), 16)
        if cp < 0xD800 or 0xE000 <= cp < 0x110000:
            return chr(cp).encode("utf-8")
    raise LiteralError("malformed escape sequence")


def _utf8(text):
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:                            # lone surrogates in the str
        raise LiteralError("malformed UTF-8 encoding") from None


def name_text(data):
    """A name (import/export/module name): the bytes must be valid UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LiteralError("malformed UTF-8 encoding") from None


# --- SIMD -----------------------------------------------------------------------------

# shape -> (lane count, lane bit width, float type or None)
SHAPES = {"i8x16": (16, 8, None), "i16x8": (8, 16, None), "i32x4": (4, 32, None),
          "i64x2": (2, 64, None), "f32x4": (4, 32, F32), "f64x2": (2, 64, F64)}


def lane_bits(token, width, float_type):
    """The unsigned bits of one v128.const lane, or None if `token` is not a literal."""
    if float_type is not None:
        return float_bits(token, float_type)
    value = int_bits(token, width)
    return None if value is None else value & ((1 << width) - 1)
