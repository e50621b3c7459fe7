"""Constant expressions (global initialisers, segment offsets and elements),
evaluated to raw slot bits: what a 16-byte cell or a u64 reference holds."""
from ..errors import LinkError

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

# extended-const arithmetic: opcode -> (mask, operation)
_BINARY = {
    0x6A: (M32, lambda a, b: a + b), 0x6B: (M32, lambda a, b: a - b), 0x6C: (M32, lambda a, b: a * b),
    0x7C: (M64, lambda a, b: a + b), 0x7D: (M64, lambda a, b: a - b), 0x7E: (M64, lambda a, b: a * b),
}


def evaluate(expr, global_raw, func_record):
    """The raw bits of `expr` (a ConstExpr).

    global_raw(index) -> raw bits of a global already initialised;
    func_record(index) -> address of that function's wrt_func record.
    """
    stack = []
    for opcode, imm in expr.instrs:
        if opcode == 0x41:
            stack.append(imm & M32)
        elif opcode == 0x42:
            stack.append(imm & M64)
        elif opcode in (0x43, 0x44, 0xFD0C):      # raw bit patterns already
            stack.append(imm)
        elif opcode == 0xD0:
            stack.append(0)
        elif opcode == 0xD2:
            stack.append(func_record(imm))
        elif opcode == 0x23:
            stack.append(global_raw(imm))
        elif opcode in _BINARY and len(stack) >= 2:
            mask, op = _BINARY[opcode]
            b, a = stack.pop(), stack.pop()
            stack.append(op(a, b) & mask)
        else:
            # the validator rejects these; reaching here means an unvalidated module
            raise LinkError(f"unsupported constant expression opcode {opcode:#x}")
    if len(stack) != 1:
        raise LinkError("constant expression does not produce one value")
    return stack[0]
