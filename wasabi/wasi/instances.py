"""Which WASI context serves which instance.

An Environment's own context serves the first instance that imports its
functions. Every later instance importing them (the same import object
instantiated again, or imports generated again from the same Environment)
gets a fresh copy of the Environment's configured state, and a clone gets a
copy of its original's current state. Each context is bound to its own
instance's memory, so no two instances share an fd table or write into each
other's memory; the instance's WASI import records are pointed at its
context before any of its code runs.

The runtime instance holds its states (attribute _wasi_states, keyed by the
Environment): a context lives as long as the records that point at it.
"""
from ..abi import vmctx as V

_ATTR = "_wasi_states"


class ContextOutputs:
    """What a WASI context (self._ctx) kept of a program's run."""

    @property
    def stdout(self):
        """What the program wrote to a "capture" stdout."""
        return self._ctx.output(1)

    @property
    def stderr(self):
        return self._ctx.output(2)

    @property
    def exit_code(self):
        """proc_exit's status, or None when the program did not call it."""
        return self._ctx.exit_code


class InstanceState(ContextOutputs):
    """The WASI context one instance runs on (what Environment.state_of returns)."""

    def __init__(self, context, memory):
        self._ctx = context
        self._memory = None
        self.bind(memory)

    def bind(self, memory):
        self._ctx.bind_memory(memory.address if memory is not None else 0)
        self._memory = memory               # kept alive while bound

    @property
    def context_address(self):
        return self._ctx.address



def runtime_instance(target):
    """The runtime Instance behind `target` (itself, or a public API wrapper), or None."""
    for _ in range(3):
        if target is None or hasattr(target, "_imported_funcs"):
            return target
        target = getattr(target, "_instance", None) or getattr(target, "_inner", None)
    return None


def imports_from(instance, environment):
    """Whether `instance` (a runtime Instance) imports WASI functions of `environment`."""
    return any(getattr(f, "environment", None) is environment
               for f in instance._imported_funcs.values())


def state_of(instance, environment):
    return getattr(instance, _ATTR, {}).get(id(environment))


def attach(instance, environment, context, memory):
    """Make `context` (bound to `memory`) the one `instance` runs on for `environment`."""
    state = InstanceState(context, memory)
    instance.__dict__.setdefault(_ATTR, {})[id(environment)] = state
    for index, f in instance._imported_funcs.items():
        if getattr(f, "environment", None) is environment:
            instance.funcs.set_u64(index * V.FUNC_RECORD_SIZE + V.FUNC_VMCTX, context.address)
    return state
