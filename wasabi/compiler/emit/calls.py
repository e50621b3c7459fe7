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
module whose tables can hold only its own functions (own_functions_only), except
in REPL modules, whose records a cell may point at its own function in its own
VMContext (ModuleContext.foreign_records, runtime/cells.py). There
the callee's vmctx is the caller's: no compare, no gate, no second call path (the
compare and the two paths were 3% of the instructions of the SQLite shell).
"""
from ...abi.traps import TRAP_INDIRECT_CALL_MISMATCH, TRAP_UNDEFINED_ELEMENT
from ...binary.types import EXTERN_FUNC, EXTERN_TABLE, REF_TYPES
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


# opcode of ref.func in constant expressions (element segments)
_REF_FUNC = 0xD2


def own_functions_only(desc):
    """Whether every function reference a table of this module can ever hold is one
    of the instance's own defined functions (whose record's vmctx is the instance's).

    A function reference comes from ref.func (of a function declared outside the code:
    element segments, exports, global initialisers), a table, a global, or a parameter
    or result. So: no table imported or exported (the host, another instance, a clone's
    original could put any function there), no global or function type with a reference
    type, no imported function in an element segment or an export (ref.func in code may
    name only such declared functions). Clones and snapshots rebase a table's own
    functions to the new instance (runtime/clone.py, snapshot.py)."""
    if desc.num_imported_tables:
        return False
    if any(e.kind == EXTERN_TABLE or e.kind == EXTERN_FUNC and e.index < desc.num_imported_funcs
           for e in desc.exports):
        return False
    if any(g.valtype in REF_TYPES for g in desc.all_globals):
        return False
    for functype in desc.types:
        valtypes = (*getattr(functype, "params", (REF_TYPES[0],)),
                    *getattr(functype, "results", ()))
        if any(v in REF_TYPES for v in valtypes):
            return False            # (a type that is not a function type: no claim)
    for elem in desc.elems:
        for expr in elem.init:
            if any(instr[0] == _REF_FUNC and instr[1] < desc.num_imported_funcs
                   for instr in expr.instrs):
                return False
    return True


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
