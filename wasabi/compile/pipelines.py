"""LLVM setup, target machines and the optimization tiers.

Tiers (measured in notes/llvmlite-findings.md §2):
- T0: no IR passes, codegen O0 (FastISel): cheapest code, slowest to run.
- T1: SROA + instcombine + simplifycfg (+ a second instcombine/simplifycfg round
  after SROA exposed constants), codegen O1: scalar code about as fast as O2 at a
  fraction of its compile time. The default.
- O2: the full O2 pipeline and codegen O2 (unrolling, vectorization).

Objects are emitted with reloc="pic" and the small code model, so the same bytes
load into the JIT, a disk cache, or an AOT link.
"""
import threading

import llvmlite.binding as llvm

TIERS = ("T0", "T1", "O2")
CODEGEN_LEVEL = {"T0": 0, "T1": 1, "O2": 2}

_lock = threading.Lock()
_machines = {}
_initialized = False


def initialize():
    global _initialized
    with _lock:
        if not _initialized:
            llvm.initialize_native_target()
            llvm.initialize_native_asmprinter()
            llvm.initialize_native_asmparser()     # the stack check's inline asm (translator)
            _initialized = True


def target_machine(tier):
    """The host target machine for a tier (cached; CPU name and features included)."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, not {tier!r}")
    initialize()
    with _lock:
        tm = _machines.get(tier)
        if tm is None:
            target = llvm.Target.from_triple(llvm.get_process_triple())
            tm = target.create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                opt=CODEGEN_LEVEL[tier], reloc="pic", codemodel="default")
            _machines[tier] = tm
        return tm


def optimize(module, tm, tier):
    """Run the tier's IR pipeline on a parsed llvmlite module (in place)."""
    if tier == "T0":
        return
    if tier == "T1":
        pb = llvm.create_pass_builder(tm, llvm.create_pipeline_tuning_options(speed_level=1))
        mpm = llvm.create_new_module_pass_manager()
        mpm.add_sroa_pass()
        mpm.add_instruction_combine_pass()
        mpm.add_simplify_cfg_pass()
        mpm.run(module, pb)
        return
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)
