"""The parent process: hands seeds to -j worker processes and collects their answers.

A worker that dies (SIGSEGV, abort, any exit) is a crash finding: its state file names the module
(seed), the config and the call; the module is made again from the seed and saved. A job that
takes longer than the timeout is a hang finding (wasmtime's fuel already cut every call that does
not end, so only wasabi can hang). Either way the worker is replaced and the run goes on.

Which wasabi configs run a module (scheme):
- "all": every config (T0/T1/O2/PGO x guard/explicit, PGO with forced tier-up; the
  single-pass baseline, counting branches and with cached locals; two with preemption);
- "rotate": one config per module, in turn by seed, and all of them for every `full_every`th module.
"""
from __future__ import annotations

import collections
import json
import os
import pathlib
import selectors
import signal
import subprocess
import sys
import tempfile
import time

from . import findings
from .runner import CONFIGS

TESTS = pathlib.Path(__file__).resolve().parent.parent
# a worker is replaced after this many modules: compiled code and LLVM state accumulate in
# it (about 0.1 MB per module), which adds up over an overnight run
RECYCLE_AFTER = 500


def configs_for(seed, scheme, full_every):
    if scheme == "all" or (full_every and seed % full_every == 0):
        return list(CONFIGS)
    return [CONFIGS[seed % len(CONFIGS)]]


class Worker:
    def __init__(self, number, scratch, code=None):
        self.state_path = scratch / f"worker{number}.state"
        self.stderr_path = scratch / f"worker{number}.stderr"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
        self.stderr = open(self.stderr_path, "w+")
        command = ["-c", code] if code else ["-m", "fuzzexec.worker"]
        self.process = subprocess.Popen([sys.executable, *command, str(self.state_path)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.stderr, text=True, env=env, cwd=str(TESTS))
        self.job, self.started, self.done = None, None, 0

    def send(self, job):
        self.job, self.started = job, time.monotonic()
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()

    def state(self):
        try:
            return json.loads(self.state_path.read_text().strip() or "null")
        except (OSError, ValueError):
            return None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.stderr.close()


class Totals:
    def __init__(self):
        self.modules = self.skipped = self.calls = 0
        self.by_generator = collections.Counter()
        self.skip_reasons = collections.Counter()
        self.executed = collections.Counter()      # config -> modules run
        self.seconds = collections.Counter()       # config -> wasabi seconds
        self.differences = collections.Counter()   # (config, kind) -> count
        self.nan_state = 0
        self.crashes, self.hangs, self.harness_errors, self.saved = [], [], [], []
        self.reference_seconds = self.generate_seconds = 0.0

    def add(self, answer):
        if answer["status"] == "skip":
            self.skipped += 1
            self.skip_reasons[answer["why"][:60]] += 1
            return
        if answer["status"] == "harness-error":
            self.harness_errors.append(answer)
            return
        self.modules += 1
        self.calls += answer["calls"]
        self.by_generator[answer["generator"]] += 1
        self.reference_seconds += answer["reference_seconds"]
        self.generate_seconds += answer["generate_seconds"]
        for config, entry in answer["configs"].items():
            self.executed[config] += 1
            self.seconds[config] += entry["seconds"]
            if entry["kind"] in ("nan-state", "nan-state-simd"):
                self.nan_state += 1
            elif entry["kind"]:
                self.differences[(config, entry["kind"])] += 1
                if entry.get("saved"):
                    self.saved.append(entry["saved"])

    def to_json(self, elapsed):
        return {
            "modules": self.modules, "skipped": self.skipped, "skip_reasons": dict(self.skip_reasons),
            "calls": self.calls,
            "elapsed_seconds": round(elapsed, 1), "by_generator": dict(self.by_generator),
            "executed_per_config": dict(self.executed),
            "ms_per_module_per_config": {c: round(1000 * self.seconds[c] / n, 1) for c, n in self.executed.items()},
            "reference_ms_per_module": round(1000 * self.reference_seconds / max(1, self.modules), 1),
            "generate_ms_per_module": round(1000 * self.generate_seconds / max(1, self.modules), 1),
            "differences": sum(self.differences.values()),
            "differences_by_kind": {f"{c} {k}": n for (c, k), n in sorted(self.differences.items())},
            "nan_state_ignored": self.nan_state,
            "crashes": self.crashes, "hangs": self.hangs,
            "harness_errors": [e["why"][-600:] for e in self.harness_errors[:5]],
            "harness_error_count": len(self.harness_errors), "saved": self.saved[:50],
        }


def run(first_seed, count, jobs=1, findings_dir=None, scheme="all", full_every=0, mix=None,
        timeout=120.0, log=None, worker_code=None):
    """Runs seeds first_seed .. first_seed+count-1; returns the summary dict (Totals.to_json).
    worker_code: Python source run as the worker instead of fuzzexec.worker (the tests' crash)."""
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="wasabi-fuzz-exec-"))
    findings_dir = findings_dir or str(scratch / "findings")
    totals, started = Totals(), time.monotonic()
    seeds = iter(range(first_seed, first_seed + count))
    selector = selectors.DefaultSelector()
    workers, spawned, last_report = [], 0, started

    def start_worker():
        nonlocal spawned
        worker = Worker(spawned, scratch, worker_code)
        spawned += 1
        selector.register(worker.process.stdout, selectors.EVENT_READ, worker)
        workers.append(worker)
        feed(worker)

    def feed(worker):
        seed = next(seeds, None)
        if seed is None:
            worker.job = None
            return
        worker.send({"seed": seed, "configs": configs_for(seed, scheme, full_every), "mix": mix,
                     "findings": findings_dir})

    def replace(worker, kind):
        job, state = worker.job, worker.state()
        if state and state.get("seed") != job["seed"]:
            state = None  # the worker died before it began this job (the record is the last one's)
        selector.unregister(worker.process.stdout)
        worker.stop()
        stderr = worker.stderr_path.read_text(errors="replace")[-4000:]
        status = worker.process.returncode
        how = signal.Signals(-status).name if status and status < 0 else f"exit {status}"
        path = findings.save_crash(findings_dir, kind, job["seed"], mix, state, f"{how}\n{stderr}")
        (totals.crashes if kind == "crash" else totals.hangs).append({"seed": job["seed"], "how": how,
                                                                     "state": state, "saved": path})
        workers.remove(worker)
        start_worker()

    def retire(worker):
        selector.unregister(worker.process.stdout)
        worker.process.stdin.close()
        worker.process.wait()
        worker.stderr.close()
        workers.remove(worker)

    for _ in range(max(1, jobs)):
        start_worker()
    while any(w.job for w in workers):
        for key, _ in selector.select(timeout=1.0):
            worker = key.data
            line = worker.process.stdout.readline()
            if not line:
                replace(worker, "crash")
                continue
            totals.add(json.loads(line))
            worker.done += 1
            if worker.done >= RECYCLE_AFTER:
                retire(worker)
                start_worker()
            else:
                feed(worker)
        now = time.monotonic()
        for worker in list(workers):
            if worker.job and now - worker.started > timeout:
                replace(worker, "hang")
        if log and now - last_report > 30:
            last_report = now
            log(f"{totals.modules} modules, {sum(totals.differences.values())} differences, "
                f"{len(totals.crashes)} crashes, {now - started:.0f}s")
    for worker in workers:
        selector.unregister(worker.process.stdout)
        worker.process.stdin.close()
        worker.stop()
    summary = totals.to_json(time.monotonic() - started)
    summary["findings_dir"] = findings_dir
    return summary
