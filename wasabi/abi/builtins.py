"""The C runtime functions that compiled code calls (by symbol, resolved at link time).

One entry per builtin: (symbol, LLVM return type, LLVM parameter types, attributes).
The JIT imports each symbol's address from wasabi._ext; AOT objects link the same C.
wasabi/_native/builtins.h declares them; tests/test_abi.py checks the two agree.
Table and memory arguments are indices into the calling instance's index spaces.
"""
import platform as _platform
import sys as _sys


BUILTINS = (
    # name                          ret     params                                         attrs
    ("wasabi_rt_trap",              "void", ("i32",),                                       "noreturn nounwind cold"),
    # call_indirect found a null element: traps "uninitialized element <index>"
    ("wasabi_rt_trap_element",      "void", ("i32",),                                       "noreturn nounwind cold"),
    ("wasabi_rt_memory_grow",       "i32",  ("ptr", "i32", "i32"),                          "nounwind"),
    ("wasabi_rt_memory_fill",       "void", ("ptr", "i32", "i32", "i32", "i32"),            "nounwind"),
    ("wasabi_rt_memory_copy",       "void", ("ptr", "i32", "i32", "i32", "i32", "i32"),     "nounwind"),
    ("wasabi_rt_memory_init",       "void", ("ptr", "i32", "i32", "i32", "i32", "i32"),     "nounwind"),
    ("wasabi_rt_data_drop",         "void", ("ptr", "i32"),                                 "nounwind"),
    ("wasabi_rt_table_get",         "ptr",  ("ptr", "i32", "i32"),                          "nounwind"),
    ("wasabi_rt_table_set",         "void", ("ptr", "i32", "i32", "ptr"),                   "nounwind"),
    ("wasabi_rt_table_size",        "i32",  ("ptr", "i32"),                                 "nounwind"),
    ("wasabi_rt_table_grow",        "i32",  ("ptr", "i32", "ptr", "i32"),                   "nounwind"),
    ("wasabi_rt_table_fill",        "void", ("ptr", "i32", "i32", "ptr", "i32"),            "nounwind"),
    ("wasabi_rt_table_copy",        "void", ("ptr", "i32", "i32", "i32", "i32", "i32"),     "nounwind"),
    ("wasabi_rt_table_init",        "void", ("ptr", "i32", "i32", "i32", "i32", "i32"),     "nounwind"),
    ("wasabi_rt_elem_drop",         "void", ("ptr", "i32"),                                 "nounwind"),
    # host functions: args/results travel in 16-byte slots; traps if the Python call raised
    ("wasabi_rt_host_call",         "void", ("ptr", "ptr"),                                 "nounwind"),
    # around a call whose callee vmctx is not the caller's: the callee instance's gate
    # (one thread at a time); traps "instance busy" when another thread runs it
    ("wasabi_rt_gate_enter",        "void", ("ptr",),                                       "nounwind"),
    ("wasabi_rt_gate_leave",        "void", ("ptr",),                                       "nounwind"),
    # vmctx->interrupt was nonzero at a function entry, in a loop (by signal,
    # preempt.c) or at a loop header (module_ir.LOOP_POLLS): traps when an
    # interrupt, a deadline or Ctrl-C is due, else returns (control.c)
    ("wasabi_rt_poll",              "void", ("ptr",),                                       "nounwind cold"),
    # the stack check at a function entry failed: traps "call stack exhausted" when
    # the stack really is exhausted; else the limit was forced so that this entry
    # polls (an interrupt is due: control.c): restores it and polls vmctx (if not null)
    ("wasabi_rt_stack_slow",        "void", ("ptr",),                                       "nounwind cold"),
)

BY_NAME = {b[0]: b for b in BUILTINS}

# Not a function: an absolute symbol whose *address* is the offset of this thread's
# stack limit from the thread pointer (entry.c, wrt_stack_limit_tpoff; one value per
# process). x86-64 code compares `%fs:<symbol>` with %rsp in one instruction; the
# JIT linker resolves it per process, so cached objects stay valid.
STACK_LIMIT_TPOFF_SYMBOL = "wasabi_stack_limit_tpoff"


# builtins called with another calling convention than C's, on x86-64 Linux: the stack
# check's slow path keeps every general-purpose register (builtins.h
# WASABI_REGISTER_KEEPING, an assembly trampoline), so function entries save none around it
CALLING_CONVENTIONS = {"wasabi_rt_stack_slow": "preserve_mostcc"}


def calling_convention(name, machine=None):
    """"<cc> " for a call of builtin `name` (and its declaration), or ""."""
    machine = (machine or _platform.machine()).lower()
    x86_64_linux = machine in ("x86_64", "amd64") and _sys.platform.startswith("linux")
    cc = CALLING_CONVENTIONS.get(name) if x86_64_linux else None
    return f"{cc} " if cc else ""


def llvm_declarations():
    """The `declare` lines for every builtin, to prepend to a module's IR."""
    lines = []
    for name, ret, params, attrs in BUILTINS:
        cc = calling_convention(name)
        lines.append(f"declare {cc}{ret} @{name}({', '.join(params)}) {attrs}")
    return "\n".join(lines) + "\n"
