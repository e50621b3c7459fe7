"""Loop entries into optimised code (OSR, PGO): which loops get one and how often the
baseline looks for it. Shared by the LLVM translator (translator.loop_entry,
osr_define), the single-pass baseline (modes/tiered.single_pass_compiler) and the
tier-up (modes/tiered.py); kept apart from the translator so that a PGO module need
not import LLVM before its first optimised build.

Read as attributes of this module (`osr.EVERY`), so that a test may change them."""

# PGO baseline: a loop header looks for an entry into optimised code every this many
# iterations (a power of two)
EVERY = 1024
# loop entries only into functions of at most this much wasm, and at most this many per
# function (the first loops that allow one): each entry is a copy of the whole function
# for LLVM to optimise (SQLite's 54 KB interpreter function, entered at each of its
# loops, kept an O2 build busy for minutes). The baseline looks for those entries only:
# a look spills every local, so looking everywhere made SQLite's baseline code (hundreds
# of locals, dozens of loops per big function) 28% longer to emit.
MAX_BODY = 8 * 1024
MAX_ENTRIES = 4


def entry_count(func):
    """How many loop entries an optimised build of `func` (a FuncDesc) gets."""
    return MAX_ENTRIES if func.body_end - func.body_start <= MAX_BODY else 0
