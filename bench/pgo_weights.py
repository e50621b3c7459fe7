"""PGO's O2 builds with branch weights beside the same builds without (entry counts
only), and EAGER O2 (no profile: issue 15's "with profiles vs O2 without"),
interleaved in one process (best thread CPU time of ROUNDS: other processes' load
counts less than in wall time). Prints per kernel and geometric means.

Each build is measured at PLACEMENTS code addresses (module_ir.CODE_PADDING) and its
time is the geometric mean over them: the same machine code of k_interp runs up to
30% faster or slower with its address alone (measured on an AMD EPYC), more than
any profile changes, so one placement measures the placement.

    PYTHONPATH=$PWD python bench/pgo_weights.py [k_interp,k_sort,...] [ROUNDS] [PLACEMENTS]
"""
import math
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import wasabi  # noqa: E402
from wasabi.compiler import module_ir, profile  # noqa: E402
from kernels.build import KERNELS, build_wasm, load_native  # noqa: E402

# issue 15's branchy kernels: an interpreter loop, sort, a hash table, compression
BRANCHY = ("k_interp", "k_sort", "k_hashtable", "k_compress")
# the set this script reported before k_hashtable and k_compress were written (a hash
# function and a substring search in their places)
BRANCHY_BEFORE = ("k_interp", "k_sort", "k_hash", "k_strsearch")
# code placements: the k-th moves every build's code by k * PLACEMENT_STEP bytes
PLACEMENT_STEP = 16


def warmed(wasm, kernel, arg, branches):
    """A PGO module whose `kernel` was swapped for its O2 build (counted with or
    without branch counters, so built with or without weights)."""
    profile.BRANCHES = branches
    module = wasabi.compile(wasm, wasabi.Options(mode="pgo"))
    exports = wasabi.instantiate(module).exports
    index = module.desc.export(kernel).index
    end = time.monotonic() + 60
    while index not in module._code._optimized and time.monotonic() < end:
        getattr(exports, kernel)(arg)
        time.sleep(0.01)
    return module, getattr(exports, kernel)


def placed(wasm, kernel, arg, padding):
    """The three builds of `kernel`, their code moved by `padding` bytes."""
    module_ir.CODE_PADDING = padding
    try:
        keep = [warmed(wasm, kernel, arg, True), warmed(wasm, kernel, arg, False)]
        eager = wasabi.compile(wasm, wasabi.Options(mode="eager", tier="O2"))
    finally:
        module_ir.CODE_PADDING = 0
    return keep, {"weights": keep[0][1], "flat": keep[1][1],
                  "eager-O2": getattr(wasabi.instantiate(eager).exports, kernel)}


def best_times(runs, kernel, arg, expected, rounds):
    best = dict.fromkeys(runs, math.inf)
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.thread_time()
            assert run(arg) == expected, (kernel, name)
            best[name] = min(best[name], time.thread_time() - start)
    return best


def main(kernels, rounds, placements):
    wasm, native = build_wasm().read_bytes(), load_native()
    out = {}
    for kernel in kernels:
        arg = KERNELS[kernel]
        expected = getattr(native, kernel)(arg)
        per_placement = []
        for k in range(placements):
            keep, runs = placed(wasm, kernel, arg, k * PLACEMENT_STEP)
            per_placement.append(best_times(runs, kernel, arg, expected, rounds))
            del keep, runs
        best = {name: _mean([p[name] for p in per_placement]) for name in per_placement[0]}
        spread = {name: (min(p[name] for p in per_placement) * 1e3,
                         max(p[name] for p in per_placement) * 1e3) for name in best}
        out[kernel] = best
        print(f"{kernel:12s}" + "".join(
            f" {k} {v * 1e3:7.2f} ms ({spread[k][0]:.1f}-{spread[k][1]:.1f})"
            for k, v in best.items())
            + f"  flat/weights {best['flat'] / best['weights']:.3f}"
            + f"  eager-O2/weights {best['eager-O2'] / best['weights']:.3f}", flush=True)
    for label, kernels in (("branchy", BRANCHY), ("branchy before", BRANCHY_BEFORE),
                           ("all", list(out))):
        chosen = [k for k in kernels if k in out]
        if chosen:
            print(f"geomean {label}: " + ", ".join(
                f"{base}/weights {_geomean(out, chosen, base):.3f}"
                for base in ("flat", "eager-O2")) + " (> 1: weights are faster)")


def _mean(times):
    return math.exp(sum(map(math.log, times)) / len(times))


def _geomean(out, kernels, base):
    return math.exp(sum(math.log(out[k][base] / out[k]["weights"]) for k in kernels)
                    / len(kernels))


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else sorted(KERNELS),
         int(sys.argv[2]) if len(sys.argv) > 2 else 5,
         int(sys.argv[3]) if len(sys.argv) > 3 else 8)
