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
from fuzzexec import loops
from test_loop_versions import PAGE, _plans, _wasabi_run, _wasmtime_run, assert_same

wasmtime = pytest.importorskip("wasmtime", reason="wasmtime is the reference")

_FILL = "".join(f"\\{(i * 7 + 3) % 251:02x}" for i in range(9216))
# c[i][j] += a[i][k] * b[k][j] over n x n of rows of ROW i32s
MATMUL_OF_ROWS = '(module (memory (export "mem") 1) (data (i32.const 0) "' + _FILL + '")' + """
  (func (export "run") (param $a i32) (param $b i32) (param $c i32) (param $n i32) (result i32)
    (local $i i32) (local $k i32) (local $j i32) (local $x i32)
    (loop $rows
      (local.set $k (i32.const 0))
      (loop $ks
        (local.set $x (i32.load (i32.add (local.get $a)
          (i32.shl (i32.add (i32.mul (local.get $i) (i32.const ROW)) (local.get $k)) (i32.const 2)))))
        (local.set $j (i32.const 0))
        (loop $js
          (i32.store (i32.add (local.get $c)
                              (i32.shl (i32.add (i32.mul (local.get $i) (i32.const ROW)) (local.get $j)) (i32.const 2)))
            (i32.add
              (i32.load (i32.add (local.get $c)
                (i32.shl (i32.add (i32.mul (local.get $i) (i32.const ROW)) (local.get $j)) (i32.const 2))))
              (i32.mul (local.get $x)
                (i32.load (i32.add (local.get $b)
                  (i32.shl (i32.add (i32.mul (local.get $k) (i32.const ROW)) (local.get $j)) (i32.const 2)))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $js (i32.lt_u (local.get $j) (local.get $n))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $ks (i32.lt_u (local.get $k) (local.get $n))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $n))))
    (i32.load (local.get $c))))"""
MATMUL = MATMUL_OF_ROWS.replace("ROW", "12")


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
        assert_same(_wasabi_run(module, args), _wasmtime_run(engine, reference, args), args)


def test_a_nests_fast_copy_takes_no_loop_entry_number():
    """Optimised code is entered at loop headers numbered in the order of the wasm's
    loops, as the baseline numbers them (translator.loop_entry); a fast copy is never
    entered (its check comes first): its loops, the nest's inner one included, take no
    number, or the baseline's k loop would enter the fast copy's j loop."""
    from wasabi.compiler.module_ir import ModuleContext
    from wasabi.compiler.translator import FunctionTranslator
    from wasabi.options import CodeOptions
    desc = wasabi.parse(wasabi.wat2wasm(MATMUL))
    translator = FunctionTranslator(ModuleContext(desc, CodeOptions(tier="O2")), desc.funcs[0])
    text = translator.translate()
    assert "noalias.scope.decl" in text                  # the nest's fast copy is there
    rows, ks, js = translator.loop_headers                # one per loop of the wasm
    assert text.index(f"{ks}:") > text.index("noalias.scope.decl")   # after the fast copy


@pytest.mark.parametrize("code", ["counting", "cached-locals"])
def test_a_nest_entered_from_the_baseline_at_its_loop_headers(monkeypatch, code):
    """PGO: optimised code is entered at loop headers; a nest's fast copy never is (its
    check comes first), so its loops take no entry number: the original copies' loops
    keep the numbers the baseline gives them. Every iteration looks for an entry."""
    import time
    from wasabi.compiler import modes, osr, profile
    from wasabi.compiler.modes import tiered
    monkeypatch.setattr(osr, "EVERY", 1)
    monkeypatch.setattr(tiered, "TICK", 0.0005)
    monkeypatch.setattr(profile, "BRANCHES", code == "counting")
    wat = MATMUL_OF_ROWS.replace("ROW", "64")      # long calls: entries in the middle

    def run(instance):          # a fresh memory each time; c's rows overlap b's: the
        # check fails, and an entry into the fast copy would skip it
        result = instance.exports.run(0, 16384, 16384 + 80, 48)
        return result, instance.exports.mem.read(0, PAGE)
    expected = run(wasabi.instantiate(wasabi.compile(wat, wasabi.Options(tier="O2"))))
    module = modes.compile(wasabi.parse(wasabi.wat2wasm(wat)),
                           wasabi.Options(mode=wasabi.Mode.PGO), hot=1)
    end = time.monotonic() + 20
    while True:
        assert run(module.instantiate()) == expected
        if module.stats()["tiers"]["O2"] >= 1 or time.monotonic() > end:
            break
    assert module.stats()["tiers"]["O2"] >= 1
    assert run(module.instantiate()) == expected


# ---- generated nests (tests/fuzzexec/loops.py) ------------------------------------------------

def _generated(rng):
    """(wat, whether it should be versioned as a nest) of a module of one nest, "run"."""
    function, versioned = loops.nest(rng, "run")
    return f'(module (memory (export "mem") 1) {loops.data_segments(rng)} {function})', versioned


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
        wat, versioned = _generated(rng)
        plans = _plans(wat)
        if not versioned:
            assert plans[0] is None, wat
        as_nest += plans[0] is not None
        scoped += plans[0] is not None and plans[0].scopes is not None
        module = wasabi.compile(wat, wasabi.Options(tier="O2"))
        reference = wasmtime.Module(engine, wasabi.wat2wasm(wat))
        for _ in range(calls):
            args = _arguments(rng)
            assert_same(_wasabi_run(module, args), _wasmtime_run(engine, reference, args),
                        f"seed {seed}, nest {case}, args {args}:\n{wat}")
    # the generator must make nests, most of them with scopes, or this shows nothing
    assert as_nest >= nests * 2 // 5 and scoped >= nests // 4, (as_nest, scoped, nests)


@pytest.mark.parametrize("seed", range(3))
def test_generated_nests_agree_with_wasmtime(seed):
    _check_generated(seed, nests=15, calls=8)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 106))
def test_many_generated_nests_agree_with_wasmtime(seed):
    _check_generated(seed, nests=60, calls=10)
