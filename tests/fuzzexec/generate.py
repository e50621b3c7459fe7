"""Modules from a seed. Every generator is deterministic: the seed alone gives the same bytes.

- ttf: binaryen's `wasm-opt -ttf` (Debian package `binaryen`) turns random bytes into a valid
  module with a hang limit (a global counting loop iterations and calls; see plan.py), logging
  imports (`fuzzing-support` log-i32/i64/f32/f64/v128), a table and memory 0 exported.
  binaryen 108's reference types are pre-standard (funcref <: anyref); such modules are used
  when wasmtime accepts them.
- spec: a valid binary of the spec test suite, a function body mutated (tests/fuzz_worker.py's
  mutations) until wasmtime accepts the result.
- clang: a small C program from bench/gen_c.py, built by clang for wasm32 at -O0..-O2.
- loops: counted loops and two-level nests over memory (loops.py), what loop versioning works
  on: binaryen's loops all set a global (their hang limit), so none of them is versioned.

Every module but the loops goes through `wasm-opt --denan` (a float result that is a NaN becomes 0) and
simd_denan.py (the same for f32x4/f64x2 lanes, which binaryen 108 leaves alone). The sign and
payload of an arithmetic NaN are nondeterministic in wasm: once such bits flow into integers (a
store and a byte load, reinterpret, a lane compare) two correct engines differ anywhere, in
results, traps and state (a fuzzed module without --denan did: an f32.sub of a NaN stored, a
byte of it logged). So every difference left is a bug. NaN bit semantics (neg, abs, copysign,
reinterpret, canonical NaNs) are the spec tests' part.
"""
from __future__ import annotations

import functools
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

from . import loops as loop_modules, simd_denan, wasmbin

HERE = pathlib.Path(__file__).resolve().parent
TESTS = HERE.parent
SPEC_DIR = pathlib.Path(os.environ.get("WASABI_SPEC_DIR", TESTS / "spec"))
TTF_FEATURES = ["--enable-simd", "--enable-bulk-memory", "--enable-sign-ext",
                "--enable-nontrapping-float-to-int", "--enable-multivalue", "--enable-mutable-globals"]
# random input sizes: compile time grows with them (binaryen makes ~1 function per 300 bytes)
TTF_SIZES = (64, 2000)
CFLAGS = ["--target=wasm32", "-w", "-nostdlib", "-ffreestanding", "-mbulk-memory", "-msign-ext",
          "-mnontrapping-fptoint", "-mmutable-globals"]
GENERATORS = ("ttf", "spec", "clang", "loops")
DEFAULT_MIX = {"ttf": 86, "spec": 7, "clang": 3, "loops": 4}


class Skip(Exception):
    """This seed gives no usable module (e.g. binaryen made one wasmtime rejects)."""


def have_binaryen():
    return shutil.which("wasm-opt") is not None


def have_clang():
    return shutil.which("clang") is not None and shutil.which("wasm-ld") is not None


def pick_generator(seed, mix):
    rng = random.Random(seed * 7919 + 1)
    names = [n for n in GENERATORS if mix.get(n)]
    return rng.choices(names, weights=[mix[n] for n in names])[0]


def workdir():
    path = pathlib.Path(tempfile.gettempdir()) / f"wasabi-fuzz-exec-{os.getpid()}"
    path.mkdir(exist_ok=True)
    return path


def ttf(seed):
    """(bytes, description) of binaryen's module for this seed."""
    rng = random.Random(seed)
    size = rng.randint(*TTF_SIZES)
    flags = list(TTF_FEATURES)
    flags.append("--denan")
    if rng.random() < 0.15:
        flags.append("--enable-reference-types")
    source, output = workdir() / "ttf.in", workdir() / "ttf.wasm"
    source.write_bytes(rng.randbytes(size))
    done = subprocess.run(["wasm-opt", "-ttf", str(source), *flags, "-o", str(output)],
                          capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"wasm-opt failed: {done.stderr[-300:]}")
    return denan_simd(output.read_bytes()), {"generator": "ttf", "input_bytes": size, "flags": flags}


def denan_simd(data):
    try:
        return simd_denan.denan_simd(data)
    except wasmbin.BadModule as error:  # binaryen's pre-standard reference types
        raise Skip(f"not a Wasm 2.0 module: {error}") from None


def denan(data):
    """The module through `wasm-opt --denan` and simd_denan (see the top of this file)."""
    source, output = workdir() / "denan.in.wasm", workdir() / "denan.wasm"
    source.write_bytes(data)
    done = subprocess.run(["wasm-opt", str(source), *TTF_FEATURES, "--enable-reference-types",
                           "--denan", "-o", str(output)], capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"wasm-opt --denan failed: {done.stderr[-300:]}")
    return denan_simd(output.read_bytes())


@functools.lru_cache(maxsize=1)
def spec_sources():
    """Valid core spec binaries whose imports are all functions (logged like ttf's)."""
    from . import wasmbin
    from .engines import wasmtime_engine
    import wasmtime
    found = []
    sys.path.insert(0, str(TESTS))
    import spec_harness
    for path in sorted(spec_harness.binaries_dir(SPEC_DIR).glob("json/*/*.wasm")):
        data = path.read_bytes()
        try:
            wasmtime.Module(wasmtime_engine(), data)
            module = wasmbin.parse(data)
        except (wasmtime.WasmtimeError, wasmbin.BadModule):
            continue
        if module.func_types and not module.other_imports and module.exported_functions():
            found.append(path)
    return found


def spec(seed):
    import fuzz_worker
    import wasmtime
    from .engines import wasmtime_engine
    rng = random.Random(seed)
    sources = spec_sources()
    if not sources:
        raise Skip(f"no spec binaries under {SPEC_DIR}")
    path = rng.choice(sources)
    original = path.read_bytes()
    for attempt in range(30):
        data, description = fuzz_worker.function_body(rng, original)
        try:
            wasmtime.Module(wasmtime_engine(), data)
        except wasmtime.WasmtimeError:
            continue
        return data, {"generator": "spec", "source": path.name, "mutation": description}
    return original, {"generator": "spec", "source": path.name, "mutation": None}


def clang(seed):
    sys.path.insert(0, str(TESTS.parent / "bench"))
    import gen_c
    rng = random.Random(seed)
    directory = workdir() / "clang"
    if directory.exists():
        shutil.rmtree(directory)
    level = rng.choice(("-O0", "-O1", "-O2", "-Os"))
    simd = ["-msimd128"] if rng.random() < 0.5 else []
    sources = gen_c.generate(directory, functions=rng.randint(4, 24), files=1, seed=seed)
    objects = []
    for source in sources:
        obj = source.with_suffix(".o")
        done = subprocess.run(["clang", *CFLAGS, level, *simd, "-c", str(source), "-o", str(obj)],
                              capture_output=True, text=True)
        if done.returncode:
            raise Skip(f"clang failed: {done.stderr[-300:]}")
        objects.append(str(obj))
    output = directory / "out.wasm"
    done = subprocess.run(["wasm-ld", "--no-entry", "--export-all", "-o", str(output), *objects],
                          capture_output=True, text=True)
    if done.returncode:
        raise Skip(f"wasm-ld failed: {done.stderr[-300:]}")
    return output.read_bytes(), {"generator": "clang", "opt": level, "simd": bool(simd)}


def loops(seed):
    """(bytes, description) of loops.py's module for this seed. No --denan: its floats come
    from integers or go back to integers (trunc_sat), and denan's calls would keep every
    loop from being versioned."""
    import wasmtime
    return wasmtime.wat2wasm(loop_modules.module(seed)), {"generator": "loops"}


def generate(seed, mix=None):
    """(bytes, description) of the module of `seed`; Skip when the seed gives none."""
    mix = mix or DEFAULT_MIX
    name = pick_generator(seed, mix)
    if not have_binaryen():
        raise Skip("wasm-opt (binaryen) not installed")
    if name == "clang" and not have_clang():
        raise Skip("clang/wasm-ld not installed")
    data, description = {"ttf": ttf, "spec": spec, "clang": clang, "loops": loops}[name](seed)
    if name in ("spec", "clang"):
        data = denan(data)
    description["seed"] = seed
    return data, description
