"""The stack check's slow path keeps the caller's registers (x86-64 Linux).

Compiled code calls wasabi_rt_stack_slow with LLVM's preserve_mostcc (abi/builtins.py
CALLING_CONVENTIONS): a function entry keeps its parameters in the argument registers
across the call, and the runtime's trampoline (builtins.h WASABI_REGISTER_KEEPING)
must give them back unchanged when the slow path returns: after a poll that found
nothing to trap for, here a Ctrl-C whose Python handler does not raise.
"""
import os
import subprocess
import sys
import textwrap

import pytest

from wasabi.abi.builtins import calling_convention

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# g mixes every parameter (integer and float registers) into its result; run calls it
# through the table (never inlined), n times, and sums
WAT = r'''(module
  (type $g (func (param i32 i64 f64 i32 i32 i64) (result i64)))
  (table 1 funcref) (elem (i32.const 0) $g)
  (func $g (type $g) (param $a i32) (param $b i64) (param $c f64) (param $d i32)
                     (param $e i32) (param $f i64) (result i64)
    (i64.add (i64.add (i64.extend_i32_u (i32.xor (local.get $a) (local.get $d)))
                      (i64.mul (local.get $b) (i64.const 3)))
             (i64.add (i64.trunc_f64_s (local.get $c))
                      (i64.add (i64.extend_i32_u (i32.mul (local.get $e) (i32.const 7)))
                               (i64.rotl (local.get $f) (i64.const 9))))))
  (func (export "run") (param $n i32) (result i64) (local $s i64)
    (loop $l
      (local.set $s (i64.add (local.get $s)
        (call_indirect (type $g) (local.get $n) (i64.extend_i32_u (local.get $n))
                       (f64.convert_i32_u (local.get $n)) (i32.add (local.get $n) (i32.const 5))
                       (i32.sub (local.get $n) (i32.const 9)) (i64.const 0x123456789)
                       (i32.const 0))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $s)))'''

CHILD = """
import os, signal, threading, time, wasabi
M = 2**64
def g(a, b, c, d, e, f):
    rotl = ((f << 9) | (f >> 55)) % M
    return ((a ^ d) % 2**32 + b * 3 + int(c) + (e * 7) % 2**32 + rotl) % M
def expected(n):
    return sum(g(k, k, float(k), (k + 5) % 2**32, (k - 9) % 2**32, 0x123456789)
               for k in range(1, n + 1)) % M
N = 20000
want = expected(N)
inst = wasabi.instantiate(wasabi.compile(WAT, options=wasabi.Options(tier=TIER)))
calls = []
signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
def fire():
    for _ in range(SIGNALS):
        time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
thread = threading.Thread(target=fire)
thread.start()
wrong = runs = 0
while thread.is_alive() or runs < 3:
    runs += 1
    wrong += inst.exports.run(N) % M != want
thread.join()
print(len(calls), wrong)
"""


@pytest.mark.skipif(not calling_convention("wasabi_rt_stack_slow"),
                    reason="the slow path has C's calling convention here")
@pytest.mark.parametrize("tier", ["T0", "T1", "O2"])
def test_parameters_survive_a_slow_path_that_returns(tier):
    signals = 30
    script = (f"WAT = {WAT!r}\nTIER = {tier!r}\nSIGNALS = {signals}\n"
              + textwrap.dedent(CHILD))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 0, done.stderr[-2000:]
    handled, wrong = map(int, done.stdout.split())
    assert handled >= signals // 2         # the handler ran: slow paths returned
    assert wrong == 0
