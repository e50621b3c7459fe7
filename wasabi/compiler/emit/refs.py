"""Reference types and table instructions.

funcref values are pointers to wrt_func records (ref.func x is the address of
vmctx->funcs[x]); externref values are opaque pointers; null is the null pointer.
Table accesses go through the runtime builtins, which check bounds and trap.
Builtin argument order (wasabi/_native/builtins.h): vmctx, the table index(es)
(destination first), the segment index, then the operands in stack order.
"""
from ...abi.vmctx import FUNC_RECORD_SIZE, VMCTX_FUNCS


def ref_null(t, reftype, op):
    t.push("null", "ptr")


def ref_is_null(t, imm, op):
    t.push_bool(t.inst(f"icmp eq ptr {t.pop_value()}, null"))


def ref_func(t, func_index, op):
    funcs = t.vmctx_ptr(VMCTX_FUNCS)
    t.push(t.inst(f"getelementptr inbounds i8, ptr {funcs}, i64 {func_index * FUNC_RECORD_SIZE}"),
           "ptr")


def table_get(t, table, op):
    index = t.pop_value()
    t.push(t.builtin("wasabi_rt_table_get", "ptr", f", i32 {table}, i32 {index}"), "ptr")


def table_set(t, table, op):
    t.builtin("wasabi_rt_table_set", "void", f", i32 {table}" + t.pop_args(2))


def table_size(t, table, op):
    t.push(t.builtin("wasabi_rt_table_size", "i32", f", i32 {table}"), "i32")


def table_grow(t, table, op):
    t.push(t.builtin("wasabi_rt_table_grow", "i32", f", i32 {table}" + t.pop_args(2)), "i32")


def table_fill(t, table, op):
    t.builtin("wasabi_rt_table_fill", "void", f", i32 {table}" + t.pop_args(3))


def table_copy(t, tables, op):
    dst, src = tables
    t.builtin("wasabi_rt_table_copy", "void", f", i32 {dst}, i32 {src}" + t.pop_args(3))


def table_init(t, imm, op):
    elem, table = imm
    t.builtin("wasabi_rt_table_init", "void", f", i32 {table}, i32 {elem}" + t.pop_args(3))


def elem_drop(t, elem, op):
    t.builtin("wasabi_rt_elem_drop", "void", f", i32 {elem}")


HANDLERS = {"ref.null": ref_null, "ref.is_null": ref_is_null, "ref.func": ref_func,
            "table.get": table_get, "table.set": table_set, "table.size": table_size,
            "table.grow": table_grow, "table.fill": table_fill, "table.copy": table_copy,
            "table.init": table_init, "elem.drop": elem_drop}
