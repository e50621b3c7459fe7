"""The package's layout rules, checked on the source (nothing is imported).

- No import cycles between wasabi's modules, counting the imports inside functions
  (an import moved into a function still makes the two modules depend on each other).
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wasabi"


def module_name(path):
    """wasabi/compiler/emit/control.py -> wasabi.compiler.emit.control; a package's __init__ is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_modules():
    """{module name: path} of every .py file of the package."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


EXTENSION = "wasabi._ext"   # the Cython extension: _ext.pyx and the _cy/*.pxi it includes


def _base_package(name, path, level):
    """The package a relative import of `level` dots starts from."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    return package


def _targets(node, name, path, modules):
    """The wasabi modules one import statement loads (the submodule if a name is one, else its package).

    Importing a.b.c runs a/__init__ and a/b/__init__ too, but every module imports
    through its parent packages, so counting those would make every package a cycle;
    the edge goes to the module whose names are used."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        start = _base_package(name, path, node.level)
        base = f"{start}.{base}" if base else start
    found = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        found.append(sub if sub in modules else base)
    return found


# the Cython sources are one module, wasabi._ext; their Python imports are found by pattern
_PYX_IMPORT = re.compile(r"^\s*(?:from\s+(wasabi[\w.]*)\s+import\s+([\w, ]+)|import\s+(wasabi[\w.]*))", re.M)


def _cython_imports(modules):
    found = set()
    for source in [PACKAGE / "_ext.pyx", *sorted((PACKAGE / "_cy").glob("*.pxi"))]:
        for match in _PYX_IMPORT.finditer(source.read_text()):
            package, names, plain = match.groups()
            if plain:
                found.add(plain)
                continue
            for alias in names.split(","):
                sub = f"{package}.{alias.split()[0]}"
                found.add(sub if sub in modules else package)
    return found


def import_graph():
    """{module: set of wasabi modules it imports}, module-level and in-function imports alike."""
    modules = python_modules()
    known = {*modules, EXTENSION}
    graph = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(_targets(node, name, path, known))
        graph[name] = edges
    graph[EXTENSION] = _cython_imports(known)
    return {name: {t for t in edges if t in known and t != name} for name, edges in graph.items()}


def strongly_connected(graph):
    """Tarjan's components of more than one module (an import cycle each)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_cycle(graph, component):
    """One cycle through a component's first module, as a list a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for succ in sorted(graph[node] & members):
            if succ == start:
                return paths[node] + [start]
            if succ not in paths:
                paths[succ] = paths[node] + [succ]
                queue.append(succ)
    return component


def test_graph_sees_function_level_and_relative_imports():
    """The graph is built right: a known in-function import and relative imports are edges."""
    graph = import_graph()
    assert "wasabi.errors" in graph["wasabi"]
    assert "wasabi.binary.reader" in graph["wasabi"]
    assert "wasabi.abi.traps" in graph["wasabi.errors"]             # inside trap_class
    assert "wasabi._ext" in graph["wasabi.runtime.func"]             # from .. import _ext
    assert "wasabi.module.desc" in graph["wasabi._ext"]              # inside decoder.pxi's _load_classes
    # external modules (llvmlite, numpy) are not nodes
    assert all(target.startswith("wasabi") for edges in graph.values() for target in edges)   # an in-function import in fastcall.pxi


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert a_cycle(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    graph = import_graph()
    cycles = [" -> ".join(a_cycle(graph, component)) for component in strongly_connected(graph)]
    if cycles:
        pytest.fail("import cycles (one path shown per strongly connected set):\n" + "\n".join(cycles))


# the compiler's door to LLVM: target machines and passes, and IR text -> object -> address
LLVM_FACADE = {"wasabi/compiler/pipelines.py", "wasabi/compiler/jit.py"}


def llvmlite_binding_importers():
    """Files of the package that import llvmlite.binding (in any form, anywhere in the file)."""
    found = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            if any(n == "llvmlite.binding" or n.startswith("llvmlite.binding.") for n in names):
                found.add(str(path.relative_to(ROOT)))
    return found


def test_llvmlite_binding_only_behind_the_facade():
    importers = llvmlite_binding_importers()
    assert "wasabi/compiler/jit.py" in importers          # the check sees an import
    outside = sorted(importers - LLVM_FACADE)
    assert not outside, f"llvmlite.binding imported outside the facade: {outside}"
