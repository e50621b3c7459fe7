"""The spec test suite through the compiler and the runtime (wasabi.runtime.instantiate).

CompilerEngine drives the spec harness (tests/spec_harness.py): decode + validate,
compile in a mode (eager, lazy, repl, pgo with forced tier-up, baseline-cached: pgo with
nothing hot and the single-pass baseline's code as hot functions run it) at a tier and
bounds mode, instantiate with the spectest host module
and registered instances, invoke with raw bit patterns (exact NaN payloads).
Run a script by hand: python tests/test_codegen_spec.py [--tier O2] [--bounds explicit] [--mode lazy] i32 f32
(--all: every script, --simd: the simd_* scripts). Every module comes from our own assembler
(wasabi.text) through the .wast reader (wasabi.text.wast).
"""
import argparse
import contextlib
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import spec_harness as sh  # noqa: E402
from spec_engines import wasabi_assemble  # noqa: E402
from conftest import SPEC_DIR  # noqa: E402

import wasabi  # noqa: E402
from wasabi import _ext  # noqa: E402
from wasabi.binary.types import (EXTERNREF, F32, F64, FUNCREF, I32, I64, V128,  # noqa: E402
                                 FuncType, GlobalType, Limits, MemoryType, TableType)
from wasabi.compiler import modes  # noqa: E402
from wasabi.errors import CompileError, LinkError, Trap  # noqa: E402
from wasabi.options import Options  # noqa: E402
from wasabi.runtime import Global, HostFunction, Memory, Store, Table, instantiate  # noqa: E402

TYPE_NAMES = {"i32": I32, "i64": I64, "f32": F32, "f64": F64, "funcref": FUNCREF,
              "externref": EXTERNREF}
REF_NAMES = {FUNCREF: "funcref", EXTERNREF: "externref"}
# numbers and v128 cross as raw bit patterns (v128: one 128-bit int, lane 0 lowest)
NUM_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128"}


class HostRef:
    """The host reference `ref.extern N` of the scripts."""

    def __init__(self, number):
        self.number = number


def spectest(store, bounds):
    def host(params):
        return HostFunction(FuncType(params, ()), lambda *args: None, store)
    names = {"print": (), "print_i32": (I32,), "print_i64": (I64,), "print_f32": (F32,),
             "print_f64": (F64,), "print_i32_f32": (I32, F32), "print_f64_f64": (F64, F64)}
    ns = {name: host(params) for name, params in names.items()}
    ns["global_i32"] = Global(store, GlobalType(I32, False), 666)
    ns["global_i64"] = Global(store, GlobalType(I64, False), 666)
    ns["global_f32"] = Global(store, GlobalType(F32, False), 666.6)
    ns["global_f64"] = Global(store, GlobalType(F64, False), 666.6)
    ns["table"] = Table(store, TableType(FUNCREF, Limits(10, 20)))
    ns["memory"] = Memory(store, MemoryType(Limits(1, 2)), guarded=bounds == "guard")
    return ns


class CompilerEngine(sh.Engine):
    name = "wasabi-compiler"
    instantiates = True
    spec_trap_messages = True
    tier = "T1"
    bounds = "guard"
    mode = "eager"

    def __init__(self):
        self.store = Store()
        mode = "pgo" if self.mode == "baseline-cached" else self.mode
        self.options = Options(mode=mode, tier=self.tier, bounds=self.bounds)
        self.namespaces = {"spectest": spectest(self.store, self.bounds)}
        self.keep = {}

    def compile(self, data):
        try:
            desc = wasabi.parse(data)
            return desc, modes.compile(desc, self.options).code
        except CompileError as exc:
            raise sh.ModuleRejected(str(exc)) from None

    def compile_text(self, text):
        return self.compile(wasabi_assemble(text))

    def instantiate(self, handle):
        desc, code = handle
        try:
            return instantiate(desc, code, self.namespaces, store=self.store)
        except LinkError as exc:
            raise sh.LinkFailed(str(exc)) from None
        except Trap as exc:
            raise sh.TrapRaised(str(exc)) from None

    def register(self, name, instance):
        self.namespaces[name] = instance.exports

    def to_raw(self, value, valtype):
        if valtype in NUM_NAMES:
            return value.bits
        obj = None if value.bits is None else HostRef(value.bits)
        return _ext.raw_from_value(valtype, obj, self.keep)

    def from_raw(self, raw, valtype):
        if valtype in NUM_NAMES:
            name = NUM_NAMES[valtype]
            return sh.WasmValue(name, raw & ((1 << sh.WIDTH[name]) - 1))
        obj = _ext.value_from_raw(valtype, raw)
        if obj is None:
            return sh.WasmValue(REF_NAMES[valtype], None)
        return sh.WasmValue(REF_NAMES[valtype], obj.number if isinstance(obj, HostRef) else 0)

    def invoke(self, instance, field, args, result_types=None):
        func = instance.exports[field]
        raws = [self.to_raw(a, t) for a, t in zip(args, func.type.params)]
        try:
            results = func.call_raw(raws)
        except Trap as exc:
            raise sh.TrapRaised(str(exc)) from None
        return [self.from_raw(r, t) for r, t in zip(results, func.type.results)]

    def get_global(self, instance, field):
        glob = instance.exports[field]
        return self.from_raw(glob.raw, glob.type.valtype)


def engine_class(tier, bounds, mode="eager"):
    return type(f"CompilerEngine_{tier}_{bounds}_{mode}", (CompilerEngine,),
                {"tier": tier, "bounds": bounds, "mode": mode})


def all_scripts():
    return sh.script_names(SPEC_DIR)


def simd_scripts():
    return [n for n in all_scripts() if n.startswith("simd")]


# a quick cross-section of the compiler's instruction families, run by default
QUICK = ["i32", "i64", "conversions", "float_exprs", "br_table", "call_indirect", "traps",
         "memory_trap", "address", "unwind", "table_init", "bulk",
         "simd_lane", "simd_conversions", "simd_f32x4_arith", "simd_i16x8_sat_arith",
         "simd_load_extend", "simd_address"]
# every tier with every bounds mode
CONFIGURATIONS = [(tier, bounds) for tier in ("T0", "T1", "O2") for bounds in ("guard", "explicit")]
# the lazy modes compile each function on its first call (through stubs and the
# vmctx function table) and REPL calls everything through the table: this
# cross-section runs calls of every kind, traps inside lazily compiled code,
# cross-instance imports and start functions
QUICK_MODES = ["call", "call_indirect", "fac", "func_ptrs", "imports", "linking", "start",
               "traps", "unwind", "table_init", "bulk", "memory_grow", "i64", "float_exprs"]
LAZY_MODES = ["lazy", "repl", "pgo", "baseline-cached"]


@contextlib.contextmanager
def forced_tier_up():
    """PGO with every function hot from its first call and the tier-up thread looking
    all the time: functions are swapped for their O2 builds while the script runs."""
    from wasabi.compiler.modes import tiered
    saved = tiered.HOT, tiered.TICK
    tiered.HOT, tiered.TICK = 1, 0.0005
    try:
        yield
    finally:
        tiered.HOT, tiered.TICK = saved


@contextlib.contextmanager
def cached_baseline():
    """PGO with nothing ever hot and no branch counters: every function the single-pass
    compiler takes runs in its code with the most used locals in registers (the code
    hot functions run in the baseline)."""
    from wasabi.compiler import profile
    from wasabi.compiler.modes import tiered
    saved = tiered.HOT, profile.BRANCHES
    tiered.HOT, profile.BRANCHES = 1 << 62, False
    try:
        yield
    finally:
        tiered.HOT, profile.BRANCHES = saved


MODE_SETTINGS = {"pgo": forced_tier_up, "baseline-cached": cached_baseline}


def check_script(name, tier, bounds, mode="eager"):
    with MODE_SETTINGS.get(mode, contextlib.nullcontext)():
        result = sh.run_script(SPEC_DIR, name, engine_class(tier, bounds, mode))
    assert not result.failures, result.summary(10)
    assert result.total(sh.PASSED) > 0


@pytest.mark.parametrize("name", QUICK)
def test_spec_quick(name):
    check_script(name, "T1", "guard")


@pytest.mark.parametrize("mode", LAZY_MODES)
@pytest.mark.parametrize("name", QUICK_MODES)
def test_spec_quick_lazy_modes(name, mode):
    check_script(name, "T1", "guard", mode)


@pytest.mark.slow
@pytest.mark.parametrize("mode", LAZY_MODES)
@pytest.mark.parametrize("name", all_scripts())
def test_spec_full_lazy_modes(name, mode):
    check_script(name, "T1", "guard", mode)


@pytest.mark.slow
@pytest.mark.parametrize("name", all_scripts())
def test_spec_full_in_parts(name, monkeypatch):
    """Every module of two or more functions compiled in parts on worker processes
    (compiler/parallel.py), as big modules are: calls across objects, per-part
    code ranges for the fault handler."""
    from wasabi.compiler import parallel
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 1)
    check_script(name, "T1", "guard")


@pytest.mark.slow
@pytest.mark.parametrize("tier,bounds", CONFIGURATIONS)
@pytest.mark.parametrize("name", all_scripts())
def test_spec_full(name, tier, bounds):
    check_script(name, tier, bounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", default="T1")
    parser.add_argument("--bounds", default="guard")
    parser.add_argument("--mode", default="eager", choices=["eager", *LAZY_MODES])
    parser.add_argument("--failures", type=int, default=10)
    parser.add_argument("--all", action="store_true", help="every script")
    parser.add_argument("--simd", action="store_true", help="every simd_* script")
    parser.add_argument("scripts", nargs="*")
    options = parser.parse_args(argv)
    engine = engine_class(options.tier, options.bounds, options.mode)
    totals = dict.fromkeys(sh.OUTCOMES, 0)
    names = options.scripts or (all_scripts() if options.all
                                else simd_scripts() if options.simd else QUICK)
    for name in names:
        with MODE_SETTINGS.get(options.mode, contextlib.nullcontext)():
            result = sh.run_script(SPEC_DIR, name, engine)
        line = ", ".join(f"{result.total(o)} {o}" for o in sh.OUTCOMES)
        print(result.summary(options.failures) if result.failures else f"{name}: {line}")
        for o in sh.OUTCOMES:
            totals[o] += result.total(o)
    print("total:", totals)


if __name__ == "__main__":
    main()
