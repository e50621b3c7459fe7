"""call and call_indirect.

A call to a function defined in this module is a direct call to @wasm_f<index>
(LLVM may inline it); an imported function is called through its record in
vmctx->funcs (code, vmctx), so it may be a host function or another instance's.
In the LAZY and REPL modes (ModuleContext.table_calls) every call goes through
the record, so that code compiled later or swapped in is reached (except calls
between the functions of one PGO optimised build: ModuleContext.direct).
call_indirect reads the table element (a wrt_func*) and checks, in the spec's
order: index < size (undefined element), not null (uninitialized element), the
canonical signature id (indirect call type mismatch).

A call whose callee vmctx is not the caller's (an import, or a funcref of another
instance) enters the callee instance's gate around the call (wasabi_rt_gate_enter/
leave): one thread at a time in an instance, however it is reached. A callee
in the same instance costs one compare, unless it is known to be in the same
instance: a defined function called through its record, and call_indirect in a
module whose tables can hold only its own functions (module/funcrefs.py), except
in REPL modules, whose records a cell may point at its own function in its own
VMContext (ModuleContext.foreign_records, runtime/cells.py). There
the callee's vmctx is the caller's: no compare, no gate, no second call path (the
compare and the two paths were 3% of the instructions of the SQLite shell).
"""
from ...abi.traps import TRAP_INDIRECT_CALL_MISMATCH, TRAP_UNDEFINED_ELEMENT
from ...abi.vmctx import (FUNC_CODE, FUNC_RECORD_SIZE, FUNC_TYPE_ID, FUNC_VMCTX, TABLE_ELEMS,
                          TABLE_SIZE, VMCTX_FUNCS, VMCTX_TABLES, VMCTX_TYPE_IDS)
from ..irtypes import return_type


def emit_call(t, callee, callee_vmctx, params, results):
    """Pop the arguments, call, push the results (a struct return is split)."""
    args = t.pop_args(len(params))
    rtype = return_type(results)
    # notail: a tail call would turn unbounded recursion into a loop (or a jmp) that
    # never reaches the stack check; wasm must trap with "call stack exhausted"
    text = f"notail call {rtype} {callee}(ptr {callee_vmctx}{args})"
    t.mem_cache = None
    foreign = None if callee_vmctx == "%vmctx" else t.inst(f"icmp ne ptr {callee_vmctx}, %vmctx")
    if foreign:
        _if_then(t, foreign, f"call void @wasabi_rt_gate_enter(ptr {callee_vmctx})")
    agg = t.inst(text) if results else t.emit(text)
    if foreign:
        _if_then(t, foreign, f"call void @wasabi_rt_gate_leave(ptr {callee_vmctx})")
    if len(results) == 1:
        t.push(agg, results[0])
    elif results:
        for i, ty in enumerate(results):
            t.push(t.inst(f"extractvalue {rtype} {agg}, {i}"), ty)


def _if_then(t, cond, line):
    """Run `line` in a block of its own when the i1 `cond` is true."""
    then, cont = t.new_label(), t.new_label()
    t.emit(f"br i1 {cond}, label %{then}, label %{cont}")
    t.start_block(then)
    t.emit(line)
    t.emit(f"br label %{cont}")
    t.start_block(cont)


def record_code_and_vmctx(t, record):
    code = t.inst(f"load ptr, ptr {record}")                     # FUNC_CODE is 0
    vmctx_ptr = t.inst(f"getelementptr inbounds i8, ptr {record}, i64 {FUNC_VMCTX}")
    return code, t.inst(f"load ptr, ptr {vmctx_ptr}")


def call(t, func_index, op):
    params, results = t.m.func_sig(func_index)
    if func_index >= t.m.num_imported_funcs:
        t.callees.add(func_index)
    if func_index < t.m.num_imported_funcs or (t.m.table_calls
                                                and func_index not in t.m.direct):
        funcs = t.vmctx_ptr(VMCTX_FUNCS)
        record = t.inst(f"getelementptr inbounds i8, ptr {funcs}, "
                        f"i64 {func_index * FUNC_RECORD_SIZE}")
        if func_index < t.m.num_imported_funcs or t.m.foreign_records:
            code, callee_vmctx = record_code_and_vmctx(t, record)
        else:               # a defined function's record holds this instance's vmctx
            code, callee_vmctx = t.inst(f"load ptr, ptr {record}"), "%vmctx"
        emit_call(t, code, callee_vmctx, params, results)
    else:
        emit_call(t, "@" + t.m.func_symbol(func_index), "%vmctx", params, results)


def table_record(t, table_index):
    return t.array_entry(VMCTX_TABLES, table_index, "tab")


def call_indirect(t, imm, op):
    type_index, table_index = imm
    params, results = t.m.type_sig(type_index)
    index = t.pop_value()
    table = table_record(t, table_index)
    size_ptr = t.inst(f"getelementptr inbounds i8, ptr {table}, i64 {TABLE_SIZE}")
    size = t.inst(f"load i64, ptr {size_ptr}")
    index64 = t.inst(f"zext i32 {index} to i64")
    t.trap_if(t.inst(f"icmp uge i64 {index64}, {size}"), TRAP_UNDEFINED_ELEMENT)
    elems = t.inst(f"load ptr, ptr {table}")                     # TABLE_ELEMS is 0
    slot = t.inst(f"getelementptr inbounds ptr, ptr {elems}, i64 {index64}")
    record = t.inst(f"load ptr, ptr {slot}")
    # a null entry's trap names its index ("uninitialized element 2")
    t.trap_if_calling(t.inst(f"icmp eq ptr {record}, null"),
                      f"call void @wasabi_rt_trap_element(i32 {index})")
    type_id_ptr = t.inst(f"getelementptr inbounds i8, ptr {record}, i64 {FUNC_TYPE_ID}")
    type_id = t.inst(f"load i64, ptr {type_id_ptr}")
    expected = t.array_entry(VMCTX_TYPE_IDS, type_index, "tid", "i64")
    t.trap_if(t.inst(f"icmp ne i64 {type_id}, {expected}"), TRAP_INDIRECT_CALL_MISMATCH)
    if t.m.own_functions_only:
        code, callee_vmctx = t.inst(f"load ptr, ptr {record}"), "%vmctx"
    else:
        code, callee_vmctx = record_code_and_vmctx(t, record)
    emit_call(t, code, callee_vmctx, params, results)


HANDLERS = {"call": call, "call_indirect": call_indirect}

assert FUNC_CODE == 0 and TABLE_ELEMS == 0
