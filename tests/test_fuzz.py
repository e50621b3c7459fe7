"""Fuzzing wasabi.validate with mutated spec binaries (see tests/fuzz_worker.py).

Every input must validate or raise wasabi.CompileError, and wasabi's verdict must agree with
wasmtime's (differential; known differences are listed in fuzz_worker.py). The loops run in child
processes: a crash or a hang is reported with the input that caused it, and pytest survives it.
"""
import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

import fuzz_worker

WORKER = pathlib.Path(__file__).resolve().parent / "fuzz_worker.py"


def start_worker(first_seed, count, state):
    return subprocess.Popen(
        [sys.executable, str(WORKER), "--first-seed", str(first_seed), "--count", str(count),
         "--state", str(state), "--oracle"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def last_input(state):
    text = state.read_text().strip() if state.exists() else ""
    return text or "(no input started)"


def reproducer(entry):
    return (f"seed {entry['seed']}: {entry['source']} mutated by {entry['mutations']}\n"
            f"    reproduce: python tests/fuzz_worker.py --replay {entry['seed']}")


def collect(process, state, timeout):
    """The worker's summary; fails the test naming the input if the worker crashed or hung."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"fuzz worker hung for {timeout}s; on input {last_input(state)}")
    if process.returncode != 0:
        how = (f"killed by {signal.Signals(-process.returncode).name}" if process.returncode < 0
               else f"exited with {process.returncode}")
        pytest.fail(f"fuzz worker {how} on input {last_input(state)}\n{err[-3000:]}")
    return json.loads(out.strip().splitlines()[-1])


def fuzz(tmp_path, first_seed, count, workers, timeout):
    """Run `count` inputs split over `workers` processes; assert none of them broke the rules."""
    share = -(-count // workers)
    runs = []
    for index in range(workers):
        state = tmp_path / f"worker{index}.state"
        runs.append((start_worker(first_seed + index * share, share, state), state))
    summaries = [collect(process, state, timeout) for process, state in runs]
    failures = [entry for summary in summaries for entry in summary["failures"]]
    totals = {key: sum(s[key] for s in summaries) for key in ("inputs", "accepted", "rejected")}
    assert not failures, (f"{len(failures)} inputs raised something other than CompileError or "
                          f"disagreed with wasmtime (of {totals['inputs']}):\n" + "\n".join(
                              f"  {entry['error']}\n    {reproducer(entry)}" for entry in failures))
    assert totals["inputs"] == share * workers
    # mutations must reach past the first check: some inputs stay valid, most are rejected
    assert totals["accepted"] > 0 and totals["rejected"] > totals["inputs"] // 2, totals
    return totals


def test_fuzz_short(tmp_path):
    fuzz(tmp_path, first_seed=0, count=3000, workers=1, timeout=120)


@pytest.mark.slow
def test_fuzz_long(tmp_path):
    # seeds disjoint from the short run; one worker per core
    fuzz(tmp_path, first_seed=1_000_000, count=300_000, workers=max(1, min(2, os.cpu_count() or 1)),
         timeout=600)


def test_worker_reports_a_crash_with_its_input(tmp_path):
    """The crash path itself: a worker that segfaults mid-run is reported with its last input."""
    state = tmp_path / "crash.state"
    code = (f"import sys; sys.argv[1:] = ['--count', '5', '--state', {str(state)!r}]; "
            f"sys.path.insert(0, {str(WORKER.parent)!r}); import fuzz_worker, ctypes; "
            "fuzz_worker.check = lambda data: ctypes.string_at(0); fuzz_worker.main()")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    with pytest.raises(pytest.fail.Exception, match=r"killed by SIGSEGV on input .*\"seed\": 0"):
        collect(process, state, timeout=60)


def test_oracle_catches_a_wrong_verdict(monkeypatch):
    """The differential check itself: a validator that accepts everything is caught."""
    monkeypatch.setattr(fuzz_worker, "check", lambda data: ("accepted", None))
    summary = fuzz_worker.run(0, 50, None, max_failures=5, oracle=fuzz_worker.Oracle())
    assert len(summary["failures"]) == 5
    assert "wasabi accepted (None), wasmtime rejected" in summary["failures"][0]["error"]
