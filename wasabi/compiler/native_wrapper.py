"""Exports as native function pointers: a C function with the export's signature
and its instance bound (wasabi.runtime.export_pointers gives it as export.address).

- native_wrapper_ir: arguments into slots, then wasabi_native_call (the entry in
  wasabi/_native/native_ptr.c: gate, _setjmp, array thunk); a trap returns 0
  and is kept for wasabi.last_trap().
- pure_wrapper_ir, for exports that can neither touch instance state nor trap
  (pure_closure): the export's body inlined in the wrapper, run with no entry
  when the instance is idle and the stack has room; the entry otherwise.

IR text; compile_native_wrapper links it (jit.py).
"""
from ..abi.builtins import STACK_LIMIT_TPOFF_SYMBOL
from ..abi.traps import TRAP_STACK_EXHAUSTED
from ..abi.vmctx import VMCTX_GATE_OWNER
from ..binary.body import IMMEDIATE_READERS, BodyReader
from ..binary.opcodes import PREFIX_FC, PREFIX_FD, lookup
from ..binary.types import F32, F64, I32, I64
from ..options import CodeOptions
from .irnames import MD_COLD_BRANCH
from .irtypes import llvm_type, return_type
from .module_ir import ModuleContext, assemble_module, func_symbol, sp_register
from .translator import FunctionTranslator
from .ufunc import (ALWAYS_INLINE_GROUP, LOOP_OPCODE, OPAQUE, READ_SP, READ_SP_ASM, _translate,
                    always_inline, has_cycle)

C_TYPE = {I32: "int32_t", I64: "int64_t", F32: "float", F64: "double"}
SLOT = 16


def c_declaration(params, results):
    """The cffi type of a native wrapper, e.g. "int32_t(*)(int32_t, int32_t)"."""
    if len(results) > 1:
        raise TypeError("a native function pointer returns at most one value")
    try:
        ret = C_TYPE[results[0]] if results else "void"
        args = ", ".join(C_TYPE[t] for t in params) or "void"
    except KeyError:
        raise TypeError("only i32, i64, f32 and f64 functions have a native "
                        "function pointer") from None
    return f"{ret}(*)({args})"


# ---- exports as native function pointers ----

# immediates of instructions that reach instance state (memory, globals, tables,
# segments, other instances' code) or code outside the closure
STATEFUL_IMMEDIATES = {"memarg", "memarg_lane", "global", "table", "two_tables",
                       "elem_and_table", "elem", "data", "data_and_zero", "zero_byte",
                       "two_zero_bytes", "call_indirect"}
PURE_MAX_FUNCS = 16
PURE_MAX_BODY_BYTES = 4096
# room below the stack pointer a pure call may use; with every function inlined
# its frame is the wrapper's, far smaller than this
PURE_STACK_MARGIN = 64 * 1024


def _pure_scan(desc, index):
    """(callees, pure): the functions `index` calls and whether its body touches
    no instance state and has no `loop` (so it ends without interrupt polls)."""
    func = desc.funcs[index - desc.num_imported_funcs]
    r = BodyReader(desc.data, func.body_start)
    data = desc.data
    callees = set()
    while r.pos < func.body_end:
        b = data[r.pos]
        r.pos += 1
        op = lookup(None, b) if b not in (PREFIX_FC, PREFIX_FD) else lookup(b, r.u32())
        if op is None or b == LOOP_OPCODE or op.imm in STATEFUL_IMMEDIATES:
            return callees, False
        imm = IMMEDIATE_READERS[op.imm](r)
        if op.imm == "func":
            if op.name != "call" or imm < desc.num_imported_funcs:
                return callees, False          # ref.func, or a call to an import
            callees.add(imm)
    return callees, True


def pure_closure(desc, func_index):
    """The functions of a call to `func_index` when that call can neither touch
    instance state nor trap (except by running out of stack): no memory,
    globals, tables, imports, call_indirect, loops or trapping instructions,
    an acyclic call graph and a small body. None otherwise."""
    first = desc.num_imported_funcs
    graph, todo = {}, [func_index]
    while todo:
        index = todo.pop()
        if index in graph:
            continue
        callees, pure = _pure_scan(desc, index)
        if not pure:
            return None
        graph[index] = callees
        todo.extend(callees)
    size = sum(desc.funcs[i - first].body_end - desc.funcs[i - first].body_start for i in graph)
    if len(graph) > PURE_MAX_FUNCS or size > PURE_MAX_BODY_BYTES or has_cycle(graph):
        return None
    ctx = ModuleContext(desc, CodeOptions(interruptible=False))
    for index in graph:
        tr = FunctionTranslator(ctx, desc.funcs[index - first])
        tr.translate()
        if tr.traps - {TRAP_STACK_EXHAUSTED}:
            return None                        # div, rem, trunc, unreachable
    return [func_index] + sorted(i for i in graph if i != func_index)


def native_wrapper_ir(name, params, results, record):
    """A C function with the export's signature: its arguments go to slots, then
    wasabi_native_call(record, slots) (native_ptr.c) runs the export; on a trap
    (nonzero code) it returns zero."""
    lines = _wrapper_head(name, params, results) + ["entry:"]
    lines += _slow_call(params, results, record)
    lines.append(f'{MD_COLD_BRANCH} = !{{!"branch_weights", i32 1, i32 1048575}}')
    return "\n".join(["declare i32 @wasabi_native_call(ptr, ptr)"] + lines) + "\n"


def _wrapper_head(name, params, results):
    ptys = [llvm_type(t) for t in params]
    rty = llvm_type(results[0]) if results else "void"
    return [f"define {rty} @{name}({', '.join(f'{t} %p{i}' for i, t in enumerate(ptys))}) {{"]


def _slow_call(params, results, record):
    """The body lines of the entry-based call (through slots and the array thunk)."""
    ptys = [llvm_type(t) for t in params]
    rty = llvm_type(results[0]) if results else "void"
    count = max(len(params), len(results), 1)
    lines = [f"  %slots = alloca [{count * SLOT} x i8], align 16"]
    for i, t in enumerate(ptys):
        lines.append(f"  %s{i} = getelementptr inbounds i8, ptr %slots, i64 {i * SLOT}")
        lines.append(f"  store {t} %p{i}, ptr %s{i}, align 8")
    lines.append(f"  %code = call i32 @wasabi_native_call(ptr inttoptr (i64 {record} to ptr), "
                 "ptr %slots)")
    if rty == "void":
        return lines + ["  ret void", "}"]
    zero = "0" if rty.startswith("i") else "0.0"
    return lines + ["  %failed = icmp ne i32 %code, 0",
                    f"  br i1 %failed, label %trapped, label %done, !prof {MD_COLD_BRANCH}",
                    "done:",
                    f"  %r = load {rty}, ptr %slots, align 8",
                    f"  ret {rty} %r",
                    "trapped:",
                    f"  ret {rty} {zero}",
                    "}"]


def pure_wrapper_ir(desc, func_index, closure_indices, name, record, vmctx, triple="",
                    datalayout=""):
    """The wrapper of a pure export (see pure_closure): when the instance is idle
    and the stack has room, the export's inlined body runs right here, with no
    entry (it can neither trap nor touch instance state, so a call that runs
    beside one starting on another thread is as if it had run just before it);
    otherwise the entry-based call of native_wrapper_ir."""
    ctx = ModuleContext(desc, CodeOptions(interruptible=False))
    funcs, bodies = _translate(ctx, desc, closure_indices)
    for k, index in enumerate(closure_indices):
        bodies[k] = always_inline(ctx, bodies[k], index)
    read_sp = READ_SP_ASM["rsp"]
    bodies = [OPAQUE.sub(r"\1 #2", b.replace(READ_SP, read_sp)) for b in bodies]
    ftype = desc.func_type(func_index)
    params, results = ctx.func_sig(func_index)
    rty = return_type(results)
    args = "".join(f", {t} %p{i}" for i, t in enumerate(params))
    wrapper = _wrapper_head(name, ftype.params, ftype.results) + [
        "entry:",
        f"  %owner.p = getelementptr i8, ptr inttoptr (i64 {vmctx} to ptr), "
        f"i64 {VMCTX_GATE_OWNER}",
        "  %owner = load atomic i64, ptr %owner.p monotonic, align 8",
        "  %idle = icmp eq i64 %owner, 0",
        f"  %sp = {read_sp}",
        f'  %sl = call i64 asm "movq %fs:{STACK_LIMIT_TPOFF_SYMBOL}, $0", "=r"() #2',
        f"  %room = sub i64 %sp, {PURE_STACK_MARGIN}",
        "  %roomy = icmp uge i64 %room, %sl",
        f"  %deep = icmp ult i64 %sp, {PURE_STACK_MARGIN}",     # sp - margin wrapped
        "  %shallow = xor i1 %deep, true",
        "  %ok0 = and i1 %roomy, %shallow",
        "  %fast = and i1 %idle, %ok0",
        "  %notfast = xor i1 %fast, true",
        f"  br i1 %notfast, label %slow, label %pure, !prof {MD_COLD_BRANCH}",
        "pure:",
        f"  %pr = call {rty} @{func_symbol(func_index)}(ptr inttoptr (i64 {vmctx} to ptr){args})",
        f"  ret {rty} %pr" if rty != "void" else "  ret void",
        "slow:"] + _slow_call(ftype.params, ftype.results, record)
    bodies.append("\n".join(wrapper))
    text = assemble_module(ctx, bodies, funcs, triple, datalayout)
    text += "declare i32 @wasabi_native_call(ptr, ptr)\n"
    return text + ALWAYS_INLINE_GROUP


def compile_native_wrapper(params, results, record, native_call_address, pure=None):
    """(what keeps the code alive, address, whether it is the pure wrapper);
    `pure` is (desc, func_index, closure, vmctx) for pure_wrapper_ir (x86-64 only:
    its stack check reads the thread's limit through %fs)."""
    name = "wasabi_native"
    if pure is not None and sp_register() == "rsp":
        from .jit import emit_object, link_objects, new_jit
        from .library import runtime_builtin_addresses
        from .pipelines import target_machine
        tm = target_machine("O2")
        desc, index, closure_indices, vmctx = pure
        text = pure_wrapper_ir(desc, index, closure_indices, name, record, vmctx,
                               tm.triple, str(tm.target_data))
        obj, _ = emit_object(text, "O2")
        jit = new_jit()
        imports = dict(runtime_builtin_addresses(), wasabi_native_call=native_call_address)
        tracker, addresses = link_objects(jit, obj, [name], imports)
        return (jit, tracker), addresses[name], True
    from .jit import link_ir, new_jit
    jit = new_jit()
    tracker, addresses = link_ir(jit, native_wrapper_ir(name, params, results, record), "O2",
                                 [name], {"wasabi_native_call": native_call_address})
    return (jit, tracker), addresses[name], False
