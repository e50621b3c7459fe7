"""Modes are strategies over one pipeline: compile(desc, options) -> CompiledModule.

    compiled = modes.compile(wasabi.parse(data), Options(mode=Mode.LAZY))
    instance = compiled.instantiate(imports, store=store)   # a wasabi.runtime Instance

A strategy says when functions are built and how their code is published; the
steps are the same for all (compiler/builder.py: translate -> optimise -> emit
-> link into a JitLibrary; the addresses go into the Code's CodeTable, which is
all the runtime reads: runtime/code.py). Registered here:

- EAGER (eager.py): every function built before instantiation, in parts on
  worker processes for a big module; the code is an artifact (cached, serialized).
- LAZY (lazy.py): nothing built up front; each function (with the callees it is
  about to call) on its first call, through the table's stubs.
- REPL (lazy.py): LAZY code that also makes cells for live instances (runtime/cells.py).
- PGO (tiered.py): LAZY at T0 with counters; hot functions rebuilt at O2 with the
  counts as their profile, in the background, and swapped in through the table.

A new mode is a new Strategy: a `build(desc, options, **kwargs) -> Code` and
whether its code is an artifact the disk cache may keep. Reading the registry
loads no LLVM (the API checks a Store's mode with it): a strategy names its
build function as "module:function" of this package, imported on first build.
"""
import importlib as _importlib
from dataclasses import dataclass
from typing import Callable, Union

from ...options import Mode
from ...runtime.compiled import CompiledModule


@dataclass(frozen=True)
class Strategy:
    mode: Mode
    # (desc, options, **kwargs) -> runtime.code.Code, or "module:function" naming one here
    builder: Union[Callable, str]
    cached: bool = False     # its code is an artifact (Code.artifact()) the cache keeps
    profiled: bool = False   # its build takes stored_profile=<path> (compiler/profile_store.py)

    def build(self, desc, options, **kwargs):
        builder = self.builder
        if isinstance(builder, str):
            module, _, function = builder.partition(":")
            builder = getattr(_importlib.import_module(f"{__name__}.{module}"), function)
        return builder(desc, options, **kwargs)


STRATEGIES = {}


def register(strategy):
    STRATEGIES[strategy.mode] = strategy


def unregister(mode):
    STRATEGIES.pop(Mode(mode), None)


def strategy(mode):
    """The registered Strategy of `mode`; ValueError when there is none (yet)."""
    mode = Mode(mode)
    try:
        return STRATEGIES[mode]
    except KeyError:
        raise ValueError(f"mode {mode.name} is not available yet") from None


def compile(desc, options, **kwargs):
    """Compile a validated ModuleDesc (wasabi.parse) in options.mode.

    Keyword arguments go to the mode (lazy and repl: batch_limit)."""
    return CompiledModule(desc, strategy(options.mode).build(desc, options, **kwargs), options)


register(Strategy(Mode.EAGER, "eager:build", cached=True))
register(Strategy(Mode.LAZY, "lazy:build"))
register(Strategy(Mode.REPL, "lazy:build_repl"))
register(Strategy(Mode.PGO, "tiered:build", profiled=True))

__all__ = ["CompiledModule", "Strategy", "STRATEGIES", "compile", "register", "strategy",
           "unregister"]
