"""Compilation options: the mode (a strategy over the one pipeline) and its knobs."""
import enum as _enum
from dataclasses import dataclass


class Mode(_enum.Enum):
    EAGER = "eager"   # validate, compile every function, then instantiate (the seed's "Regular")
    LAZY = "lazy"     # validate everything; compile each function on its first call
    REPL = "repl"     # LAZY + add functions to a live instance
    AOT = "aot"       # emit objects / executables / shared libraries
    PGO = "pgo"       # fast tier with counters, hot functions recompiled and swapped in


TIERS = ("T0", "T1", "O2")
BOUNDS = ("guard", "explicit")
MEMORIES = ("cow", "anonymous")


@dataclass(frozen=True)
class CodeOptions:
    """The switches machine code depends on, and nothing else: the one record the
    builder translates by, a Code reports, an artifact's header stores and the disk
    cache keys on (see Options for what each one means)."""
    tier: str = "T1"
    bounds: str = "guard"
    fuel: bool = False
    interruptible: bool = True

    FIELDS = ("tier", "bounds", "fuel", "interruptible")

    def __post_init__(self):
        if self.tier not in TIERS:
            raise ValueError(f"tier must be one of {TIERS}, not {self.tier!r}")
        if self.bounds not in BOUNDS:
            raise ValueError(f"bounds must be one of {BOUNDS}, not {self.bounds!r}")
        for name in ("fuel", "interruptible"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, not {getattr(self, name)!r}")

    @classmethod
    def of(cls, options):
        """The code options of `options` (an Options, a CodeOptions, or None: defaults)."""
        if isinstance(options, CodeOptions):
            return options
        if options is None:
            return cls()
        return options.code

    def as_dict(self):
        return {name: getattr(self, name) for name in self.FIELDS}


@dataclass(frozen=True)
class Options:
    mode: Mode = Mode.EAGER
    tier: str = "T1"          # T0: O0 + codegen O0; T1: light IR passes + codegen O1; O2: full O2
    bounds: str = "guard"     # guard: 8 GiB reservation + guard pages; explicit: checks in code
    # what an instance's memories are: "cow", a memfd, so that instance.clone() is
    # copy-on-write (pages fault in as shared memory: a first touch costs about 2x);
    # "anonymous", plain pages (faster first touch; a clone copies every byte)
    memory: str = "cow"
    # EAGER: machine code from and to the on-disk cache (compiler/cache.py), so that
    # compiling the same bytes again links the stored code instead
    cache: bool = False
    # the most bytes the cache directory may hold: past it the least recently used
    # entries go (None: $WASABI_CACHE_SIZE, else 512 MiB, as wasmtime's default)
    cache_size: int = None
    # fuel accounting compiled into the code (emit/fuel.py): wasm consumes the store's
    # fuel (Store.set_fuel) and traps with OutOfFuel when it runs out, as wasmtime's
    # consume_fuel; off, the code is exactly what it is without it
    fuel: bool = False
    # polls of the interrupt word at function entries (loops are stopped by signal,
    # _native/preempt.c), so that Ctrl-C, store.interrupt() and deadlines can stop
    # the code (control.c); off, function entries do not poll (loops still can be)
    interruptible: bool = True

    def __post_init__(self):
        if not isinstance(self.mode, Mode):
            object.__setattr__(self, "mode", Mode(str(self.mode).lower()))
        self.code                   # checks the code switches
        if self.cache_size is not None and not (isinstance(self.cache_size, int)
                                                and self.cache_size >= 0):
            raise ValueError(f"cache_size must be a number of bytes, not {self.cache_size!r}")
        if self.memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, not {self.memory!r}")

    @property
    def code(self):
        """The switches the machine code depends on (CodeOptions)."""
        return CodeOptions(self.tier, self.bounds, self.fuel, self.interruptible)
