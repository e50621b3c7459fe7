"""Which functions a module's tables can hold: a property of its ModuleDesc that the
code generators (emit/calls.py, the single-pass baseline) use to leave out the
cross-instance compare of call_indirect."""
from ..binary.types import EXTERN_FUNC, EXTERN_TABLE, REF_TYPES

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
