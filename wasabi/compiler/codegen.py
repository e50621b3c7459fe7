"""Machine code for a module: parse -> tier pipeline -> object -> LLJIT (JITLink).

compile_module(desc, options) translates every defined function, optimizes and
emits PIC objects (one, or one per part of a big module: parallel.py), and
links them into an LLJIT of its own (dropping the CodeLibrary frees the code).
The object bytes are kept for a disk cache or AOT; link_object() loads such
bytes again without running LLVM's optimizer.
"""
import time as _time

from ..abi.builtins import BUILTINS
from . import parallel
from .jit import emit_object, link_objects, new_jit
from .module_ir import code_markers, translate_module
from .pipelines import target_machine

def runtime_builtin_addresses():
    """The C runtime's builtin addresses (wasabi._ext), as import symbols for the JIT."""
    from .. import _ext
    addresses = _ext.builtin_addresses()
    missing = [b[0] for b in BUILTINS if b[0] not in addresses]
    if missing:
        raise RuntimeError(f"the runtime does not provide the builtins {missing}")
    return addresses


class CodeLibrary:
    """Compiled code of one module: function addresses, code ranges, objects, stats."""

    def __init__(self, jit, tracker, addresses, symbols, objects, stats):
        self._jit = jit
        self._tracker = tracker
        self._addresses = addresses        # symbol -> address
        self.symbols = symbols             # func index -> symbol
        self.objects = list(objects)       # object bytes, one per part
        # [begin, end) of each part's code, between its markers
        self.code_ranges = [(addresses[b], addresses[e])
                            for b, e in map(code_markers, range(len(self.objects)))]
        self.stats = stats
        self.tier = stats.get("tier")
        self.bounds = stats.get("bounds")    # the runtime builds memories to match
        self.fuel = bool(stats.get("fuel"))  # compiled with fuel accounting
        self.interruptible = bool(stats.get("interruptible", True))   # with interrupt polls
        self._registered = False

    @property
    def object_bytes(self):
        """The one object of a module compiled in one part (AOT writes it)."""
        if len(self.objects) != 1:
            raise ValueError(f"the code is {len(self.objects)} objects; compile with jobs=1 "
                             "for a single object")
        return self.objects[0]

    @property
    def code_range(self):
        """[begin, end) of the code of a module compiled in one part."""
        if len(self.code_ranges) != 1:
            raise ValueError(f"the code is in {len(self.code_ranges)} ranges (code_ranges)")
        return self.code_ranges[0]

    def func_address(self, func_index):
        """The machine code address of defined function `func_index`."""
        try:
            return self._addresses[self.symbols[func_index]]
        except KeyError:
            raise KeyError(f"function {func_index} is not in this code library") from None

    def register_code_range(self):
        """Tell the runtime's fault handler that faults in this code may be wasm traps."""
        if not self._registered:
            from .. import _ext
            for begin, end in self.code_ranges:
                _ext.register_code_range(begin, end)
            self._registered = True

    def close(self):
        """Unregister and free the code; no function of this library may run afterwards."""
        if self._registered:
            from .. import _ext
            for begin, end in self.code_ranges:
                _ext.unregister_code_range(begin, end)
            self._registered = False
        if self._jit is not None:
            self._tracker.close()
            self._jit.close()
            self._jit = self._tracker = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def link_library(jit, objects, exported, builtin_addresses=None):
    """Link emitted objects (bytes, or a list of them that call each other) as a new
    library of `jit` (lazy modes add one per compile batch), importing the runtime's
    builtins; returns (tracker, {exported symbol: address})."""
    if builtin_addresses is None:
        builtin_addresses = runtime_builtin_addresses()
    return link_objects(jit, objects, exported, builtin_addresses)


def link_object(objects, symbols, builtin_addresses=None, stats=None):
    """Load emitted objects (bytes, or the list of a module's parts) into a fresh
    LLJIT; `symbols` maps func index -> symbol."""
    start = _time.perf_counter()
    objects = [objects] if isinstance(objects, bytes) else list(objects)
    jit = new_jit()
    markers = [name for part in range(len(objects)) for name in code_markers(part)]
    tracker, addresses = link_library(jit, objects, [*markers, *symbols.values()],
                                      builtin_addresses)
    stats = dict(stats or {})
    stats["link_seconds"] = _time.perf_counter() - start
    library = CodeLibrary(jit, tracker, addresses, dict(symbols), objects, stats)
    _check_code_range(library)
    return library


def _check_code_range(library):
    for index in library.symbols:
        address = library.func_address(index)
        if not any(begin < address < end for begin, end in library.code_ranges):
            raise RuntimeError(f"function {index} lies outside the code range markers")


def compile_module(desc, options=None, builtin_addresses=None, register=True, jobs=None):
    """Compile every defined function of a validated module; returns a CodeLibrary.

    `options` needs `tier` ("T0", "T1", "O2") and `bounds` ("guard", "explicit");
    wasabi.options.Options has both. `builtin_addresses` defaults to the runtime's.
    With `register`, the code ranges are registered with the runtime's fault handler.
    `jobs`: worker processes for a big module (parallel.py; default: the CPUs,
    1: one object compiled in this process).
    """
    tier = getattr(options, "tier", "T1")
    bounds = getattr(options, "bounds", "guard")
    fuel = getattr(options, "fuel", False)
    interruptible = getattr(options, "interruptible", True)
    tm = target_machine(tier)
    jobs = parallel.default_jobs() if jobs is None else jobs
    parts = parallel.partition(desc, tier, jobs)
    translated = []

    def translate_part(k):
        module_ir = translate_module(desc, bounds, None if len(parts) == 1 else parts[k],
                                     triple=tm.triple, datalayout=str(tm.target_data), part=k,
                                     fuel=fuel, interruptible=interruptible)
        translated.append(module_ir)
        return module_ir.text

    if len(parts) == 1:
        emitted = [emit_object(translate_part(0), tier)]
    else:
        emitted = parallel.emit_parts(translate_part, len(parts), tier, jobs)
    objects = [obj for obj, _ in emitted]
    stats = {key: sum(timings[key] for _, timings in emitted) for key in emitted[0][1]}
    stats.update(tier=tier, bounds=bounds, fuel=fuel, interruptible=interruptible,
                 parts=len(parts),
                 functions=sum(len(m.symbols) for m in translated),
                 instructions=sum(m.instructions for m in translated),
                 body_bytes=sum(m.body_bytes for m in translated),
                 ir_chars=sum(len(m.text) for m in translated),
                 object_bytes=sum(map(len, objects)),
                 translate_seconds=sum(m.translate_seconds for m in translated))
    symbols = {index: symbol for m in translated for index, symbol in m.symbols.items()}
    library = link_object(objects, symbols, builtin_addresses, stats)
    if register:
        library.register_code_range()
    return library
