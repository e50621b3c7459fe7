"""wat2wasm speed: wasabi.text beside wasmtime.wat2wasm on the same ~1 MB of text, same run.

    python -m pytest bench/test_text.py --benchmark-only
    python bench/test_text.py             # just print the times

The text is bench/gen_wat.py's (folded code: loops, br_table switches, f64 math,
calls, call_indirect) cut to about 1 MB. wasmtime's assembler is Rust; wasabi's is
pure Python (a regex lexer, then one pass per module field), so the ratio shows
what that costs. The goal is "well under a second" per MB.
"""
import time

import pytest
import wasmtime

import wasabi
from wasabi.text import wasm2wat, wat2wasm

from gen_wat import generate_wat

ROUNDS = 7
TARGET_BYTES = 1_000_000


def megabyte_of_wat():
    functions = 1200                       # about 860 bytes of text per generated function
    text = generate_wat(functions, seed=11)
    while len(text) < TARGET_BYTES:
        functions += 100
        text = generate_wat(functions, seed=11)
    return text


@pytest.fixture(scope="module")
def wat_text():
    return megabyte_of_wat()


TIMES = {}


def run(benchmark, label, function, text):
    benchmark.group = "wat2wasm"
    benchmark.pedantic(function, args=(text,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    TIMES[label] = benchmark.stats.stats.min
    benchmark.extra_info.update({"text_bytes": len(text),
                                 "MB_per_s": round(len(text) / benchmark.stats.stats.min / 1e6, 2)})


def test_wasabi_wat2wasm(benchmark, wat_text):
    run(benchmark, "wasabi", wat2wasm, wat_text)
    wasabi.validate(wat2wasm(wat_text))


def test_wasmtime_wat2wasm(benchmark, wat_text):
    run(benchmark, "wasmtime", wasmtime.wat2wasm, wat_text)


def test_wasabi_wasm2wat(benchmark, wat_text):
    data = wat2wasm(wat_text)
    benchmark.group = "wasm2wat"
    benchmark.pedantic(wasm2wat, args=(data,), rounds=3, iterations=1, warmup_rounds=1)


def summary_lines():
    if not TIMES:
        return []
    out = [f"wat2wasm of {TARGET_BYTES / 1e6:.0f} MB of text (best round):"]
    out += [f"  {label:10} {seconds * 1000:8.1f} ms" for label, seconds in TIMES.items()]
    if "wasabi" in TIMES and "wasmtime" in TIMES:
        out.append(f"  wasabi / wasmtime time: {TIMES['wasabi'] / TIMES['wasmtime']:.2f}")
    return out


try:
    from conftest import SUMMARIES
    SUMMARIES.append(summary_lines)
except ImportError:                       # run as a script
    pass


def main():
    text = megabyte_of_wat()
    print(f"{len(text) / 1e6:.2f} MB of WAT")
    for label, function in (("wasabi", wat2wasm), ("wasmtime", wasmtime.wat2wasm)):
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            function(text)
            best = min(best, time.perf_counter() - start)
        print(f"  {label:10} {best * 1000:8.1f} ms (best of {ROUNDS})")
    data = wat2wasm(text)
    start = time.perf_counter()
    printed = wasm2wat(data)
    print(f"  wasm2wat of the result: {(time.perf_counter() - start) * 1000:.1f} ms, "
          f"{len(printed) / 1e6:.2f} MB of text")


if __name__ == "__main__":
    main()
