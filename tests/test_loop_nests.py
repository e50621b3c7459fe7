"""Loop nests versioned as a whole (wasabi/compiler/emit/loop_versions.py, loop_checks.py):
a loop holding innermost loops runs a copy without volatile accesses, whose accesses
carry alias scopes the check proved, once at the nest's entry.

A wrong check or a wrong scope is a wrong result, not an escape (the guard region still
bounds every access): generated nests (a matrix-multiply shape, pointer and row
induction variables, stores and loads that overlap or not depending on the arguments,
early exits, traps on memory and on division, inner loops whose count changes, which
go round the outer loop, which do not restart) run under wasabi O2 and wasmtime; the
result or trap and the whole memory must agree after every call.
"""
import random

import pytest

import wasabi
from test_loop_versions import PAGE, _plans, _trap_kind, _wasabi_run, _wasmtime_run

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime is the reference")

_FILL = "".join(f"\\{(i * 7 + 3) % 251:02x}" for i in range(9216))
MATMUL = '(module (memory (export "mem") 1) (data (i32.const 0) "' + _FILL + '")' + """
  (func (export "run") (param $a i32) (param $b i32) (param $c i32) (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $j i32) (local $x i32)
    (loop $rows
      (local.set $k (i32.const 0))
      (loop $ks
        (local.set $x (i32.load (i32.add (local.get $a)
          (i32.shl (i32.add (i32.mul (local.get $i) (i32.const 12)) (local.get $k)) (i32.const 2)))))
        (local.set $j (i32.const 0))
        (loop $js
          (i32.store (i32.add (local.get $c)
                              (i32.shl (i32.add (i32.mul (local.get $i) (i32.const 12)) (local.get $j)) (i32.const 2)))
            (i32.add
              (i32.load (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $i) (i32.const 12)) (local.get $j)) (i32.const 2))))
              (i32.mul (local.get $x)
                (i32.load (i32.add (local.get $b)
                  (i32.shl (i32.add (i32.mul (local.get $k) (i32.const 12)) (local.get $j)) (i32.const 2)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $js (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $ks (i32.lt_u (local.get $k) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $n))))
    (i32.load (local.get $c))))"""


def test_a_matrix_multiply_is_versioned_as_a_nest_with_alias_scopes():
    rows, ks, js = _plans(MATMUL)[:3]
    assert rows is None                       # three levels: not as a whole
    assert ks is not None and len(ks.nested) == 1 and ks.scopes is not None
    # three groups (c's row, b's row, a's element): c stores, so c/b and c/a
    assert len(ks.scopes.groups) == 3 and len(ks.scopes.pairs) == 2
    assert js is not None and js.scopes is None   # the original copy's inner loop, alone


@pytest.mark.parametrize("a, b, c", [
    (0, 4096, 8192),          # apart: the fast copy
    (0, 4096, 4096 + 40),     # c's rows overlap b's: the original copy
    (4096, 0, 4096),          # c is a: in place
    (0, 4096, PAGE - 100),    # c runs off the memory
])
def test_a_matrix_multiply_agrees_with_wasmtime(a, b, c):
    module = wasabi.compile(MATMUL, wasabi.Options(tier="O2"))
    engine = wasmtime.Engine()
    reference = wasmtime.Module(engine, wasabi.wat2wasm(MATMUL))
    for n in (0, 1, 5, 12):
        args = [a, b, c, n]
        (mine, my_memory), (theirs, their_memory) = (_wasabi_run(module, args),
                                                      _wasmtime_run(engine, reference, args))
        assert mine[0] == theirs[0] and _trap_kind(str(mine[1])) == _trap_kind(str(theirs[1])), args
        assert my_memory == their_memory, args


# ---- generated nests ----------------------------------------------------------------------

ACCESS_TYPES = {4: (("i32.load", "i32.store", ""), ("f32.load", "f32.store", "f32")),
                8: (("i64.load", "i64.store", "i64"), ("f64.load", "f64.store", "f64")),
                1: (("i32.load8_u", "i32.store8", ""),)}


def _address(rng, base, size):
    """An address affine in $k (rows), $j and the pointer $q: mostly on a grid of `size`
    (an array of such elements), sometimes not (such nests are refused when they store)."""
    row = size * rng.choice((0, 1, 16, 64, -16, 3))
    column = rng.choice((size, size, size, 2 * size, 2 * size, -size, -size, 3 * size, 1))
    if rng.random() < 0.2:
        return f"(i32.add (local.get $q) (i32.mul (local.get $j) (i32.const {column})))"
    return (f"(i32.add (local.get {base}) (i32.add (i32.mul (local.get $k) (i32.const {row})) "
            f"(i32.mul (local.get $j) (i32.const {column}))))")


def _as_i32(kind, value):
    return {"i64": f"(i32.wrap_i64 {value})", "f64": f"(i32.trunc_sat_f64_s {value})",
            "f32": f"(i32.trunc_sat_f32_s {value})"}.get(kind, value)


def _from_i32(kind, value):
    return {"i64": f"(i64.extend_i32_s {value})", "f64": f"(f64.convert_i32_s {value})",
            "f32": f"(f32.convert_i32_s {value})"}.get(kind, value)


def _inner_line(rng, size):
    if rng.random() < 0.05:
        size = rng.choice((1, 4, 8))              # another element size in the nest
    load, store, kind = rng.choice(ACCESS_TYPES[size])
    offset = size * rng.choice((0, 0, 1, 25))
    if rng.random() < 0.4:        # read, add, write back (a matrix multiply's row)
        address = _address(rng, "$a", size)
        other = _address(rng, "$b", size)
        value = (f"(i32.add {_as_i32(kind, f'({load} offset={offset} {address})')} "
                 f"(i32.mul (local.get $t) {_as_i32(kind, f'({load} {other})')}))")
        return f"({store} offset={offset} {address} {_from_i32(kind, value)})"
    if rng.random() < 0.5:
        address = _address(rng, rng.choice(("$a", "$b")), size)
        return f"(local.set $s (i32.add (local.get $s) {_as_i32(kind, f'({load} offset={offset} {address})')}))"
    address = _address(rng, "$a", size)
    value = _from_i32(kind, "(i32.add (local.get $s) (local.get $j))")
    return f"({store} offset={offset} {address} {value})"


def _generated(rng):
    """(wat, expected to be versioned as a nest): an outer loop over $k with one inner
    loop over $j; some variants leave the nest unversionable."""
    size = rng.choice((4, 4, 4, 8, 1))
    inner = [_inner_line(rng, size) for _ in range(rng.randint(1, 3))]
    nest = True
    j_start = "(local.set $j (local.get $j0))"
    bound = "(local.get $n)"
    roll = rng.random()
    if roll < 0.1:
        j_start, nest = "", False                       # $j goes on from the last row
    elif roll < 0.2:
        bound, nest = "(i32.add (local.get $n) (local.get $k))", False    # its count moves
    elif roll < 0.3:
        # round the outer loop from inside the inner one (once)
        inner.append("(if (i32.eq (local.get $j) (local.get $c)) "
                     "(then (local.set $c (i32.const -1)) (br $outer)))")
        nest = False
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
    data = bytes(rng.randrange(256) for _ in range(64))
    escaped = "".join(f"\\{b:02x}" for b in data)
    wat = f"""(module (memory (export "mem") 1)
      (data (i32.const 0) "{escaped}") (data (i32.const {PAGE - 64}) "{escaped}")
      (func (export "run") (param $k0 i32) (param $m i32) (param $j0 i32) (param $n i32)
            (param $a i32) (param $b i32) (param $trap_at i32) (result i32)
        (local $k i32) (local $j i32) (local $s i32) (local $q i32) (local $t i32) (local $c i32)
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
        (local.get $s)))"""
    return wat, nest


def _arguments(rng):
    k0 = rng.choice((0, 0, 1, 5, -2))
    m = k0 + rng.choice((0, 1, 3, 12, 30))
    j0 = rng.choice((0, 0, 0, 1, 2))
    n = j0 + rng.choice((0, 1, 4, 16, 40, 130))
    a = rng.choice((0, 256, 1024, PAGE // 2, PAGE - 512, PAGE - 8, rng.randrange(PAGE)))
    b = rng.choice((a, a + 4, a + 64, a - 64, a + 4096, PAGE // 4, rng.randrange(PAGE), PAGE - 200))
    trap_at = rng.choice((j0 - 1, j0 + 3, n // 2, n + 1))
    return [v & 0xFFFFFFFF for v in (k0, m, j0, n, a, b, trap_at)]


def _check_generated(seed, nests, calls):
    rng = random.Random(seed)
    engine = wasmtime.Engine()
    as_nest = scoped = 0
    for case in range(nests):
        wat, nest = _generated(rng)
        plans = _plans(wat)
        if not nest:
            assert plans[0] is None, wat
        as_nest += plans[0] is not None
        scoped += plans[0] is not None and plans[0].scopes is not None
        module = wasabi.compile(wat, wasabi.Options(tier="O2"))
        reference = wasmtime.Module(engine, wasabi.wat2wasm(wat))
        for _ in range(calls):
            args = _arguments(rng)
            mine, my_memory = _wasabi_run(module, args)
            theirs, their_memory = _wasmtime_run(engine, reference, args)
            where = f"seed {seed}, nest {case}, args {args}:\n{wat}"
            assert mine[0] == theirs[0], where
            if mine[0] == "ok":
                assert mine[1] == theirs[1], where
            else:
                assert _trap_kind(mine[1]) == _trap_kind(theirs[1]), where
            if my_memory != their_memory:
                at = next(i for i in range(PAGE) if my_memory[i] != their_memory[i])
                pytest.fail(f"memory differs from byte {at}: {where}")
    # the generator must make nests, most of them with scopes, or this shows nothing
    assert as_nest >= nests * 2 // 5 and scoped >= nests // 4, (as_nest, scoped, nests)


@pytest.mark.parametrize("seed", range(3))
def test_generated_nests_agree_with_wasmtime(seed):
    _check_generated(seed, nests=15, calls=8)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 106))
def test_many_generated_nests_agree_with_wasmtime(seed):
    _check_generated(seed, nests=60, calls=10)
