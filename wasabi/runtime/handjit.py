"""Link hand-written LLVM IR against the C runtime (tests and experiments).

The real compiler lives in wasabi.compile; this is the smallest piece of it the
runtime's own tests need: IR text that follows the ABI (wasabi/abi) becomes
machine code in an LLJIT with the builtins imported and its code range
registered for the fault handler. The IR must define `__wasabi_code_begin` and
`__wasabi_code_end` first and last, so that the range brackets all its code.
"""
import itertools
import threading

from .. import _ext
from ..abi.builtins import llvm_declarations

_lock = threading.Lock()
_names = itertools.count()
_jit_state = {}

CODE_BEGIN = "__wasabi_code_begin"
CODE_END = "__wasabi_code_end"
MARKERS_FIRST = f"define void @{CODE_BEGIN}() noinline {{\n  ret void\n}}\n"
MARKERS_LAST = f"define void @{CODE_END}() noinline {{\n  ret void\n}}\n"


def _jit():
    with _lock:
        if not _jit_state:
            from ..compile.jit import new_jit
            _jit_state["jit"] = new_jit()
        return _jit_state["jit"]


class HandLibrary:
    """Linked code; keeps it alive and registered until dropped."""

    def __init__(self, tracker, begin, end):
        self._tracker = tracker
        self.begin, self.end = begin, end
        _ext.register_code_range(begin, end)

    def __getitem__(self, name):
        return self._tracker[name]

    def __del__(self):
        try:
            _ext.unregister_code_range(self.begin, self.end)
        except Exception:
            pass


def link_ir(body, exports):
    """Compile `body` (IR text without the builtin declarations) and return a
    HandLibrary whose [name] is the address of each exported symbol."""
    from ..compile.jit import link_ir as compile_ir
    text = llvm_declarations() + MARKERS_FIRST + body + MARKERS_LAST
    tracker, _ = compile_ir(_jit(), text, "T1", [CODE_BEGIN, CODE_END, *exports],
                            _ext.builtin_addresses(), name=f"wasabi_hand_{next(_names)}",
                            passes=False, current_process=False)
    begin, end = tracker[CODE_BEGIN], tracker[CODE_END]
    if not all(begin <= tracker[n] < end for n in exports):
        raise RuntimeError("code markers do not bracket the exports")
    return HandLibrary(tracker, begin, end + 16)


# ---- reference thunks of the ABI (wasabi.compile generates its own) ----

_LLVM_TYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "float", 0x7C: "double", 0x7B: "<2 x i64>",
               0x70: "ptr", 0x6F: "ptr"}


def _llvm(t):
    return _LLVM_TYPES[t]


def _return_type(results):
    if not results:
        return "void"
    if len(results) == 1:
        return _llvm(results[0])
    return "{" + ", ".join(_llvm(t) for t in results) + "}"


def _load_slots(types, slots, prefix):
    lines, values = [], []
    for i, t in enumerate(types):
        lines.append(f"  %{prefix}p{i} = getelementptr i8, ptr {slots}, i64 {16 * i}")
        lines.append(f"  %{prefix}{i} = load {_llvm(t)}, ptr %{prefix}p{i}, align 16")
        values.append(f"{_llvm(t)} %{prefix}{i}")
    return lines, values


def _store_results(results, value, slots):
    lines = []
    if len(results) == 1:
        lines.append(f"  store {_llvm(results[0])} {value}, ptr {slots}, align 16")
        return lines
    for i, t in enumerate(results):
        lines.append(f"  %rv{i} = extractvalue {_return_type(results)} {value}, {i}")
        lines.append(f"  %rp{i} = getelementptr i8, ptr {slots}, i64 {16 * i}")
        lines.append(f"  store {_llvm(t)} %rv{i}, ptr %rp{i}, align 16")
    return lines


def array_thunk_ir(name, functype):
    """`void name(ptr fn, ptr vmctx, ptr slots)`: params from the slots, results back."""
    ret = _return_type(functype.results)
    loads, args = _load_slots(functype.params, "%slots", "a")
    call_args = ", ".join(["ptr %vmctx"] + args)
    lines = [f"define void @{name}(ptr %fn, ptr %vmctx, ptr %slots) {{"] + loads
    if functype.results:
        lines.append(f"  %r = call {ret} %fn({call_args})")
        lines += _store_results(functype.results, "%r", "%slots")
    else:
        lines.append(f"  call void %fn({call_args})")
    return "\n".join(lines + ["  ret void", "}", ""])


def host_thunk_ir(name, functype):
    """`ret name(ptr hostrec, params...)`: spill to slots, wasabi_rt_host_call, reload."""
    ret = _return_type(functype.results)
    params = ", ".join(["ptr %hostrec"] + [f"{_llvm(t)} %a{i}" for i, t in enumerate(functype.params)])
    count = max(len(functype.params), len(functype.results), 1)
    lines = [f"define {ret} @{name}({params}) {{",
             f"  %slots = alloca [{count} x <2 x i64>], align 16"]
    for i, t in enumerate(functype.params):
        lines.append(f"  %sp{i} = getelementptr i8, ptr %slots, i64 {16 * i}")
        lines.append(f"  store {_llvm(t)} %a{i}, ptr %sp{i}, align 16")
    lines.append("  call void @wasabi_rt_host_call(ptr %hostrec, ptr %slots)")
    loads, values = _load_slots(functype.results, "%slots", "r")
    lines += loads
    if not functype.results:
        lines.append("  ret void")
    elif len(functype.results) == 1:
        lines.append(f"  ret {values[0]}")
    else:
        agg = "undef"
        for i, v in enumerate(values):
            lines.append(f"  %agg{i} = insertvalue {ret} {agg}, {v}, {i}")
            agg = f"%agg{i}"
        lines.append(f"  ret {ret} {agg}")
    return "\n".join(lines + ["}", ""])


class HandThunks:
    """A thunk provider (see wasabi.runtime.set_thunk_provider) built from the
    reference thunks above, one small library per signature, cached."""

    def __init__(self):
        self._cache = {}
        self._libs = []

    def _get(self, kind, functype):
        key = (kind, functype)
        if key not in self._cache:
            name = f"{kind}_thunk_{len(self._cache)}"
            make = array_thunk_ir if kind == "array" else host_thunk_ir
            lib = link_ir(make(name, functype), [name])
            self._libs.append(lib)
            self._cache[key] = lib[name]
        return self._cache[key]

    def array_thunk(self, functype):
        return self._get("array", functype)

    def host_thunk(self, functype):
        return self._get("host", functype)
