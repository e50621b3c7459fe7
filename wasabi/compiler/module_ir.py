"""The LLVM IR text of a whole module (or of a batch of its functions).

Layout of the text: target header, builtin declarations, the code-range marker
@__wasabi_code_begin, one `define` per wasm function (@wasm_f<index>), the marker
@__wasabi_code_end, intrinsic declarations, attributes and metadata. Functions are
emitted in this order into one .text section, so the markers bracket the code; the
runtime registers [begin, end) for its SIGSEGV handler.
"""
import platform as _platform
import sys as _sys
import time as _time

from ..abi.builtins import llvm_declarations
from ..options import CodeOptions
from .pipelines import features_without_masked_memory, masked_memory_operands
from .irtypes import llvm_types, return_type
from .irnames import CODE_SECTION, SIMD_ATTRIBUTES, code_markers
from ..module.funcrefs import own_functions_only
from .translator import FunctionTranslator, stack_check_function

# bytes of padding at the start of a module's code, after @__wasabi_code_begin: 0 in
# use. A benchmark moves code by it to average over code placement: an interpreter
# loop's time changes by up to 30% with its address alone (bench/pgo_weights.py).
CODE_PADDING = 0

# the stack pointer's name for llvm.read_register, per target architecture
SP_REGISTER = {"x86_64": "rsp", "amd64": "rsp", "aarch64": "sp", "arm64": "sp"}
# the inline-asm constraint of a floating-point register, per target architecture
FP_REGISTER = {"x86_64": "x", "amd64": "x", "aarch64": "w", "arm64": "w"}
# architectures whose stack check is one `cmp %fs:<absolute symbol>, %rsp` (translator)
TLS_SEGMENT_STACK_CHECK = {"x86_64", "amd64"}
# Loops check vmctx->interrupt at their headers only where the runtime cannot
# make a thread poll by signal wherever it runs compiled code (_native/preempt.c:
# x86-64 Linux; tests/test_preempt.py ties the two).
LOOP_POLLS = not (_platform.machine().lower() in ("x86_64", "amd64")
                  and _sys.platform.startswith("linux"))


def func_symbol(index):
    return f"wasm_f{index}"


class ModuleContext:
    """What every function translator needs to know about its module."""

    def __init__(self, desc, code=None, table_calls=False, profile=None,
                 segment_stack_check=None, foreign_records=False):
        code = CodeOptions.of(code)
        self.desc = desc
        self.bounds = code.bounds
        self.tier = code.tier
        # LAZY/REPL: every call goes through its vmctx->funcs record (code, vmctx),
        # so code compiled later, or swapped in, is reached; no direct calls
        self.table_calls = table_calls
        # with table_calls: functions of this build that are called directly all the
        # same (PGO's optimised builds: a hot function and its callees, inlinable)
        self.direct = frozenset()
        # REPL: a defined function's record may be pointed at a cell's function, which
        # runs in the cell's VMContext (runtime/cells.py): its record's vmctx is used
        self.foreign_records = foreign_records
        # call_indirect's callee is always this instance's (no gate): emit/calls.py
        self.own_functions_only = not foreign_records and own_functions_only(desc)
        self.fuel = code.fuel                     # fuel accounting (emit/fuel.py)
        self.interruptible = code.interruptible   # interrupt polls at function entries
        self.loop_polls = code.interruptible and LOOP_POLLS
        # guard mode where a load could become a masked instruction's memory operand,
        # which need not fault (pipelines.masked_memory_operands): loads are frozen
        self.freeze_loads = code.bounds == "guard" and masked_memory_operands()
        # loop versioning (emit/loop_versions.py): where LLVM would vectorise the fast copy
        # and only guard-mode accesses are volatile; a poll or fuel count in the loop
        # would keep it scalar anyway
        self.version_loops = (code.tier == "O2" and code.bounds == "guard" and not code.fuel
                              and not self.loop_polls and bool(desc.all_memories))
        # PGO (modes/tiered.py): a Profile, whose counters the code increments
        # (baseline) or whose counts annotate it (optimised build); None: neither
        self.profile = profile
        self.metadata = []                # extra metadata lines (new_metadata)
        self.num_imported_funcs = desc.num_imported_funcs
        self._type_sigs = {}
        self.intrinsics = {}              # declaration text -> None (ordered set)
        machine = _platform.machine().lower()
        self.fp_register = FP_REGISTER.get(machine, "x")
        # False: the limit's offset comes from the vmctx (AOT shared libraries, whose
        # code runs under the extension or under the standalone runtime: two offsets)
        self.segment_stack_check = (machine in TLS_SEGMENT_STACK_CHECK
                                    if segment_stack_check is None else segment_stack_check)
        # T0: function entries call the module's one stack check function
        # (STACK_CHECK_FUNCTION) instead of checking inline. T0's instruction selector
        # (FastISel) cannot select the check's stack pointer read and inline asm and
        # hands each to SelectionDAG, about 30 us apiece: 10% of a T0 compile
        self.out_of_line_stack_check = code.tier == "T0"

    def type_sig(self, type_index):
        """(LLVM param types, LLVM result types) of a module type."""
        sig = self._type_sigs.get(type_index)
        if sig is None:
            ftype = self.desc.types[type_index]
            sig = (llvm_types(ftype.params), llvm_types(ftype.results))
            self._type_sigs[type_index] = sig
        return sig

    def func_sig(self, func_index):
        return self.type_sig(self.desc.func_type_indices[func_index])

    func_symbol = staticmethod(func_symbol)

    def declare_intrinsic(self, declaration):
        self.intrinsics[declaration] = None

    def new_metadata(self, text):
        """A numbered metadata node of the module: `text`, with "{self}" standing for
        the node itself (distinct nodes name themselves); returns its name."""
        name = f"!{100 + len(self.metadata)}"
        self.metadata.append(f"{name} = " + text.replace("{self}", name))
        return name


def sp_register(machine=None):
    machine = (machine or _platform.machine()).lower()
    try:
        return SP_REGISTER[machine]
    except KeyError:
        raise NotImplementedError(f"no stack pointer register known for {machine}") from None


def _marker(name, padding=0):
    skip = f'  call void asm sideeffect ".skip {padding}", ""()\n' if padding else ""
    return f'define void @{name}() #1 section "{CODE_SECTION}" {{\n{skip}  ret void\n}}'


def _metadata():
    return "\n".join([
        f'!0 = !{{!"{sp_register()}"}}',
        "!1 = !{}",
        '!2 = !{!"branch_weights", i32 1, i32 1048575}',
    ])


class ModuleIR:
    """The translated text plus what the code generator and the stats need."""
    __slots__ = ("text", "symbols", "instructions", "body_bytes", "translate_seconds",
                 "osr_symbols")

    def __init__(self, text, symbols, instructions, body_bytes, translate_seconds,
                 osr_symbols=None):
        self.text = text
        self.symbols = symbols            # func index -> symbol
        self.osr_symbols = osr_symbols or {}   # (func index, loop) -> symbol (PGO)
        self.instructions = instructions
        self.body_bytes = body_bytes
        self.translate_seconds = translate_seconds


def translate_module(desc, code=None, func_indices=None, triple="", datalayout="",
                     table_calls=False, part=0, profile=None, segment_stack_check=None,
                     foreign_records=False):
    """Translate the defined functions (all, or `func_indices`) into one IR module with
    the CodeOptions `code` (`part`: which code markers it gets, see code_markers;
    `segment_stack_check`, `foreign_records`: see ModuleContext)."""
    start = _time.perf_counter()
    ctx = ModuleContext(desc, code, table_calls, profile, segment_stack_check, foreign_records)
    first = desc.num_imported_funcs
    funcs = desc.funcs if func_indices is None else [desc.funcs[i - first] for i in func_indices]
    bodies = []
    instructions = 0
    body_bytes = 0
    called = set()
    for func in funcs:
        translator = FunctionTranslator(ctx, func)
        bodies.append(translator.translate())
        instructions += translator.instructions
        body_bytes += func.body_end - func.body_start
        called |= translator.callees
    text = assemble_module(ctx, bodies, funcs, triple, datalayout, part, called)
    symbols = {f.index: func_symbol(f.index) for f in funcs}
    return ModuleIR(text, symbols, instructions, body_bytes, _time.perf_counter() - start)


def assemble_module(ctx, bodies, funcs, triple="", datalayout="", part=0, called=None):
    """The module text around the translated `bodies` of `funcs` (see the layout above);
    `called`: the defined functions the bodies call (None: declare every one)."""
    defined = {func.index for func in funcs}
    parts = []
    if triple:
        parts.append(f'target triple = "{triple}"')
    if datalayout:
        parts.append(f'target datalayout = "{datalayout}"')
    parts.append(llvm_declarations())
    parts.append("declare i64 @llvm.read_register.i64(metadata)")
    parts.append("declare ptr @llvm.thread.pointer.p0()")
    parts.extend(_external_declarations(ctx, ctx.desc, defined, called))
    begin, end = code_markers(part)
    parts.append(_marker(begin, CODE_PADDING))
    if ctx.out_of_line_stack_check:
        parts.append(stack_check_function(ctx))
    parts.extend(bodies)
    parts.append(_marker(end))
    parts.extend(ctx.intrinsics)
    parts.append("attributes #0 = { nounwind }")
    parts.append("attributes #1 = { noinline nounwind }")
    # the stack check's asm: reads only the thread's limit, which wasm code never writes
    parts.append("attributes #2 = { nounwind memory(none) }")
    if ctx.freeze_loads:            # functions that use SIMD: no AVX-512 (translator)
        parts.append(f'attributes #{SIMD_ATTRIBUTES} = {{ noinline nounwind '
                     f'"target-features"="{features_without_masked_memory()}" }}')
    parts.append(_metadata())
    parts.extend(ctx.metadata)
    return "\n".join(parts) + "\n"


def _external_declarations(ctx, desc, defined, called=None):
    """`declare` lines for this module's functions compiled in another batch (those
    in `called`, when given: a module in parts declares only what each part calls)."""
    out = []
    if ctx.table_calls:
        return out          # nothing names another function's symbol
    for func in desc.funcs:
        if func.index in defined or called is not None and func.index not in called:
            continue
        params, results = ctx.func_sig(func.index)
        plist = "".join(", " + p for p in params)
        out.append(f"declare {return_type(results)} @{func_symbol(func.index)}(ptr{plist})")
    return out
