"""A real program: the SQLite 3.50.4 shell (about 1.75 MB of wasm) running a SQL workload of
about a second, under wasabi, wasmtime-py and natively (gcc -O2), in the same run.

    python -m pytest bench/test_real_program.py --benchmark-only -s

The program and its native twin are built by bench/real/build.py (cached in bench/build/real/);
the script is bench/real/workload.py at scale $WASABI_REAL_SCALE (default 1.0), fed on stdin.
Every run is a fresh process, timed from its start to its exit (total) and to its first line
of output (a `.print` before any work); every transcript is checked against the native one.

- issue 15: a cold `wasabi run` (empty $WASABI_CACHE_DIR) in each `--mode` the CLI offers,
  beside wasmtime-py compiling (Cranelift, no cache) and running it in a subprocess; the second
  run with the cache, started at once; pgo's runs 2-4, each once the worker its predecessor
  left finishing a build is done; T0 and single-pass baseline compile time per MB beside
  Cranelift's (in process).
- issue 16: the `wasabi compile --exe` executable (O2) on the workload beside native gcc -O2 and
  `wasabi run`; start-up (an empty script) of each.
Rounds are few (a cold run takes tens of seconds; lazy and pgo runs get one); each figure is
the best round; a process still running after $WASABI_REAL_TIMEOUT s (default 600) is killed
and its benchmark fails. The summary at the end gives the ratios.
"""
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from conftest import BUILD, SUMMARIES
from real.build import build_or_skip
from real.workload import FIRST_LINE, workload

RUNNER = pathlib.Path(__file__).resolve().parent / "real" / "wasmtime_run.py"
SCALE = float(os.environ.get("WASABI_REAL_SCALE", "1.0"))
WASABI = [sys.executable, "-m", "wasabi"]
TIMEOUT = float(os.environ.get("WASABI_REAL_TIMEOUT", "600"))    # seconds, per process

RESULTS = {}        # label -> {"total": s, "first": s}, best rounds
EXTRA = {}          # label -> text (build times, splits)
COMPILE = {}        # label -> (seconds, MB)


def _wasabi_root():
    """The directory holding the wasabi package this process imports."""
    import wasabi
    return pathlib.Path(wasabi.__file__).resolve().parent.parent


def _env(**extra):
    # subprocesses import the same wasabi as this process (in-process figures beside them)
    path = os.environ.get("PYTHONPATH")
    root = str(_wasabi_root())
    return dict(os.environ, PYTHONPATH=root + (os.pathsep + path if path else ""), **extra)


def run_program(cmd, stdin_path, env=None):
    """(total seconds, seconds to the first line, stdout bytes, exit code) of one process,
    killed (and the benchmark failed) after TIMEOUT seconds."""
    with open(stdin_path, "rb") as stdin, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE, stderr=err, env=env)
        watchdog = threading.Timer(TIMEOUT, process.kill)
        watchdog.start()
        try:
            first_line = process.stdout.readline()
            first = time.perf_counter() - start
            out = first_line + process.stdout.read()
            status = process.wait()
        finally:
            watchdog.cancel()
        total = time.perf_counter() - start
        if total >= TIMEOUT:
            pytest.fail(f"{' '.join(map(str, cmd))} did not finish in {TIMEOUT:.0f} s")
        if status not in (0, None) and not out:
            err.seek(0)
            raise RuntimeError(f"{cmd[:4]} exited {status}: {err.read()[-2000:]!r}")
    return total, first, out, status


def measure(benchmark, label, cmd, stdin_path, expected, rounds, env=None, setup=None,
            after=None):
    """Run `cmd` `rounds` times under pytest-benchmark (`setup` before each, untimed, and
    `after` after each); the best total and first-output times go into RESULTS[label].
    Each transcript must be `expected` (None: not checked)."""
    runs = []

    def once():
        total, first, out, status = run_program(cmd, stdin_path, env)
        assert status == 0, f"{label}: exit status {status}"
        if expected is not None:
            assert out == expected, f"{label}: the transcript differs from native's"
        runs.append((total, first))
        if after:
            after()

    benchmark.pedantic(once, setup=setup, rounds=rounds, iterations=1)
    RESULTS[label] = {"total": min(t for t, _ in runs), "first": min(f for _, f in runs)}
    benchmark.extra_info.update({k: round(v, 4) for k, v in RESULTS[label].items()})


def cli_modes():
    """The --mode choices of `wasabi run`, from its --help."""
    text = subprocess.run([*WASABI, "run", "--help"], capture_output=True, text=True,
                          env=_env()).stdout
    found = re.search(r"--mode \{([a-z,]+)\}", text)
    return found.group(1).split(",") if found else ["eager"]


MODES = cli_modes()


@pytest.fixture(scope="module")
def programs():
    wasm, native = build_or_skip()
    return wasm, native


@pytest.fixture(scope="module")
def script():
    path = BUILD / "real" / f"workload-{SCALE}.sql"
    text = workload(SCALE)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def empty_script():
    path = BUILD / "real" / "empty.sql"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def expected(programs, script):
    """Native gcc -O2's transcript of the workload: what every engine must print."""
    _, native = programs
    total, first, out, status = run_program([str(native)], script)
    assert status == 0 and out.startswith(FIRST_LINE.encode()) and out.endswith(b"done\n")
    return out


@pytest.fixture(scope="module")
def exe(programs, tmp_path_factory):
    """`wasabi compile sqlite3.wasm --exe` (O2, its default), built once per session."""
    wasm, _ = programs
    output = tmp_path_factory.mktemp("exe") / "sqlite3-exe"
    start = time.perf_counter()
    done = subprocess.run([*WASABI, "compile", str(wasm), "--exe", "-o", str(output)],
                          capture_output=True, text=True, env=_env())
    if done.returncode:
        pytest.fail(f"wasabi compile --exe failed: {done.stderr[-3000:]}")
    EXTRA["exe build (wasabi compile --exe, O2)"] = (
        f"{time.perf_counter() - start:.1f} s, {output.stat().st_size / 1e6:.2f} MB")
    return output


# ---- the workload ----

def test_native(benchmark, programs, script, expected):
    benchmark.group = "sqlite workload"
    measure(benchmark, "native gcc -O2", [str(programs[1])], script, expected, rounds=5)


def test_wasmtime_cold(benchmark, programs, script, expected, tmp_path):
    """wasmtime-py in a fresh process: import, Cranelift compile (no cache), run."""
    pytest.importorskip("wasmtime")
    benchmark.group = "sqlite workload"
    times = tmp_path / "times"
    splits = []

    def read_split():
        splits.append(tuple(map(float, times.read_text().split())))

    measure(benchmark, "wasmtime-py (compile+run)", [sys.executable, str(RUNNER), str(programs[0])],
            script, expected, rounds=3, env=_env(WASMTIME_RUN_TIMES=str(times)), after=read_split)
    compile_s, run_s = min(splits)
    EXTRA["wasmtime-py split"] = f"compile {compile_s:.2f} s + run {run_s:.2f} s (best round)"


@pytest.mark.parametrize("mode", MODES)
def test_wasabi_run_cold(benchmark, programs, script, expected, mode, tmp_path):
    """`wasabi run --mode MODE` with an empty cache directory every round."""
    benchmark.group = "sqlite workload"
    env = _env()
    rounds = iter(range(1000))

    def setup():
        env["WASABI_CACHE_DIR"] = str(tmp_path / f"cache{next(rounds)}")   # a new, empty one

    measure(benchmark, f"wasabi run --mode {mode} (cold)",
            [*WASABI, "run", "--mode", mode, str(programs[0])], script, expected,
            rounds=2 if mode == "eager" else 1, env=env, setup=setup)


@pytest.mark.parametrize("mode", MODES)
def test_wasabi_run_cached(benchmark, programs, script, expected, mode, tmp_path):
    """The same after one untimed run has filled the cache (for pgo: code and profile),
    started at once: for pgo, the first run's worker may still be finishing a build for
    the profile (a spool) on the other core."""
    benchmark.group = "sqlite workload"
    env = _env(WASABI_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [*WASABI, "run", "--mode", mode, str(programs[0])]
    assert run_program(cmd, script, env)[2] == expected
    measure(benchmark, f"wasabi run --mode {mode} (cached)", cmd, script, expected,
            rounds=2 if mode == "eager" else 1, env=env)


def test_wasabi_run_pgo_warm(benchmark, programs, script, expected, tmp_path):
    """pgo's steady state: runs 2 to 4 from an empty cache, each after the worker its
    predecessor left to finish a build (its spool) is done; the best of them. (Started at
    once instead, a run shares the CPU with that worker: test_wasabi_run_cached.)"""
    benchmark.group = "sqlite workload"
    env = _env(WASABI_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [*WASABI, "run", str(programs[0])]
    assert run_program(cmd, script, env)[2] == expected
    measure(benchmark, "wasabi run --mode pgo (warm, runs 2-4)", cmd, script, expected,
            rounds=3, env=env, setup=_wait_for_detached_workers)


def _wait_for_detached_workers(seconds=60):
    """Until no wasabi emit worker process is left (Linux: /proc), at most `seconds`."""
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(
            b"wasabi.compiler.emit_worker" in _cmdline(pid) for pid in os.listdir("/proc")
            if pid.isdigit()):
        time.sleep(0.1)


def _cmdline(pid):
    try:
        return pathlib.Path("/proc", pid, "cmdline").read_bytes()
    except OSError:
        return b""


def test_exe(benchmark, exe, script, expected):
    benchmark.group = "sqlite workload"
    measure(benchmark, "wasabi exe (O2)", [str(exe)], script, expected, rounds=5)


# ---- start-up: an empty script (the shell starts, opens :memory:, reads EOF, exits) ----

def test_startup_native(benchmark, programs, empty_script):
    benchmark.group = "sqlite start-up"
    measure(benchmark, "start-up: native", [str(programs[1])], empty_script, None, rounds=20)


def test_startup_exe(benchmark, exe, empty_script):
    benchmark.group = "sqlite start-up"
    measure(benchmark, "start-up: wasabi exe", [str(exe)], empty_script, None, rounds=20)


def test_startup_wasabi_run_cached(benchmark, programs, empty_script, tmp_path):
    benchmark.group = "sqlite start-up"
    env = _env(WASABI_CACHE_DIR=str(tmp_path / "cache"))
    cmd = [*WASABI, "run", str(programs[0])]
    run_program(cmd, empty_script, env)
    measure(benchmark, "start-up: wasabi run (cached)", cmd, empty_script, None, rounds=5,
            env=env)


# ---- T0 compile time per MB, in process ----

def test_compile_t0(benchmark, programs):
    import wasabi
    data = programs[0].read_bytes()
    options = wasabi.Options(mode="eager", tier="T0", cache=False)
    benchmark.group = "sqlite compile"
    benchmark.pedantic(lambda: wasabi.compile(data, options), rounds=3, iterations=1)
    COMPILE["wasabi T0"] = (benchmark.stats.stats.min, len(data) / 1e6)


def test_compile_baseline(benchmark, programs):
    """The single-pass baseline (PGO's first tier): decode, validate and compile every
    function, as PGO's counting baseline (profile counters, branch sites)."""
    import wasabi
    from wasabi.compiler.modes import tiered
    from wasabi.compiler.profile import Profile
    from wasabi.options import CodeOptions
    data = programs[0].read_bytes()

    def compile_all():
        desc = wasabi.parse(data)
        compiler = tiered.single_pass_compiler(desc, CodeOptions("T0"),
                                               Profile(len(desc.func_type_indices)))
        refused = sum(not compiler.compile(func)[0] for func in desc.funcs)
        compiler.close()
        return refused

    benchmark.group = "sqlite compile"
    assert benchmark.pedantic(compile_all, rounds=3, iterations=1) == 0
    COMPILE["wasabi baseline"] = (benchmark.stats.stats.min, len(data) / 1e6)


def test_compile_cranelift(benchmark, programs):
    wasmtime = pytest.importorskip("wasmtime")
    data = programs[0].read_bytes()
    engine = wasmtime.Engine()
    benchmark.group = "sqlite compile"
    benchmark.pedantic(lambda: wasmtime.Module(engine, data), rounds=3, iterations=1)
    COMPILE["wasmtime Cranelift"] = (benchmark.stats.stats.min, len(data) / 1e6)


# ---- the summary ----

def _ratio_lines(base_label, labels):
    base = RESULTS.get(base_label)
    if not base:
        return []
    return [f"  {label} / {base_label}: total {RESULTS[label]['total'] / base['total']:.2f}x"
            for label in labels if label in RESULTS and label != base_label]


def summary():
    if not RESULTS and not COMPILE:
        return []
    lines = [f"SQLite shell, workload scale {SCALE} (best rounds; load average "
             f"{os.getloadavg()[0]:.1f} at the end):"]
    for label, figures in RESULTS.items():
        lines.append(f"  {label:36s} total {figures['total']:8.3f} s   first output "
                     f"{figures['first'] * 1000:8.1f} ms")
    workload_labels = [label for label in RESULTS if not label.startswith("start-up")]
    wasabi_labels = [label for label in workload_labels if label.startswith("wasabi")]
    lines += _ratio_lines("wasmtime-py (compile+run)", wasabi_labels)
    lines += _ratio_lines("native gcc -O2", workload_labels)
    lines += _ratio_lines("wasabi run --mode eager (cached)", ["wasabi exe (O2)"])
    lines += _ratio_lines("start-up: native", [label for label in RESULTS
                                               if label.startswith("start-up")])
    for label, text in EXTRA.items():
        lines.append(f"  {label}: {text}")
    for label, (seconds, mb) in COMPILE.items():
        lines.append(f"  compile {label:20s} {seconds:7.2f} s  {seconds / mb:6.2f} s/MB")
    cranelift = COMPILE.get("wasmtime Cranelift")
    for label in ("wasabi T0", "wasabi baseline"):
        if cranelift and label in COMPILE:
            ratio = COMPILE[label][0] / cranelift[0]
            lines.append(f"  compile {label} / Cranelift: {ratio:.2f}x the time per MB")
    return lines


SUMMARIES.append(summary)
