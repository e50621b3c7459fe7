"""The folded form of a function body, for wasm2wat(data, folded=True).

Folding is syntax only: `(op a b)` is the code `a b op`, so any grouping of an
instruction with the instructions just before it writes the same bytes back. An
instruction takes as operands the nodes just before it when it pops n values and
each of the last n nodes pushes exactly one (arities from wasabi.binary.opcodes, the
function types and a few special cases); otherwise they stay siblings. Blocks become
(block ...), (loop ...) and (if cond? (then ...) (else ...)).

Nodes: [head text, operand nodes, results pushed (None: unknown), body, else body]
where body is None for plain instructions. Nesting is kept on explicit stacks (code
can nest blocks thousands deep).
"""
_SPECIAL_ARITY = {            # name -> (pops, pushes) where opcodes.py says "special"
    "local.get": (0, 1), "local.set": (1, 0), "local.tee": (1, 1),
    "global.get": (0, 1), "global.set": (1, 0), "drop": (1, 0), "select": (3, 1),
    "table.get": (1, 1), "table.set": (2, 0), "table.grow": (2, 1), "table.fill": (3, 0),
    "ref.null": (0, 1), "ref.is_null": (1, 1), "nop": (0, 0),
}
_BLOCKS = ("block", "loop", "if")


def fold_body(printer, instrs, depth):
    """The folded text lines of a function body `instrs` (without its final end),
    indented for nesting `depth`; `printer` is the InstructionPrinter."""
    root = _tree(printer, instrs)
    lines = []
    for node in root:
        _render(node, depth, lines)
    return lines


def _arity(printer, op, imm):
    if op.params is not None:
        return len(op.params), len(op.results)
    found = _SPECIAL_ARITY.get(op.name)
    if found is not None:
        return found
    if op.name == "call":
        ft = printer.module.func_type(imm)
        return (len(ft.params), len(ft.results)) if ft is not None else (0, None)
    if op.name == "call_indirect":
        ft = printer.module.type_at(imm[0])
        return (len(ft.params) + 1, len(ft.results)) if ft is not None else (0, None)
    return 0, None          # branches, return, unreachable: no fixed arity


def _block_results(printer, imm):
    if imm[0] == "empty":
        return 0
    if imm[0] == "value":
        return 1
    ft = printer.module.type_at(imm[1])
    return len(ft.results) if ft is not None else None


def _take_operands(items, pops):
    if pops == 0 or len(items) < pops:
        return []
    last = items[-pops:]
    if any(node[2] != 1 for node in last):
        return []
    del items[-pops:]
    return last


def _tree(printer, instrs):
    root = []
    stack = []              # open blocks: (node, the item list it was added to)
    items = root
    for op, imm, at in instrs:
        name = op.name
        if name == "end":
            node, items = stack.pop()
            continue
        if name == "else":
            node = stack[-1][0]
            node[4] = []
            items = node[4]
            continue
        head = printer.instruction(op, imm, at)
        if name in _BLOCKS:
            operands = _take_operands(items, 1) if name == "if" else []
            node = [head, operands, _block_results(printer, imm), [], None]
            items.append(node)
            stack.append((node, items))
            items = node[3]
            continue
        pops, pushes = _arity(printer, op, imm)
        operands = _take_operands(items, pops)
        items.append([head, operands, pushes, None, None])
    return root


def _render(node, depth, lines):
    """Lines for `node` and its children; explicit stack of (node, depth, state)."""
    pad = "  "
    work = [(node, depth, 0)]
    while work:
        node, d, state = work.pop()
        if node is None:                    # a closing parenthesis
            lines[-1] += ")"
            continue
        if isinstance(node, str):           # a (then / (else opener
            lines.append(pad * d + node)
            continue
        head, operands, _, body, else_body = node
        lines.append(pad * d + "(" + head)
        todo = [(None, d, 0)]
        if body is not None and head.startswith("if"):
            if else_body is not None:
                todo.append((None, d, 0))
                todo.extend((child, d + 2, 0) for child in reversed(else_body))
                todo.append(("(else", d + 1, 0))
            todo.append((None, d, 0))
            todo.extend((child, d + 2, 0) for child in reversed(body))
            todo.append(("(then", d + 1, 0))
        elif body is not None:
            todo.extend((child, d + 1, 0) for child in reversed(body))
        todo.extend((child, d + 1, 0) for child in reversed(operands))
        work.extend(todo)
