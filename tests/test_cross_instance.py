"""Calls that reach an instance through an import or a funcref: stack limit and gate.

Issue 12, item 7: the stack limit was a field of the VMContext, set only on the
instance Python called into; an instance reached through an import or a funcref
ran with no limit, and deep recursion there (a memory.fill per level) crashed the
process. The limit now belongs to the thread. Item 8's second half: the
one-thread-per-instance rule was not checked for calls arriving through imports or
funcrefs; now every such call enters the callee's gate.
"""
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import wasabi
from wasabi.abi import traps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CALLEE = '''(module (memory (export "m") 1)
  (func $rec (export "rec") (param $n i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 7) (i32.const 64))
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get $n) (i32.const 1))))))))'''

# A reaches B's rec through an import (`direct`) and through its own table (`indirect`)
CALLER = '''(module
  (type $t (func (param i32) (result i32)))
  (import "b" "rec" (func $rec (type $t)))
  (table 1 funcref) (elem (i32.const 0) $rec)
  (func (export "direct") (param i32) (result i32) (call $rec (local.get 0)))
  (func (export "indirect") (param i32) (result i32)
    (call_indirect (type $t) (local.get 0) (i32.const 0))))'''

DEEP = """
import threading, wasabi
b = wasabi.instantiate(wasabi.compile({callee!r}))
a = wasabi.instantiate(wasabi.compile({caller!r}), {{"b": {{"rec": b.exports.rec}}}})
def run():
    assert a.exports.{entry}(1000) == 1000
    try:
        a.exports.{entry}(50_000_000)
    except wasabi.Trap as trap:
        print(trap)
if {threaded}:
    t = threading.Thread(target=run); t.start(); t.join()
else:
    run()
"""


@pytest.mark.parametrize("threaded", [False, True], ids=["main_thread", "thread"])
@pytest.mark.parametrize("entry", ["direct", "indirect"])
def test_deep_recursion_in_an_imported_instance_traps(entry, threaded):
    code = DEEP.format(callee=CALLEE, caller=CALLER, entry=entry, threaded=threaded)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "call stack exhausted"


def _pair():
    b = wasabi.instantiate(wasabi.compile(CALLEE))
    a = wasabi.instantiate(wasabi.compile(CALLER), {"b": {"rec": b.exports.rec}})
    return a, b


def test_the_same_depth_is_reached_on_every_thread_and_through_imports():
    """Each thread checks against its own stack: pairs on two threads at once both
    recurse deep without a false "call stack exhausted"."""
    results, errors = [], []

    def run():
        a, _ = _pair()
        try:
            for _ in range(20):
                results.append(a.exports.direct(20_000))
        except Exception as exc:          # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [20_000] * 40


BUSY = '''(module
  (import "host" "wait" (func $wait))
  (func (export "hold") (call $wait))
  (func (export "f") (result i32) (i32.const 42))
  (func (export "boom") (unreachable)))'''

USER = '''(module
  (import "b" "f" (func $f (result i32)))
  (import "b" "boom" (func $boom))
  (table 1 funcref) (elem (i32.const 0) $f)
  (func (export "g") (result i32) (call $f))
  (func (export "g_indirect") (result i32) (call_indirect (result i32) (i32.const 0)))
  (func (export "boom") (call $boom)))'''


def _busy_pair():
    entered, release = threading.Event(), threading.Event()

    def wait():
        entered.set()
        release.wait(30)

    b = wasabi.instantiate(wasabi.compile(BUSY), {"host": {"wait": wait}})
    exports = b.exports
    a = wasabi.instantiate(wasabi.compile(USER), {"b": {"f": exports.f, "boom": exports.boom}})
    return a, b, entered, release


@pytest.mark.parametrize("entry", ["g", "g_indirect"])
def test_a_call_into_an_instance_running_on_another_thread_is_refused(entry):
    a, b, entered, release = _busy_pair()
    holder = threading.Thread(target=b.exports.hold)
    holder.start()
    try:
        assert entered.wait(30)
        with pytest.raises(wasabi.Trap) as info:
            getattr(a.exports, entry)()
        assert info.value.code == traps.TRAP_INSTANCE_BUSY
    finally:
        release.set()
        holder.join()
    assert getattr(a.exports, entry)() == 42      # idle again: the call goes through


def test_a_trap_in_the_callee_leaves_its_gate():
    a, b, entered, release = _busy_pair()
    with pytest.raises(wasabi.Trap, match="unreachable"):
        a.exports.boom()
    release.set()
    out = []
    t = threading.Thread(target=lambda: out.append(b.exports.f()))   # B is idle
    t.start()
    t.join()
    assert out == [42]
    assert a.exports.g() == 42


def test_a_thread_may_reenter_an_instance_it_is_in():
    """A -> B -> A (through B's table holding A's funcref) on one thread is fine."""
    b = wasabi.instantiate(wasabi.compile('''(module
      (type $t (func (result i32)))
      (table (export "t") 1 funcref)
      (func (export "call0") (result i32) (call_indirect (type $t) (i32.const 0))))'''))
    a = wasabi.instantiate(wasabi.compile('''(module
      (type $t (func (result i32)))
      (import "b" "call0" (func $call0 (result i32)))
      (import "b" "t" (table 1 funcref))
      (func $seven (result i32) (i32.const 7))
      (elem declare func $seven)
      (func (export "go") (result i32)
        (table.set 0 (i32.const 0) (ref.func $seven))
        (call $call0)))'''), {"b": {"call0": b.exports.call0, "t": b.exports.t}})
    assert a.exports.go() == 7
