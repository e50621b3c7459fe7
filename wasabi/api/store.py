"""Store: owns instances and externs, and says how modules compile in it.

Store(engine=None, *, options=None, limits=None, limiter=None): wasmer's engines
(wasabi.engine.Universal, Dylib, JIT, Native, each with an optional compiler)
choose a tier; `options` (a wasabi.Options) says it directly and wins over the
engine. `limits` (a wasabi.Limits) and `limiter` bound the memories, tables and
instances made in the store (wasabi/runtime/limits.py).
"""
from ..compiler.modes import strategy
from ..options import Options
from ..runtime.store import Store as _RuntimeStore
from .engine import _Engine


def check_options(options):
    """`options` if wasabi can compile with it now (its mode has a registered strategy,
    wasabi/compiler/modes); TypeError / ValueError otherwise."""
    if not isinstance(options, Options):
        raise TypeError(f"expected wasabi.Options, got {type(options).__name__}")
    strategy(options.mode)
    return options


class Store(_RuntimeStore):
    """All global state of a group of instances, and the engine that compiles their modules.

    ## Example

    ```py
from wasabi import Store, Module, engine

store = Store()                          # compiles with the default tier
assert store.engine_name == "universal"
module = Module(store, "(module)")

fast_compiles = Store(engine.Universal("singlepass"))
assert fast_compiles.options.tier == "T0"
    ```
    """

    def __init__(self, engine=None, *, options=None, limits=None, limiter=None):
        if engine is not None and not isinstance(engine, _Engine):
            raise TypeError("Unknown engine")
        super().__init__(engine, limits=limits, limiter=limiter)
        if options is None:
            options = engine.options() if engine is not None else Options()
        self.options = check_options(options)

    @property
    def engine_name(self):
        return self.engine.name if self.engine is not None else "universal"

    @property
    def compiler_name(self):
        """The engine's compiler; 'llvm' for a Store made without an engine."""
        return self.engine.compiler_name if self.engine is not None else "llvm"

    def __repr__(self):
        return (f"<wasabi Store: engine {self.engine_name}, tier {self.options.tier}, "
                f"{len(self.keep)} kept refs>")
