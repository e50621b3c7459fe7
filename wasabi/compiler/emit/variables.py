"""Locals (allocas promoted by SROA), globals (16-byte cells behind vmctx->globals),
drop and select."""
from ...abi.vmctx import VMCTX_GLOBALS
from ..irtypes import llvm_type
from ..irnames import MD_INVARIANT


def local_get(t, index, op):
    # within a basic block a local's value is known after its first load or store
    # (t.local_values, reset by start_block): no second load. SROA would remove it
    # at T1; at T0 it is one instruction less to parse, select and run.
    ty = t.local_types[index]
    value = t.local_values.get(index)
    if value is None:
        value = t.local_values[index] = t.inst(f"load {ty}, ptr %l{index}")
    t.stack.append((value, ty))


def local_set(t, index, op):
    value, ty = t.stack.pop()
    t.lines.append(f"  store {ty} {value}, ptr %l{index}")
    t.local_values[index] = value


def local_tee(t, index, op):
    value, ty = t.stack[-1]
    t.emit(f"store {ty} {value}, ptr %l{index}")
    t.local_values[index] = value


def _global_cell(t, index):
    return t.array_entry(VMCTX_GLOBALS, index, "g")


def global_get(t, index, op):
    gtype = t.m.desc.all_globals[index]
    ty = llvm_type(gtype.valtype)
    cell = _global_cell(t, index)
    # an immutable global's cell is written once, before any code runs
    invariant = "" if gtype.mutable else f", !invariant.load {MD_INVARIANT}"
    t.push(t.inst(f"load {ty}, ptr {cell}{invariant}"), ty)


def global_set(t, index, op):
    value, ty = t.pop()
    t.emit(f"store {ty} {value}, ptr {_global_cell(t, index)}")


def drop(t, imm, op):
    t.pop()                  # a dropped load still executes: guarded loads are volatile


def select(t, imm, op):
    cond = t.cond()
    b = t.pop_value()
    a, ty = t.pop()
    t.push(t.inst(f"select i1 {cond}, {ty} {a}, {ty} {b}"), ty)


HANDLERS = {"local.get": local_get, "local.set": local_set, "local.tee": local_tee,
            "global.get": global_get, "global.set": global_set,
            "drop": drop, "select": select}
