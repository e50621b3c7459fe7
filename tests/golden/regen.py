"""Regenerate the golden IR fragments: python tests/golden/regen.py [family ...]

Each tests/golden/<family>/<name>.wat is a small module; its <name>.ll is the LLVM IR
the translator emits for the module's defined functions (their `define`s, not the
module around them). tests/test_golden_ir.py compares the two. After a deliberate
change to code generation, run this, read `git diff tests/golden`, and commit the
fragments with the change.

A .wat may start with a line `;; golden: bounds=explicit table_calls` to translate
in explicit-bounds mode and/or with calls through the funcs records (LAZY/REPL).
The fragments are made as on x86-64 whatever the host (the stack check's form and
the floating-point register constraint are the only target-dependent parts).
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))        # the worktree's wasabi, run as a script

from wasabi.compiler.module_ir import ModuleContext  # noqa: E402
from wasabi.options import CodeOptions  # noqa: E402
from wasabi.compiler.translator import FunctionTranslator  # noqa: E402
from wasabi.text import wat2wasm  # noqa: E402
from wasabi.validate import parse  # noqa: E402

FAMILIES = ("control", "calls", "memory", "numeric", "convert", "refs", "variables", "simd")


def options(wat):
    """The translation options named on the .wat's first line (see the module doc)."""
    first = wat.lstrip().splitlines()[0] if wat.strip() else ""
    words = first.split("golden:", 1)[1].split() if first.startswith(";; golden:") else []
    found = {"bounds": "guard", "table_calls": False}
    for word in words:
        if word == "table_calls":
            found["table_calls"] = True
        elif word.startswith("bounds="):
            found["bounds"] = word.split("=", 1)[1]
        else:
            raise ValueError(f"unknown golden option {word!r}")
    return found


def render(wat):
    """The `define` texts of the defined functions of module `wat`, in index order."""
    opts = options(wat)
    desc = parse(wat2wasm(wat))
    ctx = ModuleContext(desc, CodeOptions(bounds=opts["bounds"]), opts["table_calls"])
    ctx.fp_register, ctx.segment_stack_check = "x", True      # x86-64, on any host
    ctx.freeze_loads = ctx.bounds == "guard"                  # as with AVX-512, on any host
    return "\n".join(FunctionTranslator(ctx, func).translate() for func in desc.funcs) + "\n"


def snippets(families=FAMILIES):
    """[(family, .wat path)] of every snippet, sorted."""
    return [(family, path) for family in families
            for path in sorted((HERE / family).glob("*.wat"))]


def main(argv):
    families = argv or FAMILIES
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise SystemExit(f"unknown families {sorted(unknown)}; they are {FAMILIES}")
    changed = 0
    for _, path in snippets(families):
        text = render(path.read_text())
        expected = path.with_suffix(".ll")
        if not expected.exists() or expected.read_text() != text:
            expected.write_text(text)
            changed += 1
            print(f"wrote {expected.relative_to(HERE.parent.parent)}")
    print(f"{changed} fragment(s) changed")


if __name__ == "__main__":
    main(sys.argv[1:])
