"""Counted loops and two-level nests over memory: what loop versioning (wasabi/compiler/emit/
loop_versions.py) works on, which binaryen's modules never reach (their loops set a global,
the hang limit, so none is versioned).

- overlapping(rng, name): one loop whose accesses share a base, of any size at small
  offsets, small steps: they overlap from one iteration to another (LLVM's vectorizer got
  some such loops wrong);
- nest(rng, name): an outer loop over $k holding one inner loop over $j, a matrix
  multiply's shape and variants (early exits, traps, a count that moves, a way round the
  outer loop from the inner one, ...).

tests/test_loop_versions.py and tests/test_loop_nests.py run them with chosen arguments;
module(seed) is the executing fuzzer's `loops` generator (generate.py): several of them in
one module, their counts kept small whatever the arguments.
"""
from __future__ import annotations

import random

PAGE = 65536
ACCESS_TYPES = {4: (("i32.load", "i32.store", ""), ("f32.load", "f32.store", "f32")),
                8: (("i64.load", "i64.store", "i64"), ("f64.load", "f64.store", "f64")),
                2: (("i32.load16_u", "i32.store16", ""),), 1: (("i32.load8_u", "i32.store8", ""),)}
OVERLAP_STEPS = (1, 2, 4, 8, -1, -2, -4, -8, 3, -6)


def as_i32(kind, value):
    return {"i64": f"(i32.wrap_i64 {value})", "f64": f"(i32.trunc_sat_f64_s {value})",
            "f32": f"(i32.trunc_sat_f32_s {value})"}.get(kind, value)


def from_i32(kind, value):
    return {"i64": f"(i64.extend_i32_s {value})", "f64": f"(f64.convert_i32_s {value})",
            "f32": f"(f32.convert_i32_s {value})"}.get(kind, value)


def data_segments(rng):
    """64 random bytes at the start and at the end of a one-page memory."""
    escaped = "".join(f"\\{rng.randrange(256):02x}" for _ in range(64))
    return f'(data (i32.const 0) "{escaped}") (data (i32.const {PAGE - 64}) "{escaped}")'


# ---- one loop, accesses overlapping across iterations ---------------------------------------

def overlapping(rng, name, bounded=False):
    """A function `name` (param $a $j $n) (result i32) of one loop over $j from $j to $n,
    its accesses at $a + step*$j + small offsets. `bounded`: $n is $j + ($n & 511)."""
    step = rng.choice(OVERLAP_STEPS)
    address = f"(i32.add (local.get $a) (i32.mul (local.get $j) (i32.const {step})))"
    lines = []
    for _ in range(rng.randint(2, 3)):
        load, store, kind = rng.choice([t for types in ACCESS_TYPES.values() for t in types])
        offset = rng.choice((0, 0, 1, 2, 4, 8))
        if rng.random() < 0.6:
            stored = rng.choice(("(local.get $j)", "(i32.add (local.get $s) (local.get $j))"))
            lines.append(f"({store} offset={offset} {address} {from_i32(kind, stored)})")
        else:
            value = as_i32(kind, f"({load} offset={offset} {address})")
            lines.append(f"(local.set $s (i32.add (local.get $s) {value}))")
    bound = ("(local.set $n (i32.add (local.get $j) (i32.and (local.get $n) (i32.const 511))))"
             if bounded else "")
    return f"""(func (export "{name}") (param $a i32) (param $j i32) (param $n i32) (result i32)
        (local $s i32) {bound}
        (loop $l {" ".join(lines)}
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $l (i32.ne (local.get $j) (local.get $n))))
        (local.get $s))"""


# ---- two-level nests ----------------------------------------------------------------------

def _address(rng, base, size):
    """An address affine in $k (rows), $j and the pointer $q: mostly on a grid of `size`
    (an array of such elements), sometimes not (such nests are refused when they store)."""
    row = size * rng.choice((0, 1, 16, 64, -16, 3))
    column = rng.choice((size, size, size, 2 * size, 2 * size, -size, -size, 3 * size, 1))
    if rng.random() < 0.2:
        return f"(i32.add (local.get $q) (i32.mul (local.get $j) (i32.const {column})))"
    return (f"(i32.add (local.get {base}) (i32.add (i32.mul (local.get $k) (i32.const {row})) "
            f"(i32.mul (local.get $j) (i32.const {column}))))")


def _inner_line(rng, size):
    if rng.random() < 0.05:
        size = rng.choice((1, 2, 4, 8))           # another element size in the nest
    load, store, kind = rng.choice(ACCESS_TYPES[size])
    offset = size * rng.choice((0, 0, 1, 25))
    if rng.random() < 0.4:        # read, add, write back (a matrix multiply's row)
        address = _address(rng, "$a", size)
        other = _address(rng, "$b", size)
        value = (f"(i32.add {as_i32(kind, f'({load} offset={offset} {address})')} "
                 f"(i32.mul (local.get $t) {as_i32(kind, f'({load} {other})')}))")
        return f"({store} offset={offset} {address} {from_i32(kind, value)})"
    if rng.random() < 0.5:
        address = _address(rng, rng.choice(("$a", "$b")), size)
        return f"(local.set $s (i32.add (local.get $s) {as_i32(kind, f'({load} offset={offset} {address})')}))"
    address = _address(rng, "$a", size)
    value = from_i32(kind, "(i32.add (local.get $s) (local.get $j))")
    return f"({store} offset={offset} {address} {value})"


def nest(rng, name, bounded=False):
    """(func text, whether it should be versioned as a nest): `name` (param $k0 $m $j0 $n
    $a $b $trap_at) (result i32), an outer loop over $k from $k0 while below $m holding an
    inner loop over $j from $j0 to $n; some variants leave the nest unversionable.
    `bounded`: $m is $k0 + ($m & 63), $n is $j0 + ($n & 255)."""
    size = rng.choice((4, 4, 4, 8, 1))
    inner = [_inner_line(rng, size) for _ in range(rng.randint(1, 3))]
    versioned = True
    j_start = "(local.set $j (local.get $j0))"
    bound = "(local.get $n)"
    roll = rng.random()
    if roll < 0.1:
        j_start, versioned = "", False                  # $j goes on from the last row
    elif roll < 0.2:
        bound, versioned = "(i32.add (local.get $n) (local.get $k))", False    # its count moves
    elif roll < 0.3:
        # round the outer loop from inside the inner one (once)
        inner.append("(if (i32.eq (local.get $j) (local.get $c)) "
                     "(then (local.set $c (i32.const -1)) (br $outer)))")
        versioned = False
    if rng.random() < 0.2:
        inner.append("(br_if $inner_exit (i32.eq (i32.and (local.get $s) (i32.const 255)) (i32.const 7)))")
    if rng.random() < 0.25:
        inner.insert(0, "(local.set $s (i32.add (local.get $s) (i32.div_u (i32.const 1000) "
                        "(i32.sub (local.get $j) (local.get $trap_at)))))")
    if rng.random() < 0.3:       # a load whose value is unused: only the original copy must trap
        inner.insert(0, f"(drop (i32.load offset={rng.choice((0, PAGE - 16))} {_address(rng, '$b', 4)}))")
    kind = rng.choice(("lt_u", "lt_s", "ne", "le_u"))
    j_step = 1 if kind == "ne" else rng.choice((1, 2, 3))
    k_step = rng.choice((1, 2))
    counts = ("(local.set $m (i32.add (local.get $k0) (i32.and (local.get $m) (i32.const 63)))) "
              "(local.set $n (i32.add (local.get $j0) (i32.and (local.get $n) (i32.const 255))))"
              if bounded else "")
    return f"""(func (export "{name}") (param $k0 i32) (param $m i32) (param $j0 i32) (param $n i32)
            (param $a i32) (param $b i32) (param $trap_at i32) (result i32)
        (local $k i32) (local $j i32) (local $s i32) (local $q i32) (local $t i32) (local $c i32)
        {counts}
        (local.set $k (local.get $k0)) (local.set $q (local.get $b)) (local.set $c (local.get $trap_at))
        (block $exit (loop $outer
          (local.set $t (i32.load offset=8 (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2)))))
          {j_start}
          (block $inner_exit (loop $inner
            {" ".join(inner)}
            (local.set $j (i32.add (local.get $j) (i32.const {j_step})))
            (br_if $inner (i32.{kind} (local.get $j) {bound}))))
          (local.set $q (i32.add (local.get $q) (i32.const {rng.choice((4, 64, -8))})))
          (local.set $k (i32.add (local.get $k) (i32.const {k_step})))
          (br_if $outer (i32.lt_s (local.get $k) (local.get $m)))))
        (local.get $s))""", versioned


# ---- the fuzzer's generator -------------------------------------------------------------------

def module(seed):
    """The text of a module of 2 to 6 such functions (memory exported as "memory")."""
    rng = random.Random(seed)
    functions = []
    for k in range(rng.randint(2, 6)):
        if rng.random() < 0.5:
            functions.append(overlapping(rng, f"loop{k}", bounded=True))
        else:
            functions.append(nest(rng, f"nest{k}", bounded=True)[0])
    return (f'(module (memory (export "memory") 1) {data_segments(rng)}\n'
            + "\n".join(functions) + ")")
