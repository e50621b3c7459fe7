"""LAZY mode: validate everything up front, compile each function on its first call.

The code of a lazily compiled module is a LazyCode, shared by all its instances
(on any threads). It owns:

- one native stub and one code slot per function index (wasabi/_native/lazy.c).
  The stub is the function's address for every caller: an instance's funcs
  record, a Python handle, an importer's record. While the slot is empty the stub
  calls the native resolver, which takes the GIL and calls `_resolve` here; once
  filled, the stub is one load and a jmp.
- one LLJIT, with one library per compile batch (JITLink; a batch's code range is
  registered with the fault handler, so traps work as in EAGER).

Why the code addresses live in one per-module slot table and not only in the
instances: instances come and go on many threads, and a caller may hold the
function's address anywhere (a Python handle, another instance's import record,
a table element of another instance). The stub reaches the module-wide slot from
all of them, so publishing a compiled function is one store that every instance
sees at once, and no instance can miss it. As an optimization, publishing also
rewrites (compare-and-swap: stub -> code) the funcs records of the live
instances that registered with attach_instance, so that calls from compiled code
skip the stub. A record that was swapped to other code (REPL) is left alone.

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
import time as _time
import weakref as _weakref
from collections import deque

from ... import _ext
from ..codegen import link_library
from ..jit import emit_object, new_jit
from ..module_ir import CODE_BEGIN, CODE_END, ModuleContext, assemble_module, func_symbol
from ..pipelines import target_machine
from ..translator import FunctionTranslator

# a batch: at most this many functions, and at most this many bytes of wasm code
DEFAULT_BATCH_LIMIT = 16
BATCH_BODY_BYTES = 32 * 1024
# the stack of the thread that compiles when the calling thread's is nearly full
COMPILE_THREAD_STACK = 16 << 20


class BatchJit:
    """One LLJIT with one library per compile batch; closing frees them all."""

    def __init__(self):
        self._jit = None
        self._libraries = []          # (tracker, code begin, code end)

    def link(self, object_bytes, symbols):
        """Link a batch; returns {symbol: address} and registers its code range."""
        if self._jit is None:
            self._jit = new_jit()
        tracker, addresses = link_library(self._jit, object_bytes,
                                          [CODE_BEGIN, CODE_END, *symbols])
        begin, end = addresses[CODE_BEGIN], addresses[CODE_END]
        for symbol in symbols:
            if not begin < addresses[symbol] < end:
                tracker.close()
                raise RuntimeError(f"{symbol} lies outside its batch's code range markers")
        _ext.register_code_range(begin, end)
        self._libraries.append((tracker, begin, end))
        return addresses

    @property
    def libraries(self):
        return len(self._libraries)

    def close(self):
        # the trackers go before the JIT that owns their code
        for tracker, begin, end in self._libraries:
            _ext.unregister_code_range(begin, end)
            tracker.close()
        self._libraries = []
        if self._jit is not None:
            self._jit.close()
            self._jit = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class LazyCode:
    """The code of a LAZY (or REPL) module: what runtime.instantiate needs
    (func_address, bounds, tier), shared by every instance of the module."""

    def __init__(self, desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT, mode="lazy"):
        self.desc = desc
        self.options = options
        self.tier = getattr(options, "tier", "T1")
        self.bounds = getattr(options, "bounds", "guard")
        self.fuel = getattr(options, "fuel", False)
        self.interruptible = getattr(options, "interruptible", True)
        self.mode = mode
        self.batch_limit = max(1, int(batch_limit))
        self._first = desc.num_imported_funcs
        self._count = len(desc.func_type_indices)
        self._compile_lock = _threading.Lock()      # one compile at a time, never twice
        self._publish_lock = _threading.Lock()      # compiled addresses vs registered instances
        self._instances = _weakref.WeakSet()
        self._compiled = {}                        # func index -> code address
        self._jit = BatchJit()
        self._counters = {"functions_compiled": 0, "batches": 0, "compile_errors": 0,
                          "deep_compiles": 0, "translate_seconds": 0.0,
                          "codegen_seconds": 0.0, "link_seconds": 0.0}
        if _ext.lazy_supported():
            self._stubs = _ext.LazyStubs(self._count, self)
        else:
            # no native stubs for this CPU: compile everything now, in one batch
            self._stubs = None
            self._compile_batch(list(range(self._first, self._count)))

    # ---- what instantiation needs ----

    def func_address(self, index):
        """The address to call function `index` by: its stub (valid forever)."""
        self._check_defined(index)
        if self._stubs is None:
            return self._compiled[index]
        return self._stubs.stub(index)

    def attach_instance(self, instance):
        """Register a live instance: its funcs records get compiled code directly
        (now for what is compiled, later as batches are published)."""
        with self._publish_lock:
            self._instances.add(instance)
            compiled = dict(self._compiled)
        self._patch_records(instance, compiled)

    def is_compiled(self, index):
        return index in self._compiled

    @property
    def stats(self):
        """Counters: functions (defined), functions_compiled, batches, seconds..."""
        out = dict(self._counters)
        out.update(mode=self.mode, tier=self.tier, bounds=self.bounds, fuel=self.fuel,
                   interruptible=self.interruptible,
                   functions=self._count - self._first, libraries=self._jit.libraries,
                   batch_limit=self.batch_limit, native_stubs=self._stubs is not None)
        return out

    def close(self):
        """Free all compiled code; no function of the module may run afterwards."""
        self._jit.close()

    # ---- the resolver's side ----

    def _resolve(self, index, deep):
        """Called by the native resolver (GIL held): the code of `index`, compiled now."""
        self._check_defined(index)
        code = self._stubs.code(index)
        if code:
            return code
        with self._compile_lock:           # another thread's compile of it: wait for it
            code = self._stubs.code(index)
            if code:
                return code
            if deep:
                self._counters["deep_compiles"] += 1
                _run_on_fresh_thread(self._compile_for, index)
            else:
                self._compile_for(index)
        return self._stubs.code(index)

    def compile_now(self, indices):
        """Compile these functions now (if not yet), e.g. to warm a module up."""
        with self._compile_lock:
            todo = [i for i in indices if i not in self._compiled]
            for i in todo:
                self._check_defined(i)
            if todo:
                self._compile_batch(todo)

    def _compile_for(self, index):
        """Compile `index` with a batch of its callees; alone if the batch fails."""
        translated = self._translate_batch(index)
        if len(translated[1]) > 1:
            try:
                self._build(*translated)
                return
            except Exception:
                # a callee LLVM rejects must not fail a function that may never call it
                self._counters["compile_errors"] += 1
            translated = self._translate([index])
        try:
            self._build(*translated)
        except Exception:
            self._counters["compile_errors"] += 1
            raise

    def _compile_batch(self, indices):
        if indices:
            self._build(*self._translate(indices))

    def _translate(self, indices):
        """(context, funcs, IR bodies) of the functions `indices`."""
        t0 = _time.perf_counter()
        ctx = ModuleContext(self.desc, self.bounds, table_calls=True, fuel=self.fuel,
                            interruptible=self.interruptible)
        funcs = [self.desc.funcs[i - self._first] for i in indices]
        bodies = [FunctionTranslator(ctx, func).translate() for func in funcs]
        self._counters["translate_seconds"] += _time.perf_counter() - t0
        return ctx, funcs, bodies

    def _translate_batch(self, index):
        """`index` and its not yet compiled direct callees, breadth first, within
        the budget, translated: (context, funcs, IR bodies).

        The callees come from the translator's call emitter (FunctionTranslator.
        callees). A callee whose translation fails is left out (it fails on its
        own first call, if that ever comes); a failure of `index` itself raises."""
        t0 = _time.perf_counter()
        ctx = ModuleContext(self.desc, self.bounds, table_calls=True, fuel=self.fuel,
                            interruptible=self.interruptible)
        funcs, bodies = [], []
        queue, seen = deque([index]), {index}
        budget = BATCH_BODY_BYTES
        while queue and len(funcs) < self.batch_limit:
            func = self.desc.funcs[queue.popleft() - self._first]
            size = func.body_end - func.body_start
            if funcs and size > budget:
                continue
            translator = FunctionTranslator(ctx, func)
            try:
                bodies.append(translator.translate())
            except Exception:
                if not funcs:
                    raise
                continue
            funcs.append(func)
            budget -= size
            for callee in sorted(translator.callees):
                if callee not in seen and callee not in self._compiled:
                    seen.add(callee)
                    queue.append(callee)
        self._counters["translate_seconds"] += _time.perf_counter() - t0
        return ctx, funcs, bodies

    def _build(self, ctx, funcs, bodies):
        """Optimize, emit, link and publish translated functions."""
        tm = target_machine(self.tier)
        t1 = _time.perf_counter()
        text = assemble_module(ctx, bodies, funcs, tm.triple, str(tm.target_data))
        obj, _ = emit_object(text, self.tier)
        t2 = _time.perf_counter()
        symbols = {func.index: func_symbol(func.index) for func in funcs}
        addresses = self._jit.link(obj, list(symbols.values()))
        t3 = _time.perf_counter()
        self._publish({i: addresses[s] for i, s in symbols.items()})
        c = self._counters
        c["functions_compiled"] += len(funcs)
        c["batches"] += 1
        c["codegen_seconds"] += t2 - t1
        c["link_seconds"] += t3 - t2

    def _publish(self, compiled):
        if self._stubs is not None:
            for index, address in compiled.items():
                self._stubs.publish(index, address)
        with self._publish_lock:
            self._compiled.update(compiled)
            instances = list(self._instances)
        for instance in instances:
            self._patch_records(instance, compiled)

    def _patch_records(self, instance, compiled):
        if self._stubs is None:
            return
        for index, address in compiled.items():
            _ext.patch_record_code(instance.func_record_address(index),
                                   self._stubs.stub(index), address)

    def _check_defined(self, index):
        if not self._first <= index < self._count:
            raise IndexError(f"function {index} is not defined by this module "
                             f"(defined: {self._first}..{self._count - 1})")

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


def compile(desc, options, *, batch_limit=DEFAULT_BATCH_LIMIT):
    """LAZY: the module is validated (desc comes from wasabi.parse); nothing is compiled yet."""
    return LazyCode(desc, options, batch_limit=batch_limit, mode="lazy")
