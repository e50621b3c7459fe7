"""How many memories one process can hold, by bounds mode (issue 13, limits).

    python bench/many_memories.py [--cap N] [--pages P]

Each mode runs in a child process that makes 1-page memories (kept alive) until
a MemoryError or N of them, and reports the count, the seconds and the address
space and mappings they took:

- guard: the default; each memory reserves 8 GiB (4 GiB + guard) of address space
- explicit: unguarded (code compiled with Options(bounds="explicit")), no maximum
  declared: each reserves 4 GiB, what it may grow to
- explicit+limit: the same in a Store(limits=Limits(memory_pages=P)): each reserves
  only P pages

Measured (this machine: 47-bit address space, vm.max_map_count 65530, 2 cores):
  guard            16,381 memories in 0.34 s, 128 TiB reserved: the address space ends
  explicit         32,685 in 0.40 s, 128 TiB: address space and mappings end together
  explicit+limit   32,682 in 0.50 s, 0.03 TiB (P=16): vm.max_map_count ends it (two
                   mappings per memory: its pages and the reserved rest); the address
                   space would hold millions, so raising that sysctl raises the count
"""
import argparse
import json
import subprocess
import sys
import time

MODES = ("guard", "explicit", "explicit+limit")


def child(mode, cap, pages):
    from wasabi.binary.types import Limits as TypeLimits, MemoryType
    from wasabi.runtime.limits import Limits
    from wasabi.runtime.memory import Memory
    from wasabi.runtime.store import Store
    store = Store(limits=Limits(memory_pages=pages) if mode == "explicit+limit" else None)
    mtype = MemoryType(TypeLimits(1, None), False)
    held, error = [], None
    start = time.perf_counter()
    try:
        while len(held) < cap:
            held.append(Memory(store, mtype, guarded=(mode == "guard")))
    except MemoryError as exc:
        error = str(exc)
    seconds = time.perf_counter() - start
    with open("/proc/self/maps") as f:
        mappings = sum(1 for _ in f)
    reserved = sum(m._native.reserved for m in held)
    print(json.dumps({"mode": mode, "memories": len(held), "seconds": round(seconds, 2),
                      "reserved_TiB": round(reserved / 2 ** 40, 2), "mappings": mappings,
                      "stopped_by": error or f"the cap of {cap}"}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cap", type=int, default=200_000)
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.cap, args.pages)
    for mode in MODES:
        done = subprocess.run([sys.executable, __file__, "--child", mode, "--cap", str(args.cap),
                               "--pages", str(args.pages)], capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr[-2000:])


if __name__ == "__main__":
    main()
