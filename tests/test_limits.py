"""Resource limits: wasabi.Limits, Store(limits=..., limiter=...), wasabi run --max-memory."""
import gc
import json
import os
import subprocess
import sys
import threading

import pytest

from wasi_programs.wasi_build import program_path

import wasabi
from wasabi import Limits, Options, ResourceLimitError
from wasabi.runtime.store import Store as RuntimeStore

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = 65536

GROWER = """(module
  (memory (export "mem") 1 10)
  (table (export "tab") 1 20 funcref)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
  (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow 0)
  (func (export "tsize") (result i32) table.size 0))
"""
# no declared maximums: only the store's limits bound them
UNBOUNDED = """(module
  (memory (export "mem") 1)
  (table (export "tab") 0 funcref)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "tgrow") (param i32) (result i32) ref.null func local.get 0 table.grow 0))
"""
IMPORTER = """(module
  (import "env" "mem" (memory 1))
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
"""


def store(mode="eager", bounds="guard", **kwargs):
    return wasabi.Store(options=Options(mode=mode, tier="T0", bounds=bounds), **kwargs)


def instance(wat, st, imports=None):
    return wasabi.Instance(wasabi.Module(st, wat), imports)


class Recorder:
    """A limiter that records every question and answers with `allow(kind, desired)`."""

    def __init__(self, allow=lambda kind, desired: True):
        self.allow = allow
        self.calls = []

    def memory_growing(self, current, desired, maximum):
        self.calls.append(("memory", current, desired, maximum))
        return self.allow("memory", desired)

    def table_growing(self, current, desired, maximum):
        self.calls.append(("table", current, desired, maximum))
        return self.allow("table", desired)


# ---- Limits ----

def test_limits_validate_and_are_frozen():
    assert Limits() == Limits(None, None, None, None, None)
    with pytest.raises(ValueError):
        Limits(memory_pages=-1)
    with pytest.raises(TypeError):
        Limits(instances=1.5)
    with pytest.raises(TypeError):
        Limits(tables=True)
    with pytest.raises(AttributeError):
        Limits().memories = 3
    with pytest.raises(TypeError):
        wasabi.Store(limits={"memory_pages": 1})
    with pytest.raises(TypeError):
        wasabi.Store(limiter=object())
    assert wasabi.Store().limits == Limits() and wasabi.Store().limiter is None


# ---- sizes ----

@pytest.mark.parametrize("mode", ["eager", "lazy"])
def test_memory_pages_from_wasm_and_python(mode):
    inst = instance(GROWER, store(mode, limits=Limits(memory_pages=3)))
    e = inst.exports
    assert [e.grow(1), e.grow(1), e.grow(1), e.size()] == [1, 2, -1, 3]   # -1, no trap
    assert e.grow(0) == 3
    with pytest.raises(RuntimeError, match="memory_pages=3"):     # wasmer's Memory.grow
        e.mem.grow(1)
    assert e.mem.type.maximum == 10 and e.mem.limit_pages == 3    # the declared maximum stays
    # the runtime face returns -1 as memory.grow does
    assert wasabi.runtime.Memory.grow(e.mem, 1) == -1 and e.mem.size == 3


def test_memory_pages_seed_face():
    module = wasabi.compile(GROWER, Options(tier="T0"))
    inst = wasabi.instantiate(module, store=wasabi.Store(limits=Limits(memory_pages=2)))
    assert inst.call("grow", 1) == 1 and inst.call("grow", 1) == -1
    free = wasabi.instantiate(module)                 # no store given: unlimited, as before
    assert free.call("grow", 9) == 1 and free.store.limits == Limits()


def test_table_elements_from_wasm_and_python():
    inst = instance(GROWER, store(limits=Limits(table_elements=4)))
    e = inst.exports
    assert [e.tgrow(2), e.tgrow(2), e.tsize()] == [1, -1, 3]
    assert e.tab.grow(1) == 3 and e.tab.grow(1) == -1 and e.tab.size == 4
    assert e.tab.type.maximum == 20 and e.tab.maximum == 20


def test_sizes_without_declared_maximum():
    e = instance(UNBOUNDED, store(limits=Limits(memory_pages=2, table_elements=1))).exports
    assert [e.grow(1), e.grow(1)] == [1, -1]
    assert [e.tgrow(1), e.tgrow(1)] == [0, -1]
    assert e.mem.type.maximum is None and e.tab.type.maximum is None


def test_python_made_memory_and_table_obey_limits():
    st = wasabi.Store(limits=Limits(memory_pages=2, table_elements=2))
    mem = wasabi.Memory(st, wasabi.MemoryType(1))
    assert mem.grow(1) == 1
    with pytest.raises(RuntimeError):
        mem.grow(1)
    with pytest.raises(ResourceLimitError, match="memory_pages=2"):
        wasabi.Memory(st, wasabi.MemoryType(3))
    tab = wasabi.Table(st, wasabi.TableType(wasabi.Type.FUNC_REF, 2))
    assert tab.grow(1) == -1
    with pytest.raises(ResourceLimitError, match="table_elements=2"):
        wasabi.Table(st, wasabi.TableType(wasabi.Type.FUNC_REF, 3))


def test_initial_size_above_limit_refuses_instantiation():
    st = store(limits=Limits(memory_pages=0, instances=5))
    module = wasabi.Module(st, GROWER)
    with pytest.raises(ResourceLimitError, match="memory 0 starts at 1 pages.*memory_pages=0"):
        wasabi.Instance(module)
    assert isinstance(ResourceLimitError("x"), wasabi.LinkError)
    assert st.resource_limits.live("instances") == 0        # nothing half-made counted
    st = store(limits=Limits(table_elements=0))
    with pytest.raises(ResourceLimitError, match="table_elements=0"):
        wasabi.Instance(wasabi.Module(st, GROWER))


# ---- counts ----

def test_counts_refuse_and_free():
    st = store(limits=Limits(instances=2, memories=3, tables=2))
    module = wasabi.Module(st, GROWER)
    live = st.resource_limits.live
    a, b = wasabi.Instance(module), wasabi.Instance(module)
    assert (live("instances"), live("memories"), live("tables")) == (2, 2, 2)
    with pytest.raises(ResourceLimitError, match="instances=2"):
        wasabi.Instance(module)
    assert (live("instances"), live("memories"), live("tables")) == (2, 2, 2)
    del a
    c = wasabi.Instance(module)          # the dropped one is collected, its slot reused
    assert (live("instances"), live("memories"), live("tables")) == (2, 2, 2)
    extra = wasabi.Memory(st, wasabi.MemoryType(1))
    with pytest.raises(ResourceLimitError, match="memories=3"):
        wasabi.Memory(st, wasabi.MemoryType(1))
    del b
    gc.collect()
    more = wasabi.Memory(st, wasabi.MemoryType(1))      # c's, extra and more: 3 memories
    with pytest.raises(ResourceLimitError, match="memories=3"):
        wasabi.Instance(module)          # one instance more would do, one memory more not
    assert (live("instances"), live("memories"), live("tables")) == (1, 3, 1)
    del extra, more
    d = wasabi.Instance(module)
    assert live("instances") == 2 and c and d


def test_memories_limit_refuses_before_instance_is_made():
    st = store(limits=Limits(memories=1))
    module = wasabi.Module(st, GROWER)
    keep = wasabi.Instance(module)
    with pytest.raises(ResourceLimitError, match="memories=1"):
        wasabi.Instance(module)
    assert st.resource_limits.live("memories") == 1 and keep


def test_clone_counts():
    st = store(limits=Limits(instances=2))
    inst = instance(GROWER, st)
    clone = inst.clone()
    with pytest.raises(ResourceLimitError, match="instances=2"):
        clone.clone()
    assert st.resource_limits.live("instances") == 2
    assert clone.exports.grow(1) == 1


def test_unlimited_store_tracks_nothing():
    st = store()
    instance(GROWER, st)
    assert st.resource_limits.live("instances") is None and not st.resource_limits.active


# ---- the limiter ----

def test_limiter_allows_and_denies_from_wasm_and_python():
    lim = Recorder(lambda kind, desired: desired <= (3 * PAGE if kind == "memory" else 5))
    e = instance(GROWER, store(limiter=lim)).exports
    # asked at creation: from 0 to the initial size; maximum declared, in bytes for memories
    assert lim.calls == [("memory", 0, PAGE, 10 * PAGE), ("table", 0, 1, 20)]
    lim.calls.clear()
    assert [e.grow(1), e.grow(1), e.grow(1)] == [1, 2, -1]
    assert lim.calls == [("memory", PAGE, 2 * PAGE, 10 * PAGE), ("memory", 2 * PAGE, 3 * PAGE,
                         10 * PAGE), ("memory", 3 * PAGE, 4 * PAGE, 10 * PAGE)]
    lim.calls.clear()
    assert e.grow(0) == 3 and e.grow(100) == -1 and lim.calls == []   # 0, past the maximum: not asked
    with pytest.raises(RuntimeError):
        e.mem.grow(1)                                     # from Python: asked, denied
    assert lim.calls == [("memory", 3 * PAGE, 4 * PAGE, 10 * PAGE)]
    assert [e.tgrow(4), e.tgrow(1)] == [1, -1]
    assert e.tab.grow(1) == -1 and e.tab.size == 5
    assert lim.calls[-1] == ("table", 5, 6, 20)


class Refused(Exception):
    pass


def test_limiter_exception_propagates_unchanged():
    raised = Refused("no more")

    class Raising:
        armed = False

        def memory_growing(self, current, desired, maximum):
            if self.armed:
                raise raised
            return True

    lim = Raising()
    e = instance(GROWER, store(limiter=lim)).exports
    lim.armed = True
    with pytest.raises(Refused) as info:
        e.grow(1)                        # raised inside compiled code, out of the wasm frames
    assert info.value is raised
    with pytest.raises(Refused):
        e.mem.grow(1)
    lim.armed = False
    assert e.size() == 1 and e.grow(1) == 1           # the instance is still usable
    assert e.tgrow(1) == 1          # a limiter without table_growing: tables are not limited


def test_limiter_refusal_at_creation():
    lim = Recorder(lambda kind, desired: kind != "memory")
    st = store(limiter=lim, limits=Limits(instances=3))
    with pytest.raises(ResourceLimitError, match="limiter refused memory 0"):
        instance(GROWER, st)
    assert st.resource_limits.live("instances") == 0


def test_limiter_on_another_thread():
    # with a second thread alive the entry releases the GIL: the limiter takes it back
    lim = Recorder(lambda kind, desired: desired <= 2 * PAGE)
    e = instance(GROWER, store(limiter=lim)).exports
    out = []
    worker = threading.Thread(target=lambda: out.extend([e.grow(1), e.grow(1)]))
    worker.start()
    worker.join()
    assert out == [1, -1] and len(lim.calls) == 4     # 2 at creation, 2 grows


def test_imported_memory_is_governed_by_its_own_store():
    lim = Recorder(lambda kind, desired: desired <= 2 * PAGE)
    owner = wasabi.Store(limits=Limits(memory_pages=4), limiter=lim)
    mem = wasabi.Memory(owner, wasabi.MemoryType(1))
    user = instance(IMPORTER, store(), {"env": {"mem": mem}})       # an unlimited store
    assert user.exports.grow(1) == 1 and user.exports.grow(1) == -1  # owner's limiter
    assert lim.calls[-1] == ("memory", 2 * PAGE, 3 * PAGE, None)
    free = wasabi.Memory(store(), wasabi.MemoryType(1))
    limited = instance(IMPORTER, store(limits=Limits(memory_pages=1)), {"env": {"mem": free}})
    assert limited.exports.grow(5) == 1                 # its store has no limits


# ---- guard regions ----

def test_explicit_bounds_memory_reserves_only_the_limit():
    st = store(bounds="explicit", limits=Limits(memory_pages=4))
    e = instance(UNBOUNDED, st).exports
    assert not e.mem.guarded and e.mem._native.reserved == 4 * PAGE
    assert [e.grow(3), e.grow(1)] == [1, -1]
    with pytest.raises(wasabi.Trap, match="out of bounds"):
        wasabi.Instance(wasabi.Module(st, UNBOUNDED.replace(
            '(func (export "grow")', '(func (export "peek") (result i32) i32.const 262144 '
            'i32.load) (func (export "grow")'))).exports.peek()
    python_made = wasabi.Memory(st, wasabi.MemoryType(1))      # the store's bounds mode
    assert not python_made.guarded and python_made._native.reserved == 4 * PAGE
    guarded = instance(UNBOUNDED, store(limits=Limits(memory_pages=4))).exports.mem
    assert guarded.guarded and guarded._native.reserved == 8 << 30   # guard code needs all 8 GiB


@pytest.mark.slow
def test_many_explicit_memories():
    """More memories fit with explicit bounds under a memory_pages limit than guarded ones
    (numbers in bench/many_memories.py's docstring)."""
    def count(mode, cap):
        done = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "many_memories.py"),
                               "--child", mode, "--cap", str(cap)], capture_output=True,
                              text=True, timeout=600, env={**os.environ, "PYTHONPATH": ROOT})
        return json.loads(done.stdout)
    guard = count("guard", 40_000)
    limited = count("explicit+limit", 40_000)
    assert guard["memories"] < 17_000 and "guarded" in guard["stopped_by"]
    assert limited["memories"] > 1.5 * guard["memories"]
    assert limited["reserved_TiB"] < 0.1


# ---- the command line ----

def wasabi_cli(*args):
    return subprocess.run([sys.executable, "-m", "wasabi", *map(str, args)], capture_output=True,
                          cwd=ROOT, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})


def test_cli_max_memory():
    program = program_path("alloc")
    free = wasabi_cli("run", "--tier", "T0", program, "12")
    assert free.returncode == 0 and free.stdout.startswith(b"allocated 12 MiB")
    capped = wasabi_cli("run", "--tier", "T0", "--max-memory", "8MiB", program, "12")
    assert capped.returncode == 0 and capped.stdout.startswith(b"allocated 7 MiB"), capped
    tiny = wasabi_cli("run", "--tier", "T0", "--max-memory", "65536 bytes", program, "12")
    assert tiny.returncode == 1 and b"memory_pages=1" in tiny.stderr
    bad = wasabi_cli("run", "--max-memory", "lots", program)
    assert bad.returncode == 2 and b"64MiB" in bad.stderr


def test_size_spec():
    from wasabi.__main__ import _size_spec
    assert [_size_spec(t) for t in ("64MiB", "1GiB", "65536", "65536 bytes", "2GB", "3k")] == \
        [64 << 20, 1 << 30, 65536, 65536, 2 * 10 ** 9, 3072]
    with pytest.raises(Exception):
        _size_spec("1.5MiB")


def test_runtime_store_takes_limits():
    st = RuntimeStore(limits=Limits(memories=0))
    with pytest.raises(ResourceLimitError):
        wasabi.runtime.Memory(st, wasabi.MemoryType(1)._binary())
