"""What makes T0 compile fast (issue 15): the shape of its IR and what it skips.

bench/test_compile.py measures the speed; these check that the shortcuts stay in place
and stay correct.
"""
import re

import pytest

import wasabi
from wasabi.compiler import jit
from wasabi.compiler.builder import BatchBuilder
from wasabi.compiler.module_ir import translate_module
from wasabi.compiler.translator import STACK_CHECK_FUNCTION
from wasabi.errors import CompileError
from wasabi.options import CodeOptions, Options
from wasabi.text import wat2wasm

WAT = """
(module
  (memory 1)
  (func $leaf (param i32) (result i32) (i32.load offset=16 (local.get 0)))
  (func $twice (param i32) (result i32)
    (i32.add (call $leaf (local.get 0)) (call $leaf (local.get 0))))
  (func $other (result i32) (i32.const 7))
  (func (export "deep") (param i32) (result i32)
    (if (result i32) (i32.eqz (i32.lt_u (local.get 0) (i32.const 1000000000)))
      (then (local.get 0))
      (else (i32.add (call 3 (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))))
  (func (export "run") (param i32) (result i32)
    (i32.store offset=16 (local.get 0) (i32.const 21))
    (call $twice (local.get 0))))
"""


def _desc():
    return wasabi.parse(wat2wasm(WAT))


def _body(text, symbol):
    return re.search(rf"^define [^\n]*@{re.escape(symbol)}\(.*?^}}", text, re.M | re.S).group(0)


def test_t0_function_entries_call_the_one_stack_check_of_their_module():
    desc = _desc()
    text = translate_module(desc, CodeOptions(tier="T0")).text
    assert text.count(f"define internal void @{STACK_CHECK_FUNCTION}(") == 1
    for func in desc.funcs:
        body = _body(text, f"wasm_f{func.index}")
        assert f"call void @{STACK_CHECK_FUNCTION}(ptr %vmctx)" in body
        assert "read_register" not in body and " asm " not in body
    # the optimising tiers keep the check inline (LLVM schedules it with the body)
    inline = translate_module(desc, CodeOptions(tier="T1")).text
    assert STACK_CHECK_FUNCTION not in inline


@pytest.mark.parametrize("tier", ["T0", "T1"])
def test_code_with_the_stack_check_runs_and_traps_when_the_stack_is_exhausted(tier):
    instance = wasabi.Instance(wasabi.compile(WAT, Options(tier=tier)))
    assert instance.exports.run(64) == 42
    assert instance.exports.deep(10 ** 9 - 5) == 10 ** 9 + 5
    with pytest.raises(wasabi.Trap, match="call stack exhausted"):
        instance.exports.deep(0)
    assert instance.exports.run(128) == 42          # usable after the trap


def test_a_part_declares_only_the_functions_it_calls():
    desc = _desc()
    first = desc.num_imported_funcs
    twice = first + 1
    text = translate_module(desc, CodeOptions(tier="T0"), [twice]).text
    declared = set(re.findall(r"^declare [^@]*@(wasm_f\d+)\(", text, re.M))
    assert declared == {f"wasm_f{first}"}           # $leaf; not $other nor the exports


def test_values_are_numbered_in_the_order_they_are_defined():
    """LLVM takes numbered values (%12) only in increasing order: a loop with
    parameters (phis placed at its header) and an if without else keep it."""
    wat = """(module (func (export "f") (param i32) (result i32)
      local.get 0
      loop (param i32) (result i32)
        i32.const 1
        i32.add
        local.tee 0
        local.get 0
        i32.const 10
        i32.lt_u
        if
          local.get 0
          i32.const 5
          i32.add
          local.set 0
        end
        drop
        local.get 0
        local.get 0
        i32.const 100
        i32.lt_u
        br_if 0
      end))"""
    text = translate_module(wasabi.parse(wat2wasm(wat)), CodeOptions(tier="T0")).text
    numbers = [int(n) for n in re.findall(r"^  %(\d+) = ", text, re.M)]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    instance = wasabi.Instance(wasabi.compile(wat, Options(tier="T0")))
    assert instance.exports.f(0) == 100


def test_t0_skips_the_verifier_only_when_asked(monkeypatch):
    monkeypatch.delenv("WASABI_VERIFY_IR", raising=False)
    assert jit.verifies("T0") and jit.verifies("T1") and jit.verifies("O2")
    monkeypatch.setenv("WASABI_VERIFY_IR", "0")
    assert not jit.verifies("T0")
    assert jit.verifies("T1") and jit.verifies("O2")


def test_invalid_t0_ir_is_a_compile_error_when_verified(monkeypatch):
    monkeypatch.setenv("WASABI_VERIFY_IR", "1")
    bad = "define i32 @f(i32 %a) {\nentry:\n  ret i32 %x\nb:\n  %x = add i32 %a, 1\n  ret i32 %x\n}\n"
    with pytest.raises(CompileError, match="invalid LLVM IR"):
        jit.emit_object(bad, "T0")


def test_a_t0_build_is_one_stack_check_per_part():
    desc = _desc()
    builder = BatchBuilder(desc, Options(tier="T0"))
    assert builder.translate().text.count(f"@{STACK_CHECK_FUNCTION}(ptr %vmctx) #1") == 1
