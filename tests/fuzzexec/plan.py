"""The calls a run makes: every exported function, with edge-case and random arguments.

A plan is a list of {"export": name, "args": [bits...]}: i32/f32 arguments as unsigned 32-bit
patterns, i64/f64 64-bit, v128 128-bit, references None (null). It depends only on the module's
exports and the seed, so a reducer that shrinks the module gets a matching plan for free.
binaryen's ttf modules count loop iterations and calls in a global (their hang limit); the plan
resets it before every call through the module's `hangLimitInitializer` export, as binaryen's own
harness does, so each call gets the full budget.
"""
from __future__ import annotations

import random

from .wasmbin import F32, F64, I32, I64, V128, PROBE_PREFIX, STATE_EXPORT

HANG_RESET = "hangLimitInitializer"

INT32 = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
         0xFFFFFFFF, 0xFFFFFFFE, 0xFFFF0000, 0x0000FFF0)
INT64 = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x100000000, 0x7FFFFFFFFFFFFFFF,
         0x8000000000000000, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFF80000000)
FLOAT32 = (0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000,  # ±0, ±1, ±inf
           0x7FC00000, 0xFFC00000, 0x7FA00001, 0xFF812345, 0x7FFFFFFF,  # qNaN, sNaN, payloads
           0x00000001, 0x807FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,  # subnormals, min, max
           0x4F000000, 0xCF000000, 0x5F000000, 0xDF000000, 0x3F000000, 0x4B000001)  # 2^31, 2^63
FLOAT64 = (0x0, 0x8000000000000000, 0x3FF0000000000000, 0xBFF0000000000000, 0x7FF0000000000000,
           0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000, 0x7FF4000000000001,
           0xFFF0123456789ABC, 0x0000000000000001, 0x800FFFFFFFFFFFFF, 0x0010000000000000,
           0x7FEFFFFFFFFFFFFF, 0x41E0000000000000, 0xC1E0000000000000, 0x43E0000000000000,
           0xC3E0000000000000, 0x41DFFFFFFFC00000, 0x3FE0000000000000)
POOLS = {I32: (32, INT32 + FLOAT32[:6]), I64: (64, INT64), F32: (32, FLOAT32), F64: (64, FLOAT64)}


def v128_argument(rng):
    shape = rng.randrange(4)
    if shape == 0:
        return rng.getrandbits(128)
    if shape == 1:
        lanes = [rng.choice(FLOAT32 + INT32) for _ in range(4)]
        return sum(lane << (32 * i) for i, lane in enumerate(lanes))
    if shape == 2:
        lanes = [rng.choice(FLOAT64 + INT64) for _ in range(2)]
        return sum(lane << (64 * i) for i, lane in enumerate(lanes))
    return rng.choice((0, (1 << 128) - 1, 0x80808080808080808080808080808080))


def argument(rng, valtype, mode):
    """One argument: zero (mode 0), an edge case (mode 1), or either edge or random bits."""
    if valtype == V128:
        return 0 if mode == 0 else v128_argument(rng)
    if valtype not in POOLS:
        return None  # a reference: null
    width, pool = POOLS[valtype]
    if mode == 0:
        return 0
    if mode == 1 or rng.random() < 0.6:
        return rng.choice(pool)
    return rng.getrandbits(width)


def callable_exports(module):
    """[(name, (params, results))] of the functions a plan calls (not the probes)."""
    return [(n, sig) for n, _, sig in module.exported_functions()
            if n != HANG_RESET and not n.startswith(PROBE_PREFIX) and n != STATE_EXPORT]


def make_plan(module, seed, rounds=3, max_calls=60):
    rng = random.Random(seed)
    targets = callable_exports(module)
    resets = any(n == HANG_RESET for n, _, _ in module.exports)
    plan = []
    for round_number in range(rounds):
        order = targets[:]
        rng.shuffle(order)
        for export_name, (params, _) in order:
            if resets:
                plan.append({"export": HANG_RESET, "args": []})
            plan.append({"export": export_name,
                         "args": [argument(rng, t, min(round_number, 2)) for t in params]})
            if len(plan) >= max_calls:
                return plan
    return plan
