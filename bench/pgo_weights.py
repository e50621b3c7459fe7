"""PGO's O2 builds with branch weights beside the same builds without (entry counts
only), and EAGER O2 (no profile: issue 15's "with profiles vs O2 without"),
interleaved in one process (best thread CPU time of ROUNDS: other processes' load
counts less than in wall time). Beside them, the yardstick: the same C built natively
by clang -O2, with and without clang's own instrumented PGO (trained on the same
calls). Prints per kernel and geometric means.

Each build is measured at PLACEMENTS code addresses (module_ir.CODE_PADDING; the
native libraries are padded as much) and its time is the geometric mean over them:
the time of k_interp moves by up to 30% with its address, and more with the load of
this shared host (the same code, same address, 29-47 ms a minute apart): ratios are
taken within a placement, whose variants run interleaved, then averaged.

    PYTHONPATH=$PWD python bench/pgo_weights.py [k_interp,k_sort,...] [ROUNDS] [PLACEMENTS]
"""
import math
import pathlib
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import wasabi  # noqa: E402
from wasabi.compiler import module_ir, profile  # noqa: E402
from kernels.build import KERNELS, build_clang, build_wasm, clang_profile, load_native  # noqa: E402

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
    while not _swapped(module._code, index) and time.monotonic() < end:
        getattr(exports, kernel)(arg)
        time.sleep(0.01)
    return module, getattr(exports, kernel)


def _swapped(code, index):
    """Whether the kernel's hot code runs optimised: the kernel itself, or the callees
    of a kernel called too rarely to get hot itself (k_fib around fib_rec)."""
    return index in code._optimized or bool(code._optimized) and not code._is_hot(index)


def placed(wasm, kernel, arg, padding, clang_pgo):
    """The builds of `kernel`, their code moved by `padding` bytes: ours and, given
    clang's profile (.profdata), clang's."""
    module_ir.CODE_PADDING = padding
    try:
        keep = [warmed(wasm, kernel, arg, True), warmed(wasm, kernel, arg, False)]
        eager = wasabi.compile(wasm, wasabi.Options(mode="eager", tier="O2"))
    finally:
        module_ir.CODE_PADDING = 0
    runs = {"weights": keep[0][1], "flat": keep[1][1],
            "eager-O2": getattr(wasabi.instantiate(eager).exports, kernel)}
    if clang_pgo:
        runs["clang"] = getattr(load_native(build_clang(padding)), kernel)
        runs["clang-pgo"] = getattr(load_native(build_clang(padding, clang_pgo)), kernel)
    return keep, runs


def best_times(runs, kernel, arg, expected, rounds):
    best = dict.fromkeys(runs, math.inf)
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.thread_time()
            assert run(arg) == expected, (kernel, name)
            best[name] = min(best[name], time.thread_time() - start)
    return best


# the ratios reported: (label, slower, faster): > 1 when the second is faster
RATIOS = (("flat/weights", "flat", "weights"), ("eager-O2/weights", "eager-O2", "weights"),
          ("clang/clang-pgo", "clang", "clang-pgo"), ("clang/weights", "clang", "weights"))


def main(kernels, rounds, placements):
    wasm, native = build_wasm().read_bytes(), load_native()
    try:
        clang_pgo = clang_profile(kernels)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"no clang PGO beside ours: {exc}")
        clang_pgo = None
    out = {}
    for kernel in kernels:
        arg = KERNELS[kernel]
        expected = getattr(native, kernel)(arg)
        per_placement = []
        for k in range(placements):
            keep, runs = placed(wasm, kernel, arg, k * PLACEMENT_STEP, clang_pgo)
            per_placement.append(best_times(runs, kernel, arg, expected, rounds))
            del keep, runs
        out[kernel] = per_placement
        names = per_placement[0]
        print(f"{kernel:12s}" + "".join(
            f" {name} {_mean([p[name] for p in per_placement]) * 1e3:6.2f} ms"
            f" ({min(p[name] for p in per_placement) * 1e3:.1f}-"
            f"{max(p[name] for p in per_placement) * 1e3:.1f})" for name in names)
            + "".join(f"  {label} {_ratio(per_placement, a, b):.3f}"
                      for label, a, b in RATIOS if a in names), flush=True)
    for label, chosen in (("branchy", BRANCHY), ("branchy before", BRANCHY_BEFORE),
                          ("all", list(out))):
        if all(k in out for k in chosen):
            print(f"geomean {label}: " + ", ".join(
                f"{name} {_mean([_ratio(out[k], a, b) for k in chosen]):.3f}"
                for name, a, b in RATIOS if a in out[chosen[0]][0])
                + " (> 1: the second is faster)")


def _mean(values):
    return math.exp(sum(map(math.log, values)) / len(values))


def _ratio(per_placement, slower, faster):
    """The geometric mean over placements of slower/faster, each taken in its placement."""
    return _mean([p[slower] / p[faster] for p in per_placement])


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else sorted(KERNELS),
         int(sys.argv[2]) if len(sys.argv) > 2 else 5,
         int(sys.argv[3]) if len(sys.argv) > 3 else 8)
