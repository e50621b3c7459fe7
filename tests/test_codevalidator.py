"""The code-body validator (wasabi/_cy/codevalidator.pxi): valid and invalid bodies, the
messages, byte offsets and function indices of its errors, and malformed bodies.

Modules come from WAT (wasmtime.wat2wasm) through the decoder, or, for bytes no
assembler writes, from ModuleDesc objects built by hand around a raw body.
"""
import pytest
import wasmtime

from wasabi import _ext
from wasabi.binary import opcodes
from wasabi.binary.leb128 import uleb
from wasabi.binary.reader import decode_module
from wasabi.binary.types import (EXTERNREF, F64, FUNCREF, I32, I64, FuncType, GlobalType,
                                 Limits, MemoryType, TableType)
from wasabi.errors import CompileError, ValidationError
from wasabi.module.desc import ElemDesc, FuncDesc, ModuleDesc
from wasabi.validate.module import declared_func_refs


def check_wat(wat):
    desc = decode_module(wasmtime.wat2wasm(wat))
    _ext.validate_functions(desc, frozenset(declared_func_refs(desc)))
    return desc


def invalid_wat(wat, *fragments):
    """The ValidationError of `wat`'s bodies; its message must contain each fragment."""
    with pytest.raises(ValidationError) as info:
        check_wat(wat)
    for fragment in fragments:
        assert fragment in str(info.value)
    return info.value


def raw_desc(body, params=(), results=(), locals=(), types=(), memories=1, tables=(),
             globals=(), elems=(), data_count=None):
    """A one-function ModuleDesc around raw instruction bytes (the final `end` included)."""
    data = b"\x00asm\x01\x00\x00\x00" + body
    return ModuleDesc(
        data=data, types=(FuncType(tuple(params), tuple(results)),) + tuple(types),
        funcs=(FuncDesc(index=0, type_index=0, locals=tuple(locals),
                        num_locals=sum(c for c, _ in locals), body_start=8,
                        body_end=8 + len(body)),),
        memories=tuple(MemoryType(Limits(1)) for _ in range(memories)),
        tables=tuple(tables), globals=tuple(globals), elems=tuple(elems),
        data_count=data_count)


def check_raw(body, refs=frozenset(), **kw):
    _ext.validate_functions(raw_desc(body, **kw), refs)


def malformed_raw(body, fragment, **kw):
    with pytest.raises(CompileError) as info:
        check_raw(body, **kw)
    assert not isinstance(info.value, ValidationError), info.value
    assert fragment in str(info.value)
    return info.value


# --- valid code --------------------------------------------------------------------------

VALID = {
    "arith": "(func (param i32 i64) (result i64) local.get 0 i64.extend_i32_s local.get 1 i64.add)",
    "multi-value block": """(type $t (func (param i32 i32) (result i32 i32)))
        (func (result i32 i32) i32.const 1 i32.const 2 block (type $t) i32.add i32.const 3 end)""",
    "loop params": """(func (result i32) (local i32) i32.const 10 loop (param i32) (result i32)
        i32.const 1 i32.sub local.tee 0 local.get 0 br_if 0 end)""",
    "if else params": """(func (param i32) (result f64) f64.const 1 local.get 0
        if (param f64) (result f64) f64.neg else f64.sqrt end)""",
    "if without else same types": "(func (param i32) local.get 0 if nop end)",
    "br_table": """(func (param i32) (result i32) block (result i32) block (result i32)
        i32.const 5 local.get 0 br_table 0 1 0 end end)""",
    "br_table to loop": "(func (param i32) loop local.get 0 br_table 0 0 end)",
    "unreachable polymorphic": """(func (result i32) unreachable i32.add i32.eqz
        select br_if 0 drop drop unreachable)""",
    "unreachable then values": "(func (result f32) unreachable f32.const 0 f32.add)",
    "br in dead code": "(func (result i32) block (result i32) unreachable br 0 end)",
    "return": "(func (result i32 i64) i32.const 1 i64.const 2 return)",
    "dead select": "(func unreachable select drop)",
    "dead select ref": "(func (param externref) unreachable local.get 0 i32.const 1 select (result externref) drop)",
    "call": """(func $f (param i32 f64) (result i64) i64.const 0)
        (func (result i64) i32.const 1 f64.const 2 call $f)""",
    "call_indirect": """(type $t (func (param i32) (result i32))) (table 1 funcref)
        (func (result i32) i32.const 3 i32.const 0 call_indirect (type $t))""",
    "globals": """(global $g (mut i64) (i64.const 0)) (global $c f32 (f32.const 0))
        (func global.get $g i64.const 1 i64.add global.set $g global.get $c drop)""",
    "memory": """(memory 1) (func (param i32) local.get 0 local.get 0 i32.load8_u offset=3
        i32.store16 align=1 local.get 0 i64.load32_s drop memory.size memory.grow drop)""",
    "bulk memory": """(memory 1) (data "ab") (func i32.const 0 i32.const 0 i32.const 2
        memory.init 0 data.drop 0 i32.const 0 i32.const 1 i32.const 1 memory.copy
        i32.const 0 i32.const 0 i32.const 1 memory.fill)""",
    "tables": """(table $a 2 funcref) (table $b 2 externref) (elem $e func $f) (func $f)
        (func (param externref) (result i32)
        i32.const 0 table.get $a drop i32.const 0 local.get 0 table.set $b
        ref.null func i32.const 1 table.grow $a drop
        i32.const 0 ref.func $f i32.const 1 table.fill $a
        i32.const 0 i32.const 0 i32.const 1 table.init $a $e elem.drop $e
        i32.const 0 i32.const 0 i32.const 0 table.copy $a $a
        local.get 0 ref.is_null table.size $b i32.add)""",
    "select": """(func (param funcref) (result i32) i32.const 1 i32.const 2 i32.const 0 select
        local.get 0 local.get 0 i32.const 0 select (result funcref) ref.is_null i32.add)""",
    "simd": """(memory 1) (func (param v128) (result i32)
        local.get 0 i8x16.extract_lane_s 15 local.get 0 f64x2.extract_lane 1 i32.trunc_f64_s i32.add
        local.get 0 i32.const 0 local.get 0 v128.load16_lane 7 i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
        i32.const 3 i16x8.shl v128.any_true i32.add
        i32.const 0 v128.load32_zero i32.const 0 v128.load8x8_s v128.and i64x2.all_true i32.add)""",
    "many locals": "(func (local i32 i64) (local f64 f64 f64) local.get 4 local.set 2 local.get 1 drop)",
    "nested blocks": "(func " + "block " * 300 + "end " * 300 + ")",
    "deep stack": "(func (result i32) " + "i32.const 1 " * 3000 + "i32.add " * 2999 + ")",
    "sign ext and sat": """(func (param f32) (result i64) local.get 0 i64.trunc_sat_f32_u
        i64.extend32_s)""",
    "ref.func declared by export": "(func $f (export \"f\")) (func ref.func $f drop)",
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid(name):
    check_wat(f"(module {VALID[name]})")


def test_valid_agrees_with_wasmtime():
    engine = wasmtime.Engine()
    for name, text in VALID.items():
        wasmtime.Module.validate(engine, wasmtime.wat2wasm(f"(module {text})"))


# --- invalid code: messages -----------------------------------------------------------------

INVALID = [
    ("(func (result i32) f64.const 1 i32.const 2 i32.add)", "type mismatch: expected i32, found f64 (i32.add)"),
    ("(func i32.eqz drop)", "type mismatch: expected i32, found nothing (i32.eqz)"),
    ("(func (result i32))", "type mismatch: expected i32, found nothing (end)"),
    ("(func i32.const 1)", "type mismatch: 1 value(s) left on the stack"),
    ("(func drop)", "expected a value, found nothing (drop)"),
    ("(func (param i32) local.get 1 drop)", "unknown local 1 (local.get)"),
    ("(func (local i64) i32.const 0 local.set 0)", "type mismatch: expected i64, found i32 (local.set)"),
    ("(func global.get 0 drop)", "unknown global 0"),
    ("(global i32 (i32.const 0)) (func i32.const 1 global.set 0)", "global is immutable"),
    ("(func br 1)", "unknown label 1 (br)"),
    ("(func block (result i32) br 0 end drop)", "type mismatch: expected i32, found nothing (br)"),
    ("(func call 3)", "unknown function 3"),
    ("(func i32.const 0 call_indirect (type 0))", "unknown table 0"),
    ("(table 1 externref) (func i32.const 0 call_indirect (type 0))", "not a funcref table"),
    ("(func i32.const 0 i32.load drop)", "unknown memory 0 (i32.load)"),
    ("(memory 1) (func i32.const 0 i64.load32_u align=8 drop)", "alignment must not be larger than natural"),
    ("(memory 1) (func i32.const 0 v128.load align=32 drop)", "alignment must not be larger than natural"),
    ("(func memory.size drop)", "unknown memory 0 (memory.size)"),
    ("(func (param v128) (result i32) local.get 0 i32x4.extract_lane 4)", "invalid lane index 4"),
    ("(func (param i32) (result i32) local.get 0 if (result i32) i32.const 1 end)", "if without else"),
    ("(func (param i32) (result i32) local.get 0 if (result i32) i32.const 1 else end)",
     "type mismatch: expected i32, found nothing (end)"),
    ("(func (param i32) (result i32) local.get 0 if (result i32) f32.const 1 else i32.const 1 end)",
     "expected i32, found f32 (else)"),
    ("(func (param i32) block (result i32) loop i32.const 0 local.get 0 br_table 0 1 end end drop)",
     "br_table label 0 has another arity"),
    ("(func (param funcref) (result funcref) local.get 0 local.get 0 i32.const 1 select)",
     "select without a type"),
    ("(func (result i32) i32.const 1 i64.const 1 i32.const 1 select)", "found i32 and i64"),
    ("(func (result i32) i32.const 1 ref.is_null)", "expected a reference, found i32"),
    ("(func $f) (func ref.func $f drop)", "undeclared function reference"),
    ("(func data.drop 1) (data \"\")", "unknown data segment 1"),
    ("(func elem.drop 1) (elem func)", "unknown elem segment 1"),
    ("(table 1 externref) (elem func) (func i32.const 0 i32.const 0 i32.const 0 table.init 0 0)",
     "element type funcref does not match externref"),
    ("(table 1 externref) (table 1 funcref) (func i32.const 0 i32.const 0 i32.const 0 table.copy 0 1)",
     "element type funcref does not match externref"),
    ("(table 1 externref) (func i32.const 0 ref.null func table.set 0)", "expected externref, found funcref"),
    ("(func (result i32 i64) i64.const 1 i32.const 2)", "expected i64, found i32 (end)"),
    ("(func (result i64) i32.const 0 return)", "expected i64, found i32 (return)"),
    ("(type $t (func (param i64))) (func i32.const 1 block (type $t) drop end)",
     "expected i64, found i32 (block)"),
]


@pytest.mark.parametrize("wat,message", INVALID, ids=[m for _, m in INVALID])
def test_invalid(wat, message):
    invalid_wat(f"(module {wat})", message)


def test_invalid_agrees_with_wasmtime():
    engine = wasmtime.Engine()
    for wat, _ in INVALID:
        with pytest.raises(wasmtime.WasmtimeError):
            wasmtime.Module.validate(engine, wasmtime.wat2wasm(f"(module {wat})"))


def test_error_offset_and_function_index():
    wat = """(module (import "m" "a" (func)) (import "m" "b" (func))
        (func) (func (result i32) f64.const 1 i32.const 2 i32.add))"""
    error = invalid_wat(wat, "(i32.add)")
    desc = decode_module(wasmtime.wat2wasm(wat))
    body = desc.funcs[1]
    assert error.func_index == 3                 # two imports, then function 0 of the module
    assert error.offset == body.body_start + 9 + 2   # after f64.const (9 bytes), i32.const 2
    assert desc.data[error.offset] == 0x6A
    assert "func 3" in str(error) and f"{error.offset:#x}" in str(error)


def test_prefixed_instruction_offset():
    wat = "(module (func (param v128) (result i32) local.get 0 local.get 0 i32x4.add))"
    error = invalid_wat(wat, "type mismatch: expected i32, found v128 (end)")
    desc = decode_module(wasmtime.wat2wasm(wat))
    assert error.offset == desc.funcs[0].body_end - 1


# --- malformed bodies ---------------------------------------------------------------------------

def test_illegal_opcodes():
    malformed_raw(b"\x06\x0b", "illegal opcode 0x06")
    malformed_raw(b"\xfc\x12\x0b", "illegal opcode 0xfc 18")
    malformed_raw(b"\xfd\x9a\x01\x0b", "illegal opcode 0xfd 154")
    malformed_raw(b"\xff\x0b", "illegal opcode 0xff")


def test_reserved_zero_bytes():
    malformed_raw(b"\x3f\x01\x1a\x0b", "zero byte expected")
    malformed_raw(b"\x3f\x80\x00\x1a\x0b", "zero byte expected")   # a long LEB128 zero is not 0x00
    malformed_raw(b"\x41\x00\x40\x01\x1a\x0b", "zero byte expected")
    malformed_raw(b"\x41\x00" * 3 + b"\xfc\x0a\x00\x01\x0b", "zero byte expected")
    malformed_raw(b"\x41\x00" * 3 + b"\xfc\x08\x00\x01\x0b", "zero byte expected", data_count=1)


def test_body_end():
    malformed_raw(b"\x41\x01\x1a", "END opcode expected")
    malformed_raw(b"\x02\x40\x0b", "END opcode expected")          # the block's end only
    malformed_raw(b"\x0b\x01", "section size mismatch")             # bytes after the final end
    malformed_raw(b"\x41", "unexpected end")
    malformed_raw(b"\x44\x00\x00\x0b", "unexpected end")            # f64.const needs 8 bytes


def test_leb_errors():
    malformed_raw(b"\x41\x80\x80\x80\x80\x80\x00\x1a\x0b", "integer representation too long")
    malformed_raw(b"\x41\xff\xff\xff\xff\x4f\x1a\x0b", "integer too large")
    malformed_raw(b"\x20\xff\xff\xff\xff\x1f\x1a\x0b", "integer too large")


def test_data_count_required():
    body = b"\x41\x00" * 3 + b"\xfc\x08\x00\x00\x0b"
    malformed_raw(body, "data count section required")
    malformed_raw(b"\xfc\x09\x00\x0b", "data count section required")
    check_raw(body, data_count=1)
    with pytest.raises(ValidationError, match="unknown data segment 1"):
        check_raw(b"\xfc\x09\x01\x0b", data_count=1)


def test_malformed_types():
    malformed_raw(b"\xd0\x7f\x1a\x0b", "malformed reference type")
    malformed_raw(b"\x1c\x01\x05\x0b", "malformed value type")
    malformed_raw(b"\x02\x7a\x0b\x0b", "malformed block type")
    malformed_raw(b"\x05\x0b", "else without a matching if")


def test_select_arity():
    for body in (b"\x41\x00" * 3 + b"\x1c\x00\x0b", b"\x41\x00" * 3 + b"\x1c\x02\x7f\x7f\x0b"):
        with pytest.raises(ValidationError, match="invalid result arity"):
            check_raw(body)


def test_malformed_wins_over_invalid():
    # function 0 is invalid (i32.add on nothing), function 1 is malformed: as in the spec,
    # where decoding the whole module comes first, the malformed one is reported
    data = b"\x00asm\x01\x00\x00\x00" + b"\x6a\x0b" + b"\x06\x0b"
    desc = ModuleDesc(data=data, types=(FuncType((), ()),),
                      funcs=(FuncDesc(0, 0, (), 0, 8, 10), FuncDesc(1, 0, (), 0, 10, 12)))
    with pytest.raises(CompileError) as info:
        _ext.validate_functions(desc, frozenset())
    assert not isinstance(info.value, ValidationError)
    assert "illegal opcode" in str(info.value) and info.value.offset == 10
    # with function 1 well formed, function 0's validation error stands
    data = data[:10] + b"\x01\x0b"
    desc = ModuleDesc(data=data, types=desc.types, funcs=desc.funcs)
    with pytest.raises(ValidationError, match="func 0"):
        _ext.validate_functions(desc, frozenset())


# --- raw-built modules --------------------------------------------------------------------------

def test_huge_local_count_uses_runs():
    # 3 billion locals cost no memory: beyond the expanded prefix, types come from the runs
    runs = ((1000, I32), (3_000_000_000, I64), (5, F64))
    last = 1 + 1000 + 3_000_000_000 + 5 - 1          # the parameter comes first

    def get(index, then=b"\x1a"):
        return b"\x20" + uleb(index) + then + b"\x0b"
    check_raw(get(0, b"\x45\x1a"), locals=runs, params=(I32,))         # the i32 parameter
    check_raw(get(1000, b"\x45\x1a"), locals=runs, params=(I32,))      # the last i32 local
    check_raw(get(1001, b"\x50\x1a"), locals=runs, params=(I32,))      # the first i64 one
    check_raw(get(2_950_001_153, b"\x50\x1a"), locals=runs, params=(I32,))
    check_raw(get(last, b"\x9a\x1a"), locals=runs, params=(I32,))      # f64.neg on the last
    with pytest.raises(ValidationError, match=f"unknown local {last + 1}"):
        check_raw(get(last + 1), locals=runs, params=(I32,))
    with pytest.raises(ValidationError, match="expected i32, found f64"):
        check_raw(get(last - 4, b"\x45\x1a"), locals=runs, params=(I32,))


def test_globals_tables_elems_from_desc():
    from wasabi.module.desc import GlobalDesc, ConstExpr
    g = GlobalDesc(GlobalType(I64, True), ConstExpr(((0x42, 0),)))
    check_raw(b"\x23\x00\x42\x01\x7c\x24\x00\x0b", globals=(g,))
    tables = (TableType(FUNCREF, Limits(1)), TableType(EXTERNREF, Limits(1)))
    elems = (ElemDesc("passive", EXTERNREF, ()),)
    check_raw(b"\x41\x00" * 3 + b"\xfc\x0c\x00\x01\x0b", tables=tables, elems=elems)
    with pytest.raises(ValidationError, match="element type externref does not match funcref"):
        check_raw(b"\x41\x00" * 3 + b"\xfc\x0c\x00\x00\x0b", tables=tables, elems=elems)


def test_ref_func_needs_refs():
    check_raw(b"\xd2\x00\x1a\x0b", refs=frozenset({0}))
    with pytest.raises(ValidationError, match="undeclared function reference"):
        check_raw(b"\xd2\x00\x1a\x0b")
    with pytest.raises(ValidationError, match="unknown function 1"):
        check_raw(b"\xd2\x01\x1a\x0b", refs=frozenset({1}))


def test_block_type_index():
    extra = (FuncType((I32,), (I64, I64)),)
    check_raw(b"\x41\x00\x02\x01\x1a\x42\x00\x42\x00\x0b\x1a\x1a\x0b", types=extra)
    with pytest.raises(ValidationError, match="unknown type 2"):
        check_raw(b"\x02\x02\x0b\x0b", types=extra)


def test_body_out_of_bounds_is_an_error_not_a_crash():
    desc = ModuleDesc(data=b"\x00asm\x01\x00\x00\x00\x0b", types=(FuncType((), ()),),
                      funcs=(FuncDesc(0, 0, (), 0, 8, 20),))
    with pytest.raises(CompileError, match="out of bounds"):
        _ext.validate_functions(desc, frozenset())


# --- the validator's instruction set is the opcode table's ----------------------------------------

def _accepts(encoding):
    """Whether the validator knows the instruction `encoding` (any other error is fine)."""
    body = encoding + b"\x00" * 20 + b"\x0b"
    try:
        check_raw(body, data_count=1, tables=(TableType(FUNCREF, Limits(1)),),
                  elems=(ElemDesc("passive", FUNCREF, ()),), refs=frozenset({0}))
    except CompileError as e:
        return "illegal opcode" not in str(e)
    return True


def test_accepted_opcodes_equal_the_table():
    accepted = set()
    for code in range(256):
        if code not in (0xFC, 0xFD) and _accepts(bytes([code])):
            accepted.add((None, code))
    for prefix, limit in ((0xFC, 64), (0xFD, 300)):
        for code in range(limit):
            if _accepts(bytes([prefix]) + uleb(code)):
                accepted.add((prefix, code))
    assert accepted == set(opcodes.BY_KEY)


def test_sub_opcode_leb():
    check_raw(b"\x20\x00\xfc\x80\x00\x1a\x0b", params=(0x7D,))   # padded LEB128 sub-opcode 0
    malformed_raw(b"\xfd\x80\x80\x80\x80\x10\x0b", "integer too large")
    malformed_raw(b"\xfd", "unexpected end")


def test_operand_stack_limit_is_a_clean_error():
    # 140,000 calls to a function with 1000 results would need 140 million stack slots
    many = FuncType((), (I32,) * 1000)
    body = b"\x10\x00" * 140_000 + b"\x0b"
    data = b"\x00asm\x01\x00\x00\x00" + body
    desc = ModuleDesc(data=data, types=(many,), funcs=(FuncDesc(0, 0, (), 0, 8, len(data)),))
    with pytest.raises(CompileError, match="operand stack"):
        _ext.validate_functions(desc, frozenset())


def test_error_in_a_later_batch():
    # bodies are checked in batches: the failing function's index and offset must survive
    n = 700
    bodies = [b"\x41\x00\x1a\x0b"] * n
    bodies[517] = b"\x41\x00\x42\x00\x6a\x1a\x0b"        # i32.add on an i64
    data = bytearray(b"\x00asm\x01\x00\x00\x00")
    funcs = []
    for i, body in enumerate(bodies):
        funcs.append(FuncDesc(i + 2, 0, ((1, I32),), 1, len(data), len(data) + len(body)))
        data += body
    desc = ModuleDesc(data=bytes(data), types=(FuncType((), ()),), funcs=tuple(funcs))
    with pytest.raises(ValidationError, match="expected i32, found i64") as info:
        _ext.validate_functions(desc, frozenset())
    assert info.value.func_index == 519
    assert info.value.offset == funcs[517].body_start + 4


def test_later_body_out_of_bounds_after_an_invalid_one():
    # function 0 is invalid; function 1's range is past the data: an error, not a read
    data = b"\x00asm\x01\x00\x00\x00" + b"\x6a\x0b"
    desc = ModuleDesc(data=data, types=(FuncType((), ()),),
                      funcs=(FuncDesc(0, 0, (), 0, 8, 10), FuncDesc(1, 0, (), 0, 10, 1 << 40)))
    with pytest.raises(CompileError, match="out of bounds"):
        _ext.validate_functions(desc, frozenset())
