"""Hand-written LLVM IR linked against the C runtime: the fixture of the runtime's own
tests (test_runtime_entry, test_runtime_builtins, test_runtime_instance), which check
the ABI without the decoder and the translator.

IR text that follows the ABI (wasabi/abi) becomes machine code through the compiler's
one path (wasabi.compiler.jit), with the builtins imported and its code range registered
for the fault handler. link_ir brackets the IR with `__wasabi_code_begin` and
`__wasabi_code_end`. The thunks are the compiler's (wasabi.compiler.thunks), as IR.
"""
import itertools
import threading

from wasabi import _ext
from wasabi.abi.builtins import llvm_declarations
from wasabi.compiler import thunks
from wasabi.compiler.irtypes import LLVM_TYPE
from wasabi.compiler.jit import link_ir as compile_ir
from wasabi.compiler.jit import new_jit

CODE_BEGIN = "__wasabi_code_begin"
CODE_END = "__wasabi_code_end"
MARKERS_FIRST = f"define void @{CODE_BEGIN}() noinline {{\n  ret void\n}}\n"
MARKERS_LAST = f"define void @{CODE_END}() noinline {{\n  ret void\n}}\n"

_lock = threading.Lock()
_names = itertools.count()
_jit = []


def _the_jit():
    with _lock:
        if not _jit:
            _jit.append(new_jit())
        return _jit[0]


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
    text = llvm_declarations() + MARKERS_FIRST + body + MARKERS_LAST
    tracker, _ = compile_ir(_the_jit(), text, "T1", [CODE_BEGIN, CODE_END, *exports],
                            _ext.builtin_addresses(), name=f"wasabi_hand_{next(_names)}",
                            passes=False, current_process=False)
    begin, end = tracker[CODE_BEGIN], tracker[CODE_END]
    if not all(begin <= tracker[n] < end for n in exports):
        raise RuntimeError("code markers do not bracket the exports")
    return HandLibrary(tracker, begin, end + 16)


def _llvm_types(valtypes):
    return tuple(LLVM_TYPE[t] for t in valtypes)


def array_thunk_ir(name, functype):
    """`void name(ptr fn, ptr vmctx, ptr slots)`: params from the slots, results back."""
    return thunks.array_thunk_ir(name, _llvm_types(functype.params), _llvm_types(functype.results))


def host_thunk_ir(name, functype):
    """`ret name(ptr hostrec, params...)`: spill to slots, wasabi_rt_host_call, reload."""
    text = thunks.host_thunk_ir(name, _llvm_types(functype.params), _llvm_types(functype.results))
    # link_ir declares every builtin already (a second declaration would not parse)
    return text.replace(f"declare void @{thunks.HOST_CALL}(ptr, ptr) nounwind\n", "")
