"""The opcode table: sanity, and every entry checked against the reference engine.

Encodings and signatures are cross-checked with the `wasmtime` package: its text
parser must encode each instruction with our (prefix, code), and its validator must
accept each simple instruction used with our stack signature.
"""
from collections import Counter

import pytest
import wasmtime

from wasabi.binary import opcodes
from wasabi.binary.opcodes import IMMEDIATE_KINDS, OPCODES, Opcode
from wasabi.binary.types import NAMES, VALUE_TYPES


def test_counts_per_prefix():
    counts = Counter(op.prefix for op in OPCODES)
    # 172 MVP + 5 sign extension + typed select + table.get/set + 3 reference instructions
    assert counts[None] == 183
    assert counts[0xFC] == 18          # 8 trunc_sat + 10 bulk memory / table
    assert counts[0xFD] == 236         # the final fixed-width SIMD set
    assert len(OPCODES) == 437


def test_no_duplicate_encodings():
    keys = [op.key for op in OPCODES]
    assert len(keys) == len(set(keys))


def test_names_unique_except_typed_select():
    counts = Counter(op.name for op in OPCODES)
    assert {name for name, n in counts.items() if n > 1} == {"select"}
    assert opcodes.by_name("select").code == 0x1B
    assert opcodes.lookup(None, 0x1C).imm == "select_types"


def test_fields_consistent():
    for op in OPCODES:
        assert op.imm in IMMEDIATE_KINDS, op
        assert op.prefix in (None, 0xFC, 0xFD), op
        assert 0 <= op.code <= 0xFF, op
        assert (op.params is None) == (op.results is None), op
        if not op.special:
            assert all(t in VALUE_TYPES for t in op.params + op.results), op
            assert len(op.params) <= 3 and len(op.results) <= 1, op
        if op.imm in ("memarg", "memarg_lane"):
            assert 0 <= op.align <= 4, op
        else:
            assert op.align == 0, op
        assert (op.lanes > 0) == (op.imm in ("lane", "memarg_lane")), op
    for op in OPCODES:
        if op.prefix is None:
            assert op.code not in (0xFC, 0xFD)


def test_lookup_and_encode():
    add = opcodes.by_name("i32.add")
    assert add.key == (None, 0x6A) and add.params == (0x7F, 0x7F) and add.results == (0x7F,)
    assert opcodes.lookup(0xFD, 0x0C).name == "v128.const"
    assert opcodes.by_name("i8x16.extract_lane_s").lanes == 16
    assert opcodes.by_name("v128.load64_lane").encode() == b"\xfd\x57"
    assert opcodes.by_name("f64x2.convert_low_i32x4_u").encode() == b"\xfd\xff\x01"
    assert opcodes.by_name("table.fill").encode() == b"\xfc\x11"
    assert opcodes.lookup(None, 0x06) is None


# --- cross-check with wasmtime ---------------------------------------------------------

_PRELUDE = ("(memory 1) (table 1 funcref) (table $ext 1 externref) "
            "(global $g (mut i32) (i32.const 0)) (data \"x\") (elem func $f) "
            "(elem declare func $f) (func $f)")

# text immediates for each kind (the simple instructions only need defaults)
_IMM_TEXT = {"none": "", "memarg": "", "zero_byte": "", "two_zero_bytes": "", "lane": " 0",
             "memarg_lane": " 0", "data_and_zero": " 0", "data": " 0", "elem": " 0",
             "elem_and_table": " 0 0", "two_tables": " 0 0", "table": " 0",
             "func": " $f", "i32": " 0", "i64": " 0", "f32": " 0", "f64": " 0",
             "v128": " i64x2 0 0", "shuffle": " " + " ".join(str(i) for i in range(16))}

# special instructions: a snippet using each, in a function of type [] -> []
_SPECIAL_TEXT = {
    "unreachable": "unreachable", "block": "block end", "loop": "loop end",
    "if": "i32.const 0 if end", "else": "i32.const 0 if else end", "end": "block end",
    "br": "block br 0 end", "br_if": "block i32.const 0 br_if 0 end",
    "br_table": "block i32.const 0 br_table 0 0 end", "return": "return",
    "call": "call $f", "call_indirect": "i32.const 0 call_indirect (type 0)",
    "drop": "i32.const 0 drop",
    "select": "i32.const 0 i32.const 0 i32.const 0 select drop",
    "local.get": "local.get 0 drop", "local.set": "i32.const 0 local.set 0",
    "local.tee": "i32.const 0 local.tee 0 drop", "global.get": "global.get $g drop",
    "global.set": "i32.const 0 global.set $g", "table.get": "i32.const 0 table.get 0 drop",
    "table.set": "i32.const 0 ref.null func table.set 0",
    "table.grow": "ref.null func i32.const 0 table.grow 0 drop",
    "table.fill": "i32.const 0 ref.null func i32.const 0 table.fill 0",
    "ref.null": "ref.null extern drop", "ref.is_null": "ref.null func ref.is_null drop",
}
_TYPED_SELECT = "i32.const 0 i32.const 0 i32.const 0 select (result i32) drop"


def _uleb(data, pos):
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def _last_body(wasm):
    """The instruction bytes of the module's last function body (locals skipped)."""
    pos = 8
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _uleb(wasm, pos + 1)
        if sid == 10:
            count, p = _uleb(wasm, pos)
            for _ in range(count):
                body_size, p = _uleb(wasm, p)
                start, p = p, p + body_size
            nruns, q = _uleb(wasm, start)
            for _ in range(nruns):
                _, q = _uleb(wasm, q)
                q += 1
            return wasm[q:p]
        pos += size
    raise AssertionError("no code section")


def _simple_module(op: Opcode):
    params = " ".join(NAMES[t] for t in op.params)
    results = " ".join(NAMES[t] for t in op.results)
    gets = " ".join(f"local.get {i}" for i in range(len(op.params)))
    return (f"(module {_PRELUDE} (func (param {params}) (result {results}) "
            f"{gets} {op.name}{_IMM_TEXT[op.imm]}))")


@pytest.fixture(scope="module")
def engine():
    return wasmtime.Engine()


@pytest.mark.parametrize("op", [op for op in OPCODES if not op.special], ids=lambda op: op.name)
def test_simple_instruction_matches_wasmtime(op, engine):
    wasm = wasmtime.wat2wasm(_simple_module(op))
    wasmtime.Module.validate(engine, wasm)       # our signature type-checks in wasmtime
    body = _last_body(wasm)
    prefix_len = 2 * len(op.params)              # each local.get i is 2 bytes
    assert body[prefix_len:].startswith(op.encode()), (op.name, body.hex())
    if op.imm in ("memarg", "memarg_lane"):
        # the text format's default alignment is the natural one
        assert body[prefix_len + len(op.encode())] == op.align, (op.name, body.hex())


@pytest.mark.parametrize("op", [op for op in OPCODES if op.special],
                         ids=lambda op: f"{op.name}-{op.code:#x}")
def test_special_instruction_encoding(op, engine):
    snippet = _TYPED_SELECT if op.imm == "select_types" else _SPECIAL_TEXT[op.name]
    wasm = wasmtime.wat2wasm(f"(module {_PRELUDE} (func (local i32) {snippet}))")
    wasmtime.Module.validate(engine, wasm)
    assert op.encode() in _last_body(wasm), (op.name, _last_body(wasm).hex())
