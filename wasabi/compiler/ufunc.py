"""Strided loops for numpy ufuncs, compiled with the export's body inlined.

loop_module_ir(desc, func_index, signatures, ...) builds one LLVM module with

- the export and every defined function it reaches by direct calls, translated
  as the module's code is (same bounds, fuel and interrupt options), the export
  marked alwaysinline (its callees too when none recurses);
- per dtype signature, `void @wasabi_ufunc_<k>(ptr vmctx, ptr args, i64 n,
  ptr steps, ptr progress)`: numpy's strided inner loop (args/steps as numpy
  passes them) that calls the export once per element, in order.

Each loop has specialised copies of its body for every input being contiguous
or a broadcast scalar (step 0) with contiguous outputs -- the shapes numpy
hands over for `f(x, 5)` or `f(x, y)` -- and, for those, one more where the
output is an input (`out=x`); LLVM's O2 pipeline inlines and vectorises them.
Anything else runs a general strided copy.

What would stop vectorisation is kept out of the element loop:
- the stack check: the loop checks once at its entry; the inlined bodies'
  checks are dropped (without recursion the closure is one frame, the loop's);
- *progress, the index of the running element that names a trapping element
  (a trap _longjmps out of the loop): stored after every element (volatile
  where a guard-page fault can happen) only when the code can trap at all
  (trap_free); otherwise it stays 0, which is where the entry's stack check traps.

Functions reached through call_indirect or imports run the instance's own code
(through its vmctx records), so they keep their behaviour, and a function body
with a `loop` keeps its interrupt polls. Without loops, polls inside the
(inlined) body are left out: they would stop vectorisation; the runtime polls
the interrupt word between chunks of elements instead (wasabi/_native/native_ptr.c).

compile_loops() links the module (jit.py, library.py). Exports as native
function pointers are in native_wrapper.py.
"""
import re as _re
import types as _types

from ..binary.body import IMMEDIATE_READERS, BodyReader
from ..binary.opcodes import PREFIX_FC, PREFIX_FD, lookup
from ..binary.types import F32, F64, I32, I64
from ..options import CodeOptions
from .irnames import ALWAYS_INLINE_ATTRIBUTES, CODE_SECTION
from .irtypes import function_signature, return_type
from .module_ir import ModuleContext, assemble_module, func_symbol, sp_register
from .translator import FunctionTranslator

# numpy dtype name -> (LLVM type of an element, size)
DTYPE_LLVM = {"int32": ("i32", 4), "int64": ("i64", 8), "float32": ("float", 4),
              "float64": ("double", 8)}
WASM_DTYPE = {I32: "int32", I64: "int64", F32: "float32", F64: "float64"}
LOOP_OPCODE = 0x03
# below this many inputs, every contiguous/scalar combination gets its own copy
MAX_SPECIALISED_INPUTS = 3


def loop_symbol(k):
    return f"wasabi_ufunc_{k}"


def signatures_for(params, results):
    """The dtype signatures a ufunc of this wasm type gets, best first: the exact
    one, then (when it has i32 parameters) one taking int64 for them, truncated
    as wasm's i32.wrap_i64 does, so that int64 arrays (numpy's default integers)
    find a loop under numpy's safe input casting."""
    exact = ([WASM_DTYPE[t] for t in params], [WASM_DTYPE[t] for t in results])
    sigs = [exact]
    if I32 in params:
        wide = ["int64" if t == I32 else WASM_DTYPE[t] for t in params]
        sigs.append((wide, exact[1]))
    return sigs


def _translate(ctx, desc, indices):
    first = desc.num_imported_funcs
    funcs = [desc.funcs[i - first] for i in indices]
    bodies = [FunctionTranslator(ctx, f).translate() for f in funcs]
    return funcs, bodies


def _scan(desc, index):
    """(has a `loop`, has a memory load/store) for function `index`'s body."""
    func = desc.funcs[index - desc.num_imported_funcs]
    r = BodyReader(desc.data, func.body_start)
    data = desc.data
    has_loop = has_memory = False
    while r.pos < func.body_end:
        b = data[r.pos]
        r.pos += 1
        op = lookup(None, b) if b not in (PREFIX_FC, PREFIX_FD) else lookup(b, r.u32())
        if op is None:
            return True, True   # unknown to the scan: assume the worst
        has_loop = has_loop or b == LOOP_OPCODE
        has_memory = has_memory or op.imm in ("memarg", "memarg_lane")
        IMMEDIATE_READERS[op.imm](r)
    return has_loop, has_memory


def closure(desc, func_index):
    """(defined functions reached by direct calls from func_index, itself first;
    whether any contains a loop; whether any accesses memory directly; the call
    graph {index: callees})."""
    first = desc.num_imported_funcs
    ctx = ModuleContext(desc, CodeOptions(interruptible=False))
    order, seen, todo, graph = [], {func_index}, [func_index], {}
    while todo:
        index = todo.pop()
        order.append(index)
        tr = FunctionTranslator(ctx, desc.funcs[index - first])
        tr.translate()
        graph[index] = {c for c in tr.callees if c >= first}
        for callee in sorted(graph[index]):
            if callee not in seen:
                seen.add(callee)
                todo.append(callee)
    scans = [_scan(desc, i) for i in order]
    return order, any(s[0] for s in scans), any(s[1] for s in scans), graph


def _reachable(graph, start):
    """The functions reached from `start` (a set of indices) in the call graph."""
    seen, todo = set(), list(start)
    while todo:
        index = todo.pop()
        if index not in seen:
            seen.add(index)
            todo.extend(graph.get(index, ()))
    return seen


def has_cycle(graph):
    """Whether the call graph {index: callees} has a cycle (recursion)."""
    state = {}

    def visit(node):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False
    return any(node not in state and visit(node) for node in graph)


# The stack check reads the stack pointer with llvm.read_register, which LLVM
# treats as reading memory: inlined into the element loop it stays in every
# iteration and stops vectorisation. In this module the read is an asm without
# memory effects instead; the stack pointer does not change between iterations
# (wasm frames have static allocas only), so LLVM may hoist it and the check
# with it out of the loop, and in a function that is not inlined it still runs
# at that function's entry.
READ_SP = "call i64 @llvm.read_register.i64(metadata !0)"
READ_SP_ASM = {"rsp": 'call i64 asm "movq %rsp, $0", "=r"() #2',
               "sp": 'call i64 asm "mov $0, sp", "=r"() #2'}

# the translator's opaque() values (an empty asm that hides a constant or value
# from folding) get the same no-memory attribute, so a hidden constant is
# hoisted out of the element loop instead of blocking its vectorisation
OPAQUE = _re.compile(r'^(  %\S+ = call \S+ asm "", "=\w,0"\([^)]*\))$', _re.M)


# the translator's entry stack check (translator.py _stack_check): its branch
STACK_BRANCH = _re.compile(r"^  br i1 %sov, label %stack\.slow, label %(\S+), !prof \S+\n"
                          r"stack\.slow:\n  call (?:\w+cc )?void @wasabi_rt_stack_slow\(ptr \S+\)\n"
                          r"  br label %\S+$", _re.M)
CALL_TARGET = _re.compile(r"\bcall\b.*?(\basm\s|@[\w.$]+\(|%[\w.]+\()")


def strip_stack_check(body):
    """The function body without its entry stack check (the loop checks once,
    at its own entry: an inlined body's frame is the loop's frame)."""
    return STACK_BRANCH.sub(r"  br label %\1", body, count=1)


def trap_free(bodies, symbols):
    """Whether code of these bodies (stack checks stripped) can neither trap nor
    run foreign code: calls only inline asm, LLVM intrinsics and `symbols`."""
    for target in CALL_TARGET.findall("\n".join(bodies)):
        if target.startswith("asm") or target.startswith("@llvm."):
            continue
        if target[:-1] not in symbols:
            return False
    return True


def loop_module_ir(desc, func_index, signatures, *, bounds="guard", fuel=False,
                   interruptible=True, table_calls=False, triple="", datalayout=""):
    """The IR text of the loops (see the module doc); returns (text, [symbols])."""
    indices, has_loop, has_memory, graph = closure(desc, func_index)
    if table_calls:
        indices = [func_index]        # callees through the instance's records
    polled = interruptible and (has_loop or fuel)
    ctx = ModuleContext(desc, CodeOptions(bounds=bounds, fuel=fuel, interruptible=polled),
                        table_calls=table_calls)
    funcs, bodies = _translate(ctx, desc, indices)
    # an acyclic closure is inlined whole into the loop: no function of it needs
    # its own stack check, the loop's (at its entry) covers the one frame (with
    # recursion every check stays, the export's too: it may be called again)
    flat = not table_calls and not has_cycle(graph)
    for k, index in enumerate(indices):
        if flat or (k == 0 and index not in _reachable(graph, graph[index])):
            bodies[k] = strip_stack_check(always_inline(ctx, bodies[k], index))
    params, results = ctx.func_sig(func_index)
    read_sp = READ_SP_ASM.get(sp_register())
    if read_sp:
        bodies = [b.replace(READ_SP, read_sp) for b in bodies]
    bodies = [OPAQUE.sub(r"\1 #2", b) for b in bodies]
    # Where a trap can happen, *progress follows every element (a guard-page
    # fault is a volatile load or store: the index must be in memory before it,
    # which only a volatile store is guaranteed to be). Code that cannot trap
    # needs no progress at all, and without those stores the loop vectorises.
    exact = not (flat and not has_memory
                 and trap_free(bodies, {f"@{func_symbol(i)}" for i in indices}))
    volatile = has_memory and bounds == "guard"
    check = _entry_stack_check(ctx, read_sp)
    symbols = []
    for k, (ins, outs) in enumerate(signatures):
        bodies.append(strided_loop(loop_symbol(k), func_index, params, results, ins, outs,
                                   volatile, exact, check))
        symbols.append(loop_symbol(k))
    text = assemble_module(ctx, bodies, funcs, triple, datalayout)
    return text + ALWAYS_INLINE_GROUP, symbols


# the attribute group always_inline moves functions to (module_ir.py has #0-#2 and #4)
ALWAYS_INLINE_GROUP = f"attributes #{ALWAYS_INLINE_ATTRIBUTES} = {{ alwaysinline nounwind }}\n"


def always_inline(ctx, body, index):
    """The IR of function `index` (`body`) in the always-inline attribute group. Only a
    body in the plain group (#0) moves: one that uses SIMD is in #4 (noinline, with
    target features of its own: translator.FunctionTranslator.attributes) and stays a
    call, which keeps its frozen guard-mode loads in a frame of their own."""
    params, results = ctx.func_sig(index)
    header = function_signature(func_symbol(index), params, results)
    return body.replace(f"{header} #0 ", f"{header} #{ALWAYS_INLINE_ATTRIBUTES} ", 1)


def _entry_stack_check(ctx, read_sp):
    """The loop's one stack check (the translator's own, translator.py), before
    any element: its trap names element 0."""
    lines = FunctionTranslator._stack_check(_types.SimpleNamespace(m=ctx), then="checked")
    lines = [line.replace(READ_SP, read_sp) if read_sp else line for line in lines]
    return lines + ["checked:"]


def _load(ptr, dtype, wasm_ty, tag):
    """Lines loading one element at `ptr` as the wasm type; its value name."""
    ty, _ = DTYPE_LLVM[dtype]
    lines = [f"  %{tag}.r = load {ty}, ptr {ptr}, align 1"]
    if ty == wasm_ty:
        return lines, f"%{tag}.r"
    lines.append(f"  %{tag} = trunc {ty} %{tag}.r to {wasm_ty}")   # int64 -> i32
    return lines, f"%{tag}"


def _variant(name, v, kinds, fi, params, results, ins, outs, volatile, exact, alias=None):
    """One copy of the element loop: kinds[k] is 'c' (contiguous), 's' (scalar,
    step 0) or 'g' (any step) for input k; outputs are 'c' unless all are 'g'.
    alias {r: k}: output r is input k (the same pointer, checked by the caller)."""
    nin = len(ins)
    pre, loop, lines = f"v{v}.pre", f"v{v}.loop", []
    lines.append(f"{pre}:")
    args = []
    for k, kind in enumerate(kinds):
        if kind == "s":
            load, value = _load(f"%a{k}", ins[k], params[k], f"v{v}.x{k}")
            lines += load
            args.append(value)
    lines.append(f"  br label %{loop}")
    lines.append(f"{loop}:")
    lines.append(f"  %v{v}.i = phi i64 [0, %{pre}], [%v{v}.next, %{loop}]")
    call_args, sk = [], 0
    for k, kind in enumerate(kinds):
        if kind == "s":
            call_args.append(args[sk])
            sk += 1
            continue
        ptr = _element_ptr(lines, v, f"a{k}", ins[k], kind, k)
        load, value = _load(ptr, ins[k], params[k], f"v{v}.x{k}.e")
        lines += load
        call_args.append(value)
    ret = return_type(results)
    arglist = "".join(f", {t} {a}" for t, a in zip(params, call_args))
    call = f"call {ret} @{func_symbol(fi)}(ptr %vmctx{arglist})"
    out_kind = "g" if all(kind == "g" for kind in kinds) else "c"
    if not results:
        lines.append(f"  {call}")
    else:
        lines.append(f"  %v{v}.r = {call}")
    for r, rty in enumerate(results):
        value = f"%v{v}.r"
        if len(results) > 1:
            value = f"%v{v}.r{r}"
            lines.append(f"  {value} = extractvalue {ret} %v{v}.r, {r}")
        base = f"a{alias[r]}" if alias and r in alias else f"a{nin + r}"
        ptr = _element_ptr(lines, v, base, outs[r], out_kind, nin + r)
        lines.append(f"  store {rty} {value}, ptr {ptr}, align 1")
    lines.append(f"  %v{v}.next = add nuw nsw i64 %v{v}.i, 1")
    if exact:
        # *progress holds the index of the element running: 0 before the loop,
        # i + 1 after element i
        lines.append(f"  store{' volatile' if volatile else ''} i64 %v{v}.next, ptr %progress")
    lines.append(f"  %v{v}.done = icmp eq i64 %v{v}.next, %n")
    lines.append(f"  br i1 %v{v}.done, label %exit, label %{loop}")
    return lines


def _element_ptr(lines, v, base, dtype, kind, k):
    ty, _ = DTYPE_LLVM[dtype]
    name = f"%v{v}.p{k}"
    if kind == "c":
        lines.append(f"  {name} = getelementptr inbounds {ty}, ptr %{base}, i64 %v{v}.i")
    else:
        lines.append(f"  {name}.off = mul i64 %v{v}.i, %s{k}")
        lines.append(f"  {name} = getelementptr inbounds i8, ptr %{base}, i64 {name}.off")
    return name


def _in_place_input(kinds, ins, outs):
    """The contiguous input the first output may be in place of (same element
    type), or None."""
    for k, kind in enumerate(kinds):
        if outs and kind == "c" and DTYPE_LLVM[ins[k]] == DTYPE_LLVM[outs[0]]:
            return k
    return None


def _kinds(nin):
    """The specialised input kinds, most common first, then the general copy."""
    if nin > MAX_SPECIALISED_INPUTS:
        return [("c",) * nin]
    combos = [()]
    for _ in range(nin):
        combos = [c + (kind,) for c in combos for kind in ("c", "s")]
    return [c for c in combos if "c" in c or nin == 0]


def strided_loop(name, fi, params, results, ins, outs, volatile=False, exact=True, check=()):
    """The define text of one dtype signature's loop (see the module doc)."""
    nin, nout = len(ins), len(outs)
    dtypes = list(ins) + list(outs)
    lines = [f'define void @{name}(ptr %vmctx, ptr noalias %args, i64 %n, '
             f'ptr noalias %steps, ptr noalias %progress) #0 section "{CODE_SECTION}" {{',
             "entry:"]
    for k in range(nin + nout):
        lines.append(f"  %a{k}.p = getelementptr inbounds ptr, ptr %args, i64 {k}")
        lines.append(f"  %a{k} = load ptr, ptr %a{k}.p")
        lines.append(f"  %s{k}.p = getelementptr inbounds i64, ptr %steps, i64 {k}")
        lines.append(f"  %s{k} = load i64, ptr %s{k}.p")
    lines.append(f"  store{' volatile' if volatile else ''} i64 0, ptr %progress")
    lines += check
    lines.append("  %empty = icmp sle i64 %n, 0")
    lines.append("  br i1 %empty, label %exit, label %dispatch")
    lines.append("dispatch:")
    # outputs contiguous?
    conds = []
    for k in range(nin, nin + nout):
        conds.append(_step_is(lines, k, DTYPE_LLVM[dtypes[k]][1]))
    variants = _kinds(nin)
    body = []
    for v, kinds in enumerate(variants):
        tests = list(conds)
        for k, kind in enumerate(kinds):
            tests.append(_step_is(lines, k, DTYPE_LLVM[ins[k]][1] if kind == "c" else 0))
        test = _all(lines, tests, f"t{v}")
        twin = None if exact else _in_place_input(kinds, ins, outs)
        if twin is None:
            lines.append(f"  br i1 {test}, label %v{v}.pre, label %d{v}")
        else:
            # in place (out= an input, as `f(x, 5, out=x)`): a copy that writes
            # through the input's own pointer, so LLVM sees element i read, then
            # written, and vectorises with no overlap check (which would fail)
            lines.append(f"  br i1 {test}, label %w{v}, label %d{v}")
            lines.append(f"w{v}:")
            lines.append(f"  %same{v} = icmp eq ptr %a{nin}, %a{twin}")
            lines.append(f"  br i1 %same{v}, label %v{v}i.pre, label %v{v}.pre")
            body += _variant(name, f"{v}i", kinds, fi, params, results, ins, outs, volatile,
                             exact, alias={0: twin})
        lines.append(f"d{v}:")
        body += _variant(name, v, kinds, fi, params, results, ins, outs, volatile, exact)
    g = len(variants)
    lines.append(f"  br label %v{g}.pre")
    body += _variant(name, g, ("g",) * nin, fi, params, results, ins, outs, volatile, exact)
    lines += body
    lines += ["exit:", "  ret void", "}"]
    return "\n".join(lines)



def _step_is(lines, k, size):
    name = f"%s{k}.is{size}"
    text = f"  {name} = icmp eq i64 %s{k}, {size}"
    if text not in lines:
        lines.append(text)
    return name


def _all(lines, tests, tag):
    if not tests:
        return "true"
    acc = tests[0]
    for j, t in enumerate(tests[1:]):
        lines.append(f"  %{tag}.{j} = and i1 {acc}, {t}")
        acc = f"%{tag}.{j}"
    return acc


# ---- compiled libraries ----

def compile_loops(desc, func_index, signatures, options):
    """Compile the loops (O2, the module's bounds/fuel/interrupt options) into a
    JitLibrary of their own, its code range registered with the fault handler;
    returns (library, [loop addresses])."""
    from .jit import emit_object
    from .library import JitLibrary
    from .pipelines import target_machine
    tm = target_machine("O2")
    text, symbols = loop_module_ir(
        desc, func_index, signatures, bounds=options.get("bounds", "guard"),
        fuel=options.get("fuel", False), interruptible=options.get("interruptible", True),
        table_calls=options.get("table_calls", False), triple=tm.triple,
        datalayout=str(tm.target_data))
    obj, timings = emit_object(text, "O2")
    library = JitLibrary()
    addresses = library.link([obj], list(symbols))
    return library, [addresses[symbol] for symbol in symbols]
