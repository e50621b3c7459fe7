"""The binary decoder (wasabi/_cy/decoder.pxi): LEB128, every section, element and data
encodings, the name section, and the errors with their offsets."""
import pytest
import wasmtime

from wasabi import _ext
from wasabi.binary.leb128 import sleb, uleb
from wasabi.binary.reader import decode_module
from wasabi.binary.types import (EXTERNREF, F32, F64, FUNCREF, I32, I64, V128, EXTERN_FUNC,
                                 EXTERN_GLOBAL, EXTERN_MEMORY, EXTERN_TABLE, FuncType,
                                 GlobalType, Limits, MemoryType, TableType)
from wasabi.errors import CompileError

HEADER = b"\x00asm\x01\x00\x00\x00"


# --- a small binary writer for hand-made modules --------------------------------------

def vec(items):
    return uleb(len(items)) + b"".join(items)


def name(s):
    raw = s.encode() if isinstance(s, str) else s
    return uleb(len(raw)) + raw


def section(sid, payload):
    return bytes([sid]) + uleb(len(payload)) + payload


def module(*sections):
    return HEADER + b"".join(sections)


def i32_const(v):
    return b"\x41" + sleb(v) + b"\x0b"


TYPE_VOID = section(1, vec([b"\x60\x00\x00"]))
ONE_FUNC = section(3, vec([b"\x00"]))
ONE_BODY = section(10, vec([b"\x02\x00\x0b"]))
TABLE = section(4, vec([b"\x70\x00\x01"]))


def malformed(data, message):
    with pytest.raises(CompileError) as info:
        decode_module(data)
    assert info.value.message.startswith(message), info.value.message
    return info.value


# --- LEB128 ---------------------------------------------------------------------------

@pytest.mark.parametrize("data,kind,value,length", [
    (b"\x00", "u32", 0, 1),
    (b"\x80\x00", "u32", 0, 2),                       # non-minimal encodings are allowed
    (b"\xff\xff\xff\xff\x0f", "u32", 0xFFFFFFFF, 5),
    (b"\x82\x80\x80\x80\x00", "u32", 2, 5),
    (b"\x7f", "s32", -1, 1),
    (b"\xff\x7f", "s32", -1, 2),
    (b"\x80\x80\x80\x80\x78", "s32", -2**31, 5),
    (b"\xff\xff\xff\xff\x07", "s32", 2**31 - 1, 5),
    (b"\x40", "s33", -64, 1),
    (b"\xff\xff\xff\xff\x0f", "s33", 2**32 - 1, 5),
    (b"\x80\x80\x80\x80\x70", "s33", -2**32, 5),
    (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", "s64", -2**63, 10),
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x00", "s64", 2**63 - 1, 10),
])
def test_leb_values(data, kind, value, length):
    assert _ext._leb_test_read(data, kind) == (value, length)


@pytest.mark.parametrize("data,kind,message", [
    (b"", "u32", "unexpected end"),
    (b"\x80\x80", "u32", "unexpected end"),
    (b"\x80\x80\x80\x80\x80\x00", "u32", "integer representation too long"),
    (b"\x82\x80\x80\x80\x10", "u32", "integer too large"),
    (b"\x82\x80\x80\x80\x40", "u32", "integer too large"),
    (b"\x80\x80\x80\x80\x80\x00", "s32", "integer representation too long"),
    (b"\x80\x80\x80\x80\x70", "s32", "integer too large"),     # unused bits set, sign 0
    (b"\xff\xff\xff\xff\x0f", "s32", "integer too large"),     # unused bits clear, sign 1
    (b"\x80\x80\x80\x80\x20", "s33", "integer too large"),
    (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7e", "s64", "integer too large"),
    (b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", "s64", "integer too large"),
    (b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", "s64", "integer representation too long"),
])
def test_leb_errors(data, kind, message):
    with pytest.raises(ValueError, match=message):
        _ext._leb_test_read(data, kind)


# --- header and section framing -------------------------------------------------------

@pytest.mark.parametrize("data,message,offset", [
    (b"", "unexpected end", 0),
    (b"\x00as", "unexpected end", 3),
    (b"asm\x00\x01\x00\x00\x00", "magic header not detected", 0),
    (b"\x00asm\x01\x00", "unexpected end", 6),
    (b"\x00asm\x02\x00\x00\x00", "unknown binary version", 4),
])
def test_header_errors(data, message, offset):
    assert malformed(data, message).offset == offset


def test_empty_module():
    desc = decode_module(HEADER)
    assert desc.types == () and desc.funcs == () and desc.start is None
    assert desc.data_count is None and desc.names.module is None


def test_section_framing_errors():
    assert malformed(HEADER + b"\x0d\x00", "malformed section id").offset == 8
    # declared size larger than the rest of the module
    assert malformed(HEADER + b"\x01\x07\x02\x60\x00\x00",
                     "length out of bounds").offset == 9
    # content shorter or longer than declared
    malformed(HEADER + b"\x01\x07\x01\x60\x00\x00\x60\x00\x00", "section size mismatch")
    malformed(module(TYPE_VOID, TYPE_VOID), "unexpected content after last section")
    malformed(module(ONE_FUNC, TYPE_VOID), "unexpected content after last section")
    # datacount (12) goes before code (10)
    malformed(module(TYPE_VOID, ONE_FUNC, ONE_BODY, section(12, uleb(0))),
              "unexpected content after last section")


def test_section_order_allows_datacount_and_customs_anywhere():
    custom = section(0, name("x") + b"payload")
    data = module(custom, TYPE_VOID, custom, ONE_FUNC, section(12, uleb(0)), custom,
                  ONE_BODY, custom)
    desc = decode_module(data)
    assert desc.data_count == 0
    assert [c.name for c in desc.customs] == ["x"] * 4
    assert desc.custom_sections("x") == [b"payload"] * 4


def test_read_past_a_section_is_a_size_mismatch():
    # an import that claims more bytes than its section holds eats the next section
    imp = section(2, vec([name("m") + name("f") + b"\x00\x00"]))
    short = imp[:1] + bytes([imp[1] - 1]) + imp[2:]
    malformed(module(TYPE_VOID, short), "section size mismatch")


# --- each section ---------------------------------------------------------------------

def test_type_section():
    desc = decode_module(module(section(1, vec([
        b"\x60" + vec([b"\x7f", b"\x7e"]) + vec([b"\x7d"]),
        b"\x60" + vec([b"\x7b", b"\x70", b"\x6f"]) + vec([b"\x7c", b"\x7f"]),
    ]))))
    assert desc.types == (FuncType((I32, I64), (F32,)),
                          FuncType((V128, FUNCREF, EXTERNREF), (F64, I32)))


def test_type_section_errors():
    malformed(module(section(1, vec([b"\x61\x00\x00"]))), "malformed function type")
    malformed(module(section(1, b"\x01\xe0\x7f\x00\x00")), "integer representation too long")
    malformed(module(section(1, vec([b"\x60\x01\x40\x00"]))), "malformed value type")


def test_imports_of_each_kind():
    imports = vec([
        name("m") + name("f") + b"\x00" + uleb(0),
        name("m") + name("t") + b"\x01\x6f\x01" + uleb(1) + uleb(10),
        name("m") + name("mem") + b"\x02\x00" + uleb(2),
        name("m") + name("g") + b"\x03\x7e\x01",
    ])
    desc = decode_module(module(TYPE_VOID, section(2, imports)))
    kinds = [(i.module, i.name, i.kind, i.type) for i in desc.imports]
    assert kinds == [
        ("m", "f", EXTERN_FUNC, 0),
        ("m", "t", EXTERN_TABLE, TableType(EXTERNREF, Limits(1, 10))),
        ("m", "mem", EXTERN_MEMORY, MemoryType(Limits(2, None))),
        ("m", "g", EXTERN_GLOBAL, GlobalType(I64, True)),
    ]
    assert desc.num_imported_funcs == 1 and desc.num_imported_globals == 1


@pytest.mark.parametrize("entry,message", [
    (b"\x04", "malformed import kind"),
    (b"\x80", "malformed import kind"),
    (b"\x03\x7f\x02", "malformed mutability"),
    (b"\x01\x7f\x00\x00", "malformed reference type"),
    (b"\x02\x02\x00", "integer too large"),                   # limits flag: 1 bit
    (b"\x02\x81\x00\x00", "integer representation too long"),
    (b"\x02\x03\x00\x00", "integer too large"),               # shared memory: not Wasm 2.0
])
def test_import_errors(entry, message):
    malformed(module(section(2, vec([name("m") + name("f") + entry]))), message)


def test_utf8_names():
    desc = decode_module(module(section(2, vec([name("\u2323 m") + name("\x00f")
                                                 + b"\x03\x7f\x00"]))))
    assert desc.imports[0].module == "\u2323 m" and desc.imports[0].name == "\x00f"
    for bad in (b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xff"):
        malformed(module(section(2, vec([name(bad) + name("f") + b"\x03\x7f\x00"]))),
                  "malformed UTF-8 encoding")
        malformed(module(section(0, name(bad))), "malformed UTF-8 encoding")


def test_tables_memories_globals_exports_start():
    wasm = wasmtime.wat2wasm("""(module
      (table 2 funcref) (table 0 5 externref)
      (memory 1 3)
      (global $a i32 (i32.const -7)) (global (mut i64) (i64.const 1234567890123))
      (global f32 (f32.const 1.5)) (global f64 (f64.const -2)) (global v128 (v128.const i64x2 1 2))
      (global funcref (ref.null func)) (global funcref (ref.func $f))
      (func $f) (start $f)
      (export "f" (func $f)) (export "m" (memory 0)) (export "g" (global $a)) (export "t" (table 1)))""")
    desc = decode_module(wasm)
    assert desc.tables == (TableType(FUNCREF, Limits(2, None)), TableType(EXTERNREF, Limits(0, 5)))
    assert desc.memories == (MemoryType(Limits(1, 3)),)
    inits = [g.init.instrs for g in desc.globals]
    assert inits == [((0x41, -7),), ((0x42, 1234567890123),), ((0x43, 0x3FC00000),),
                     ((0x44, 0xC000000000000000),), ((0xFD0C, 1 | (2 << 64)),),
                     ((0xD0, FUNCREF),), ((0xD2, 0),)]
    assert [g.type for g in desc.globals[:2]] == [GlobalType(I32, False), GlobalType(I64, True)]
    assert desc.start == 0
    assert [(e.name, e.kind, e.index) for e in desc.exports] == [
        ("f", EXTERN_FUNC, 0), ("m", EXTERN_MEMORY, 0), ("g", EXTERN_GLOBAL, 0),
        ("t", EXTERN_TABLE, 1)]
    malformed(module(section(7, vec([name("x") + b"\x04\x00"]))), "malformed export kind")


def test_code_section_locals_and_body_range():
    body = b"\x20\x00\x1a\x0b"                             # local.get 0, drop, end
    entry_payload = vec([b"\x02\x7f", b"\x01\x7e", b"\x00\x7d"]) + body
    wasm = module(TYPE_VOID, section(3, vec([b"\x00", b"\x00"])),
                  section(10, vec([uleb(len(entry_payload)) + entry_payload, b"\x02\x00\x0b"])))
    desc = decode_module(wasm)
    f0, f1 = desc.funcs
    assert f0.locals == ((2, I32), (1, I64), (0, F32)) and f0.num_locals == 3
    assert wasm[f0.body_start:f0.body_end] == body
    assert f1.locals == () and f1.num_locals == 0 and wasm[f1.body_start:f1.body_end] == b"\x0b"
    assert (f0.index, f1.index) == (0, 1)
    assert wasm[f0.entry_offset] == len(entry_payload)


def test_function_indices_count_imports():
    wasm = module(TYPE_VOID, section(2, vec([name("m") + name("f") + b"\x00\x00"])),
                  ONE_FUNC, ONE_BODY)
    assert decode_module(wasm).funcs[0].index == 1


def test_code_section_errors():
    malformed(module(TYPE_VOID, section(3, vec([b"\x00", b"\x00"]))),
              "function and code section have inconsistent lengths")
    malformed(module(section(10, vec([b"\x02\x00\x0b"]))),
              "function and code section have inconsistent lengths")
    many = b"\x0a\x02\xff\xff\xff\xff\x0f\x7f\x02\x7e\x0b"
    err = malformed(module(TYPE_VOID, ONE_FUNC, section(10, vec([many]))), "too many locals")
    assert err.offset == len(module(TYPE_VOID, ONE_FUNC)) + 3
    malformed(module(TYPE_VOID, ONE_FUNC, section(10, vec([b"\x02\x01\x7f"]))),
              "unexpected end")                           # no room left for a body
    malformed(module(TYPE_VOID, ONE_FUNC, section(10, vec([b"\x03\x01\x01\x7f"]))),
              "unexpected end")                           # the locals overrun the entry
    two = section(3, vec([b"\x00", b"\x00"]))
    malformed(module(TYPE_VOID, two, section(10, vec([b"\x02\x00\x01", b"\x02\x00\x0b"]))),
              "END opcode expected")


def test_zero_functions_without_code_section():
    decode_module(module(section(3, vec([]))))
    decode_module(module(section(10, vec([]))))


# --- element segments: the 8 encodings ------------------------------------------------

REF_NULL_EXPR = b"\xd0\x70\x0b"
REF_FUNC1_EXPR = b"\xd2\x01\x0b"


@pytest.mark.parametrize("payload,mode,elem_type,table,items", [
    (b"\x00" + i32_const(3) + vec([b"\x00", b"\x01"]), "active", FUNCREF, 0, [0, 1]),
    (b"\x01\x00" + vec([b"\x01"]), "passive", FUNCREF, None, [1]),
    (b"\x02\x01" + i32_const(3) + b"\x00" + vec([b"\x00"]), "active", FUNCREF, 1, [0]),
    (b"\x03\x00" + vec([b"\x01", b"\x00"]), "declarative", FUNCREF, None, [1, 0]),
    (b"\x04" + i32_const(3) + vec([REF_FUNC1_EXPR, REF_NULL_EXPR]), "active", FUNCREF, 0,
     [1, "null"]),
    (b"\x05\x6f" + vec([b"\xd0\x6f\x0b"]), "passive", EXTERNREF, None, ["null"]),
    (b"\x06\x01" + i32_const(3) + b"\x70" + vec([REF_FUNC1_EXPR]), "active", FUNCREF, 1, [1]),
    (b"\x07\x70" + vec([REF_NULL_EXPR]), "declarative", FUNCREF, None, ["null"]),
])
def test_element_encodings(payload, mode, elem_type, table, items):
    wasm = module(TYPE_VOID, section(3, vec([b"\x00", b"\x00"])),
                  section(4, vec([b"\x70\x00\x05", b"\x70\x00\x05"])),
                  section(9, vec([payload])),
                  section(10, vec([b"\x02\x00\x0b", b"\x02\x00\x0b"])))
    (seg,) = decode_module(wasm).elems
    assert (seg.mode, seg.elem_type) == (mode, elem_type)
    if table is None:
        assert seg.offset is None
    else:
        assert seg.table_index == table and seg.offset.instrs == ((0x41, 3),)
    got = [imm if op == 0xD2 else "null" for ((op, imm),) in (e.instrs for e in seg.init)]
    assert got == items


def test_element_errors():
    malformed(module(section(9, vec([b"\x08"]))), "malformed elements segment kind")
    malformed(module(section(9, vec([b"\x01\x01" + vec([])]))), "malformed element kind")
    malformed(module(section(9, vec([b"\x05\x7f" + vec([])]))), "malformed reference type")
    malformed(module(section(9, vec([b"\x05\x70" + vec([b"\xf3\x00\x0b"])]))), "illegal opcode")
    # a non-minimal flags field is still a u32
    (seg,) = decode_module(module(TABLE, section(9, vec([b"\x80\x00" + i32_const(0)
                                                         + vec([])])))).elems
    assert seg.mode == "active"


def test_non_constant_instructions_are_decoded():
    # (global i32 (i32.ctz (i32.const 0))), a call, a block and a memory.size in an item
    wasm = module(section(6, vec([b"\x7f\x00\x41\x00\x68\x0b"])),
                  section(9, vec([b"\x05\x70" + vec([b"\x10\x00\x0b", b"\x02\x40\x0b\x0b",
                                                     b"\x3f\x00\x0b"])])))
    desc = decode_module(wasm)
    assert desc.globals[0].init.instrs == ((0x41, 0), (0x68, None))
    assert [e.instrs for e in desc.elems[0].init] == [
        ((0x10, None),), ((0x02, None), (0x0B, None)), ((0x3F, None),)]
    malformed(module(section(6, vec([b"\x7f\x00\x3f\x01\x0b"]))), "zero byte expected")


SAMPLE_IMMEDIATES = {
    "none": b"", "blocktype": b"\x40", "label": b"\x00", "br_table": b"\x02\x00\x01\x00",
    "func": b"\x81\x00", "call_indirect": b"\x00\x00", "local": b"\x00", "global": b"\x00",
    "table": b"\x00", "two_tables": b"\x00\x00", "elem_and_table": b"\x00\x00",
    "elem": b"\x00", "data": b"\x00", "data_and_zero": b"\x00\x00", "zero_byte": b"\x00",
    "two_zero_bytes": b"\x00\x00", "memarg": b"\x02\x80\x01", "memarg_lane": b"\x00\x00\x01",
    "lane": b"\x01", "i32": b"\x7f", "i64": b"\x80\x7f", "f32": bytes(4), "f64": bytes(8),
    "v128": bytes(16), "shuffle": bytes(16), "reftype": b"\x70", "select_types": b"\x01\x7f",
}


def test_sample_immediates_cover_every_kind():
    from wasabi.binary import opcodes
    assert set(SAMPLE_IMMEDIATES) == set(opcodes.IMMEDIATE_KINDS)


def test_every_instruction_decodes_inside_a_constant_expression():
    # each instruction of the opcode table, with immediates, as a global initialiser: the
    # expression must end at its own `end` and leave the next global intact
    from wasabi.binary import opcodes
    for op in opcodes.OPCODES:
        if op.prefix is None and op.code == 0x0B:
            continue
        closing = b"\x0b" if op.imm == "blocktype" else b""
        expr = op.encode() + SAMPLE_IMMEDIATES[op.imm] + closing + b"\x0b"
        wasm = module(section(6, vec([b"\x7f\x00" + expr, b"\x7f\x00" + i32_const(5)])))
        first, second = decode_module(wasm).globals
        key = op.code if op.prefix is None else (op.prefix << 8) + op.code
        assert first.init.instrs[0][0] == key, op.name
        assert second.init.instrs == ((0x41, 5),), op.name
    malformed(module(section(6, vec([b"\x7f\x00\xfc\x12\x0b"]))), "illegal opcode")
    malformed(module(section(6, vec([b"\x7f\x00\xfd\x80\x02\x0b"]))), "illegal opcode")


# --- data segments --------------------------------------------------------------------

def test_data_segments_and_count():
    mem = section(5, vec([b"\x00\x01"]))
    wasm = module(mem, section(12, uleb(3)), section(11, vec([
        b"\x00" + i32_const(8) + name(b"abc"),
        b"\x01" + name(b"\x00\xff"),
        b"\x82\x00\x00" + i32_const(1) + name(b""),      # flags 2, non-minimal
    ])))
    desc = decode_module(wasm)
    assert desc.data_count == 3
    d0, d1, d2 = desc.datas
    assert (d0.mode, d0.data, d0.memory_index, d0.offset.instrs) == ("active", b"abc", 0,
                                                                     ((0x41, 8),))
    assert (d1.mode, d1.data, d1.offset) == ("passive", b"\x00\xff", None)
    assert (d2.mode, d2.data) == ("active", b"")
    malformed(module(mem, section(12, uleb(2)), section(11, vec([b"\x01\x00"]))),
              "data count and data section have inconsistent lengths")
    malformed(module(mem, section(12, uleb(1))),
              "data count and data section have inconsistent lengths")
    malformed(module(mem, section(11, vec([b"\x03"]))), "malformed data segment kind")
    # a byte string longer than what is left
    malformed(module(mem, section(11, b"\x01\x01\x07abcdef")), "unexpected end")


# --- custom and name sections ---------------------------------------------------------

def test_name_section():
    wasm = wasmtime.wat2wasm("""(module $mod
      (func $first (param $x i32) (local $y i64))
      (func (param i32))
      (func $third))""")
    names = decode_module(wasm).names
    assert names.module == "mod"
    assert names.funcs == {0: "first", 2: "third"}
    assert names.locals[0] == {0: "x", 1: "y"}


def test_malformed_name_section_is_ignored():
    good = section(0, name("name") + b"\x00" + uleb(4) + name("mod"))
    assert decode_module(module(good)).names.module == "mod"
    bad_payloads = [
        b"\x00\x09" + name("mod"),                          # subsection size wrong
        b"\x01\x05" + vec([b"\x01" + name("a"), b"\x00" + name("b")]),  # unsorted
        b"\x01\x02\x01\x00" + b"\x00\x04" + name("mod"),    # out of order
        b"\x00\x04\x03\xff\xfe\xfd",                          # bad UTF-8
        b"\x01",                                              # truncated
    ]
    for payload in bad_payloads:
        desc = decode_module(module(section(0, name("name") + payload)))
        assert desc.names.module is None and desc.names.funcs == {}
        assert desc.custom_sections("name") == [payload]


def test_custom_section_errors():
    malformed(HEADER + b"\x00", "unexpected end")
    malformed(HEADER + b"\x00\x00", "unexpected end")
    # the name runs past the (empty) section
    malformed(HEADER + b"\x00\x00\x00\x05\x01\x00\x07\x00\x00", "unexpected end")
    malformed(HEADER + b"\x00\x26\x10a custom sectionthis is the payload",
              "length out of bounds")
    # lengths are checked from their own first byte (as the reference interpreter does),
    # so a size may claim one byte past the module: it must fail, never read that byte
    malformed(HEADER + b"\x00\x02\x01", "unexpected end")
    malformed(module(TYPE_VOID, ONE_FUNC, section(10, b"\x01\x03\x00\x0b")), "unexpected end")


def test_python_cursor_helpers_check_their_range():
    assert _ext._read_u32_at(b"\x05\x81\x01", 1, 3) == (129, 3)
    with pytest.raises(ValueError):
        _ext._read_u32_at(b"\x01", 0, 5)
    with pytest.raises(CompileError, match="unexpected end"):
        _ext._read_u32_at(b"\x81\x01", 0, 1)


# --- robustness -----------------------------------------------------------------------

def section_boundaries(wasm):
    """Offsets where a section starts (and the end of the module)."""
    out, pos = {8}, 8
    while pos < len(wasm):
        size, pos = _ext._read_u32_at(bytes(wasm), pos + 1, len(wasm))
        pos += size
        out.add(pos)
    return out


def test_every_truncation_and_byte_flip_fails_cleanly():
    wasm = wasmtime.wat2wasm("""(module $m
      (type (func (param i32) (result i32)))
      (import "a" "b" (func (type 0)))
      (table 2 funcref) (memory 1) (global (mut i32) (i32.const 1))
      (func $f (type 0) (local i64) (i32.add (local.get 0) (i32.const 1)))
      (export "f" (func $f)) (elem (i32.const 0) $f) (data (i32.const 0) "hi"))""")
    decode_module(wasm)
    boundaries = section_boundaries(wasm)
    for cut in range(len(wasm)):
        if cut in boundaries:        # a prefix of whole sections may well be a module
            continue
        with pytest.raises(CompileError):
            decode_module(wasm[:cut])
    for pos in range(8, len(wasm)):
        for value in (0x00, 0x80, 0xFF):
            mutated = wasm[:pos] + bytes([value]) + wasm[pos + 1:]
            try:
                decode_module(mutated)
            except CompileError:
                pass


def test_a_module_description_pickles_and_copies():
    """With a name section and without (NameMap's shared empty maps), and its names then
    as decoded."""
    import copy
    import pickle
    import wasabi
    for wat in ('(module (func (export "f")))', '(module $m (func $named (export "f")))'):
        desc = decode_module(wasabi.wat2wasm(wat))
        for again in (pickle.loads(pickle.dumps(desc)), copy.deepcopy(desc)):
            assert again.names == desc.names and again.exports == desc.exports
            assert again.func_type_indices == desc.func_type_indices
    with pytest.raises(TypeError):
        decode_module(wasabi.wat2wasm('(module)')).names.funcs[0] = "x"
