"""Fuel consumed by one call, on wasabi (Options(fuel=True)) and on wasmtime (consume_fuel).

Both sides get the same module, the same host imports (Python callables returning zeros,
or a given callable) and the same arguments; `consumed` is the fuel set before the call
minus what get_fuel reports after it. Used by tests/test_fuel.py.
"""
import functools
import struct

import wasmtime

import wasabi
from wasabi.binary.types import EXTERNREF, F32, F64, FUNCREF, I32, I64, V128

BIG = 10**12                     # fuel given to instantiation and to a call whose cost we want


@functools.lru_cache(maxsize=1)
def wasmtime_engine():
    config = wasmtime.Config()
    config.consume_fuel = True
    return wasmtime.Engine(config)


def _wt_valtype(valtype):
    return {I32: wasmtime.ValType.i32, I64: wasmtime.ValType.i64, F32: wasmtime.ValType.f32,
            F64: wasmtime.ValType.f64, FUNCREF: wasmtime.ValType.funcref,
            EXTERNREF: wasmtime.ValType.externref}[valtype]()


def _zeros(results):
    out = [{I32: 0, I64: 0, F32: 0.0, F64: 0.0}.get(t) for t in results]
    return None if not out else out[0] if len(out) == 1 else out


def python_value(valtype, bits):
    """The Python argument for these bits (what both engines take)."""
    if valtype == F32:
        return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]
    if valtype == F64:
        return struct.unpack("<d", struct.pack("<Q", bits & (2**64 - 1)))[0]
    if valtype in (I32, I64):
        width = 32 if valtype == I32 else 64
        bits &= (1 << width) - 1
        return bits - (1 << width) if bits >> (width - 1) else bits
    return None


class Outcome:
    __slots__ = ("consumed", "trap", "results")

    def __init__(self, consumed, trap, results):
        self.consumed, self.trap, self.results = consumed, trap, results

    def __repr__(self):
        return f"Outcome(consumed={self.consumed}, trap={self.trap!r}, results={self.results!r})"


def v128_shim(params):
    """WAT of a module exporting `f` of these params that calls its import fz.h with each
    v128 split into two i64 lanes (wasmtime's Python host functions take no v128). Both
    engines import this shim, compiled with fuel, for a v128-taking import: they pay the
    same for it."""
    names = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128",
             FUNCREF: "funcref", EXTERNREF: "externref"}
    flat = " ".join(names[p] if p != V128 else "i64 i64" for p in params)
    body = "".join(f"(local.get {i})" if p != V128 else
                   f"(i64x2.extract_lane 0 (local.get {i}))(i64x2.extract_lane 1 (local.get {i}))"
                   for i, p in enumerate(params))
    return (f'(module (import "fz" "h" (func $h (param {flat})))'
            f'(func (export "f") (param {" ".join(names[p] for p in params)}) (call $h {body})))')


def _flat_valtypes(params):
    return [t2 for t in params for t2 in ((I64, I64) if t == V128 else (t,))]


def _needs_shim(ftype):
    if V128 in ftype.results:
        raise ValueError("an imported function with a v128 result")
    return V128 in ftype.params


class WasmtimeSide:
    def __init__(self, data, hosts=None):
        """`hosts`: {(module, name): callable} for imports; the rest return zeros."""
        desc = wasabi.parse(_binary(data))
        self.store = wasmtime.Store(wasmtime_engine())
        self.store.set_fuel(BIG)
        imports = []
        for imp in desc.imports:
            ftype = _functype(desc, imp)
            call = (hosts or {}).get((imp.module, imp.name), lambda *a, r=ftype.results: _zeros(r))
            shim = _needs_shim(ftype)
            params = _flat_valtypes(ftype.params) if shim else ftype.params
            functype = wasmtime.FuncType([_wt_valtype(t) for t in params],
                                         [_wt_valtype(t) for t in ftype.results])
            func = wasmtime.Func(self.store, functype, call)
            if shim:
                module = wasmtime.Module(wasmtime_engine(), v128_shim(ftype.params))
                func = wasmtime.Instance(self.store, module, [func]).exports(self.store)["f"]
            imports.append(func)
        self.instance = wasmtime.Instance(self.store, wasmtime.Module(wasmtime_engine(), data),
                                          imports)

    def call(self, name, args, fuel=BIG):
        self.store.set_fuel(fuel)
        try:
            results = self.instance.exports(self.store)[name](self.store, *args)
            trap = None
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            results, trap = None, _wasmtime_trap_name(error)
        return Outcome(fuel - self.store.get_fuel(), trap, results)


class WasabiSide:
    def __init__(self, data, options=None, hosts=None):
        options = options or wasabi.Options(fuel=True)
        desc = wasabi.parse(_binary(data))
        self.store = wasabi.Store(options=options)
        self.store.set_fuel(BIG)
        imports = {}
        for imp in desc.imports:
            ftype = _functype(desc, imp)
            call = (hosts or {}).get((imp.module, imp.name), lambda *a, r=ftype.results: _zeros(r))
            if _needs_shim(ftype):
                shim = wasabi.instantiate(wasabi.Module(self.store, v128_shim(ftype.params)),
                                          {"fz": {"h": call}}, store=self.store)
                call = shim.exports.f
            imports.setdefault(imp.module, {})[imp.name] = call
        self.instance = wasabi.instantiate(wasabi.Module(self.store, data), imports,
                                           store=self.store)

    def call(self, name, args, fuel=BIG):
        self.store.set_fuel(fuel)
        try:
            results = self.instance.exports[name](*args)
            trap = None
        except wasabi.Trap as error:
            results, trap = None, type(error).__name__ if isinstance(error, wasabi.OutOfFuel) \
                else "trap"
        return Outcome(fuel - self.store.get_fuel(), trap, results)


def _wasmtime_trap_name(error):
    code = getattr(error, "trap_code", None)
    if code is not None and code.name == "OUT_OF_FUEL":
        return "OutOfFuel"
    return "trap"


def _binary(data):
    return wasabi.wat2wasm(data) if isinstance(data, str) else bytes(data)


def _functype(desc, imp):
    if imp.kind != 0:
        raise ValueError("only function imports")
    return desc.types[imp.type]


def minimum_fuel(side, name, args, upper):
    """The least fuel with which the call does not run out (a binary search)."""
    low, high = 0, upper                 # low runs out, high does not
    if side.call(name, args, high).trap == "OutOfFuel":
        raise AssertionError(f"{name} runs out with {upper}")
    while high - low > 1:
        middle = (low + high) // 2
        if side.call(name, args, middle).trap == "OutOfFuel":
            low = middle
        else:
            high = middle
    return high

