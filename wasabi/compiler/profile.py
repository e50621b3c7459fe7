"""PGO profiles (modes/tiered.py): the counters the baseline increments and what an
optimised build reads from them.

Per function index of a module, two counters: calls and loop iterations (a numpy
array the baseline's code adds to through its absolute address,
FunctionTranslator.count_lines). Per branch site -- a `br_if`, `if` or `br_table`,
named by (function index, offset of the instruction's end in the body) -- one
counter per way it can go, so that a site costs one increment whichever way it
goes and no branch: counter[base + way], way = the condition (0 or 1) or the
br_table index (its default counted last). An optimised build turns the counts
into `!prof !{"branch_weights", ...}` on the same branch (`two_way`,
`multi_way`), and the call counts into `function_entry_count`.

Counts from earlier runs (profile_store.py) are loaded as `prior` sites: a site
starts from its prior counts when the baseline first counts it, so that counts
accumulate across runs.

Sites are kept per function, as a group: its layout ((offset, width), ...) in body
order and one array of counts, the ways of its sites one after another. The single-
pass baseline asks for a function's counters as one block in that order (site_block),
so loading, counting and saving a profile are one numpy operation per function, not
per site (SQLite: 25,000 sites in 700 functions; per site, they cost 0.1 s a run).

The counters are `array.array`s (fixed addresses, zeroed), and what runs before a
PGO module's first call (counting, loading a stored profile, the single-pass
compiler's questions) reads them through memoryviews: numpy, which the tier-up
thread and saving use (views of the same arrays), is imported there, not on the
program's way to its first call (0.07 s of every `wasabi run`, cold or warm).
"""
import array as _array
import functools as _functools

_numpy = None


def numpy():
    """The numpy module, imported on first use (see the module docstring)."""
    global _numpy
    if _numpy is None:
        import numpy
        _numpy = numpy
    return _numpy


def zeroed_u64(n):
    """An array of `n` u64 zeros that never moves (nothing resizes it)."""
    return _array.array("Q", bytes(8 * n))


def address_of(counters):
    return counters.buffer_info()[0]


def u64_view(values):
    """A flat 'Q' memoryview of `values` (a C-contiguous buffer of u64s: an array, a
    numpy array, bytes); ValueError when it is not one."""
    view = memoryview(values)
    if not view.c_contiguous or view.itemsize != 8 and view.format != "B":
        raise ValueError("not a buffer of u64 counts")
    return view.cast("B").cast("Q") if view.format != "Q" or view.ndim != 1 else view

# branch counters live in chunks that never move (the baseline's code holds their
# addresses); a site wider than a chunk gets a chunk of its own
SITE_CHUNK = 4096
# whether the baseline counts branches (and optimised builds get branch weights);
# the call and loop counters are always on (they decide what is hot)
BRANCHES = True
# weights only where they tell LLVM something: a site seen at least MIN_SAMPLE times
# that goes one way at least 9 times in 10 (weights on balanced branches made fib
# 8-18% slower and none faster; on an interpreter's br_table they put the hottest
# case's block before the dispatch, which then lost its alignment, k_interp 10%
# slower: see README, PGO)
MIN_SAMPLE = 64
PREDICTABLE_NUM, PREDICTABLE_DEN = 9, 10
# LLVM reads branch weights as u32: larger counts are scaled down, ratios kept
MAX_WEIGHT = (1 << 32) - 1


class Profile:
    """The counters of one module's baseline (see the module docstring)."""
    counting = True

    def __init__(self, count):
        self.functions = max(count, 1)
        self._counters = zeroed_u64(2 * self.functions)
        self._flat = memoryview(self._counters)    # (also pins the array: it never moves)
        self._counts = None                        # the numpy view, made on first use
        self._osr = {}                  # (func index, loop) -> (chunk, position)
        self._osr_chunks = []
        # this run's counters: a function's block (the single-pass baseline), and sites
        # counted one by one (LLVM T0: site_address)
        self._blocks = {}               # func index -> (chunk, position, layout)
        self._sites = {}                # (func index, offset) -> (chunk, position, width)
        self._site_chunks = []
        self._site_free = 0             # first free position in the last chunk
        self.prior = {}                 # func index -> (layout, counts) of earlier runs

    @property
    def counts(self):
        """The counters as a (functions, 2) numpy array (a view: writes count)."""
        counts = self._counts
        if counts is None:
            counts = self._counts = numpy().frombuffer(
                self._counters, dtype=numpy().uint64).reshape(self.functions, 2)
        return counts

    def counter_address(self, index, which):
        return address_of(self._counters) + 16 * index + 8 * which

    # ---- without numpy (before the first call: see the module docstring) ----

    def heat_of(self, index):
        """Calls plus loop iterations of function `index`."""
        return self._flat[2 * index] + self._flat[2 * index + 1]

    def hot_indices(self, hot):
        """The function indices whose heat is at least `hot`, in order."""
        heat = map(int.__add__, self._flat[0::2].tolist(), self._flat[1::2].tolist())
        return [index for index, h in enumerate(heat) if h >= hot]

    def called_indices(self):
        """The function indices with a call counted, in order."""
        return [index for index, calls in enumerate(self._flat[0::2].tolist()) if calls]

    def load(self, counts, sites):
        """Start from a stored profile (before the first count): every counter
        (`counts`: functions x 2 u64s, in order: u64_view), and `sites` {func: (layout,
        counts)} as the earlier runs' branch counts (`prior`)."""
        self._flat[:] = u64_view(counts)
        self.prior = dict(sites)

    def counts_bytes(self):
        """A copy of the counters, as bytes."""
        return self._flat.tobytes()

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
                self._osr_chunks.append(zeroed_u64(self.OSR_CHUNK))
            slot = self._osr[key] = (chunk, at)
        chunk, at = slot
        return address_of(self._osr_chunks[chunk]) + 8 * at

    def set_osr(self, index, loop, address):
        slot = self._osr.get((index, loop))
        if slot is not None:            # (a loop the baseline never reached has none)
            self._osr_chunks[slot[0]][slot[1]] = address

    # ---- branch sites ----

    def _allocate(self, total):
        """(chunk, position) of `total` new counters (zeros)."""
        if not self._site_chunks or self._site_free + total > len(self._site_chunks[-1]):
            self._site_chunks.append(zeroed_u64(max(SITE_CHUNK, total)))
            self._site_free = 0
        at = self._site_free
        self._site_free += total
        return len(self._site_chunks) - 1, at

    def _address(self, chunk, at):
        return address_of(self._site_chunks[chunk]) + 8 * at

    def _chunk(self, chunk):
        """A 'Q' memoryview of site chunk `chunk`."""
        return memoryview(self._site_chunks[chunk])

    def _prior_site(self, index, offset, width=None):
        """The earlier runs' counts of one site (read-only; of `width` counters, when
        given), or None."""
        prior = self.prior.get(index)
        hit = None if prior is None else layout_positions(prior[0]).get(offset)
        if hit is None or width is not None and hit[1] != width:
            return None
        return u64_view(prior[1])[hit[0]:hit[0] + hit[1]]

    def site_address(self, index, offset, width):
        """The address of the `width` counters of branch site (index, offset), made on
        first use (by LLVM T0's translation, one at a time: the compile lock)."""
        site = self._sites.get((index, offset))
        if site is None or site[2] != width:
            chunk, at = self._allocate(width)
            prior = self._prior_site(index, offset, width)
            if prior is not None:
                self._chunk(chunk)[at:at + width] = prior
            site = self._sites[index, offset] = (chunk, at, width)
        return self._address(site[0], site[1])

    def site_block(self, index, sites):
        """Counters for branch sites [(offset, width), ...] of function `index`, in one
        block, in order (the single-pass baseline addresses them from one register):
        the block's address. A site starts from its counts of earlier runs."""
        layout = tuple(sites)
        total = layout_width(layout)
        chunk, start = self._allocate(total)
        prior = self.prior.get(index)
        if prior is not None:
            counters = self._chunk(chunk)
            if prior[0] == layout:
                counters[start:start + total] = u64_view(prior[1])
            else:               # another layout: the sites it has in common
                at = start
                for offset, width in layout:
                    counts = self._prior_site(index, offset, width)
                    if counts is not None:
                        counters[at:at + width] = counts
                    at += width
        self._blocks[index] = (chunk, start, layout)
        return self._address(chunk, start)

    def site_counts(self, index, offset):
        """The counts of a branch site (a list), from this run's baseline or else from
        earlier runs; None when it never ran."""
        block = self._blocks.get(index)
        if block is not None:
            chunk, start, layout = block
            hit = layout_positions(layout).get(offset)
            if hit is not None:
                at = start + hit[0]
                return self._chunk(chunk)[at:at + hit[1]].tolist()
        site = self._sites.get((index, offset))
        if site is not None:
            chunk, at, width = site
            return self._chunk(chunk)[at:at + width].tolist()
        prior = self._prior_site(index, offset)
        return None if prior is None else prior.tolist()

    def site_groups(self, nonzero=False):
        """{func index: (layout, counts)} of every function with sites, this run's or
        earlier (nonzero: this run's only where they have a count). This run's counts
        are views of one copy of the counters, taken at once; earlier runs' are as
        `prior` has them (u64 buffers: numpy arrays, or memoryviews of a profile file)."""
        out = dict(self.prior)
        if not self._site_chunks:           # (before anything counted: without numpy)
            return out
        np = numpy()
        snapshot = [np.array(chunk, dtype=np.uint64) for chunk in self._site_chunks]
        for index, (chunk, start, layout) in self._blocks.items():
            counts = snapshot[chunk][start:start + layout_width(layout)]
            if not nonzero or counts.any():
                out[index] = (layout, counts)
        one_by_one = {}
        for (index, offset), (chunk, at, width) in self._sites.items():
            if index not in self._blocks:
                one_by_one.setdefault(index, []).append(
                    (offset, width, snapshot[chunk][at:at + width]))
        for index, sites in one_by_one.items():
            sites.sort(key=lambda site: site[0])
            counts = np.concatenate([site[2] for site in sites])
            if not nonzero or counts.any():
                out[index] = (tuple((o, w) for o, w, _ in sites), counts)
        return out

    def sites(self, nonzero=False):
        """{(func index, offset): counts} of every site known (site_groups, site by
        site)."""
        out = {}
        for index, (layout, counts) in self.site_groups(nonzero).items():
            for offset, (at, width) in layout_positions(layout).items():
                out[index, offset] = counts[at:at + width]
        return out

    def site_count(self):
        """How many branch sites this run's baseline counts."""
        return len(self._sites) + sum(len(block[2]) for block in self._blocks.values())

    def entry_count(self, index):
        return self._flat[2 * index]

    def heat(self):
        """Calls plus loop iterations per function (a numpy array)."""
        counts = self.counts
        return counts[:, 0] + counts[:, 1]


def layout_width(layout):
    """How many counters a layout ((offset, width), ...) has."""
    return sum(width for _, width in layout)


@_functools.lru_cache(maxsize=4096)
def layout_positions(layout):
    """{offset: (position in the group's counts, width)} of a layout."""
    out, at = {}, 0
    for offset, width in layout:
        out[offset] = (at, width)
        at += width
    return out


class ProfileCounts:
    """What an optimised build sees of a Profile: the counts, as annotations."""
    counting = False

    def __init__(self, profile):
        self.profile = profile

    def entry_count(self, index):
        return self.profile.entry_count(index)

    def site_counts(self, index, offset):
        return self.profile.site_counts(index, offset)


# ---- what the translator emits at a branch (emit/control.py) ----

def two_way(t, cond):
    """At a conditional branch on the i1 `cond` (true first, as `br i1` has it): in the
    baseline, count which way it goes; in an optimised build, the `, !prof !N` to
    append to the branch ("" without counts)."""
    return _site(t, 2, lambda base, k: [f"  %bc.w{k} = zext i1 {cond} to i64"],
                 lambda counts: [counts[1], counts[0]])


def multi_way(t, index, cases):
    """At a br_table of `cases` targets plus a default, on the i32 `index`: the same,
    for a `switch` (its weights: the default first, then each case in order)."""
    def way(base, k):
        return [f"  %bc.in{k} = icmp ult i32 {index}, {cases}",
                f"  %bc.i{k} = select i1 %bc.in{k}, i32 {index}, i32 {cases}",
                f"  %bc.w{k} = zext i32 %bc.i{k} to i64"]
    return _site(t, cases + 1, way, lambda counts: [counts[cases], *counts[:cases]])


def _site(t, width, way_lines, weights_of):
    profile = t.m.profile
    if profile is None or not BRANCHES:
        return ""
    offset = t.r.pos - t.func.body_start
    if profile.counting:
        t.n += 1
        k = t.n
        base = profile.site_address(t.func.index, offset, width)
        t.lines.extend(way_lines(base, k))
        t.lines.extend([f"  %bc.a{k} = shl i64 %bc.w{k}, 3",
                        f"  %bc.x{k} = add i64 %bc.a{k}, {base}",
                        f"  %bc.p{k} = inttoptr i64 %bc.x{k} to ptr",
                        f"  %bc.c{k} = load i64, ptr %bc.p{k}, align 8",
                        f"  %bc.n{k} = add i64 %bc.c{k}, 1",
                        f"  store i64 %bc.n{k}, ptr %bc.p{k}, align 8"])
        return ""
    counts = profile.site_counts(t.func.index, offset)
    if counts is None:
        return ""           # never ran: LLVM's own guesses
    weights = [int(c) for c in weights_of(counts)]
    total = sum(weights)
    if total < MIN_SAMPLE or max(weights) * PREDICTABLE_DEN < PREDICTABLE_NUM * total:
        return ""           # too few to tell, or no way is likely: LLVM's own guesses
    top = max(weights)
    if top > MAX_WEIGHT:
        weights = [c * MAX_WEIGHT // top for c in weights]
    md = t.m.new_metadata('!{!"branch_weights", ' + ", ".join(f"i32 {w}" for w in weights) + "}")
    return f", !prof {md}"

