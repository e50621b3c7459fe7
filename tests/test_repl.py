"""REPL mode: cells added to a live instance, hot swap by export name."""
import pytest
import wasmtime

import wasabi
from wasabi.compiler import modes
from wasabi.runtime import cells as repl
from wasabi.errors import CompileError, LinkError, Trap
from wasabi.options import Mode, Options

BASE = """
(module
  (memory (export "mem") 1)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (table (export "table") 2 funcref)
  (elem (i32.const 0) $sq)
  (type $i2i (func (param i32) (result i32)))
  (func $sq (export "sq") (param i32) (result i32) local.get 0 local.get 0 i32.mul)
  (func (export "sq_plus_one") (param i32) (result i32)
    local.get 0 call $sq i32.const 1 i32.add)
  (func (export "sq_indirect") (param i32) (result i32)
    (call_indirect (type $i2i) (local.get 0) (i32.const 0)))
  (func (export "store") (param i32 i32)
    local.get 0 local.get 1 i32.store
    global.get $counter i32.const 1 i32.add global.set $counter)
)
"""


def wat(text):
    return wasmtime.wat2wasm(text)


@pytest.fixture
def live():
    module = modes.compile(wasabi.parse(wat(BASE)), Options(mode=Mode.REPL))
    return module, module.instantiate()


def test_define_call_redefine_call_again(live):
    module, inst = live
    added = repl.add_function(inst, wat("""(module
        (func (export "cube") (param i32) (result i32)
          local.get 0 local.get 0 i32.mul local.get 0 i32.mul))"""))
    assert list(added) == ["cube"]
    assert inst.exports.cube(3) == 27
    held = inst.exports.sq                  # a handle kept from before the redefinition
    assert held(5) == 25 and inst.exports.sq_plus_one(5) == 26
    repl.add_function(inst, wat("""(module
        (func (export "sq") (param i32) (result i32) local.get 0 i32.const 100 i32.add))"""))
    assert inst.exports.sq(5) == 105                # by name from Python
    assert held(5) == 105                           # the kept handle follows
    assert inst.exports.sq_plus_one(5) == 106       # from earlier compiled code
    assert inst.exports.sq_indirect(5) == 105       # through the table
    assert inst.exports.sq_plus_one is not None


def test_redefinition_reaches_earlier_cells_and_can_wrap(live):
    _, inst = live
    repl.add_function(inst, wat("""(module (import "" "sq" (func $sq (param i32) (result i32)))
        (func (export "twice_sq") (param i32) (result i32) local.get 0 call $sq i32.const 2 i32.mul))"""))
    assert inst.exports.twice_sq(3) == 18
    # the new sq wraps the old one (the cell's own import binds to the old definition)
    repl.add_function(inst, wat("""(module (import "" "sq" (func $old (param i32) (result i32)))
        (func (export "sq") (param i32) (result i32) local.get 0 call $old i32.const 1 i32.sub))"""))
    assert inst.exports.sq(3) == 8
    assert inst.exports.twice_sq(3) == 16           # the earlier cell calls the new sq
    repl.add_function(inst, wat("""(module
        (func (export "sq") (param i32) (result i32) i32.const 7))"""))
    assert inst.exports.sq(3) == 7 and inst.exports.twice_sq(3) == 14
    assert inst.exports.sq_plus_one(3) == 8


def test_cell_reads_memory_written_by_earlier_code(live):
    _, inst = live
    inst.exports.store(64, 4242)
    repl.add_function(inst, wat("""(module
        (import "env" "mem" (memory 1))
        (import "env" "counter" (global $c (mut i32)))
        (func (export "load") (param i32) (result i32) local.get 0 i32.load)
        (func (export "count") (result i32) global.get $c))"""))
    assert inst.exports.load(64) == 4242
    assert inst.exports.count() == 1
    inst.exports.store(68, 7)
    assert inst.exports.load(68) == 7 and inst.exports.count() == 2


def test_cell_with_host_imports(live):
    _, inst = live
    from wasabi.binary.types import I32, FuncType
    from wasabi.runtime import HostFunction
    seen = []
    host = HostFunction(FuncType((I32,), ()), seen.append, inst.store)
    repl.add_function(inst, wat("""(module (import "host" "log" (func $log (param i32)))
        (import "" "sq" (func $sq (param i32) (result i32)))
        (func (export "log_sq") (param i32) local.get 0 call $sq call $log))"""),
        imports={"host": {"log": host}})
    inst.exports.log_sq(9)
    assert seen == [81]


def test_cell_imports_prepared_by_the_caller(live):
    """prepare_imports turns the caller's form (here plain callables) into externs."""
    _, inst = live
    from wasabi.runtime import HostFunction
    seen = []

    def prepare(desc, imports):
        out = {}
        for imp in desc.imports:
            if imp.module in imports:
                host = HostFunction(desc.types[imp.type], imports[imp.module][imp.name],
                                    inst.store)
                out.setdefault(imp.module, {})[imp.name] = host
        return out
    repl.add_function(inst, wat("""(module (import "py" "log" (func $log (param i32)))
        (func (export "log_seven") i32.const 7 call $log))"""),
        imports={"py": {"log": seen.append}}, prepare_imports=prepare)
    inst.exports.log_seven()
    assert seen == [7]


def state_of(inst):
    return (sorted(inst.exports.keys()), inst.exports.sq(4), inst.exports.sq_plus_one(4),
            inst.exports.mem.read(0, 16), inst.exports.counter.value)


@pytest.mark.parametrize("cell,error", [
    ("""(module (func (export "sq") (param i32) (result i32) i64.const 1))""", CompileError),
    ("""(module (func (export "sq") (param i64) (result i64) local.get 0))""", LinkError),
    ("""(module (import "" "nothing" (func)) (func (export "x")))""", LinkError),
    ("""(module (import "" "sq" (func (param i64))) (func (export "x")))""", LinkError),
    ("""(module (memory (export "mem") 1))""", LinkError),
    ("""(module (func (export "new_one")) (func (export "sq") (param i32) (result f32)
         f32.const 0))""", LinkError),
])
def test_invalid_cell_changes_nothing(live, cell, error):
    _, inst = live
    inst.exports.store(0, 99)
    before = state_of(inst)
    with pytest.raises(error):
        repl.add_function(inst, wat(cell))
    assert state_of(inst) == before
    assert "new_one" not in inst.exports and "x" not in inst.exports


def test_malformed_bytes_change_nothing(live):
    _, inst = live
    before = state_of(inst)
    with pytest.raises(CompileError):
        repl.add_function(inst, b"\0asm\1\0\0\0\x01\xff")
    assert state_of(inst) == before


def test_cells_compile_lazily(live):
    _, inst = live
    added = repl.add_function(inst, wat("""(module
        (func (export "a") (result i32) i32.const 1) (func (export "b") (result i32) i32.const 2))"""))
    cell = inst._repl_state.cells[-1]
    assert cell.code.stats["functions_compiled"] == 0
    assert added["b"]() == 2
    assert cell.code.stats["functions_compiled"] == 1


def test_trap_in_a_cell(live):
    _, inst = live
    repl.add_function(inst, wat("""(module (func (export "bad") (result i32) unreachable))"""))
    with pytest.raises(Trap, match="unreachable"):
        inst.exports.bad()


def test_module_extend_gives_later_instances_the_cell(live):
    module, first = live
    module.extend(wat("""(module (import "" "sq" (func $sq (param i32) (result i32)))
        (func (export "sq_sq") (param i32) (result i32) local.get 0 call $sq call $sq))"""))
    second = module.instantiate()
    assert second.exports.sq_sq(3) == 81
    assert "sq_sq" not in first.exports
    with pytest.raises(LinkError):
        module.extend(wat("""(module (import "" "missing" (func)))"""))
    assert len(module.cells) == 1


def test_add_function_needs_repl_mode():
    module = modes.compile(wasabi.parse(wat(BASE)), Options(mode=Mode.LAZY))
    with pytest.raises(ValueError, match="REPL"):
        repl.add_function(module.instantiate(), wat("(module)"))
