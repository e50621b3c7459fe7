"""Executing differential fuzzing: wasabi (every tier, both bounds modes) against wasmtime.

    generate.py  modules from a seed: binaryen's `wasm-opt -ttf`, mutated spec modules, clang
    simd_denan.py  NaN lanes of float SIMD results -> +0 (binaryen 108's --denan skips v128)
    wasmbin.py   a small binary reader/writer: adds the probe functions that make state comparable
    plan.py      the calls to make (edge-case and random arguments), from the module and a seed
    engines.py   one run of a plan on wasmtime (the reference) or on wasabi (one config)
    compare.py   outcome equality (any NaN equals any NaN; stack exhaustion ends the comparison)
    runner.py    one module: reference run, wasabi per config, the first difference of each
    findings.py  reproducers on disk (module.wasm, module.wat, finding.json, replay command)
    worker.py    the child process: runs jobs, so that a crash kills it and not the driver
    driver.py    the parent: -j workers, crash and hang handling, findings on disk

The command line is tests/fuzz_exec.py; the tests are tests/test_fuzz_exec.py.
"""
