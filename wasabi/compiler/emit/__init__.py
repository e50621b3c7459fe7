"""The translator's dispatch tables, built from the one opcode table.

Each emitter module maps opcode *names* to handlers `handler(translator, immediate,
opcode)`; here they are joined with wasabi.binary.opcodes so that the opcode bytes,
the immediate kinds and the names come from a single place.
"""
from ...binary.opcodes import OPCODES
from . import calls, control, convert, memory, numeric, refs, simd, simd_arith, variables


def _all_handlers():
    names = [op.name for op in OPCODES]
    handlers = {}
    handlers.update(control.HANDLERS)
    handlers.update(variables.HANDLERS)
    handlers.update(calls.HANDLERS)
    handlers.update(refs.HANDLERS)
    handlers.update(numeric.handlers_for(names))
    handlers.update(convert.handlers_for(names))
    handlers.update(memory.handlers_for(names))
    handlers.update(simd.handlers_for(names))
    handlers.update(simd_arith.handlers_for(names))
    return handlers


def _build():
    handlers = _all_handlers()
    single = [None] * 256
    prefixed = {}
    missing = []
    for op in OPCODES:
        handler = handlers.get(op.name)
        if handler is None:
            missing.append(op.name)
            continue
        if op.prefix is None:
            single[op.code] = (op, handler)
        else:
            prefixed[(op.prefix, op.code)] = (op, handler)
    return single, prefixed, missing


DISPATCH, DISPATCH_PREFIXED, MISSING = _build()
# MISSING lists instructions without an emitter; tests/test_translate.py
# requires it to be empty.
