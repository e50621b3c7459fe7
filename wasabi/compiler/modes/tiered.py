"""PGO (Mode.PGO): tiered execution with profile-guided hot swap.

Every function starts in the baseline: LLVM T0, compiled lazily on its first call
(LAZY's stubs and batches), with two counters per function -- calls and loop
iterations -- in one array per module (`Profile`), incremented by the code itself.
A tier-up thread (one per process) looks at the counters of every live PGO module
every TICK seconds. A function whose calls plus iterations reach `hot` is rebuilt
at O2 with its counts as the profile (its function entry count), its LLVM work
done in a worker process (parallel.emit_elsewhere) so that Python threads and
running wasm go on, and swapped in through the CodeTable (runtime/code.py): the
stub and the records of live instances go to the new code, frames running in
the baseline finish there (its code stays mapped until the module is freed).
Calls go through records in both tiers, so a caller reaches whatever its callee
has become.

Not yet (issue 15): entering optimised code in the middle of a long loop (a
function called once stays in the baseline), branch weights from per-branch
counters, profiles kept in the disk cache across runs.
"""
import atexit as _atexit
import os as _os
import threading as _threading
import time as _time
import weakref as _weakref

import numpy as _np

from ...options import CodeOptions
from ..builder import BatchBuilder
from .lazy import DEFAULT_BATCH_LIMIT, LazyCode

BASELINE_TIER = "T0"
OPTIMIZED_TIER = "O2"
HOT = 5000              # calls + loop iterations that make a function hot
TICK = 0.005            # seconds between two looks at the counters
MAX_PER_TICK = 4        # builds per look, the hottest functions first
# an optimised build: the hot function and its callees, which call each other
# directly (so LLVM inlines them), at most this many functions and bytes of wasm
BUILD_FUNCTIONS = 8
BUILD_BODY_BYTES = 16 * 1024
HOTTEST_SHOWN = 10      # functions listed in stats()["hottest"]


class Profile:
    """Two counters per function index of a module: calls and loop iterations,
    incremented by the baseline's code (translator.count_lines)."""
    counting = True

    def __init__(self, count):
        self.counts = _np.zeros((max(count, 1), 2), dtype=_np.uint64)
        self._osr = {}                  # (func index, loop) -> (chunk, position)
        self._osr_chunks = []

    def counter_address(self, index, which):
        return self.counts.ctypes.data + self.counts.strides[0] * index + 8 * which

    # entries into optimised code at loop headers: one code pointer per (function, loop),
    # 0 until published; chunks that never move, as the baseline code holds their addresses
    OSR_CHUNK = 1024

    def osr_slot(self, index, loop):
        """The address of the code pointer the baseline reads at loop `loop` of `index`."""
        key = (index, loop)
        slot = self._osr.get(key)
        if slot is None:
            chunk, at = divmod(len(self._osr), self.OSR_CHUNK)
            if chunk == len(self._osr_chunks):
                self._osr_chunks.append(_np.zeros(self.OSR_CHUNK, dtype=_np.uint64))
            slot = self._osr[key] = (chunk, at)
        chunk, at = slot
        return self._osr_chunks[chunk].ctypes.data + 8 * at

    def set_osr(self, index, loop, address):
        slot = self._osr.get((index, loop))
        if slot is not None:            # (a loop the baseline never reached has none)
            self._osr_chunks[slot[0]][slot[1]] = address

    def entry_count(self, index):
        return int(self.counts[index, 0])

    def heat(self):
        return self.counts[:, 0] + self.counts[:, 1]


class ProfileCounts:
    """What an optimised build sees of a Profile: the counts, as annotations."""
    counting = False

    def __init__(self, profile):
        self.profile = profile

    def entry_count(self, index):
        return self.profile.entry_count(index)


class TieredCode(LazyCode):
    """LAZY code at the baseline tier whose hot functions are swapped for O2 builds."""

    def __init__(self, desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, hot=None):
        code = CodeOptions.of(options)
        self.profile = Profile(len(desc.func_type_indices))
        self.hot = HOT if hot is None else max(1, int(hot))
        self._optimized = {}                   # func index -> O2 code address
        self._failed = set()                   # O2 builds that raised: not tried again
        self._tier_lock = _threading.Lock()    # an O2 build vs close()
        self._closed = False
        self._tiering = {"swaps": 0, "optimize_seconds": 0.0, "optimize_errors": 0}
        super().__init__(desc, options, batch_limit=batch_limit, mode="pgo",
                         code_options=_with_tier(code, BASELINE_TIER), profile=self.profile)
        self._optimizer = BatchBuilder(desc, _with_tier(code, OPTIMIZED_TIER), table_calls=True,
                                       profile=ProfileCounts(self.profile))
        if self.table.deferred:
            TIER_UP.watch(self)

    # ---- the tier-up thread's side ----

    def tier_up(self):
        """One look at the counters: rebuild the hottest functions not yet rebuilt
        and swap them in. Returns how many were swapped."""
        heat = self.profile.heat()
        hot = _np.flatnonzero(heat >= self.hot)
        order = hot[_np.argsort(-heat[hot], kind="stable")]
        todo = [int(i) for i in order if int(i) not in self._optimized
                and int(i) not in self._failed and self.table.is_published(int(i))]
        return sum(self._optimize(index) for index in todo[:MAX_PER_TICK])

    def _optimize(self, index):
        start = _time.perf_counter()
        with self._tier_lock:
            if self._closed:
                return 0
            try:
                batch = self._optimizer.translate_with_callees(
                    index, BUILD_FUNCTIONS, BUILD_BODY_BYTES, skip=lambda callee: False,
                    direct=True, osr=True)
                made = self._optimizer.build(self._library, [batch], elsewhere=True)
            except Exception:
                # the baseline keeps running it; a build LLVM refuses is not retried
                self._failed.add(index)
                self._tiering["optimize_errors"] += 1
                return 0
            self.table.swap(made.addresses)
            for (func, loop), address in made.osr_addresses.items():
                self.profile.set_osr(func, loop, address)
            self._optimized.update(made.addresses)
        self._tiering["swaps"] += 1
        self._tiering["optimize_seconds"] += _time.perf_counter() - start
        return 1

    # ---- what the runtime and users see ----

    @property
    def stats(self):
        """LAZY's counters for the baseline, plus: functions per tier, swaps, the
        seconds of background builds and the hottest functions with their counts."""
        out = super().stats
        counts = self.profile.counts
        heat = self.profile.heat()
        hottest = _np.argsort(-heat, kind="stable")[:HOTTEST_SHOWN]
        out.update(self._tiering, hot_threshold=self.hot,
                   tiers={BASELINE_TIER: len(self.table.published_indices()
                                             - set(self._optimized)),
                          OPTIMIZED_TIER: len(self._optimized)},
                   hottest=[{"function": int(i), "calls": int(counts[i, 0]),
                             "loop_iterations": int(counts[i, 1])}
                            for i in hottest if heat[i]])
        return out

    def close(self):
        with self._tier_lock:
            self._closed = True
            super().close()


def _with_tier(code, tier):
    return CodeOptions(tier, code.bounds, code.fuel, code.interruptible)


class _TierUpThread:
    """The one thread of a process that tiers PGO modules up (daemon; it ends when
    no PGO module is alive, and at interpreter exit)."""

    def __init__(self):
        self._codes = _weakref.WeakSet()
        self._lock = _threading.Lock()
        self._thread = None
        self._stopping = False
        _os.register_at_fork(after_in_child=self._after_fork)
        _atexit.register(self._stop)

    def watch(self, code):
        with self._lock:
            self._codes.add(code)
            if self._thread is None:
                self._thread = _threading.Thread(target=self._run, name="wasabi-tier-up",
                                                 daemon=True)
                self._thread.start()

    def _run(self):
        while not self._stopping:
            with self._lock:
                codes = list(self._codes)
                if not codes:
                    self._thread = None
                    return
            for code in codes:
                try:
                    code.tier_up()
                except Exception:       # never let one module stop the others' tier-up
                    pass
            del codes, code             # the modules may die while this thread sleeps
            _time.sleep(TICK)

    def _stop(self):
        self._stopping = True
        thread = self._thread
        if thread is not None:
            thread.join(timeout=5)

    def _after_fork(self):
        # the thread did not come along; the modules did
        self._lock = _threading.Lock()
        self._thread = None
        if len(self._codes):
            self.watch(next(iter(self._codes)))


TIER_UP = _TierUpThread()


def build(desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, hot=None):
    """PGO: validated; nothing compiled yet; hot functions are rebuilt at O2."""
    return TieredCode(desc, options, batch_limit=batch_limit, hot=hot)
