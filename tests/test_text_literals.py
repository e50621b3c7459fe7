"""Literals of the text format: exact float rounding, integer ranges, strings, SIMD lanes.

Float literals are checked against wasmtime's text parser (an independent, correctly
rounding implementation) on the hard cases: decimal and hexadecimal literals at,
just above and just below the midpoints between adjacent floats, where rounding to
double first would go wrong for f32.
"""
import decimal
import random
import struct
from fractions import Fraction

import pytest
import wasmtime

import wasabi
from wasabi.binary.types import F32, F64
from wasabi.text import WatSyntaxError, wat2wasm
from wasabi.binary.instructions import read_instructions
from wasabi.text.literals import LiteralError, float_bits, int_bits, string_bytes


def const_immediates(data):
    """The immediates of every instruction of function 0's body (final end excluded)."""
    desc = wasabi.decode_module(bytes(data))
    f = desc.funcs[0]
    return [imm for _, imm, _ in read_instructions(desc.data, f.body_start, f.body_end)][:-1]


def assemble_consts(kind, literals):
    body = " ".join(f"{kind}.const {lit} drop" for lit in literals)
    return f"(module (func {body}))"


def exact_decimal(value):
    """The finite decimal expansion of a dyadic Fraction."""
    num, den = value.numerator, value.denominator
    k = den.bit_length() - 1
    assert den == 1 << k
    digits = str(num * 5 ** k)
    if k == 0:
        return digits
    digits = digits.rjust(k + 1, "0")
    return f"{digits[:-k]}.{digits[-k:]}"


def decimal_digits(value, digits):
    """`value` to `digits` significant decimal digits (a literal near, not at, a midpoint)."""
    with decimal.localcontext() as ctx:
        ctx.prec = digits
        return str(decimal.Decimal(value.numerator) / decimal.Decimal(value.denominator))


def float_value(bits, fmt):
    if fmt == F32:
        return Fraction(struct.unpack("<f", struct.pack("<I", bits))[0])
    return Fraction(struct.unpack("<d", struct.pack("<Q", bits))[0])


def hard_literals(fmt, count, seed):
    """Decimal strings at, near and around midpoints of adjacent floats."""
    rng = random.Random(seed)
    limit = 0x7F7FFFFF if fmt == F32 else 0x7FEFFFFFFFFFFFFF
    out = []
    for _ in range(count):
        bits = rng.choice([rng.randrange(0, 1 << 12), rng.randrange(0, limit),
                           limit - 1 - rng.randrange(0, 16)])
        low, high = float_value(bits, fmt), float_value(bits + 1, fmt)
        mid = (low + high) / 2
        tiny = (high - low) / 10 ** rng.randint(3, 30)
        for v in (mid, mid + tiny, mid - tiny):
            out.append(exact_decimal(v) if v.denominator & (v.denominator - 1) == 0
                       else decimal_digits(v, 60))
        digits = exact_decimal(mid)
        out.append(digits[:rng.randint(3, min(40, len(digits)))].rstrip("."))
    return out


@pytest.mark.parametrize("fmt,kind", [(F32, "f32"), (F64, "f64")], ids=["f32", "f64"])
def test_float_rounding_matches_wasmtime(fmt, kind):
    literals = hard_literals(fmt, 150, seed=7 if fmt == F32 else 8)
    literals += [f"0x{random.Random(i).getrandbits(60):x}p{random.Random(i).randint(-200, 60)}"
                 for i in range(100)]
    literals += ["-0", "+0.0", "1e-46", "1e-400", "0x1p-149", "0x1p-150", "0x1.000001p-150",
                 "0x1p-1074", "0x1p-1075", "0x1.fffffep127", "3.4028235e38", "1_000.000_1",
                 "0x1.fffffefffffffffffp127", "4.9e-324", "0x0.00000100000000000p-126",
                 "inf", "-inf", "nan", "-nan", "nan:0x1", "+nan:0x200000", "1.", "0x1.",
                 "1e10", "1E+10", "0x1P-10"]
    if fmt == F64:
        literals += ["1.7976931348623157e308", "0x1.fffffffffffff7ffp1023",
                     "2.4703282292062328e-324"]
    mine = const_immediates(wat2wasm(assemble_consts(kind, literals)))
    theirs = const_immediates(wasmtime.wat2wasm(assemble_consts(kind, literals)))
    mismatches = [(lit, hex(a), hex(b)) for lit, a, b in zip(literals, mine, theirs) if a != b]
    assert not mismatches


@pytest.mark.parametrize("literal,bits", [
    # 1 + 2^-24 is the midpoint of 1 and the next f32: ties to even (1.0); a hair above
    # rounds up. The double nearest "1.00000005960464477539062500000001" IS the midpoint,
    # which is what a double-then-single conversion gets wrong.
    ("1.000000059604644775390625", 0x3F800000),
    ("1.00000005960464477539062500000001", 0x3F800001),
    ("1.00000017881393432617187499999999", 0x3F800001),
    ("1.000000178813934326171875", 0x3F800002),      # tie between ...01 and ...02: even
    ("0x1.000001p0", 0x3F800000),
    ("0x1.0000010000000000001p0", 0x3F800001),
    ("-0x1p-149", 0x80000001),
    ("nan:0x7fffff", 0x7FFFFFFF),
])
def test_f32_ties(literal, bits):
    assert float_bits(literal, F32) == bits


@pytest.mark.parametrize("literal,fmt", [
    ("0x1p128", F32), ("3.5e38", F32), ("0x1.ffffffp127", F32), ("1e39", F32),
    ("0x1p1024", F64), ("1.8e308", F64), ("1e99999999999999999999", F64),
    ("nan:0x0", F32), ("nan:0x800000", F32), ("nan:0x10000000000000", F64),
])
def test_float_out_of_range(literal, fmt):
    with pytest.raises(LiteralError):
        float_bits(literal, fmt)


@pytest.mark.parametrize("literal", ["1_", "_1", "1__0", "0x", "0x_1", "1.e", ".5", "1e", "+-1",
                                     "0X1", "infinity", "nan:1", "nan:0x", "1.5_", "0x1p"])
def test_not_float_literals(literal):
    assert float_bits(literal, F64) is None


def test_huge_exponents_do_not_hang():
    assert float_bits("1e-99999999999999999999", F32) == 0
    assert float_bits("0x1p-99999999999999999999", F64) == 0
    with pytest.raises(LiteralError):
        float_bits("0x1p99999999999999999999", F32)
    assert float_bits("0." + "0" * 5000 + "1", F64) == 0
    assert float_bits("1" * 6000 + "e-5999", F32) == float_bits("1.1111111111", F32)


@pytest.mark.parametrize("literal,bits,value", [
    ("0", 32, 0), ("-0", 32, 0), ("4294967295", 32, -1), ("-2147483648", 32, -2147483648),
    ("0xffff_ffff", 32, -1), ("+0x7fffffff", 32, 2147483647), ("1_000", 32, 1000),
    ("18446744073709551615", 64, -1), ("-9223372036854775808", 64, -(1 << 63)),
])
def test_integers(literal, bits, value):
    assert int_bits(literal, bits) == value


@pytest.mark.parametrize("literal,bits", [("4294967296", 32), ("-2147483649", 32),
                                          ("0x1_0000_0000", 32), ("18446744073709551616", 64)])
def test_integer_out_of_range(literal, bits):
    with pytest.raises(LiteralError):
        int_bits(literal, bits)


@pytest.mark.parametrize("literal", ["1_", "_1", "0x", "1x", "0xg", "--1", "1.0", "0b1"])
def test_not_integers(literal):
    assert int_bits(literal, 32) is None


@pytest.mark.parametrize("token,data", [
    ('""', b""), ('"abc"', b"abc"), (r'"\t\n\r\"\'\\"', b"\t\n\r\"'\\"),
    (r'"\00\ff\7F"', b"\x00\xff\x7f"), (r'"\u{41}\u{1F600}"', "A\U0001F600".encode()),
    (r'"\u{1_0000}"', "\U00010000".encode()), ('"é"', "é".encode()),
])
def test_strings(token, data):
    assert string_bytes(token) == data


@pytest.mark.parametrize("token", [r'"\u{D800}"', r'"\u{110000}"', r'"\x"', r'"\0"',
                                   '"a\tb"', '"a\nb"', '"\x7f"', r'"\u{}"', '"a""b"'])
def test_bad_strings(token):
    with pytest.raises(LiteralError):
        string_bytes(token)


def test_v128_lanes():
    text = ("(module (func v128.const i8x16 -128 255 0 1 2 3 4 5 6 7 8 9 10 11 12 0x7f drop "
            "v128.const i16x8 -1 0 1 2 3 4 5 0xffff drop v128.const f32x4 1 -0 nan inf drop "
            "v128.const f64x2 0x1p-1074 -nan:0x1 drop v128.const i64x2 -1 0x8000000000000000 drop "
            "i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31 drop))")
    assert const_immediates(wat2wasm(text)) == const_immediates(wasmtime.wat2wasm(text))


@pytest.mark.parametrize("text,message", [
    ("(func (v128.const i32x4 1 2 3) drop)", "wrong number of lane literals"),
    ("(func (v128.const i32x4 1 2 3 4 5) drop)", "wrong number of lane literals"),
    ("(func (v128.const i8x16 256 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0) drop)", "constant out of range"),
    ("(func (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14) drop)", "invalid lane length"),
    ("(func (i8x16.extract_lane_s 256 (v128.const i64x2 0 0)) drop)", "malformed lane index"),
    ("(func (f32.const 0x1p128) drop)", "constant out of range"),
    ("(func (i32.const 0x1_0000_0000) drop)", "constant out of range"),
    ("(func (i64.const nan) drop)", "unknown operator"),
])
def test_literal_errors_in_code(text, message):
    with pytest.raises(WatSyntaxError) as info:
        wat2wasm(text)
    assert info.value.message.startswith(message)
