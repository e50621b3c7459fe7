"""A small reader and writer of wasm binaries: enough to add probe functions to a module.

wasmtime's Python API cannot pass v128 values and rounds f32 through Python floats (a signalling
NaN comes back quieted), and a module's internal globals are invisible from outside. So every
module is rewritten once, before both engines see it (both run the same bytes):

- for each exported function F a probe `__fz_call_F` that takes and returns integers only
  (f32/f64 as their bits, v128 as two i64 lanes, a reference result as ref.is_null; reference
  parameters are passed as null), calls F directly and converts its results;
- `__fz_state`, which returns every global (the same integer forms), in index order;
- an export `__fz_mem` of memory 0 when the module does not export it already.

Wasm 2.0 only: every type is a function type, value types are one byte.
"""
from __future__ import annotations

from dataclasses import dataclass, field

I32, I64, F32, F64, V128, FUNCREF, EXTERNREF = 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F
NAMES = {I32: "i32", I64: "i64", F32: "f32", F64: "f64", V128: "v128", FUNCREF: "funcref",
         EXTERNREF: "externref"}
REFS = (FUNCREF, EXTERNREF)
# where a missing section goes: the binary order of the non-custom sections
ORDER = (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11)
PROBE_PREFIX = "__fz_call_"
STATE_EXPORT = "__fz_state"
MEMORY_EXPORT = "__fz_mem"


class BadModule(ValueError):
    """Bytes this reader does not understand (not wasm 2.0, or malformed)."""


# --- LEB128

def uleb(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def vec(items):
    return uleb(len(items)) + b"".join(items)


def name(text):
    raw = text.encode()
    return uleb(len(raw)) + raw


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def byte(self):
        if self.pos >= len(self.data):
            raise BadModule("unexpected end")
        self.pos += 1
        return self.data[self.pos - 1]

    def bytes(self, count):
        if self.pos + count > len(self.data):
            raise BadModule("unexpected end")
        self.pos += count
        return self.data[self.pos - count:self.pos]

    def uleb(self):
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
            if shift > 63:
                raise BadModule("LEB128 too long")

    def name(self):
        return self.bytes(self.uleb()).decode("utf-8", "replace")

    def limits(self):
        flags = self.byte()
        self.uleb()
        if flags & 1:
            self.uleb()

    def const_expr(self):
        """Skips a constant expression (its bytes are kept untouched by the writer)."""
        while True:
            op = self.byte()
            if op == 0x0B:
                return
            if op in (0x41, 0x42, 0x23, 0xD2):
                self.uleb()
            elif op == 0x43:
                self.bytes(4)
            elif op == 0x44:
                self.bytes(8)
            elif op == 0xD0:
                self.byte()
            elif op == 0xFD and self.uleb() == 12:
                self.bytes(16)
            else:
                raise BadModule(f"constant expression opcode {op:#x}")


@dataclass
class Module:
    """The parts of a module the probes need; `sections` keeps every section's bytes."""
    sections: list = field(default_factory=list)  # [(id, payload)]
    types: list = field(default_factory=list)     # [(params, results)] as bytes of valtypes
    func_types: list = field(default_factory=list)  # type index per function (imports first)
    func_imports: list = field(default_factory=list)  # [(module, name, type index)]
    other_imports: list = field(default_factory=list)  # [(module, name, kind)]
    global_types: list = field(default_factory=list)  # valtype per global (imports first)
    memories: int = 0
    exports: list = field(default_factory=list)   # [(name, kind, index)]
    code_count: int = 0

    def payload(self, section_id):
        return next((p for i, p in self.sections if i == section_id), None)

    def exported_functions(self):
        """[(export name, function index, (params, results))] in export order."""
        return [(n, index, self.types[self.func_types[index]])
                for n, kind, index in self.exports if kind == 0]


def read_types(r, module):
    for _ in range(r.uleb()):
        if r.byte() != 0x60:
            raise BadModule("not a function type")
        params = r.bytes(r.uleb())
        module.types.append((params, r.bytes(r.uleb())))


def read_imports(r, module):
    for _ in range(r.uleb()):
        mod, field_name, kind = r.name(), r.name(), r.byte()
        if kind == 0:
            index = r.uleb()
            module.func_types.append(index)
            module.func_imports.append((mod, field_name, index))
            continue
        module.other_imports.append((mod, field_name, kind))
        if kind == 1:
            r.byte()
            r.limits()
        elif kind == 2:
            r.limits()
            module.memories += 1
        elif kind == 3:
            module.global_types.append(r.byte())
            r.byte()
        else:
            raise BadModule(f"import kind {kind}")


def read_globals(r, module):
    for _ in range(r.uleb()):
        module.global_types.append(r.byte())
        r.byte()
        r.const_expr()


def read_exports(r, module):
    for _ in range(r.uleb()):
        module.exports.append((r.name(), r.byte(), r.uleb()))


READERS = {1: read_types, 2: read_imports, 6: read_globals, 7: read_exports}


def parse(data: bytes) -> Module:
    if data[:8] != b"\0asm\1\0\0\0":
        raise BadModule("not a wasm 1.0 binary")
    module, r = Module(), Reader(data, 8)
    while r.pos < len(data):
        section_id = r.byte()
        payload = r.bytes(r.uleb())
        module.sections.append((section_id, payload))
        sub = Reader(payload)
        if section_id in READERS:
            READERS[section_id](sub, module)
        elif section_id == 3:
            module.func_types += [sub.uleb() for _ in range(sub.uleb())]
        elif section_id == 5:
            module.memories += sub.uleb()
        elif section_id == 10:
            module.code_count = sub.uleb()
    return module


# --- the probes

def flat(valtype):
    """The integer types a value of `valtype` is passed as (refs: none as a parameter)."""
    return {I32: b"\x7f", I64: b"\x7e", F32: b"\x7f", F64: b"\x7e", V128: b"\x7e\x7e"}.get(valtype, b"")


def flat_result(valtype):
    return b"\x7f" if valtype in REFS else flat(valtype)


def get_local(index):
    return b"\x20" + uleb(index)


def push_param(valtype, local):
    """Code that pushes parameter `valtype` from its flat form at `local`; (code, locals used)."""
    if valtype in (I32, I64):
        return get_local(local), 1
    if valtype == F32:
        return get_local(local) + b"\xbe", 1              # f32.reinterpret_i32
    if valtype == F64:
        return get_local(local) + b"\xbf", 1              # f64.reinterpret_i64
    if valtype == V128:                                  # i64x2.splat, i64x2.replace_lane 1
        return get_local(local) + b"\xfd\x12" + get_local(local + 1) + b"\xfd\x1e\x01", 2
    return b"\xd0" + bytes([valtype]), 0                 # ref.null


def flatten_top(valtype, local):
    """Code that turns the value in `local` into its flat integer results."""
    if valtype == F32:
        return get_local(local) + b"\xbc"                 # i32.reinterpret_f32
    if valtype == F64:
        return get_local(local) + b"\xbd"                 # i64.reinterpret_f64
    if valtype == V128:                                  # i64x2.extract_lane 0 and 1
        return get_local(local) + b"\xfd\x1d\x00" + get_local(local) + b"\xfd\x1d\x01"
    if valtype in REFS:
        return get_local(local) + b"\xd1"                 # ref.is_null
    return get_local(local)


def locals_decl(valtypes):
    return vec([b"\x01" + bytes([t]) for t in valtypes])


def flatten_results(results, first_local):
    """Pops `results` into locals from first_local on, then pushes each one flattened."""
    code = b"".join(b"\x21" + uleb(first_local + i) for i in reversed(range(len(results))))
    return code + b"".join(flatten_top(t, first_local + i) for i, t in enumerate(results))


def call_probe(func_index, params, results):
    """(type, body) of the probe of a function with these params and results."""
    code, local = b"", 0
    for valtype in params:
        push, used = push_param(valtype, local)
        code += push
        local += used
    code += b"\x10" + uleb(func_index) + flatten_results(results, local)
    probe_type = (b"".join(flat(t) for t in params), b"".join(flat_result(t) for t in results))
    return probe_type, locals_decl(results) + code + b"\x0b"


def state_probe(global_types):
    code = b"".join(b"\x23" + uleb(i) for i in range(len(global_types)))
    body = locals_decl(global_types) + code + flatten_results(global_types, 0) + b"\x0b"
    return (b"", b"".join(flat_result(t) for t in global_types)), body


def encode_type(params, results):
    return b"\x60" + uleb(len(params)) + params + uleb(len(results)) + results


def append_to_vector(payload, items):
    """A vector section's payload with items appended (its count fixed up)."""
    r = Reader(payload or uleb(0))
    count = r.uleb()
    return uleb(count + len(items)) + payload[r.pos:] + b"".join(items) if payload else vec(items)


def set_section(sections, section_id, payload):
    for i, (sid, _) in enumerate(sections):
        if sid == section_id:
            sections[i] = (section_id, payload)
            return
    rank = ORDER.index(section_id)
    at = next((i for i, (sid, _) in enumerate(sections) if sid and ORDER.index(sid) > rank), len(sections))
    sections.insert(at, (section_id, payload))


def add_probes(data: bytes) -> bytes:
    """The module with the probes described above added (nothing else changes)."""
    module = parse(data)
    new_types, new_funcs, new_bodies, new_exports = [], [], [], []
    if {n for n, _, _ in module.exports} & {STATE_EXPORT, MEMORY_EXPORT}:
        raise BadModule("the module already has an export named like a probe")

    def add(export_name, probe_type, body):
        new_funcs.append(uleb(len(module.types) + len(new_types)))
        new_types.append(encode_type(*probe_type))
        new_bodies.append(uleb(len(body)) + body)
        new_exports.append(name(export_name) + b"\x00" + uleb(len(module.func_types) + len(new_funcs) - 1))

    for export_name, index, (params, results) in module.exported_functions():
        add(PROBE_PREFIX + export_name, *call_probe(index, params, results))
    add(STATE_EXPORT, *state_probe(module.global_types))
    if module.memories and not any(kind == 2 for _, kind, _ in module.exports):
        new_exports.append(name(MEMORY_EXPORT) + b"\x02\x00")
    sections = list(module.sections)
    set_section(sections, 1, append_to_vector(module.payload(1), new_types))
    set_section(sections, 3, append_to_vector(module.payload(3), new_funcs))
    set_section(sections, 7, append_to_vector(module.payload(7), new_exports))
    set_section(sections, 10, append_to_vector(module.payload(10), new_bodies))
    out = bytearray(data[:8])
    for section_id, payload in sections:
        out += bytes([section_id]) + uleb(len(payload)) + payload
    return bytes(out)


def memory_export_name(module: Module):
    """The name under which memory 0 is exported after add_probes, or None."""
    if not module.memories:
        return None
    found = [n for n, kind, index in module.exports if kind == 2 and index == 0]
    return found[0] if found else MEMORY_EXPORT
