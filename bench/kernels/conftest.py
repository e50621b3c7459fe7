"""Collects each kernel's best time per engine and prints the ratios at the end of the run."""
import math

RESULTS = {}   # (kernel, engine) -> best seconds


def record(kernel, engine, benchmark):
    stats = benchmark.stats.stats if hasattr(benchmark.stats, "stats") else benchmark.stats
    RESULTS[(kernel, engine)] = stats.min


def pytest_terminal_summary(terminalreporter):
    kernels = sorted({k for k, _ in RESULTS})
    if not kernels:
        return
    tr = terminalreporter
    tr.section("kernels: time ratios (best of rounds, same run)")
    tr.write_line(f"{'kernel':14s} {'native ms':>10s} {'wasabi/native':>14s} {'wasmtime/native':>16s}")
    logs = {"wasabi": [], "wasmtime": []}
    for k in kernels:
        native = RESULTS.get((k, "native"))
        row = f"{k:14s} {native * 1e3 if native else float('nan'):10.2f}"
        for engine in ("wasabi", "wasmtime"):
            t = RESULTS.get((k, engine))
            if t and native:
                logs[engine].append(math.log(t / native))
                row += f" {t / native:14.2f}" if engine == "wasabi" else f" {t / native:16.2f}"
            else:
                row += " " * (15 if engine == "wasabi" else 17) + "-"
        tr.write_line(row)
    for engine, vals in logs.items():
        if vals:
            tr.write_line(f"geometric mean {engine}/native: {math.exp(sum(vals) / len(vals)):.3f} "
                          f"over {len(vals)} kernels")
