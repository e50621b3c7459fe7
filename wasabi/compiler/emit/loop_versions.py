"""Loop versioning: an innermost loop whose every memory access is in bounds, checked
once before it starts, runs a copy with plain (not volatile) accesses.

Why: in guard mode each access is its own bounds check (emit/memory.py), so it is
volatile, and LLVM keeps every access, in order. That also stops it from vectorising
or unrolling loads together: a scalar loop that native code vectorises ran 4-7x
slower than `clang -O2 -march=native` (bench/test_vectorisable.py). When no access of
a loop can trap, the order of its accesses is not observable, and nothing needs them
volatile.

What: at O2, for an innermost `loop` (no loop, call, memory.grow or bulk memory
inside, no SIMD) whose addresses are affine in its induction variables, the
translator emits (control.py):

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

If the analysis were wrong, an access of the fast copy still goes through the guard
region (the same zext(i32) + offset < 8 GiB) and faults into a trap: memory stays
sandboxed; only the memory state at such a trap could differ from the spec's.
tests/test_loop_versions.py runs generated loops against wasmtime, traps included.
"""
from ...binary.body import IMMEDIATE_READERS, BodyReader, skip_to_block_end
from ...binary.opcodes import PREFIX_FC, PREFIX_FD
from ...binary.types import I32
from . import memory, variables
from .memory import LOADS, STORES

MASK = 0xFFFFFFFF
# at most this many distinct address expressions (each costs the check a few
# instructions at every entry of the loop)
MAX_RANGES = 16
# instructions that end the analysis: they may trap, grow or reach memory outside
# what the check covers, or they make the loop something other than innermost
_UNSUPPORTED = frozenset({"loop", "call", "call_indirect", "memory.grow", "memory.fill",
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


class _Compare:
    __slots__ = ("kind", "left", "right")

    def __init__(self, kind, left, right):
        self.kind, self.left, self.right = kind, left, right


class Plan:
    """What the check of one loop computes (see the module doc)."""

    def __init__(self, kind, x, x_step, y, ranges):
        self.kind = kind          # continue while x(n) <kind> y
        self.x = x                # affine (entry values) of x at iteration 0
        self.x_step = x_step      # x(n) = x + x_step * n (mod 2^32), a signed int
        self.y = y                # affine, loop-invariant
        self.ranges = ranges      # [(affine a0, signed step, highest offset + size)]

    def symbols(self):
        out = set()
        for a in (self.x, self.y, *(a for a, _, _ in self.ranges)):
            out.update(key for key in a if key != 1)
        return sorted(out)


# ---- the analysis -------------------------------------------------------------------

def plan(t, blocktype):
    """The Plan of the loop whose body starts at t.r.pos, or None (not versioned)."""
    try:
        return _Analysis(t, blocktype).run()
    except _Unsupported:
        return None


class _Analysis:
    def __init__(self, t, blocktype):
        self.t = t
        self.r = BodyReader(t.r.data, t.r.pos)
        params, _ = t.block_sig(blocktype)
        self.stack = [None] * len(params)
        self.frames = []          # nested block/if: [height, params, results, written]
        self.env = {}             # local -> its value now (absent: the iteration's start)
        self.writes = {}          # local -> [(value, at the loop's top level)]
        self.accesses = []        # (affine address, offset + size)
        self.back_edge = None     # the condition of the final br_if 0
        self.last_was_back_edge = False

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
                return self._plan()
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
            self.accesses.append((address, imm[1] + (LOADS.get(name) or STORES[name])[1]))
            if name in LOADS:
                self.stack.append(None)
            return
        if op.params is None:            # any other special instruction
            raise _Unsupported
        del self.stack[len(self.stack) - len(op.params):]
        self.stack.extend([None] * len(op.results))

    # -- the plan ----------------------------------------------------------------------
    def _plan(self):
        steps = {}                        # induction variable -> its step
        for index, writes in self.writes.items():
            if len(writes) == 1 and writes[0][1] and isinstance(writes[0][0], dict):
                step = _add(writes[0][0], {("l", index): 1}, -1)
                if _constant_of(step) is not None:
                    steps[index] = _constant_of(step)
        variant = set(self.writes) - set(steps)

        def split(a):
            """a (iteration-start symbols) as (a at iteration 0, step per iteration)."""
            n_coeff = 0
            for key, coeff in a.items():
                if key != 1 and key[0] == "l":
                    if key[1] in variant:
                        raise _Unsupported
                    n_coeff += coeff * steps.get(key[1], 0)
            return a, _signed(n_coeff & MASK)

        ranges = {}
        for address, end in self.accesses:
            a0, step = split(address)
            key = (tuple(sorted(a0.items(), key=repr)), step)
            ranges[key] = max(ranges.get(key, 0), end)
        if len(ranges) > MAX_RANGES:
            raise _Unsupported
        kind, x, x_step, y = self._condition(split)
        return Plan(kind, x, x_step, y, [(dict(k[0]), k[1], end) for k, end in ranges.items()])

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


# ---- the check, emitted at the loop's entry --------------------------------------------

def emit_check(t, p):
    """Emit the check of Plan `p` in the current block; return its i1 (true: the
    fast copy may run)."""
    values = {}
    for symbol in p.symbols():
        kind, index = symbol
        (variables.local_get if kind == "l" else variables.global_get)(t, index, None)
        values[symbol] = t.pop_value()
    ok = []
    n_last = _last_iteration(t, p, values, ok)
    # (keeps n* times any step, below 2^31, inside an i64)
    ok.append(t.inst(f"icmp ule i64 {n_last}, {1 << 31}"))
    size = memory.size_in_bytes(t)
    for a, step, end in p.ranges:
        first = t.inst(f"zext i32 {_affine(t, a, values)} to i64")
        if step:
            last = t.inst(f"add i64 {first}, {t.inst(f'mul i64 {n_last}, {step}')}")
        else:
            last = first
        high = last if step > 0 else first
        if step > 0:
            ok.append(t.inst(f"icmp sle i64 {last}, {MASK}"))
        elif step < 0:
            ok.append(t.inst(f"icmp sge i64 {last}, 0"))
        ok.append(t.inst(f"icmp ule i64 {t.inst(f'add i64 {high}, {end}')}, {size}"))
    result = ok[0]
    for cond in ok[1:]:
        result = t.inst(f"and i1 {result}, {cond}")
    return result


def _affine(t, a, values):
    """The i32 value of affine `a` (a literal or an SSA name)."""
    out = str(_signed(a.get(1, 0)))
    for key, coeff in a.items():
        if key == 1:
            continue
        term = values[key] if coeff == 1 else t.inst(f"mul i32 {values[key]}, {_signed(coeff)}")
        out = t.inst(f"add i32 {out}, {term}")
    return out


def _last_iteration(t, p, values, ok):
    """n*: the last iteration the loop can reach (an i64), from its back edge's
    condition `x + step*n <kind> y`; appends its conditions of validity to `ok`."""
    step, kind = p.x_step, p.kind
    x32, y32 = _affine(t, p.x, values), _affine(t, p.y, values)
    if kind == "eq":                 # x(1) != x(0): at most iterations 0 and 1
        return "1"
    if kind == "ne":                 # the first n with x + step*n == y (mod 2^32)
        shift = abs(step).bit_length() - 1
        diff = t.inst(f"sub i32 {y32}, {x32}") if step > 0 else t.inst(f"sub i32 {x32}, {y32}")
        if shift:
            low = t.inst(f"and i32 {diff}, {(1 << shift) - 1}")
            ok.append(t.inst(f"icmp eq i32 {low}, 0"))     # else it never equals y
        return t.inst(f"lshr i64 {t.inst(f'zext i32 {diff} to i64')}, {shift}")
    extend = "sext" if kind.endswith("_s") else "zext"
    x = t.inst(f"{extend} i32 {x32} to i64")
    y = t.inst(f"{extend} i32 {y32} to i64")
    if step > 0:       # lt: the first n with x(n) >= y; le: the first with x(n) > y
        done = t.inst(f"icmp sge i64 {x}, {y}" if kind.startswith("lt") else
                      f"icmp sgt i64 {x}, {y}")
        gap = t.inst(f"sub i64 {y}, {x}")
    else:
        done = t.inst(f"icmp sle i64 {x}, {y}" if kind.startswith("gt") else
                      f"icmp slt i64 {x}, {y}")
        gap = t.inst(f"sub i64 {x}, {y}")
    size = abs(step)
    if kind[:2] in ("lt", "gt"):     # ceil(gap / size)
        count = t.inst(f"udiv i64 {t.inst(f'add i64 {gap}, {size - 1}')}, {size}")
    else:                            # floor(gap / size) + 1
        count = t.inst(f"add i64 {t.inst(f'udiv i64 {gap}, {size}')}, 1")
    n_last = t.inst(f"select i1 {done}, i64 0, i64 {count}")
    # x(n*) itself must not wrap, or the loop would go on past n*
    reached = t.inst(f"add i64 {x}, {t.inst(f'mul i64 {n_last}, {step}')}")
    if kind.endswith("_s"):
        low, high = -(1 << 31), (1 << 31) - 1
    else:
        low, high = 0, MASK
    ok.append(t.inst(f"icmp sle i64 {reached}, {high}" if step > 0 else
                     f"icmp sge i64 {reached}, {low}"))
    return n_last
