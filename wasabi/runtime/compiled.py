"""CompiledModule: what instances are made from, a validated ModuleDesc plus its Code.

    compiled = wasabi.compiler.modes.compile(wasabi.parse(data), Options(mode=Mode.LAZY))
    instance = compiled.instantiate(imports, store=store)   # a runtime Instance
    compiled.stats()        # mode, functions, functions_compiled, batches, seconds...
    compiled.clone()        # the same code (never recompiled), its own REPL cell list
    compiled.extend(data)   # REPL: a cell that every later instance gets

A CompiledModule is immutable apart from its REPL cell list and is shared by
any number of instances on any threads; its code is never compiled twice.
"""
from . import cells as repl_cells
from .instance import instantiate


class CompiledModule:
    """A validated, compiled (or lazily compiling) module: ModuleDesc + Code."""

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
        kwargs.setdefault("memory", self.options.memory)
        instance = instantiate(self.desc, self.code, imports, store=store, **kwargs)
        for cell in self.cells:
            repl_cells.apply_cell(instance, cell)
        return instance

    def stats(self):
        """Counters of the code; `functions_compiled` counts compiled functions."""
        return self.code.stats

    def clone(self):
        """The same module (the code is shared, not recompiled), with its own cell list."""
        return CompiledModule(self.desc, self.code, self.options, self.cells)

    def extend(self, data):
        """REPL: validate `data` against this module's exports and add it as a cell
        that every instance created afterwards gets (see cells.extend_module)."""
        self.cells.append(repl_cells.extend_module(self, data))

    def __repr__(self):
        return f"<wasabi CompiledModule {self.mode.value}: {self.code!r}>"
