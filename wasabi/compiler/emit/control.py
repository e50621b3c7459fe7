"""Structured control flow: block, loop, if/else, end, br, br_if, br_table, return,
unreachable, nop. See translator.py for how frames map to basic blocks."""
from ...abi.traps import TRAP_UNREACHABLE
from ..frames import BLOCK, FUNC, IF, LOOP, Frame
from ..profile import multi_way, two_way
from . import loop_checks, loop_versions


def _open(t, kind, blocktype):
    params, results = t.block_sig(blocktype)
    frame = Frame(kind, params, results, len(t.stack) - len(params), t.new_label())
    t.frames.append(frame)
    return frame


def block(t, blocktype, op):
    _open(t, BLOCK, blocktype)


class _Versions:
    """A loop translated twice (emit/loop_versions.py): where the second copy
    starts, and the edges that leave either copy by falling through."""

    def __init__(self, t, blocktype):
        self.blocktype = blocktype
        self.body = t.r.pos
        self.stack = list(t.stack)
        self.original = t.new_label()
        self.after = t.new_label()
        self.incoming = []
        self.fast = True


def loop(t, blocktype, op):
    # (a loop inside a nest's fast copy: the nest's check covered it)
    plan = loop_versions.plan(t, blocktype) if t.m.version_loops and not t.unchecked else None
    if plan is None:
        _open_loop(t, blocktype)
        return
    versions = _Versions(t, blocktype)
    ok = loop_checks.emit_check(t, plan)
    fast = t.new_label()
    t.emit(f"br i1 {ok}, label %{fast}, label %{versions.original}")
    t.start_block(fast)
    t.unchecked = True
    if plan.scopes is not None:
        t.alias_tags = loop_checks.alias_tags(t, plan.scopes)
    _open_loop(t, blocktype, versions)


def _next_version(t, frame):
    """At the `end` of one copy of a versioned loop: start the original copy after
    the fast one, or join the two after the original."""
    versions = frame.versions
    if not t.dead:
        versions.incoming.append((t.cur, t.top_values(len(frame.results))))
        t.emit(f"br label %{versions.after}")
    if versions.fast:
        versions.fast = t.unchecked = t.dead = False
        t.alias_tags = None
        t.stack[:] = versions.stack
        t.r.pos = versions.body
        t.start_block(versions.original)
        _open_loop(t, versions.blocktype, versions)
        return
    del t.stack[frame.height:]
    if not versions.incoming:
        t.dead = True
        return
    t.dead = False
    t.start_block(versions.after)
    t.merge(versions.incoming, frame.results)


def _open_loop(t, blocktype, versions=None):
    frame = _open(t, LOOP, blocktype)
    frame.versions = versions
    entry_values = t.top_values(len(frame.params))
    t.emit(f"br label %{frame.label}")
    frame.incoming.append((t.cur, entry_values))
    t.start_block(frame.label)
    frame.phi_slot = len(t.lines)
    t.lines.append("")                              # the header phis, filled at `end`
    if t.m.loop_polls:
        # every iteration passes the header: Ctrl-C, interrupts and deadlines stop
        # loops here (elsewhere a signal stops them: no code, no extra block)
        after_poll = t.new_label()
        t.lines.extend(t.poll_lines(after_poll))
        t.start_block(after_poll)
    if not t.unchecked:     # a fast copy is not counted, nor entered (its check first)
        t.lines.extend(t.count_lines(1))           # PGO: loop iterations
        t.loop_entry(frame)                         # PGO: entries into optimised code
    frame.phi_names = [t.new() for _ in frame.params]
    del t.stack[frame.height:]
    for name, ty in zip(frame.phi_names, frame.params):
        t.push(name, ty)


def if_(t, blocktype, op):
    cond = t.cond()
    frame = _open(t, IF, blocktype)
    frame.entry_values = t.top_values(len(frame.params))
    frame.else_label = t.new_label()
    then_label = t.new_label()
    prof = two_way(t, cond)                         # PGO: counted, or its weights
    # without an `else` the false edge goes straight to the end label: `end`
    # rewrites this branch (no empty else block)
    frame.branch_slot = (len(t.lines), t.cur, cond, then_label, prof)
    t.emit(f"br i1 {cond}, label %{then_label}, label %{frame.else_label}{prof}")
    t.start_block(then_label)


def else_(t, imm, op):
    frame = t.frames[-1]
    if not t.dead:
        t.emit(f"br label %{t.branch_edge(frame)}")
    del t.stack[frame.height:]
    for value, ty in zip(frame.entry_values, frame.params):
        t.push(value, ty)
    frame.has_else = True
    t.start_block(frame.else_label)
    t.dead = False


def end(t, imm, op):
    frame = t.frames.pop()
    if frame.kind == FUNC:
        if not t.dead:
            t.emit_return()
        return
    if frame.kind == LOOP:
        # a loop's end is only reached by falling through: its results are
        # already on the stack (or the code after it is dead as well)
        t.loop_phis(frame)
        if t.dead:
            del t.stack[frame.height:]
        if frame.versions is not None:
            _next_version(t, frame)
        return
    if not t.dead:
        t.emit(f"br label %{t.branch_edge(frame)}")
    if frame.kind == IF and not frame.has_else:
        # the missing else passes the if's parameters through (params == results):
        # the `if`'s false edge goes to the end label
        slot, pred, cond, then_label, prof = frame.branch_slot
        t.lines[slot] = f"  br i1 {cond}, label %{then_label}, label %{frame.label}{prof}"
        frame.incoming.append((pred, frame.entry_values))
    del t.stack[frame.height:]
    if not frame.incoming:
        t.dead = True                               # nothing reaches the end label
        return
    t.dead = False
    t.start_block(frame.label)
    t.merge(frame.incoming, frame.results)


def br(t, depth, op):
    t.jump(t.frames[-1 - depth])
    t.dead = True


def br_if(t, depth, op):
    cond = t.cond()
    frame = t.frames[-1 - depth]
    cont = t.new_label()
    prof = two_way(t, cond)                         # PGO: counted, or its weights
    if frame.kind == FUNC:
        ret = t.new_label()
        t.emit(f"br i1 {cond}, label %{ret}, label %{cont}{prof}")
        t.start_block(ret)
        t.emit_return()
    else:
        t.emit(f"br i1 {cond}, label %{t.branch_edge(frame)}, label %{cont}{prof}")
    t.start_block(cont)


def br_table(t, imm, op):
    depths, default = imm
    index = t.pop_value()
    prof = multi_way(t, index, len(depths))         # PGO: counted, or its weights
    ret_label = None

    def target(depth):
        # one phi entry per switch edge, duplicates included (LLVM's rule)
        nonlocal ret_label
        frame = t.frames[-1 - depth]
        if frame.kind == FUNC:
            if ret_label is None:
                ret_label = t.new_label()
            return ret_label
        return t.branch_edge(frame)

    cases = " ".join(f"i32 {i}, label %{target(d)}" for i, d in enumerate(depths))
    t.emit(f"switch i32 {index}, label %{target(default)} [{cases}]{prof}")
    if ret_label is not None:
        t.start_block(ret_label)
        t.emit_return()
    t.dead = True


def return_(t, imm, op):
    t.emit_return()
    t.dead = True


def unreachable(t, imm, op):
    t.traps.add(TRAP_UNREACHABLE)
    t.emit(f"br label %trap{TRAP_UNREACHABLE}")
    t.dead = True


def nop(t, imm, op):
    pass


HANDLERS = {
    "block": block, "loop": loop, "if": if_, "else": else_, "end": end,
    "br": br, "br_if": br_if, "br_table": br_table, "return": return_,
    "unreachable": unreachable, "nop": nop,
}
