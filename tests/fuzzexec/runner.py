"""One module, start to end: probe it, run the plan on wasmtime, then on wasabi per config.

`check_module` is what both the worker (a job per seed) and the command line's --check (one
file, for reducers) call. It returns a JSON-able result: the configs run, per config the first
difference (if any) and timings.
"""
from __future__ import annotations

import time

from . import compare, engines, plan as plans, wasmbin

TIERS = ("T0", "T1", "O2")
BOUNDS = ("guard", "explicit")
CONFIGS = tuple(f"{tier}/{bounds}" for tier in TIERS for bounds in BOUNDS)


def prepare(data, plan_seed):
    """(probed bytes, parsed module, plan); BadModule if the bytes are outside what we handle."""
    probed = wasmbin.add_probes(data)
    module = wasmbin.parse(probed)
    return probed, module, plans.make_plan(module, plan_seed)


def check_module(data, plan_seed, configs, progress=None, tolerate_nan_state=False):
    """Runs `data` on wasmtime and on wasabi in each config; the result dict described above.

    progress(config, call index) is called before each wasabi call (the worker's crash record).
    With tolerate_nan_state (modules without --denan), a difference only in globals, memory or
    the log, in a run whose values met a NaN, is counted as "nan-state", not as a difference.
    """
    probed, module, plan = prepare(data, plan_seed)
    started = time.perf_counter()
    reference, runnable = engines.run_wasmtime(probed, module, plan)
    result = {"plan_length": len(plan), "runnable": runnable, "configs": {},
              "reference_seconds": time.perf_counter() - started, "reference": reference.to_json()}
    for config in configs:
        tier, bounds = config.split("/")
        started = time.perf_counter()
        report = None if progress is None else (lambda index, c=config: progress(c, index))
        try:
            got = engines.run_wasabi(probed, module, plan[:runnable], tier, bounds, report).to_json()
        except Exception as error:  # a compile error or a Python exception is a finding too
            got = {"instantiation": {"error": f"{type(error).__name__}: {error}"}, "calls": []}
        entry = {"seconds": time.perf_counter() - started}
        difference = compare.first_difference(reference.to_json(), got)
        if difference is not None:
            index, what = difference
            ref_call = reference.calls[index] if 0 <= index < len(reference.calls) else None
            got_call = got["calls"][index] if 0 <= index < len(got["calls"]) else None
            kind = compare.classify(what, ref_call, got_call)
            if tolerate_nan_state and kind in ("host", "globals", "memory") and met_nan(reference, got):
                kind = "nan-state"
            entry.update(call=index, what=what, kind=kind, wasabi=got,
                         call_entry=plan[index] if 0 <= index < len(plan) else None)
        result["configs"][config] = entry
    return result


def met_nan(reference, got):
    """Did any value either run saw (results, log, globals) contain a NaN?"""
    text = repr(reference.to_json()) + repr(got)
    return "'nan'" in text
