"""Is wasabi's run the same as wasmtime's? The first difference, or None.

Rules:
- values compare bit-exactly, except that any NaN equals any NaN (engines.norm already turns
  scalar NaNs into "nan"; v128 results compare lane-wise under the f32x4 and f64x2 readings, so
  that a NaN lane of a float SIMD operation may have any payload);
- a trap must be a trap of the same kind; wasmtime reports "out of bounds table" where wasabi
  distinguishes "out of bounds table access" from "undefined element" (call_indirect past the
  table's end), so those two match either way;
- "call stack exhausted" ends the comparison: the engines' stacks differ in size, so when either
  side runs out of stack, neither that call's outcome nor any state afterwards is compared (the
  two sides may have run different numbers of frames before it).
"""
from __future__ import annotations

from .engines import OOB_TABLE, STACK, UNDEFINED

TABLE_TRAPS = {OOB_TABLE, UNDEFINED}
M32, M64 = 2**32 - 1, 2**64 - 1


def is_nan32(bits):
    return (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF


def is_nan64(bits):
    return (bits >> 52 & 0x7FF) == 0x7FF and bits & 0xFFFFFFFFFFFFF


def lanes_match(a, b, width, is_nan):
    mask = (1 << width) - 1
    for lane in range(128 // width):
        x, y = a >> (lane * width) & mask, b >> (lane * width) & mask
        if x != y and not (is_nan(x) and is_nan(y)):
            return False
    return True


def same_value(a, b):
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str) and a.startswith("v128:") and b.startswith("v128:"):
        a, b = int(a[5:], 16), int(b[5:], 16)
        return lanes_match(a, b, 32, is_nan32) or lanes_match(a, b, 64, is_nan64)
    return False


def same_values(xs, ys):
    return len(xs) == len(ys) and all(same_value(x, y) for x, y in zip(xs, ys))


def same_trap(a, b):
    return a == b or (a in TABLE_TRAPS and b in TABLE_TRAPS)


def outcome_kind(outcome):
    if "results" in outcome:
        return "results"
    if "trap" in outcome:
        return "trap"
    return "error"


def first_difference(reference, got):
    """(call index or -1 for instantiation, what differs) or None; reference/got are Run.to_json()."""
    ref_inst, got_inst = reference["instantiation"], got["instantiation"]
    if "ok" in ref_inst or "ok" in got_inst:
        if ref_inst != got_inst:
            return -1, f"instantiation: wasmtime {ref_inst}, wasabi {got_inst}"
    elif not same_trap(ref_inst.get("trap"), got_inst.get("trap")):
        return -1, f"instantiation: wasmtime {ref_inst}, wasabi {got_inst}"
    for index, (ref, mine) in enumerate(zip(reference["calls"], got["calls"])):
        if ref.get("trap") == STACK or mine.get("trap") == STACK:
            return None
        what = call_difference(ref, mine)
        if what:
            return index, what
    if len(reference["calls"]) != len(got["calls"]):
        return len(got["calls"]), f"{len(got['calls'])} calls made, {len(reference['calls'])} expected"
    return None


def call_difference(ref, mine):
    kinds = outcome_kind(ref), outcome_kind(mine)
    if kinds[0] != kinds[1] or "error" in kinds:
        return f"outcome: wasmtime {brief(ref)}, wasabi {brief(mine)}"
    if kinds[0] == "trap" and not same_trap(ref["trap"], mine["trap"]):
        return f"trap kind: wasmtime {ref['trap']}, wasabi {mine['trap']}"
    if kinds[0] == "results" and not same_values(ref["results"], mine["results"]):
        return f"results: wasmtime {ref['results']}, wasabi {mine['results']}"
    if len(ref["log"]) != len(mine["log"]) or not all(
            x[0] == y[0] and same_values(x[1:], y[1:]) for x, y in zip(ref["log"], mine["log"])):
        return f"host calls: wasmtime {ref['log'][:8]}, wasabi {mine['log'][:8]}"
    if not same_values(ref["globals"], mine["globals"]):
        changed = [i for i, (x, y) in enumerate(zip(ref["globals"], mine["globals"])) if not same_value(x, y)]
        return f"globals {changed}: wasmtime {[ref['globals'][i] for i in changed]}, " \
               f"wasabi {[mine['globals'][i] for i in changed]}"
    if ref.get("memory") != mine.get("memory"):
        return f"memory (size:crc32): wasmtime {ref.get('memory')}, wasabi {mine.get('memory')}"
    return None


def brief(outcome):
    return {key: outcome[key] for key in ("results", "trap", "error") if key in outcome}


def classify(what, reference_call=None, wasabi_call=None):
    """A short name of the kind of difference, for counting."""
    if what.startswith("outcome") and reference_call and wasabi_call:
        ref_kind, got_kind = outcome_kind(reference_call), outcome_kind(wasabi_call)
        if ref_kind == "trap" and got_kind == "results":
            return f"missing-trap-{reference_call['trap']}"
        if ref_kind == "results" and got_kind == "trap":
            return f"extra-trap-{wasabi_call['trap']}"
        return f"outcome-{ref_kind}-vs-{got_kind}"
    if reference_call and wasabi_call and "trap" in reference_call and "trap" in wasabi_call:
        # the same trap, but wasabi ran further (or less far) before it: state after it differs
        return f"late-trap-{reference_call['trap']}-{what.split(':')[0].split(' ')[0]}"
    return what.split(":")[0].split(" ")[0]
