"""Builds after exit: the first builds a PGO run still owed when its code was closed or
freed, or its process ended, are made by a worker process after the process ended,
each into a spool the next run links (profile_store.py), so that the next run starts
with them.

Why: a run makes its builds one at a time on the worker's core while it runs (SQLite:
5-9 in a run of 2 s), and a profile names many more functions hot (about 215): warm runs
took more than 20 runs to have them all.

    path = keeper._owed_payload()   # profile_store.ProfileKeeper.finish, in the program
    parallel.owe_after_exit(path)   # parallel.shutdown hands it to a worker at exit
    run(path)                       # in that worker (emit_worker), after the program

A payload (the module's bytes, its code options, the profile, the functions owed in
the order of their builds, the profile file's path, its budget: as long as its run took)
is a file beside the profile (an entry of the cache), so that the program sends the
worker only its name: a worker busy with a build reads its pipe only when done, and the
program must not wait for it. The worker makes the builds at a lower priority, for at
most profile_store.AFTER_EXIT_SECONDS over all the payloads it is given. Both budgets are
the worker's CPU time, not the clock's: on a busy machine it makes the same builds, later.
"""
import os as _os
import pathlib as _pathlib
import pickle as _pickle
import time as _time

from ...options import CodeOptions
from .. import profile_store

NICENESS = 10                   # the worker's, for these builds
_budget_end = None              # the end of this worker's after-exit time (CPU)


def run(path):
    """In the worker: make the builds the payload at `path` owes, each into its spool,
    until its time (or the worker's) is up; the payload file is removed first. Nothing
    it meets ends the worker (a payload it cannot use is dropped)."""
    try:
        with open(path, "rb") as source:
            payload = _pickle.load(source)
        _os.unlink(path)
        _run(payload)
    except Exception:           # noqa: BLE001 - see the docstring
        pass


def _run(payload):
    global _budget_end
    now = _time.process_time()
    if _budget_end is None:
        _budget_end = now + profile_store.AFTER_EXIT_SECONDS
        try:
            _os.nice(NICENESS)
        except OSError:
            pass
    deadline = min(now + payload["seconds"], _budget_end)
    from ...validate import parse
    from ..jit import emit_object
    from ..profile import Profile, ProfileCounts
    from .tiered import body_sizes, optimised_builder, translate_build
    desc = parse(payload["wasm"])
    stored = profile_store.decode(payload["profile"], payload["functions"],
                                  desc.num_imported_funcs)
    profile = Profile(payload["functions"])
    profile.load(stored.counts, stored.sites)
    code, counts, builders = CodeOptions(**payload["code"]), ProfileCounts(profile), {}

    def builder_at(tier):
        if tier not in builders:
            builders[tier] = optimised_builder(desc, code, tier, counts)
        return builders[tier]
    sizes = body_sizes(desc, profile.functions)
    for index in payload["owed"]:
        if _time.process_time() > deadline:
            return
        try:
            tier, batch = translate_build(builder_at, sizes, index)
            obj, _ = emit_object(batch.text, tier)
        except Exception:       # noqa: BLE001 - that one is left to a later run
            continue
        spool, prefix = profile_store.spool_request(
            _pathlib.Path(payload["path"]), index, batch.symbols, batch.osr_symbols, tier)
        profile_store.write_spooled(spool, prefix, obj)

