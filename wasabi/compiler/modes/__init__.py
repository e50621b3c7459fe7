"""Modes are strategies over one pipeline: compile(desc, options) -> CompiledModule.

    compiled = modes.compile(wasabi.parse(data), Options(mode=Mode.LAZY))
    instance = compiled.instantiate(imports, store=store)   # a wasabi.runtime Instance
    compiled.stats()        # mode, functions, functions_compiled, batches, seconds...
    compiled.clone()        # the same code (never recompiled), its own REPL cell list
    compiled.extend(data)   # REPL: a cell that every later instance gets
    repl.add_function(instance, data)                      # REPL: grow a live instance
    wasabi.runtime.clone.clone_instance(instance)          # any mode

- EAGER (eager.py): every function compiled before instantiation (CodeLibrary).
- LAZY (lazy.py): nothing compiled up front; each function on its first call.
- REPL (repl.py): LAZY plus cells added to live instances, with hot swap.

A CompiledModule is immutable apart from its REPL cell list and is shared by
any number of instances on any threads; its code is never compiled twice.
"""
from ...options import Mode
from . import eager, lazy, repl


class CompiledModule:
    """A validated, compiled (or lazily compiling) module: ModuleDesc + code."""

    def __init__(self, desc, code, options, cells=()):
        self.desc = desc
        self.code = code
        self.options = options
        self.cells = list(cells)      # REPL: (desc, code) of each extend(), in order

    @property
    def mode(self):
        return self.options.mode

    def instantiate(self, imports=None, *, store=None, **kwargs):
        """A new Instance (runtime.instantiate), with this module's REPL cells added."""
        from ...runtime import instantiate
        kwargs.setdefault("memory", self.options.memory)
        instance = instantiate(self.desc, self.code, imports, store=store, **kwargs)
        for cell in self.cells:
            repl.apply_cell(instance, cell)
        return instance

    def stats(self):
        """Counters of the code; `functions_compiled` counts compiled functions."""
        if self.mode is Mode.EAGER:
            return eager.stats(self.code)
        return self.code.stats

    def clone(self):
        """The same module (the code is shared, not recompiled), with its own cell list."""
        return CompiledModule(self.desc, self.code, self.options, self.cells)

    def extend(self, data):
        """REPL: validate `data` against this module's exports and add it as a cell
        that every instance created afterwards gets (see repl.extend_module)."""
        self.cells.append(repl.extend_module(self, data))

    def __repr__(self):
        return f"<wasabi CompiledModule {self.mode.value}: {self.code!r}>"


def compile(desc, options, **kwargs):
    """Compile a validated ModuleDesc (wasabi.parse) in options.mode.

    Keyword arguments go to the mode (lazy and repl: batch_limit)."""
    mode = options.mode
    if mode is Mode.EAGER:
        code = eager.compile(desc, options)
    elif mode is Mode.LAZY:
        code = lazy.compile(desc, options, **kwargs)
    elif mode is Mode.REPL:
        code = repl.compile(desc, options, **kwargs)
    else:
        raise ValueError(f"mode {mode.value!r} is not available yet")
    return CompiledModule(desc, code, options)


__all__ = ["CompiledModule", "compile", "eager", "lazy", "repl"]
