"""Nothing public under `wasabi` is a module from outside wasabi.

Tools that document or test a package (wasmer-python's docstring collector, for one) walk the
public attributes of its modules and classes recursively. A stdlib module under a public name
(`wasabi.api.target.platform`) sends such a walk through the standard library, and `os` <-> `os.path`
makes it endless: modules import what they need under private names (`import os as _os`).
"""
import importlib
import inspect
import pkgutil

import wasabi


def _public_items(obj):
    for name, value in vars(obj).items():
        if not name.startswith("_"):
            yield name, value


def _walk(root, path, seen, foreign):
    """Every module and class reachable from `root` through public names (each once)."""
    if id(root) in seen:
        return
    seen.add(id(root))
    for name, value in _public_items(root):
        where = f"{path}.{name}"
        if inspect.ismodule(value):
            if value.__name__ != "wasabi" and not value.__name__.startswith("wasabi."):
                foreign.append(f"{where} -> {value.__name__}")
                continue
            _walk(value, where, seen, foreign)
        elif inspect.isclass(value):
            _walk(value, where, seen, foreign)


def _all_wasabi_modules():
    """Import every submodule, so that the walk sees the whole package, not only what
    `import wasabi` happens to load."""
    for info in pkgutil.walk_packages(wasabi.__path__, "wasabi."):
        if info.name.endswith("__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:
            pass            # optional parts (a missing tool) do not matter to this walk


def test_no_foreign_module_under_a_public_name():
    _all_wasabi_modules()
    seen, foreign = set(), []
    _walk(wasabi, "wasabi", seen, foreign)
    assert len(seen) > 50                   # the walk did reach the package's modules
    assert foreign == []


def test_a_naive_recursive_walk_terminates():
    # the walk as documentation collectors do it: no memory of what it has seen, only
    # modules and classes followed; it must end (it does when no module cycle is public)
    depth = []

    def walk(obj, level):
        depth.append(level)
        assert level < 40, "a cycle of public modules"
        if inspect.ismodule(obj) or inspect.isclass(obj):
            for _, value in _public_items(obj):
                if inspect.ismodule(value) or inspect.isclass(value):
                    walk(value, level + 1)

    walk(wasabi, 0)
    assert max(depth) >= 2
