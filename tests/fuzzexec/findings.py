"""Findings on disk, one directory each, in a form a reducer can use:

    <findings>/<kind>-<config>-seed<S>/
        module.wasm     the generated module (the probes are added again on every run)
        module.wat      its text (binaryen's wasm-dis), when available
        finding.json    kind, what differed, config, seed, generator, the plan up to the call
                        that differed, both engines' outcomes of that call, the replay command

Replay (exit status 1 while the difference or crash is still there; --brief prints only the
kind, so that `wasm-reduce` can compare outputs):

    python tests/fuzz_exec.py --check module.wasm --config T1/guard --plan-seed S [--brief]
    wasm-reduce module.wasm --command "python tests/fuzz_exec.py --check t.wasm --config T1/guard \
        --plan-seed S --brief" -t t.wasm -w w.wasm
"""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess


def replay_command(config, seed):
    return f"python tests/fuzz_exec.py --check module.wasm --config {config} --plan-seed {seed}"


def directory(root, kind, config, seed):
    path = pathlib.Path(root) / f"{kind}-{(config or 'any').replace('/', '_')}-seed{seed}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_module(path, data):
    (path / "module.wasm").write_bytes(data)
    if shutil.which("wasm-dis"):
        subprocess.run(["wasm-dis", str(path / "module.wasm"), "-o", str(path / "module.wat")],
                       capture_output=True)


def save_difference(root, data, description, config, result, entry):
    """Saves a difference found by runner.check_module; returns the directory's path."""
    seed = description["seed"]
    path = directory(root, entry["kind"], config, seed)
    write_module(path, data)
    index = entry["call"]
    reference_calls = entry.get("reference", result["reference"])["calls"]
    wasabi_calls = entry["wasabi"]["calls"]
    record = {
        "kind": entry["kind"], "what": entry["what"], "config": config, "seed": seed,
        "generator": description, "call_index": index,
        "plan": [] if index is None or index < 0 else
        runner_plan(data, seed)[:index + 1],
        "wasmtime": result["reference"]["instantiation"] if index == -1 else
        (reference_calls[index] if index < len(reference_calls) else None),
        "wasabi": entry["wasabi"]["instantiation"] if index == -1 else
        (wasabi_calls[index] if index < len(wasabi_calls) else None),
        "memory_ranges": entry.get("memory_ranges"),
        "replay": replay_command(config, seed),
    }
    (path / "finding.json").write_text(json.dumps(record, indent=1) + "\n")
    return str(path)


def runner_plan(data, seed):
    from .runner import prepare
    return prepare(data, seed)[2]


def save_crash(root, kind, seed, mix, state, stderr):
    """Saves a worker that died (kind "crash") or hung ("hang") on a module; returns the path."""
    from . import generate
    config = state.get("config") if state else None
    path = directory(root, kind, config, seed)
    record = {"kind": kind, "seed": seed, "config": config, "state": state,
              "stderr": stderr[-4000:], "replay": replay_command(config or "T1/guard", seed)}
    try:
        data, description = generate.generate(seed, mix)
        write_module(path, data)
        record["generator"] = description
        if state and state.get("call") is not None:
            record["plan"] = runner_plan(data, seed)[:state["call"] + 1]
    except Exception as error:  # the module could not be made again: say so, keep the rest
        record["regenerate_error"] = repr(error)
    (path / "finding.json").write_text(json.dumps(record, indent=1) + "\n")
    return str(path)
