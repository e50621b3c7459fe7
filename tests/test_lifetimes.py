"""Funcref lifetimes: whatever a wasm value can reference keeps its instance alive
(runtime/lifetimes.py), and what nothing references is freed."""
import gc
import weakref

import wasmtime

import wasabi
from wasabi.binary.types import FUNCREF, GlobalType, Limits, TableType
from wasabi.runtime import Global, Store, Table
from wasabi.runtime.lifetimes import group_of

# B keeps a funcref it is given in its own table and calls it later
KEEPER = """(module
  (table $t (export "t") 1 funcref)
  (type $r (func (result i32)))
  (func $keep (export "keep") (param funcref) (table.set $t (i32.const 0) (local.get 0)))
  (func (export "get_keep") (result funcref) (ref.func $keep))
  (func (export "call") (result i32) (call_indirect $t (type $r) (i32.const 0))))"""

# A gives its own function (returning 42) to B's imported "keep"
GIVER = """(module
  (import "b" "keep" (func $keep (param funcref)))
  (func $mine (result i32) i32.const 42)
  (elem declare func $mine)
  (func (export "give") (call $keep (ref.func $mine))))"""


def compile_wat(text):
    return wasabi.compile(wasmtime.wat2wasm(text))


def churn():
    """Collect, then allocate instances over whatever was freed."""
    gc.collect()
    module = compile_wat(GIVER.replace("42", "13"))
    keeper = wasabi.instantiate(compile_wat(KEEPER))
    junk = [wasabi.instantiate(module, {"b": {"keep": keeper.exports.keep}}) for _ in range(20)]
    del junk
    gc.collect()


def test_funcref_passed_to_an_import_keeps_its_instance():
    """The issue's scenario: A passes ref.func of its own function to B's exported
    function (imported by A); B stores it; A is dropped; B's call_indirect."""
    b = wasabi.instantiate(compile_wat(KEEPER))
    a = wasabi.instantiate(compile_wat(GIVER), {"b": {"keep": b.exports.keep}})
    a.exports.give()
    alive = weakref.ref(a._instance)
    del a
    churn()
    assert alive() is not None
    assert b.exports.call() == 42


def test_funcref_typed_result_of_an_import_joins_the_groups():
    """X gets Y's `keep` as the result of an import, then calls it through its own
    table with X's function: Y stores X's funcref without X importing anything that
    takes one."""
    y = wasabi.instantiate(compile_wat(KEEPER))
    x = wasabi.instantiate(compile_wat("""(module
      (import "y" "get_keep" (func $get (result funcref)))
      (table $t 1 funcref)
      (type $k (func (param funcref)))
      (func $mine (result i32) i32.const 43)
      (elem declare func $mine)
      (func (export "give")
        (table.set $t (i32.const 0) (call $get))
        (call_indirect $t (type $k) (ref.func $mine) (i32.const 0))))"""),
        {"y": {"get_keep": y.exports.get_keep}})
    x.exports.give()
    alive = weakref.ref(x._instance)
    del x
    churn()
    assert alive() is not None
    assert y.exports.call() == 43


def test_funcref_copied_from_a_shared_table_into_another_table():
    """B reads A's funcref from A's exported table and keeps it in its own table."""
    a = wasabi.instantiate(compile_wat("""(module
      (table $t (export "t") 1 funcref)
      (func $f (result i32) i32.const 44)
      (elem (i32.const 0) $f))"""))
    b = wasabi.instantiate(compile_wat("""(module
      (import "a" "t" (table $shared 1 funcref))
      (table $own (export "own") 1 funcref)
      (type $r (func (result i32)))
      (func (export "copy") (table.set $own (i32.const 0) (table.get $shared (i32.const 0))))
      (func (export "call") (result i32) (call_indirect $own (type $r) (i32.const 0))))"""),
        {"a": {"t": a.exports.t}})
    b.exports.copy()
    alive = weakref.ref(a._instance)
    del a
    churn()
    assert alive() is not None
    assert b.exports.call() == 44


def test_funcref_global_written_by_an_importer():
    """B stores its function in A's exported funcref global and is dropped; A calls it."""
    a = wasabi.instantiate(compile_wat("""(module
      (global $g (export "g") (mut funcref) (ref.null func))
      (table $t 1 funcref)
      (type $r (func (result i32)))
      (func (export "call") (result i32)
        (table.set $t (i32.const 0) (global.get $g))
        (call_indirect $t (type $r) (i32.const 0))))"""))
    b = wasabi.instantiate(compile_wat("""(module
      (import "a" "g" (global $g (mut funcref)))
      (func $f (result i32) i32.const 45)
      (elem declare func $f)
      (func (export "put") (global.set $g (ref.func $f))))"""), {"a": {"g": a.exports.g}})
    b.exports.put()
    alive = weakref.ref(b._instance)
    del b
    churn()
    assert alive() is not None
    assert a.exports.call() == 45


def test_funcrefs_set_from_python_keep_their_instance():
    """Table.set, Global.value, a call argument and a host function's result: the
    Function object crosses from Python into compiled code."""
    giver = compile_wat('(module (func (export "f") (result i32) i32.const 46))')
    b = wasabi.instantiate(compile_wat(KEEPER))
    glob = Global(Store(), GlobalType(FUNCREF, True), None)
    host_result = wasabi.instantiate(giver)
    host = wasabi.Function(wasabi.Store(), lambda: host_result.exports.f,
                           wasabi.FunctionType([], [wasabi.Type.FUNC_REF]))
    b2 = wasabi.instantiate(compile_wat("""(module
      (import "h" "get" (func $get (result funcref)))
      (table $t 1 funcref)
      (type $r (func (result i32)))
      (func (export "call") (result i32)
        (table.set $t (i32.const 0) (call $get))
        (call_indirect $t (type $r) (i32.const 0))))"""), {"h": {"get": host}})
    sources = [wasabi.instantiate(giver) for _ in range(3)]
    alive = [weakref.ref(s._instance) for s in sources + [host_result]]
    b.exports.t.set(0, sources[0].exports.f)
    glob.value = sources[1].exports.f
    assert b2.exports.call() == 46                 # the host's result entered compiled code
    del host_result
    churn()
    assert b.exports.call() == 46
    b.exports.keep(sources[2].exports.f)
    del sources
    churn()
    assert all(ref() is not None for ref in alive)
    assert b.exports.call() == 46
    assert glob.value() == 46


def test_clone_keeps_the_foreign_funcrefs_of_its_tables():
    """A clone's copied table holds the original's funcref to A's function."""
    b = wasabi.instantiate(compile_wat(KEEPER))
    a = wasabi.instantiate(compile_wat(GIVER), {"b": {"keep": b.exports.keep}})
    a.exports.give()
    clone = b.clone()
    alive = weakref.ref(a._instance)
    del a, b
    churn()
    assert alive() is not None
    assert clone.exports.call() == 42


def test_a_group_is_freed_when_nothing_refers_to_it():
    b = wasabi.instantiate(compile_wat(KEEPER))
    a = wasabi.instantiate(compile_wat(GIVER), {"b": {"keep": b.exports.keep}})
    a.exports.give()
    assert group_of(a._instance) is group_of(b._instance) is not None
    refs = [weakref.ref(a._instance), weakref.ref(b._instance)]
    del a, b
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_imports_without_funcrefs_do_not_keep_the_importer():
    """A long-lived library instance does not keep its short-lived importers alive
    when no funcref can pass between them."""
    lib = wasabi.instantiate(compile_wat("""(module
      (table $t (export "t") 1 funcref)
      (func (export "inc") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))"""))
    user = compile_wat("""(module (import "lib" "inc" (func $inc (param i32) (result i32)))
      (table 2 funcref)
      (func (export "run") (result i32) (call $inc (i32.const 1))))""")
    refs = []
    for _ in range(30):
        instance = wasabi.instantiate(user, {"lib": {"inc": lib.exports.inc}})
        assert instance.exports.run() == 2
        refs.append(weakref.ref(instance._instance))
        del instance
    gc.collect()
    assert sum(r() is not None for r in refs) == 0


def test_standalone_table_keeps_instances_that_link_it():
    store = Store()
    table = Table(store, TableType(FUNCREF, Limits(2, None)))
    writer = wasabi.instantiate(compile_wat("""(module (import "env" "t" (table 2 funcref))
      (elem (i32.const 1) $f) (func $f (result i32) i32.const 47))"""), {"env": {"t": table}})
    alive = weakref.ref(writer._instance)
    del writer
    churn()
    assert alive() is not None
    assert table.get(1)() == 47
