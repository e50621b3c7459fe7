"""EAGER mode: every function compiled before instantiation, into one JIT library.

Calls between the module's functions are direct (LLVM may inline them at O2).
A big module is built in parts on worker processes (parallel.py). The objects
are kept: they are the module's artifact (Module.serialize, the disk cache,
`wasabi compile`), and an artifact loads again by linking only (from_objects).
"""
import time as _time

from ...runtime.code import Code, CodeTable
from .. import parallel
from ..builder import BatchBuilder
from ..library import JitLibrary


class EagerCode(Code):
    """Compiled code of one module: a JitLibrary, its objects and symbols, stats."""
    mode = "eager"

    def __init__(self, library, code_options, objects, symbols, addresses, stats):
        super().__init__(CodeTable.fixed(addresses), code_options)
        self._library = library
        self.objects = list(objects)       # object bytes, one per part
        self.symbols = dict(symbols)       # func index -> symbol
        self._stats = dict(stats, **code_options.as_dict(), mode="eager",
                           functions_compiled=stats.get("functions", 0), batches=1)

    @property
    def stats(self):
        return self._stats

    @property
    def code_ranges(self):
        return self._library.code_ranges

    @property
    def code_range(self):
        """[begin, end) of the code of a module compiled in one part."""
        ranges = self.code_ranges
        if len(ranges) != 1:
            raise ValueError(f"the code is in {len(ranges)} ranges (code_ranges)")
        return ranges[0]

    @property
    def object_bytes(self):
        """The one object of a module compiled in one part (AOT writes it)."""
        if len(self.objects) != 1:
            raise ValueError(f"the code is {len(self.objects)} objects; compile with jobs=1 "
                             "for a single object")
        return self.objects[0]

    def artifact(self):
        return self.objects, self.symbols

    def close(self):
        self._library.close()

    def __repr__(self):
        return (f"<wasabi EagerCode: {len(self.symbols)} functions, tier {self.tier}, "
                f"{len(self.objects)} objects>")


def build(desc, options=None, *, jobs=None, builtin_addresses=None):
    """Compile every defined function of a validated module: an EagerCode.

    `jobs`: worker processes for a big module (default: the CPUs; 1: one object,
    compiled in this process). `builtin_addresses` defaults to the runtime's."""
    builder = BatchBuilder(desc, options, table_calls=False)
    jobs = parallel.default_jobs() if jobs is None else jobs
    library = JitLibrary()
    made = builder.build(library, builder.parts(jobs), jobs, builtin_addresses)
    return EagerCode(library, builder.code, made.objects, made.symbols, made.addresses,
                     made.stats)


def from_objects(objects, symbols, code_options, builtin_addresses=None):
    """EagerCode from stored objects (bytes, or the list of a module's parts) and
    their symbols ({func index: symbol}), compiled with the CodeOptions `code_options`:
    linked, nothing optimised or generated."""
    start = _time.perf_counter()
    objects = [objects] if isinstance(objects, bytes) else list(objects)
    library = JitLibrary()
    linked = library.link(objects, list(symbols.values()), builtin_addresses)
    stats = {"link_seconds": _time.perf_counter() - start, "functions": len(symbols)}
    return EagerCode(library, code_options, objects, symbols,
                     {i: linked[s] for i, s in symbols.items()}, stats)
