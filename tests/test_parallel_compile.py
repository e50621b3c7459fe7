"""EAGER compiles in parts on worker processes (wasabi/compiler/parallel.py)."""
import pytest
import wasmtime

import wasabi
from wasabi import Trap
from wasabi.compiler import artifact as serialize
from wasabi.compiler import parallel
from wasabi.compiler import compile_module
from wasabi.errors import CompileError
from wasabi.options import Options
from wasabi.runtime import instantiate

FUNCS = 120


def big_wat():
    """FUNCS functions, each calling the one before (across parts, too)."""
    lines = ['(module (memory 1)',
             '(func $f0 (export "f0") (param i32) (result i32) local.get 0)']
    for k in range(1, FUNCS):
        body = " ".join(f"local.get 0 i32.const {k * 7 + j} i32.add local.set 0" for j in range(12))
        lines.append(f'(func $f{k} (export "f{k}") (param i32) (result i32) {body} '
                     f'local.get 0 call $f{k - 1})')
    lines.append('(func (export "oob") (result i32) i32.const 70000 i32.load))')
    return "\n".join(lines)


@pytest.fixture(scope="module")
def desc():
    return wasabi.parse(wasmtime.wat2wasm(big_wat()))


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 1024)


def expected(k, x):
    for i in range(k, 0, -1):
        x = (x + sum(i * 7 + j for j in range(12))) & 0xFFFFFFFF
    return x


def test_partition_is_contiguous_and_balanced(desc, small_parts):
    parts = parallel.partition(desc, "T1", jobs=2)
    assert len(parts) == 4
    assert [i for part in parts for i in part] == [f.index for f in desc.funcs]
    sizes = [sum(desc.funcs[i].body_end - desc.funcs[i].body_start for i in part) for part in parts]
    assert max(sizes) < 1.5 * min(sizes)


def test_small_modules_o2_and_one_job_stay_whole(desc, small_parts, monkeypatch):
    assert len(parallel.partition(desc, "O2", jobs=2)) == 1       # inlining across the whole
    assert len(parallel.partition(desc, "T1", jobs=1)) == 1
    monkeypatch.setattr(parallel, "MIN_PART_BYTES", 1 << 30)
    assert len(parallel.partition(desc, "T1", jobs=8)) == 1


@pytest.mark.parametrize("tier", ["T0", "T1"])
def test_parts_run_like_one_object(desc, small_parts, tier):
    whole = compile_module(desc, Options(tier=tier), jobs=1)
    split = compile_module(desc, Options(tier=tier), jobs=2)
    assert (whole.stats["parts"], split.stats["parts"]) == (1, 4)
    assert len(split.objects) == 4 and len(split.code_ranges) == 4
    assert split.stats["functions"] == whole.stats["functions"] == FUNCS + 1
    a = instantiate(desc, whole).exports
    b = instantiate(desc, split).exports
    for k in (0, 1, 30, 31, 60, FUNCS - 1):
        assert b[f"f{k}"](k) == a[f"f{k}"](k) == expected(k, k)
    with pytest.raises(Trap, match="out of bounds"):   # a fault in the last part's code
        b["oob"]()
    with pytest.raises(ValueError):
        split.object_bytes                              # AOT wants one object: jobs=1


def test_a_module_in_parts_serializes(desc, small_parts):
    store = wasabi.Store()
    module = wasabi.Module(store, wasmtime.wat2wasm(big_wat()))
    assert module._code.stats["parts"] > 1
    again = wasabi.Module.deserialize(store, module.serialize())
    instance = wasabi.Instance(again)
    assert instance.exports.f40(3) == expected(40, 3)
    loaded = serialize.load(module.serialize())       # the parts, prelinked into one image
    assert loaded.image is not None and len(loaded.image.ranges) == module._code.stats["parts"]


def test_worker_errors_come_back_as_the_exception():
    idle = len(parallel._workers._idle)
    with pytest.raises(CompileError, match="invalid LLVM IR"):
        parallel._workers.emit("this is not IR", "T1")
    assert len(parallel._workers._idle) == max(idle, 1)   # the worker that answered is kept


def test_a_worker_that_cannot_start_leaves_the_work_here(desc, small_parts, monkeypatch):
    def gone(*args):
        raise parallel.WorkerGone("no processes here")
    monkeypatch.setattr(parallel._Worker, "__init__", gone)
    monkeypatch.setattr(parallel._workers, "_idle", [])
    code = compile_module(desc, Options(tier="T0"), jobs=2)
    assert code.stats["parts"] == 4
    assert instantiate(desc, code).exports["f10"](1) == expected(10, 1)


def test_a_forked_child_starts_its_own_workers(desc, small_parts):
    import os
    compile_module(desc, Options(tier="T0"), jobs=2)      # the parent has idle workers
    assert parallel._workers._idle
    pid = os.fork()
    if pid == 0:
        ok = not parallel._workers._idle
        try:
            code = compile_module(desc, Options(tier="T0"), jobs=2)
            ok = ok and instantiate(desc, code).exports["f5"](2) == expected(5, 2)
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert parallel._workers._idle                            # the parent's are still there
    code = compile_module(desc, Options(tier="T0"), jobs=2)
    assert instantiate(desc, code).exports["f6"](2) == expected(6, 2)


def test_an_idle_worker_that_ended_is_replaced(desc, small_parts):
    compile_module(desc, Options(tier="T0"), jobs=2)
    for worker in list(parallel._workers._idle):
        worker.proc.stdin.close()                   # as if it had timed out
        worker.proc.wait(timeout=30)
    code = compile_module(desc, Options(tier="T0"), jobs=2)
    assert instantiate(desc, code).exports["f7"](1) == expected(7, 1)
    assert all(w.proc.poll() is None for w in parallel._workers._idle)
