"""The binary module from what ModuleAssembler collected: sections in order, and the
encodings of segments, locals and the name section (minimal LEB128s; where the binary
format leaves a choice, wabt's, so that the bytes match wast2json's)."""
from ..binary.types import FUNCREF
from . import encoding
from .annotations import AFTER_LAST, BEFORE_FIRST, branch_hint_section
from .encoding import uleb
from .tokens import display_name


def module_binary(m):
    """The module's bytes from ModuleAssembler `m`: each non-empty section, in the
    binary format's order; the data count section only where code needs it (as wabt);
    custom sections from annotations where the wat crate places them."""
    sections = [b"\0asm\x01\0\0\0"]

    def custom(place):
        sections.extend(data for where, data in m.customs if where == place)

    def add(anchor, section_id, entries):
        custom(("before", anchor))
        if entries:
            sections.append(encoding.section(section_id, encoding.vector(entries)))
        custom(("after", anchor))

    custom(BEFORE_FIRST)
    add("type", 1, [b"\x60" + encoding.vector([bytes((t,)) for t in params])
                    + encoding.vector([bytes((t,)) for t in results])
                    for params, results in m.types])
    add("import", 2, m.imports)
    add("func", 3, m.func_types)
    add("table", 4, m.tables)
    add("memory", 5, m.memories)
    add("tag", 13, [])
    add("global", 6, m.globals)
    add("export", 7, m.exports)
    custom(("before", "start"))
    if m.start_func is not None:
        sections.append(encoding.section(8, uleb(m.start_func)))
    custom(("after", "start"))
    add("elem", 9, m.elems)
    # wabt writes a data count only when there is data; the wat crate whenever code needs it
    if m.uses_data_count and (m.datas or not m.wabt):
        sections.append(encoding.section(12, uleb(len(m.datas))))
    custom(("before", "code"))
    if m.codes and m.branch_hints:       # just before the code it refers to
        sections.append(branch_hint_section(m.branch_hints))
    if m.codes:
        sections.append(encoding.section(10, encoding.vector(m.codes)))
    custom(("after", "code"))
    add("data", 11, m.datas)
    custom(AFTER_LAST)
    if m.debug_names and not m.custom_name_section:     # as the wat crate
        names = _name_section(m)
        if names is not None:
            sections.append(names)
    return b"".join(sections)


# name subsections after the function and local ones, in the wat crate's order:
# (id, index space whose $identifiers they list)
_SPACE_SUBSECTIONS = ((4, "type"), (5, "table"), (6, "memory"), (7, "global"), (8, "elem"),
                      (9, "data"))
_TYPE_PARAM_NAMES = 12     # the parameters of (type (func (param $x ...))), as the wat crate


def _name_section(m):
    """The `name` custom section as the wat crate writes it: the module's name, then the
    names of functions, locals (imported functions' parameters too), labels (blocks
    counted per function), types, tables, memories, globals, element and data segments,
    and type parameters; None when there are none."""
    payload = bytearray()
    if m.module_name is not None:
        payload += _subsection(0, encoding.name(m.module_name))
    if m.func_names:
        payload += _subsection(1, _name_map(m.func_names))
    for sub_id, maps in ((2, m.local_names_by_func), (3, m.label_names_by_func)):
        if maps:
            payload += _subsection(sub_id, _indirect_name_map(maps))
    for sub_id, kind in _SPACE_SUBSECTIONS:
        space = m.spaces[kind].names
        if space:
            payload += _subsection(sub_id, _name_map({v: k for k, v in space.items()}))
    if m.type_param_names:
        payload += _subsection(_TYPE_PARAM_NAMES, _indirect_name_map(m.type_param_names))
    if not payload:
        return None
    return encoding.section(0, encoding.name("name") + bytes(payload))


def _subsection(sub_id, payload):
    return bytes((sub_id,)) + uleb(len(payload)) + payload


def _name_map(names):
    """index -> $identifier as a name map (the $ dropped), sorted by index."""
    return encoding.vector([uleb(k) + encoding.name(display_name(v))
                            for k, v in sorted(names.items())])


def _indirect_name_map(maps):
    return encoding.vector([uleb(k) + _name_map(names) for k, names in sorted(maps.items())])


def encode_locals(types):
    """Local declarations, runs of one type grouped (as wabt does)."""
    groups = []
    for t in types:
        if groups and groups[-1][1] == t:
            groups[-1][0] += 1
        else:
            groups.append([1, t])
    return encoding.vector([uleb(n) + bytes((t,)) for n, t in groups])


def data_segment(memory, offset, data):
    """A data segment: passive when offset is None, else active (explicit memory if not 0)."""
    if offset is None:
        head = b"\x01"
    elif memory == 0:
        head = b"\x00" + offset
    else:
        head = b"\x02" + uleb(memory) + offset
    return head + uleb(len(data)) + data


def ref_func_index(expr):
    """x if the encoded expression is exactly `ref.func x end`, else None."""
    if expr[:1] != b"\xd2" or expr[-1:] != b"\x0b":
        return None
    value, shift = 0, 0
    for pos in range(1, len(expr) - 1):
        byte = expr[pos]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value if pos == len(expr) - 2 else None
    return None


def elem_segment(mode, table, offset, elem_type, items, wabt=True, explicit_table=False,
                 exprs=False):
    """One element segment in the encoding of wabt (`wabt`: function indices when every
    item is a ref.func, the table index only when it is not 0) or of the wat crate
    (items as the text wrote them, `exprs` or indices; the table index whenever the text
    gave one, `explicit_table`)."""
    if wabt:
        indices = [ref_func_index(item) for item in items] if elem_type == FUNCREF else [None]
        as_indices = None not in indices
        with_table = table != 0 or elem_type != FUNCREF
    else:
        indices = [ref_func_index(item) for item in items] if not exprs else [None]
        as_indices = not exprs
        with_table = explicit_table or (exprs and elem_type != FUNCREF)
    # flag bits: 1 passive (with 2: declarative), 2 explicit table index, 4 expressions
    flags = 0 if as_indices else 4
    if mode == "passive":
        flags |= 1
    elif mode == "declarative":
        flags |= 3
    elif with_table:
        flags |= 2
    out = bytearray((flags,))
    if mode == "active":
        if flags & 2:
            out += uleb(table)
        out += offset
    if flags & 3:
        out.append(elem_type if not as_indices else 0)   # elemkind 0x00 = funcref
    out += uleb(len(items))
    if as_indices:
        for index in indices:
            out += uleb(index)
    else:
        for item in items:
            out += item
    return bytes(out)
