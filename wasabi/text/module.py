"""Module fields: two passes over the tokens of one module, then the binary sections.

Pass 1 (`_scan`) walks the fields without parsing them: it binds every identifier
to its index (functions, tables, memories, globals, elem and data segments,
counting the segments that table/memory abbreviations create), enforces "imports
come first", and parses the explicit type definitions, which an implicit type use
has to search. Pass 2 (`_build`) parses each field completely, in text order:
with every name known, instructions encode straight to bytes, and implicit types
are appended in the order wabt and the spec's reading produce.
"""
from ..binary.types import FUNCREF
from . import encoding
from .annotations import AnnotationParser
from .encoding import uleb
from .instructions import InstructionParser, LabelStack
from .sections import data_segment, elem_segment, encode_locals, module_binary
from .tokens import REFTYPES, Space, TokenStream
from .types import TypeParser

_KINDS = ("func", "table", "memory", "global")
_EXTERN_KIND = {"func": 0, "table": 1, "memory": 2, "global": 3}
_KIND_WORDS = {"func": "function", "table": "table", "memory": "memory", "global": "global"}
_PAGE = 65536


class ModuleAssembler(TokenStream, InstructionParser, TypeParser, AnnotationParser):
    """Assembles the fields in toks[start:end] (inside `(module ...)`) into a binary."""

    def __init__(self, text, toks, depths, start, end, module_name=None, debug_names=True,
                 encoder="wat"):
        super().__init__(text, toks)
        self.wabt = encoder == "wabt"   # whose encoding choices (see wat2wasm)
        self.depths = depths         # parenthesis depth after each token (balanced)
        self.start, self.end = start, end
        self.module_name = module_name
        self.debug_names = debug_names
        self.spaces = {kind: Space(kind) for kind in
                       ("type", "func", "table", "memory", "global", "elem", "data")}
        self.types = []              # (params, results) per type index
        self.type_lookup = {}        # (params, results) -> smallest index
        self.fields = []             # (keyword, open paren index, close paren index, is import)
        self.first_definition = None
        # section entries, encoded
        self.imports, self.func_types, self.tables, self.memories = [], [], [], []
        self.globals, self.exports, self.elems, self.codes, self.datas = [], [], [], [], []
        self.start_func = None
        self.customs = []                 # (placement, encoded custom section)
        self.custom_name_section = False  # an (@custom "name" ...) replaces ours
        self.branch_hints = {}            # function index -> [(offset in body, value)]
        self.type_checks = []             # (type index, (params, results), token index)
        self.uses_data_count = False      # memory.init / data.drop seen: a datacount section
        self.next_index = dict.fromkeys(_KINDS, 0)
        # for the name section
        self.func_names, self.local_names_by_func = {}, {}
        self.label_names_by_func, self.type_param_names = {}, {}
        # per function
        self.out, self.labels, self.local_names = bytearray(), LabelStack(), {}
        self.block_count, self.block_names = 0, {}      # every block counts, named or not
        self.hints = []                                  # (offset in self.out, value)

    def assemble(self):
        self._scan()
        self._build()
        self._check_deferred_types()
        return module_binary(self)

    def _check_deferred_types(self):
        """(type x) with an inline type, x not yet defined where it was written: the wat
        crate checks it once every implicit type has been added."""
        for index, key, i in self.type_checks:
            if index >= len(self.types):
                self.error("unknown type", i)
            if self.types[index] != key:
                self.error("inline function type", i)

    # --- pass 1 -----------------------------------------------------------------------

    def _scan(self):
        toks = self.toks
        i = self.start
        while i < self.end:
            if toks[i] != "(":
                self.unexpected(i, "a module field")
            close = self._matching_paren(i)
            keyword = toks[i + 1]
            scanner = _SCANNERS.get(keyword)
            if scanner is None:
                self.unexpected(i + 1, "a module field")
            is_import = scanner(self, i + 2)
            self.fields.append((keyword, i, close, is_import))
            i = close + 1

    def _matching_paren(self, i):
        depths = self.depths
        return depths.index(depths[i] - 1, i)

    def _define(self, kind, i):
        """Bind the optional identifier at i in space `kind`; index after it."""
        ident, j = self.optional_id(i)
        if self.spaces[kind].add(ident) is None:
            self.error(f"duplicate {kind}", i)
        return j

    def _skip_exports(self, i):
        while self.is_keyword(i, "export"):
            i = self._matching_paren(i) + 1
        return i

    def _scan_entity(self, kind, i):
        """func/table/memory/global: define it; say whether it is an inline import."""
        j = self._skip_exports(self._define(kind, i))
        if self.is_keyword(j, "import"):
            self._note_import(j)
            return True
        if self.first_definition is None:
            self.first_definition = kind
        return False

    def _note_import(self, i):
        if self.first_definition is not None:
            self.error(f"import after {_KIND_WORDS[self.first_definition]}", i)

    def _scan_import(self, i):
        j = i + 2                                   # module and field names: checked in pass 2
        if not (self.toks[j] == "(" and self.toks[j + 1] in _KINDS):
            self.unexpected(j, "an import description")
        self._note_import(i - 2)                    # the field's "("
        self._define(self.toks[j + 1], j + 2)
        return True

    def _scan_func(self, i):
        return self._scan_entity("func", i)

    def _scan_global(self, i):
        return self._scan_entity("global", i)

    def _scan_table(self, i):
        if self._scan_entity("table", i):
            return True
        j = self.address_type(self._skip_exports(self.optional_id(i)[1]))
        if self.toks[j] in REFTYPES and self.is_keyword(j + 1, "elem"):
            self.spaces["elem"].add(None)         # the segment of (table t (elem ...))
        return False

    def _scan_memory(self, i):
        if self._scan_entity("memory", i):
            return True
        j = self.address_type(self._skip_exports(self.optional_id(i)[1]))
        if self.is_keyword(j, "data"):
            self.spaces["data"].add(None)         # the segment of (memory (data ...))
        return False

    def _scan_segment(self, kind, i):
        self._define(kind, i)
        return False

    def _scan_type(self, i):
        j = self._define("type", i)
        if not self.is_keyword(j, "func"):
            self.unexpected(j, "(func ...)")
        params, results, names, j = self.params_results(j + 2, allow_names=True)
        self.close(self.close(j))
        if any(names):
            self.type_param_names[len(self.types)] = _named(names)
        key = (params, results)
        self.type_lookup.setdefault(key, len(self.types))
        self.types.append(key)
        return False

    def _scan_nothing(self, i):
        return False

    # --- pass 2 -----------------------------------------------------------------------

    def _build(self):
        for keyword, i, close, is_import in self.fields:
            builder = _BUILDERS[keyword]
            j = builder(self, i + 2, is_import) if builder is not None else close
            if j != close:
                self.unexpected(j, "')'")

    def _next(self, kind):
        index = self.next_index[kind]
        self.next_index[kind] = index + 1
        return index

    def _inline_exports(self, i, kind, index):
        while self.is_keyword(i, "export"):
            name, i = self.name(i + 2)
            self.exports.append(encoding.name(name) + bytes((_EXTERN_KIND[kind],)) + uleb(index))
            i = self.close(i)
        return i

    def _inline_import(self, i):
        """(import "module" "name") -> (encoded names, index after it)."""
        module, i = self.name(i + 2)
        field, i = self.name(i)
        return encoding.name(module) + encoding.name(field), self.close(i)

    def _build_import(self, i, _):
        module, i = self.name(i)
        field, i = self.name(i)
        i = self.expect(i, "(")
        kind = self.toks[i]
        index = self._next(kind)
        ident, i = self.optional_id(i + 1)
        desc, i = _IMPORT_DESCS[kind](self, i, index, ident)
        self.imports.append(encoding.name(module) + encoding.name(field)
                            + bytes((_EXTERN_KIND[kind],)) + desc)
        return self.close(i)

    def _func_import_desc(self, i, index, ident):
        type_index, _, _, names, i = self.typeuse(i, allow_names=True)
        self._record_func_name(index, ident)
        self._record_param_names(index, names)
        return uleb(type_index), i

    def _table_import_desc(self, i, index, ident):
        return self.tabletype(i)

    def _memory_import_desc(self, i, index, ident):
        return self.memtype(i)

    def _global_import_desc(self, i, index, ident):
        return self.globaltype(i)

    def _build_func(self, i, is_import):
        index = self._next("func")
        ident, i = self.optional_id(i)
        i = self._inline_exports(i, "func", index)
        self._record_func_name(index, ident)
        if is_import:
            names, i = self._inline_import(i)
            type_index, _, _, param_names, i = self.typeuse(i, allow_names=True)
            self._record_param_names(index, param_names)
            self.imports.append(names + b"\x00" + uleb(type_index))
            return i
        type_index, params, _, param_names, i = self.typeuse(i, allow_names=True)
        self.func_types.append(uleb(type_index))
        self.local_names = {}
        self._bind_locals(param_names, 0, i)
        local_types, i = self._locals(i, len(param_names) if params is None else len(params))
        self.out = bytearray()
        self.labels = LabelStack()
        self.block_count, self.block_names = 0, {}
        self.hints = []
        i = self.instrs(i)
        if self.toks[i] != ")":
            self.bad_instruction(i)
        body_start = len(encode_locals(local_types))
        if self.hints:
            self.branch_hints[index] = [(body_start + at, value) for at, value in self.hints]
        if self.debug_names and self.local_names:
            self.local_names_by_func[index] = {v: k for k, v in self.local_names.items()}
        if self.debug_names and self.block_names:
            self.label_names_by_func[index] = self.block_names
        body = encode_locals(local_types) + self.out + b"\x0b"
        self.codes.append(uleb(len(body)) + body)
        return i

    def _bind_locals(self, names, first_index, i):
        for offset, name in enumerate(names):
            if name is None:
                continue
            if name in self.local_names:
                self.error("duplicate local", i)
            self.local_names[name] = first_index + offset

    def _locals(self, i, num_params):
        """(local ...)* -> ([valtype], index after)."""
        types = []
        while self.is_keyword(i, "local"):
            start = i
            i += 2
            ident, i = self.optional_id(i)
            if ident is not None:
                t, i = self.valtype(i)
                self._bind_locals([ident], num_params + len(types), start)
                types.append(t)
            else:
                while self.toks[i] != ")":
                    t, i = self.valtype(i)
                    types.append(t)
            i = self.close(i)
        return types, i

    def _record_func_name(self, index, ident):
        if ident is not None:
            self.func_names[index] = ident

    def _record_param_names(self, index, names):
        """An imported function's parameter names (the wat crate names them too)."""
        if self.debug_names and any(names):
            self.local_names_by_func[index] = _named(names)

    def note_block(self, label):
        """A block, loop or if opens in a function body: the name section's label map
        counts them all in text order and names those with a label."""
        if label is not None:
            self.block_names[self.block_count] = label
        self.block_count += 1

    def _build_table(self, i, is_import):
        index = self._next("table")
        _, i = self.optional_id(i)
        i = self._inline_exports(i, "table", index)
        if is_import:
            names, i = self._inline_import(i)
            desc, i = self.tabletype(i)
            self.imports.append(names + b"\x01" + desc)
            return i
        j = self.address_type(i)
        if self.toks[j] in REFTYPES and self.is_keyword(j + 1, "elem"):
            return self._table_with_elements(j, index)
        desc, i = self.tabletype(i)
        self.tables.append(desc)
        return i

    def _table_with_elements(self, i, table_index):
        """(table id? reftype (elem ...)): a table sized to fit, and its active segment."""
        elem_type, i = self.reftype(i)
        exprs = self.toks[i + 2] == "("
        if exprs:
            items, i = self._elem_exprs(i + 2)
        else:
            items, i = self._func_indices(i + 2)
        i = self.close(i)
        self.tables.append(bytes((elem_type,)) + encoding.limits(len(items), len(items)))
        offset = b"\x41\x00\x0b"                  # i32.const 0
        self.elems.append(elem_segment("active", table_index, offset, elem_type, items,
                                       self.wabt, explicit_table=True, exprs=exprs))
        return i

    def _build_memory(self, i, is_import):
        index = self._next("memory")
        _, i = self.optional_id(i)
        i = self._inline_exports(i, "memory", index)
        if is_import:
            names, i = self._inline_import(i)
            desc, i = self.memtype(i)
            self.imports.append(names + b"\x02" + desc)
            return i
        i = self.address_type(i)
        if self.is_keyword(i, "data"):
            data, i = self.strings(i + 2)
            i = self.close(i)
            pages = -(-len(data) // _PAGE)
            self.memories.append(encoding.limits(pages, pages))
            self.datas.append(data_segment(index, b"\x41\x00\x0b", data))
            return i
        desc, i = self.memtype(i)
        self.memories.append(desc)
        return i

    def _build_global(self, i, is_import):
        index = self._next("global")
        _, i = self.optional_id(i)
        i = self._inline_exports(i, "global", index)
        if is_import:
            names, i = self._inline_import(i)
            desc, i = self.globaltype(i)
            self.imports.append(names + b"\x03" + desc)
            return i
        desc, i = self.globaltype(i)
        init, i = self.expression(i)
        self.globals.append(desc + init)
        return i

    def _build_export(self, i, _):
        name, i = self.name(i)
        i = self.expect(i, "(")
        kind = self.toks[i]
        if kind not in _EXTERN_KIND:
            self.unexpected(i, "func, table, memory or global")
        index, i = self.index(i + 1, kind)
        self.exports.append(encoding.name(name) + bytes((_EXTERN_KIND[kind],)) + uleb(index))
        return self.close(i)

    def _build_start(self, i, _):
        if self.start_func is not None:
            self.error("multiple start sections", i - 2)
        self.start_func, i = self.index(i, "func")
        return i

    def _build_elem(self, i, _):
        toks = self.toks
        _, i = self.optional_id(i)
        table, explicit = 0, False
        if toks[i] == "declare":
            mode, offset = "declarative", None
            i += 1
        elif toks[i] == "(" or _is_number_token(toks[i]):
            mode = "active"
            if _is_number_token(toks[i]):                        # Wasm 1.0: (elem 0 ...)
                table, i = self.u32(i, "a table index")
                explicit = True
            elif self.is_keyword(i, "table"):
                table, i = self.index(i + 2, "table")
                i = self.close(i)
                explicit = True
            offset, i = self._offset(i)
            if _is_index_token(toks[i]) or toks[i] == ")":    # (elem (offset) funcidx*)
                items, i = self._func_indices(i)
                self.elems.append(elem_segment(mode, table, offset, FUNCREF, items, self.wabt,
                                               explicit))
                return i
        else:
            mode, offset = "passive", None
        exprs = toks[i] != "func"
        elem_type, items, i = self._elem_list(i)
        self.elems.append(elem_segment(mode, table, offset, elem_type, items, self.wabt,
                                       explicit, exprs))
        return i

    def _elem_list(self, i):
        """func funcidx* | reftype elemexpr* -> (elem type, items, index after)."""
        if self.toks[i] == "func":
            items, i = self._func_indices(i + 1)
            return FUNCREF, items, i
        elem_type, i = self.reftype(i)
        items, i = self._elem_exprs(i)
        return elem_type, items, i

    def _func_indices(self, i):
        """funcidx* as elements: each the expression ref.func x."""
        items = []
        while _is_index_token(self.toks[i]):
            index, i = self.index(i, "func")
            items.append(b"\xd2" + uleb(index) + b"\x0b")
        return items, i

    def _elem_exprs(self, i):
        items = []
        while self.toks[i] == "(":
            if self.is_keyword(i, "item"):
                expr, i = self.expression(i + 2)
                i = self.close(i)
            else:
                expr, i = self.folded_expression(i)
            items.append(expr)
        return items, i

    def _build_data(self, i, _):
        toks = self.toks
        _, i = self.optional_id(i)
        memory = 0
        offset = None
        if _is_number_token(toks[i]):                    # Wasm 1.0: (data 0 (offset) ...)
            memory, i = self.u32(i, "a memory index")
            offset, i = self._offset(i)
        elif self.is_keyword(i, "memory"):
            memory, i = self.index(i + 2, "memory")
            i = self.close(i)
            offset, i = self._offset(i)
        elif toks[i] == "(":
            offset, i = self._offset(i)
        data, i = self.strings(i)
        self.datas.append(data_segment(memory, offset, data))
        return i

    def _offset(self, i):
        """(offset instr*) or one folded instruction -> encoded expression."""
        if self.is_keyword(i, "offset"):
            expr, i = self.expression(i + 2)
            return expr, self.close(i)
        if self.toks[i] != "(":
            self.unexpected(i, "an offset expression")
        return self.folded_expression(i)

    def bad_literal(self, i):
        """A token where a number literal must be: the spec lexer makes a malformed number
        an unknown operator; the script-only nan:canonical/nan:arithmetic are tokens."""
        tok = self.toks[i]
        if tok in ("(", ")", "", "nan:canonical", "nan:arithmetic"):
            self.unexpected(i, "a number")
        self.error(f"unknown operator {tok!r} (not a number literal)", i)

_SCANNERS = {
    "type": ModuleAssembler._scan_type,
    "import": ModuleAssembler._scan_import,
    "func": ModuleAssembler._scan_func,
    "table": ModuleAssembler._scan_table,
    "memory": ModuleAssembler._scan_memory,
    "global": ModuleAssembler._scan_global,
    "elem": lambda self, i: self._scan_segment("elem", i),
    "data": lambda self, i: self._scan_segment("data", i),
    "export": ModuleAssembler._scan_nothing,
    "start": ModuleAssembler._scan_nothing,
    "@custom": ModuleAssembler._scan_nothing,
    "@producers": ModuleAssembler._scan_nothing,
    "@dylink.0": ModuleAssembler._scan_nothing,
}

_BUILDERS = {
    "type": None,                 # parsed by the scan
    "import": ModuleAssembler._build_import,
    "func": ModuleAssembler._build_func,
    "table": ModuleAssembler._build_table,
    "memory": ModuleAssembler._build_memory,
    "global": ModuleAssembler._build_global,
    "export": ModuleAssembler._build_export,
    "start": ModuleAssembler._build_start,
    "elem": ModuleAssembler._build_elem,
    "data": ModuleAssembler._build_data,
    "@custom": ModuleAssembler._build_custom,
    "@producers": ModuleAssembler._build_producers,
    "@dylink.0": ModuleAssembler._build_dylink,
}

_IMPORT_DESCS = {
    "func": ModuleAssembler._func_import_desc,
    "table": ModuleAssembler._table_import_desc,
    "memory": ModuleAssembler._memory_import_desc,
    "global": ModuleAssembler._global_import_desc,
}


def _is_index_token(tok):
    c = tok[:1]
    return c == "$" or "0" <= c <= "9"


def _is_number_token(tok):
    return "0" <= tok[:1] <= "9"


def _named(names):
    """[ident or None] by position -> {position: ident} for the named ones."""
    return {k: name for k, name in enumerate(names) if name is not None}
