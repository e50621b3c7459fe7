"""Machine code for a module: parse -> tier pipeline -> object -> LLJIT (JITLink).

compile_module(desc, options) translates every defined function, optimizes and
emits one PIC object, and links it into an LLJIT of its own (dropping the
CodeLibrary frees the code). The object bytes are kept for a disk cache or AOT;
link_object() loads such bytes again without running LLVM's optimizer.
"""
import itertools
import threading
import time

import llvmlite.binding as llvm

from ..abi.builtins import BUILTINS
from ..errors import CompileError
from .module_ir import CODE_BEGIN, CODE_END, translate_module
from .pipelines import optimize, target_machine

_library_names = itertools.count()
_names_lock = threading.Lock()


def _next_library_name():
    # LLJIT library names can never be reused, even after dispose
    with _names_lock:
        return f"wasabi_lib{next(_library_names)}"


def runtime_builtin_addresses():
    """The C runtime's builtin addresses (wasabi._ext), as import symbols for the JIT."""
    from .. import _ext
    addresses = _ext.builtin_addresses()
    missing = [b[0] for b in BUILTINS if b[0] not in addresses]
    if missing:
        raise RuntimeError(f"the runtime does not provide the builtins {missing}")
    return addresses


class CodeLibrary:
    """Compiled code of one module: function addresses, code range, object bytes, stats."""

    def __init__(self, jit, tracker, addresses, symbols, object_bytes, stats):
        self._jit = jit
        self._tracker = tracker
        self._addresses = addresses        # symbol -> address
        self.symbols = symbols             # func index -> symbol
        self.object_bytes = object_bytes
        self.code_range = (addresses[CODE_BEGIN], addresses[CODE_END])
        self.stats = stats
        self.tier = stats.get("tier")
        self.bounds = stats.get("bounds")    # the runtime builds memories to match
        self._registered = False

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
            _ext.register_code_range(*self.code_range)
            self._registered = True

    def close(self):
        """Unregister and free the code; no function of this library may run afterwards."""
        if self._registered:
            from .. import _ext
            _ext.unregister_code_range(*self.code_range)
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


def link_library(jit, object_bytes, exported, builtin_addresses=None):
    """Link an emitted object as a new library of `jit` (lazy modes add one per
    compile batch); returns (tracker, {exported symbol: address})."""
    if builtin_addresses is None:
        builtin_addresses = runtime_builtin_addresses()
    builder = llvm.JITLibraryBuilder().add_object_img(object_bytes)
    # libm / memcpy / memset that LLVM may call (e.g. loop idioms at O2)
    builder.add_current_process()
    for name, address in builtin_addresses.items():
        builder.import_symbol(name, address)
    for name in exported:
        builder.export_symbol(name)
    tracker = builder.link(jit, _next_library_name())
    return tracker, {name: tracker[name] for name in exported}


def link_object(object_bytes, symbols, builtin_addresses=None, stats=None):
    """Load an emitted object into a fresh LLJIT; `symbols` maps func index -> symbol."""
    start = time.perf_counter()
    jit = llvm.create_lljit_compiler(target_machine("T1"), use_jit_link=True)
    exported = [CODE_BEGIN, CODE_END, *symbols.values()]
    tracker, addresses = link_library(jit, object_bytes, exported, builtin_addresses)
    stats = dict(stats or {})
    stats["link_seconds"] = time.perf_counter() - start
    library = CodeLibrary(jit, tracker, addresses, dict(symbols), object_bytes, stats)
    _check_code_range(library)
    return library


def _check_code_range(library):
    begin, end = library.code_range
    for index in library.symbols:
        if not begin < library.func_address(index) < end:
            raise RuntimeError(f"function {index} lies outside the code range markers")


def emit_object(ir_text, tier):
    """Parse, verify, optimize and emit; returns (object bytes, timings)."""
    tm = target_machine(tier)
    t0 = time.perf_counter()
    try:
        module = llvm.parse_assembly(ir_text)
        module.verify()
    except RuntimeError as exc:
        raise CompileError(f"internal compiler error: invalid LLVM IR: {exc}") from exc
    t1 = time.perf_counter()
    optimize(module, tm, tier)
    t2 = time.perf_counter()
    obj = tm.emit_object(module)
    t3 = time.perf_counter()
    return obj, {"parse_seconds": t1 - t0, "optimize_seconds": t2 - t1,
                 "codegen_seconds": t3 - t2}


def compile_module(desc, options=None, builtin_addresses=None, register=True):
    """Compile every defined function of a validated module; returns a CodeLibrary.

    `options` needs `tier` ("T0", "T1", "O2") and `bounds` ("guard", "explicit");
    wasabi.options.Options has both. `builtin_addresses` defaults to the runtime's.
    With `register`, the code range is registered with the runtime's fault handler.
    """
    tier = getattr(options, "tier", "T1")
    bounds = getattr(options, "bounds", "guard")
    tm = target_machine(tier)
    module_ir = translate_module(desc, bounds, triple=tm.triple, datalayout=str(tm.target_data))
    obj, stats = emit_object(module_ir.text, tier)
    stats.update(tier=tier, bounds=bounds, functions=len(module_ir.symbols),
                 instructions=module_ir.instructions, body_bytes=module_ir.body_bytes,
                 ir_chars=len(module_ir.text), object_bytes=len(obj),
                 translate_seconds=module_ir.translate_seconds)
    library = link_object(obj, module_ir.symbols, builtin_addresses, stats)
    if register:
        library.register_code_range()
    return library
