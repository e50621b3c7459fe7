"""The one batch builder: translate -> optimise -> emit -> link, for every mode.

A build takes some defined functions of a module (EAGER: all of them, in parts
on worker processes when the module is big; LAZY: one function and the callees
it is about to call) and links their code into a JitLibrary. The mode decides
which functions and when, and publishes the addresses into its CodeTable.

    builder = BatchBuilder(desc, options, table_calls=False)
    build = builder.build(library, builder.parts(jobs))       # all, in parts
    build = builder.build(library, [builder.translate_with_callees(index, ...)])
"""
import time as _time
from collections import deque

from ..options import CodeOptions
from . import parallel
from .jit import emit_object
from .module_ir import ModuleContext, ModuleIR, assemble_module, func_symbol, translate_module
from .irnames import osr_symbol
from .pipelines import target_machine
from .translator import FunctionTranslator


class Build:
    """What one build made: objects (one per part), symbols and addresses by
    function index, and its counters."""
    __slots__ = ("objects", "symbols", "addresses", "stats", "osr_addresses")

    def __init__(self, objects, symbols, addresses, stats, osr_addresses=None):
        self.objects = objects
        self.symbols = symbols          # func index -> symbol
        self.addresses = addresses      # func index -> code address
        self.stats = stats
        self.osr_addresses = osr_addresses or {}   # (func index, loop) -> entry (PGO)


class BatchBuilder:
    """Builds functions of one module with one set of code options.

    `options`: an Options or a CodeOptions (None: the defaults). `table_calls`: every call goes through the
    callee's vmctx->funcs record (LAZY, REPL: code compiled or swapped in later is
    reached), else calls within the module are direct."""

    def __init__(self, desc, options=None, *, table_calls=False, profile=None,
                 foreign_records=False):
        self.desc = desc
        self.code = CodeOptions.of(options)
        self.tier = self.code.tier
        self.table_calls = table_calls
        self.profile = profile          # PGO: counters to increment, or counts to use
        self.foreign_records = foreign_records      # REPL: see ModuleContext
        tm = target_machine(self.tier)
        self._triple, self._datalayout = tm.triple, str(tm.target_data)

    # ---- translate ----

    def translate(self, indices=None, part=0):
        """The IR module of defined functions `indices` (None: all) as `part`."""
        return translate_module(self.desc, self.code, indices, triple=self._triple,
                                datalayout=self._datalayout, table_calls=self.table_calls,
                                part=part, profile=self.profile,
                                foreign_records=self.foreign_records)

    def parts(self, jobs):
        """Translators of the whole module in parts (parallel.partition), for build."""
        parts = parallel.partition(self.desc, self.tier, jobs)
        if len(parts) == 1:
            return [lambda k: self.translate(None, k)]
        return [lambda k, indices=indices: self.translate(indices, k) for indices in parts]

    def translate_with_callees(self, index, limit, budget, skip, direct=False, osr=False):
        """`index` and its direct callees that `skip(callee)` does not refuse, breadth
        first, at most `limit` functions and `budget` bytes of wasm code, as one IR
        module. The callees come from the translator's call emitter
        (FunctionTranslator.callees); one whose translation fails is left out (it fails
        on its own first call, if that ever comes); a failure of `index` itself raises.
        `direct`: the batch's functions call each other directly (translated twice:
        once to find them, once to build); `osr`: also `index` entered at each of its
        loop headers that allow it (FunctionTranslator.osr_define), at most `osr` of them
        (a number; True: all)."""
        start = _time.perf_counter()
        if direct:
            return self.translate_members(self.batch_members(index, limit, budget, skip),
                                          osr, start)
        ctx = self._context()
        first = self.desc.num_imported_funcs
        funcs, bodies, instructions = [], [], 0
        queue, seen = deque([index]), {index}
        while queue and len(funcs) < limit:
            func = self.desc.funcs[queue.popleft() - first]
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
            instructions += translator.instructions
            budget -= size
            for callee in sorted(translator.callees):
                if callee not in seen and not skip(callee):
                    seen.add(callee)
                    queue.append(callee)
        text = assemble_module(ctx, bodies, funcs, self._triple, self._datalayout)
        return ModuleIR(text, {f.index: func_symbol(f.index) for f in funcs}, instructions,
                        sum(f.body_end - f.body_start for f in funcs),
                        _time.perf_counter() - start)

    def batch_members(self, index, limit, budget, skip):
        """The functions of translate_with_callees's batch of `index`, `index` first."""
        found = self.translate_with_callees(index, limit, budget, skip)
        return sorted(found.symbols, key=lambda i: i != index)

    def translate_members(self, members, osr=False, start=None):
        """The IR module of `members` (batch_members), calling each other directly;
        `osr` as translate_with_callees has it, for the first member."""
        start = _time.perf_counter() if start is None else start
        return self._translate_direct(members, start, members[0] if osr else None, osr)

    def _translate_direct(self, indices, start, osr_of=None, osr_entries=True):
        ctx = self._context()
        ctx.direct = frozenset(indices)
        first = self.desc.num_imported_funcs
        funcs = [self.desc.funcs[i - first] for i in indices]
        translators = [FunctionTranslator(ctx, func) for func in funcs]
        bodies = [tr.translate() for tr in translators]
        osr_symbols = {}
        if osr_of is not None:
            entered = translators[indices.index(osr_of)]
            entries = entered.osr_entries()
            for k in entries if osr_entries is True else entries[:osr_entries]:
                bodies.append(entered.osr_define(k))
                osr_symbols[osr_of, k] = osr_symbol(osr_of, k)
        text = assemble_module(ctx, bodies, funcs, self._triple, self._datalayout)
        return ModuleIR(text, {f.index: func_symbol(f.index) for f in funcs},
                        sum(tr.instructions for tr in translators),
                        sum(f.body_end - f.body_start for f in funcs),
                        _time.perf_counter() - start, osr_symbols)

    def _context(self):
        return ModuleContext(self.desc, self.code, self.table_calls, self.profile,
                             foreign_records=self.foreign_records)

    # ---- optimise, emit, link ----

    def build(self, library, parts, jobs=1, builtin_addresses=None, elsewhere=False,
              spool=None):
        """Emit and link the parts (ModuleIRs, or callables k -> ModuleIR called in
        order while workers emit earlier parts) into `library`: a Build. `elsewhere`:
        one part is emitted in a worker process too (parallel.emit_elsewhere, with
        `spool`)."""
        translated = []

        def text_of(k):
            part = parts[k](k) if callable(parts[k]) else parts[k]
            translated.append(part)
            return part.text

        if len(parts) == 1:
            text = text_of(0)
            emitted = [parallel.emit_elsewhere(text, self.tier, spool) if elsewhere
                       else emit_object(text, self.tier)]
        else:
            emitted = parallel.emit_parts(text_of, len(parts), self.tier, jobs)
        objects = [obj for obj, _ in emitted]
        symbols = {i: s for m in translated for i, s in m.symbols.items()}
        osr = {key: s for m in translated for key, s in m.osr_symbols.items()}
        start = _time.perf_counter()
        addresses = library.link(objects, [*symbols.values(), *osr.values()], builtin_addresses)
        stats = {key: sum(timings[key] for _, timings in emitted) for key in emitted[0][1]}
        stats.update(self.code.as_dict(), parts=len(parts),
                     functions=len(symbols),
                     instructions=sum(m.instructions for m in translated),
                     body_bytes=sum(m.body_bytes for m in translated),
                     ir_chars=sum(len(m.text) for m in translated),
                     object_bytes=sum(map(len, objects)),
                     translate_seconds=sum(m.translate_seconds for m in translated),
                     link_seconds=_time.perf_counter() - start)
        return Build(objects, symbols, {i: addresses[s] for i, s in symbols.items()}, stats,
                     {key: addresses[s] for key, s in osr.items()})
