"""The spec suite's validation part, one case per core script: wasabi.validate must accept every
module (those of assert_unlinkable / assert_uninstantiable included) and reject every
assert_invalid and binary assert_malformed module with wasabi.CompileError. Any other exception
fails the command. Execution commands are counted as not run; text-format modules as n/a.

The harness itself is checked against the reference engine (wasmtime) on the same scripts.
"""
import pytest

import spec_harness as sh
from conftest import SPEC_DIR
from spec_engines import WasabiValidateEngine, WasmtimeEngine, WasmtimeValidateEngine

SCRIPTS = sh.script_names(SPEC_DIR)


def test_suite_is_complete():
    assert len(SCRIPTS) == 146, f"expected the 146 core scripts under {SPEC_DIR}/wast"


@pytest.mark.parametrize("name", SCRIPTS)
def test_spec_script_validates(name):
    result = sh.run_script(SPEC_DIR, name, WasabiValidateEngine)
    assert not result.failures, result.summary()


# --- the harness, checked on the reference engine ------------------------------------------

def test_harness_validation_matches_wasmtime_on_whole_suite():
    """wasmtime judges every module of every script as the scripts say."""
    results = [sh.run_script(SPEC_DIR, name, WasmtimeValidateEngine) for name in SCRIPTS]
    failures = [str(f) for r in results for f in r.failures]
    assert not failures, "\n".join(failures[:50])
    counts = sh.merge_counts(results)
    # wast2json's numbers for these scripts (tests/spec/README.md): what the harness must find
    assert counts["module"][sh.PASSED] == 1595
    assert counts["assert_invalid"][sh.PASSED] == 2144
    assert counts["assert_malformed"][sh.PASSED] == 736
    assert counts["assert_malformed"][sh.NOT_APPLICABLE] == 1077
    assert counts["assert_return"][sh.NOT_RUN] == 45634


# scripts whose every command the wasmtime-py engine can run exactly (no v128, no f32 sNaN):
# they cover linking, registering, traps at instantiation, exhaustion, references, globals
EXECUTION_SCRIPTS = ["i32", "i64", "br_table", "call_indirect", "linking", "imports", "start",
                     "data", "elem", "exports", "skip-stack-guard-page", "ref_is_null",
                     "ref_func", "table_grow", "memory_grow", "global", "f64", "f32_cmp"]


@pytest.mark.parametrize("name", EXECUTION_SCRIPTS)
def test_harness_execution_on_wasmtime(name):
    result = sh.run_script(SPEC_DIR, name, WasmtimeEngine)
    assert not result.failures, result.summary()
    assert result.total(sh.NOT_RUN) == 0, result.summary()
    assert result.total(sh.PASSED) > 0


# --- values: v128 and NaN patterns, which wasmtime-py cannot carry --------------------------

def test_v128_lanes_pack_lane0_lowest():
    value = sh.parse_arg({"type": "v128", "lane_type": "i16", "value": ["1", "65535"] + ["0"] * 6})
    assert value.bits == 0xFFFF_0001
    value = sh.parse_arg({"type": "v128", "lane_type": "i64", "value": ["2", "18446744073709551615"]})
    assert value.bits == (0xFFFF_FFFF_FFFF_FFFF << 64) | 2


def test_nan_patterns():
    canonical = sh.parse_expected({"type": "f32", "value": "nan:canonical"})
    arithmetic = sh.parse_expected({"type": "f32", "value": "nan:arithmetic"})
    for bits, is_canonical, is_arithmetic in [(0x7FC00000, True, True), (0xFFC00000, True, True),
                                              (0x7FC00001, False, True), (0x7FA00000, False, False),
                                              (0x7F800000, False, False), (0x3F800000, False, False)]:
        assert canonical.matches(sh.WasmValue("f32", bits)) == is_canonical, hex(bits)
        assert arithmetic.matches(sh.WasmValue("f32", bits)) == is_arithmetic, hex(bits)
    assert not canonical.matches(sh.WasmValue("f64", 0x7FC00000))
    f64 = sh.parse_expected({"type": "f64", "value": "nan:canonical"})
    assert f64.matches(sh.WasmValue("f64", 0xFFF8000000000000))
    assert not f64.matches(sh.WasmValue("f64", 0x7FF8000000000001))


def test_v128_lanes_with_nan_patterns():
    expected = sh.parse_expected({"type": "v128", "lane_type": "f32",
                                  "value": ["nan:canonical", "1065353216", "nan:arithmetic", "0"]})
    good = 0x7FC00000 | (0x3F800000 << 32) | (0x7FC00005 << 64)
    assert expected.matches(sh.WasmValue("v128", good))
    lane0_not_canonical = (good & ~0xFFFF_FFFF) | 0x7FC00001
    assert not expected.matches(sh.WasmValue("v128", lane0_not_canonical))
    assert not expected.matches(sh.WasmValue("v128", good | (1 << 96)))  # lane 3 must be 0
    exact = sh.parse_expected({"type": "v128", "lane_type": "i8", "value": ["255"] + ["0"] * 15})
    assert exact.matches(sh.WasmValue("v128", 0xFF)) and not exact.matches(sh.WasmValue("i32", 0xFF))


def test_references():
    null = sh.parse_expected({"type": "externref", "value": "null"})
    host = sh.parse_expected({"type": "externref", "value": "7"})
    assert null.matches(sh.WasmValue("externref", None)) and not null.matches(sh.WasmValue("externref", 0))
    assert host.matches(sh.WasmValue("externref", 7)) and not host.matches(sh.WasmValue("funcref", 7))
    any_func = sh.parse_expected({"type": "funcref"})
    assert any_func.matches(sh.WasmValue("funcref", 0)) and not any_func.matches(sh.WasmValue("funcref", None))
