"""A fresh process for bench/test_dylib.py: wasabi.load_dylib of a library, instantiate,
first call; prints JSON timings (seconds; cpu_to_first_call: this process's CPU time, which a busy
machine disturbs less than the wall clock) and the llvmlite modules imported.

    python bench/dylib_worker.py LIBRARY EXPORT ARG
"""
import json
import sys
import time


def main():
    path, export, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
    start = time.perf_counter()
    import wasabi
    imported = time.perf_counter()
    cpu = time.process_time()
    module = wasabi.load_dylib(path)
    loaded = time.perf_counter()
    instance = wasabi.instantiate(module)
    instantiated = time.perf_counter()
    result = getattr(instance.exports, export)(arg)
    called = time.perf_counter()
    cpu = time.process_time() - cpu
    print(json.dumps({"import_wasabi": imported - start, "load_dylib": loaded - imported,
                      "instantiate": instantiated - loaded, "first_call": called - instantiated,
                      "to_first_call": called - imported, "cpu_to_first_call": cpu,
                      "result": result,
                      "llvmlite": sorted(m for m in sys.modules if m.startswith("llvmlite"))}))


if __name__ == "__main__":
    main()
