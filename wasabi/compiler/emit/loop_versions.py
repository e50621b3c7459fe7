"""Loop versioning: an innermost loop whose every memory access is in bounds, checked
once before it starts, runs a copy with plain (not volatile) accesses.

Why: in guard mode each access is its own bounds check (emit/memory.py), so it is
volatile, and LLVM keeps every access, in order. That also stops it from vectorising
or unrolling loads together: a scalar loop that native code vectorises ran 4-7x
slower than `clang -O2 -march=native` (bench/test_vectorisable.py). When no access of
a loop can trap, the order of its accesses is not observable, and nothing needs them
volatile.

What: at O2, for an innermost `loop` (no call, memory.grow or bulk memory inside,
no SIMD) whose addresses are affine in its induction variables, or a nest of
two levels (below), the translator emits (control.py):

    check (below) ? fast copy : original loop;  both go on after the loop

The check, from the locals' values at the loop's entry:
- the iteration count: the loop's back edge is its last instruction, a `br_if 0`
  whose condition compares an induction variable (a local changed by the same
  constant in every iteration) with a loop-invariant value. From it comes n*, the
  last iteration there can be: later iterations need the back edge taken again. Any
  other way out of the loop only makes it shorter;
- per address a(n) = a0 + s*n (mod 2^32) at iteration n: a0 + s*n* must not leave
  [0, 2^32) (then no address wraps, and the extremes are at n = 0 and n*), and the
  highest byte accessed must be below the memory's size. The size only grows, also
  when another thread grows it.

A two-level nest (a loop whose body holds innermost loops, not inside a copy already)
is versioned as a whole, the check once at the outer loop's entry:
- each inner loop's count n*_k comes from its back edge as above, from values that
  must not change in the outer loop (its start and bound: `j = 0 ... j < 160`);
- an inner access's address is a0 + s*m + s_k*n at outer iteration m, inner iteration
  n: a plane whose extremes are its corners, so the same two comparisons bound it;
- accesses are grouped by the shape of their address (its terms but the constant):
  the check also proves every group that stores disjoint from every other group, and
  the fast copy's accesses carry alias scopes saying so (emit/loop_checks.py). LLVM may
  then keep what a nest stores in registers across the outer loop (a matrix
  multiply's output row across its k loop, as clang does natively: 1.2x faster).
  Where the groups overlap, the check fails and the original nest runs, its inner
  loops versioned on their own.

Not versioned either: a loop whose accesses of one shape, one of them a store, may
overlap from one iteration to another other than exactly (_refuse_irregular_overlaps):
LLVM's vectorizer got such fast copies wrong.

If the analysis were wrong, an access of the fast copy still goes through the guard
region (the same zext(i32) + offset < 8 GiB) and faults into a trap: memory stays
sandboxed; only the memory state at such a trap could differ from the spec's.
tests/test_loop_versions.py and tests/test_loop_nests.py run generated loops and nests
against wasmtime, traps included.
"""
from ...binary.body import IMMEDIATE_READERS, BodyReader, skip_to_block_end
from ...binary.opcodes import PREFIX_FC, PREFIX_FD
from ...binary.types import I32
from .memory import LOADS, STORES

MASK = 0xFFFFFFFF
# at most this many distinct address expressions (each costs the check a few
# instructions at every entry of the loop)
MAX_RANGES = 16
# a nest: at most this many loops inside the outer one, and this many pairs of
# address groups the check proves disjoint (more: no alias scopes, bounds only)
MAX_NESTED = 2
MAX_DISJOINT_PAIRS = 8
# instructions that end the analysis: they may trap, grow or reach memory outside
# what the check covers (a `loop` inside is a nest: _Analysis._on_loop)
_UNSUPPORTED = frozenset({"call", "call_indirect", "memory.grow", "memory.fill",
                          "memory.copy", "memory.init", "data.drop", "global.set"})
_UNSUPPORTED_IMMEDIATES = frozenset({"func", "call_indirect", "table", "two_tables",
                                     "elem_and_table", "elem", "data", "data_and_zero",
                                     "memarg_lane"})
_COMPARE = {"i32.eq": "eq", "i32.ne": "ne", "i32.lt_s": "lt_s", "i32.lt_u": "lt_u",
            "i32.gt_s": "gt_s", "i32.gt_u": "gt_u", "i32.le_s": "le_s",
            "i32.le_u": "le_u", "i32.ge_s": "ge_s", "i32.ge_u": "ge_u"}
_NEGATED = {"eq": "ne", "ne": "eq", "lt_s": "ge_s", "ge_s": "lt_s", "lt_u": "ge_u",
            "ge_u": "lt_u", "gt_s": "le_s", "le_s": "gt_s", "gt_u": "le_u", "le_u": "gt_u"}
_SWAPPED = {"eq": "eq", "ne": "ne", "lt_s": "gt_s", "gt_s": "lt_s", "lt_u": "gt_u",
            "gt_u": "lt_u", "le_s": "ge_s", "ge_s": "le_s", "le_u": "ge_u", "ge_u": "le_u"}


class _Unsupported(Exception):
    """The loop is not one this module versions."""


# ---- affine values: {symbol: coefficient} mod 2^32, symbol 1 the constant ----------
# A symbol is ("l", index): a local's value at the start of the iteration (at the
# loop's entry for an induction variable, see Plan), or ("g", index): a global's.

def _const(c):
    return {1: c & MASK}


def _add(a, b, sign=1):
    out = dict(a)
    for key, coeff in b.items():
        value = (out.get(key, 0) + sign * coeff) & MASK
        if value:
            out[key] = value
        else:
            out.pop(key, None)
    return out


def _scale(a, k):
    out = {}
    for key, coeff in a.items():
        value = (coeff * k) & MASK
        if value:
            out[key] = value
    return out


def _constant_of(a):
    """The value of a constant affine value, else None."""
    if isinstance(a, dict) and all(key == 1 for key in a):
        return a.get(1, 0)
    return None


def _signed(c):
    return c - (1 << 32) if c & 0x80000000 else c


class _Access:
    """A load or store of the loop: its address (affine), memarg offset, size, body
    position (after its memarg), whether it stores; one of a nested loop's: that loop's
    number (1, 2) and the address's step in it."""
    __slots__ = ("address", "offset", "size", "pos", "store", "nested", "nested_step")

    def __init__(self, address, offset, size, pos, store):
        self.address, self.offset, self.size = address, offset, size
        self.pos, self.store = pos, store
        self.nested, self.nested_step = 0, 0


class _Compare:
    __slots__ = ("kind", "left", "right")

    def __init__(self, kind, left, right):
        self.kind, self.left, self.right = kind, left, right


class Plan:
    """What the check of one loop, or nest, computes (see the module doc)."""

    def __init__(self, kind, x, x_step, y, ranges, nested=(), scopes=None):
        self.kind = kind          # continue while x(n) <kind> y
        self.x = x                # affine (entry values) of x at iteration 0
        self.x_step = x_step      # x(n) = x + x_step * n (mod 2^32), a signed int
        self.y = y                # affine, loop-invariant
        # [(affine a0, ((signed step, loop), ...), highest offset + size)]: the address
        # a0 + sum(step * n_loop); loop 0 is this one, k the nested loop k - 1
        self.ranges = ranges
        self.nested = nested      # [(kind, x, x_step, y)] of the loops inside, as above
        self.scopes = scopes      # a nest's Scopes, or None

    def symbols(self):
        out = set()
        conditions = [(self.x, self.y)] + [(x, y) for _, x, _, y in self.nested]
        for a in (*(v for pair in conditions for v in pair), *(a for a, _, _ in self.ranges)):
            out.update(key for key in a if key != 1)
        return sorted(out)


class Scopes:
    """A nest's address groups (ranges whose addresses differ by a constant at most):
    the pairs the check proves disjoint, and which group each access is in."""

    def __init__(self, groups, pairs, group_of):
        self.groups = groups          # [[range index]]
        self.pairs = pairs            # [(group, group)]: one of the two stores
        self.group_of = group_of      # body position after the access's memarg -> group

    def disjoint_from(self, group):
        return sorted({b if a == group else a for a, b in self.pairs if group in (a, b)})


# ---- the analysis -------------------------------------------------------------------

def plan(t, blocktype):
    """The Plan of the loop whose body starts at t.r.pos, or None (not versioned)."""
    try:
        return _Analysis(t, blocktype, t.r.pos).run()
    except _Unsupported:
        return None


class _Analysis:
    def __init__(self, t, blocktype, pos, outer_frames=None):
        self.t = t
        self.r = BodyReader(t.r.data, pos)
        params, _ = t.block_sig(blocktype)
        self.stack = [None] * len(params)
        self.frames = []          # nested block/if: [height, params, results, written]
        self.env = {}             # local -> its value now (absent: the iteration's start)
        self.writes = {}          # local -> [(value, at the loop's top level)]
        self.accesses = []        # _Access
        self.back_edge = None     # the condition of the final br_if 0
        self.last_was_back_edge = False
        # a loop inside the one versioned: how many blocks of the outer loop's body
        # are open around it (a branch past them goes round the outer loop)
        self.outer_frames = outer_frames
        self.nested = []          # the loops inside: (kind, x, x_step, y), our symbols

    def run(self):
        r = self.r
        while True:
            op = r.opcode()
            if op.name in _UNSUPPORTED or op.imm in _UNSUPPORTED_IMMEDIATES \
                    or op.prefix == PREFIX_FD \
                    or (op.prefix == PREFIX_FC and "trunc_sat" not in op.name):
                raise _Unsupported
            imm = IMMEDIATE_READERS[op.imm](r)
            back_edge_before = self.last_was_back_edge
            self.last_was_back_edge = False
            if op.name == "end" and not self.frames:
                if not back_edge_before:
                    raise _Unsupported
                return self._plan() if self.outer_frames is None else self._as_nested()
            if back_edge_before:          # a way round the loop before its last instruction
                raise _Unsupported
            getattr(self, "_on_" + op.name.replace(".", "_"), self._other)(op, imm)

    # -- control ---------------------------------------------------------------------
    def _open(self, imm):
        params, results = self.t.block_sig(imm)
        self.frames.append([len(self.stack) - len(params), len(params), len(results), set()])

    def _on_block(self, op, imm):
        self._open(imm)

    def _on_if(self, op, imm):
        self.stack.pop()
        self._open(imm)

    def _forget(self, written):
        for index in written:
            self.env[index] = None

    def _on_else(self, op, imm):
        height, params, _, written = self.frames[-1]
        del self.stack[height:]
        self.stack.extend([None] * params)
        self._forget(written)            # the else starts from before the then

    def _on_end(self, op, imm):
        height, _, results, written = self.frames.pop()
        del self.stack[height:]
        self.stack.extend([None] * results)
        self._forget(written)            # written on some paths only
        if self.frames:
            self.frames[-1][3].update(written)

    def _dead(self):
        if not self.frames:              # the loop's own body ends here: no back edge
            raise _Unsupported
        skip_to_block_end(self.r)

    def _targets_loop(self, depth):
        if self.outer_frames is not None and depth - len(self.frames) - 1 == self.outer_frames:
            raise _Unsupported           # from a nested loop round the outer one
        return depth == len(self.frames)

    def _on_br(self, op, depth):
        if self._targets_loop(depth):    # a second way round the loop
            raise _Unsupported
        self._dead()

    def _on_br_if(self, op, depth):
        cond = self.stack.pop()
        if self._targets_loop(depth):
            if self.frames:
                raise _Unsupported
            self.back_edge = cond
            self.last_was_back_edge = True

    def _on_br_table(self, op, imm):
        depths, default = imm
        self.stack.pop()
        if any(self._targets_loop(d) for d in (*depths, default)):
            raise _Unsupported
        self._dead()

    def _on_return(self, op, imm):
        self._dead()

    def _on_unreachable(self, op, imm):
        self._dead()

    def _on_nop(self, op, imm):
        pass

    def _on_loop(self, op, blocktype):
        """A loop inside: analysed on its own, its back edge and addresses then
        rewritten in this loop's symbols (the values its locals have where it starts)."""
        if self.outer_frames is not None or len(self.nested) == MAX_NESTED:
            raise _Unsupported           # three levels, or too many loops inside
        params, results = self.t.block_sig(blocktype)
        inner = _Analysis(self.t, blocktype, self.r.pos, outer_frames=len(self.frames))
        (kind, x, x_step, y), accesses, written = inner.run()
        self.r.pos = inner.r.pos
        del self.stack[len(self.stack) - len(params):]
        self.stack.extend([None] * len(results))
        self.nested.append((kind, self._substitute(x), x_step, self._substitute(y)))
        number = len(self.nested)
        for access in accesses:
            access.address, access.nested = self._substitute(access.address), number
            self.accesses.append(access)
        for index in sorted(written):
            self._write(index, None)     # after it: unknown (its last value)

    def _substitute(self, a):
        """A nested loop's affine value (symbols: values where it starts) in ours."""
        out = _const(a.get(1, 0))
        for key, coeff in a.items():
            if key == 1:
                continue
            value = self._value_of_local(key[1]) if key[0] == "l" else {key: 1}
            if value is None:
                raise _Unsupported
            out = _add(out, _scale(value, coeff))
        return out

    # -- variables -------------------------------------------------------------------
    def _value_of_local(self, index):
        if index in self.env:
            return self.env[index]
        if self.t.local_types[index] == "i32":
            return {("l", index): 1}
        return None

    def _on_local_get(self, op, index):
        self.stack.append(self._value_of_local(index))

    def _write(self, index, value):
        top_level = not self.frames
        self.writes.setdefault(index, []).append((value, top_level))
        if not top_level:
            self.frames[-1][3].add(index)
        self.env[index] = value

    def _on_local_set(self, op, index):
        self._write(index, self.stack.pop())

    def _on_local_tee(self, op, index):
        self._write(index, self.stack[-1])

    def _on_global_get(self, op, index):
        # no global.set in the loop (_UNSUPPORTED) and no call: every global is
        # invariant in it
        valtype = self.t.m.desc.all_globals[index].valtype
        self.stack.append({("g", index): 1} if valtype == I32 else None)

    def _on_drop(self, op, imm):
        self.stack.pop()

    def _on_select(self, op, imm):
        del self.stack[-3:]
        self.stack.append(None)

    # -- i32 arithmetic ----------------------------------------------------------------
    def _binary(self):
        b = self.stack.pop()
        a = self.stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            return a, b
        return None, None

    def _on_i32_const(self, op, value):
        self.stack.append(_const(value))

    def _on_i32_add(self, op, imm):
        a, b = self._binary()
        self.stack.append(None if a is None else _add(a, b))

    def _on_i32_sub(self, op, imm):
        a, b = self._binary()
        self.stack.append(None if a is None else _add(a, b, -1))

    def _on_i32_mul(self, op, imm):
        a, b = self._binary()
        if a is not None and _constant_of(b) is not None:
            self.stack.append(_scale(a, _constant_of(b)))
        elif a is not None and _constant_of(a) is not None:
            self.stack.append(_scale(b, _constant_of(a)))
        else:
            self.stack.append(None)

    def _on_i32_shl(self, op, imm):
        a, b = self._binary()
        shift = None if a is None else _constant_of(b)
        self.stack.append(None if shift is None else _scale(a, 1 << (shift & 31)))

    def _on_i32_eqz(self, op, imm):
        a = self.stack.pop()
        if isinstance(a, _Compare):
            self.stack.append(_Compare(_NEGATED[a.kind], a.left, a.right))
        elif isinstance(a, dict):
            self.stack.append(_Compare("eq", a, _const(0)))
        else:
            self.stack.append(None)

    def _other(self, op, imm):
        name = op.name
        if name in _COMPARE:
            a, b = self._binary()
            self.stack.append(None if a is None else _Compare(_COMPARE[name], a, b))
            return
        if name in LOADS or name in STORES:
            if name in STORES:
                self.stack.pop()
            address = self.stack.pop()
            if not isinstance(address, dict):
                raise _Unsupported
            size = (LOADS.get(name) or STORES[name])[1]
            self.accesses.append(_Access(address, imm[1], size, self.r.pos, name in STORES))
            if name in LOADS:
                self.stack.append(None)
            return
        if op.params is None:            # any other special instruction
            raise _Unsupported
        del self.stack[len(self.stack) - len(op.params):]
        self.stack.extend([None] * len(op.results))

    # -- the plan ----------------------------------------------------------------------
    def _splitter(self):
        """split(a): affine `a` (iteration-start symbols) as (a at iteration 0, step
        per iteration); raises for a local the loop changes otherwise."""
        steps = {}                        # induction variable -> its step
        for index, writes in self.writes.items():
            if len(writes) == 1 and writes[0][1] and isinstance(writes[0][0], dict):
                step = _add(writes[0][0], {("l", index): 1}, -1)
                if _constant_of(step) is not None:
                    steps[index] = _constant_of(step)
        variant = set(self.writes) - set(steps)

        def split(a):
            n_coeff = 0
            for key, coeff in a.items():
                if key != 1 and key[0] == "l":
                    if key[1] in variant:
                        raise _Unsupported
                    n_coeff += coeff * steps.get(key[1], 0)
            return a, _signed(n_coeff & MASK)
        return split

    def _as_nested(self):
        """A nested loop's result: its back edge, its accesses (address at its
        iteration 0, and its step), the locals it writes."""
        split = self._splitter()
        for access in self.accesses:
            access.address, access.nested_step = split(access.address)
        return self._condition(split), self.accesses, set(self.writes)

    def _plan(self):
        split = self._splitter()
        kind, x, x_step, y = self._condition(split)
        nested = []
        for n_kind, n_x, n_step, n_y in self.nested:
            (n_x, x_moves), (n_y, y_moves) = split(n_x), split(n_y)
            if x_moves or y_moves:
                raise _Unsupported        # its count changes from one outer iteration to the next
            nested.append((n_kind, n_x, n_step, n_y))
        where = {}                        # (a0 items, terms) -> its accesses
        for access in self.accesses:
            a0, step = split(access.address)
            terms = ((step, 0),) if step else ()
            if access.nested_step:
                terms += ((access.nested_step, access.nested),)
            where.setdefault((tuple(sorted(a0.items(), key=repr)), terms), []).append(access)
        if len(where) > MAX_RANGES:
            raise _Unsupported
        _refuse_irregular_overlaps(where)
        ranges = [(dict(a0), terms, max(a.offset + a.size for a in accesses))
                  for (a0, terms), accesses in where.items()]
        return Plan(kind, x, x_step, y, ranges, nested, _scopes(where) if nested else None)

    def _condition(self, split):
        cond = self.back_edge
        if isinstance(cond, dict):
            cond = _Compare("ne", cond, _const(0))
        if not isinstance(cond, _Compare):
            raise _Unsupported
        left, left_step = split(cond.left)
        right, right_step = split(cond.right)
        kind = cond.kind
        if left_step and right_step:
            if kind not in ("eq", "ne"):
                raise _Unsupported
            left, left_step = _add(left, right, -1), _signed((left_step - right_step) & MASK)
            right, right_step = _const(0), 0
        elif right_step:
            left, left_step, right, kind = right, right_step, left, _SWAPPED[kind]
        if not left_step:
            raise _Unsupported            # no induction variable in it
        if kind == "ne" and abs(left_step) & (abs(left_step) - 1):
            raise _Unsupported            # not a power of two: n* below needs one
        if kind.startswith(("lt", "le")) and left_step < 0 or \
                kind.startswith(("gt", "ge")) and left_step > 0:
            raise _Unsupported            # counts away from its bound: ends by wrapping
        return kind, left, left_step, right


def _refuse_irregular_overlaps(where):
    """Raise for a loop LLVM's loop vectorizer (LLVM 22) may get wrong: accesses of one
    shape (their distance a constant), one a store, that overlap from one iteration
    to another other than exactly. It reordered a 64-bit store and the 32-bit store
    after it at the same address (step -4), and a 32-bit store at +1 with a load at
    +4 (step 4): tests/test_loop_versions.py's generated loops of mixed sizes. Regular
    groups are kept: one size z, starts equal modulo z, steps multiples of z (any two
    accesses, at any iterations, then coincide or do not meet: a matrix's row read and
    written, a[i] = a[i - 1] + 1)."""
    shapes = {}
    for key, accesses in where.items():
        constant = dict(key[0]).get(1, 0)
        shapes.setdefault(_shape(key), []).extend((constant + a.offset, a) for a in accesses)
    for (_, terms), members in shapes.items():
        if not any(a.store for _, a in members) or _regular(terms, members):
            continue
        if len(terms) > 1:
            raise _Unsupported
        step = abs(terms[0][0]) if terms else 0
        for start_a, a in members:
            for start_b, b in members:
                if (a.store or b.store) and \
                        _overlap_elsewhere(_signed((start_b - start_a) & MASK), a.size, b.size, step):
                    raise _Unsupported


def _regular(terms, members):
    size = members[0][1].size
    return all(a.size == size and (start - members[0][0]) % size == 0 for start, a in members) \
        and all(step % size == 0 for step, _ in terms)


def _overlap_elsewhere(distance, size_a, size_b, step):
    """Whether [k*step, k*step + size_a) meets [distance, distance + size_b) for some
    k != 0 (access a shifted by other iterations, b where it is)."""
    low, high = distance - size_a, distance + size_b      # k*step strictly between
    if step == 0:
        return low < 0 < high
    k = low // step + 1                                   # the first multiple above low
    if k == 0:
        k = 1
    return k * step < high


def _shape(key):
    """A range's shape: its address's terms but the constant, and its steps (ranges of
    one shape are a constant apart)."""
    a0, terms = key
    return tuple(item for item in a0 if item[0] != 1), terms


def _scopes(where):
    """A nest's Scopes: its ranges (in `where`'s order, as the Plan's) grouped by
    shape, the pairs of groups one of which stores; None when there is no such pair
    or too many."""
    keys = list(where)
    shapes = {}
    for index, key in enumerate(keys):
        shapes.setdefault(_shape(key), []).append(index)
    groups = list(shapes.values())
    storing = [g for g, members in enumerate(groups)
               if any(access.store for i in members for access in where[keys[i]])]
    pairs = sorted({tuple(sorted((g, h))) for g in storing for h in range(len(groups)) if h != g})
    if not pairs or len(pairs) > MAX_DISJOINT_PAIRS:
        return None
    group_of = {access.pos: g for g, members in enumerate(groups)
                for i in members for access in where[keys[i]]}
    return Scopes(groups, pairs, group_of)
