"""Trap codes (the value passed to wasabi_rt_trap and returned by the entry) and messages.

Messages are the spec test suite's texts exactly; a Trap's str() is its message.
"""

TRAP_NONE = 0
TRAP_UNREACHABLE = 1
TRAP_INT_DIV_ZERO = 2
TRAP_INT_OVERFLOW = 3
TRAP_INVALID_CONVERSION = 4
TRAP_OOB_MEMORY = 5
TRAP_OOB_TABLE = 6
TRAP_UNDEFINED_ELEMENT = 7
TRAP_UNINITIALIZED_ELEMENT = 8
TRAP_INDIRECT_CALL_MISMATCH = 9
TRAP_STACK_EXHAUSTED = 10
TRAP_HOST_EXCEPTION = 11     # a Python exception is pending: re-raise it unchanged
TRAP_COMPILE_ERROR = 12      # lazy compilation raised: re-raise the original exception
TRAP_NULL_REFERENCE = 13
TRAP_OUT_OF_FUEL = 14        # Options(fuel=True) code ran out of the store's fuel
TRAP_INTERRUPTED = 15        # store.interrupt()
TRAP_WASI_EXIT = 16          # proc_exit: not a trap for the user; becomes wasabi.WasiExit(status)
TRAP_INSTANCE_BUSY = 17      # a call through an import or funcref into an instance another thread runs
TRAP_DEADLINE = 18           # store.set_deadline() or a call's timeout passed
TRAP_KEYBOARD_INTERRUPT = 19  # SIGINT while wasm ran: becomes KeyboardInterrupt, not a Trap

MESSAGES = {
    TRAP_UNREACHABLE: "unreachable",
    TRAP_INT_DIV_ZERO: "integer divide by zero",
    TRAP_INT_OVERFLOW: "integer overflow",
    TRAP_INVALID_CONVERSION: "invalid conversion to integer",
    TRAP_OOB_MEMORY: "out of bounds memory access",
    TRAP_OOB_TABLE: "out of bounds table access",
    TRAP_UNDEFINED_ELEMENT: "undefined element",
    TRAP_UNINITIALIZED_ELEMENT: "uninitialized element",
    TRAP_INDIRECT_CALL_MISMATCH: "indirect call type mismatch",
    TRAP_STACK_EXHAUSTED: "call stack exhausted",
    TRAP_HOST_EXCEPTION: "host function raised an exception",
    TRAP_COMPILE_ERROR: "lazy compilation failed",
    TRAP_NULL_REFERENCE: "null reference",
    TRAP_OUT_OF_FUEL: "all fuel consumed by WebAssembly",
    TRAP_INTERRUPTED: "interrupted",
    TRAP_WASI_EXIT: "WASI proc_exit",
    TRAP_INSTANCE_BUSY: "instance busy: it is running on another thread",
    TRAP_DEADLINE: "deadline exceeded",
    TRAP_KEYBOARD_INTERRUPT: "keyboard interrupt",
}


def message(code):
    return MESSAGES.get(code, f"trap {code}")
