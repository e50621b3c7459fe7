"""Linear memory: loads, stores, memory.size/grow, bulk memory (through builtins).

The effective address is zext(i32 address) + offset as an i64, so it never wraps.
Two bounds modes (CompileOptions.bounds):
- "guard": the memory is an 8 GiB reservation whose inaccessible part faults; the
  SIGSEGV handler turns the fault into a trap. No check; the base is an invariant
  load of vmctx->mem_base (it never moves). The access itself is the bounds check,
  so it is `volatile`: LLVM must neither delete a load whose value is unused (it
  would not trap), nor drop a store that a later one overwrites (dead-store
  elimination: memory after a trap must hold exactly the stores executed before
  it), nor move one access past another. Volatile keeps every access, in order,
  and still lets codegen fold a load into its arithmetic user (measured: the
  kernels at T1 within noise, see bench/kernels).
- "explicit": ea + size > memory->size traps. Base and size come from the memory
  record and are re-read in each basic block and after calls and memory.grow
  (they change when the memory grows, possibly from another instance).
"""
from ...abi.traps import TRAP_OOB_MEMORY
from ...abi.vmctx import MEMORY_BASE, MEMORY_SIZE, VMCTX_MEM_BASE, VMCTX_MEMORY

# name -> (access type, bytes, extension to the value type or None)
LOADS = {
    "i32.load": ("i32", 4, None), "i64.load": ("i64", 8, None),
    "f32.load": ("float", 4, None), "f64.load": ("double", 8, None),
    "i32.load8_s": ("i8", 1, "sext"), "i32.load8_u": ("i8", 1, "zext"),
    "i32.load16_s": ("i16", 2, "sext"), "i32.load16_u": ("i16", 2, "zext"),
    "i64.load8_s": ("i8", 1, "sext"), "i64.load8_u": ("i8", 1, "zext"),
    "i64.load16_s": ("i16", 2, "sext"), "i64.load16_u": ("i16", 2, "zext"),
    "i64.load32_s": ("i32", 4, "sext"), "i64.load32_u": ("i32", 4, "zext"),
}
# name -> (access type, bytes); narrower stores truncate the value
STORES = {
    "i32.store": ("i32", 4), "i64.store": ("i64", 8), "f32.store": ("float", 4),
    "f64.store": ("double", 8), "i32.store8": ("i8", 1), "i32.store16": ("i16", 2),
    "i64.store8": ("i8", 1), "i64.store16": ("i16", 2), "i64.store32": ("i32", 4),
}
VALUE_TYPE = {"i32": "i32", "i64": "i64", "f32": "float", "f64": "double"}


def _memory_record(t):
    return t.vmctx_ptr(VMCTX_MEMORY)


def _explicit_state(t):
    """(base, size in bytes) of memory 0, loaded once per basic block."""
    if t.mem_cache is None:
        base = t.inst(f"load ptr, ptr {_memory_record(t)}")      # MEMORY_BASE is 0
        t.mem_cache = (base, size_in_bytes(t))
    return t.mem_cache


def effective_pointer(t, offset, size):
    """Pop an i32 address and return a pointer to the accessed bytes (bounds per mode)."""
    addr = t.stack.pop()[0]
    if addr[0] != "%":                      # a literal (is_literal, inline: every access)
        ea = str((int(addr) & 0xFFFFFFFF) + offset)
    else:
        ea = t.inst(f"zext i32 {addr} to i64")
        if offset:
            if t.m.bounds == "guard" and t.m.tier == "T0":
                # T0's instruction selector folds a constant GEP on a GEP into the
                # access's displacement, not an add: one instruction less
                base = t.inst(f"getelementptr i8, ptr {t.vmctx_ptr(VMCTX_MEM_BASE)}, "
                              f"i64 {ea}")
                return t.inst(f"getelementptr i8, ptr {base}, i64 {offset}")
            ea = t.inst(f"add nuw nsw i64 {ea}, {offset}")
    if t.m.bounds == "guard":
        base = t.vmctx_ptr(VMCTX_MEM_BASE)
    else:
        base, mem_size = _explicit_state(t)
        end = t.inst(f"add nuw nsw i64 {ea}, {size}")
        t.trap_if(t.inst(f"icmp ugt i64 {end}, {mem_size}"), TRAP_OOB_MEMORY)
        t.mem_cache = (base, mem_size)       # trap_if started a new block: still valid
    return t.inst(f"getelementptr i8, ptr {base}, i64 {ea}")


def _guarded(t):
    """' volatile' where the access is its own bounds check (see the module doc), but
    not in a loop whose accesses were all checked before it started
    (emit/loop_versions.py)."""
    return " volatile" if t.m.bounds == "guard" and not t.unchecked else ""


def _alias_tags(t):
    """In a nest's fast copy: the access's alias scopes (emit/loop_checks.py)."""
    return t.alias_tags.get(t.r.pos, "") if t.alias_tags else ""


def load(t, access, ptr):
    """The value of type `access` at `ptr` (from effective_pointer)."""
    guarded = _guarded(t)
    value = t.inst(f"load{guarded} {access}, ptr {ptr}, align 1{_alias_tags(t)}")
    if guarded and t.m.freeze_loads:
        # no instruction may take the load as its memory operand: a masked one
        # would not fault on a masked-off lane (pipelines.masked_memory_operands)
        value = t.inst(f"freeze {access} {value}")
    return value


def store(t, access, value, ptr):
    t.emit(f"store{_guarded(t)} {access} {value}, ptr {ptr}, align 1{_alias_tags(t)}")


def _load(value_type, access, size, extend):
    def h(t, memarg, op):
        value = load(t, access, effective_pointer(t, memarg[1], size))
        if extend:
            value = t.inst(f"{extend} {access} {value} to {value_type}")
        t.stack.append((value, value_type))
    return h


def _store(value_type, access, size):
    def h(t, memarg, op):
        value = t.pop_value()
        ptr = effective_pointer(t, memarg[1], size)
        if access != value_type:
            value = t.inst(f"trunc {value_type} {value} to {access}")
        store(t, access, value, ptr)
    return h


def size_in_bytes(t):
    """Memory 0's current size in bytes (an i64), read now: it grows."""
    record = _memory_record(t)
    size_ptr = t.inst(f"getelementptr inbounds i8, ptr {record}, i64 {MEMORY_SIZE}")
    return t.inst(f"load i64, ptr {size_ptr}")


def memory_size(t, imm, op):
    pages = t.inst(f"lshr i64 {size_in_bytes(t)}, 16")
    t.push(t.inst(f"trunc i64 {pages} to i32"), "i32")


def memory_grow(t, imm, op):
    delta = t.pop_value()
    t.push(t.builtin("wasabi_rt_memory_grow", "i32", f", i32 0, i32 {delta}"), "i32")
    t.mem_cache = None


def _pop3(t):
    """The three i32 operands of a bulk instruction as ', i32 a, i32 b, i32 c'."""
    return t.pop_args(3)


def memory_fill(t, imm, op):
    t.builtin("wasabi_rt_memory_fill", "void", ", i32 0" + _pop3(t))


def memory_copy(t, imm, op):
    t.builtin("wasabi_rt_memory_copy", "void", ", i32 0, i32 0" + _pop3(t))


def memory_init(t, data_index, op):
    t.builtin("wasabi_rt_memory_init", "void", f", i32 0, i32 {data_index}" + _pop3(t))


def data_drop(t, data_index, op):
    t.builtin("wasabi_rt_data_drop", "void", f", i32 {data_index}")


def handlers_for(names):
    out = {"memory.size": memory_size, "memory.grow": memory_grow,
           "memory.fill": memory_fill, "memory.copy": memory_copy,
           "memory.init": memory_init, "data.drop": data_drop}
    for name, (access, size, extend) in LOADS.items():
        out[name] = _load(VALUE_TYPE[name[:3]], access, size, extend)
    for name, (access, size) in STORES.items():
        out[name] = _store(VALUE_TYPE[name[:3]], access, size)
    return out


assert MEMORY_BASE == 0
