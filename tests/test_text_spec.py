"""The text format against the spec suite (146 core .wast scripts).

- every module form of every script assembles; when WASABI_SPEC_DIR also holds
  wast2json's output (json/, see tests/spec/README.md), ours is byte-identical to the
  .wasm wast2json wrote for it (except the KNOWN_DIFFERENCES below, which must still
  validate the same way);
- every text assert_malformed module is rejected, with the spec's message (prefix)
  except MESSAGE_DIFFERENCES;
- wat2wasm(wasm2wat(b)) gives back an equivalent module for every spec binary that
  is well formed (malformed ones make wasm2wat raise CompileError).
"""
import json

import pytest

import wasabi
from wasabi.binary.types import FuncType
from wasabi.errors import CompileError, ValidationError
from wasabi.text import WatSyntaxError, wasm2wat, wat2wasm
from wasabi.binary.instructions import read_instructions
from wasabi.text.script import script_modules

import spec_harness as sh
from conftest import SPEC_DIR

SCRIPTS = sorted(p.stem for p in (SPEC_DIR / "wast").glob("*.wast"))

# (script, line): why our bytes differ from wast2json's
KNOWN_DIFFERENCES = {
    # `select (result)` is a typed select with no types (0x1C 0x00), which the spec
    # rejects as "invalid result arity", the script's expected message; wabt 1.0.32
    # writes the untyped 0x1B, which fails as "type mismatch" instead
    ("select", 324): "typed select with an empty result list",
}

# (script, line): our message does not start with the script's expected text
MESSAGE_DIFFERENCES = {
    # a lane literal out of range: "constant out of range" (the spec says "wrong number of
    # lane literals")
    ("simd_const", 476),
    # quoted text with one ')' too many after a bad shuffle: our first pass finds the
    # stray ')' before the second pass reaches the lane (spec: "malformed lane index")
    ("simd_lane", 604), ("simd_lane", 608), ("simd_lane", 612), ("simd_lane", 616),
    ("simd_lane", 620),
}


def json_commands(name):
    """wast2json's module commands of the script, or None without its output."""
    path = SPEC_DIR / "json" / name / f"{name}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return [c for c in data["commands"] if "filename" in c]


def outcome(data):
    """'valid', 'invalid' or 'malformed' per wasabi.validate."""
    try:
        wasabi.validate(data)
        return "valid"
    except ValidationError:
        return "invalid"
    except CompileError:
        return "malformed"


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_modules(name):
    modules = script_modules((SPEC_DIR / "wast" / f"{name}.wast").read_text(encoding="utf-8"))
    commands = json_commands(name)
    # wast2json writes one file per module form, in order (comments.wast's line numbers
    # are off by one in wabt, so pairs are matched by position, not line)
    assert commands is None or len(modules) == len(commands)
    for module, command in zip(modules, commands or [None] * len(modules)):
        where = (name, module.line)
        if module.command == "assert_malformed" and module.form == "quote":
            check_malformed(module, where)
            continue
        mine = wat2wasm(module.text, debug_names=False, encoder="wabt")   # as wast2json
        if command is None:
            continue
        theirs = (SPEC_DIR / "json" / name / command["filename"]).read_bytes()
        if mine != theirs:
            assert where in KNOWN_DIFFERENCES, f"{where}: bytes differ from {command['filename']}"
            assert outcome(mine) == outcome(theirs), where


def check_malformed(module, where):
    with pytest.raises(WatSyntaxError) as info:
        wat2wasm(module.text)
    error = info.value
    assert error.line is not None and error.column is not None
    if where not in MESSAGE_DIFFERENCES:
        assert error.message.startswith(module.expected), (where, error.message)


def test_malformed_wat_files_rejected():
    """The 1,077 quoted modules of text assert_malformed (wast2json's .wat files), as bytes."""
    count = 0
    for name in SCRIPTS:
        for command in sh.read_commands(SPEC_DIR, name):
            if command["type"] == "assert_malformed" and command["module_type"] == "text":
                data = command["data"]
                with pytest.raises(CompileError):
                    wat2wasm(data)
                count += 1
    assert count == 1077


# --- round trip -------------------------------------------------------------------------

def _blocktype(imm, types):
    if imm[0] == "empty":
        return FuncType((), ())
    if imm[0] == "value":
        return FuncType((), (imm[1],))
    return types[imm[1]] if imm[1] < len(types) else imm


def module_summary(desc):
    """What must survive a round trip, independent of encoding choices (LEB128 lengths,
    block types as index or value type, local groups, elem/data segment flags)."""
    def body(f):
        return [(op.prefix, op.code, _blocktype(imm, desc.types) if op.imm == "blocktype" else imm)
                for op, imm, _ in read_instructions(desc.data, f.body_start, f.body_end)]

    def expr(e):
        return None if e is None else e.instrs
    return {
        "types": desc.types, "imports": desc.imports,
        "funcs": [(f.type_index, [t for n, t in f.locals for _ in range(n)], body(f))
                  for f in desc.funcs],
        "tables": desc.tables, "memories": desc.memories,
        "globals": [(g.type, expr(g.init)) for g in desc.globals],
        "exports": desc.exports, "start": desc.start,
        "elems": [(e.mode, e.elem_type, [expr(i) for i in e.init], e.table_index, expr(e.offset))
                  for e in desc.elems],
        "datas": [(d.mode, d.data, d.memory_index, expr(d.offset)) for d in desc.datas],
    }


BINARIES = sh.binaries_dir(SPEC_DIR)      # every binary module of the scripts, as wast2json lays them out
SPEC_BINARIES = sorted(BINARIES.glob("json/*/*.wasm"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_round_trip(name):
    for path in sorted((BINARIES / "json" / name).glob("*.wasm")):
        data = path.read_bytes()
        state = outcome(data)
        if state == "malformed":
            with pytest.raises(CompileError):
                wasm2wat(data)
            continue
        text = wasm2wat(data)
        again = wat2wasm(text, debug_names=False)
        assert module_summary(wasabi.decode_module(again)) == \
            module_summary(wasabi.decode_module(data)), path.name
        assert outcome(again) == state, path.name


def test_round_trip_counts():
    """Every well-formed spec binary round-trips; the counts are in the report."""
    counts = {"malformed": 0, "round_trip": 0, "identical": 0}
    for path in SPEC_BINARIES:
        data = path.read_bytes()
        if outcome(data) == "malformed":
            counts["malformed"] += 1
            continue
        again = wat2wasm(wasm2wat(data), debug_names=False)
        counts["round_trip"] += 1
        counts["identical"] += again == data
    assert counts["round_trip"] + counts["malformed"] == len(SPEC_BINARIES)
    assert counts["round_trip"] > 3800
    print(counts)
