"""LLVM setup, target machines and the optimization tiers (with jit.py, the only
modules that use llvmlite.binding).

Tiers (measured in notes/llvmlite-findings.md §2):
- T0: no IR passes, codegen O0 (FastISel): cheapest code, slowest to run.
- T1: SROA + instcombine + simplifycfg (+ a second instcombine/simplifycfg round
  after SROA exposed constants), codegen O1: scalar code about as fast as O2 at a
  fraction of its compile time. The default.
- O2: the full O2 pipeline and codegen O2 (unrolling, vectorization).

Objects are emitted with reloc="pic" and the small code model, so the same bytes
load into the JIT, a disk cache, or an AOT link.
"""
import functools as _functools
import threading as _threading

import llvmlite.binding as _llvm

TIERS = ("T0", "T1", "O2")
CODEGEN_LEVEL = {"T0": 0, "T1": 1, "O2": 2}

_lock = _threading.Lock()
_machines = {}
_initialized = False


def initialize():
    global _initialized
    with _lock:
        if not _initialized:
            _llvm.initialize_native_target()
            _llvm.initialize_native_asmprinter()
            _llvm.initialize_native_asmparser()     # the stack check's inline asm (translator)
            # x86's cmov converter turns a cmov with a memory operand into a branch and
            # moves the load under it: the access, the bounds check in guard mode, would
            # then run only on one side of a wasm `select` (volatile does not stop it).
            # A process-wide LLVM option: it only ever makes cmovs stay cmovs.
            _llvm.set_option("wasabi", "-x86-cmov-converter=false")
            _initialized = True


# Innermost loops' header alignment in bytes, per build: x86's default (16), and a cache
# line in PGO's optimised builds (their functions are hot, and LLVM's block placement
# skips loops the profile's weights make cold, and loops whose header a hot edge falls
# into). An interpreter's dispatch loop (k_interp) runs 13-14% faster 64-byte aligned,
# the other kernels the same (bench/pgo_weights.py); unprofiled builds (a whole module,
# SQLite's thousands of loops) do not pay the padding for loops that never run.
LOOP_ALIGNMENT = 16
HOT_LOOP_ALIGNMENT = 64
# x86's option, read at each function's code generation (a process-wide setting: a build
# racing another on a second thread may get the other's alignment, which only moves code)
_X86_INNERMOST_LOOP_ALIGNMENT = "-x86-experimental-pref-innermost-loop-alignment"
_loop_alignment = None          # what the option was last set to (None: never, or not x86)


def align_innermost_loops(alignment):
    """Have the next code generation align innermost loop headers to `alignment` bytes
    (a power of two) on x86-64; elsewhere nothing (the target's default). Setting the
    option costs ~40 us: it is set only when it changes (a lazy module emits once per
    function, almost always unprofiled)."""
    global _loop_alignment
    with _lock:
        if alignment == _loop_alignment or not _is_x86_64():
            return
        _llvm.set_option("wasabi", f"{_X86_INNERMOST_LOOP_ALIGNMENT}={alignment.bit_length() - 1}")
        _loop_alignment = alignment


@_functools.cache
def _is_x86_64():
    return _llvm.get_process_triple().startswith(("x86_64", "amd64"))


# the feature families that give x86 instructions with a masked memory operand (a
# masked-off lane's fault is suppressed): emit/memory.py keeps guard-mode loads out of them
MASKED_MEMORY_FEATURES = ("avx512", "avx10")


def target_features():
    """The host's CPU features as the code generator gets them."""
    return _llvm.get_host_cpu_features().flatten()


@_functools.cache
def features_without_masked_memory():
    """The host's feature string with AVX-512 (and AVX10) off: the `target-features` of
    functions that use SIMD (translator: their loads are not frozen, which costs an
    instruction per extending load: bench/test_simd.py's k_blur ran 1.5x slower)."""
    features = _llvm.get_host_cpu_features()
    for name in list(features):
        if name.startswith(MASKED_MEMORY_FEATURES + ("evex512",)):
            features[name] = False
    return features.flatten()


@_functools.cache
def masked_memory_operands():
    """Whether the code generator may fold a load into a masked instruction: with
    AVX-512, x86 isel folds a select whose arm is a load (or an operation on one)
    into a masked instruction with a memory operand, and a masked-off lane suppresses
    the fault (`(select (f64.load oob) (f64.const 0) cond)` then did not trap).
    Guard-page bounds rely on every executed access faulting, so guard-mode loads are
    frozen there (emit/memory.py): isel cannot fold a load through a freeze; except in
    functions that use SIMD, which are compiled without AVX-512 and never inlined
    (translator.FunctionTranslator.attributes)."""
    features = _llvm.get_host_cpu_features()
    return any(on and name.startswith(MASKED_MEMORY_FEATURES) for name, on in features.items())


def llvm_version():
    """The version of LLVM in llvmlite, as "major.minor.patch"."""
    return ".".join(map(str, _llvm.llvm_version_info))


def host_identity():
    """[LLVM version, process triple, CPU name, features]: what the machine code depends
    on besides wasabi itself (the code cache keys compiled code with it)."""
    return [llvm_version(), _llvm.get_process_triple(), _llvm.get_host_cpu_name(),
            target_features()]


def target_machine(tier):
    """The host target machine for a tier (cached; CPU name and features included)."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, not {tier!r}")
    initialize()
    with _lock:
        tm = _machines.get(tier)
        if tm is None:
            target = _llvm.Target.from_triple(_llvm.get_process_triple())
            tm = target.create_target_machine(
                cpu=_llvm.get_host_cpu_name(), features=target_features(),
                opt=CODEGEN_LEVEL[tier], reloc="pic", codemodel="default")
            _machines[tier] = tm
        return tm


def optimize(module, tm, tier):
    """Run the tier's IR pipeline on a parsed llvmlite module (in place)."""
    if tier == "T0":
        return
    if tier == "T1":
        pb = _llvm.create_pass_builder(tm, _llvm.create_pipeline_tuning_options(speed_level=1))
        mpm = _llvm.create_new_module_pass_manager()
        mpm.add_sroa_pass()
        mpm.add_instruction_combine_pass()
        mpm.add_simplify_cfg_pass()
        mpm.run(module, pb)
        return
    pto = _llvm.create_pipeline_tuning_options(speed_level=2)
    pb = _llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(module, pb)
