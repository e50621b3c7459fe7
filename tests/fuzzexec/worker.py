"""The worker process: reads jobs (JSON lines) on stdin, answers one JSON line per job on stdout.

A job is {"seed": S, "configs": [...], "mix": {...}, "findings": DIR}. Before each wasabi call the
worker writes {"seed", "config", "call"} into its state file (the driver's record when the worker
dies: a SIGSEGV or abort in compiled code is a finding). Differences it finds itself it saves
as findings (findings.save). Run as `python -m fuzzexec.worker STATE_FILE` with tests/ on the path.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

from . import findings, generate, runner, wasmbin


class StateFile:
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def write(self, record):
        line = (json.dumps(record) + "\n").encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, line, 0)


def run_job(job, state):
    seed = job["seed"]
    state.write({"seed": seed, "config": None, "call": None, "stage": "generate"})
    started = time.perf_counter()
    try:
        data, description = generate.generate(seed, job.get("mix"))
    except generate.Skip as skip:
        return {"seed": seed, "status": "skip", "why": str(skip)}
    if not runner.reference_accepts(data):
        return {"seed": seed, "status": "skip", "why": "wasmtime rejects the generated module"}
    generated = time.perf_counter() - started

    def progress(config, index):
        state.write({"seed": seed, "config": config, "call": index, "stage": "wasabi"})
    try:
        result = runner.check_module(data, seed, job["configs"], progress)
    except wasmbin.BadModule as error:
        return {"seed": seed, "status": "skip", "why": f"probe: {error}"}
    summary = {"seed": seed, "status": "ok", "generator": description["generator"],
               "generate_seconds": generated, "reference_seconds": result["reference_seconds"],
               "calls": result["runnable"], "configs": {}}
    for config, entry in result["configs"].items():
        summary["configs"][config] = {"seconds": entry["seconds"], "kind": entry.get("kind")}
        if entry.get("kind") and not entry["kind"].startswith("nan-state") and job.get("findings"):
            summary["configs"][config]["saved"] = findings.save_difference(
                job["findings"], data, description, config, result, entry)
    return summary


def main(argv=None):
    argv = [a for a in sys.argv[1:] if a != "-c"] if argv is None else argv
    state = StateFile(argv[0])
    for line in sys.stdin:
        job = json.loads(line)
        try:
            answer = run_job(job, state)
        except Exception:  # a harness bug: reported, the worker goes on
            answer = {"seed": job["seed"], "status": "harness-error", "why": traceback.format_exc()[-2000:]}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
