"""Thread stress: several threads for a while doing calls, clone(), memory and
table growth, table.set of funcrefs across linked instances, host calls and WASI
calls, with instances dying while others hold their funcrefs. No crash, and
every result and table entry checked.

Each thread runs only its own instances (one instance runs on one thread at a
time); what they share is what instances may share: a funcref table, a memory,
host functions, and each other's funcrefs. Only
test_racing_into_one_instance_is_refused_cleanly sends two threads into one
instance, and expects the second to be refused.

The default run is short (about a second); --run-slow adds a 60-second run.
Each prints its duration and operation counts (pytest -s shows them).
"""
import collections
import gc
import random
import threading
import time

import pytest
import wasmtime

import wasabi
from wasabi.binary.types import FUNCREF, I32, GlobalType, Limits, TableType
from wasabi.runtime import Global, Store, Table
from wasabi.wasi import Environment, WasiConfig

SHARED_SLOTS = 64          # slot i of the shared table belongs to thread i
SHARED_TABLE_MAX = 4096
SHARED_MEMORY_MAX = 64     # pages

WORKER = """(module
  (import "env" "shared" (table $shared 64 4096 funcref))
  (import "env" "host" (func $host (param i32) (result i32 i32)))
  (import "env" "id" (global $id i32))
  (memory (export "mem") 1 64)
  (table $own (export "own") 4 funcref)
  (type $r (func (result i32)))
  (func $ident (result i32) (i32.add (global.get $id) (i32.const 1000)))
  (elem declare func $ident)
  (func (export "publish") (table.set $shared (global.get $id) (ref.func $ident)))
  (func (export "call_mine") (result i32) (call_indirect $shared (type $r) (global.get $id)))
  (func (export "keep") (param funcref) (table.set $own (i32.const 0) (local.get 0)))
  (func (export "call_kept") (result i32) (call_indirect $own (type $r) (i32.const 0)))
  (func (export "compute") (param i32) (result i32) (i32.add (call $host (local.get 0))))
  (func (export "grow_shared") (param i32) (result i32)
    (table.grow $shared (ref.null func) (local.get 0)))
  (func (export "grow_mem") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"""

# gives its function (returning `val`) to a worker's "keep", then is dropped
GIVER = """(module
  (import "w" "keep" (func $keep (param funcref)))
  (import "env" "val" (global $val i32))
  (func $mine (result i32) (global.get $val))
  (elem declare func $mine)
  (func (export "give") (call $keep (ref.func $mine))))"""

# one per thread, all on one shared memory: each thread uses its own 4 KiB
SHARER = """(module
  (import "env" "mem" (memory 1 64))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"""

# random_get into memory, then fd_write of "ok\\n" (to a captured stdout)
WASI = """(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ok\\n")
  (func (export "run") (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 3))
    (i32.add (call $random_get (i32.const 64) (i32.const 32))
             (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"""


@pytest.fixture(scope="module")
def modules():
    return {name: wasabi.compile(wasmtime.wat2wasm(text))
            for name, text in (("worker", WORKER), ("giver", GIVER), ("sharer", SHARER),
                               ("wasi", WASI))}


def host_pair(x):
    return x + 1, x * 2


class Shared:
    """What the threads share: a funcref table (replaced now and then, so that the
    instances linked to the old one die together), a memory, a host function."""

    def __init__(self):
        self.store = Store()
        self.host = wasabi.Function(wasabi.Store(), host_pair,
                                    wasabi.FunctionType([wasabi.Type.I32],
                                                        [wasabi.Type.I32, wasabi.Type.I32]))
        self.memory = wasabi.Memory(wasabi.Store(), wasabi.MemoryType(1, SHARED_MEMORY_MAX))
        self.table = None
        self.new_table()

    def new_table(self):
        self.table = Table(self.store, TableType(FUNCREF, Limits(SHARED_SLOTS, SHARED_TABLE_MAX)))


class Worker:
    """One thread's instances and checks."""

    def __init__(self, index, modules, shared, seed):
        self.id = index
        self.modules = modules
        self.shared = shared
        self.rng = random.Random(seed)
        self.ops = collections.Counter()
        self.sharer = wasabi.instantiate(modules["sharer"], {"env": {"mem": shared.memory}})
        self.wasi_env = Environment(WasiConfig(argv=["stress"], stdout="capture"))
        self.wasi = wasabi.instantiate(modules["wasi"], self.wasi_env.generate_imports())
        self.wasi_runs = 0
        self.mem_pages = 1
        self.new_worker()

    def new_worker(self):
        self.table = self.shared.table
        imports = {"env": {"shared": self.table, "host": self.shared.host,
                           "id": Global(Store(), GlobalType(I32, False), self.id)}}
        self.worker = wasabi.instantiate(self.modules["worker"], imports)
        self.mem_pages = 1
        self.kept = None            # the value the function in the worker's own table returns
        self.ops["instantiate"] += 1

    # ---- operations ----

    def op_call(self):
        x = self.rng.randrange(1 << 20)
        assert self.worker.exports.compute(x) == (x + 1) + x * 2
        self.ops["call+host"] += 1

    def op_publish(self):
        self.worker.exports.publish()
        assert self.worker.exports.call_mine() == self.id + 1000
        entry = self.table.get(self.id)
        assert entry is not None and entry.type.results == [wasabi.Type.I32]
        self.ops["table.set shared"] += 1

    def op_give(self):
        """A short-lived instance gives the worker its function and dies."""
        value = self.rng.randrange(1 << 30)
        giver = wasabi.instantiate(self.modules["giver"], {
            "w": {"keep": self.worker.exports.keep},
            "env": {"val": Global(Store(), GlobalType(I32, False), value)}})
        giver.exports.give()
        del giver
        self.kept = value
        self.ops["give+die"] += 1

    def op_call_kept(self):
        if self.kept is not None:
            assert self.worker.exports.call_kept() == self.kept
            self.ops["call dead giver"] += 1

    def op_clone(self):
        clone = self.worker.clone()
        x = self.rng.randrange(1000)
        assert clone.exports.compute(x) == 3 * x + 1
        if self.kept is not None:
            assert clone.exports.call_kept() == self.kept
        clone.exports.store(0, x)
        assert clone.exports.load(0) == x
        self.ops["clone"] += 1

    def op_grow_memory(self):
        old = self.worker.exports.grow_mem(1)
        assert old == (self.mem_pages if self.mem_pages < 64 else -1)
        if old >= 0:
            self.mem_pages += 1
            address = old * 65536 + 8
            self.worker.exports.store(address, address)
            assert self.worker.exports.load(address) == address
        self.ops["memory.grow own"] += 1

    def op_shared_memory(self):
        result = self.sharer.exports.grow(1)
        assert result == -1 or result >= 1
        address = self.id * 4096
        value = self.rng.randrange(1 << 31)
        self.sharer.exports.store(address, value)
        assert self.sharer.exports.load(address) == value
        self.ops["shared memory"] += 1

    def op_grow_table(self):
        old = self.worker.exports.grow_shared(self.rng.randrange(1, 4))
        assert old == -1 or SHARED_SLOTS <= old <= SHARED_TABLE_MAX
        self.ops["table.grow shared"] += 1

    def op_wasi(self):
        assert self.wasi.exports.run() == 0
        self.wasi_runs += 1
        self.ops["wasi"] += 1

    def op_renew(self):
        """Drop the worker (others' funcrefs to it may still sit in tables) and
        link a new one to the current shared table."""
        self.new_worker()

    def run(self, deadline):
        ops = [self.op_call, self.op_publish, self.op_give, self.op_call_kept, self.op_clone,
               self.op_grow_memory, self.op_shared_memory, self.op_grow_table, self.op_wasi]
        weights = [8, 4, 2, 4, 1, 1, 2, 1, 2]
        while time.monotonic() < deadline:
            for op in self.rng.choices(ops, weights, k=50):
                op()
            if self.rng.random() < 0.2:
                self.op_renew()
        assert self.wasi_env.stdout == b"ok\n" * self.wasi_runs


def stress(modules, seconds, threads=4, seed=12):
    shared = Shared()
    workers = [Worker(i, modules, shared, seed + i) for i in range(threads)]
    errors = []
    deadline = time.monotonic() + seconds

    def run(worker):
        try:
            worker.run(deadline)
        except BaseException as exc:      # reported by the main thread
            errors.append((worker.id, exc))

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in pool:
        t.start()
    table_swaps = collections.Counter()
    while any(t.is_alive() for t in pool):
        time.sleep(min(0.25, seconds / 8))
        shared.new_table()          # instances linked to the old table die with it
        gc.collect()
        table_swaps["shared table replaced + gc"] += 1
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    if errors:
        raise errors[0][1]
    total = sum((w.ops for w in workers), table_swaps)
    print(f"\nthread stress: {threads} threads, {elapsed:.1f} s, {sum(total.values())} operations:"
          f" {dict(sorted(total.items()))}")
    # the table slots hold each thread's own function (or nothing yet)
    for i in range(threads):
        entry = shared.table.get(i)
        assert entry is None or entry() == i + 1000
    return total


def test_thread_stress_short(modules):
    total = stress(modules, seconds=1.0)
    assert total["clone"] > 0 and total["give+die"] > 0 and total["wasi"] > 0


@pytest.mark.slow
def test_thread_stress_long(modules):
    total = stress(modules, seconds=60, threads=6)
    assert total["clone"] > 100 and total["call dead giver"] > 100


def test_racing_into_one_instance_is_refused_cleanly(modules):
    """Two threads call one instance: each call runs whole or is refused as busy."""
    shared = Shared()
    worker = Worker(0, modules, shared, 1).worker
    outcomes = collections.Counter()
    deadline = time.monotonic() + 0.3

    def hammer():
        while time.monotonic() < deadline:
            try:
                assert worker.exports.compute(5) == 16
                outcomes["ran"] += 1
            except (RuntimeError, wasabi.Trap) as exc:
                assert "another thread" in str(exc) or "busy" in str(exc), exc
                outcomes["refused"] += 1

    pool = [threading.Thread(target=hammer) for _ in range(2)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert outcomes["ran"] > 0
