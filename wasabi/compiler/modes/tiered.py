"""PGO (Mode.PGO): tiered execution with profile-guided hot swap.

Every function starts in a baseline, compiled on its first call, with counters in
one Profile per module (compiler/profile.py), incremented by the code itself:
calls and loop iterations per function, and which way each branch (br_if, if,
br_table) went. The baseline is the single-pass compiler (wasabi/_native/baseline*.c:
no LLVM, about 30 times faster to compile than LLVM T0: 0.07 s vs 2.0 s for the
SQLite shell) where it compiles the function, else LLVM T0 in LAZY's batches. Its
branch counters run until the function is hot; then its baseline code is compiled
again without them, its most used locals in registers (COUNT_UNTIL_HOT). A tier-up
thread (one per process) looks at the counters of every live PGO module every
TICK seconds. A function whose calls plus iterations reach `hot` is rebuilt at O2
with the counts as its profile (function entry counts, branch weights), its LLVM
work done in a worker process (parallel.emit_elsewhere) so that Python threads
and running wasm go on, and swapped in through the CodeTable (runtime/code.py):
the stub and the records of live instances go to the new code, frames running in
the baseline finish there (its code stays mapped until the module is freed).
Calls go through records in both tiers, so a caller reaches whatever its callee
has become. A loop that runs on in the baseline enters the optimised build at its
header (translator.loop_entry), so a function called once leaves the baseline too.

With the disk cache (Options(cache=True)), the profile and the optimised builds are
kept in a file beside the cache's entries (profile_store.py): the next run of the
module links the stored builds before its first call and adds its counts to the
file's.
"""
import atexit as _atexit
import os as _os
import pathlib as _pathlib
import threading as _threading
import time as _time
import weakref as _weakref

from ...binary.types import EXTERN_FUNC
from ...module.funcrefs import own_functions_only
from ...options import CodeOptions
from .. import osr, parallel, profile as profile_module, profile_store
from ..cache import size_limit
from ..profile import Profile, ProfileCounts, numpy as _numpy
from .lazy import DEFAULT_BATCH_LIMIT, LazyCode
from ... import _ext

BASELINE_TIER = "T0"        # LLVM's baseline, for what the single-pass one refuses
SINGLE_PASS_TIER = "baseline"
OPTIMIZED_TIER = "O2"
# a first build of more wasm than this (the hot function and the callees it takes along)
# is made at T1, and again at O2 once no hot function waits for its first build:
# SQLite's hottest function (54 KB) took 5.6 s at O2, longer than the run, and 2.2 s at
# T1, which runs scalar code about as fast (pipelines.py); a 16 KB one 1.5 s and 0.45 s
QUICK_TIER = "T1"
QUICK_FIRST_BYTES = 4 * 1024
# first builds go by heat per byte of wasm to build (plus this many bytes for what every
# build costs): SQLite's first cold-run build was a 40 KB function (2.3 s) while
# functions ten times smaller were as hot
BUILD_COST_BYTES = 1024
# whether functions start in the single-pass compiler (else all in LLVM T0)
SINGLE_PASS = True
HOT = 5000              # calls + loop iterations that make a function hot
TICK = 0.005            # seconds between two looks at the counters
MAX_PER_TICK = 4        # builds per look, the hottest functions first
# a worker process is started for the first build when a function is 1/WARM hot (or a
# stored profile names hot functions): a worker takes about a second to start, and a
# short run that never gets hot should not pay for one on its second core
WARM = 4
# an optimised build: the hot function and its callees, which call each other
# directly (so LLVM inlines them), at most this many functions and bytes of wasm
BUILD_FUNCTIONS = 8
BUILD_BODY_BYTES = 16 * 1024
# callees of more wasm than this stay out of a build (called through the table as any
# function outside it): LLVM would not inline them, and their code generation was most
# of a build's time (SQLite: T1 builds of 10-16 KB batches around roots of 0.2-0.7 KB
# spent 0.14-0.35 s in codegen), so a run made only 5-8 builds
INLINE_CALLEE_BYTES = 512
# a function's branches are counted (in the single-pass baseline) until it is hot: then
# its first build has the profile it needs, and its baseline is compiled again without
# the counters (counting every branch cost the SQLite workload about 10% of its time in
# the baseline, where its hottest function stays through a cold run)
COUNT_UNTIL_HOT = True
# the code hot functions run in the baseline (once they count no branches) keeps their
# most used integer locals in registers: each is compiled twice (baseline.h)
CACHE_LOCALS = True
# loop entries (OSR): osr.entry_count says which loops of which functions
HOTTEST_SHOWN = 10      # functions listed in stats()["hottest"]


class TieredCode(LazyCode):
    """LAZY code at the baseline tier whose hot functions are swapped for O2 builds."""

    def __init__(self, desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, hot=None):
        code = CodeOptions.of(options)
        self.profile = Profile(len(desc.func_type_indices))
        self.hot = HOT if hot is None else max(1, int(hot))
        self._optimized = {}                   # func index -> optimised code address
        self._built_at = {}                    # func index -> the tier of that code
        self._failed = set()                   # functions whose build raised
        # hot in a stored profile but without a stored build: built before their first call
        self._prewarm = set()
        # the O2 builds (profile_store.StoredBuild) a profile file keeps: this run's and
        # the stored ones linked at load
        self.stored_builds = []
        self.save_profile = None               # profile_store.keep: saves the profile
        self.profile_keeper = None
        self._tier_lock = _threading.Lock()    # an O2 build vs close()
        self._closed = False
        self._tiering = {"swaps": 0, "optimize_seconds": 0.0, "optimize_errors": 0,
                         "profile_loaded": False, "stored_builds_linked": 0,
                         "stored_link_errors": 0, "counting_stopped": 0}
        super().__init__(desc, options, batch_limit=batch_limit, mode="pgo",
                         code_options=_with_tier(code, BASELINE_TIER), profile=self.profile)
        self._builders = {}                    # tier -> BatchBuilder of optimised builds
        self._sizes = None                     # see _body_sizes
        self._single_pass = single_pass_compiler(desc, code, self.profile)
        self._single_passed = set()            # func indices compiled by it
        # those compiled with branch counters, and the compiler without them (made
        # when the first counting function gets hot)
        self._counting = set()
        self._lean_pass = None
        self._counters.update(single_pass_seconds=0.0, single_pass_refused=0)
        self._prestarted = False

    def start_tier_up(self):
        """Have the tier-up thread look at this module's counters from now on: after
        `adopt` (a look while it links the stored builds saw the stored counts without
        the builds' functions marked as waiting: it started a T1 -> O2 rebuild that took
        the whole of a warm SQLite run, and none of the stored profile's hot functions
        without a build was built)."""
        if self.table.deferred:
            TIER_UP.watch(self)

    @property
    def _optimizer(self):
        return self._builder_at(OPTIMIZED_TIER)

    def _builder_at(self, tier):
        """The builder of optimised builds at `tier` (made by the tier-up thread, on
        its first build: see LazyCode._builder)."""
        builder = self._builders.get(tier)
        if builder is None:
            builder = self._builders[tier] = optimised_builder(
                self.desc, CodeOptions.of(self.options), tier, ProfileCounts(self.profile))
        return builder

    def _compile_for(self, index):
        """The single-pass compiler first; LLVM T0 (a LAZY batch) for what it refuses."""
        if not self._single_pass_compile(index):
            super()._compile_for(index)

    def _single_pass_compile(self, index):
        """Compile and publish `index` with the single-pass compiler; False if it
        refuses the function (or is not in use). Under the compile lock."""
        if self._single_pass is None:
            return False
        counting = not self._is_hot(index) or not self._counts_until_hot()
        address = self._single_pass_code(index, counting)
        if not address:
            self._counters["single_pass_refused"] += 1
            return False
        self.table.publish({index: address})
        self._single_passed.add(index)
        if counting:
            self._counting.add(index)
        self._counters["functions_compiled"] += 1
        return True

    def _single_pass_code(self, index, counting):
        """`index` compiled by the single-pass compiler, with its branch counters or
        without them: its address, 0 if refused."""
        single = self._single_pass if counting else self._lean_compiler()
        start = _time.perf_counter()
        address, _refused = single.compile(self.desc.funcs[index - self.desc.num_imported_funcs])
        self._counters["single_pass_seconds"] += _time.perf_counter() - start
        return address

    def _counts_until_hot(self):
        """Whether the single-pass code counts branches until hot only (when it counts
        them at all)."""
        return COUNT_UNTIL_HOT and self._single_pass.counts_branches

    def _lean_compiler(self):
        lean = self._lean_pass
        if lean is None:
            lean = self._lean_pass = single_pass_compiler(
                self.desc, CodeOptions.of(self.options), self.profile, count_branches=False)
        return lean

    def _is_hot(self, index):
        return self.profile.heat_of(index) >= self.hot

    # ---- the tier-up thread's side ----

    def tier_up(self):
        """One look at the counters: rebuild the hottest functions not yet rebuilt
        and swap them in. Returns how many were swapped."""
        heat = self.profile.heat()
        if not self._prestarted and (self._prewarm or heat.max() * WARM >= self.hot):
            self._prestarted = True
            parallel.prestart()         # the first build finds a worker ready
        hot = _numpy().flatnonzero(heat >= self.hot)
        self._stop_counting(hot)
        waiting = self.waiting(heat, hot)
        if self.profile_keeper is not None:     # owed at exit (after_exit.py)
            self.profile_keeper.owed = waiting
        todo = [(i, None) for i in waiting]
        if not todo:            # then the quick builds again, at O2, the hottest first
            todo = [(int(i), OPTIMIZED_TIER) for i in hot[_hottest_first(heat[hot])]
                    if self._built_at.get(int(i)) == QUICK_TIER
                    and int(i) not in self._failed]
        return sum(self._optimize(index, tier) for index, tier in todo[:MAX_PER_TICK])

    def waiting(self, heat, hot):
        """The `hot` functions waiting for their first build (called in this run, or
        named by a stored profile), in the order they get it (first_builds)."""
        return [int(i) for i in first_builds(heat, self._body_sizes(), hot)
                if int(i) not in self._optimized and int(i) not in self._failed
                and (self.table.is_published(int(i)) or int(i) in self._prewarm)]

    def _stop_counting(self, hot):
        """Swap the `hot` functions still counting their branches in the single-pass
        baseline for its code without counters: the counts so far are their profile
        (their first build, made now or soon, has them). Their running frames finish in
        the counting code."""
        if not self._counting or not self._counts_until_hot():
            return
        with self._tier_lock:                   # (not while close() frees the code)
            if self._closed:
                return
            for index in [int(i) for i in hot if int(i) in self._counting]:
                with self._compile_lock:
                    address = self._single_pass_code(index, counting=False)
                    self._counting.discard(index)
                    if address:
                        self.table.swap({index: address})
                        self._tiering["counting_stopped"] += 1

    def _body_sizes(self):
        """Bytes of wasm code per function index (0 for imports)."""
        if self._sizes is None:
            self._sizes = body_sizes(self.desc, self.profile.functions)
        return self._sizes

    def _optimize(self, index, tier=None):
        """Build `index` with its callees at `tier` (None: a first build, at QUICK_TIER
        when the batch has more than QUICK_FIRST_BYTES of wasm, else O2) and swap it in."""
        start = _time.perf_counter()
        with self._tier_lock:
            if self._closed:
                return 0
            try:
                tier, batch = translate_build(self._builder_at, self._body_sizes(), index,
                                              tier)
                made = self._builder_at(tier).build(self._library, [batch], elsewhere=True,
                                                    spool=self._spool(index, batch, tier))
            except Exception:
                # the code it has keeps running it; a build LLVM refuses (or an O2 build
                # after a T1 one) is not retried
                self._failed.add(index)
                self._tiering["optimize_errors"] += 1
                return 0
            # under the compile lock: a baseline compile of one of these functions that
            # is under way publishes first (then this swaps it), or finds it published
            with self._compile_lock:
                self.table.swap(made.addresses)
                self._counting.difference_update(made.addresses)
            for (func, loop), address in made.osr_addresses.items():
                self.profile.set_osr(func, loop, address)
            self._optimized.update(made.addresses)
            self._built_at.update(dict.fromkeys(made.addresses, tier))
            keeper = self.profile_keeper
            if keeper is not None:          # no longer owed (after_exit.py)
                keeper.owed = [i for i in keeper.owed if i not in made.addresses]
            self.stored_builds.append(profile_store.StoredBuild(
                index, made.objects, made.symbols, made.osr_addresses, tier))
        self._tiering["swaps"] += 1
        self._tiering["optimize_seconds"] += _time.perf_counter() - start
        return 1

    def _spool(self, index, batch, tier):
        """Where the build's worker writes it if this process exits first (the next
        run links it: profile_store.take_spooled); None without a profile file."""
        keeper = self.profile_keeper
        if keeper is None:
            return None
        return profile_store.spool_request(keeper.path, index, batch.symbols,
                                           batch.osr_symbols, tier)

    # ---- a profile from earlier runs (profile_store.py) ----

    def adopt(self, stored):
        """Start from a stored profile (before the first call): its counts, and its
        optimised builds linked and published now; functions hot in it without a build
        are built by the tier-up thread at once; the other functions it saw called are
        compiled by the single-pass compiler now."""
        with self._tier_lock:
            self.profile.load(stored.counts, stored.sites)
            self._tiering["profile_loaded"] = True
            if not self.table.deferred:
                return                  # everything was compiled at once (no stubs)
            for build in stored.builds:
                try:
                    linked = build.load_into(self._library)
                except Exception:       # code that cannot load here: built afresh instead
                    self._tiering["stored_link_errors"] += 1
                    continue
                fresh = {i: linked[s] for i, s in build.symbols.items()
                         if not self.table.is_published(i)}
                self.table.publish(fresh)
                self._optimized.update(fresh)
                self._built_at.update(dict.fromkeys(fresh, build.tier))
                self.stored_builds.append(build)
                self._tiering["stored_builds_linked"] += 1
            hot = self.profile.hot_indices(self.hot)
            self._prewarm = {i for i in hot if i not in self._optimized}
            if self._prewarm:       # builds to make at once: the worker starts now
                self._prestarted = True
                parallel.prestart()
            self._baseline_called_before()

    def _baseline_called_before(self):
        """Compile with the single-pass compiler, now, every function earlier runs
        called (and no stored build covers): a few ms for hundreds of functions, where
        lazy compiles during the run would each take the GIL, which the tier-up thread's
        translations of the prewarm builds hold for milliseconds at a time."""
        if self._single_pass is None:
            return
        with self._compile_lock:
            for index in self.profile.called_indices():
                if index >= self.desc.num_imported_funcs and not self.table.is_published(index):
                    self._single_pass_compile(index)

    # ---- what the runtime and users see ----

    @property
    def stats(self):
        """LAZY's counters for the baseline, plus: functions per tier (`tiers`; a function
        not called yet is in neither), `swaps` (optimised builds swapped in), the seconds
        of background builds (`optimize_seconds`), `hottest`: the hottest functions with
        their counts (calls and loop iterations, earlier runs' included), name and tier;
        `branch_sites` counted, `counting_stopped` (functions whose baseline code was
        swapped for code without branch counters once hot); and the stored profile's
        part (`profile_loaded`,
        `stored_builds_linked`, `stored_link_errors`, `profile_saves`)."""
        out = super().stats
        counts = self.profile.counts
        heat = self.profile.heat()
        hottest = _hottest_first(heat)[:HOTTEST_SHOWN]
        keeper = self.profile_keeper
        out.update(self._tiering, hot_threshold=self.hot,
                   tiers={SINGLE_PASS_TIER: len(self._single_passed - set(self._optimized)),
                          BASELINE_TIER: len(self.table.published_indices()
                                             - set(self._optimized) - self._single_passed),
                          QUICK_TIER: sum(t == QUICK_TIER for t in self._built_at.values()),
                          OPTIMIZED_TIER: sum(t == OPTIMIZED_TIER
                                              for t in self._built_at.values())},
                   hottest=[{"function": int(i), "name": self._name(int(i)),
                             "tier": self._tier_of(int(i)), "calls": int(counts[i, 0]),
                             "loop_iterations": int(counts[i, 1])}
                            for i in hottest if heat[i]],
                   branch_sites=self.profile.site_count(),
                   profile_saves=keeper.saves if keeper is not None else 0)
        return out

    def _name(self, index):
        """The function's name in the name section, else an export's, else None."""
        name = self.desc.names.funcs.get(index)
        if name is None:
            name = next((e.name for e in self.desc.exports
                         if e.kind == EXTERN_FUNC and e.index == index), None)
        return name

    def _tier_of(self, index):
        if index in self._optimized:
            return self._built_at[index]
        if index in self._single_passed:
            return SINGLE_PASS_TIER
        return BASELINE_TIER if self.table.is_published(index) else None

    def close(self):
        if self.save_profile is not None:
            self.save_profile()         # (once: a weakref.finalize)
        with self._tier_lock:
            self._closed = True
            super().close()
            for single in (self._single_pass, self._lean_pass):
                if single is not None:
                    single.close()


def translate_build(builder_at, sizes, index, tier=None):
    """(tier, IR module) of the build of `index` with the callees small enough to inline
    (INLINE_CALLEE_BYTES), entered at the loops osr.entry_count gives it (the baseline
    looks for those only); `builder_at(tier)` gives the BatchBuilder of a tier
    (optimised_builder), `sizes` the bytes of wasm per function (body_sizes). tier None:
    a first build, at QUICK_TIER when the batch has more than QUICK_FIRST_BYTES of wasm,
    else O2."""
    optimizer = builder_at(OPTIMIZED_TIER)
    members = optimizer.batch_members(
        index, BUILD_FUNCTIONS, BUILD_BODY_BYTES,
        skip=lambda callee: sizes[callee] > INLINE_CALLEE_BYTES)
    if tier is None:
        tier = QUICK_TIER if sizes[members].sum() > QUICK_FIRST_BYTES else OPTIMIZED_TIER
    desc = optimizer.desc
    entries = osr.entry_count(desc.funcs[index - desc.num_imported_funcs])
    return tier, builder_at(tier).translate_members(members, osr=entries)


def optimised_builder(desc, code, tier, counts):
    """The BatchBuilder of optimised builds at `tier` of a module whose code options are
    `code`, with `counts` (a ProfileCounts) as their profile."""
    from ..builder import BatchBuilder
    return BatchBuilder(desc, _with_tier(code, tier), table_calls=True, profile=counts)


def body_sizes(desc, functions):
    """Bytes of wasm code per function index, of `functions` (0 for imports)."""
    np = _numpy()
    sizes = np.zeros(functions, dtype=np.int64)
    for func in desc.funcs:
        sizes[func.index] = func.body_end - func.body_start
    return sizes


def first_builds(heat, sizes, hot):
    """The functions `hot` (indices) in the order of their first builds: the most heat
    (calls + loop iterations) per byte of wasm to build first."""
    return hot[_hottest_first(heat[hot] / (sizes[hot] + BUILD_COST_BYTES))]


def _hottest_first(heat):
    """Positions of `heat` (u64 counts, or floats) from the highest, ties in order. (Not
    argsort of the u64 negated: 0 stays 0, and every function never called came first,
    so stats() listed no hottest function in a module of more than ten.)"""
    np = _numpy()
    signed = heat if heat.dtype.kind == "f" else heat.astype(np.int64)
    return np.argsort(-signed, kind="stable")


def _with_tier(code, tier):
    return CodeOptions(tier, code.bounds, code.fuel, code.interruptible)


def single_pass_compiler(desc, code, profile, count_branches=True):
    """The module's single-pass compiler (_ext.BaselineCompiler), or None where it
    cannot serve: another CPU, explicit bounds checks (it relies on guard pages),
    fuel (it does not count), or SINGLE_PASS off. Its code counts calls and loop
    iterations, and branches with `count_branches` (and profile.BRANCHES); code that
    does not count branches (that of hot functions) keeps the most used locals in
    registers (CACHE_LOCALS)."""
    if not SINGLE_PASS or code.bounds != "guard" or code.fuel or not _ext.baseline_supported():
        return None
    branches = count_branches and profile_module.BRANCHES
    return _ext.BaselineCompiler(
        desc, counts_address=profile.counter_address(0, 0), osr_slot=profile.osr_slot,
        site_block=profile.site_block if branches else None,
        interruptible=code.interruptible, own_functions_only=own_functions_only(desc),
        osr_max_body=osr.MAX_BODY, osr_max_entries=osr.MAX_ENTRIES, osr_every=osr.EVERY,
        cache_locals=CACHE_LOCALS and not branches)


class _TierUpThread:
    """The one thread of a process that tiers PGO modules up (daemon; it ends when
    no PGO module is alive, and at interpreter exit)."""

    def __init__(self):
        self._codes = _weakref.WeakSet()
        self._lock = _threading.Lock()
        self._thread = None
        self._stopping = False
        self._join_at_exit = True
        _os.register_at_fork(after_in_child=self._after_fork)
        _atexit.register(self._stop)

    def leave_at_exit(self):
        """The process ends with os._exit right after its exit handlers (`wasabi run`):
        the exit does not wait for the thread then. It may be translating a build
        (SQLite's hottest function: about 0.1 s), and with no interpreter teardown
        to come, nothing it uses goes away under it."""
        self._join_at_exit = False

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
        # an O2 build under way ends now (with a spool, in the worker after this process);
        # the first builds still owed are left to a worker too (after_exit.py)
        parallel.shutdown()
        thread = self._thread
        if thread is not None and self._join_at_exit:
            thread.join(timeout=5)

    def _after_fork(self):
        # the thread did not come along; the modules did
        self._lock = _threading.Lock()
        self._thread = None
        if len(self._codes):
            self.watch(next(iter(self._codes)))


TIER_UP = _TierUpThread()


def build(desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, hot=None, stored_profile=None):
    """PGO: validated; nothing compiled yet; hot functions are rebuilt at O2.
    `stored_profile`: the path of its profile in the disk cache (profile_store.py),
    loaded now and saved when the code is closed or freed, or at exit."""
    code = TieredCode(desc, options, batch_limit=batch_limit, hot=hot)
    if stored_profile is not None:
        profile_store.keep(code, _pathlib.Path(stored_profile), size_limit(options))
    code.start_tier_up()
    return code
