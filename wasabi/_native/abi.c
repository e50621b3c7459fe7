/* Tables that let Python check the C layout against wasabi/abi (tests/test_abi.py)
 * and hand the builtins' addresses to the JIT linker. */
#include <stddef.h>

#include "builtins.h"
#include "runtime.h"
#include "abi.h"

const wrt_abi_value wrt_abi_layout[] = {
    {"POINTER_SIZE", sizeof(void*)},
    {"VMCTX_MEM_BASE", offsetof(VMContext, mem_base)},
    {"VMCTX_MEMORY", offsetof(VMContext, memory)},
    {"VMCTX_STACK_LIMIT", offsetof(VMContext, stack_limit)},
    {"VMCTX_FUNCS", offsetof(VMContext, funcs)},
    {"VMCTX_GLOBALS", offsetof(VMContext, globals)},
    {"VMCTX_TABLES", offsetof(VMContext, tables)},
    {"VMCTX_TYPE_IDS", offsetof(VMContext, type_ids)},
    {"VMCTX_DATAS", offsetof(VMContext, datas)},
    {"VMCTX_ELEMS", offsetof(VMContext, elems)},
    {"VMCTX_INSTANCE", offsetof(VMContext, instance)},
    {"VMCTX_FUEL", offsetof(VMContext, fuel)},
    {"VMCTX_INTERRUPT", offsetof(VMContext, interrupt)},
    {"VMCTX_GATE_OWNER", offsetof(VMContext, gate_owner)},
    {"VMCTX_GATE_DEPTH", offsetof(VMContext, gate_depth)},
    {"VMCTX_SIZE", sizeof(VMContext)},
    {"MEMORY_BASE", offsetof(wrt_memory, base)},
    {"MEMORY_SIZE", offsetof(wrt_memory, size)},
    {"MEMORY_MAX_PAGES", offsetof(wrt_memory, max_pages)},
    {"MEMORY_RESERVED", offsetof(wrt_memory, reserved)},
    {"MEMORY_FLAGS", offsetof(wrt_memory, flags)},
    {"MEMORY_RECORD_SIZE", sizeof(wrt_memory)},
    {"FUNC_CODE", offsetof(wrt_func, code)},
    {"FUNC_VMCTX", offsetof(wrt_func, vmctx)},
    {"FUNC_TYPE_ID", offsetof(wrt_func, type_id)},
    {"FUNC_RECORD_SIZE", sizeof(wrt_func)},
    {"TABLE_ELEMS", offsetof(wrt_table, elems)},
    {"TABLE_SIZE", offsetof(wrt_table, size)},
    {"TABLE_MAX", offsetof(wrt_table, max)},
    {"TABLE_ELEM_TYPE", offsetof(wrt_table, elem_type)},
    {"TABLE_RECORD_SIZE", sizeof(wrt_table)},
    {"SEGMENT_PTR", offsetof(wrt_segment, ptr)},
    {"SEGMENT_LEN", offsetof(wrt_segment, len)},
    {"SEGMENT_RECORD_SIZE", sizeof(wrt_segment)},
    {"GLOBAL_CELL_SIZE", GLOBAL_CELL_SIZE},
    {"MEMORY_RESERVATION", MEMORY_RESERVATION},
    {NULL, 0},
};

const wrt_abi_value wrt_abi_traps[] = {
    {"TRAP_NONE", TRAP_NONE},
    {"TRAP_UNREACHABLE", TRAP_UNREACHABLE},
    {"TRAP_INT_DIV_ZERO", TRAP_INT_DIV_ZERO},
    {"TRAP_INT_OVERFLOW", TRAP_INT_OVERFLOW},
    {"TRAP_INVALID_CONVERSION", TRAP_INVALID_CONVERSION},
    {"TRAP_OOB_MEMORY", TRAP_OOB_MEMORY},
    {"TRAP_OOB_TABLE", TRAP_OOB_TABLE},
    {"TRAP_UNDEFINED_ELEMENT", TRAP_UNDEFINED_ELEMENT},
    {"TRAP_UNINITIALIZED_ELEMENT", TRAP_UNINITIALIZED_ELEMENT},
    {"TRAP_INDIRECT_CALL_MISMATCH", TRAP_INDIRECT_CALL_MISMATCH},
    {"TRAP_STACK_EXHAUSTED", TRAP_STACK_EXHAUSTED},
    {"TRAP_HOST_EXCEPTION", TRAP_HOST_EXCEPTION},
    {"TRAP_COMPILE_ERROR", TRAP_COMPILE_ERROR},
    {"TRAP_NULL_REFERENCE", TRAP_NULL_REFERENCE},
    {"TRAP_OUT_OF_FUEL", TRAP_OUT_OF_FUEL},
    {"TRAP_INTERRUPTED", TRAP_INTERRUPTED},
    {"TRAP_WASI_EXIT", TRAP_WASI_EXIT},
    {NULL, 0},
};

#define BUILTIN(name) {#name, (void*)&name}
const wrt_builtin_entry wrt_builtin_table[] = {
    BUILTIN(wasabi_rt_trap),
    BUILTIN(wasabi_rt_trap_element),
    BUILTIN(wasabi_rt_memory_grow),
    BUILTIN(wasabi_rt_memory_fill),
    BUILTIN(wasabi_rt_memory_copy),
    BUILTIN(wasabi_rt_memory_init),
    BUILTIN(wasabi_rt_data_drop),
    BUILTIN(wasabi_rt_table_get),
    BUILTIN(wasabi_rt_table_set),
    BUILTIN(wasabi_rt_table_size),
    BUILTIN(wasabi_rt_table_grow),
    BUILTIN(wasabi_rt_table_fill),
    BUILTIN(wasabi_rt_table_copy),
    BUILTIN(wasabi_rt_table_init),
    BUILTIN(wasabi_rt_elem_drop),
    BUILTIN(wasabi_rt_host_call),
    {NULL, NULL},
};
