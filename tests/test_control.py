"""Stopping running code: store.interrupt(), deadlines, call timeouts and Ctrl-C.

Function entries poll vmctx->interrupt through their stack check, whose limit
control.c forces when an interrupt is due (wasabi/_native/control.c, entry.c);
loops are made to poll by a signal to the thread running them (preempt.c). Ctrl-C is tested in child processes, so that
the signal never reaches pytest itself.
"""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import wasabi

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WAT = """
(module
  (import "host" "note" (func $note))
  (global $count (export "count") (mut i32) (i32.const 0))
  (func (export "spin") (loop $l (br $l)))
  (func (export "count_forever")
    (loop $l (global.set $count (i32.add (global.get $count) (i32.const 1))) (br $l)))
  (func (export "note_then_spin") (call $note) (loop $l (br $l)))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (call $down (i32.sub (local.get 0) (i32.const 1))))))
  (func $rec (export "recurse_forever") (call $rec))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))
"""

CONFIGS = [("eager", "T1"), ("eager", "O2"), ("lazy", "T0"), ("repl", "T1")]


def make(mode="eager", tier="T1", note=None, store=None):
    store = store if store is not None else wasabi.Store()
    module = wasabi.compile(WAT, wasabi.Options(mode=mode, tier=tier))
    imports = {"host": {"note": note or (lambda: None)}}
    return store, wasabi.instantiate(module, imports, store=store)


def later(seconds, fn, *args):
    timer = threading.Timer(seconds, fn, args)
    timer.start()
    return timer


@pytest.mark.parametrize("mode,tier", CONFIGS)
def test_interrupt_from_another_thread_stops_a_loop_and_the_instance_stays_usable(mode, tier):
    store, inst = make(mode, tier)
    later(0.05, store.interrupt)
    with pytest.raises(wasabi.Interrupted) as info:
        inst.exports.count_forever()
    assert isinstance(info.value, wasabi.Trap) and str(info.value) == "interrupted"
    counted = inst.exports.count.value
    # the stores the machine code executed stay; an optimised loop keeps the
    # global in a register (there is no check in the loop: the interrupt comes
    # by signal, _native/preempt.c), so it may still hold its value from before
    assert counted > 0 or tier != "T0"
    assert inst.exports.add(2, 3) == 5
    assert inst.exports.down(1000) == 0


@pytest.mark.parametrize("mode,tier", CONFIGS)
def test_interrupt_stops_endless_recursion_at_a_function_entry(mode, tier):
    store, inst = make(mode, tier)
    # recursion without a loop: only function entries poll. It would end with
    # "call stack exhausted" on its own, so interrupt before calling (sticky)
    store.interrupt()
    with pytest.raises(wasabi.Interrupted):
        inst.exports.recurse_forever()
    assert inst.exports.add(1, 1) == 2


# recursion without a loop that runs "forever" (2**n calls, depth n): only function
# entries can stop it, through the forced stack limit
FAN_WAT = """(module
  (import "env" "leaf" (func $leaf))
  (func $fan (export "fan") (param i32) (result i32)
    (call $leaf)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1))
      (else (i32.add (call $fan (i32.sub (local.get 0) (i32.const 1)))
                     (call $fan (i32.sub (local.get 0) (i32.const 1))))))))"""
LEAF_WAT = """(module (func $f (param i32) (result i32) (local.get 0))
  (func (export "leaf") (drop (call $f (call $f (i32.const 1))))))"""


def _fan(leaf_options=None):
    """fan's instance (its own store) and its leaf: a host no-op, or another instance
    (in a store of its own, so its hints are not fan's) whose function entries take
    the slow path first and restore the thread's limit."""
    if leaf_options is None:
        leaf = wasabi.Function(wasabi.Store(), lambda: None)
    else:
        leaf_module = wasabi.compile(LEAF_WAT, leaf_options)
        leaf = wasabi.instantiate(leaf_module).exports.leaf
    store = wasabi.Store()
    inst = wasabi.instantiate(wasabi.compile(FAN_WAT), {"env": {"leaf": leaf}}, store=store)
    return store, inst


@pytest.mark.parametrize("leaf", ["host", "instance", "instance without polls"])
def test_interrupt_stops_recursion_without_loops_while_it_runs(leaf):
    options = {"host": None, "instance": wasabi.Options(),
               "instance without polls": wasabi.Options(interruptible=False)}[leaf]
    store, inst = _fan(options)
    assert inst.exports.fan(3) == 8
    later(0.1, store.interrupt)
    start = time.monotonic()
    with pytest.raises(wasabi.Interrupted):
        inst.exports.fan(60)
    assert time.monotonic() - start < 5
    assert inst.exports.fan(4) == 16


def test_a_deadline_stops_recursion_without_loops():
    store, inst = _fan(wasabi.Options())
    store.set_deadline(0.1)
    with pytest.raises(wasabi.DeadlineExceeded):
        inst.exports.fan(60)


def test_a_forced_limit_never_traps_code_without_polls_as_stack_exhausted():
    """Code compiled without polls, called by an instance whose store is interrupted,
    takes the slow path and goes on: only the caller stops, with Interrupted."""
    store, inst = _fan(wasabi.Options(interruptible=False))
    for _ in range(20):
        later(0.01, store.interrupt)
        with pytest.raises(wasabi.Interrupted):
            inst.exports.fan(60)
        assert inst.exports.fan(2) == 4


def test_an_interrupt_with_nothing_running_stops_the_next_call_only():
    store, inst = make()
    store.interrupt()
    with pytest.raises(wasabi.Interrupted):
        inst.exports.add(1, 2)
    assert inst.exports.add(1, 2) == 3
    assert inst.exports.add(1, 2) == 3


def test_interrupt_from_a_host_function_stops_the_caller():
    store = wasabi.Store()
    store, inst = make(note=store.interrupt, store=store)
    with pytest.raises(wasabi.Interrupted):
        inst.exports.note_then_spin()


def test_interrupt_reaches_an_instance_called_through_an_import_of_the_same_store():
    store = wasabi.Store()
    _, callee = make(store=store)
    caller_wat = """(module (import "b" "spin" (func $spin))
                      (func (export "run") (call $spin)))"""
    caller = wasabi.instantiate(wasabi.compile(caller_wat), {"b": {"spin": callee.exports.spin}},
                                store=store)
    later(0.05, store.interrupt)
    with pytest.raises(wasabi.Interrupted):
        caller.exports.run()
    assert callee.exports.add(4, 5) == 9      # both left idle: no gate held, no hint left
    assert caller.exports.run is not None


def test_the_wasmer_face_has_the_same_store_methods():
    import wasabi as wasmer
    store = wasmer.Store()
    instance = wasmer.Instance(wasmer.Module(store, WAT),
                               {"host": {"note": wasmer.Function(store, lambda: None)}})
    later(0.05, store.interrupt)
    with pytest.raises(wasabi.Interrupted):
        instance.exports.spin()
    store.set_deadline(0.05)
    with pytest.raises(wasabi.DeadlineExceeded):
        instance.exports.spin()


@pytest.mark.parametrize("mode,tier", CONFIGS)
def test_a_store_deadline_stops_code_and_stays_past_until_changed(mode, tier):
    store, inst = make(mode, tier)
    start = time.monotonic()
    store.set_deadline(0.05)
    assert 0 < store.deadline <= 0.05
    with pytest.raises(wasabi.DeadlineExceeded) as info:
        inst.exports.spin()
    assert time.monotonic() - start >= 0.05
    assert isinstance(info.value, wasabi.Interrupted) and str(info.value) == "deadline exceeded"
    with pytest.raises(wasabi.DeadlineExceeded):
        inst.exports.add(1, 2)               # past stays past
    assert store.deadline < 0
    store.set_deadline(None)
    assert store.deadline is None
    assert inst.exports.add(1, 2) == 3
    store.set_deadline(60)
    assert inst.exports.add(1, 2) == 3


def test_an_instance_made_after_the_deadline_passed_traps_too():
    store, _ = make()
    store.set_deadline(0)
    time.sleep(0.05)
    with pytest.raises(wasabi.DeadlineExceeded):
        make(store=store)[1].exports.down(3)


def test_a_call_timeout_stops_that_call_only():
    store, inst = make()
    with pytest.raises(wasabi.DeadlineExceeded):
        inst.call("spin", timeout=0.05)
    assert inst.call("add", 1, 2, timeout=0.05) == 3
    time.sleep(0.1)                           # the timeout ended with its call
    assert inst.exports.add(1, 2) == 3
    assert store.deadline is None
    with pytest.raises(ValueError):
        inst.call("add", 1, 2, timeout=-1)


def test_a_deadline_stops_only_its_own_store_while_another_thread_runs_another_store():
    store_a, inst_a = make()
    store_b, inst_b = make()
    outcome = {}

    def run_b():
        try:
            inst_b.exports.count_forever()
        except wasabi.Interrupted as exc:
            outcome["b"] = type(exc)

    thread = threading.Thread(target=run_b)
    thread.start()
    store_a.set_deadline(0.05)
    with pytest.raises(wasabi.DeadlineExceeded):
        inst_a.exports.spin()
    time.sleep(0.1)
    assert thread.is_alive()                  # b did not stop with a's deadline
    store_b.interrupt()
    thread.join(5)
    assert outcome == {"b": wasabi.Interrupted}
    assert inst_b.exports.count.value > 0


def test_timeouts_of_two_threads_are_their_own():
    _, inst_a = make()
    _, inst_b = make()
    results = {}

    def run(name, inst, timeout):
        start = time.monotonic()
        try:
            inst.call("spin", timeout=timeout)
        except wasabi.DeadlineExceeded:
            results[name] = time.monotonic() - start

    threads = [threading.Thread(target=run, args=("short", inst_a, 0.05)),
               threading.Thread(target=run, args=("long", inst_b, 0.4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert set(results) == {"short", "long"}
    assert results["long"] >= 0.4 and results["short"] >= 0.05


def test_interrupts_from_many_threads_while_calls_run_leave_every_instance_sane():
    store, inst = make()
    stop = time.monotonic() + 1.0
    errors = []

    def interrupter():
        while time.monotonic() < stop:
            store.interrupt()
            time.sleep(0.0005)

    threads = [threading.Thread(target=interrupter) for _ in range(2)]
    for t in threads:
        t.start()
    calls = interrupted = 0
    while time.monotonic() < stop:
        try:
            assert inst.exports.down(200) == 0
            calls += 1
        except wasabi.Interrupted:
            interrupted += 1
        except Exception as exc:       # noqa: BLE001  (anything else is a bug)
            errors.append(exc)
    for t in threads:
        t.join()
    store.control.clear_interrupts()
    assert not errors and interrupted > 0 and calls > 0
    assert inst.exports.down(10) == 0


@pytest.mark.parametrize("mode", ["eager", "lazy"])
def test_code_compiled_without_polls_runs_on_and_says_so(mode):
    store = wasabi.Store()
    options = wasabi.Options(mode=mode, interruptible=False)
    module = wasabi.compile(WAT, options)
    inst = wasabi.instantiate(module, {"host": {"note": lambda: None}}, store=store)
    store.interrupt()
    assert inst.exports.down(100) == 0        # no poll: the request stays pending
    assert store.control.pending_interrupts == 1
    if mode == "eager":
        again = wasabi.Module.deserialize(store, module.serialize())
        assert again.options.interruptible is False


def test_the_cache_keeps_polled_and_unpolled_code_apart(tmp_path, monkeypatch):
    from wasabi.compiler.cache import entry_path
    data = wasabi.wat2wasm(WAT) if hasattr(wasabi, "wat2wasm") else None
    if data is None:
        pytest.skip("no wat2wasm")
    plain = entry_path(data, wasabi.Options(cache=True), tmp_path)
    unpolled = entry_path(data, wasabi.Options(cache=True, interruptible=False), tmp_path)
    assert plain != unpolled


# ---- Ctrl-C (in child processes) ----

def run_child(script, timeout=30):
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


CHILD_PRELUDE = """
import os, signal, threading, time, wasabi
inst = wasabi.instantiate(wasabi.compile('(module (func (export "spin") (loop $l (br $l))))'))
def kill_after(seconds):
    def fire():
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=fire, daemon=True).start()
"""


def test_ctrl_c_in_a_loop_raises_keyboard_interrupt_in_the_main_thread():
    out = run_child(CHILD_PRELUDE + """
for _ in range(3):
    kill_after(0.05)
    try:
        inst.exports.spin()
    except KeyboardInterrupt:
        print("interrupted")
""")
    assert out == ["interrupted"] * 3


def test_a_user_sigint_handler_runs_and_code_goes_on_when_it_does_not_raise():
    out = run_child(CHILD_PRELUDE + """
calls = []
def handler(signum, frame):
    calls.append(signum)
    if len(calls) == 3:
        raise RuntimeError("third")
signal.signal(signal.SIGINT, handler)
for delay in (0.3, 0.5, 0.7):     # (first: once the watchdog has put our handler back)
    kill_after(delay)
try:
    inst.exports.spin()
except RuntimeError as exc:
    print(len(calls), exc)
""")
    assert out == ["3", "third"]


def test_ctrl_c_stops_wasm_in_a_worker_thread_while_the_main_thread_waits():
    out = run_child(CHILD_PRELUDE + """
seen = []
def work():
    try:
        wasabi.instantiate(wasabi.compile('(module (func (export "s") (loop $l (br $l))))')).exports.s()
    except KeyboardInterrupt:
        seen.append("worker")
thread = threading.Thread(target=work)
thread.start()
kill_after(0.2)
try:
    thread.join()
except KeyboardInterrupt:
    seen.append("main")
for _ in range(500):
    if len(seen) == 2:
        break
    time.sleep(0.01)
print(*sorted(seen))
""")
    assert out == ["main", "worker"]


def test_ctrl_c_still_works_after_python_replaced_our_handler():
    # signal.signal() puts Python's C handler back on top of ours; the watchdog
    # re-installs ours while code runs
    out = run_child(CHILD_PRELUDE + """
signal.signal(signal.SIGINT, signal.default_int_handler)
kill_after(0.3)
try:
    inst.exports.spin()
except KeyboardInterrupt:
    print("interrupted")
""")
    assert out == ["interrupted"]


# each program writes "ready" first, so that the signal lands inside it, not in
# Python's start-up (on a loaded machine that can take seconds)
_READY = """
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "ready\\n")
  (func $ready
    (i32.store (i32.const 256) (i32.const 512))
    (i32.store (i32.const 260) (i32.const 6))
    (drop (call $write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264))))"""
SLEEP_WAT = """(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))""" + _READY + """
  (func (export "_start")
    call $ready
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 60000000000))
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"""
SPIN_WAT = """(module""" + _READY + """
  (func (export "_start") call $ready (loop $l (br $l))))"""
READ_WAT = """(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))""" + _READY + """
  (func (export "_start")
    call $ready
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 32)))))"""


@pytest.mark.parametrize("name,wat", [("loop", SPIN_WAT), ("sleep", SLEEP_WAT), ("read", READ_WAT)])
def test_sigint_to_wasabi_run_exits_130(tmp_path, name, wat):
    path = tmp_path / f"{name}.wat"
    path.write_text(wat)
    proc = subprocess.Popen([sys.executable, "-m", "wasabi", "run", str(path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.stdout.readline() == b"ready\n"      # inside the program
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    try:
        status = proc.wait(20)
    finally:
        proc.kill()
    assert status == 130, proc.stderr.read()
    assert b"interrupted" in proc.stderr.read()


def test_wasabi_run_timeout_traps(tmp_path):
    path = tmp_path / "spin.wat"
    path.write_text(SPIN_WAT)
    proc = subprocess.run([sys.executable, "-m", "wasabi", "run", "--timeout", "0.2", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 134 and "deadline exceeded" in proc.stderr


COUNT_WAT = """(module (memory (export "memory") 1) (func (export "_start") (local i32)
  (loop $l (local.set 0 (i32.add (local.get 0) (i32.const 1)))
           (br_if $l (i32.lt_u (local.get 0) (i32.const 100))))))"""


@pytest.mark.parametrize("wat,fuel,status", [(SPIN_WAT, 1000, 134), (COUNT_WAT, 100_000, 0),
                                             (COUNT_WAT, 100, 134)])
def test_wasabi_run_fuel(tmp_path, wat, fuel, status):
    path = tmp_path / "prog.wat"
    path.write_text(wat)
    proc = subprocess.run([sys.executable, "-m", "wasabi", "run", "--no-cache", "--fuel", str(fuel),
                           str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == status, proc.stderr
    assert ("all fuel consumed" in proc.stderr) == (status == 134)
