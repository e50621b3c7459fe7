"""The cost of being stoppable, and how fast a stop is, in the same run.

    python -m pytest bench/test_control.py --benchmark-only

- the C kernels (bench/kernels) with the interrupt polls wasabi compiles in by default
  and without them (Options(interruptible=False)), beside wasmtime without and with
  `epoch_interruption` (its cheapest way to stop code);
- the call path, `add(i32, i32)` from Python, with and without the poll at its entry;
- latency: SIGINT -> KeyboardInterrupt in the main thread, and store.interrupt() from
  another thread -> wasabi.Interrupted, median and max over 100 tries (in a child process,
  so that the signals never reach pytest).
At the end: per kernel, time with polls / time without (each engine), their geometric
means, and the latencies. Each kernel's result must agree with native C's.
"""
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import SUMMARIES
from kernels.build import KERNELS, build_wasm, load_native

ENGINES = ("wasabi", "wasabi-nopoll", "wasmtime", "wasmtime+epoch")
ROUNDS = 11
CALLS = 20_000
TIMES = {}          # (kernel, engine) -> best seconds
LATENCY = {}        # what -> (median, max) seconds


@pytest.fixture(scope="module")
def native_lib():
    return load_native()


def wasabi_exports(wasm, interruptible):
    import wasabi
    store = wasabi.Store(options=wasabi.Options(interruptible=interruptible))
    return wasabi.instantiate(wasabi.Module(store, wasm), {}, store=store).exports


def wasmtime_runner(wasm, epoch):
    import wasmtime
    config = wasmtime.Config()
    config.epoch_interruption = epoch
    engine = wasmtime.Engine(config)
    store = wasmtime.Store(engine)
    if epoch:
        store.set_epoch_deadline(1 << 40)
    exports = wasmtime.Instance(store, wasmtime.Module(engine, wasm), []).exports(store)
    return lambda name: lambda arg: exports[name](store, arg)


@pytest.fixture(scope="module")
def runners():
    wasm = build_wasm().read_bytes()
    made = {}
    for engine in ENGINES:
        if engine.startswith("wasabi"):
            exports = wasabi_exports(wasm, engine == "wasabi")
            made[engine] = lambda name, e=exports: getattr(e, name)
        else:
            made[engine] = wasmtime_runner(wasm, engine.endswith("+epoch"))
    return made


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_control_kernel(benchmark, runners, native_lib, kernel, engine):
    arg = KERNELS[kernel]
    run = runners[engine](kernel)
    benchmark.group = f"control {kernel}"
    benchmark.extra_info["engine"] = engine
    result = benchmark.pedantic(run, args=(arg,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    assert result == getattr(native_lib, kernel)(arg), f"{engine} {kernel}"
    TIMES[kernel, engine] = benchmark.stats.stats.min


ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


@pytest.mark.parametrize("engine", ("wasabi", "wasabi-nopoll"))
def test_control_call_path(benchmark, engine):
    add = wasabi_exports(ADD, engine == "wasabi").add

    def calls():
        for _ in range(CALLS):
            add(1, 2)

    benchmark.group = "control call add(i32,i32)"
    benchmark.extra_info["engine"] = engine
    benchmark.pedantic(calls, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    TIMES["call add", engine] = benchmark.stats.stats.min / CALLS


LATENCY_SCRIPT = """
import json, os, signal, statistics, threading, time, wasabi
TRIES = 100
inst = wasabi.instantiate(wasabi.compile('(module (func (export "spin") (loop $l (br $l))))'))
sent = []

def fire(delay, action):
    time.sleep(delay)
    sent.append(time.perf_counter())
    action()

def measure(action, exception):
    out = []
    while len(out) < TRIES:
        sent.clear()
        inside = False
        try:
            threading.Thread(target=fire, args=(0.005, action)).start()
            inside = True
            inst.exports.spin()
        except exception:
            if inside:            # (a signal that came before the call does not count)
                out.append(time.perf_counter() - sent[0])
    return statistics.median(out), max(out)

print(json.dumps({
    "SIGINT -> KeyboardInterrupt": measure(lambda: os.kill(os.getpid(), signal.SIGINT),
                                           KeyboardInterrupt),
    "store.interrupt() -> Interrupted": measure(inst.store.interrupt, wasabi.Interrupted),
}))
"""


def test_control_interrupt_latency(benchmark):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def measure():
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(LATENCY_SCRIPT)],
                              capture_output=True, text=True, timeout=300, cwd=root,
                              env=dict(os.environ, PYTHONPATH=root))
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    result = benchmark.pedantic(measure, rounds=1, iterations=1)
    for what, (median, worst) in result.items():
        LATENCY[what] = (median, worst)
        benchmark.extra_info[what] = {"median_s": median, "max_s": worst}


def lines():
    out = []
    kernels = sorted({k for k, _ in TIMES if k != "call add"})
    if kernels:
        out += ["interrupt polls (best round; time with polls / time without, same engine):",
                f"  {'kernel':14s} {'wasabi':>8s} {'wasmtime':>9s}"]
        logs = {"wasabi": [], "wasmtime": []}
        pairs = {"wasabi": ("wasabi", "wasabi-nopoll"), "wasmtime": ("wasmtime+epoch", "wasmtime")}
        for kernel in kernels:
            row = f"  {kernel:14s}"
            for engine, width in (("wasabi", 8), ("wasmtime", 9)):
                with_, without = (TIMES.get((kernel, e)) for e in pairs[engine])
                if with_ and without:
                    logs[engine].append(math.log(with_ / without))
                    row += f" {with_ / without:{width}.3f}"
                else:
                    row += " " * width + "-"
            out.append(row)
        for engine, values in logs.items():
            if values:
                out.append(f"  geometric mean poll overhead {engine}: "
                           f"{math.exp(sum(values) / len(values)):.3f} over {len(values)} kernels")
    with_, without = TIMES.get(("call add", "wasabi")), TIMES.get(("call add", "wasabi-nopoll"))
    if with_ and without:
        out.append(f"  call add(i32,i32): {with_ * 1e9:.1f} ns with the poll, "
                   f"{without * 1e9:.1f} ns without ({with_ / without:.3f})")
    for what, (median, worst) in LATENCY.items():
        out.append(f"  latency {what}: median {median * 1e3:.2f} ms, max {worst * 1e3:.2f} ms "
                   f"over 100 tries")
    return out


SUMMARIES.append(lines)
