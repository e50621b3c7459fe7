"""Generates a large, varied C program for the decode+validate benchmark (deterministic).

Thousands of functions in the shapes real code has: counted and data-dependent loops, switch
statements (br_table), struct and array work, float and double math, 64-bit integer mixing,
calls to earlier functions, and dispatch through function-pointer tables (call_indirect).
Every function is external so that `--export-all` keeps it and -O2 cannot delete it.

    python bench/gen_c.py OUTDIR [--functions N] [--files K]   # writes OUTDIR/common.h, gen_*.c
"""
from __future__ import annotations

import argparse
import pathlib
import random

COMMON_H = """\
typedef struct { int id; float x, y, z; double w; short tag; unsigned char flags[8]; } item_t;
typedef struct { double re, im; } cpx_t;
typedef int (*binop_t)(int, int);
extern int g_ints[4096];
extern float g_floats[4096];
extern double g_doubles[4096];
extern unsigned char g_bytes[65536];
extern item_t g_items[512];
extern long long g_wide[1024];
"""

DATA_C = """\
#include "common.h"
int g_ints[4096];
float g_floats[4096];
double g_doubles[4096];
unsigned char g_bytes[65536];
item_t g_items[512];
long long g_wide[1024];
"""

INT_OPS = ["+", "-", "*", "^", "&", "|"]
CMP_OPS = ["<", ">", "<=", ">=", "==", "!="]
FLOAT_OPS = ["+", "-", "*"]


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.binops = []  # names of functions int f(int, int): callable and storable in tables
        self.prototypes = []

    # --- small expression builders

    def const(self, low=1, high=1000):
        return str(self.rng.randint(low, high))

    def int_expr(self, names, depth=2):
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(names) if rng.random() < 0.7 else self.const()
        left, right = self.int_expr(names, depth - 1), self.int_expr(names, depth - 1)
        form = rng.randrange(6)
        if form == 0:
            return f"(({left}) / (({right}) | 1))"
        if form == 1:
            return f"(({left}) << ({rng.randint(1, 7)}))"
        if form == 2:
            return f"((unsigned)({left}) >> ({rng.randint(1, 13)}))"
        if form == 3:
            return f"(({left}) {rng.choice(CMP_OPS)} ({right}) ? ({left}) : ({right}))"
        return f"(({left}) {rng.choice(INT_OPS)} ({right}))"

    def float_expr(self, names, depth=2):
        rng = self.rng
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(names) if rng.random() < 0.7 else f"{rng.uniform(-8, 8):.6f}"
        left, right = self.float_expr(names, depth - 1), self.float_expr(names, depth - 1)
        form = rng.randrange(5)
        if form == 0:
            return f"(({left}) / (({right}) * ({right}) + 1.0))"
        if form == 1:
            return f"__builtin_sqrt(({left}) * ({left}) + 1.0)"
        return f"(({left}) {rng.choice(FLOAT_OPS)} ({right}))"

    def declare(self, prototype):
        self.prototypes.append(prototype + ";")

    # --- function shapes; each returns C text

    def int_loop(self, name):
        step, mask = self.rng.choice([1, 1, 2, 3]), self.rng.choice([1023, 2047, 4095])
        body = self.int_expr(["acc", "x", "i", "a", "b"], 3)
        self.binops.append(name)
        self.declare(f"int {name}(int a, int b)")
        return f"""int {name}(int a, int b) {{
  int acc = a;
  for (int i = 0; i < (b & 255); i += {step}) {{
    int x = g_ints[(i * {self.const(1, 17)} + a) & {mask}];
    if (x {self.rng.choice(CMP_OPS)} {self.const()}) acc += {body};
    else acc ^= x >> {self.rng.randint(1, 5)};
    g_ints[i & {mask}] = acc;
  }}
  return acc;
}}
"""

    def switch_fn(self, name):
        cases = []
        for case in range(self.rng.randint(4, 40)):
            cases.append(f"    case {case}: r = {self.int_expr(['a', 'b', 'r'], 2)}; break;")
        if self.rng.random() < 0.5:  # sparse values: a compare chain instead of br_table
            cases.append(f"    case {self.rng.randint(1000, 100000)}: r = a - b; break;")
        self.declare(f"int {name}(int op, int a, int b)")
        body = "\n".join(cases)
        return f"""int {name}(int op, int a, int b) {{
  int r = {self.const()};
  switch (op) {{
{body}
    default: r = a * {self.const(2, 9)} + b;
  }}
  return r;
}}
"""

    def struct_fn(self, name):
        field = self.rng.choice(["x", "y", "z"])
        self.declare(f"double {name}(int k, double s)")
        update = self.float_expr(["it->x", "it->y", "it->z", "s", "acc"], 2)
        return f"""double {name}(int k, double s) {{
  double acc = 0.0;
  for (int i = 0; i < 64; i++) {{
    item_t *it = &g_items[(k + i * {self.const(1, 31)}) & 511];
    if (it->flags[i & 7] & {1 << self.rng.randrange(8)}) {{
      it->{field} = (float)({update});
      it->tag++;
    }} else {{
      it->w += it->x * s - it->id;
    }}
    acc += it->w;
  }}
  return acc;
}}
"""

    def float_fn(self, name):
        kind = self.rng.choice(["float", "double"])
        array = "g_floats" if kind == "float" else "g_doubles"
        expr = self.float_expr(["x", "y", "t"], 3)
        self.declare(f"{kind} {name}({kind} x, int n)")
        return f"""{kind} {name}({kind} x, int n) {{
  {kind} y = x, t = {self.rng.uniform(0.1, 2):.4f};
  for (int i = 0; i < (n & 63); i++) {{
    t = {array}[i & 4095];
    y = y - (y * y - x) / (2 * y + 1e-3f);
    if (y {self.rng.choice(CMP_OPS)} t) y = {expr};
    {array}[(i + n) & 4095] = y;
  }}
  return y + (int)(y * {self.const(2, 100)}) % {self.const(3, 97)};
}}
"""

    def call_fn(self, name):
        if len(self.binops) < 3:
            return self.int_loop(name)
        pool = self.binops[-200:]
        # at most the functions there are (the fuzzer's small programs have few)
        callees = self.rng.sample(pool, min(self.rng.randint(2, 5), len(pool)))
        lines = [f"  r = {callee}(r {self.rng.choice(INT_OPS)} {self.const()}, a ^ b);" for callee in callees]
        self.binops.append(name)
        self.declare(f"int {name}(int a, int b)")
        return f"int {name}(int a, int b) {{\n  int r = a;\n" + "\n".join(lines) + "\n  return r + b;\n}\n"

    def fnptr_fn(self, name):
        if len(self.binops) < 8:
            return self.int_loop(name)
        size = self.rng.choice([4, 8, 16])
        if size > len(self.binops):         # a small program: too few functions yet
            return self.int_loop(name)
        table = ", ".join(self.rng.sample(self.binops[-300:], size))
        self.binops.append(name)
        self.declare(f"int {name}(int a, int b)")
        return f"""int {name}(int a, int b) {{
  static const binop_t table[{size}] = {{ {table} }};
  int r = 0;
  for (int i = 0; i < (a & 7) + 1; i++)
    r += table[(unsigned)(a + i * b) % {size}](r, b + i);
  return r;
}}
"""

    def bytes_fn(self, name):
        prime, rot = self.rng.choice([16777619, 0x9E3779B1, 0x85EBCA6B]), self.rng.randint(5, 27)
        self.declare(f"unsigned {name}(int off, int len)")
        return f"""unsigned {name}(int off, int len) {{
  unsigned h = {self.const(1, 1 << 30)}u;
  for (int i = 0; i < (len & 1023); i++) {{
    unsigned char c = g_bytes[(off + i) & 65535];
    if (c == {self.const(0, 255)}) continue;
    h = (h ^ c) * {prime}u;
    h = (h << {rot}) | (h >> {32 - rot});
  }}
  return h;
}}
"""

    def matrix_fn(self, name):
        n = self.rng.choice([3, 4, 6, 8])
        self.declare(f"float {name}(int base)")
        return f"""float {name}(int base) {{
  float a[{n}][{n}], b[{n}][{n}], c[{n}][{n}];
  for (int i = 0; i < {n}; i++)
    for (int j = 0; j < {n}; j++) {{
      a[i][j] = g_floats[(base + i * {n} + j) & 4095];
      b[i][j] = g_floats[(base * 3 + j * {n} + i) & 4095];
    }}
  for (int i = 0; i < {n}; i++)
    for (int j = 0; j < {n}; j++) {{
      float s = 0.0f;
      for (int k = 0; k < {n}; k++) s += a[i][k] * b[k][j];
      c[i][j] = s;
    }}
  float t = 0.0f;
  for (int i = 0; i < {n}; i++) t += c[i][i] - c[i][{n - 1} - i];
  return t;
}}
"""

    def sort_fn(self, name):
        n = self.rng.choice([8, 16, 32])
        order = self.rng.choice(["<", ">"])
        self.declare(f"int {name}(int base, int k)")
        return f"""int {name}(int base, int k) {{
  int v[{n}];
  for (int i = 0; i < {n}; i++) v[i] = g_ints[(base + i * {self.const(1, 9)}) & 4095] ^ k;
  for (int i = 1; i < {n}; i++) {{
    int x = v[i], j = i - 1;
    while (j >= 0 && x {order} v[j]) {{ v[j + 1] = v[j]; j--; }}
    v[j + 1] = x;
  }}
  return v[k & {n - 1}] + v[0];
}}
"""

    def wide_fn(self, name):
        self.declare(f"long long {name}(long long a, int n)")
        return f"""long long {name}(long long a, int n) {{
  unsigned long long x = (unsigned long long)a * {self.rng.getrandbits(63)}ull;
  for (int i = 0; i < (n & 31); i++) {{
    x ^= x >> {self.rng.randint(7, 33)};
    x *= {self.rng.getrandbits(63) | 1}ull;
    g_wide[(i + n) & 1023] += (long long)x / ((long long)(x >> 40) | 1);
  }}
  return (long long)(x % {self.rng.randint(3, 1 << 30)}) - (long long)(double)(x >> 11);
}}
"""

    def state_machine(self, name):
        states = self.rng.randint(3, 8)
        arms = []
        for state in range(states):
            nxt = self.rng.randrange(states)
            arms.append(f"      case {state}: if (c {self.rng.choice(CMP_OPS)} {self.const(0, 255)}) "
                        f"{{ s = {nxt}; count += {state + 1}; }} else s = (s + c) % {states}; break;")
        self.declare(f"int {name}(int off, int len)")
        body = "\n".join(arms)
        return f"""int {name}(int off, int len) {{
  int s = 0, count = 0, i = 0;
  while (i < (len & 4095)) {{
    unsigned char c = g_bytes[(off + i++) & 65535];
    switch (s) {{
{body}
    }}
    if (count > {self.const(500, 5000)}) break;
  }}
  return count * {states} + s;
}}
"""

    def cpx_fn(self, name):
        self.declare(f"double {name}(double re, double im, int n)")
        return f"""double {name}(double re, double im, int n) {{
  cpx_t z = {{0.0, 0.0}}, c = {{re, im}};
  int i = 0;
  for (; i < (n & 255); i++) {{
    cpx_t t = {{z.re * z.re - z.im * z.im + c.re, 2.0 * z.re * z.im + c.im}};
    z = t;
    if (z.re * z.re + z.im * z.im > {self.rng.uniform(2, 8):.3f}) break;
  }}
  return i + z.re * {self.rng.uniform(0.01, 1):.4f};
}}
"""

    SHAPES = ("int_loop", "switch_fn", "struct_fn", "float_fn", "call_fn", "fnptr_fn", "bytes_fn",
              "matrix_fn", "sort_fn", "wide_fn", "state_machine", "cpx_fn")

    def function(self, index):
        return getattr(self, self.rng.choice(self.SHAPES))(f"f{index}")


def generate(outdir, functions=8000, files=8, seed=2024):
    """Write common.h, data.c and gen_*.c; returns the list of .c files."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    generator = Generator(seed)
    bodies = [generator.function(index) for index in range(functions)]
    header = COMMON_H + "\n".join(generator.prototypes) + "\n"
    (outdir / "common.h").write_text(header)
    (outdir / "data.c").write_text(DATA_C)
    sources = [outdir / "data.c"]
    per_file = -(-functions // files)
    for part in range(files):
        path = outdir / f"gen_{part}.c"
        path.write_text('#include "common.h"\n\n' + "\n".join(bodies[part * per_file:(part + 1) * per_file]))
        sources.append(path)
    return sources


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("--functions", type=int, default=8000)
    parser.add_argument("--files", type=int, default=8)
    options = parser.parse_args()
    for path in generate(options.outdir, options.functions, options.files):
        print(path)


if __name__ == "__main__":
    main()
