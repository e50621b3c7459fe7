"""The C description of one module (a `wsa_module`, wasabi/_native/standalone.h) that
the standalone runtime instantiates: its functions' code symbols and types, WASI
import names, globals, memory, tables, data and element segments, start and _start.

Everything is worked out here, at build time: constant expressions are evaluated
(ref.func becomes a function index the runtime turns into a record address),
signatures get small ids (equal ids for equal signatures, as call_indirect
compares them). A module the executable cannot run (imports other than WASI
functions) is a CompileError naming the first such import.
"""
from ..abi.traps import MESSAGES
from ..binary.types import EXTERN_FUNC
from ..errors import CompileError
from ..runtime.constexpr import evaluate
from ..wasi.environment import NAMESPACE_PREVIEW1, NAMESPACE_SNAPSHOT0

M64 = (1 << 64) - 1
TABLE_NO_MAX = M64
MAX_PAGES = 65536


class _FuncRef:
    """ref.func's value while evaluating constant expressions."""

    def __init__(self, index):
        self.index = index


def check_importable(desc):
    """CompileError unless every import is a WASI function of one namespace; the
    namespace's snapshot0 flag."""
    namespaces = set()
    for imp in desc.imports:
        if imp.kind != EXTERN_FUNC or imp.module not in (NAMESPACE_PREVIEW1, NAMESPACE_SNAPSHOT0):
            raise CompileError(f'an executable can import only WASI functions, not '
                               f'"{imp.module}" "{imp.name}"')
        namespaces.add(imp.module)
    if len(namespaces) > 1:
        raise CompileError("an executable imports from one WASI namespace, not both")
    return NAMESPACE_SNAPSHOT0 in namespaces


def _c_bytes(data):
    """A C initialiser of `data` (string literal pieces: compact and quick to compile)."""
    if not data:
        return '""'
    out, line = [], []
    for i, byte in enumerate(data):
        line.append(f"\\x{byte:02x}")
        if len(line) == 32 or i == len(data) - 1:
            out.append('"' + "".join(line) + '"')
            line = []
    return "\n    ".join(out)


def _global_values(desc):
    values = []

    def global_raw(index):
        return values[index]
    for g in desc.globals:
        values.append(evaluate(g.init, global_raw, _FuncRef))
    return values


def _const_index(expr, globals_):
    """A function index (or -1 for null) of an element expression."""
    value = evaluate(expr, lambda i: globals_[i], _FuncRef)
    if isinstance(value, _FuncRef):
        return value.index
    if value == 0:
        return -1
    raise CompileError("an executable's element segments hold functions or nulls only")


def _offset(expr, globals_):
    value = evaluate(expr, lambda i: globals_[i], _FuncRef)
    return value & 0xFFFFFFFF


def type_ids(desc):
    """Per type index, a small id equal for equal signatures."""
    ids, out = {}, []
    for functype in desc.types:
        out.append(ids.setdefault((tuple(functype.params), tuple(functype.results)),
                                  len(ids) + 1))
    return out


def module_source(desc, symbols, name="wasabi_module", with_main=True, fuel=False):
    """C source defining `const wsa_module <name>` (and a main() calling wsa_main);
    fuel: the code was compiled with fuel accounting."""
    snapshot0 = check_importable(desc)
    if desc.num_imported_memories or len(desc.all_memories) > 1:
        raise CompileError("an executable has at most one memory of its own")
    first = desc.num_imported_funcs
    defined = [symbols[i] for i in range(first, len(desc.func_type_indices))]
    globals_ = _global_values(desc)
    exports = {e.name: e for e in desc.exports}
    entry = exports.get("_start")
    if entry is not None and entry.kind != EXTERN_FUNC:
        entry = None
    lines = ['#include "standalone.h"', "", "extern char __wasabi_code_begin[], "
             "__wasabi_code_end[];"]
    lines += [f"extern void {symbol}(void);" for symbol in defined]
    lines.append(f"static void* const code[] = {{{', '.join(defined) or '0'}}};")
    lines.append(f"static const uint32_t func_types[] = "
                 f"{{{', '.join(map(str, desc.func_type_indices)) or '0'}}};")
    imports = [f'"{imp.name}"' for imp in desc.imports]
    lines.append(f"static const char* const imports[] = {{{', '.join(imports) or '0'}}};")
    lines.append(f"static const uint64_t type_ids[] = "
                 f"{{{', '.join(map(str, type_ids(desc))) or '0'}}};")
    lines += state_tables(desc, globals_)
    top = max(MESSAGES) + 1
    messages = [f'"{MESSAGES[c]}"' if c in MESSAGES else "0" for c in range(top)]
    lines.append(f"static const char* const trap_messages[] = {{{', '.join(messages)}}};")
    memory = desc.memories[0] if desc.memories else None
    memory_max = MAX_PAGES if memory is None or memory.limits.max is None \
        else memory.limits.max
    lines += [
        f"const wsa_module {name} = {{",
        f"    {len(desc.func_type_indices)}, {first}, code, func_types, imports, "
        f"{int(snapshot0)},",
        f"    {len(desc.types)}, type_ids, {len(globals_)}, globals,",
        f"    {int(memory is not None)}, {memory.limits.min if memory else 0}, {memory_max},",
        f"    {len(desc.tables)}, tables, {len(desc.datas)}, datas, {len(desc.elems)}, elems,",
        f"    {-1 if desc.start is None else desc.start}, "
        f"{-1 if entry is None else entry.index},",
        f"    trap_messages, {top}, __wasabi_code_begin, __wasabi_code_end, {int(fuel)}}};",
    ]
    if with_main:
        lines += ["", "int main(int argc, char** argv) {",
                  f"    return wsa_main(&{name}, argc, argv);", "}"]
    return "\n".join(lines) + "\n"


def state_tables(desc, globals_):
    """C lines of the module's globals, tables, data and element segments (wsa_global,
    wsa_table, wsa_data, wsa_elem arrays), as executables and shared libraries hold them."""
    lines = []
    lines.append("static const wsa_global globals[] = {")
    for value in globals_:
        if isinstance(value, _FuncRef):
            lines.append(f"    {{0, 0, {value.index}}},")
        else:
            lines.append(f"    {{{value & M64:#x}ull, {(value >> 64) & M64:#x}ull, -1}},")
    lines.append("    {0, 0, -1}};")
    lines.append("static const wsa_table tables[] = {")
    for table in desc.tables:
        maximum = TABLE_NO_MAX if table.limits.max is None else table.limits.max
        lines.append(f"    {{{table.limits.min}, {maximum:#x}ull, {table.elem_type:#x}}},")
    lines.append("    {0, 0, 0}};")
    for i, data in enumerate(desc.datas):
        lines.append(f"static const uint8_t data{i}[] = {_c_bytes(data.data)};")
    lines.append("static const wsa_data datas[] = {")
    for i, data in enumerate(desc.datas):
        offset = _offset(data.offset, globals_) if data.mode == "active" else -1
        lines.append(f"    {{data{i}, {len(data.data)}, {offset}}},")
    lines.append("    {0, 0, 0}};")
    for i, elem in enumerate(desc.elems):
        funcs = [str(_const_index(expr, globals_)) for expr in elem.init]
        lines.append(f"static const int32_t elem{i}[] = {{{', '.join(funcs) or '0'}}};")
    lines.append("static const wsa_elem elems[] = {")
    for i, elem in enumerate(desc.elems):
        offset = {"passive": -1, "declarative": -2}.get(elem.mode)
        if offset is None:
            offset = _offset(elem.offset, globals_)
        lines.append(f"    {{elem{i}, {len(elem.init)}, {elem.table_index}, {offset}}},")
    lines.append("    {0, 0, 0, 0}};")
    return lines
