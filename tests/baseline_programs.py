"""Random, valid-by-construction wasm functions for testing the single-pass baseline
compiler (wasabi/_native/baseline.c) against LLVM (tests/test_baseline.py).

A program is one exported function `f` over typed locals that pushes and combines
values of i32, i64 and f64: arithmetic (division and remainder included, so traps),
comparisons (fused into branches and selects), conversions, selects, `if` and `block`
with results and `br_if`, `br_table`, loads and stores in a one-page memory (some out
of bounds), calls to a helper with a mix of parameters (some passed on the stack),
direct and through a table (some of those to a null or missing element),
and bursts of values live at once (the register pools run out, values are spilled
and moved). Its result folds every value left on the stack
into a global; f64 values are folded through a saturating truncation, so that NaN
signs and payloads, which wasm leaves to the implementation, never show.
"""
import random

I_BIN = "add sub mul and or xor shl shr_s shr_u rotl rotr div_s div_u rem_s rem_u".split()
I_CMP = "eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u".split()
F_BIN = "add sub mul div min max copysign".split()
F_CMP = "eq ne lt gt le ge".split()
CONSTS = {"i32": [0, 1, -1, 2, 3, 7, 10, 255, 2**31 - 1, -2**31, 123456789],
          "i64": [0, 1, -1, 2, 7, 10, 2**32, 2**63 - 1, -2**63, -123456789012],
          "f64": ["0", "1.5", "-2", "1e300", "-0", "3", "0.1", "4294967296", "-1e-300"]}
# conversions from each type: (instruction, result type)
CONVERSIONS = {
    "i32": [("i64.extend_i32_s", "i64"), ("i64.extend_i32_u", "i64"), ("i32.eqz", "i32"),
            ("i32.clz", "i32"), ("i32.ctz", "i32"), ("i32.popcnt", "i32"),
            ("f64.convert_i32_s", "f64"), ("f64.convert_i32_u", "f64"),
            ("i32.extend8_s", "i32"), ("i32.extend16_s", "i32")],
    "i64": [("i32.wrap_i64", "i32"), ("i64.eqz", "i32"), ("i64.clz", "i64"),
            ("i64.popcnt", "i64"), ("f64.convert_i64_s", "f64"), ("f64.convert_i64_u", "f64"),
            ("i64.extend32_s", "i64"), ("i64.extend8_s", "i64"), ("f64.reinterpret_i64", "f64")],
    "f64": [("i64.trunc_sat_f64_s", "i64"), ("i32.trunc_sat_f64_u", "i32"), ("f64.neg", "f64"),
            ("f64.abs", "f64"), ("f64.sqrt", "f64"), ("f64.floor", "f64"),
            ("f64.nearest", "f64"), ("f64.ceil", "f64"), ("f64.trunc", "f64"),
            ("i32.trunc_f64_s", "i32"), ("f32.demote_f64", "f32")],
    "f32": [("f64.promote_f32", "f64")],
}
HELPER = """(func $h (param i64 f64 i32 f64 i64 i32 i32 i32 f64 i64 i32) (result i64)
  local.get 0 local.get 4 i64.add local.get 9 i64.xor
  local.get 2 local.get 5 i32.add local.get 6 i32.mul local.get 7 i32.sub local.get 10 i32.xor
  i64.extend_i32_u i64.add
  local.get 1 local.get 3 f64.add local.get 8 f64.sub i64.trunc_sat_f64_s i64.add)"""
LOADS = {"i32": ["i32.load", "i32.load8_s", "i32.load8_u", "i32.load16_s", "i32.load16_u"],
         "i64": ["i64.load", "i64.load8_s", "i64.load16_u", "i64.load32_s", "i64.load32_u"],
         "f64": ["f64.load"]}
STORES = {"i32": ["i32.store", "i32.store8", "i32.store16"],
          "i64": ["i64.store", "i64.store8", "i64.store32"], "f64": ["f64.store"]}
TYPES = ("i32", "i64", "f64")


class _Program:
    def __init__(self, rng, nlocals):
        self.rng = rng
        self.ltypes = [rng.choice(TYPES) for _ in range(nlocals)]
        self.code = []
        self.stack = []

    def emit(self, *lines):
        self.code.extend(lines)

    def value(self, t):
        """Code that pushes one value of type t (not tracked on self.stack)."""
        rng = self.rng
        locals_ = [i for i, lt in enumerate(self.ltypes) if lt == t]
        if locals_ and rng.random() < 0.5:
            self.emit(f"local.get {rng.choice(locals_)}")
        else:
            self.emit(f"{t}.const {rng.choice(CONSTS[t])}")

    def push(self, t):
        self.value(t)
        self.stack.append(t)

    def address(self):
        addr = self.rng.choice([0, 8, 100, 4096, 65528, 65532, 65535, 65536, 70000])
        self.emit(f"i32.const {addr}")

    def step(self):
        rng, stack = self.rng, self.stack
        r = rng.random()
        top = stack[-1] if stack else None
        if r < 0.22 or len(stack) < 2:
            self.push(rng.choice(TYPES))
        elif r < 0.27:
            # a burst of values that stay live: the register pools run out
            for _ in range(rng.randrange(6, 14)):
                self.push(rng.choice(("i32", "i64")) if rng.random() < 0.8 else "f64")
        elif r < 0.45:
            a, b = stack[-2], stack[-1]
            if a != b:
                self.push(b)
                return
            del stack[-2:]
            if a == "f64":
                op = rng.choice(F_BIN + F_CMP)
                self.emit(f"f64.{op}")
                stack.append("i32" if op in F_CMP else "f64")
            else:
                op = rng.choice(I_BIN + I_CMP)
                self.emit(f"{a}.{op}")
                stack.append("i32" if op in I_CMP else a)
        elif r < 0.52 and top == "i32" and len(stack) >= 3 and stack[-2] == stack[-3]:
            self.emit("select")
            del stack[-2:]
        elif r < 0.60:
            i = rng.randrange(len(self.ltypes))
            if self.ltypes[i] != top:
                self.push(self.ltypes[i])
            elif rng.random() < 0.5:
                self.emit(f"local.set {i}")
                stack.pop()
            else:
                self.emit(f"local.tee {i}")
        elif r < 0.68:
            op, result = rng.choice(CONVERSIONS[top])
            self.emit(op)
            stack[-1] = result
            if result == "f32":
                self.emit("f64.promote_f32")
                stack[-1] = "f64"
        elif r < 0.73 and top == "i32":
            t = rng.choice(TYPES)
            self.emit(f"if (result {t})")
            self.value(t)
            self.emit("else")
            self.value(t)
            self.emit("end")
            stack[-1] = t
        elif r < 0.78 and top == "i32":
            # the condition is consumed inside: a value, br_if with it, or another one
            t = rng.choice(TYPES)
            self.emit(f"block (param i32) (result {t})")
            self.emit("local.set 0" if self.ltypes[0] == "i32" else "drop")
            self.value(t)
            self.emit("i32.const 1" if self.ltypes[0] != "i32" else "local.get 0")
            self.emit("br_if 0", "drop")
            self.value(t)
            self.emit("end")
            stack[-1] = t
        elif r < 0.82 and top == "i32":
            # br_table on the top i32 carrying a value to one of three blocks
            t = rng.choice(TYPES)
            stash = [i for i, lt in enumerate(self.ltypes) if lt == "i32"]
            self.emit(f"local.set {stash[0]}" if stash else "drop")
            self.emit(f"block (result {t})", f"block (result {t})", f"block (result {t})")
            self.value(t)
            self.emit(f"local.get {stash[0]}" if stash else f"i32.const {rng.choice([0, 1, 2, 7])}")
            self.emit("br_table 0 1 2 1", "end", "drop", f"{t}.const 11", "br 1", "end",
                      "drop", f"{t}.const 22", "end")
            stack[-1] = t
        elif r < 0.87:
            t = rng.choice(TYPES)
            self.address()
            self.emit(f"{rng.choice(LOADS[t])} offset={rng.choice([0, 4, 65536])}")
            stack.append(t)
        elif r < 0.91 and top in STORES:
            # store the top value (a copy, through a local of its type when there is one)
            locals_ = [i for i, lt in enumerate(self.ltypes) if lt == top]
            if not locals_:
                self.emit("drop")
                stack.pop()
                return
            i = rng.choice(locals_)
            self.emit(f"local.set {i}")
            stack.pop()
            self.address()
            self.emit(f"local.get {i}", f"{rng.choice(STORES[top])} offset={rng.choice([0, 3])}")
        elif r < 0.95:
            for t in ("i64", "f64", "i32", "f64", "i64", "i32", "i32", "i32", "f64", "i64", "i32"):
                self.value(t)
            if rng.random() < 0.5:
                self.emit("call $h")
            else:   # through the table: $h, mostly; else a null or missing element (traps)
                i32s = [i for i, lt in enumerate(self.ltypes) if lt == "i32"]
                if i32s and rng.random() < 0.5:         # an index in a register
                    self.emit(f"local.get {rng.choice(i32s)}", "i32.const 1", "i32.and",
                              "i32.const 1", "i32.xor")      # mostly 0 ($h), or 1 (null)
                else:
                    self.emit(f"i32.const {rng.choice([0, 0, 0, 0, 1, 2])}")
                self.emit("call_indirect (type $ht)")
            stack.append("i64")
        else:
            self.emit("drop")
            stack.pop()

    def text(self):
        fold = {"i32": ["i64.extend_i32_u"], "i64": [], "f64": ["i64.trunc_sat_f64_s"]}
        for t in reversed(self.stack):
            self.emit(*fold[t], "global.get 0", "i64.add", "global.set 0")
        params = " ".join(self.ltypes[:3])
        locals_ = " ".join(self.ltypes[3:])
        body = "\n    ".join(self.code)
        return f"""(module
  (memory (export "mem") 1)
  (global (mut i64) (i64.const 0))
  (type $ht (func (param i64 f64 i32 f64 i64 i32 i32 i32 f64 i64 i32) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $h)
  {HELPER}
  (func (export "f") (param {params}) (result i64) (local {locals_})
    {body}
    global.get 0))"""


def program(seed, length=40, nlocals=7):
    """(wat text, arguments of f) of program `seed`."""
    rng = random.Random(seed)
    p = _Program(rng, nlocals)
    for _ in range(length):
        p.step()
    args = [rng.choice([0, 1, -1, 5, 65535, 2**31 - 1, -7]) if t != "f64"
            else rng.choice([0.0, 1.5, -3.25, 1e10, 65536.0]) for t in p.ltypes[:3]]
    return p.text(), args
