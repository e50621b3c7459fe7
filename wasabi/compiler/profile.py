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
"""
import numpy as _np

# the first counts of a site new to the profile (read-only)
_ZEROS = _np.zeros(256, dtype=_np.uint64)
_ZEROS.flags.writeable = False
# branch counters live in chunks that never move (the baseline's code holds their
# addresses); a site wider than a chunk gets a chunk of its own
SITE_CHUNK = 4096
# whether the baseline counts branches (and optimised builds get branch weights);
# the call and loop counters are always on (they decide what is hot)
BRANCHES = True
# weights only where they tell LLVM something: a site seen at least MIN_SAMPLE times;
# a two-way branch only when it goes one way at least 9 times in 10 (weights on
# balanced branches made fib 8-18% slower and none faster: see README, PGO); a
# br_table's whatever they are (which cases are hot)
MIN_SAMPLE = 64
PREDICTABLE_NUM, PREDICTABLE_DEN = 9, 10
# LLVM reads branch weights as u32: larger counts are scaled down, ratios kept
MAX_WEIGHT = (1 << 32) - 1


class Profile:
    """The counters of one module's baseline (see the module docstring)."""
    counting = True

    def __init__(self, count):
        self.counts = _np.zeros((max(count, 1), 2), dtype=_np.uint64)
        self._osr = {}                  # (func index, loop) -> (chunk, position)
        self._osr_chunks = []
        self._sites = {}                # (func index, offset) -> (chunk, position, width)
        self._site_chunks = []
        self._site_free = 0             # first free position in the last chunk
        self._chunk_sites = []          # per chunk: [(position, key, width)] in order
        self.prior = {}                 # (func index, offset) -> counts of earlier runs

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

    # ---- branch sites ----

    def site_address(self, index, offset, width):
        """The address of the `width` counters of branch site (index, offset), made on
        first use (by the baseline's translation, one at a time: the compile lock)."""
        site = self._sites.get((index, offset))
        if site is None or site[2] != width:
            return self.site_block(index, [(offset, width)])
        chunk, at, _ = site
        return self._site_chunks[chunk].ctypes.data + 8 * at

    def site_block(self, index, sites):
        """Counters for branch sites [(offset, width), ...] of function `index`, in one
        block, in order (the single-pass baseline addresses them from one register):
        the block's address. A site starts from its counts of earlier runs."""
        total = sum(width for _, width in sites)
        if not self._site_chunks or self._site_free + total > len(self._site_chunks[-1]):
            self._site_chunks.append(_np.zeros(max(SITE_CHUNK, total), dtype=_np.uint64))
            self._chunk_sites.append([])
            self._site_free = 0
        chunk = len(self._site_chunks) - 1
        counters = self._site_chunks[chunk]
        start = at = self._site_free
        placed, chunk_sites, prior_of = self._sites, self._chunk_sites[chunk], self.prior.get
        initial = []            # the block's first counts: priors, else zeros
        for offset, width in sites:
            key = (index, offset)
            prior = prior_of(key)
            initial.append(prior if prior is not None and len(prior) == width
                           else _ZEROS[:width] if width <= len(_ZEROS)
                           else _np.zeros(width, dtype=_np.uint64))
            placed[key] = (chunk, at, width)
            chunk_sites.append((at, key, width))
            at += width
        if self.prior and initial:
            counters[start:at] = _np.concatenate(initial)
        self._site_free = at
        return counters.ctypes.data + 8 * start

    def site_counts(self, index, offset):
        """The counts of a branch site (a copy), from this run's baseline or else from
        earlier runs; None when it never ran."""
        site = self._sites.get((index, offset))
        if site is not None:
            chunk, at, width = site
            return self._site_chunks[chunk][at:at + width].copy()
        prior = self.prior.get((index, offset))
        return None if prior is None else prior.copy()

    def sites(self, nonzero=False):
        """{(func index, offset): counts} of every site known, this run's or earlier
        (nonzero: only those with a count). The counts of this run's sites are views
        of one copy of the counters, taken at once (a profile save at exit reads tens
        of thousands of sites: one numpy call per site would cost tens of ms)."""
        out = dict(self.prior)          # read-only arrays (profile_store._sites)
        snapshot = [chunk.copy() for chunk in self._site_chunks]
        if not nonzero:
            for key, (chunk, at, width) in self._sites.items():
                out[key] = snapshot[chunk][at:at + width]
            return out
        # per chunk, which sites have a count: sums over each site's counters (a
        # chunk's sites are in position order; one whose width changed was given new
        # counters, and its old ones count no more)
        sites = self._sites
        for chunk, (counters, chunk_sites) in enumerate(zip(snapshot, self._chunk_sites)):
            if not chunk_sites:
                continue
            starts = _np.fromiter((site[0] for site in chunk_sites), dtype=_np.intp,
                                  count=len(chunk_sites))
            used = _np.add.reduceat(counters != 0, starts)
            for i in _np.flatnonzero(used).tolist():
                at, key, width = chunk_sites[i]
                if sites[key] == (chunk, at, width):
                    out[key] = counters[at:at + width]
        return out

    def site_count(self):
        """How many branch sites this run's baseline counts."""
        return len(self._sites)

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

    def site_counts(self, index, offset):
        return self.profile.site_counts(index, offset)


# ---- what the translator emits at a branch (emit/control.py) ----

def two_way(t, cond):
    """At a conditional branch on the i1 `cond` (true first, as `br i1` has it): in the
    baseline, count which way it goes; in an optimised build, the `, !prof !N` to
    append to the branch ("" without counts)."""
    return _site(t, 2, lambda base, k: [f"  %bc.w{k} = zext i1 {cond} to i64"],
                 lambda counts: [counts[1], counts[0]], predictable_only=True)


def multi_way(t, index, cases):
    """At a br_table of `cases` targets plus a default, on the i32 `index`: the same,
    for a `switch` (its weights: the default first, then each case in order)."""
    def way(base, k):
        return [f"  %bc.in{k} = icmp ult i32 {index}, {cases}",
                f"  %bc.i{k} = select i1 %bc.in{k}, i32 {index}, i32 {cases}",
                f"  %bc.w{k} = zext i32 %bc.i{k} to i64"]
    return _site(t, cases + 1, way, lambda counts: [counts[cases], *counts[:cases]])


def _site(t, width, way_lines, weights_of, predictable_only=False):
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
    if total < MIN_SAMPLE or predictable_only and \
            max(weights) * PREDICTABLE_DEN < PREDICTABLE_NUM * total:
        return ""           # too few to tell, or neither way is likely: LLVM's own guesses
    top = max(weights)
    if top > MAX_WEIGHT:
        weights = [c * MAX_WEIGHT // top for c in weights]
    md = f"!{100 + len(t.m.metadata)}"
    t.m.metadata.append(f'{md} = !{{!"branch_weights", '
                        + ", ".join(f"i32 {w}" for w in weights) + "}")
    return f", !prof {md}"

