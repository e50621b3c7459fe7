"""call_indirect without the gate compare (module/funcrefs.py own_functions_only).

A module whose tables can hold only its own functions calls through them with its
own vmctx: no compare of the callee's vmctx with the caller's, no gate, no second
call path. Every way a foreign function could reach a table keeps the compare, and
a foreign function in the table is still called with its own instance's vmctx.
"""
import pytest

import wasabi
from wasabi.module.funcrefs import own_functions_only
from wasabi.compiler.module_ir import translate_module
from wasabi.text.assemble import wat2wasm
from wasabi.validate import parse

PLAIN = '''(module
  (type $t (func (result i32)))
  (table 2 funcref) (elem (i32.const 0) $a $b)
  (func $a (result i32) (i32.const 1))
  (func $b (result i32) (i32.const 2))
  (func (export "pick") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0))))'''

# each: a way for a foreign function to reach the table, or a call to see one
FOREIGN = {
    "exported table": PLAIN.replace("(table 2 funcref)", '(table (export "t") 2 funcref)'),
    "imported table": PLAIN.replace("(table 2 funcref)", '(import "m" "t" (table 2 funcref))'),
    "import in a segment": PLAIN.replace(
        "(table 2 funcref)", '(import "m" "f" (func $f (result i32))) (table 3 funcref)')
    .replace("$a $b)", "$a $b $f)"),
    "exported import": PLAIN.replace(
        "(table 2 funcref)", '(import "m" "f" (func $f (result i32))) (export "f" (func $f)) '
                             '(table 2 funcref)'),
    "funcref global": PLAIN.replace(
        "(table 2 funcref)", "(table 2 funcref) (global funcref (ref.null func))"),
    "funcref parameter": PLAIN.replace(
        "(table 2 funcref)", "(table 2 funcref) (func (param funcref))"),
    "funcref result": PLAIN.replace(
        "(table 2 funcref)", "(table 2 funcref) (type (func (result funcref)))"),
}


def _desc(wat):
    return parse(wat2wasm(wat))


def test_a_module_with_only_its_own_functions_in_its_table():
    assert own_functions_only(_desc(PLAIN))


@pytest.mark.parametrize("way", list(FOREIGN))
def test_every_way_in_for_a_foreign_function_keeps_the_gate(way):
    assert not own_functions_only(_desc(FOREIGN[way]))


def test_the_ir_has_no_gate_for_own_functions_and_one_otherwise():
    assert "wasabi_rt_gate_enter(" not in translate_module(_desc(PLAIN), None).text.split(
        "define", 1)[1]
    text = translate_module(_desc(FOREIGN["exported table"]), None).text
    assert "call void @wasabi_rt_gate_enter(" in text


OTHER = '''(module (memory 1) (data (i32.const 0) "\\2a")
  (func (export "peek") (result i32) (i32.load8_u (i32.const 0))))'''


@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
def test_a_foreign_function_set_into_an_exported_table_runs_in_its_instance(tier):
    """The host puts another instance's function (which reads its own memory) into
    the exported table: call_indirect must pass that instance's vmctx."""
    caller = FOREIGN["exported table"].replace("(type $t", "(memory 1) (type $t", 1)
    options = wasabi.Options(tier=tier)
    a = wasabi.instantiate(wasabi.compile(caller, options=options))
    b = wasabi.instantiate(wasabi.compile(OTHER, options=options))
    a.exports.t.set(1, b.exports.peek)
    assert a.exports.pick(0) == 1
    assert a.exports.pick(1) == 42


REPL_LIVE = '''(module
  (global $a (export "a") (mut i32) (i32.const 100))
  (global $b (export "b") (mut i32) (i32.const 7))
  (table 1 funcref) (elem (i32.const 0) $f)
  (type $t (func (result i32)))
  (func $f (export "f") (result i32) (i32.const 1))
  (func (export "direct") (result i32) (call $f))
  (func (export "indirect") (result i32) (call_indirect (type $t) (i32.const 0))))'''


def test_a_function_a_repl_cell_redefined_runs_in_the_cells_vmctx():
    """A cell's redefinition points the live instance's record (and so its table entry)
    at the cell's function, which runs in the cell's VMContext: the live code must call
    it with the record's vmctx, not its own (its global 0 is `a`, the cell's is `b`)."""
    live = wasabi.instantiate(wasabi.compile(REPL_LIVE, wasabi.Options(mode=wasabi.Mode.REPL)))
    assert (live.exports.direct(), live.exports.indirect()) == (1, 1)
    live.add_function('''(module (import "" "b" (global $b (mut i32)))
                          (func (export "f") (result i32) (global.get $b)))''')
    assert (live.exports.f(), live.exports.direct(), live.exports.indirect()) == (7, 7, 7)
