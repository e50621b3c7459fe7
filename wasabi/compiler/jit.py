"""IR text -> object -> linked address: the compiler's one door to llvmlite.binding
(with pipelines.py, which makes the target machines and runs the tiers' passes).

- emit_object(ir_text, tier): parse, verify, optimize and emit one object
- new_jit(): an LLJIT (JITLink) for the host
- link_objects(jit, objects, exported, imports): the objects as a new library of the JIT
- link_ir(jit, ir_text, tier, exported, imports): both steps, for code made in one piece

Every path from IR text to a callable address goes through emit_object and
link_objects: every mode's builds (builder.py, parts also emitted on worker
processes), thunks (thunks.py), an artifact (library.py, linking only).
"""
import itertools as _itertools
import os as _os
import re as _re
import threading as _threading
import time as _time

import llvmlite.binding as _llvm

from ..errors import CompileError
from .pipelines import (HOT_LOOP_ALIGNMENT, LOOP_ALIGNMENT, align_innermost_loops, optimize,
                        target_machine)

_library_names = _itertools.count()
_names_lock = _threading.Lock()


def _next_library_name():
    # LLJIT library names can never be reused, even after dispose
    with _names_lock:
        return f"wasabi_lib{next(_library_names)}"


def verifies(tier):
    """Whether emit_object runs LLVM's verifier on the IR of `tier`: always, unless
    WASABI_VERIFY_IR=0 for T0 (the verifier is 8% of a T0 compile of sqlite3.wasm).
    On by default because it is what turns a translator bug into an exception: LLVM
    given invalid IR may abort the process (this llvmlite has assertions on). The
    test suites set WASABI_VERIFY_IR=1 (tests/conftest.py, tests/fuzz_exec.py)."""
    return tier != "T0" or _os.environ.get("WASABI_VERIFY_IR") != "0"


def emit_object(ir_text, tier, passes=True):
    """Parse, verify (see verifies), optimize (unless not `passes`) and emit; returns
    (object bytes, timings)."""
    tm = target_machine(tier)
    t0 = _time.perf_counter()
    try:
        module = _llvm.parse_assembly(ir_text)
        if verifies(tier):
            module.verify()
    except RuntimeError as exc:
        raise CompileError(f"internal compiler error: invalid LLVM IR: {exc}") from exc
    t1 = _time.perf_counter()
    profiled = '"function_entry_count"' in ir_text          # a PGO build
    if passes:
        optimize(module, tm, tier)
        if profiled:
            module = _without_call_graph_profile(module)
    t2 = _time.perf_counter()
    align_innermost_loops(HOT_LOOP_ALIGNMENT if profiled else LOOP_ALIGNMENT)
    obj = tm.emit_object(module)
    t3 = _time.perf_counter()
    return obj, {"parse_seconds": t1 - t0, "optimize_seconds": t2 - t1,
                 "codegen_seconds": t3 - t2}


def _without_call_graph_profile(module):
    """The module without the call graph LLVM's CGProfile pass records when functions
    carry entry counts (PGO builds): it becomes a .llvm.call-graph-profile section with
    SHT_REL relocations, which JITLink refuses, and only a static linker has a use for it
    (we set no other module flags)."""
    text = str(module)
    if '!"CG Profile"' not in text:
        return module
    return _llvm.parse_assembly(_re.sub(r"^!llvm\.module\.flags = .*$", "", text, flags=_re.M))


def new_jit():
    """A fresh LLJIT linking with JITLink; closing it frees its libraries' code."""
    return _llvm.create_lljit_compiler(target_machine("T1"), use_jit_link=True)


def link_objects(jit, objects, exported, imports, name=None, current_process=True):
    """Link objects (bytes, or a list of them that call each other) as a new library of
    `jit`; `imports` maps symbol -> address (the runtime's builtins), `current_process`
    resolves the rest in this process (libm, memcpy, memset that LLVM may call).
    Returns (tracker, {exported symbol: address}); the tracker keeps the code alive."""
    builder = _llvm.JITLibraryBuilder()
    for object_bytes in [objects] if isinstance(objects, bytes) else objects:
        builder.add_object_img(object_bytes)
    if current_process:
        builder.add_current_process()
    for symbol, address in imports.items():
        builder.import_symbol(symbol, address)
    for symbol in exported:
        builder.export_symbol(symbol)
    tracker = builder.link(jit, name or _next_library_name())
    return tracker, {symbol: tracker[symbol] for symbol in exported}


def link_ir(jit, ir_text, tier, exported, imports, name=None, passes=True,
            current_process=True):
    """emit_object then link_objects: (tracker, {exported symbol: address})."""
    obj, _ = emit_object(ir_text, tier, passes)
    return link_objects(jit, obj, exported, imports, name, current_process)
