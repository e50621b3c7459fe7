"""A fresh process for bench/test_cache_load.py: loads a cached module and prints JSON timings.

    python bench/cache_load_worker.py wasabi WASM_FILE       (WASABI_CACHE_DIR holds its entry)
    python bench/cache_load_worker.py wasmtime CWASM_FILE    (Module.serialize's bytes)

Times, after the runtime is imported and the file read: the load (wasabi.compile with the
cache on; wasmtime.Module.deserialize), instantiate and the first call of f0, as wall
clock and as this process's CPU time (a busy machine disturbs it less); then the same
load again in this process (`again`: a second module, without the one-time costs of the
first: imports on first use, the first decode); `llvmlite`: whether it was imported.
"""
import json
import sys
import time


def _timed(load):
    wall, cpu = time.perf_counter(), time.process_time()
    result = load()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main():
    engine, path = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    if engine == "wasabi":
        import wasabi
        options = wasabi.Options(cache=True)
        load = lambda: wasabi.compile(data, options)                        # noqa: E731
        instantiate = lambda module: wasabi.instantiate(module)              # noqa: E731
        call = lambda instance: instance.exports.f0(3)                       # noqa: E731
    else:
        import wasmtime
        engine_ = wasmtime.Engine()
        load = lambda: wasmtime.Module.deserialize(engine_, data)            # noqa: E731

        def instantiate(module):
            store = wasmtime.Store(engine_)
            return store, wasmtime.Instance(store, module, [])
        call = lambda pair: pair[1].exports(pair[0])["f0"](pair[0], 3)      # noqa: E731
    module, load_wall, load_cpu = _timed(load)
    instance, inst_wall, inst_cpu = _timed(lambda: instantiate(module))
    _, call_wall, call_cpu = _timed(lambda: call(instance))
    again = min(_timed(load)[1] for _ in range(3))
    code = getattr(getattr(module, "_compiled", None), "code", None)
    print(json.dumps({"load": load_wall, "load_cpu": load_cpu, "instantiate": inst_wall,
                      "first_call": call_wall, "to_first_call": load_wall + inst_wall + call_wall,
                      "to_first_call_cpu": load_cpu + inst_cpu + call_cpu, "again": again,
                      "code": type(code).__name__,
                      "llvmlite": sorted(m for m in sys.modules if m.startswith("llvmlite"))}))


if __name__ == "__main__":
    main()
