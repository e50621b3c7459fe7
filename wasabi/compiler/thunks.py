"""Per-signature thunks between the runtime's 16-byte value slots and compiled code.

- array_thunk(functype) -> address of `void thunk(ptr fn, ptr vmctx, ptr slots)`:
  loads the parameters from slots 0..n-1, calls fn(vmctx, params...), stores the
  results to slots 0..m-1. The runtime's entry trampoline calls it (_cy/entry.pxi).
- host_thunk(functype) -> address of a function with the wasm calling convention
  `(ptr hostrec, params...) -> results`: it stores the parameters to slots, calls
  @wasabi_rt_host_call(hostrec, slots) and returns the results read from the
  slots. A Python host function thus sits in vmctx->funcs or in a table as a
  wrt_func {host_thunk, hostrec, type_id} like any compiled wasm function.
- native_thunk(functype) -> address of `(ptr rec, params...) -> result` with the
  wasm calling convention: it loads a C function pointer from rec (its first
  word) and tail-calls it with the parameters, dropping the vmctx argument. A C
  function import (runtime/native.py) sits in a wrt_func {native_thunk, rec,
  type_id}: compiled code reaches the C function with a load and a jump.
- native_import_thunk(functype, fnptr) -> the same with the pointer built in,
  for an importer's own record {thunk, importer's vmctx, type_id}: a call
  through it needs no gate (the callee vmctx is the caller's) and no load.

A slot holds a value in its low bytes (i32/i64/f32/f64/ref) or a whole v128.
All thunks live in one process-wide LLJIT, one small library each, cached by
signature; they are never freed (there are few distinct signatures).
"""
import itertools as _itertools
import threading as _threading

from .. import _ext
from ..binary.types import V128
from .irtypes import LLVM_TYPE, return_type
from .library import runtime_builtin_addresses

SLOT_SIZE = 16
HOST_CALL = "wasabi_rt_host_call"

_lock = _threading.RLock()
_cache = {}
_counter = _itertools.count()
_jit = None


def _types(valtypes):
    return tuple(LLVM_TYPE[t] for t in valtypes)


def _slot(i):
    return f"getelementptr inbounds i8, ptr %slots, i64 {i * SLOT_SIZE}"


def _align(ty):
    return 16 if ty == LLVM_TYPE[V128] else 8


def array_thunk_ir(name, params, results):
    """IR of the array thunk for LLVM types params -> results."""
    lines = [f"define void @{name}(ptr %fn, ptr %vmctx, ptr %slots) nounwind {{"]
    args = []
    for i, ty in enumerate(params):
        lines.append(f"  %a{i}.p = {_slot(i)}")
        lines.append(f"  %a{i} = load {ty}, ptr %a{i}.p, align {_align(ty)}")
        args.append(f", {ty} %a{i}")
    rtype = return_type(results)
    call = f"call {rtype} %fn(ptr %vmctx{''.join(args)})"
    if not results:
        lines.append(f"  {call}")
    else:
        lines.append(f"  %r = {call}")
    for i, ty in enumerate(results):
        value = "%r"
        if len(results) > 1:
            value = f"%r{i}"
            lines.append(f"  {value} = extractvalue {rtype} %r, {i}")
        lines.append(f"  %s{i}.p = {_slot(i)}")
        lines.append(f"  store {ty} {value}, ptr %s{i}.p, align {_align(ty)}")
    lines.append("  ret void")
    lines.append("}")
    return "\n".join(lines) + "\n"


def host_thunk_ir(name, params, results):
    """IR of the host thunk for LLVM types params -> results."""
    rtype = return_type(results)
    plist = "".join(f", {ty} %p{i}" for i, ty in enumerate(params))
    count = max(1, len(params), len(results))
    lines = [f"declare void @{HOST_CALL}(ptr, ptr) nounwind",
             f"define {rtype} @{name}(ptr %hostrec{plist}) nounwind {{",
             f"  %slots = alloca [{count * 2} x i64], align 16"]
    for i, ty in enumerate(params):
        lines.append(f"  %a{i}.p = {_slot(i)}")
        lines.append(f"  store {ty} %p{i}, ptr %a{i}.p, align {_align(ty)}")
    lines.append(f"  call void @{HOST_CALL}(ptr %hostrec, ptr %slots)")
    for i, ty in enumerate(results):
        lines.append(f"  %r{i}.p = {_slot(i)}")
        lines.append(f"  %r{i} = load {ty}, ptr %r{i}.p, align {_align(ty)}")
    if not results:
        lines.append("  ret void")
    elif len(results) == 1:
        lines.append(f"  ret {results[0]} %r0")
    else:
        agg = "poison"
        for i, ty in enumerate(results):
            lines.append(f"  %agg{i} = insertvalue {rtype} {agg}, {ty} %r{i}, {i}")
            agg = f"%agg{i}"
        lines.append(f"  ret {rtype} {agg}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def native_thunk_ir(name, params, results):
    """IR of the native-import thunk for LLVM types params -> results (at most one:
    a C function returns one value)."""
    rtype = return_type(results)
    plist = "".join(f", {ty} %p{i}" for i, ty in enumerate(params))
    args = ", ".join(f"{ty} %p{i}" for i, ty in enumerate(params))
    call = f"tail call {rtype} %fn({args})"
    lines = [f"define {rtype} @{name}(ptr %rec{plist}) nounwind {{",
             "  %fn = load ptr, ptr %rec, align 8"]
    if results:
        lines += [f"  %r = {call}", f"  ret {rtype} %r"]
    else:
        lines += [f"  {call}", "  ret void"]
    lines.append("}")
    return "\n".join(lines) + "\n"


def native_import_thunk_ir(name, params, results, fnptr):
    """IR of a thunk that tail-calls the C function at `fnptr` without the vmctx."""
    return native_thunk_ir(name, params, results).replace(
        "  %fn = load ptr, ptr %rec, align 8\n", f"  %fn = inttoptr i64 {fnptr} to ptr\n")


def _thunk_jit():
    global _jit
    if _jit is None:
        _jit = _llvm_jit().new_jit()
    return _jit


def _llvm_jit():
    """compiler/jit.py, imported on the first thunk LLVM compiles: the array thunks
    the baseline's encoder writes need no LLVM, and a PGO program whose functions all go
    to the single-pass baseline then runs without importing it (35 ms of llvmlite)."""
    from . import jit
    return jit


def _compile(kind, functype, make_ir, imports, extra=None):
    key = (kind, tuple(functype.params), tuple(functype.results), extra)
    with _lock:
        address = _cache.get(key)
        if address is not None:
            return address
        name = f"wasabi_{kind}_thunk{next(_counter)}"
        text = make_ir(name, _types(functype.params), _types(functype.results))
        # T1's code generator without IR passes: a thunk is already what it should be
        tracker, addresses = _llvm_jit().link_ir(_thunk_jit(), text, "T1", [name], imports, name=name,
                                     passes=False, current_process=False)
        address = addresses[name]
        _cache[key] = address
        _trackers.append(tracker)          # keep the library alive for the process
        return address


_trackers = []


def array_thunk(functype):
    """Address of the array-call thunk for `functype` (params/results as type codes):
    the baseline compiler's encoder writes it where it can (no LLVM work: 35 ms less
    before a cold program's first call), LLVM otherwise."""
    key = ("array", tuple(functype.params), tuple(functype.results), None)
    with _lock:
        address = _cache.get(key) or _ext.baseline_array_thunk(functype.params, functype.results)
        if address:
            _cache[key] = address
            return address
    return _compile("array", functype, array_thunk_ir, {})


def host_thunk(functype, host_call_address=None):
    """Address of the host-call thunk for `functype`; it calls the runtime's host dispatch."""
    if host_call_address is None:
        host_call_address = runtime_builtin_addresses()[HOST_CALL]
    return _compile("host", functype, host_thunk_ir, {HOST_CALL: host_call_address})


def native_thunk(functype):
    """Address of the thunk that calls a C function (its pointer the first word of
    the record's vmctx) with `functype`'s parameters and no vmctx."""
    if len(functype.results) > 1:
        raise ValueError(f"a C function returns at most one value, not {functype}")
    return _compile("native", functype, native_thunk_ir, {})


def native_import_thunk(functype, fnptr):
    """Address of a thunk that calls the C function at `fnptr` with `functype`'s
    parameters, ignoring its vmctx (one per function pointer and signature)."""
    if len(functype.results) > 1:
        raise ValueError(f"a C function returns at most one value, not {functype}")
    return _compile("cfunc", functype,
                    lambda name, params, results: native_import_thunk_ir(name, params, results,
                                                                         fnptr), {}, fnptr)


# ---- thunks emitted into an object (AOT shared libraries, wasabi/aot/dylib.py) ----

THUNK_KINDS = ("array", "host", "native")


def object_thunk_symbol(kind, index):
    """The symbol of thunk `kind` for the `index`th signature of thunks_object_ir."""
    return f"wasabi_{kind}_thunk_t{index}"


def thunks_object_ir(functypes):
    """IR of the array, host and native thunks (native: at most one result) of each
    FuncType in `functypes`, named by object_thunk_symbol; the host thunks call
    @wasabi_rt_host_call as the JIT's do. Returns (text, {(kind, index): symbol})."""
    parts = [f"declare void @{HOST_CALL}(ptr, ptr) nounwind"]
    symbols = {}
    makers = {"array": array_thunk_ir, "host": host_thunk_ir, "native": native_thunk_ir}
    for index, functype in enumerate(functypes):
        params, results = _types(functype.params), _types(functype.results)
        for kind in THUNK_KINDS:
            if kind == "native" and len(results) > 1:
                continue
            name = object_thunk_symbol(kind, index)
            text = makers[kind](name, params, results)
            parts.append("".join(line + "\n" for line in text.splitlines()
                                 if not line.startswith("declare ")))
            symbols[(kind, index)] = name
    return "\n".join(parts), symbols
