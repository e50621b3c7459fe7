"""One run of a plan on one engine: wasmtime (the reference) or wasabi in one configuration.

Both sides instantiate the same probed bytes (wasmbin.add_probes) with the same host imports:
every imported function records its name and arguments in a log and returns zeros. After each
call a run records the outcome (results or trap code), the log entries the call made, every
global (through the __fz_state probe) and a hash of memory 0.

Values are normalised to JSON-able forms by their wasm type: integers as unsigned ints, floats
as their bits except that any NaN is "nan", v128 as "v128:<32 hex digits>", references as
"null"/"ref".
The reference side calls the integer-only probes (wasmtime's Python API cannot pass v128 and
rounds f32 through doubles); wasabi calls the exports themselves with exact bits (call_bits).
wasmtime counts fuel, so that a call that does not end is found on the reference side and never
given to wasabi (the plan is cut there).
"""
from __future__ import annotations

import functools
import struct
import zlib

from . import wasmbin
from .wasmbin import EXTERNREF, F32, F64, FUNCREF, I32, I64, V128, NAMES, REFS

FUEL = 20_000_000
# wasabi.abi.traps codes (kept here as numbers: the reference side must not import wasabi)
UNREACHABLE, DIV_ZERO, OVERFLOW, CONVERSION, OOB_MEMORY, OOB_TABLE = 1, 2, 3, 4, 5, 6
UNDEFINED, UNINITIALIZED, SIGNATURE, STACK, NULL_REF = 7, 8, 9, 10, 13
# wasmtime's TrapCode names -> wasabi codes; wasmtime says "out of bounds table" both for
# table.get/set/... (wasabi 6) and call_indirect past the end (wasabi 7): compare.py allows both
WASMTIME_TRAPS = {
    "UNREACHABLE": UNREACHABLE, "INTEGER_DIVISION_BY_ZERO": DIV_ZERO, "INTEGER_OVERFLOW": OVERFLOW,
    "BAD_CONVERSION_TO_INTEGER": CONVERSION, "MEMORY_OUT_OF_BOUNDS": OOB_MEMORY,
    "TABLE_OUT_OF_BOUNDS": OOB_TABLE, "INDIRECT_CALL_TO_NULL": UNINITIALIZED,
    "BAD_SIGNATURE": SIGNATURE, "STACK_OVERFLOW": STACK, "NULL_REFERENCE": NULL_REF,
}
TRAP_TEXTS = (("out of bounds memory", OOB_MEMORY), ("out of bounds table", OOB_TABLE),
              ("unreachable", UNREACHABLE), ("uninitialized element", UNINITIALIZED),
              ("divide by zero", DIV_ZERO), ("call stack exhausted", STACK))


def norm(valtype, bits):
    if valtype == F32 and (bits & 0x7F800000) == 0x7F800000 and bits & 0x7FFFFF:
        return "nan"
    if valtype == F64 and (bits >> 52 & 0x7FF) == 0x7FF and bits & 0xFFFFFFFFFFFFF:
        return "nan"
    if valtype in REFS:
        return "null" if bits is None else "ref"
    if valtype == V128:  # tagged: compare.py reads its lanes (a NaN lane may have any bits)
        return f"v128:{bits:032x}"
    return bits


def unflatten(valtypes, ints):
    """Normalised values from a probe's integer results (see wasmbin.flat_result)."""
    values, ints = [], list(ints)
    for valtype in valtypes:
        if valtype == V128:
            low, high = ints.pop(0) & (2**64 - 1), ints.pop(0) & (2**64 - 1)
            values.append(norm(V128, low | high << 64))
        elif valtype in REFS:
            values.append("null" if ints.pop(0) else "ref")
        else:
            width = 32 if valtype in (I32, F32) else 64
            values.append(norm(valtype, ints.pop(0) & ((1 << width) - 1)))
    return values


def python_bits(valtype, value):
    """A host function's Python argument as bits (floats arrive as Python floats)."""
    if valtype == F32:
        return struct.unpack("<I", struct.pack("<f", value))[0]
    if valtype == F64:
        return struct.unpack("<Q", struct.pack("<d", value))[0]
    if valtype in (I32, I64, V128):
        return value & ((1 << {I32: 32, I64: 64, V128: 128}[valtype]) - 1)
    return None if value is None else value


def zero(valtype):
    return {I32: 0, I64: 0, F32: 0.0, F64: 0.0}.get(valtype)


def memory_hash(data):
    return f"{len(data)}:{zlib.crc32(data):08x}"


class Run:
    """What one engine did: instantiation, then per call outcome, log, globals, memory."""

    def __init__(self):
        self.log = []
        self.instantiation = None
        self.calls = []
        self.memory_bytes = None   # memory 0 after the last call, when asked for (keep_memory)

    def logger(self, import_name, params, results):
        def record(*args):
            self.log.append([import_name] + [norm(t, python_bits(t, a)) for t, a in zip(params, args)])
            out = [zero(t) for t in results]
            return None if not out else out[0] if len(out) == 1 else out
        return record

    def to_json(self):
        return {"instantiation": self.instantiation, "calls": self.calls}


# --- wasmtime

@functools.lru_cache(maxsize=None)
def wasmtime_engine():
    import atexit
    import wasmtime
    atexit.register(release_wasmtime)  # before interpreter teardown: wasmtime's __del__ fails then
    config = wasmtime.Config()
    config.consume_fuel = True
    for feature in ("wasm_gc", "wasm_function_references", "wasm_threads", "wasm_tail_call",
                    "wasm_multi_memory", "wasm_memory64", "wasm_relaxed_simd", "wasm_exceptions",
                    "wasm_wide_arithmetic", "wasm_custom_page_sizes", "wasm_stack_switching"):
        if hasattr(type(config), feature):
            setattr(config, feature, False)
    return wasmtime.Engine(config)


def release_wasmtime():
    shim_module.cache_clear()
    wasmtime_engine.cache_clear()
    import gc
    gc.collect()


def wasmtime_trap(error):
    code = getattr(error, "trap_code", None)
    if code is not None and code.name in WASMTIME_TRAPS:
        return {"trap": WASMTIME_TRAPS[code.name]}
    if code is not None and code.name == "OUT_OF_FUEL":
        return {"fuel": True}
    text = str(error)
    for needle, number in TRAP_TEXTS:
        if needle in text:
            return {"trap": number}
    return {"error": text.strip().splitlines()[0] if text.strip() else type(error).__name__}


def wasmtime_valtype(wt, valtype):
    return {I32: wt.ValType.i32, I64: wt.ValType.i64, F32: wt.ValType.f32, F64: wt.ValType.f64,
            FUNCREF: wt.ValType.funcref, EXTERNREF: wt.ValType.externref}[valtype]()


def v128_shim(params):
    """WAT of a module exporting `f` of these params (some v128) that calls an import `h` with
    each v128 split into two i64 lanes: wasmtime's host functions cannot take a v128."""
    flat_params = " ".join(NAMES[p] if p != V128 else "i64 i64" for p in params)
    body = "".join(f"(local.get {i})" if p != V128 else
                   f"(i64x2.extract_lane 0 (local.get {i}))(i64x2.extract_lane 1 (local.get {i}))"
                   for i, p in enumerate(params))
    return (f'(module (import "fz" "h" (func $h (param {flat_params})))'
            f'(func (export "f") (param {" ".join(NAMES[p] for p in params)}) (call $h {body})))')


@functools.lru_cache(maxsize=64)
def shim_module(params):
    import wasmtime
    return wasmtime.Module(wasmtime_engine(), v128_shim(params))


def wasmtime_import(wt, store, run, import_name, params, results):
    if V128 not in params:
        functype = wt.FuncType([wasmtime_valtype(wt, t) for t in params],
                               [wasmtime_valtype(wt, t) for t in results])
        return wt.Func(store, functype, run.logger(import_name, params, results))
    if results:
        raise wasmbin.BadModule("an imported function with v128 parameters and results")
    flat_params = [t2 for t in params for t2 in ((I64, I64) if t == V128 else (t,))]

    def record(*args):  # joins the lanes again, so that the log matches wasabi's
        values, out = list(args), []
        for t in params:
            if t == V128:
                out.append(norm(V128, python_bits(I64, values.pop(0)) | python_bits(I64, values.pop(0)) << 64))
            else:
                out.append(norm(t, python_bits(t, values.pop(0))))
        run.log.append([import_name] + out)
    functype = wt.FuncType([wasmtime_valtype(wt, t) for t in flat_params], [])
    host = wt.Func(store, functype, record)
    shim = wt.Instance(store, shim_module(params), [host])
    return shim.exports(store)["f"]


def run_wasmtime(data, module, plan, memory_each_call=False, keep_memory=False):
    """Runs the plan on wasmtime; returns (Run, the number of plan entries to give wasabi)."""
    import wasmtime as wt
    run, store = Run(), wt.Store(wasmtime_engine())
    imports = [wasmtime_import(wt, store, run, f"{mod}.{field}", *module.types[type_index])
               for mod, field, type_index in module.func_imports]
    store.set_fuel(FUEL)
    try:
        instance = wt.Instance(store, wt.Module(wasmtime_engine(), data), imports)
    except (wt.Trap, wt.WasmtimeError) as error:
        run.instantiation = wasmtime_trap(error)
        return run, 0
    run.instantiation = {"ok": True}
    exports = instance.exports(store)
    state, memory = exports[wasmbin.STATE_EXPORT], wasmbin.memory_export_name(module)
    signatures = {n: sig for n, _, sig in module.exported_functions()}
    for index, call in enumerate(plan):
        params, results = signatures[call["export"]]
        args = [signed(bits, t) for t, a in zip(params, call["args"]) for bits in split(t, a)]
        store.set_fuel(FUEL)
        before = len(run.log)
        try:
            out = exports[wasmbin.PROBE_PREFIX + call["export"]](store, *args)
            outcome = {"results": unflatten(results, as_list(out))}
        except (wt.Trap, wt.WasmtimeError) as error:
            outcome = wasmtime_trap(error)
        if "fuel" in outcome:  # wasabi runs the calls before this one: hash memory after them
            if memory is not None and run.calls:
                mem = exports[memory]
                run.calls[-1]["memory"] = memory_hash(mem.read(store, 0, mem.data_len(store)))
            return run, index
        store.set_fuel(FUEL)
        outcome["log"] = run.log[before:]
        outcome["globals"] = unflatten(module.global_types, as_list(state(store)))
        if memory is not None and (memory_each_call or index == len(plan) - 1):
            mem = exports[memory]
            outcome["memory"] = memory_hash(mem.read(store, 0, mem.data_len(store)))
        run.calls.append(outcome)
        if outcome.get("trap") == STACK:
            return run, index + 1
    if keep_memory and memory is not None:
        mem = exports[memory]
        run.memory_bytes = bytes(mem.read(store, 0, mem.data_len(store)))
    return run, len(plan)


def split(valtype, bits):
    if valtype == V128:
        return [bits & (2**64 - 1), bits >> 64]
    return [] if valtype in REFS else [bits]


def signed(value, valtype):
    """wasmtime's Val.i32/i64 take signed ints."""
    width = 32 if valtype in (I32, F32) else 64
    return value - (1 << width) if value >> (width - 1) else value


def as_list(out):
    return [] if out is None else list(out) if isinstance(out, (list, tuple)) else [out]


# --- wasabi

def wasabi_trap(error):
    import wasabi
    if isinstance(error, wasabi.Trap):
        return {"trap": error.code}
    return {"error": f"{type(error).__name__}: {error}"}


def run_wasabi(data, module, plan, tier, bounds, progress=None, memory_each_call=False,
               keep_memory=False):
    """Runs the plan on wasabi compiled with (tier, bounds); progress(i) before each call."""
    import wasabi
    run = Run()
    tier, preempted = tier.removesuffix("+preempt"), tier.endswith("+preempt")
    if tier in ("PGO", "baseline", "baseline-cached"):
        from wasabi.compiler.modes import tiered
        from wasabi.compiler import osr, profile
        # (set each time: one worker process runs every config)
        profile.BRANCHES = tier != "baseline-cached"
        if tier == "PGO":
            tiered.HOT, tiered.TICK, osr.EVERY = 1, 0.0005, 1
        else:
            tiered.HOT = 1 << 62
        options = wasabi.Options(mode=wasabi.Mode.PGO, bounds=bounds)
    else:
        options = wasabi.Options(tier=tier, bounds=bounds)
    compiled = wasabi.compile(data, options)
    imports = {}
    for mod, field, type_index in module.func_imports:
        imports.setdefault(mod, {})[field] = run.logger(f"{mod}.{field}", *module.types[type_index])
    store = wasabi.Store()
    try:
        instance = wasabi.instantiate(compiled, imports, store=store)
    except (wasabi.Trap, wasabi.LinkError) as error:
        run.instantiation = wasabi_trap(error)
        return run
    run.instantiation = {"ok": True}
    if preempted:
        with Nudger(store):
            return run_plan(run, module, instance, plan, progress, memory_each_call, keep_memory)
    return run_plan(run, module, instance, plan, progress, memory_each_call, keep_memory)


class Nudger:
    """A thread that makes code running in `store` poll every `period` seconds (and go
    on: store.control.nudge()); `count`: how many times it did."""

    def __init__(self, store, period=50e-6):
        import threading
        self.store, self.period, self.stop = store, period, threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(self.period):
            self.store.control.nudge()
            self.count += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def run_plan(run, module, instance, plan, progress, memory_each_call, keep_memory):
    """The plan's calls on `instance`, each outcome into run.calls; returns run."""
    import wasabi
    exports = instance.exports
    state, memory = exports[wasmbin.STATE_EXPORT], wasmbin.memory_export_name(module)
    signatures = {n: sig for n, _, sig in module.exported_functions()}
    for index, call in enumerate(plan):
        if progress is not None:
            progress(index)
        params, results = signatures[call["export"]]
        before = len(run.log)
        try:
            out = exports[call["export"]].call_bits(*call["args"])
            outcome = {"results": [norm(t, v) for t, v in zip(results, out)]}
        except wasabi.Trap as error:
            outcome = wasabi_trap(error)
        outcome["log"] = run.log[before:]
        outcome["globals"] = unflatten(module.global_types, state.call_bits())
        if memory is not None and (memory_each_call or index == len(plan) - 1):
            outcome["memory"] = memory_hash(exports[memory].read(0, exports[memory].data_size))
        run.calls.append(outcome)
    if keep_memory and memory is not None:
        run.memory_bytes = bytes(exports[memory].read(0, exports[memory].data_size))
    return run
