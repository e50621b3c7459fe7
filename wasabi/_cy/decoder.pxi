# The module decoder: Wasm 2.0 binary -> ModuleDesc.
#
# Reading follows the reference interpreter (spec/interpreter/binary/decode.ml) so that
# malformed modules fail with the spec's phrases:
# - every read inside a section is bounded by the end of the module, not of the section;
#   a section whose content does not end exactly at its declared size then fails with
#   "section size mismatch" (bounds are still always checked: nothing reads past the buffer);
# - lengths (section sizes, vector counts, names, byte strings) are checked against the
#   bytes left counted from the start of the length field ("length out of bounds");
# - code bodies are only located here: wasabi/_cy/codevalidator.pxi walks them.
# Hot loops stay in C over `const uint8_t*`; Python objects are built once per entry.

cimport cython
import gc
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.ref cimport PyObject
from cpython.object cimport PyTypeObject

cdef enum:
    SEC_CUSTOM = 0
    SEC_TYPE = 1
    SEC_IMPORT = 2
    SEC_FUNCTION = 3
    SEC_TABLE = 4
    SEC_MEMORY = 5
    SEC_GLOBAL = 6
    SEC_EXPORT = 7
    SEC_START = 8
    SEC_ELEMENT = 9
    SEC_CODE = 10
    SEC_DATA = 11
    SEC_DATACOUNT = 12

# Position of each non-custom section in the required order (datacount sits between
# element and code although its id is 12).
cdef int[13] _SECTION_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10]

cdef str _EOF_MSG = "unexpected end of section or function"
cdef unsigned long long _MAX_LOCALS = 0xFFFFFFFF
# An implementation limit (the spec allows them), as wasmtime's: every local becomes
# a stack slot in compiled code, so 2^32 of them could only exhaust memory.
cdef unsigned long long _MAX_LOCALS_IMPL = 50000

# The Python classes of the ModuleDesc, imported on first use: wasabi.module.desc
# imports the wasabi package, which imports this extension.
cdef object _CompileError = None
cdef object _ModuleDesc, _FuncDesc, _ImportDesc, _ExportDesc, _GlobalDesc, _ElemDesc
cdef object _DataDesc, _ConstExpr, _CustomSection, _NameMap
cdef object _FuncType, _Limits, _TableType, _MemoryType, _GlobalType
cdef _RecordFactory _new_func_desc, _new_const_expr, _new_export_desc


cdef _load_classes():
    global _CompileError, _ModuleDesc, _FuncDesc, _ImportDesc, _ExportDesc, _GlobalDesc
    global _ElemDesc, _DataDesc, _ConstExpr, _CustomSection, _NameMap
    global _FuncType, _Limits, _TableType, _MemoryType, _GlobalType
    from wasabi.errors import CompileError
    from wasabi.module import desc
    from wasabi.binary import types
    _ModuleDesc, _FuncDesc, _ImportDesc = desc.ModuleDesc, desc.FuncDesc, desc.ImportDesc
    _ExportDesc, _GlobalDesc, _ElemDesc = desc.ExportDesc, desc.GlobalDesc, desc.ElemDesc
    _DataDesc, _ConstExpr, _CustomSection = desc.DataDesc, desc.ConstExpr, desc.CustomSection
    _NameMap = desc.NameMap
    _FuncType, _Limits, _TableType = types.FuncType, types.Limits, types.TableType
    _MemoryType, _GlobalType = types.MemoryType, types.GlobalType
    _CompileError = CompileError
    global _new_func_desc, _new_const_expr, _new_export_desc
    _new_func_desc = _RecordFactory(_FuncDesc)
    _new_export_desc = _RecordFactory(_ExportDesc)
    _new_const_expr = _RecordFactory(_ConstExpr)


cdef extern from "Python.h":
    PyObject* PyType_GenericAlloc(PyTypeObject* type, Py_ssize_t nitems) except NULL
    PyObject* PyTuple_GET_ITEM_BORROWED "PyTuple_GET_ITEM" (object p, Py_ssize_t pos)
    void PyTuple_SET_ITEM_STEAL "PyTuple_SET_ITEM" (PyObject* p, Py_ssize_t pos, PyObject* o)
    void Py_INCREF_RAW "Py_INCREF" (PyObject* o)


@cython.final
cdef class _RecordFactory:
    """Builds a NamedTuple record (wasabi.module.desc) from a tuple of all its fields as
    tuple.__new__(cls, values) does (the class's tp_alloc, the items copied), without the
    class's Python-level __new__ nor a call through tuple.__new__: the decoder makes one
    record per function, export and element item (a third less time per record)."""
    cdef object cls

    def __cinit__(self, cls):
        if not (isinstance(cls, type) and issubclass(cls, tuple)):
            raise TypeError("a record class is a tuple subclass")
        self.cls = cls

    cdef object make(self, tuple values):
        cdef Py_ssize_t i, n = len(values)
        # a zeroed, GC-tracked tuple of the subclass (tuple_subtype_new does the same)
        cdef PyObject* record = PyType_GenericAlloc(<PyTypeObject*>self.cls, n)
        cdef PyObject* item
        for i in range(n):
            item = PyTuple_GET_ITEM_BORROWED(values, i)
            Py_INCREF_RAW(item)
            PyTuple_SET_ITEM_STEAL(record, i, item)
        return <object>record


cdef inline bint _is_valtype(int b) noexcept nogil:
    # i32 i64 f32 f64 v128 funcref externref
    return (0x7B <= b <= 0x7F) or b == 0x70 or b == 0x6F


@cython.final
cdef class _Cursor:
    """A position in the module bytes and the readers over it; every error raises CompileError."""
    cdef bytes data
    cdef const uint8_t* buf
    cdef Py_ssize_t pos
    cdef Py_ssize_t end

    def __cinit__(self, bytes data not None, Py_ssize_t pos, Py_ssize_t end):
        if not 0 <= pos <= end <= len(data):
            raise ValueError(f"cursor range {pos}..{end} outside 0..{len(data)}")
        self.data = data
        self.buf = data
        self.pos = pos
        self.end = end

    cdef int narrow(self, Py_ssize_t end) except -1:
        """Bound the reads to `end` (a sized part: a custom section's name, a code entry).
        Lengths are checked from the start of their field, so a sized part may claim a few
        bytes past the module: those are cut off, never read."""
        if end > len(self.data):
            end = len(self.data)
        self.end = end
        return 0

    cdef int fail(self, str msg, Py_ssize_t at) except -1:
        raise _CompileError(msg, at)

    cdef int leb_fail(self, int err, Py_ssize_t at) except -1:
        if err == LEB_EOF:
            return self.fail(_EOF_MSG, self.end)
        return self.fail(leb_error_message(err), at)

    cdef inline int byte(self) except -1:
        if self.pos >= self.end:
            self.fail(_EOF_MSG, self.end)
        self.pos += 1
        return self.buf[self.pos - 1]

    cdef inline uint32_t u32(self) except? 0xFFFFFFFF:
        cdef int err = 0
        cdef Py_ssize_t start = self.pos
        cdef uint32_t v = read_u32(self.buf, self.end, &self.pos, &err)
        if err:
            self.leb_fail(err, start)
        return v

    cdef inline int64_t sleb(self, int bits) except? -1:
        cdef int err = 0
        cdef Py_ssize_t start = self.pos
        cdef int64_t v = read_sleb(self.buf, self.end, &self.pos, &err, bits)
        if err:
            self.leb_fail(err, start)
        return v

    cdef inline uint64_t fixed(self, int nbytes) except? 0xFFFFFFFFFFFFFFFF:
        cdef int err = 0
        cdef uint64_t v = read_fixed(self.buf, self.end, &self.pos, &err, nbytes)
        if err:
            self.fail(_EOF_MSG, self.end)
        return v

    cdef Py_ssize_t length(self) except -1:
        """A u32 length that must not exceed the bytes left, counted (as the reference
        interpreter does) from the start of the length field itself."""
        cdef Py_ssize_t start = self.pos
        cdef uint32_t n = self.u32()
        if <Py_ssize_t>n > self.end - start:
            self.fail("length out of bounds", start)
        return n

    cdef bytes take(self, Py_ssize_t n):
        """The next n bytes, as a new bytes object."""
        if n > self.end - self.pos:
            self.fail(_EOF_MSG, self.end)
        cdef bytes out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    cdef str name(self):
        """A length-prefixed UTF-8 name."""
        cdef Py_ssize_t n = self.length()
        cdef Py_ssize_t start = self.pos
        if n > self.end - start:
            self.fail(_EOF_MSG, self.end)
        self.pos += n
        try:
            return PyUnicode_DecodeUTF8(<const char*>self.buf + start, n, NULL)
        except UnicodeDecodeError:
            self.fail("malformed UTF-8 encoding", start)

    cdef int valtype(self) except -1:
        cdef Py_ssize_t at = self.pos
        cdef int b = self.byte()
        if _is_valtype(b):
            return b
        if b & 0x80:       # value types are 7-bit signed LEB128 in the grammar
            self.fail("integer representation too long", at)
        return self.fail("malformed value type", at)

    cdef int reftype(self) except -1:
        cdef Py_ssize_t at = self.pos
        cdef int b = self.byte()
        if b == 0x70 or b == 0x6F:
            return b
        return self.fail("malformed reference type", at)

    cdef object limits(self):
        # the flag is a 1-bit LEB128 in Wasm 2.0 (bit 0: a maximum follows)
        cdef Py_ssize_t at = self.pos
        cdef int flag = self.byte()
        cdef uint32_t lo, hi
        if flag & 0x80:
            self.fail("integer representation too long", at)
        if flag > 1:
            self.fail("integer too large", at)
        lo = self.u32()
        if flag:
            hi = self.u32()
            return _Limits(lo, hi)
        return _Limits(lo, None)

    cdef object table_type(self):
        cdef int et = self.reftype()
        return _TableType(et, self.limits())

    cdef object global_type(self):
        cdef int vt = self.valtype()
        cdef Py_ssize_t at = self.pos
        cdef int mut = self.byte()
        if mut > 1:
            self.fail("malformed mutability", at)
        return _GlobalType(vt, mut == 1)

    cdef object const_expr(self):
        """Instructions up to the `end` that closes the expression, as a ConstExpr.

        Non-constant instructions are decoded too (validation reports them), and their
        blocks nest, so that the expression ends at the right `end`."""
        cdef Py_ssize_t start = self.pos
        cdef Py_ssize_t at
        cdef int op, depth = 0
        cdef uint32_t sub
        cdef list instrs = []
        cdef object imm
        while True:
            at = self.pos
            op = self.byte()
            if op == 0x41:                  # i32.const
                imm = <int32_t>self.sleb(32)
            elif op == 0x42:                # i64.const
                imm = self.sleb(64)
            elif op == 0x43:                # f32.const (bit pattern)
                imm = self.fixed(4)
            elif op == 0x44:                # f64.const (bit pattern)
                imm = self.fixed(8)
            elif op == 0x23 or op == 0xD2:  # global.get, ref.func
                imm = self.u32()
            elif op == 0xD0:                # ref.null t
                imm = self.reftype()
            elif op == 0x0B:                # end
                if depth == 0:
                    break
                depth -= 1
                imm = None
            elif op == 0xFD:                # prefixed ops are kept as (prefix << 8) + sub
                sub = self.u32()
                if sub == 12:               # v128.const
                    op = 0xFD0C
                    imm = int.from_bytes(self.take(16), "little")
                else:
                    op = 0xFD00 + sub
                    imm = self.skip_immediates(0xFD, sub, at)
            elif op == 0xFC:
                sub = self.u32()
                op = 0xFC00 + sub
                imm = self.skip_immediates(0xFC, sub, at)
            else:
                if op == 0x02 or op == 0x03 or op == 0x04:   # block, loop, if
                    depth += 1
                imm = self.skip_immediates(op, -1, at)
            instrs.append((op, imm))
        return _new_const_expr.make((tuple(instrs), start))

    cdef object skip_immediates(self, int op, long sub, Py_ssize_t at):
        """Decode the immediates of a non-constant instruction in a constant expression.

        This is the rare path of invalid modules: it asks the opcode table
        (wasabi.binary.opcodes) through _skip_nonconst_immediates (decoder_nonconst.pxi)."""
        self.pos = _skip_nonconst_immediates(self.data, self.pos, self.end, op, sub, at)
        return None


def _read_u32_at(bytes data, Py_ssize_t pos, Py_ssize_t end):
    """(value, new_pos) of a u32 LEB128 at pos; CompileError when malformed (for Python helpers)."""
    cdef _Cursor c = _Cursor(data, pos, end)
    cdef uint32_t v = c.u32()
    return v, c.pos


def _read_sleb_at(bytes data, Py_ssize_t pos, Py_ssize_t end, int bits):
    """(value, new_pos) of a signed LEB128 of `bits` bits at pos; CompileError when malformed."""
    cdef _Cursor c = _Cursor(data, pos, end)
    cdef int64_t v = c.sleb(bits)
    return v, c.pos


@cython.final
cdef class _ModuleDecoder:
    """Decodes the sections of one module in order, then builds its ModuleDesc."""
    cdef _Cursor c
    cdef bytes data
    cdef Py_ssize_t module_end
    cdef list types, imports, func_type_indices, funcs, tables, memories, globals
    cdef list exports, elems, datas, customs
    cdef object start, data_count
    cdef Py_ssize_t num_imported_funcs
    cdef bint have_code_section
    cdef Py_ssize_t code_section_offset
    cdef Py_ssize_t section_end         # of the section being decoded

    def __cinit__(self, bytes data):
        self.data = data
        self.module_end = len(data)
        self.c = _Cursor(data, 0, self.module_end)
        self.types, self.imports, self.func_type_indices, self.funcs = [], [], [], []
        self.tables, self.memories, self.globals, self.exports = [], [], [], []
        self.elems, self.datas, self.customs = [], [], []
        self.start = None
        self.data_count = None
        self.num_imported_funcs = 0

    cdef header(self):
        cdef const uint8_t* b = self.c.buf
        if self.module_end < 4:
            self.c.fail("unexpected end", self.module_end)
        if not (b[0] == 0 and b[1] == 0x61 and b[2] == 0x73 and b[3] == 0x6D):
            self.c.fail("magic header not detected", 0)
        if self.module_end < 8:
            self.c.fail("unexpected end", self.module_end)
        if not (b[4] == 1 and b[5] == 0 and b[6] == 0 and b[7] == 0):
            self.c.fail("unknown binary version", 4)
        self.c.pos = 8

    cdef object run(self):
        cdef _Cursor c = self.c
        cdef int sid, last_rank = 0
        cdef Py_ssize_t id_at, size, sec_start, sec_end
        self.header()
        while c.pos < self.module_end:
            id_at = c.pos
            sid = c.buf[c.pos]
            if sid > SEC_DATACOUNT:
                c.fail("malformed section id", id_at)
            c.pos += 1
            size = c.length()
            sec_start = c.pos
            sec_end = sec_start + size
            if sid != SEC_CUSTOM:
                # out of order or repeated: the reference decoder stops at such a section
                if _SECTION_RANK[sid] <= last_rank:
                    c.fail("unexpected content after last section", id_at)
                last_rank = _SECTION_RANK[sid]
            self.section_end = sec_end
            self.section(sid, sec_start, sec_end)
            if c.pos != sec_end:
                c.fail("section size mismatch", sec_start)
        self.check_counts()
        return self.build()

    cdef section(self, int sid, Py_ssize_t start, Py_ssize_t end):
        if sid == SEC_CUSTOM:
            self.custom_section(start, end)
        elif sid == SEC_TYPE:
            self.type_section()
        elif sid == SEC_IMPORT:
            self.import_section()
        elif sid == SEC_FUNCTION:
            self.function_section()
        elif sid == SEC_TABLE:
            self.table_section()
        elif sid == SEC_MEMORY:
            self.memory_section()
        elif sid == SEC_GLOBAL:
            self.global_section()
        elif sid == SEC_EXPORT:
            self.export_section()
        elif sid == SEC_START:
            self.start = self.c.u32()
        elif sid == SEC_ELEMENT:
            self.element_section()
        elif sid == SEC_DATACOUNT:
            self.data_count = self.c.u32()
        elif sid == SEC_CODE:
            self.code_section(start)
        elif sid == SEC_DATA:
            self.data_section()

    # --- sections -------------------------------------------------------------------

    cdef custom_section(self, Py_ssize_t start, Py_ssize_t end):
        cdef _Cursor c = self.c
        # the name must fit inside the section
        c.narrow(end)
        name = c.name()
        c.end = self.module_end
        payload = c.take(end - c.pos)
        self.customs.append(_CustomSection(name, payload, start))

    cdef type_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, j, n = c.length(), np, nr, at
        cdef int form
        for i in range(n):
            at = c.pos
            form = c.byte()
            if form != 0x60:
                if form & 0x80:   # the form is a 7-bit signed LEB128 (-0x20)
                    c.fail("integer representation too long", at)
                c.fail("malformed function type", at)
            np = c.length()
            params = tuple([c.valtype() for j in range(np)])
            nr = c.length()
            results = tuple([c.valtype() for j in range(nr)])
            self.types.append(_FuncType(params, results))

    cdef import_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length(), at
        cdef int kind
        for i in range(n):
            module = c.name()
            field = c.name()
            at = c.pos
            kind = c.byte()
            if kind == 0:
                desc = c.u32()
                self.num_imported_funcs += 1
            elif kind == 1:
                desc = c.table_type()
            elif kind == 2:
                desc = _MemoryType(c.limits())
            elif kind == 3:
                desc = c.global_type()
            else:
                c.fail("malformed import kind", at)
            self.imports.append(_ImportDesc(module, field, kind, desc))

    cdef function_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        for i in range(n):
            self.func_type_indices.append(c.u32())

    cdef table_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        for i in range(n):
            self.tables.append(c.table_type())

    cdef memory_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        for i in range(n):
            self.memories.append(_MemoryType(c.limits()))

    cdef global_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        for i in range(n):
            gt = c.global_type()
            self.globals.append(_GlobalDesc(gt, c.const_expr()))

    cdef export_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length(), at
        cdef int kind
        for i in range(n):
            name = c.name()
            at = c.pos
            kind = c.byte()
            if kind > 3:
                c.fail("malformed export kind", at)
            self.exports.append(_new_export_desc.make((name, kind, c.u32())))

    cdef element_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        for i in range(n):
            self.elems.append(self.element_segment())

    cdef object element_segment(self):
        # flags: bit 0 = passive or declarative, bit 1 = explicit table index (active) or
        # declarative (otherwise), bit 2 = items are expressions instead of function indices
        cdef _Cursor c = self.c
        cdef Py_ssize_t at = c.pos
        cdef uint32_t flags = c.u32()
        cdef uint32_t table_index = 0
        cdef int elem_type = 0x70
        offset = None
        if flags > 7:
            c.fail("malformed elements segment kind", at)
        if flags & 1:
            mode = "declarative" if flags & 2 else "passive"
        else:
            mode = "active"
            if flags & 2:
                table_index = c.u32()
            offset = c.const_expr()
        if flags & 3:              # an elemkind or reftype byte follows
            if flags & 4:
                elem_type = c.reftype()
            else:
                at = c.pos
                if c.byte() != 0x00:
                    c.fail("malformed element kind", at)
        if flags & 4:
            init = self.element_exprs()
        else:
            init = self.element_func_indices()
        return _ElemDesc(mode, elem_type, init, table_index, offset)

    cdef tuple element_exprs(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length()
        return tuple([c.const_expr() for i in range(n)])

    cdef tuple element_func_indices(self):
        # the short encoding: each item is a function index, stored as `ref.func x`
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, at, n = c.length()
        cdef list out = []
        for i in range(n):
            at = c.pos
            out.append(_new_const_expr.make((((0xD2, c.u32()),), at)))
        return tuple(out)

    cdef code_section(self, Py_ssize_t section_start):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length(), entry_at, size, entry_end, nruns, r
        cdef uint32_t count
        cdef unsigned long long total
        cdef int vt
        cdef list funcs = self.funcs
        cdef list type_indices = self.func_type_indices
        cdef Py_ssize_t first_index = self.num_imported_funcs
        cdef const uint8_t* buf = c.buf
        cdef tuple empty = ()
        cdef dict locals_cache = {}
        cdef Py_ssize_t locals_at
        self.have_code_section = True
        self.code_section_offset = section_start
        if n != len(type_indices):
            c.fail("function and code section have inconsistent lengths", section_start)
        for i in range(n):
            entry_at = c.pos
            size = c.length()
            entry_end = c.pos + size
            if entry_end > self.module_end:
                c.fail(_EOF_MSG, self.module_end)
            c.narrow(entry_end)            # locals must stay inside the entry
            locals_at = c.pos
            nruns = c.length()
            total = 0
            if nruns == 0:
                local_runs = empty
            else:
                runs = []
                for r in range(nruns):
                    count = c.u32()
                    vt = c.valtype()
                    total += count
                    runs.append((count, vt))
                if total > _MAX_LOCALS:
                    c.fail("too many locals", entry_at)
                if total > _MAX_LOCALS_IMPL:
                    c.fail("too many locals (wasabi's limit is 50000 per function)", entry_at)
                # functions share few distinct local declarations: keep one tuple of each
                key = self.data[locals_at:c.pos]
                local_runs = locals_cache.get(key)
                if local_runs is None:
                    local_runs = tuple(runs)
                    locals_cache[key] = local_runs
            c.end = self.module_end
            if c.pos >= entry_end:
                c.fail(_EOF_MSG, entry_end)
            if buf[entry_end - 1] != 0x0B:
                self.missing_end(entry_end, section_start)
            funcs.append(_new_func_desc.make((first_index + i, type_indices[i], local_runs,
                                              total, c.pos, entry_end, entry_at)))
            c.pos = entry_end

    cdef int missing_end(self, Py_ssize_t entry_end, Py_ssize_t section_start) except -1:
        """A body whose last byte is not `end`. The reference decoder reads on past the
        entry, so report what it reports: at the end of the module it runs out of bytes,
        at the end of the code section it overruns the section, else it meets the next
        entry's bytes where an `end` must be."""
        cdef _Cursor c = self.c
        if entry_end == self.module_end:
            return c.fail(_EOF_MSG, entry_end)
        if entry_end == self.section_end:
            return c.fail("section size mismatch", section_start)
        return c.fail("END opcode expected", entry_end - 1)

    cdef data_section(self):
        cdef _Cursor c = self.c
        cdef Py_ssize_t i, n = c.length(), at
        cdef uint32_t flags, mem = 0
        for i in range(n):
            at = c.pos
            flags = c.u32()
            if flags == 1:
                self.datas.append(_DataDesc("passive", c.take(c.length())))
                continue
            if flags == 0:
                mem = 0
            elif flags == 2:
                mem = c.u32()
            else:
                c.fail("malformed data segment kind", at)
            offset = c.const_expr()
            self.datas.append(_DataDesc("active", c.take(c.length()), mem, offset))

    # --- whole-module checks and the result ------------------------------------------

    cdef check_counts(self):
        if len(self.func_type_indices) != len(self.funcs):
            self.c.fail("function and code section have inconsistent lengths",
                        self.code_section_offset if self.have_code_section else self.module_end)
        if self.data_count is not None and self.data_count != len(self.datas):
            self.c.fail("data count and data section have inconsistent lengths", self.module_end)

    cdef object build(self):
        return _ModuleDesc(
            data=self.data, types=tuple(self.types), imports=tuple(self.imports),
            funcs=tuple(self.funcs), tables=tuple(self.tables),
            memories=tuple(self.memories), globals=tuple(self.globals),
            exports=tuple(self.exports), start=self.start, elems=tuple(self.elems),
            datas=tuple(self.datas), data_count=self.data_count,
            customs=tuple(self.customs),
            names=self.deferred_names())

    cdef object deferred_names(self):
        """The first `name` custom section, decoded when first asked for."""
        for custom in self.customs:
            if custom.name == "name":
                return _DeferredNames(custom.data)
        return None


def decode_module(bytes data not None):
    """Decode a Wasm 2.0 binary module into a ModuleDesc (CompileError when malformed).

    Code bodies are located, not checked: validation walks them."""
    if _CompileError is None:
        _load_classes()
    # The decoder makes tens of thousands of small tuples that all stay alive: collection
    # passes during the build find nothing to free and cost a third of the decode time.
    cdef bint gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _ModuleDecoder(data).run()
    finally:
        if gc_was_enabled:
            gc.enable()
