"""IR text -> object -> linked address: the compiler's one door to llvmlite.binding
(with pipelines.py, which makes the target machines and runs the tiers' passes).

- emit_object(ir_text, tier): parse, verify, optimize and emit one object.
"""
import time

import llvmlite.binding as llvm

from ..errors import CompileError
from .pipelines import optimize, target_machine


def emit_object(ir_text, tier):
    """Parse, verify, optimize and emit; returns (object bytes, timings)."""
    tm = target_machine(tier)
    t0 = time.perf_counter()
    try:
        module = llvm.parse_assembly(ir_text)
        module.verify()
    except RuntimeError as exc:
        raise CompileError(f"internal compiler error: invalid LLVM IR: {exc}") from exc
    t1 = time.perf_counter()
    optimize(module, tm, tier)
    t2 = time.perf_counter()
    obj = tm.emit_object(module)
    t3 = time.perf_counter()
    return obj, {"parse_seconds": t1 - t0, "optimize_seconds": t2 - t1,
                 "codegen_seconds": t3 - t2}
