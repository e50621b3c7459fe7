"""Engines for the spec harness (tests/spec_harness.py), and a command line to run scripts.

- WasabiValidateEngine: wasabi.validate only; module commands must validate, execution is NotRun.
- WasmtimeValidateEngine: the same check with wasmtime.Module.validate (tests the harness itself).
- WasmtimeEngine: the reference engine with execution, over the `wasmtime` package. wasmtime-py
  cannot pass v128 values (NotRun) and round-trips f32 through Python floats (NaN payloads of
  signalling NaNs get quieted), so it is exact on integer and reference scripts only.

    python tests/spec_engines.py --engine wasabi            # all 146 core scripts, totals
    python tests/spec_engines.py --engine wasmtime i32 br   # some scripts, with failures
"""
from __future__ import annotations

import argparse
import functools
import pathlib
import struct
import sys

import spec_harness as sh


class WasabiValidateEngine(sh.Engine):
    name = "wasabi (validate only)"

    def compile(self, data):
        import wasabi
        try:
            wasabi.validate(data)
        except wasabi.CompileError as error:
            raise sh.ModuleRejected(str(error)) from None
        return data

    def compile_text(self, text):
        return self.compile(wasabi_assemble(text))


def wasabi_assemble(text):
    """wasabi's own wat2wasm of a .wat file's bytes; ModuleRejected when it refuses them."""
    import wasabi
    from wasabi.text import wat2wasm
    try:
        return wat2wasm(text.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise sh.ModuleRejected(f"text is not UTF-8: {error}") from None
    except wasabi.CompileError as error:
        raise sh.ModuleRejected(str(error)) from None


# --- the reference engine

POST_WASM2_FEATURES = (  # switched off so that wasmtime judges modules by Wasm 2.0 rules
    "wasm_gc", "wasm_function_references", "wasm_threads", "wasm_tail_call", "wasm_multi_memory",
    "wasm_memory64", "wasm_relaxed_simd", "wasm_exceptions", "wasm_wide_arithmetic",
    "wasm_custom_page_sizes", "wasm_stack_switching",
)


@functools.lru_cache(maxsize=None)
def wasmtime_engine():
    import wasmtime
    config = wasmtime.Config()
    for feature in POST_WASM2_FEATURES:
        if hasattr(type(config), feature):
            setattr(config, feature, False)
    return wasmtime.Engine(config)


class WasmtimeValidateEngine(sh.Engine):
    name = "wasmtime (validate only)"

    def compile(self, data):
        # wasmtime.Module, not Module.validate: validate() misses overlong LEB128s in memory
        # limits (binary.wast:223 and 475, binary-leb128.wast:218 and 226) that Module() rejects
        import wasmtime
        try:
            wasmtime.Module(wasmtime_engine(), data)
        except wasmtime.WasmtimeError as error:
            raise sh.ModuleRejected(str(error).splitlines()[0]) from None
        return data


class HostRef:
    """The host value behind `ref.extern N`."""

    def __init__(self, number):
        self.number = number


def float_from_bits(bits, width):
    return struct.unpack("<f" if width == 32 else "<d", bits.to_bytes(width // 8, "little"))[0]


def bits_from_float(value, width):
    return int.from_bytes(struct.pack("<f" if width == 32 else "<d", value), "little")


def first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class WasmtimeEngine(sh.Engine):
    name = "wasmtime"
    instantiates = True

    def __init__(self):
        import wasmtime
        self.wasmtime = wasmtime
        self.store = wasmtime.Store(wasmtime_engine())
        self.linker = wasmtime.Linker(wasmtime_engine())
        self.linker.allow_shadowing = True  # `register` may reuse a name
        self.define_spectest()

    def define_spectest(self):
        wt = self.wasmtime
        i32, i64, f32, f64 = wt.ValType.i32(), wt.ValType.i64(), wt.ValType.f32(), wt.ValType.f64()
        prints = {"print": [], "print_i32": [i32], "print_i64": [i64], "print_f32": [f32],
                  "print_f64": [f64], "print_i32_f32": [i32, f32], "print_f64_f64": [f64, f64]}
        for name, params in prints.items():
            self.linker.define_func("spectest", name, wt.FuncType(params, []), lambda *args: None)
        for name, kind, value in (("global_i32", i32, wt.Val.i32(666)), ("global_i64", i64, wt.Val.i64(666)),
                                  ("global_f32", f32, wt.Val.f32(666.6)), ("global_f64", f64, wt.Val.f64(666.6))):
            self.linker.define(self.store, "spectest", name, wt.Global(self.store, wt.GlobalType(kind, False), value))
        table = wt.Table(self.store, wt.TableType(wt.ValType.funcref(), wt.Limits(10, 20)), None)
        self.linker.define(self.store, "spectest", "table", table)
        self.linker.define(self.store, "spectest", "memory", wt.Memory(self.store, wt.MemoryType(wt.Limits(1, 2))))

    def compile(self, data):
        try:
            return self.wasmtime.Module(wasmtime_engine(), data)
        except self.wasmtime.WasmtimeError as error:
            raise sh.ModuleRejected(first_line(error)) from None

    def instantiate(self, module):
        try:
            return self.linker.instantiate(self.store, module)
        except self.wasmtime.Trap as trap:
            raise sh.TrapRaised(first_line(trap)) from None
        except self.wasmtime.WasmtimeError as error:
            # a start function or segment initialisation that traps comes as an error whose
            # text names the trap; anything else here is a link error
            text = str(error)
            if "wasm trap" in text or "out of bounds" in text or "unreachable" in text:
                raise sh.TrapRaised(first_line(error)) from None
            raise sh.LinkFailed(first_line(error)) from None

    def register(self, name, instance):
        self.linker.define_instance(self.store, name, instance)

    def to_val(self, value: sh.WasmValue):
        wt = self.wasmtime
        if value.type == "i32":
            return wt.Val.i32(value.bits - (1 << 32) if value.bits >> 31 else value.bits)
        if value.type == "i64":
            return wt.Val.i64(value.bits - (1 << 64) if value.bits >> 63 else value.bits)
        if value.type in ("f32", "f64"):
            width = sh.WIDTH[value.type]
            return getattr(wt.Val, value.type)(float_from_bits(value.bits, width))
        if value.type == "externref":
            return wt.Val.externref(None if value.bits is None else HostRef(value.bits))
        if value.type == "funcref" and value.bits is None:
            return wt.Val.funcref(None)
        raise sh.NotRun(f"{value.type} arguments through wasmtime-py")

    def from_python(self, result, valtype) -> sh.WasmValue:
        kind = str(valtype)
        kind = {"anyref": "externref"}.get(kind, kind)  # wasmtime-py's name for externref
        if kind in ("i32", "i64"):
            return sh.WasmValue(kind, result & ((1 << sh.WIDTH[kind]) - 1))
        if kind in ("f32", "f64"):
            return sh.WasmValue(kind, bits_from_float(result, sh.WIDTH[kind]))
        if kind == "externref":
            return sh.WasmValue(kind, None if result is None else result.number)
        if kind == "funcref":
            return sh.WasmValue(kind, None if result is None else 0)
        raise sh.NotRun(f"{kind} results through wasmtime-py")

    def invoke(self, instance, field, args, result_types=None):
        # wasmtime-py aborts the process when it looks at a v128 type, so the script's own
        # types decide before the function's type is touched
        if any(arg.type == "v128" for arg in args) or "v128" in (result_types or []):
            raise sh.NotRun("v128 through wasmtime-py")
        func = instance.exports(self.store)[field]
        functype = func.type(self.store)
        vals = [self.to_val(arg) for arg in args]
        try:
            results = func(self.store, *vals)
        except (self.wasmtime.Trap, self.wasmtime.WasmtimeError) as trap:
            raise sh.TrapRaised(first_line(trap)) from None
        results = [] if not functype.results else [results] if len(functype.results) == 1 else results
        return [self.from_python(r, t) for r, t in zip(results, functype.results)]

    def get_global(self, instance, field):
        glob = instance.exports(self.store)[field]
        return self.from_python(glob.value(self.store), glob.type(self.store).content)


ENGINES = {"wasabi": WasabiValidateEngine, "wasmtime-validate": WasmtimeValidateEngine,
           "wasmtime": WasmtimeEngine}


def main(argv=None):
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from conftest import SPEC_DIR
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES), default="wasabi")
    parser.add_argument("--failures", type=int, default=40, help="failures shown per script")
    parser.add_argument("scripts", nargs="*", help="script names (default: all)")
    options = parser.parse_args(argv)
    results = [sh.run_script(SPEC_DIR, name, ENGINES[options.engine])
               for name in options.scripts or sh.script_names(SPEC_DIR)]
    for result in results:
        if result.failures or options.scripts:
            print(result.summary(options.failures), end="\n\n")
    total = sh.ScriptResult(f"{len(results)} scripts", results[0].engine if results else options.engine)
    total.counts = sh.merge_counts(results)
    total.failures = []
    print(total.summary())
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
