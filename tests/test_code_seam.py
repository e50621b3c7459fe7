"""The Code seam (runtime/code.py): modes are strategies in one registry, the runtime
reads compiled code only through Code and its CodeTable, the compiler publishes into
the table and never writes an instance's records."""
import ast
import pathlib
import subprocess
import sys

import pytest
import wasmtime

import wasabi
from wasabi import Mode, Options
from wasabi.compiler import modes
from wasabi.compiler.modes import eager
from wasabi.options import CodeOptions
from wasabi.runtime.code import Code, CodeTable

ROOT = pathlib.Path(__file__).resolve().parent.parent
WAT = """(module
  (func $sq (export "sq") (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func (export "sq_plus") (param i32) (result i32) local.get 0 call $sq i32.const 1 i32.add))"""


@pytest.fixture(scope="module")
def desc():
    return wasabi.parse(wasmtime.wat2wasm(WAT))


def test_the_registry_has_the_modes_and_refuses_the_others():
    assert set(modes.STRATEGIES) == {Mode.EAGER, Mode.LAZY, Mode.REPL, Mode.PGO}
    assert modes.strategy(Mode.EAGER).cached and not modes.strategy(Mode.LAZY).cached
    with pytest.raises(ValueError, match="mode AOT is not available yet"):
        modes.strategy(Mode.AOT)


def test_a_new_mode_is_a_new_strategy(desc):
    """A strategy registered for a mode is what wasabi.compile uses for it: here AOT
    stands in for a mode whose build is EAGER at T0 that counts its builds."""
    builds = []

    def build(desc, options, **kwargs):
        builds.append(options.mode)
        return eager.build(desc, CodeOptions(tier="T0"), jobs=1)

    modes.register(modes.Strategy(Mode.AOT, build))
    try:
        module = wasabi.compile(WAT, Options(mode=Mode.AOT))
        assert builds == [Mode.AOT]
        assert module.stats()["tier"] == "T0"
        assert wasabi.instantiate(module).call("sq_plus", 7) == 50
    finally:
        modes.unregister(Mode.AOT)
    with pytest.raises(ValueError, match="mode AOT is not available yet"):
        wasabi.compile(WAT, Options(mode=Mode.AOT))


@pytest.mark.parametrize("mode", [Mode.EAGER, Mode.LAZY, Mode.REPL, Mode.PGO])
def test_every_mode_is_a_code_with_a_table(desc, mode):
    compiled = modes.compile(desc, Options(mode=mode))
    code = compiled.code
    assert isinstance(code, Code) and isinstance(code.table, CodeTable)
    baseline = Options(mode=mode, tier="T0" if mode is Mode.PGO else "T1")
    assert code.mode == mode.value and code.code_options == baseline.code
    assert code.table.deferred == (mode is not Mode.EAGER and CodeTable.stubs_supported())
    instance = compiled.instantiate()
    assert instance.exports.sq_plus(3) == 10
    assert all(begin < end for begin, end in code.code_ranges)
    assert (code.artifact() is not None) == (mode is Mode.EAGER)


def test_publishing_reaches_attached_instances_and_leaves_swapped_records(desc):
    """A deferred table: an instance built before a publication gets the code in its
    record (compare-and-swap from the stub); a record pointed elsewhere keeps it."""
    if not CodeTable.stubs_supported():
        pytest.skip("no native stubs on this CPU")
    compiled = modes.compile(desc, Options(mode=Mode.LAZY))
    table = compiled.code.table
    sq, sq_plus = desc.export("sq").index, desc.export("sq_plus").index
    early, swapped = compiled.instantiate(), compiled.instantiate()
    assert early.funcs.get_u64(sq * 24) == table.entry(sq)       # the stub
    # swap `swapped`'s record of sq to other code of the same type (as REPL does)
    other = table.entry(sq_plus)
    wasabi._ext.set_record_target(swapped.func_record_address(sq), other, swapped.vmctx_address)
    assert early.exports.sq(9) == 81                              # compiles and publishes
    code = table.published(sq)
    assert code and code != table.entry(sq)
    assert early.funcs.get_u64(sq * 24) == code
    assert swapped.funcs.get_u64(sq * 24) == other
    late = compiled.instantiate()
    assert late.funcs.get_u64(sq * 24) == code


def test_the_runtime_never_duck_types_code():
    """No getattr/hasattr on a code object in runtime/: it uses the Code interface."""
    offenders = []
    for path in sorted((ROOT / "wasabi" / "runtime").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "hasattr"):
                target = ast.unparse(node.args[0]) if node.args else ""
                if target.split(".")[-1] == "code":
                    offenders.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    assert not offenders, offenders


def test_the_compiler_never_writes_instance_records():
    """Records are the runtime's: the compiler publishes into a CodeTable instead."""
    runtime_only = ("patch_record_code", "set_record_target", "func_record_address",
                    "retarget_handle")
    found = [f"{path.relative_to(ROOT)}: {name}"
             for path in sorted((ROOT / "wasabi" / "compiler").rglob("*.py"))
             for name in runtime_only if name in path.read_text()]
    assert not found, found


def test_the_runtime_imports_from_the_compiler_only_what_it_derives_on_demand():
    """Modules, modes and builds reach the runtime as Code; what the runtime imports
    from the compiler makes code from runtime objects when first used: signature
    thunks, ufunc loops, native pointer wrappers."""
    from test_layout import import_graph
    graph = import_graph()
    uses = {target for name, edges in graph.items() if name.startswith("wasabi.runtime")
            for target in edges if target.startswith("wasabi.compiler")}
    assert uses == {"wasabi.compiler.thunks", "wasabi.compiler.ufunc",
                    "wasabi.compiler.native_wrapper"}


def test_reading_the_registry_loads_no_llvm():
    """The API checks a Store's mode against the registry: that must not load LLVM."""
    code = ("import sys, wasabi; wasabi.Store(options=wasabi.Options(mode=wasabi.Mode.LAZY)); "
            "print('llvmlite.binding' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
