"""wasabi.vectorize as a real numpy.ufunc (compiled loops), parallel=True, and
exports as native function pointers (export.address / export.ctype / last_trap)."""
import os
import threading

import numpy as np
import pytest

wasmtime = pytest.importorskip("wasmtime")
cffi = pytest.importorskip("cffi")

import wasabi  # noqa: E402

WAT = """
(module
  (import "env" "wait" (func $wait (param i32) (result i32)))
  (memory (export "mem") 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "poly") (param f64) (result f64)
    local.get 0 local.get 0 local.get 0 f64.mul f64.mul f64.const 1 f64.add)
  (func (export "scale") (param f32) (result f32) local.get 0 f32.const 2 f32.mul)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "divmod") (param i32 i32) (result i32 i32)
    local.get 0 local.get 1 i32.div_s local.get 0 local.get 1 i32.rem_s)
  (func $sq (param f64) (result f64) local.get 0 local.get 0 f64.mul)
  (func (export "viacall") (param f64) (result f64) local.get 0 call $sq f64.const 1 f64.add)
  (func (export "count") (param i32) (result i32)
    global.get $g local.get 0 i32.add global.set $g global.get $g)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "spin") (param i32) (result i32) (local i32)
    (loop $l local.get 1 i32.const 1 i32.add local.tee 1 local.get 0 i32.lt_s br_if $l)
    local.get 1)
  (func (export "block") (param i32) (result i32) local.get 0 call $wait)
  (func $rec (export "rec") (param i32) (result i32)
    local.get 0 i32.eqz
    if (result i32) i32.const 0
    else local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add end)
)
"""


@pytest.fixture(scope="module")
def module():
    return wasabi.Module(wasabi.Store(), wasmtime.wat2wasm(WAT))


def new_instance(module, wait=lambda x: x):
    return wasabi.Instance(module, {"env": {"wait": wasabi.Function(
        module.store if hasattr(module, "store") else wasabi.Store(), wait,
        wasabi.FunctionType([wasabi.Type.I32], [wasabi.Type.I32]))}})


@pytest.fixture
def inst(module):
    return new_instance(module)


def test_a_real_ufunc_with_methods(inst):
    add = wasabi.vectorize(inst.exports.add)
    assert isinstance(add, np.ufunc) and add.nin == 2 and add.nout == 1
    a = np.arange(10, dtype=np.int32)
    assert np.array_equal(add(a, 5), a + 5) and add(a, 5).dtype == np.int32
    assert add.reduce(a) == 45
    assert np.array_equal(add.accumulate(a), np.cumsum(a))
    assert np.array_equal(add.outer(a[:3], a[:4]), np.add.outer(a[:3], a[:4]))
    assert add(3, 4) == 7


def test_out_where_broadcast_and_casting(inst):
    add = wasabi.vectorize(inst.exports.add)
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert np.array_equal(add(a, np.array([10, 20, 30])), a + [10, 20, 30])
    out = np.full((2, 3), -1, np.int32)
    add(a, 1, out=out, where=a % 2 == 0)
    assert out.tolist() == [[1, -1, 3], [-1, 5, -1]]
    # numpy's default int64 arrays: the int64 loop wraps as i32.wrap_i64
    big = np.array([2**32 + 1, 2**31 - 1])
    assert add(big, 1).tolist() == [2, -2**31] and add(big, 1).dtype == np.int32
    assert np.array_equal(add(a[:, ::2], a[:, ::-2]), a[:, ::2] + a[:, ::-2])   # strided
    scale = wasabi.vectorize(inst.exports.scale)
    with pytest.raises(TypeError):
        scale(np.array([1.5, 2.0]))                 # float64 -> float32 is not safe
    assert scale(np.array([1.5, 2.0]), dtype=np.float32).tolist() == [3.0, 4.0]
    assert scale(np.array([1.5], np.float32)).dtype == np.float32


def test_results_match_numpy_and_inlined_callees(inst):
    x = np.random.default_rng(1).standard_normal(100_003)
    assert np.array_equal(wasabi.vectorize(inst.exports.poly)(x), x * (x * x) + 1)
    assert np.array_equal(wasabi.vectorize(inst.exports.viacall)(x), x * x + 1)
    q, r = wasabi.vectorize(inst.exports.divmod)(np.array([7, -7]), np.array([2, 2]))
    assert q.tolist() == [3, -3] and r.tolist() == [1, -1]


def test_trap_names_the_element(inst):
    div = wasabi.vectorize(inst.exports.div)
    out = np.zeros(5, np.int32)
    with pytest.raises(wasabi.Trap, match="integer divide by zero.*element 3") as info:
        div(np.array([10, 20, 30, 40, 50], np.int32), np.array([1, 2, 3, 0, 5], np.int32),
            out=out)
    assert info.value.element == 3 and info.value.arguments == (40, 0)
    assert out.tolist()[:3] == [10, 10, 10]          # the elements before it were written
    b = np.ones((3, 4), np.int32)
    b[2, 1] = 0
    with pytest.raises(wasabi.Trap) as info:        # the inputs name it in any iteration order
        div(np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::-1], b)
    assert info.value.arguments == (10, 0)
    load = wasabi.vectorize(inst.exports.load)
    with pytest.raises(wasabi.Trap, match="out of bounds.*element 2") as info:
        load(np.array([0, 4, 65536, 8], np.int32))
    assert info.value.element == 2


def test_recursion_keeps_its_stack_checks(inst):
    # the loop checks the stack once at its entry and drops the checks of the
    # bodies it inlines, but a recursive export is called again: its check stays
    # (a wasm stack bound far below the thread's: without the checks the
    # recursion would run on to the real stack's end, and return)
    from wasabi import _ext
    rec = wasabi.vectorize(inst.exports.rec)
    _ext.set_max_wasm_stack(256 << 10)
    try:
        with pytest.raises(wasabi.Trap, match="stack exhausted.*element 2") as info:
            rec(np.array([3, 5, 100_000, 4], np.int32))
    finally:
        _ext.set_max_wasm_stack(0)
    assert info.value.element == 2
    assert rec(np.array([3, 5, 100_000], np.int32)).tolist() == [3, 5, 100_000]


def _optimized_loops(inst, name):
    """The optimised IR text of an export's ufunc loops (as compile_loops makes them)."""
    import llvmlite.binding as llvm
    from wasabi.compiler import ufunc as cu
    from wasabi.compiler.pipelines import optimize, target_machine
    from wasabi.runtime.ufuncs import _options, _owner_and_index
    owner, index = _owner_and_index(getattr(inst.exports, name))
    ftype = owner.desc.func_type(index)
    tm = target_machine("O2")
    text, _ = cu.loop_module_ir(owner.desc, index, cu.signatures_for(ftype.params, ftype.results),
                                triple=tm.triple, datalayout=str(tm.target_data),
                                **_options(owner.code))
    module = llvm.parse_assembly(text)
    optimize(module, tm, "O2")
    return str(module)


def test_loops_of_bodies_that_cannot_trap_are_vectorised(inst):
    import re
    for name, ty in [("add", "i32"), ("poly", "double"), ("viacall", "double")]:
        ir = _optimized_loops(inst, name)
        assert re.search(rf"<\d+ x {ty}>", ir), name
        # *progress is set to 0 at each loop's entry and never again
        assert (len(re.findall(r"store (volatile )?i64 \S+, ptr %progress", ir))
                == ir.count("define void @wasabi_ufunc_")), name
    # where an element can trap, *progress follows every element
    for name in ["div", "load"]:
        ir = _optimized_loops(inst, name)
        assert (len(re.findall(r"store (volatile )?i64 %\S+, ptr %progress", ir))
                > ir.count("define void @wasabi_ufunc_")), name


def test_in_place(inst):
    add, poly = wasabi.vectorize(inst.exports.add), wasabi.vectorize(inst.exports.poly)
    for case in range(5):
        x = np.arange(1000, dtype=np.int32)
        y = np.arange(1000, dtype=np.int32) * 3
        args, out, want = [((x, 5), x, x + 5), ((5, x), x, x + 5), ((x, y), y, x + y),
                           ((y, x), y, x + y), ((x, x), x, 2 * x)][case]
        assert add(*args, out=out) is out and np.array_equal(out, want), case
    z = np.random.default_rng(2).random(1001)
    want = z * (z * z) + 1
    assert np.array_equal(poly(z, out=z), want)
    w = np.arange(12, dtype=np.int32)
    add(w[:-2], 1, out=w[2:])          # overlapping: numpy buffers it, as its own add does
    assert w.tolist() == np.add(np.arange(12)[:-2], 1, out=np.arange(12)[2:]).base.tolist()


def test_stateful_functions_run_in_order(inst):
    count = wasabi.vectorize(inst.exports.count)
    assert count(np.arange(1, 6, dtype=np.int32)).tolist() == [1, 3, 6, 10, 15]
    assert inst.exports.count(0) == 15               # the instance's own global


def test_loops_are_shared_by_instances(module):
    from wasabi.runtime import ufuncs
    a, b = new_instance(module), new_instance(module)
    fa, fb = wasabi.vectorize(a.exports.count), wasabi.vectorize(b.exports.count)
    fa(np.ones(3, np.int32))
    assert fb(np.ones(2, np.int32)).tolist() == [1, 2]   # b's own global
    code_a, code_b = a.exports.count._owner.code, b.exports.count._owner.code
    cache = code_a.derived["ufunc_loops"]
    assert code_a is code_b and 8 in cache
    assert ufuncs.compiled_loops(b.exports.count._owner, 8) is cache[8]


def test_ufunc_keeps_instance_alive(module):
    import gc
    add = wasabi.vectorize(new_instance(module).exports.add)
    gc.collect()
    assert add(np.arange(3, dtype=np.int32), 1).tolist() == [1, 2, 3]


def test_parallel_matches_and_uses_clones(inst):
    spin = wasabi.vectorize(inst.exports.spin, parallel=True, threads=2, min_chunk=1000)
    n = np.full(10_000, 50, np.int32)
    assert np.array_equal(spin(n), n)
    count = wasabi.vectorize(inst.exports.count, parallel=True, threads=2, min_chunk=1000)
    out = count(np.ones(4000, np.int32))
    # the threads claim chunks in order, each counting on its own clone from 0:
    # the results are two runs 1, 2, 3, ... interleaved chunk-wise, in element order
    assert _two_counts(out.tolist())
    div = wasabi.vectorize(inst.exports.div, parallel=True, threads=2, min_chunk=1000)
    d = np.ones(4000, np.int32)
    d[3000] = 0
    with pytest.raises(wasabi.Trap) as info:
        div(np.ones(4000, np.int32), d)
    assert info.value.element == 3000
    d[[1500, 1700, 3500]] = 0           # the lowest trapping element, on any thread
    for _ in range(20):
        with pytest.raises(wasabi.Trap) as info:
            div(np.ones(4000, np.int32), d)
        assert info.value.element == 1500
    # the workers are made once: more calls run on the same threads
    tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
    for _ in range(20):
        assert np.array_equal(spin(n), n)
    if tasks is not None:
        assert len(os.listdir("/proc/self/task")) == tasks


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_parallel_in_a_forked_child(inst):
    # the child has none of the parent's pool workers: it makes its own
    import time
    spin = wasabi.vectorize(inst.exports.spin, parallel=True, threads=2, min_chunk=1000)
    n = np.full(10_000, 20, np.int32)
    assert np.array_equal(spin(n), n)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.array_equal(spin(n), n) else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the parallel ufunc hung in the forked child")


def _two_counts(values):
    """Whether `values` is two sequences 1, 2, 3, ... interleaved (one per clone)."""
    last = [0, 0]
    for v in values:
        k = 0 if last[0] == v - 1 else 1 if last[1] == v - 1 else None
        if k is None:
            return False
        last[k] = v
    return True


def test_two_counts_helper():
    assert _two_counts([1, 2, 1, 3, 2]) and _two_counts([1, 2, 3])
    assert not _two_counts([1, 2, 2, 2]) and not _two_counts([1, 3])


def test_busy_instance(module):
    started, release = threading.Event(), threading.Event()

    def wait(x):
        started.set()
        release.wait(10)
        return x

    inst = new_instance(module, wait)
    add = wasabi.vectorize(inst.exports.add)
    padd = wasabi.vectorize(inst.exports.add, parallel=True, threads=2, min_chunk=1000)
    ffi = cffi.FFI()
    cadd = ffi.cast(inst.exports.add.ctype, inst.exports.add.address)
    t = threading.Thread(target=inst.exports.block, args=(1,))
    t.start()
    try:
        assert started.wait(10)
        with pytest.raises(RuntimeError, match="another thread"):
            add(np.arange(3, dtype=np.int32), 1)
        out = np.zeros(5000, np.int32)
        with pytest.raises(RuntimeError, match="another thread"):
            padd(np.arange(5000, dtype=np.int32), 1, out=out)
        assert not out.any()                # no part ran, not even on the clone
        assert cadd(1, 2) == 0
        err = wasabi.last_trap()
        assert isinstance(err, RuntimeError) and "another thread" in str(err)
    finally:
        release.set()
        t.join()
    assert cadd(1, 2) == 3 and wasabi.last_trap() is None


def test_native_pointer_from_cffi(inst):
    e = inst.exports
    assert e.add.ctype == "int32_t(*)(int32_t, int32_t)"
    assert e.poly.ctype == "double(*)(double)"
    ffi = cffi.FFI()
    add, div = ffi.cast(e.add.ctype, e.add.address), ffi.cast(e.div.ctype, e.div.address)
    assert add(2, 3) == 5 and add(2**31 - 1, 1) == -2**31
    assert wasabi.last_trap() is None
    assert div(7, 0) == 0
    trap = wasabi.last_trap()
    assert isinstance(trap, wasabi.Trap) and "divide by zero" in str(trap)
    assert wasabi.last_trap() is None                     # taken
    assert e.add.address == e.add.address                 # made once
    with pytest.raises(TypeError):
        e.divmod.ctype


def test_last_trap_is_per_thread(inst):
    ffi = cffi.FFI()
    div = ffi.cast(inst.exports.div.ctype, inst.exports.div.address)
    seen = []

    def other():
        seen.append(wasabi.last_trap())
        div(1, 0)
        seen.append(wasabi.last_trap())

    assert div(1, 0) == 0
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen[0] is None and isinstance(seen[1], wasabi.Trap)
    assert isinstance(wasabi.last_trap(), wasabi.Trap)    # this thread's own, still there


@pytest.mark.slow            # importing numba and compiling takes seconds
def test_native_pointer_from_numba(inst):
    numba = pytest.importorskip("numba")
    ffi = cffi.FFI()
    add = ffi.cast(inst.exports.add.ctype, inst.exports.add.address)
    div = ffi.cast(inst.exports.div.ctype, inst.exports.div.address)

    @numba.njit
    def total(n):
        s = 0
        for i in range(n):
            s += add(i, 1)
        return s

    @numba.njit
    def divide(a, b):
        return div(a, b)

    assert total(1000) == sum(range(1, 1001))
    assert divide(9, 0) == 0 and isinstance(wasabi.last_trap(), wasabi.Trap)


@pytest.mark.slow            # importing dask takes a second
def test_dask_dispatch(inst):
    da = pytest.importorskip("dask.array")
    poly = wasabi.vectorize(inst.exports.poly)
    x = np.random.default_rng(2).random(10_000)
    lazy = poly(da.from_array(x, chunks=2_500))
    assert isinstance(lazy, da.Array)
    assert np.array_equal(lazy.compute(scheduler="threads", num_workers=1), x * (x * x) + 1)


def test_pure_exports_skip_the_entry(inst):
    from wasabi.runtime.export_pointers import native_pointer
    e = inst.exports
    # pure: no state, no loop, nothing that traps; the others go through the entry
    assert native_pointer(e.add).pure and native_pointer(e.viacall).pure
    for name in ("div", "count", "load", "spin", "block"):
        assert not native_pointer(getattr(e, name)).pure, name
    ffi = cffi.FFI()
    viacall = ffi.cast(e.viacall.ctype, e.viacall.address)
    assert viacall(3.0) == 10.0 and wasabi.last_trap() is None


def test_pure_call_from_a_fresh_thread_and_inside_a_host_call(module):
    ffi = cffi.FFI()
    box = {}

    def wait(x):                    # runs inside the instance: the pointer nests
        return box["add"](x, 100)

    inst = new_instance(module, wait)
    box["add"] = ffi.cast(inst.exports.add.ctype, inst.exports.add.address)
    assert inst.exports.block(5) == 105 and wasabi.last_trap() is None
    out = []
    t = threading.Thread(target=lambda: out.append(box["add"](2, 2)))
    t.start()
    t.join()
    assert out == [4]


@pytest.mark.parametrize("n", [10, 5000])      # numpy keeps the GIL below 500 elements
def test_host_calls_inside_the_loop(module, n):
    inst = new_instance(module, lambda x: x * 2)
    block = wasabi.vectorize(inst.exports.block)
    x = np.arange(n, dtype=np.int32)
    assert np.array_equal(block(x), x * 2)

    def fail(x):
        if x == 7:
            raise KeyError("seven")
        return x
    with pytest.raises(KeyError, match="seven"):
        wasabi.vectorize(new_instance(module, fail).exports.block)(x)


@pytest.mark.parametrize("n", [65536, 200_000])
def test_a_pending_interrupt_stops_the_call(module, n):
    # polled before each chunk of 65536 elements (bodies without loops have no
    # polls of their own): once polled after the last one, the trap named
    # element n, past the arrays, and read its inputs there
    inst = new_instance(module)
    add = wasabi.vectorize(inst.exports.add)
    inst.exports.add._owner.store.interrupt()
    with pytest.raises(wasabi.Interrupted) as info:
        add(np.arange(n, dtype=np.int32), 1)
    assert info.value.element == 0 and info.value.arguments == (0, 1)
    assert add(np.arange(3, dtype=np.int32), 1).tolist() == [1, 2, 3]


@pytest.mark.parametrize("options", [
    dict(bounds="explicit"),
    pytest.param(dict(mode=wasabi.Mode.LAZY), marks=pytest.mark.slow),
    pytest.param(dict(fuel=True), marks=pytest.mark.slow)])
def test_other_modes(options):
    module = wasabi.compile(wasmtime.wat2wasm(WAT), wasabi.Options(**options))
    inst = wasabi.instantiate(module, {"env": {"wait": lambda x: x}})
    if options.get("fuel"):
        inst.exports.add._owner.store.set_fuel(10**9)
    x = np.random.default_rng(3).random(1000)
    assert np.array_equal(wasabi.vectorize(inst.exports.viacall)(x), x * x + 1)
    count = wasabi.vectorize(inst.exports.count)
    assert count(np.ones(4, np.int32)).tolist() == [1, 2, 3, 4]
    with pytest.raises(wasabi.Trap, match="out of bounds") as info:
        wasabi.vectorize(inst.exports.load)(np.array([0, 65535, 4], np.int32))
    assert info.value.element == 1
    ffi = cffi.FFI()
    add = ffi.cast(inst.exports.add.ctype, inst.exports.add.address)
    assert add(40, 2) == 42
    if options.get("fuel"):                     # the loops count fuel like the module's code
        inst.exports.add._owner.store.set_fuel(1000)
        with pytest.raises(wasabi.OutOfFuel):
            wasabi.vectorize(inst.exports.spin)(np.full(100, 100, np.int32))


def test_ufunc_and_pointer_release_the_instance(module):
    import gc
    import weakref
    inst = new_instance(module)
    ref = weakref.ref(inst.exports.add._owner)
    add = wasabi.vectorize(inst.exports.add)
    assert inst.exports.add.address
    assert add(np.arange(3, dtype=np.int32), 1).tolist() == [1, 2, 3]
    del inst
    gc.collect()
    assert ref() is not None and add(np.int32(1), 1) == 2     # the ufunc keeps it alive
    del add
    gc.collect()
    assert ref() is None                  # the ufunc dropped its loops' data (ufunc->obj)


SIMD_WAT = """(module (memory 1)
  (func (export "lanes") (param i32) (result i32)
    (i32x4.extract_lane 1 (i32x4.add (v128.load (i32.const 0)) (i32x4.splat (local.get 0))))))"""


def test_a_function_that_uses_simd_vectorises_and_has_an_address():
    """A function that uses SIMD is compiled apart from AVX-512 code (its own attribute
    group, noinline: translator.FunctionTranslator.attributes); the ufunc loop and the
    native wrapper, which force their callee inline elsewhere, call it."""
    ffi = cffi.FFI()
    inst = wasabi.Instance(wasabi.Module(wasabi.Store(), wasmtime.wat2wasm(SIMD_WAT)))
    lanes = inst.exports.lanes
    assert list(wasabi.vectorize(lanes)(np.arange(4, dtype=np.int32))) == [0, 1, 2, 3]
    assert ffi.cast(lanes.ctype, lanes.address)(7) == 7
