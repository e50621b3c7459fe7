"""Fallback benchmark module when clang/wasm-ld are missing: generated WAT (deterministic).

Varied functions in the shapes compiled C has: counted loops over memory, br_table switches,
f64 math, i64 mixing, direct calls and call_indirect through a table. Assembled with
wasmtime.wat2wasm by bench/conftest.py.
"""
from __future__ import annotations

import random

BINOPS = ["i32.add", "i32.sub", "i32.mul", "i32.xor", "i32.and", "i32.or", "i32.shl", "i32.shr_u", "i32.rotl"]
F64OPS = ["f64.add", "f64.sub", "f64.mul", "f64.min", "f64.max"]


class WatGenerator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.binops = []  # functions of type $binop: (i32, i32) -> i32

    def int_expr(self, depth):
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(["(local.get $a)", "(local.get $b)", "(local.get $acc)",
                               f"(i32.const {rng.randint(-1000, 1000)})"])
        return f"({rng.choice(BINOPS)} {self.int_expr(depth - 1)} {self.int_expr(depth - 1)})"

    def loop_fn(self, name):
        self.binops.append(name)
        return f"""(func ${name} (export "{name}") (type $binop) (param $a i32) (param $b i32) (result i32)
  (local $i i32) (local $acc i32)
  (local.set $acc (local.get $a))
  (block $done (loop $next
    (br_if $done (i32.ge_u (local.get $i) (i32.and (local.get $b) (i32.const 255))))
    (local.set $acc (i32.add (local.get $acc)
      (i32.load (i32.and (i32.mul (local.get $i) (i32.const {self.rng.randint(1, 64)})) (i32.const 0xfffc)))))
    (if (i32.lt_s (local.get $acc) (i32.const {self.rng.randint(0, 5000)}))
      (then (local.set $acc {self.int_expr(3)})))
    (i32.store (i32.and (local.get $acc) (i32.const 0xfffc)) (local.get $i))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $next)))
  (local.get $acc))
"""

    def switch_fn(self, name):
        cases = self.rng.randint(3, 24)
        labels = " ".join(f"$c{i}" for i in range(cases))
        blocks = f"(br_table {labels} $dflt (local.get $a))"
        for case in range(cases):
            blocks = (f"(block $c{case} {blocks})\n  (local.set $acc {self.int_expr(2)}) (br $out)")
        self.binops.append(name)
        return f"""(func ${name} (export "{name}") (type $binop) (param $a i32) (param $b i32) (result i32)
  (local $acc i32)
  (block $out (block $dflt
  {blocks})
  (local.set $acc (i32.const {self.rng.randint(0, 99)})))
  (local.get $acc))
"""

    def float_fn(self, name):
        ops = "".join(f"\n    (local.set $y ({self.rng.choice(F64OPS)} (local.get $y) "
                      f"(f64.mul (local.get $x) (f64.const {self.rng.uniform(-4, 4):.5f}))))"
                      for _ in range(self.rng.randint(2, 8)))
        return f"""(func ${name} (export "{name}") (param $x f64) (param $n i32) (result f64)
  (local $y f64)
  (local.set $y (f64.sqrt (f64.abs (local.get $x))))
  (loop $again{ops}
    (f64.store (i32.and (i32.shl (local.get $n) (i32.const 3)) (i32.const 0xfff8)) (local.get $y))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br_if $again (i32.gt_s (local.get $n) (i32.const 0))))
  (f64.add (local.get $y) (f64.convert_i32_s (i32.trunc_sat_f64_s (local.get $y)))))
"""

    def wide_fn(self, name):
        return f"""(func ${name} (export "{name}") (param $x i64) (param $n i32) (result i64)
  (loop $again
    (local.set $x (i64.mul (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const {self.rng.randint(7, 33)})))
                          (i64.const {self.rng.getrandbits(62) | 1})))
    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
    (br_if $again (i32.gt_s (local.get $n) (i32.const 0))))
  (i64.rem_u (local.get $x) (i64.const {self.rng.randint(3, 1 << 30)})))
"""

    def call_fn(self, name):
        if len(self.binops) < 4:
            return self.loop_fn(name)
        body = "(local.get $a)"
        for callee in self.rng.sample(self.binops[-200:], self.rng.randint(2, 5)):
            body = f"(call ${callee} {body} (i32.xor (local.get $a) (local.get $b)))"
        indirect = (f"(call_indirect (type $binop) {body} (local.get $b) "
                    f"(i32.rem_u (local.get $a) (i32.const {len(self.binops)})))")
        self.binops.append(name)
        return f"""(func ${name} (export "{name}") (type $binop) (param $a i32) (param $b i32) (result i32)
  (local $acc i32)
  (local.set $acc {indirect})
  (i32.add (local.get $acc) {self.int_expr(2)}))
"""

    def function(self, index):
        shape = self.rng.choice([self.loop_fn, self.switch_fn, self.float_fn, self.wide_fn, self.call_fn])
        return shape(f"f{index}")


def generate_wat(functions=20000, seed=2024):
    generator = WatGenerator(seed)
    bodies = [generator.function(index) for index in range(functions)]
    table = " ".join(f"${name}" for name in generator.binops)
    return (f"(module\n(type $binop (func (param i32 i32) (result i32)))\n(memory (export \"memory\") 1)\n"
            + "".join(bodies)
            + f"(table {len(generator.binops)} funcref)\n(elem (i32.const 0) func {table})\n)\n")
