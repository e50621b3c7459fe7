"""A fresh worker process for bench/test_pickle.py: unpickles a module and prints timings.

    python bench/pickle_worker.py PAYLOAD_FILE [--no-codegen]

Prints JSON: `first` (the first unpickle in this process: imports on first use
included) and `first_cpu` (its CPU time: a busy machine disturbs it less), `relinked`
(best of 5 more after emptying the registry: loaded again each time) and
`registry_hit` (unpickling it again while the module lives); `code`: the kind of code
(ImageCode: a prelinked image mapped), `llvmlite`: the llvmlite modules imported.
--no-codegen makes any call into the compiler's modes (LLVM optimisation and code
generation) an error.
"""
import gc
import json
import pickle
import sys
import time


def main():
    path, flags = sys.argv[1], sys.argv[2:]
    import wasabi
    from wasabi.api import pickling
    if "--no-codegen" in flags:
        from wasabi.compiler import modes

        def refuse(*args, **kwargs):
            raise AssertionError("LLVM code generation while unpickling")
        modes.compile = refuse
    data = open(path, "rb").read()
    start, cpu = time.perf_counter(), time.process_time()
    module = pickle.loads(data)
    first, first_cpu = time.perf_counter() - start, time.process_time() - cpu
    relinked = []
    for _ in range(5):
        del module
        pickling.REGISTRY.clear()
        gc.collect()
        start = time.perf_counter()
        module = pickle.loads(data)
        relinked.append(time.perf_counter() - start)
    start = time.perf_counter()
    again = pickle.loads(data)
    hit = time.perf_counter() - start
    assert again._compiled is module._compiled and pickling.REGISTRY.links == 6
    wasabi.instantiate(module)         # the linked code instantiates
    print(json.dumps({"first": first, "first_cpu": first_cpu, "relinked": min(relinked),
                      "registry_hit": hit, "wasabi": wasabi.__file__,
                      "code": type(module._compiled.code).__name__,
                      "llvmlite": sorted(m for m in sys.modules if m.startswith("llvmlite"))}))


if __name__ == "__main__":
    main()
