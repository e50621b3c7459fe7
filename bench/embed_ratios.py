"""Shared by bench/test_calls.py, test_memory.py and test_threads.py: the per-operation
times of one run and the ratios the embedding must reach, printed at the end.

Each figure is the best round (min): on a shared machine it is the least disturbed one.
A ratio line ends in "ok" or "MISSED (target ...)"; nothing here fails the run.
"""
import pytest

import wasabi
from wasabi import compiler as codegen
from wasabi.runtime import instantiate


class Report:
    def __init__(self):
        self.times = {}          # label -> seconds per operation
        self.checks = []         # (title, numerator label, denominator label, op, target)

    def record(self, label, benchmark, operations=1):
        per_op = benchmark.stats.stats.min / operations
        self.times[label] = per_op
        benchmark.extra_info["seconds_per_op"] = per_op
        return per_op

    def check(self, title, numerator, denominator, op, target):
        """A ratio numerator/denominator that must be `op` ("<=" or ">=") `target`."""
        if (title, numerator, denominator, op, target) not in self.checks:
            self.checks.append((title, numerator, denominator, op, target))

    def lines(self):
        if not self.times:
            return []
        out = ["embedding (best round per operation):"]
        for label, t in self.times.items():
            out.append(f"  {label:44} {_format_time(t)}")
        for title, num, den, op, target in self.checks:
            if num not in self.times or den not in self.times:
                continue
            ratio = self.times[num] / self.times[den]
            good = ratio <= target if op == "<=" else ratio >= target
            verdict = "ok" if good else f"MISSED (target {op} {target:g})"
            out.append(f"  {title:60} {ratio:10.3f}  {verdict}")
        return out


def _format_time(seconds):
    if seconds < 1e-6:
        return f"{seconds * 1e9:9.1f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:9.2f} us"
    return f"{seconds * 1e3:9.2f} ms"


REPORT = Report()


@pytest.fixture(scope="session")
def embed_report(request):
    """The report, hooked into bench/conftest.py's end-of-run SUMMARIES list."""
    for plugin in request.config.pluginmanager.get_plugins():
        summaries = getattr(plugin, "SUMMARIES", None)
        if isinstance(summaries, list) and REPORT.lines not in summaries:
            summaries.append(REPORT.lines)
    return REPORT


def wasabi_instance(wat, imports=None):
    import wasmtime
    desc = wasabi.parse(wasmtime.wat2wasm(wat))
    return instantiate(desc, codegen.compile_module(desc), imports or {})


def wasmtime_instance(wat, imports=()):
    import wasmtime
    store = wasmtime.Store()
    module = wasmtime.Module(store.engine, wasmtime.wat2wasm(wat))
    return store, wasmtime.Instance(store, module, list(imports))
