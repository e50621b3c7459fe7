"""Translation of one validated wasm function body to LLVM IR text.

The translator walks the body once. Wasm operand-stack values become SSA values
(or literal constants, which cost nothing until used); wasm locals become allocas
that SROA turns into SSA registers. Control structures map to basic blocks:

- a `block`/`if` gets an end label whose phis merge the values of every branch
  to it; a `loop` gets a header label whose phis merge the loop parameters (the
  phi text goes into a placeholder line filled in at the loop's `end`, once every
  back edge is known);
- a branch to the function frame is a `ret`;
- code after br/br_table/return/unreachable is not translated: the reader skips
  to the `else`/`end` that closes the block (its stack would be polymorphic);
- traps branch to one shared block per trap code at the end of the function.

Invariant vmctx loads (memory base in guard mode, the function/global/table
arrays, global cells, type ids) are emitted once, in the entry block, when first
used; they carry !invariant.load so LLVM may hoist and share them.

The emitters for the opcode families live in wasabi/compiler/emit/; they call the
small helper methods below. The class is shaped for a later move to Cython.
"""
import re as _re

from ..abi import traps
from ..abi.builtins import STACK_LIMIT_TPOFF_SYMBOL, calling_convention
from ..abi.vmctx import VMCTX_INTERRUPT, VMCTX_STACK_LIMIT_TPOFF
from ..binary.body import BodyReader, IMMEDIATE_READERS, skip_to_block_end
from ..binary.opcodes import PREFIX_FD
from ..errors import CompileError
from . import osr
from .emit import DISPATCH, DISPATCH_PREFIXED, fuel
from .frames import FUNC, Frame
from .irnames import (CODE_SECTION, MD_COLD_BRANCH, MD_INVARIANT, MD_SP_REGISTER,
                      SIMD_ATTRIBUTES, osr_symbol)
from .irtypes import ZERO, function_signature, llvm_type, return_type

# a load's freeze (emit/memory.py): "  %n = freeze <type> %m"
_FREEZE = _re.compile(r"^(  %[\w.]+ = )freeze (.+) (%[\w.]+)$")


class FunctionTranslator:
    def __init__(self, module, func):
        self.m = module
        self.func = func
        self.r = BodyReader(module.desc.data, func.body_start)
        params, results = module.func_sig(func.index)
        self.param_types = params
        self.result_types = results
        self.local_types = params + self._declared_locals(func)
        self.lines = []                # body lines
        self.prologue_lines = []       # invariant loads, placed in the entry block
        self.prologue = {}             # key -> SSA name of an invariant load
        self.stack = []                # operand stack: (value text, LLVM type)
        self.frames = []
        self.n = 0                     # counter for fresh names
        self.cur = "body"              # label of the current basic block
        self.dead = False              # the rest of the current block is unreachable
        self.traps = set()             # trap codes whose shared trap block is used
        self.uses_simd = False         # a SIMD instruction was translated
        self.i1 = {}                   # i32 value produced by zext of an i1 -> that i1
        self.promoted = set()          # f64 values made by f64.promote_f32 (see emit/convert)
        self.mem_cache = None          # explicit bounds mode: (base, size) in this block
        self.local_values = {}         # local index -> its value in this block (emit/variables)
        self.vector_views = {}         # v128 value -> {vector type: same bits} (emit/simd.py)
        self.instructions = 0
        self.callees = set()           # defined functions called (lazy compile batches)
        self.fuel = None               # Options(fuel=True): emit/fuel.py's counting state
        # PGO: the header label of every loop, in order (None: no entry there, see
        # osr_lines); whether the baseline spills locals for an entry into optimised code
        self.loop_headers = []
        self.osr_spills = False
        # True while the copy of a loop with unchecked accesses is translated
        # (emit/loop_versions.py, at O2: ModuleContext.version_loops)
        self.unchecked = False
        # in a nest's fast copy: body position of an access -> its alias scopes
        # (emit/loop_checks.alias_tags), else None
        self.alias_tags = None

    @staticmethod
    def _declared_locals(func):
        out = []
        for count, valtype in func.locals:
            out.extend([llvm_type(valtype)] * count)
        return tuple(out)

    # -- names, lines, stack ----------------------------------------------------------
    def new(self):
        # SSA values are numbered, not named (%12, not %v12): LLVM's parser keeps
        # numbered values in a vector instead of a symbol table, which made parsing
        # about a third faster. Numbers must grow in the order of their definitions in
        # the text (gaps are fine: labels and named values share the counter).
        self.n += 1
        return f"%{self.n}"

    def new_label(self):
        self.n += 1
        return f"L{self.n}"

    def emit(self, text):
        self.lines.append("  " + text)

    def inst(self, text):
        """Emit `%v = text` and return %v."""
        self.n += 1
        name = f"%{self.n}"
        self.lines.append(f"  {name} = {text}")
        return name

    def push(self, value, ty):
        self.stack.append((value, ty))

    def pop(self):
        return self.stack.pop()

    def pop_value(self):
        return self.stack.pop()[0]

    def pop_args(self, n):
        """The top n values as an IR argument list ', ty v, ...' (deepest first), popped."""
        if not n:
            return ""
        args = self.stack[-n:]
        del self.stack[-n:]
        return "".join(f", {t} {v}" for v, t in args)

    def top_values(self, n):
        return [v for v, _ in self.stack[len(self.stack) - n:]] if n else []

    def push_bool(self, i1):
        """Push an i1 as the i32 wasm boolean, remembering the i1 for a later branch."""
        value = self.inst(f"zext i1 {i1} to i32")
        self.i1[value] = i1
        self.stack.append((value, "i32"))

    def cond(self):
        """Pop an i32 condition and return it as an i1."""
        value = self.pop_value()
        i1 = self.i1.get(value)
        if i1 is None:
            i1 = self.inst(f"icmp ne i32 {value}, 0")
        return i1

    def opaque(self, ty, value):
        """`value` hidden from LLVM's folding (an empty inline asm; a register move at most).

        LLVM folds x - 0.0, x * 1.0, fptrunc(fpext x), ... to x, which passes a
        signalling NaN through where wasm requires a quiet one; an operand LLVM
        cannot see keeps the operation (and its NaN quieting) in the machine code.
        An inline asm without side effects can still be hoisted and shared.
        """
        return self.inst(f'call {ty} asm "", "={self.m.fp_register},0"({ty} {value})')

    def start_block(self, label):
        self.lines.append(f"{label}:")
        self.cur = label
        self.mem_cache = None
        # (also where this block's one predecessor is the block ending here: a value
        # kept across blocks costs T0 a spill, no less than the load it saves)
        self.local_values = {}

    def trap_if(self, cond, code):
        """Trap with `code` when the i1 `cond` is true (a cold branch)."""
        self.traps.add(code)
        cont = self.new_label()
        self.emit(f"br i1 {cond}, label %trap{code}, label %{cont}, !prof {MD_COLD_BRANCH}")
        self.start_block(cont)

    def trap_if_calling(self, cond, call):
        """Like trap_if, but the cold block is this site's own and runs `call`, a
        noreturn builtin whose arguments come from here (shared blocks carry a code only)."""
        trap, cont = self.new_label(), self.new_label()
        self.emit(f"br i1 {cond}, label %{trap}, label %{cont}, !prof {MD_COLD_BRANCH}")
        self.start_block(trap)
        self.emit(call)
        self.emit("unreachable")
        self.start_block(cont)

    def trap_unless(self, cond, code):
        """Trap with `code` when the i1 `cond` is false."""
        self.trap_if(self.inst(f"xor i1 {cond}, true"), code)

    def builtin(self, name, ret, args):
        """Call a runtime builtin; `args` is the text after %vmctx (', i32 0, ...')."""
        text = f"call {ret} @{name}(ptr %vmctx{args})"
        if ret == "void":
            self.emit(text)
            return None
        return self.inst(text)

    # -- invariant loads in the entry block --------------------------------------------
    def _invariant(self, key, name, lines):
        if key not in self.prologue:
            self.prologue_lines.extend(lines)
            self.prologue[key] = name
        return name

    def vmctx_ptr(self, offset):
        """The pointer stored in vmctx at `offset` (never changes for an instance)."""
        name = self.prologue.get(("vm", offset))      # (asked for at every memory access)
        if name is not None:
            return name
        name = f"%vm{offset}"
        return self._invariant(("vm", offset), name, [
            f"  {name}.p = getelementptr inbounds i8, ptr %vmctx, i64 {offset}",
            f"  {name} = load ptr, ptr {name}.p, !invariant.load {MD_INVARIANT}"])

    def array_entry(self, array_offset, index, tag, ty="ptr"):
        """Element `index` of the pointer/u64 array that vmctx points to at `array_offset`."""
        name = self.prologue.get((tag, index))
        if name is not None:
            return name
        array = self.vmctx_ptr(array_offset)
        name = f"%{tag}{index}"
        return self._invariant((tag, index), name, [
            f"  {name}.p = getelementptr inbounds {ty}, ptr {array}, i64 {index}",
            f"  {name} = load {ty}, ptr {name}.p, !invariant.load {MD_INVARIANT}"])

    # -- control helpers used by emit/control.py -------------------------------------
    def block_sig(self, blocktype):
        if blocktype is None:
            return (), ()
        if isinstance(blocktype, tuple):
            return self.m.type_sig(blocktype[1])
        return (), (llvm_type(blocktype),)

    def branch_edge(self, frame):
        """Record the current block as a predecessor of frame's target; return the label."""
        frame.incoming.append((self.cur, self.top_values(len(frame.branch_types()))))
        return frame.label

    def jump(self, frame):
        """Unconditional branch to `frame` (a return for the function frame)."""
        if frame.kind == FUNC:
            self.emit_return()
        else:
            self.emit(f"br label %{self.branch_edge(frame)}")

    def emit_return(self):
        if self.fuel is not None:
            self.fuel.save(self)       # the caller reads the fuel left from the store
        results = self.result_types
        if not results:
            self.emit("ret void")
            return
        values = self.stack[len(self.stack) - len(results):]
        if len(results) == 1:
            value, ty = values[0]
            self.emit(f"ret {ty} {value}")
            return
        rtype = return_type(results)
        agg = "poison"
        for i, (value, ty) in enumerate(values):
            agg = self.inst(f"insertvalue {rtype} {agg}, {ty} {value}, {i}")
        self.emit(f"ret {rtype} {agg}")

    def merge(self, incoming, types):
        """Push the values merged from `incoming` edges (phis where they differ)."""
        for i, ty in enumerate(types):
            first = incoming[0][1][i]
            if all(values[i] == first for _, values in incoming):
                self.push(first, ty)
                continue
            edges = ", ".join(f"[{values[i]}, %{pred}]" for pred, values in incoming)
            self.push(self.inst(f"phi {ty} {edges}"), ty)

    def loop_phis(self, frame):
        """Fill the loop header's placeholder with one phi per loop parameter."""
        phis = []
        for i, (name, ty) in enumerate(zip(frame.phi_names, frame.params)):
            edges = ", ".join(f"[{values[i]}, %{pred}]" for pred, values in frame.incoming)
            phis.append(f"  {name} = phi {ty} {edges}")
        self.lines[frame.phi_slot] = "\n".join(phis)

    # -- the walk ------------------------------------------------------------------------
    def translate(self):
        """The complete `define` text of the function."""
        self.frames.append(Frame(FUNC, (), self.result_types, 0, None))
        dispatch, prefixed = DISPATCH, DISPATCH_PREFIXED
        if getattr(self.m, "fuel", False):
            dispatch, prefixed = fuel.start(self)      # handlers that count fuel
        r = self.r
        data = r.data
        readers = IMMEDIATE_READERS
        frames = self.frames
        count = 0
        while frames:
            if self.dead:
                skip_to_block_end(r)
            b = data[r.pos]
            r.pos += 1
            entry = dispatch[b]
            if entry is None:
                self.uses_simd |= b == PREFIX_FD        # (SIMD: emit/simd*.py)
                entry = prefixed.get((b, r.u32()))
                if entry is None:
                    raise CompileError(f"instruction not supported by the compiler: "
                                       f"{b:#x} prefix", r.pos)
            op, handler = entry
            imm = op.imm
            if imm == "none":
                handler(self, None, op)
            elif imm == "local" and data[r.pos] < 0x80:     # a one-byte index
                handler(self, data[r.pos], op)
                r.pos += 1
            else:
                handler(self, readers[imm](r), op)
            count += 1
        self.instructions = count
        if self._simd_apart():      # compiled apart: its loads' freezes become identity casts
            self.lines = [_FREEZE.sub(r"\1bitcast \2 \3 to \2", line) for line in self.lines]
        return self._assemble()

    def _entry_block(self, from_buffer=False):
        """Allocas for the locals, set from the parameters and zeros (or, for an entry at
        a loop header, from the baseline's spill buffer %osrbuf)."""
        out = []
        for i, ty in enumerate(self.local_types):
            out.append(f"  %l{i} = alloca {ty}")
        if self.osr_spills:
            out.append(f"  %osrbuf = alloca [{max(len(self.local_types), 1)} x i128], align 16")
        if from_buffer:
            for i, ty in enumerate(self.local_types):
                out.append(f"  %osr.s{i} = getelementptr inbounds i128, ptr %osrbuf, i64 {i}")
                out.append(f"  %osr.v{i} = load {ty}, ptr %osr.s{i}, align 16")
                out.append(f"  store {ty} %osr.v{i}, ptr %l{i}")
            return out
        for i, ty in enumerate(self.param_types):
            out.append(f"  store {ty} %p{i}, ptr %l{i}")
        for i in range(len(self.param_types), len(self.local_types)):
            ty = self.local_types[i]
            out.append(f"  store {ty} {ZERO[ty]}, ptr %l{i}")
        return out

    def _stack_check(self, then="body"):
        """The function entry's stack check (stack_check_lines), then label `then`."""
        if self.m.out_of_line_stack_check:
            return [f"  call void @{STACK_CHECK_FUNCTION}(ptr %vmctx)", f"  br label %{then}"]
        return stack_check_lines(self.m, then)

    def poll_lines(self, then):
        """Call wasabi_rt_poll when vmctx->interrupt is nonzero, then go to label `then`.

        At every loop header where the runtime cannot interrupt loops by signal
        (module_ir.LOOP_POLLS; function entries poll through their stack check):
        Ctrl-C, store.interrupt() and deadlines set that word (control.c). A volatile
        load, so that LLVM neither hoists it out of a loop nor merges two of them."""
        if not self.m.loop_polls:
            return [f"  br label %{then}"]
        self.n += 1
        k = self.n
        return [
            f"  %hint.p{k} = getelementptr inbounds i8, ptr %vmctx, i64 {VMCTX_INTERRUPT}",
            f"  %hint{k} = load volatile i64, ptr %hint.p{k}, align 8",
            f"  %hint.set{k} = icmp ne i64 %hint{k}, 0",
            f"  br i1 %hint.set{k}, label %poll{k}, label %{then}, !prof {MD_COLD_BRANCH}",
            f"poll{k}:",
            "  call void @wasabi_rt_poll(ptr %vmctx)",
            f"  br label %{then}"]

    def count_lines(self, which):
        """PGO baseline: add one to this function's counter `which` (0: calls, 1: loop
        iterations) in the module's counter array (modes/tiered.py); else nothing.
        A plain load/add/store: a count lost to a race between threads is noise."""
        profile = self.m.profile
        if profile is None or not profile.counting:
            return []
        self.n += 1
        k = self.n
        self.last_count = f"%cnt.n{k}"
        address = profile.counter_address(self.func.index, which)
        return [f"  %cnt.p{k} = inttoptr i64 {address} to ptr",
                f"  %cnt{k} = load i64, ptr %cnt.p{k}, align 8",
                f"  %cnt.n{k} = add i64 %cnt{k}, 1",
                f"  store i64 %cnt.n{k}, ptr %cnt.p{k}, align 8"]

    def loop_entry(self, frame):
        """At a loop header: note it (an optimised build of this function may be
        entered here, osr_define) and, in the PGO baseline, every osr.EVERY iterations
        look whether that entry exists: if so, hand the locals over and return what it
        returns (a call that never returns here keeps running in the baseline: it
        reaches optimised code the next time it gets here). Only loops entered with an
        empty operand stack and no parameters: the locals are then the whole state."""
        k = len(self.loop_headers)
        eligible = not frame.params and frame.height == 0 and self.fuel is None
        entered_before = sum(label is not None for label in self.loop_headers)
        self.loop_headers.append(frame.label if eligible else None)
        profile = self.m.profile
        if not eligible or profile is None or not profile.counting \
                or entered_before >= osr.entry_count(self.func):
            return
        self.osr_spills = True
        n = self.n = self.n + 1
        look, go, cont = f"osr.look{n}", f"osr.go{n}", f"osr.no{n}"
        self.emit(f"%osr.tick{n} = and i64 {self.last_count}, {osr.EVERY - 1}")
        self.emit(f"%osr.at{n} = icmp eq i64 %osr.tick{n}, 0")
        self.emit(f"br i1 %osr.at{n}, label %{look}, label %{cont}, !prof {MD_COLD_BRANCH}")
        self.start_block(look)
        slot = profile.osr_slot(self.func.index, k)
        self.emit(f"%osr.p{n} = inttoptr i64 {slot} to ptr")
        self.emit(f"%osr.f{n} = load atomic ptr, ptr %osr.p{n} monotonic, align 8")
        self.emit(f"%osr.has{n} = icmp ne ptr %osr.f{n}, null")
        self.emit(f"br i1 %osr.has{n}, label %{go}, label %{cont}")
        self.start_block(go)
        for i, ty in enumerate(self.local_types):
            self.emit(f"%osr.s{n}.{i} = getelementptr inbounds i128, ptr %osrbuf, i64 {i}")
            self.emit(f"%osr.v{n}.{i} = load {ty}, ptr %l{i}")
            self.emit(f"store {ty} %osr.v{n}.{i}, ptr %osr.s{n}.{i}, align 16")
        rtype = return_type(self.result_types)
        call = f"notail call {rtype} %osr.f{n}(ptr %vmctx, ptr %osrbuf)"
        if self.result_types:
            self.emit(f"%osr.r{n} = {call}")
            self.emit(f"ret {rtype} %osr.r{n}")
        else:
            self.emit(call)
            self.emit("ret void")
        self.start_block(cont)

    def _entry_count(self):
        """PGO optimised build: the function's entry count as its !prof."""
        profile = self.m.profile
        if profile is None or profile.counting:
            return ""
        count = profile.entry_count(self.func.index)
        md = self.m.new_metadata(f'!{{!"function_entry_count", i64 {count}}}')
        return f" !prof {md}"

    def osr_entries(self):
        """The loop ordinals at which an optimised build can be entered (osr_define)."""
        return [k for k, label in enumerate(self.loop_headers) if label is not None]

    def osr_define(self, k):
        """After translate(): the same function as a `define` of its own that starts at
        loop k's header, its locals read from the buffer the baseline spilled them to:
        `RT @<symbol>_osr<k>(ptr %vmctx, ptr %osrbuf)`."""
        header = (f"define {return_type(self.result_types)} "
                  f"@{osr_symbol(self.func.index, k)}(ptr %vmctx, ptr %osrbuf)")
        parts = [f'{header} {self.attributes()} section "{CODE_SECTION}" {{', "entry:"]
        parts.extend(self._entry_block(from_buffer=True))
        parts.extend(self.prologue_lines)
        parts.extend(self._stack_check(then=self.loop_headers[k]))
        parts.append("body:")
        parts.extend(self.lines)
        parts.extend(self._trap_blocks())
        parts.append("}")
        return "\n".join(parts)

    def _simd_apart(self):
        """Whether this function is compiled apart from the module's AVX-512 code: it
        uses SIMD, whose extending loads a freeze would keep from folding (see
        pipelines.masked_memory_operands)."""
        return self.uses_simd and self.m.freeze_loads

    def attributes(self):
        """The function's attribute group: SIMD_ATTRIBUTES (no AVX-512, noinline: its
        loads are not frozen, so it must not be inlined into code with AVX-512) or #0."""
        return f"#{SIMD_ATTRIBUTES}" if self._simd_apart() else "#0"

    def _trap_blocks(self):
        out = []
        for code in sorted(self.traps):
            out.append(f"trap{code}:")
            out.append(f"  call void @wasabi_rt_trap(i32 {code})")
            out.append("  unreachable")
        return out

    def _assemble(self):
        header = function_signature(self.m.func_symbol(self.func.index),
                                    self.param_types, self.result_types)
        parts = [f'{header} {self.attributes()} section "{CODE_SECTION}"{self._entry_count()} {{',
                 "entry:"]
        parts.extend(self._entry_block())
        parts.extend(self.prologue_lines)
        parts.extend(self._stack_check())
        parts.append("body:")
        parts.extend(self.count_lines(0))
        parts.extend(self.lines)
        parts.extend(self._trap_blocks())
        parts.append("}")
        return "\n".join(parts)


# T0's function entries call this function of their module (ModuleContext.
# out_of_line_stack_check); it checks the stack pointer a call deeper (by a few bytes:
# a stricter check), and the slow path's poll is the entry's as before
STACK_CHECK_FUNCTION = "wasabi.stack_check"


def stack_check_function(ctx):
    """The `define` of STACK_CHECK_FUNCTION, internal to each module (part)."""
    return "\n".join([
        f'define internal void @{STACK_CHECK_FUNCTION}(ptr %vmctx) #1 section "{CODE_SECTION}" {{',
        "entry:", *stack_check_lines(ctx, "ok"), "ok:", "  ret void", "}"])


def stack_check_lines(ctx, then):
    """Call wasabi_rt_stack_slow when the stack pointer is below this thread's
    limit (cold branch): it traps when the stack is exhausted, and polls when
    the limit was forced because an interrupt is due (entry.c, control.c), so
    this check is also the function entry's interrupt check.

    The limit is thread-local (entry.c): it belongs to the thread, not to the
    instance, whose VMContext every caller shares. On x86-64 the check is one
    `cmp %fs:<offset>, %rsp`, the offset an absolute symbol the JIT linker
    resolves (abi.builtins.STACK_LIMIT_TPOFF_SYMBOL); elsewhere the offset
    comes from vmctx->stack_limit_tpoff and is added to the thread pointer."""
    lines = [f"  %sp = call i64 @llvm.read_register.i64(metadata {MD_SP_REGISTER})"]
    if ctx.segment_stack_check:
        # (a flag output, "={@ccb}", would save the mov but fails O2's machine verifier)
        lines.append(f'  %sl = call i64 asm "movq %fs:{STACK_LIMIT_TPOFF_SYMBOL}, $0", '
                     '"=r"() #2')
    else:
        lines += [
            "  %tp = call ptr @llvm.thread.pointer.p0()",
            f"  %sl.off.p = getelementptr inbounds i8, ptr %vmctx, "
            f"i64 {VMCTX_STACK_LIMIT_TPOFF}",
            f"  %sl.off = load i64, ptr %sl.off.p, !invariant.load {MD_INVARIANT}",
            "  %sl.p = getelementptr i8, ptr %tp, i64 %sl.off",
            "  %sl = load i64, ptr %sl.p",
        ]
    # without polls the slow path only checks the stack (a limit forced for
    # another instance on this thread is restored; this code is not polled)
    polled = "%vmctx" if ctx.interruptible else "null"
    return lines + [
        "  %sov = icmp ult i64 %sp, %sl",
        f"  br i1 %sov, label %stack.slow, label %{then}, !prof {MD_COLD_BRANCH}",
        "stack.slow:",
        f"  call {calling_convention('wasabi_rt_stack_slow')}void "
        f"@wasabi_rt_stack_slow(ptr {polled})",
        f"  br label %{then}"]

