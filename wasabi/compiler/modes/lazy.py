"""LAZY mode: validate everything up front, compile each function on its first call.

The code of a lazily compiled module is a LazyCode, shared by all its instances
(on any threads). It owns:

- a deferred CodeTable (runtime/code.py): one native stub per function index,
  the function's address for every caller. A stub whose function is not
  compiled yet asks `_compile_for` here (with the GIL); the build is published
  into the table, which every caller then reaches (see CodeTable for why the
  addresses live in one per-module table and not only in the instances).
- one JitLibrary, with one library per compile batch (a batch's code range is
  registered with the fault handler, so traps work as in EAGER).

Compiled code calls every function through its vmctx->funcs record (code, vmctx)
(ModuleContext.table_calls): calls reach code compiled later, and code swapped in
(REPL, and later PGO). A compile batch is the requested function plus, within a
budget, its not yet compiled direct callees (breadth first): the per-module fixed
cost of LLVM (0.15 ms at T0, about 1 ms at T1/O2) is paid once for a function and
the callees it is about to call. batch_limit=1 compiles exactly what runs.

Threads: one compile at a time per module (a lock); a thread that calls a
function being compiled waits on that lock and then finds it compiled: nothing
is compiled twice. A compile error raises the original exception from the call
that needed the function (the resolver keeps it for the entry to re-raise).
"""
import threading as _threading

from ...options import CodeOptions
from ...runtime.code import Code, CodeTable
from ..library import JitLibrary

# a batch: at most this many functions, and at most this many bytes of wasm code
DEFAULT_BATCH_LIMIT = 16
BATCH_BODY_BYTES = 32 * 1024
# the stack of the thread that compiles when the calling thread's is nearly full
COMPILE_THREAD_STACK = 16 << 20


class LazyCode(Code):
    """The code of a LAZY (or REPL) module, shared by every instance of it."""
    calls_through_records = True

    def __init__(self, desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, mode="lazy",
                 code_options=None, profile=None):
        self.desc = desc
        self.options = options
        self.mode = mode
        self.batch_limit = max(1, int(batch_limit))
        # code_options: what the code is built with, when not options.code (PGO's baseline)
        self._builder_args = (code_options or options, profile)
        self._builder_made = None
        self._builder_lock = _threading.Lock()
        self._library = JitLibrary()
        self._compile_lock = _threading.Lock()      # one compile at a time, never twice
        self._counters = {"functions_compiled": 0, "batches": 0, "compile_errors": 0,
                          "deep_compiles": 0, "translate_seconds": 0.0,
                          "codegen_seconds": 0.0, "link_seconds": 0.0}
        first, count = desc.num_imported_funcs, len(desc.func_type_indices)
        if CodeTable.stubs_supported():
            table = CodeTable(first, count, resolver=self._resolve)
        else:
            # no native stubs for this CPU: compile everything now, in one batch
            table = CodeTable.fixed(self._build(self._builder.translate()))
        super().__init__(table, CodeOptions.of(code_options or options))

    @property
    def _builder(self):
        """The LLVM builder of this module's batches, made on first use: with it come
        LLVM and the translator (0.1-0.2 s of imports), which a PGO module whose
        functions all go to the single-pass baseline never needs."""
        if self._builder_made is None:
            with self._builder_lock:
                if self._builder_made is None:
                    from ..builder import BatchBuilder
                    options, profile = self._builder_args
                    self._builder_made = BatchBuilder(
                        self.desc, options, table_calls=True, profile=profile,
                        foreign_records=self.mode == "repl")
        return self._builder_made

    def is_compiled(self, index):
        return self.table.is_published(index)

    @property
    def stats(self):
        """Counters: functions (defined), functions_compiled, batches, seconds..."""
        out = dict(self._counters)
        out.update(mode=self.mode, **self.code_options.as_dict(),
                   functions=self.table.count - self.table.first,
                   libraries=self._library.libraries, batch_limit=self.batch_limit,
                   native_stubs=self.table.deferred)
        return out

    @property
    def code_ranges(self):
        return self._library.code_ranges

    def new_cell(self, desc):
        """REPL: the code of a cell, compiled lazily with this module's options."""
        if self.mode != "repl":
            return super().new_cell(desc)
        return LazyCode(desc, self.options, batch_limit=self.batch_limit, mode="repl")

    def close(self):
        """Free all compiled code; no function of the module may run afterwards."""
        self._library.close()

    # ---- compiling ----

    def _resolve(self, index, deep):
        """Called by the table's resolver (GIL held): compile `index` unless done."""
        with self._compile_lock:           # another thread's compile of it: wait for it
            if self.table.is_published(index):
                return
            if deep:
                self._counters["deep_compiles"] += 1
                _run_on_fresh_thread(self._compile_for, index)
            else:
                self._compile_for(index)

    def compile_now(self, indices):
        """Compile these functions now (if not yet), e.g. to warm a module up."""
        with self._compile_lock:
            todo = [i for i in indices if not self.table.is_published(i)]
            for i in todo:
                self.table.entry(i)                 # IndexError for a function not defined
            if todo:
                self.table.publish(self._build(self._builder.translate(todo)))

    def _compile_for(self, index):
        """Compile `index` with a batch of its callees; alone if the batch fails."""
        batch = self._builder.translate_with_callees(
            index, self.batch_limit, BATCH_BODY_BYTES, skip=self.table.is_published)
        if len(batch.symbols) > 1:
            try:
                self.table.publish(self._build(batch))
                return
            except Exception:
                # a callee LLVM rejects must not fail a function that may never call it
                self._counters["compile_errors"] += 1
            batch = self._builder.translate([index])
        try:
            self.table.publish(self._build(batch))
        except Exception:
            self._counters["compile_errors"] += 1
            raise

    def _build(self, module_ir):
        """Optimise, emit and link one translated batch: {func index: address}."""
        made = self._builder.build(self._library, [module_ir])
        c = self._counters
        c["functions_compiled"] += len(made.symbols)
        c["batches"] += 1
        c["translate_seconds"] += made.stats["translate_seconds"]
        c["codegen_seconds"] += sum(made.stats[k] for k in
                                    ("parse_seconds", "optimize_seconds", "codegen_seconds"))
        c["link_seconds"] += made.stats["link_seconds"]
        return made.addresses

    def __repr__(self):
        s = self.stats
        return (f"<wasabi LazyCode {self.mode}: {s['functions_compiled']} of "
                f"{s['functions']} functions compiled in {s['batches']} batches>")


def _run_on_fresh_thread(function, *args):
    """Run function(*args) on a new thread with a fresh stack and wait (GIL released
    while waiting); its exception is raised here."""
    outcome = {}

    def work():
        try:
            function(*args)
        except BaseException as exc:     # noqa: B902 - carried back to the caller
            outcome["error"] = exc

    thread = _threading.Thread(target=work, name="wasabi-lazy-compile", daemon=True)
    # the process-wide setting for new threads may be small (it is what made this
    # caller's stack run out): LLVM gets a stack of its own size
    old = _threading.stack_size(COMPILE_THREAD_STACK)
    try:
        thread.start()
    finally:
        _threading.stack_size(old)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]


def build(desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT):
    """LAZY: the module is validated (desc comes from wasabi.parse); nothing is compiled yet."""
    return LazyCode(desc, options, batch_limit=batch_limit, mode="lazy")


def build_repl(desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT):
    """REPL: LAZY code that also makes cells (runtime/cells.py grows live instances)."""
    return LazyCode(desc, options, batch_limit=batch_limit, mode="repl")
