"""Pickling modules, instances, exported and vectorized functions (api/pickling.py,
runtime/snapshot.py, wasi/pickling.py), with pickle (protocols 4 and 5, in and out
of band) and cloudpickle."""
import io
import pickle

import numpy as np
import pytest

import wasabi
from wasabi.api import pickling
from wasabi.compiler import artifact

cloudpickle = pytest.importorskip("cloudpickle", reason="cloudpickle is not installed "
                                  "(pip install -e '.[test]')")

WAT = """
(module
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1 100)
  (global $g (export "g") (mut i32) (i32.const 5))
  (global $f (export "f") (mut funcref) (ref.func $dbl))
  (global $x (export "x") (mut externref) (ref.null extern))
  (table $t (export "t") 3 funcref)
  (elem (i32.const 0) $add $dbl)
  (elem $passive func $dbl)
  (data $d "hello")
  (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func $dbl (export "dbl") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func (export "bump") (global.set $g (i32.add (global.get $g) (i32.const 1)))
    (call $log (global.get $g)))
  (func (export "ind") (param i32 i32) (result i32)
    (call_indirect (param i32) (result i32) (local.get 0) (local.get 1)))
  (func (export "peek") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "init") (param i32) (memory.init $d (local.get 0) (i32.const 0) (i32.const 5)))
  (func (export "drop") (data.drop $d))
  (func (export "set_x") (param externref) (global.set $x (local.get 0)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"""

LOGGED = []


def log(value):          # a host function that travels (module level: pickle finds it by name)
    LOGGED.append(value)


def roundtrip(obj, how="pickle5"):
    if how == "pickle4":
        return pickle.loads(pickle.dumps(obj, protocol=4))
    if how == "pickle5":
        return pickle.loads(pickle.dumps(obj, protocol=5))
    if how == "out-of-band":
        buffers = []
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        return pickle.loads(data, buffers=[b.raw() for b in buffers])
    return cloudpickle.loads(cloudpickle.dumps(obj))


HOWS = ["pickle4", "pickle5", "out-of-band", "cloudpickle"]


@pytest.fixture(scope="module")
def module():
    return wasabi.compile(WAT)


@pytest.fixture
def instance(module):
    inst = wasabi.instantiate(module, {"env": {"log": log}})
    inst.exports.bump()
    inst.exports.memory.uint8_view()[100:103] = b"abc"
    inst.exports.t.set(2, inst.exports.add)
    inst.exports.set_x({"an": "externref"})
    return inst


# ---- modules ----

@pytest.mark.parametrize("how", HOWS)
def test_module_roundtrip(module, how):
    copy = roundtrip(module, how)
    assert isinstance(copy, wasabi.Module)
    assert [e.name for e in copy.exports] == [e.name for e in module.exports]
    assert copy.options == module.options
    assert wasabi.instantiate(copy, {"env": {"log": log}}).exports.add(2, 3) == 5


def test_module_options_and_store_options_travel():
    options = wasabi.Options(tier="T0", bounds="explicit", memory="anonymous")
    module = wasabi.compile("(module (func (export \"f\") (result i32) (i32.const 7)))", options)
    module.name = "seven"
    copy = roundtrip(module)
    assert copy.options == options and copy.store.options == options
    assert copy.name == "seven"
    assert wasabi.instantiate(copy).exports.f() == 7


def test_wasmer_face_module_roundtrip():
    store = wasabi.Store()
    module = wasabi.Module(store, "(module (func (export \"f\") (result i32) (i32.const 3)))")
    copy = roundtrip(module, "cloudpickle")
    assert wasabi.Instance(copy).exports.f() == 3


def test_unpickling_again_shares_the_linked_code(module):
    data = pickle.dumps(module)
    pickling.REGISTRY.clear()
    links = pickling.REGISTRY.links
    first, second = pickle.loads(data), pickle.loads(data)
    assert pickling.REGISTRY.links == links + 1
    assert first._compiled is second._compiled
    # the sender's process shares the sender's code
    fresh = wasabi.compile("(module (func (export \"g\")))")
    assert pickle.loads(pickle.dumps(fresh))._compiled is fresh._compiled


def test_registry_keeps_recent_modules_linked(module):
    data = pickle.dumps(module)
    pickling.REGISTRY.clear()
    links = pickling.REGISTRY.links
    pickle.loads(data)          # dropped at once, as a task's copy is
    pickle.loads(data)
    assert pickling.REGISTRY.links == links + 1


def test_matching_machine_key_links_objects_without_compiling(module, monkeypatch):
    data = pickle.dumps(module)
    pickling.REGISTRY.clear()

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled instead of linking the pickled objects")
    monkeypatch.setattr("wasabi.compiler.modes.compile", no_compile)
    monkeypatch.setattr("wasabi.compiler.cache.compile_bytes", no_compile)
    copy = pickle.loads(data)
    assert wasabi.instantiate(copy, {"env": {"log": log}}).exports.dbl(21) == 42


def test_other_machine_key_compiles_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WASABI_CACHE_DIR", str(tmp_path))
    source = "(module (func (export \"f\") (result i32) (i32.const 11)))"
    module = wasabi.compile(source)
    with monkeypatch.context() as patch:        # as if made on another machine
        patch.setattr(artifact, "machine_key", lambda: "another machine")
        data = pickle.dumps(module)
    assert not list(tmp_path.iterdir())
    pickling.REGISTRY.clear()
    del module
    copy = pickle.loads(data)
    assert wasabi.instantiate(copy).exports.f() == 11
    assert copy.options.cache is False            # the module's own options
    assert len(list(tmp_path.glob("*.wasabi"))) == 1      # compiled once for this machine


@pytest.mark.parametrize("mode", ["lazy", "repl"])
def test_lazy_modules_roundtrip(mode):
    module = wasabi.compile(WAT, wasabi.Options(mode=mode))
    copy = roundtrip(module)
    assert copy.options.mode.value == mode
    assert wasabi.instantiate(copy, {"env": {"log": log}}).exports.dbl(4) == 8


def test_repl_module_with_cells_cannot_travel():
    module = wasabi.compile("(module (func (export \"f\") (result i32) (i32.const 1)))",
                            wasabi.Options(mode="repl"))
    module.extend("(module (func (export \"g\") (result i32) (i32.const 2)))")
    with pytest.raises(pickle.PicklingError, match="extend"):
        pickle.dumps(module)


def test_corrupt_module_pickle_is_refused(module):
    data = bytearray(pickle.dumps(module))
    data[len(data) // 2] ^= 0xFF
    pickling.REGISTRY.clear()
    with pytest.raises((wasabi.CompileError, pickle.UnpicklingError)):
        pickle.loads(bytes(data))



@pytest.mark.parametrize("threaded", [False, True])
@pytest.mark.parametrize("where", ["key matches", "other machine, cache hit",
                                   "other machine, cache miss"])
def test_a_pickle_whose_wasm_was_changed_is_refused(where, threaded, tmp_path, monkeypatch):
    """The wasm's digest is checked on a thread while the code loads (artifact._Digest):
    a wasm changed in transit (still well-formed) is refused in every path, and not
    compiled into the cache."""
    monkeypatch.setenv("WASABI_CACHE_DIR", str(tmp_path))
    if threaded:
        monkeypatch.setattr(artifact._Digest, "THREAD_MIN", 0)
    wasm = wasabi.wat2wasm('(module (func (export "f") (result i32) i32.const 7))')
    module = wasabi.compile(wasm, wasabi.Options(cache=where.endswith("hit")))
    with monkeypatch.context() as patch:
        if where.startswith("other"):
            patch.setattr(artifact, "machine_key", lambda: "another machine")
        data = pickle.dumps(module)
    assert data.count(wasm) == 1 and data.count(b"\x41\x07\x0b") == 1
    changed = data.replace(b"\x41\x07\x0b", b"\x41\x08\x0b")     # i32.const 8
    entries = sorted(tmp_path.glob("*.wasabi"))
    assert len(entries) == (1 if where.endswith("hit") else 0)
    pickling.REGISTRY.clear()
    with pytest.raises(wasabi.CompileError, match="damaged wasm"):
        pickle.loads(changed)
    assert sorted(tmp_path.glob("*.wasabi")) == entries      # nothing compiled into it
    assert wasabi.instantiate(pickle.loads(data)).exports.f() == 7

# ---- instances ----

@pytest.mark.parametrize("how", HOWS)
def test_instance_snapshot(instance, how):
    copy = roundtrip(instance, how)
    ex = copy.exports
    assert ex.g.value == 6
    assert bytes(ex.memory.uint8_view()[100:103]) == b"abc"
    assert ex.ind(21, 1) == 42
    assert ex.t.get(2)(4, 5) == 9                 # a funcref to its own function, rebased
    assert ex.f.value(8) == 16
    assert ex.x.value == {"an": "externref"}
    LOGGED.clear()
    ex.bump()                                     # its import travelled
    assert LOGGED == [7] and instance.exports.g.value == 6


def test_snapshot_is_independent_of_the_original(instance):
    copy = roundtrip(instance)
    copy.exports.memory.uint8_view()[100] = ord("z")
    instance.exports.memory.uint8_view()[101] = ord("y")
    assert instance.exports.peek(100) == ord("a") and copy.exports.peek(101) == ord("b")


def test_snapshot_keeps_grown_memory_and_dropped_segments(instance):
    assert instance.exports.grow(2) == 1
    instance.exports.memory.uint8_view()[3 * 65536 - 1] = 9
    instance.exports.drop()
    copy = roundtrip(instance)
    assert copy.exports.memory.size == 3 and copy.exports.peek(3 * 65536 - 1) == 9
    with pytest.raises(wasabi.Trap, match="out of bounds memory access"):
        copy.exports.init(0)                      # the segment stays dropped
    fresh = wasabi.instantiate(copy.module, {"env": {"log": log}})
    fresh.exports.init(0)
    assert fresh.exports.peek(0) == ord("h")


def test_snapshot_pickles_memory_out_of_band(instance):
    buffers = []
    data = pickle.dumps(instance, protocol=5, buffer_callback=buffers.append)
    assert sum(b.raw().nbytes for b in buffers) == 65536      # the memory, not in the stream
    assert len(data) < 65536


def test_fuel_travels():
    module = wasabi.compile("(module (func (export \"f\") (loop (br 0))))",
                            wasabi.Options(fuel=True))
    inst = wasabi.instantiate(module)
    inst.store.set_fuel(1234)
    assert roundtrip(inst).store.get_fuel() == 1234


def test_instance_with_imported_memory_cannot_travel():
    memory_module = wasabi.compile('(module (memory (export "m") 1))')
    owner = wasabi.instantiate(memory_module)
    user = wasabi.instantiate(wasabi.compile('(module (import "env" "m" (memory 1)))'),
                              {"env": {"m": owner.exports.m}})
    with pytest.raises(pickle.PicklingError, match="imports the memory env.m"):
        pickle.dumps(user)


def test_instance_importing_another_instances_function_cannot_travel(instance):
    user = wasabi.instantiate(
        wasabi.compile('(module (import "env" "add" (func (param i32 i32) (result i32))))'),
        {"env": {"add": instance.exports.add}})
    with pytest.raises(pickle.PicklingError, match="env.add, a function of another instance"):
        pickle.dumps(user)


def test_foreign_funcref_in_a_table_cannot_travel(instance, module):
    other = wasabi.instantiate(module, {"env": {"log": log}})
    instance.exports.t.set(2, other.exports.dbl)
    with pytest.raises(pickle.PicklingError, match="table 0 element 2 refers to a function "
                                                   "of another instance"):
        pickle.dumps(instance)


def test_host_funcref_in_a_table_cannot_travel(instance):
    host = wasabi.Function(wasabi.Store(), lambda x: x,
                           wasabi.FunctionType([wasabi.Type.I32], [wasabi.Type.I32]))
    instance.exports.t.set(1, host)
    with pytest.raises(pickle.PicklingError, match="table 0 element 1 refers to a host function"):
        pickle.dumps(instance)


def test_lambda_import_travels_with_cloudpickle_only(module):
    seen = []
    inst = wasabi.instantiate(module, {"env": {"log": lambda v: seen.append(v)}})
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(inst)
    copy = cloudpickle.loads(cloudpickle.dumps(inst))
    copy.exports.bump()
    assert copy.exports.g.value == 6


def test_repl_instance_with_added_functions_cannot_travel():
    module = wasabi.compile('(module (func (export "f") (result i32) (i32.const 1)))',
                            wasabi.Options(mode="repl"))
    inst = wasabi.instantiate(module)
    inst.add_function('(module (func (export "g") (result i32) (i32.const 2)))')
    with pytest.raises(pickle.PicklingError, match="REPL cells"):
        pickle.dumps(inst)


# ---- WASI ----

WASI_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hi\\n")
  (func (export "say") (result i32)
    (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
    (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
"""


def test_wasi_instance_travels_with_its_configuration():
    from wasabi import wasi
    env = wasabi.WasiConfig(argv=["prog"], stdout=wasi.CAPTURE).finalize()
    inst = wasabi.instantiate(wasabi.compile(WASI_WAT), env.generate_import_object())
    assert inst.exports.say() == 0
    copy = roundtrip(inst, "cloudpickle")
    assert copy.exports.say() == 0
    (environment,) = {f.environment for f in copy._instance._imported_funcs.values()}
    assert environment.state_of(copy).stdout == b"hi\n"       # its own, fresh context
    assert env.state_of(inst).stdout == b"hi\n"


def test_wasi_instance_writing_to_a_host_file_cannot_travel(tmp_path):
    with open(tmp_path / "out.txt", "wb") as out:
        env = wasabi.WasiConfig(stdout=out).finalize()
        inst = wasabi.instantiate(wasabi.compile(WASI_WAT), env.generate_import_object())
        with pytest.raises(pickle.PicklingError, match="stdout is the open host file"):
            pickle.dumps(inst)
    env = wasabi.WasiConfig(stderr=str(tmp_path / "err.txt")).finalize()
    inst = wasabi.instantiate(wasabi.compile(WASI_WAT), env.generate_import_object())
    with pytest.raises(pickle.PicklingError, match="stderr is the host file"):
        pickle.dumps(inst)


# ---- functions ----

@pytest.mark.parametrize("how", HOWS)
def test_exported_function_travels_with_its_instance(instance, how):
    add = roundtrip(instance.exports.add, how)
    assert add(40, 2) == 42
    both = roundtrip((instance, instance.exports.peek), how)
    assert both[1] is both[0].exports.peek                    # one snapshot, one instance
    assert both[1](100) == ord("a")


@pytest.mark.parametrize("how", HOWS)
def test_vectorized_function_travels(instance, how):
    vec = roundtrip(wasabi.vectorize(instance.exports.add), how)
    assert np.array_equal(vec(np.arange(4), 10), np.arange(10, 14, dtype=np.int32))


def test_numpy_ufuncs_still_pickle_by_name_beside_ours(instance):
    """wasabi's ufunc reducer is registered for numpy.ufunc: numpy's stay numpy's."""
    ours = wasabi.vectorize(instance.exports.add)
    assert pickle.loads(pickle.dumps(np.add)) is np.add
    assert pickle.loads(pickle.dumps([np.multiply, ours]))[0] is np.multiply


def test_pickling_into_a_file(instance):
    f = io.BytesIO()
    pickle.dump(instance, f, protocol=pickle.HIGHEST_PROTOCOL)
    f.seek(0)
    assert pickle.load(f).exports.peek(102) == ord("c")
