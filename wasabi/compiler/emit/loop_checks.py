"""The IR of a versioned loop's check and of its fast copy's alias scopes: what
emit/loop_versions.py's Plan says, at the loop's entry (control.loop)."""
from . import memory, variables
from .loop_versions import MASK, _signed

# n* of a loop at most this (keeps n* times a step, below 2^31, and the sum of two
# such terms, a nest's address, inside an i64)
MAX_LAST_ITERATION = 1 << 30


def emit_check(t, p):
    """Emit the check of Plan `p` in the current block; return its i1 (true: the
    fast copy may run)."""
    values = {}
    for symbol in p.symbols():
        kind, index = symbol
        (variables.local_get if kind == "l" else variables.global_get)(t, index, None)
        values[symbol] = t.pop_value()
    ok = []
    n_last = [_last_iteration(t, kind, x, step, y, values, ok)
              for kind, x, step, y in [(p.kind, p.x, p.x_step, p.y), *p.nested]]
    for n in n_last:
        ok.append(t.inst(f"icmp ule i64 {n}, {MAX_LAST_ITERATION}"))
    size = memory.size_in_bytes(t)
    bounds = []
    for a, terms, end in p.ranges:
        low = high = t.inst(f"zext i32 {_affine(t, a, values)} to i64")
        for step, loop in terms:
            far = t.inst(f"mul i64 {n_last[loop]}, {step}")
            if step > 0:
                high = t.inst(f"add i64 {high}, {far}")
            else:
                low = t.inst(f"add i64 {low}, {far}")
        if any(step > 0 for step, _ in terms):
            ok.append(t.inst(f"icmp sle i64 {high}, {MASK}"))
        if any(step < 0 for step, _ in terms):
            ok.append(t.inst(f"icmp sge i64 {low}, 0"))
        high = t.inst(f"add i64 {high}, {end}")
        ok.append(t.inst(f"icmp ule i64 {high}, {size}"))
        bounds.append((low, high))
    if p.scopes is not None:
        ok.extend(_disjoint(t, p.scopes, bounds))
    result = ok[0]
    for cond in ok[1:]:
        result = t.inst(f"and i1 {result}, {cond}")
    return result


def _disjoint(t, scopes, bounds):
    """Per pair of groups, an i1: their bytes do not overlap."""
    spans = []
    for members in scopes.groups:
        low, high = bounds[members[0]]
        for i in members[1:]:
            low = t.inst(f"call i64 @llvm.umin.i64(i64 {low}, i64 {bounds[i][0]})")
            high = t.inst(f"call i64 @llvm.umax.i64(i64 {high}, i64 {bounds[i][1]})")
        spans.append((low, high))
    if any(len(members) > 1 for members in scopes.groups):
        t.m.declare_intrinsic("declare i64 @llvm.umin.i64(i64, i64)")
        t.m.declare_intrinsic("declare i64 @llvm.umax.i64(i64, i64)")
    out = []
    for a, b in scopes.pairs:
        before = t.inst(f"icmp ule i64 {spans[a][1]}, {spans[b][0]}")
        after = t.inst(f"icmp ule i64 {spans[b][1]}, {spans[a][0]}")
        out.append(t.inst(f"or i1 {before}, {after}"))
    return out


def alias_tags(t, scopes):
    """Open a nest's alias scopes (in the fast copy's first block) and return, per body
    position of an access, the metadata it carries: its group's scope, and `noalias`
    with the scopes of the groups the check proved it disjoint from."""
    m = t.m
    domain = m.new_metadata('distinct !{{self}, !"wasabi loop nest"}')
    scope = [m.new_metadata(f'distinct !{{{{self}}, {domain}, !"group {g}"}}')
             for g in range(len(scopes.groups))]
    # the declarations mark where the scopes start: code that duplicates them (an
    # enclosing loop unrolled, an inlined call) then gives each copy scopes of its own
    m.declare_intrinsic("declare void @llvm.experimental.noalias.scope.decl(metadata)")
    tags = []
    for g, node in enumerate(scope):
        own = m.new_metadata(f"!{{{node}}}")
        t.emit(f"call void @llvm.experimental.noalias.scope.decl(metadata {own})")
        others = m.new_metadata("!{" + ", ".join(scope[h] for h in scopes.disjoint_from(g)) + "}")
        tags.append(f", !alias.scope {own}, !noalias {others}")
    return {pos: tags[g] for pos, g in scopes.group_of.items()}


def _affine(t, a, values):
    """The i32 value of affine `a` (a literal or an SSA name)."""
    out = str(_signed(a.get(1, 0)))
    for key, coeff in a.items():
        if key == 1:
            continue
        term = values[key] if coeff == 1 else t.inst(f"mul i32 {values[key]}, {_signed(coeff)}")
        out = t.inst(f"add i32 {out}, {term}")
    return out


def _last_iteration(t, kind, x, step, y, values, ok):
    """n*: the last iteration a loop can reach (an i64), from its back edge's
    condition `x + step*n <kind> y`; appends its conditions of validity to `ok`."""
    x32, y32 = _affine(t, x, values), _affine(t, y, values)
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
