"""The generated C of a shared library (aot/dylib.py): the module's description, the
builtin table, `wasabi_dylib_info` for wasabi.load_dylib, and the C API with its
header.

Builtins. Compiled code calls the runtime's builtins (wasabi_rt_trap, ...) by
symbol. A library's code must run under two runtimes: the standalone one linked
into it (the C API) and the extension's (wasabi.load_dylib, whose entries,
traps, host calls and polls are wasabi._ext's). So the code's references are
redirected at link time (`ld --wrap=wasabi_rt_X`: an undefined reference to X
becomes one to __wrap_X) to one-instruction trampolines that jump through a
table, `wsa_builtin_table`, which starts out pointing at the standalone
runtime's functions and which load_dylib rewrites with the extension's
addresses (_ext.builtin_addresses()). A process uses a library through one of
the two (the state word says which; the other refuses).

WASI. The C API links the imports wasabi's WASI provides (the namespace, name
and signature match its table) to the runtime's functions with the instance's
wasi_ctx (a `links` table per import, dylib.c); the header declares a
configuration for them instead of fields. Any other import, in a WASI namespace
or not, stays a function pointer field.

The stack check of such code reads its limit's offset from the vmctx (module_ir:
segment_stack_check=False), as the two runtimes keep the limit in different
places.
"""
import json as _json
import re as _re

from ..abi.builtins import BUILTINS
from ..abi.traps import MESSAGES, TRAP_WASI_EXIT
from ..binary.types import EXTERN_FUNC, F32, F64, I32, I64
from .cgen import MAX_PAGES, _global_values, state_tables, type_ids

WASI_NAMESPACES = {"wasi_snapshot_preview1": False, "wasi_unstable": True}   # -> snapshot0
_WASI_TYPES = {"i": I32, "I": I64}

C_TYPES = {I32: "int32_t", I64: "int64_t", F32: "float", F64: "double"}
SLOT_FIELDS = {I32: "i32", I64: "i64", F32: "f32", F64: "f64"}
TYPE_NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64"}
BUILTIN_NAMES = tuple(b[0] for b in BUILTINS)


def wrap_flags():
    """The linker flags that send the code's builtin calls through the table."""
    return [f"-Wl,--wrap={name}" for name in BUILTIN_NAMES]


def c_unsupported(desc, fuel=False):
    """Why the C API cannot instantiate `desc` (None when it can); `fuel`: the code
    counts fuel, which the C runtime does not keep."""
    if fuel:
        return "its code was compiled with fuel, which the C runtime does not keep"
    for imp in desc.imports:
        if imp.kind != EXTERN_FUNC:
            return f'it imports a non-function ("{imp.module}" "{imp.name}")'
        wasi = _wasi_signature(imp)
        if wasi is not None and wasi != desc.types[imp.type]:
            return f'the WASI import "{imp.module}" "{imp.name}" has the wrong signature'
        if not _c_signature(desc.types[imp.type], imports=True):
            return f'the import "{imp.module}" "{imp.name}" has no C signature'
    if len(desc.memories) > 1:
        return "it has several memories"
    return None


def _c_signature(functype, imports=False):
    """Whether a C function can have this signature (numbers; imports: <= 1 result)."""
    types = list(functype.params) + list(functype.results)
    return all(t in C_TYPES for t in types) and (not imports or len(functype.results) <= 1)


_wasi_tables = {}


def _wasi_signature(imp):
    """The FuncType of the WASI function `imp` names when wasabi provides it (the C
    API then links it to its own), else None (an ordinary import)."""
    snapshot0 = WASI_NAMESPACES.get(imp.module)
    if snapshot0 is None:
        return None
    if snapshot0 not in _wasi_tables:
        from .. import _ext
        from ..binary.types import FuncType
        _wasi_tables[snapshot0] = {
            name: FuncType(tuple(_WASI_TYPES[c] for c in params),
                           tuple(_WASI_TYPES[c] for c in results))
            for name, _, params, results in _ext.wasi_export_table(snapshot0)}
    return _wasi_tables[snapshot0].get(imp.name)


def _identifier(text, taken):
    name = _re.sub(r"\W", "_", text) or "_"
    if name[0].isdigit():
        name = "_" + name
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _sig_text(functype):
    show = lambda types: " ".join(TYPE_NAMES.get(t, f"0x{t:x}") for t in types)  # noqa: E731
    return f"[{show(functype.params)}] -> [{show(functype.results)}]"


def wasi_links(desc):
    """Per import: (WASI name, snapshot0) when the C API links it to wasabi's WASI,
    else None; None altogether when the module imports no WASI function."""
    links = [(imp.name, WASI_NAMESPACES[imp.module]) if _wasi_signature(imp) else None
             for imp in desc.imports]
    return links if any(links) else None


def api(desc, name):
    """(import fields [(field, functype, imp, import index)], exports [(c name,
    functype, export)], skipped exports) of the C API: the fields are the imports
    other than wasabi's WASI functions."""
    links = wasi_links(desc) or [None] * len(desc.imports)
    taken = set()
    imports = [(_identifier(f"{imp.module}_{imp.name}", taken), desc.types[imp.type], imp, i)
               for i, imp in enumerate(desc.imports) if imp.kind == EXTERN_FUNC and not links[i]]
    taken = set()
    exports, skipped = [], []
    for export in desc.exports:
        if export.kind != EXTERN_FUNC:
            continue
        functype = desc.func_type(export.index)
        if _c_signature(functype):
            exports.append((_identifier(export.name, taken), functype, export))
        else:
            skipped.append(export)
    return imports, exports, skipped


# ---- the header ----

def _import_field(field, functype):
    result = C_TYPES[functype.results[0]] if functype.results else "void"
    params = "".join(f", {C_TYPES[t]}" for t in functype.params)
    return f"{result} (*{field})(void* env{params});"


def _export_prototype(name, c_name, functype):
    params = "".join(f", {C_TYPES[t]} p{i}" for i, t in enumerate(functype.params))
    results = "".join(f", {C_TYPES[t]}* r{i}" for i, t in enumerate(functype.results))
    return f"int {name}_call_{c_name}({name}_instance* instance{params}{results})"


CDEF_BEGIN = "/* ---- cdef begin ---- */"
CDEF_END = "/* ---- cdef end ---- */"


def _wasi_declarations(name, namespaces):
    """The header's WASI part (modules importing WASI functions wasabi provides)."""
    return [
        f"/* WASI ({namespaces}): the library provides these imports, configured as with",
        " * wasmtime's wasi_config_t. Make a configuration, set it up, hand it to",
        f" * {name}_instantiate_wasi, which takes it over whether it succeeds or not: the",
        f" * instance owns it and {name}_free frees it. Never use it after handing it over;",
        f" * {name}_wasi_free is for a configuration never handed over. One configuration per",
        " * instance. Defaults: no arguments, no environment, no standard streams (fds 0-2",
        " * not open), nothing preopened. The setters return 0 or",
        f" * {name.upper()}_ERROR_WASI with errno set; a setting replaces the previous one",
        " * (preopens add up). A directory is opened when preopened. */",
        f"typedef struct {name}_wasi {name}_wasi;",
        f"{name}_wasi* {name}_wasi_new(void);                 /* NULL: out of memory */",
        f"void {name}_wasi_free({name}_wasi* wasi);",
        "/* argv[0] is the program's name, as in C (none by default) */",
        f"int {name}_wasi_args({name}_wasi* wasi, int argc, const char* const* argv);",
        f"int {name}_wasi_env({name}_wasi* wasi, int count, const char* const* names,",
        "                const char* const* values);",
        f"int {name}_wasi_inherit_env({name}_wasi* wasi);         /* this process's environment */",
        "/* stdin, stdout, stderr (slot 0, 1, 2): a duplicate of host_fd (the caller keeps",
        " * its own); inherit_stdio gives the three of this process */",
        f"int {name}_wasi_stdio({name}_wasi* wasi, int slot, int host_fd);",
        f"int {name}_wasi_inherit_stdio({name}_wasi* wasi);",
        f"int {name}_wasi_stdin_bytes({name}_wasi* wasi, const uint8_t* bytes, size_t len);",
        "/* the host directory as `guest` (\".\", \"/data\", ...); readonly: nothing below it",
        " * can be changed (opening for writing, creating, removing: EPERM/EROFS) */",
        f"int {name}_wasi_preopen({name}_wasi* wasi, const char* host, const char* guest,",
        "                    int readonly);",
        f"int {name}_instantiate_wasi(const {name}_imports* imports, {name}_wasi* wasi,",
        f"                       {name}_instance** out);",
        f"/* after a status {name.upper()}_EXITED: the code the program gave proc_exit (0 before);",
        f" * NULL: this thread's last one (an instantiation whose start function exited) */",
        f"int32_t {name}_exit_code({name}_instance* instance);", ""]


def header(desc, name, library, source, filename=None, fuel=False):
    """The C header of the library: what C programs include and cffi's cdef reads
    (the part between the cdef markers, wasabi.aot.cdef)."""
    up = name.upper()
    lines = [f"/* {filename or name + '.h'}: generated by wasabi for {source} (`wasabi compile --dylib`).",
             " *",
             f" * {library} holds the module's machine code and the wasabi C runtime (no Python,",
             " * no LLVM): cc -o app app.c -L. -l<name> (or the library's path) -Wl,-rpath,...",
             " * Statuses: 0 ok, > 0 a wasm trap's code (see <name>_trap_message), < 0 an error.",
             " * A trap never ends the process; it is also this thread's <name>_last_trap().",
             " * x86-64 Linux, glibc. From Python, wasabi.load_dylib(path) gives a Module instead",
             " * (a process uses a library one way or the other). */",
             f"#ifndef WASABI_{up}_H", f"#define WASABI_{up}_H", "", "#include <stddef.h>",
             "#include <stdint.h>", "",
             "#ifdef __cplusplus", 'extern "C" {', "#endif", "", CDEF_BEGIN]
    reason = c_unsupported(desc, fuel)
    if reason:
        lines += [f"/* no C API: {reason}. Use wasabi.load_dylib. */", CDEF_END]
    else:
        imports, exports, skipped = api(desc, name)
        links = wasi_links(desc)
        wasi_statuses = (f",\n       {up}_ERROR_NO_WASI = -6, {up}_ERROR_WASI = -7, "
                         f"{up}_EXITED = {TRAP_WASI_EXIT} /* proc_exit */" if links else "")
        lines += [f"enum {{ {up}_OK = 0, {up}_ERROR_IMPORT = -1, {up}_ERROR_MEMORY = -2, "
                  f"{up}_ERROR_THREAD = -3,", f"       {up}_ERROR_BOUND = -4{wasi_statuses} }};", "",
                  f"typedef struct {name}_instance {name}_instance;", "",
                  "/* the imported functions: each gets `env` first, then the wasm arguments"
                  + (" (the WASI ones are the library's)" if links else "") + " */",
                  f"typedef struct {name}_imports {{", "    void* env;"]
        for field, functype, imp, _ in imports:
            lines.append(f'    /* "{imp.module}" "{imp.name}": {_sig_text(functype)} */')
            lines.append(f"    {_import_field(field, functype)}")
        lines += [f"}} {name}_imports;", "",
                  "/* a new instance (its segments applied, its start function run): a status"
                  + (f";\n * {up}_ERROR_NO_WASI: this module needs {name}_instantiate_wasi"
                     if links else "") + " */",
                  f"int {name}_instantiate(const {name}_imports* imports, {name}_instance** out);",
                  f"void {name}_free({name}_instance* instance);",
                  "/* memory 0: its bytes (they move never) and size now (it changes on grow) */",
                  f"uint8_t* {name}_memory({name}_instance* instance, uint64_t* size);",
                  f"int {name}_last_trap(void);",
                  f"const char* {name}_trap_message(int status);", ""]
        if links:
            namespaces = sorted({desc.imports[i].module for i, link in enumerate(links) if link})
            lines += _wasi_declarations(name, ", ".join(f'"{n}"' for n in namespaces))
        lines.append("/* the exports: a status; the results through the pointers (NULL: dropped) */")
        for c_name, functype, export in exports:
            lines.append(f'/* "{export.name}": {_sig_text(functype)} */')
            lines.append(_export_prototype(name, c_name, functype) + ";")
        for export in skipped:
            lines.append(f'/* "{export.name}": {_sig_text(desc.func_type(export.index))}: '
                         "no C signature */")
        lines.append(CDEF_END)
    lines += ["", "#ifdef __cplusplus", "}", "#endif", "", "#endif", ""]
    return "\n".join(lines)


def cdef(text):
    """The part of a generated header that cffi's ffi.cdef reads."""
    start, end = text.index(CDEF_BEGIN), text.index(CDEF_END)
    return text[start + len(CDEF_BEGIN):end]


# ---- the library's C source ----

def _incbin(symbol, path):
    return (f'__asm__(".section .rodata\\n\\t.balign 16\\n{symbol}:\\n\\t.incbin '
            f'\\"{path}\\"\\n\\t.previous");\nextern const uint8_t {symbol}[];')


def _trampolines():
    """__wrap_<builtin>: a jump through wsa_builtin_table (see the module docstring)."""
    lines = ['__asm__(".text"']
    for i, symbol in enumerate(BUILTIN_NAMES):
        wrap = f"__wrap_{symbol}"
        lines.append(f'    "\\n\\t.globl {wrap}\\n\\t.hidden {wrap}\\n\\t.type {wrap},@function'
                     f'\\n{wrap}:\\n\\tjmp *wsa_builtin_table+{8 * i}(%rip)"')
    lines.append('    "\\n\\t.previous");')
    reals = "".join(f"extern void __real_{s}(void);\n" for s in BUILTIN_NAMES)
    table = ", ".join(f"(void*)__real_{s}" for s in BUILTIN_NAMES)
    names = ", ".join(f'"{s}"' for s in BUILTIN_NAMES)
    return "\n".join(lines) + "\n" + reals + (
        f'__attribute__((visibility("hidden"))) void* wsa_builtin_table[] = {{{table}}};\n'
        f"static const char* const builtin_names[] = {{{names}}};\n")


def _module_struct(desc, symbols, supported):
    """The wsa_module (standalone.h): complete when the C API can instantiate it."""
    first = desc.num_imported_funcs
    defined = [symbols[i] for i in range(first, len(desc.func_type_indices))]
    lines = [f"extern void {symbol}(void);" for symbol in defined]
    lines.append(f"static void* const code[] = {{{', '.join(defined) or '0'}}};")
    lines.append(f"static const uint32_t func_types[] = "
                 f"{{{', '.join(map(str, desc.func_type_indices)) or '0'}}};")
    lines.append(f"static const uint64_t type_ids[] = "
                 f"{{{', '.join(map(str, type_ids(desc))) or '0'}}};")
    top = max(MESSAGES) + 1
    messages = [f'"{MESSAGES[c]}"' if c in MESSAGES else "0" for c in range(top)]
    lines.append(f"static const char* const trap_messages[] = {{{', '.join(messages)}}};")
    counts = f"{len(desc.func_type_indices)}, {first}, code, func_types, 0, 0"
    tail = f"trap_messages, {top}, __wasabi_code_begin, __wasabi_code_end}};"
    if not supported:
        lines.append(f"static const wsa_module module = {{{counts}, {len(desc.types)}, "
                     f"type_ids, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1, {tail}")
        return lines
    globals_ = _global_values(desc)
    lines += state_tables(desc, globals_)
    memory = desc.memories[0] if desc.memories else None
    memory_max = MAX_PAGES if memory is None or memory.limits.max is None \
        else memory.limits.max
    lines += [
        "static const wsa_module module = {",
        f"    {counts}, {len(desc.types)}, type_ids, {len(globals_)}, globals,",
        f"    {int(memory is not None)}, {memory.limits.min if memory else 0}, {memory_max},",
        f"    {len(desc.tables)}, tables, {len(desc.datas)}, datas, {len(desc.elems)}, elems,",
        f"    {-1 if desc.start is None else desc.start}, -1,",
        f"    {tail}"]
    return lines


def _thunk_table(kind, count, thunks):
    entries = [thunks.get((kind, i), "0") for i in range(count)]
    return f"static void* const {kind}_thunks[] = {{{', '.join(entries) or '0'}}};"


_WASI_WRAPPERS = [        # (result, function, parameters, arguments): wsa_dl_wasi_*
    ("struct wasi_ctx*", "new", "void", ""),
    ("void", "free", "struct wasi_ctx* w", "w"),
    ("int", "args", "struct wasi_ctx* w, int argc, const char* const* argv", "w, argc, argv"),
    ("int", "env", "struct wasi_ctx* w, int n, const char* const* k, const char* const* v",
     "w, n, k, v"),
    ("int", "inherit_env", "struct wasi_ctx* w", "w"),
    ("int", "stdio", "struct wasi_ctx* w, int slot, int fd", "w, slot, fd"),
    ("int", "inherit_stdio", "struct wasi_ctx* w", "w"),
    ("int", "stdin_bytes", "struct wasi_ctx* w, const uint8_t* b, size_t n", "w, b, n"),
    ("int", "preopen", "struct wasi_ctx* w, const char* h, const char* g, int ro", "w, h, g, ro"),
]


def _wasi_source(name, links):
    """The links table and the WASI functions of the C API (dylib_wasi.c does the work)."""
    entries = ", ".join(f'{{"{link[0]}", {int(link[1])}}}' if link else "{0, 0}"
                        for link in links)
    lines = [f"static const wsa_dl_link links[] = {{{entries}}};"]
    for result, function, params, args in _WASI_WRAPPERS:
        ret = "" if result == "void" else "return "
        lines.append(f"API {result} {name}_wasi_{function}({params}) {{ {ret}"
                     f"wsa_dl_wasi_{function}({args}); }}")
    lines += [f"API int32_t {name}_exit_code({name}_instance* instance) {{",
              "    return wsa_dl_exit_code(instance);", "}"]
    return lines


def _api_source(desc, name):
    imports, exports, _ = api(desc, name)
    links = wasi_links(desc)
    lines = ['#define API __attribute__((visibility("default")))',
             "typedef union wsa_slot { int32_t i32; int64_t i64; float f32; double f64; "
             "uint64_t words[2]; } __attribute__((aligned(16))) wsa_slot;",
             f"typedef struct {name}_instance {name}_instance;",
             f"typedef struct {name}_imports {{", "    void* env;"]
    lines += [f"    {_import_field(field, functype)}" for field, functype, _, _ in imports]
    lines += [f"}} {name}_imports;"]
    if links:
        lines += _wasi_source(name, links)
    lines += [f"static int instantiate(const {name}_imports* imports, struct wasi_ctx* wasi,",
              f"                       {name}_instance** out) {{",
              f"    void* fns[{max(1, len(desc.imports))}] = {{0}};", "    if (imports) {"]
    lines += [f"        fns[{index}] = (void*)imports->{field};"
              for field, _, _, index in imports]
    lines += ["    }",
              "    return wsa_dl_instantiate(&wasabi_dylib_info, fns, imports ? imports->env : 0, "
              f"{'links' if links else '0'}, wasi, (void**)out);", "}",
              f"API int {name}_instantiate(const {name}_imports* imports, {name}_instance** out) {{",
              "    return instantiate(imports, 0, out);", "}"]
    if links:
        lines += [f"API int {name}_instantiate_wasi(const {name}_imports* imports, "
                  f"struct wasi_ctx* wasi, {name}_instance** out) {{",
                  "    return instantiate(imports, wasi, out);", "}"]
    lines += [f"API void {name}_free({name}_instance* instance) {{ wsa_dl_free(instance); }}",
              f"API uint8_t* {name}_memory({name}_instance* instance, uint64_t* size) {{",
              "    return wsa_dl_memory(instance, size);", "}",
              f"API int {name}_last_trap(void) {{ return wsa_dl_last_trap(); }}",
              f"API const char* {name}_trap_message(int status) {{",
              "    return wsa_dl_trap_message(&wasabi_dylib_info, status);", "}"]
    for c_name, functype, export in exports:
        thunk = f"array_thunks[{desc.func_type_indices[export.index]}]"
        slots = max(1, len(functype.params), len(functype.results))
        lines.append(f"API {_export_prototype(name, c_name, functype)} {{")
        lines.append(f"    wsa_slot s[{slots}];")
        for i, t in enumerate(functype.params):
            lines.append(f"    s[{i}].words[0] = 0; s[{i}].{SLOT_FIELDS[t]} = p{i};")
        lines.append(f"    int status = wsa_dl_call(instance, {export.index}, {thunk}, s);")
        for i, t in enumerate(functype.results):
            lines.append(f"    if (status == 0 && r{i}) *r{i} = s[{i}].{SLOT_FIELDS[t]};")
        lines += ["    return status;", "}"]
    return lines


def library_source(desc, name, symbols, thunks, parts, files, abi_key, header_fields):
    """The C file of the library. `symbols`: func index -> symbol; `thunks`: (kind,
    type index) -> symbol; `parts`: how many code objects; `files`: paths of the wasm
    and its skeleton to .incbin."""
    reason = c_unsupported(desc, header_fields.get("fuel", False))
    lines = ['#include "dylib.h"', "#include <stdint.h>", "",
             _incbin("wsa_wasm", files["wasm"]), _incbin("wsa_skeleton", files["skeleton"]),
             _trampolines()]
    markers = [("__wasabi_code_begin", "__wasabi_code_end")] + [
        (f"__wasabi_code_begin_{k}", f"__wasabi_code_end_{k}") for k in range(1, parts)]
    for begin, end in markers:
        lines.append(f"extern char {begin}[], {end}[];")
    lines.append("static const void* const ranges[] = {"
                 + ", ".join(f"{b}, {e}" for b, e in markers) + "};")
    for symbol in sorted(set(thunks.values())):
        lines.append(f"extern void {symbol}(void);")
    for kind in ("array", "host", "native"):
        lines.append(_thunk_table(kind, len(desc.types), thunks))
    lines += _module_struct(desc, symbols, reason is None)
    text = _json.dumps(header_fields, sort_keys=True)
    lines += ["static int state;",
              '__attribute__((visibility("default"))) const wsa_dylib wasabi_dylib_info = {',
              f"    WSA_DYLIB_MAGIC, WSA_DYLIB_VERSION, {int(reason is None)},",
              f"    {_json.dumps(abi_key)}, {_json.dumps(text)},",
              f"    wsa_wasm, {files['wasm_len']}, wsa_skeleton, {files['skeleton_len']},",
              f"    {len(desc.func_type_indices)}, {desc.num_imported_funcs}, code,",
              f"    {len(markers)}, ranges, {len(desc.types)}, array_thunks, host_thunks, "
              "native_thunks,",
              f"    {len(BUILTIN_NAMES)}, builtin_names, wsa_builtin_table, &state, &module}};", ""]
    if reason is None:
        lines += _api_source(desc, name)
    return "\n".join(lines) + "\n"
