"""Loops are interrupted by signal (wasabi/_native/preempt.c), not by checks in the loop.

While a running instance has hints pending, the thread inside it gets a signal; when it
was running compiled code, it polls right there, through a trampoline that keeps every
register. A poll that finds nothing must leave the computation exactly as it was: these
tests make code poll thousands of times a second (store.control.nudge(), a hint without
a reason) and compare what it computes with an undisturbed run. tests/fuzzexec's
"+preempt" configs do the same on generated modules against wasmtime.
"""
import os
import subprocess
import sys
import textwrap
import threading

import pytest

import wasabi
from wasabi import _ext
from wasabi.compiler import module_ir
from wasabi.options import CodeOptions

from fuzzexec.engines import Nudger

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# integer, float and SIMD state live across the loop, in as many registers as it takes;
# comparisons feed branches and selects (the flags must survive a poll too)
WAT = """
(module
  (func (export "mix") (param $n i32) (result i64 f64 i64 i64)
    (local $i i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local $e i32) (local $f i32) (local $x f64) (local $y f64) (local $z f32)
    (local $v v128) (local $w v128) (local $u v128)
    (local.set $a (i64.const 0x9E3779B97F4A7C15)) (local.set $b (i64.const 7))
    (local.set $x (f64.const 1.5)) (local.set $y (f64.const -0.25)) (local.set $z (f32.const 3))
    (local.set $v (v128.const f32x4 1 2 3 4)) (local.set $w (v128.const i32x4 5 6 7 8))
    (local.set $u (v128.const f64x2 0.5 0.75))
    (loop $l
      (local.set $a (i64.add (i64.mul (local.get $a) (i64.const 6364136223846793005))
                             (local.get $b)))
      (local.set $b (i64.xor (local.get $b) (i64.shr_u (local.get $a) (i64.const 29))))
      (local.set $c (i64.add (local.get $c)
                    (select (local.get $a) (local.get $b) (i64.lt_u (local.get $a) (local.get $b)))))
      (local.set $d (i64.rotl (i64.add (local.get $d) (local.get $c)) (i64.const 13)))
      (local.set $e (i32.add (local.get $e) (i32.wrap_i64 (local.get $d))))
      (if (i32.gt_s (local.get $e) (local.get $f))
        (then (local.set $f (i32.sub (local.get $e) (i32.const 3))))
        (else (local.set $f (i32.xor (local.get $f) (local.get $i)))))
      (local.set $x (f64.add (f64.mul (local.get $x) (f64.const 0.999999))
                             (f64.convert_i32_s (i32.and (local.get $e) (i32.const 255)))))
      (local.set $y (f64.sub (local.get $y) (f64.div (local.get $x) (f64.const 1024))))
      (local.set $z (f32.add (local.get $z) (f32.demote_f64 (local.get $y))))
      (local.set $v (f32x4.add (f32x4.mul (local.get $v) (v128.const f32x4 0.5 0.25 0.125 1))
                               (f32x4.splat (local.get $z))))
      (local.set $w (i32x4.add (i32x4.mul (local.get $w) (i32x4.splat (local.get $f)))
                               (i32x4.splat (local.get $i))))
      (local.set $u (f64x2.add (local.get $u) (f64x2.splat (local.get $x))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (i64.xor (i64.xor (local.get $a) (local.get $b)) (i64.xor (local.get $c) (local.get $d)))
    (f64.add (f64.add (local.get $x) (local.get $y))
             (f64.add (f64.promote_f32 (local.get $z)) (f64x2.extract_lane 1 (local.get $u))))
    (i64.add (i64x2.extract_lane 0 (local.get $v)) (i64x2.extract_lane 1 (local.get $v)))
    (i64.add (i64x2.extract_lane 0 (local.get $w)) (i64.extend_i32_u (local.get $f)))))
"""

N = 3_000_000


def test_loops_poll_at_headers_only_where_signals_cannot_interrupt_them():
    assert module_ir.LOOP_POLLS == (not _ext.preempt_supported())


needs_preempt = pytest.mark.skipif(not _ext.preempt_supported(),
                                   reason="loops poll at their headers on this platform")


@needs_preempt
def test_default_code_has_no_check_in_loops():
    desc = wasabi.decode_module(wasabi.wat2wasm(
        '(module (func (export "f") (loop $l (br $l))))'))
    text = module_ir.translate_module(desc, CodeOptions()).text
    assert "call void @wasabi_rt_poll" not in text
    assert "void @wasabi_rt_stack_slow(ptr %vmctx)" in text   # function entries still poll


@needs_preempt
@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
@pytest.mark.parametrize("bounds", ["guard", "explicit"])
def test_polls_anywhere_in_a_loop_change_nothing(tier, bounds):
    module = wasabi.compile(WAT, wasabi.Options(tier=tier, bounds=bounds))
    expected = wasabi.instantiate(module, {}).exports.mix(N)
    store = wasabi.Store()
    mix = wasabi.instantiate(module, {}, store=store).exports.mix
    before = _ext.preempt_redirects()
    with Nudger(store, period=20e-6) as nudger:
        got = [mix(N) for _ in range(3)]
    polled = _ext.preempt_redirects() - before
    assert got == [expected] * 3
    assert nudger.count > 10 and polled > 10, (nudger.count, polled)


@needs_preempt
def test_interrupt_stops_a_loop_on_another_thread_while_this_one_runs_its_own():
    module = wasabi.compile(WAT, wasabi.Options(tier="O2"))
    spin_store, own_store = wasabi.Store(), wasabi.Store()
    spin = wasabi.instantiate(module, {}, store=spin_store).exports.mix
    own = wasabi.instantiate(module, {}, store=own_store).exports.mix
    expected = own(N)
    outcome = []

    def spinner():
        try:
            spin(0x7FFFFFFF)
            outcome.append("finished")
        except wasabi.Interrupted:
            outcome.append("interrupted")

    thread = threading.Thread(target=spinner)
    thread.start()
    assert own(N) == expected           # unaffected by the other store
    spin_store.interrupt()
    thread.join(timeout=10)
    assert outcome == ["interrupted"]
    assert own(N) == expected


@needs_preempt
def test_a_python_sigurg_handler_still_runs():
    # the preemption signal is SIGURG, as Go's: ours chains to the handler it replaced
    script = textwrap.dedent("""
        import os, signal, wasabi
        seen = []
        signal.signal(signal.SIGURG, lambda *a: seen.append(1))
        store = wasabi.Store()
        inst = wasabi.instantiate(wasabi.compile('(module (func (export "f")))'), {}, store=store)
        inst.exports.f()
        os.kill(os.getpid(), signal.SIGURG)
        print(len(seen))
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1"


@needs_preempt
def test_python_signal_handlers_run_inside_loops_and_the_loop_goes_on():
    # the real path: Ctrl-C with a handler that returns, in a child process. Each SIGINT
    # makes the loop poll and run Python code there, which uses every register the
    # loop may hold; the result must be the undisturbed one
    script = textwrap.dedent(f"""
        import os, signal, sys, threading, time, wasabi
        sys.path.insert(0, {os.path.join(ROOT, "tests")!r})
        from test_preempt import WAT, N
        from wasabi import _ext
        mix = wasabi.instantiate(wasabi.compile(WAT, wasabi.Options(tier=sys.argv[1])), {{}}).exports.mix
        expected = mix(N)
        handled = []
        signal.signal(signal.SIGINT, lambda *a: handled.append(sum(x * 1.5 for x in range(50))))
        stop = threading.Event()
        def ctrl_c():
            while not stop.wait(0.002):
                os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=ctrl_c, daemon=True).start()
        before = _ext.preempt_redirects()
        got, end = [], time.monotonic() + 1.0
        while (time.monotonic() < end or len(handled) < 10
               or _ext.preempt_redirects() - before < 10) and time.monotonic() < end + 30:
            got.append(mix(N))
        stop.set()
        print(got == [expected] * len(got), len(handled), _ext.preempt_redirects() - before)
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    for tier in ("T1", "O2"):
        out = subprocess.run([sys.executable, "-c", script, tier], capture_output=True,
                             text=True, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        same, handled, polled = out.stdout.split()
        assert same == "True" and int(handled) >= 10 and int(polled) >= 10, (tier, out.stdout)
