"""Executing differential fuzzing of wasabi against wasmtime (library: tests/fuzzexec/).

    python tests/fuzz_exec.py --count 1000000 -j 8 --seed 0 --findings DIR     # overnight
    python tests/fuzz_exec.py --count 200 --scheme rotate --full-every 10       # cheaper mix
    python tests/fuzz_exec.py --check DIR/module.wasm --config T1/guard --plan-seed S [--brief]

Each seed gives a module (binaryen's wasm-opt -ttf mostly; also mutated spec binaries and
clang-built C), run on wasmtime and on wasabi (every tier x bounds mode, or a rotating one);
differences, crashes and hangs are saved under --findings (see tests/fuzzexec/findings.py).
The summary (JSON) goes to stdout; the exit status is 1 when anything was found.
--check runs one file in this process (a crash kills it): status 1 while it still differs.
"""
import argparse
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
# LLVM's verifier checks the IR of every tier, T0's too (compiler/jit.verifies); the
# worker processes inherit it
os.environ.setdefault("WASABI_VERIFY_IR", "1")

from fuzzexec import driver, generate, runner  # noqa: E402


def check(options):
    data = pathlib.Path(options.check).read_bytes()
    configs = [options.config] if options.config else list(runner.CONFIGS)
    result = runner.check_module(data, options.plan_seed, configs)
    kinds = {c: e.get("kind") for c, e in result["configs"].items() if e.get("kind")}
    if options.brief:
        print(" ".join(sorted(set(kinds.values()))) or "same")
    else:
        for config, entry in result["configs"].items():
            print(config, entry.get("kind") or "same", entry.get("what", ""), entry.get("call_entry") or "")
    return 1 if kinds else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100, help="modules (seeds) to run")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--findings", help="directory for findings (default: a temporary one)")
    parser.add_argument("--scheme", choices=("all", "rotate"), default="all")
    parser.add_argument("--full-every", type=int, default=0, help="rotate: all configs every Nth seed")
    parser.add_argument("--generators", default="", help="weights, e.g. ttf=86,spec=7,clang=3,loops=4")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per module")
    parser.add_argument("--check", help="run one .wasm file instead (for replays and reducers)")
    parser.add_argument("--config", help="--check: one config (e.g. T1/guard); default all")
    parser.add_argument("--plan-seed", type=int, default=0, help="--check: the seed of the call plan")
    parser.add_argument("--brief", action="store_true", help="--check: print only the kinds found")
    options = parser.parse_args(argv)
    if options.check:
        return check(options)
    mix = dict(generate.DEFAULT_MIX)
    if options.generators:
        mix = {name: int(weight) for name, weight in (p.split("=") for p in options.generators.split(","))}
    summary = driver.run(options.seed, options.count, options.jobs, options.findings, options.scheme,
                         options.full_every, mix, options.timeout,
                         log=lambda text: print(text, file=sys.stderr, flush=True))
    print(json.dumps(summary, indent=1))
    found = summary["differences"] or summary["crashes"] or summary["hangs"] or summary["harness_error_count"]
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
