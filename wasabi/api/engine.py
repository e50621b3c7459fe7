"""Engines, as wasmer's `engine` module: Universal, Dylib and the deprecated JIT, Native.

wasabi has one engine (LLVM through llvmlite); these classes keep wasmer's names
and map the compiler they are given to a tier of that engine:

    singlepass -> T0 (fastest compile), cranelift -> T1 (the default), llvm -> O2

A compiler is anything wasmer accepted (a `Compiler` class from a
wasmer_compiler_* package, an object with a `name`) or simply its name as a
str. Without a compiler wasmer's engines were headless (could not compile);
wasabi always compiles, at the default tier, and reports compiler_name None.
A Target is accepted and kept; code is always compiled for this machine.
"""
import re as _re

from ..options import Options
from .target import Target

COMPILER_TIERS = {"singlepass": "T0", "cranelift": "T1", "llvm": "O2"}


def compiler_name(compiler):
    """'cranelift', 'llvm', 'singlepass' (or another name) for a wasmer-style compiler."""
    if compiler is None:
        return None
    if isinstance(compiler, str):
        return compiler.lower()
    name = getattr(compiler, "name", None)
    if isinstance(name, str):
        return name.lower()
    module = getattr(compiler, "__module__", "") or ""
    found = _re.match(r"wasmer_compiler_(\w+)", module)
    if found:
        return found.group(1).lower()
    return getattr(compiler, "__name__", type(compiler).__name__).lower()


class _Engine:
    name = None

    def __init__(self, compiler=None, target=None):
        if target is not None and not isinstance(target, Target):
            raise TypeError(f"expected a wasabi.target.Target, got {type(target).__name__}")
        self.compiler = compiler
        self.compiler_name = compiler_name(compiler)
        self.target = target

    @property
    def tier(self):
        return COMPILER_TIERS.get(self.compiler_name, "T1")

    def options(self):
        """The compilation Options this engine stands for."""
        return Options(tier=self.tier)

    def __repr__(self):
        return f"<wasabi engine {self.name} (compiler {self.compiler_name}, tier {self.tier})>"


class Universal(_Engine):
    """The engine that compiles modules into memory and runs them (wasabi's only one).

    ## Example

    ```py
from wasabi import Store, engine, target

store = Store(engine.Universal("llvm"))        # wasmer's compiler names choose a tier
assert store.compiler_name == "llvm" and store.options.tier == "O2"

triple = target.Triple.host()
features = target.CpuFeatures()
features.add("sse2")
store = Store(engine.Dylib("cranelift", target.Target(triple, features)))
assert store.engine_name == "dylib"
    ```
    """

    name = "universal"


class Dylib(_Engine):
    """wasmer's shared-object engine; wasabi compiles the same way as Universal."""

    name = "dylib"


class JIT(Universal):
    """Deprecated alias of Universal."""


class Native(Dylib):
    """Deprecated alias of Dylib."""


