"""Every docstring example in wasabi runs, as documentation collectors would run them:
doctests (>>> lines) in each module of the package, and the ```py fenced blocks that
wasmer-python's docs use (its root conftest.py runs those found in the docstrings of
public objects, walking the package's public attributes)."""
import doctest
import importlib
import inspect
import pkgutil
import textwrap

import pytest

import wasabi


def _modules():
    names = ["wasabi"]
    for info in pkgutil.walk_packages(wasabi.__path__, "wasabi."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def _imported_modules():
    for name in _modules():
        try:
            yield name, importlib.import_module(name)
        except ImportError:
            continue


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name, module in _imported_modules():
        for test in finder.find(module, name):
            if test.examples and (test.filename or "").startswith(tuple(wasabi.__path__)):
                found.append(test)
    return found


EXAMPLES = _examples()


def test_there_are_docstring_examples():
    assert sum(len(t.examples) for t in EXAMPLES) >= 5


@pytest.mark.parametrize("test", EXAMPLES, ids=lambda t: t.name)
def test_docstring_example(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=lambda text: None)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} of {result.attempted} failed " \
        "(python -m doctest -v on the module shows which)"


# ---- ```py blocks, as wasmer-python's collector finds them ----

def fenced_blocks(doc):
    """(first line, source) of each ```py ... ``` block of a docstring."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(doc.splitlines()):
        if current is None and line.strip() == "```py":
            current, start = [], number
        elif current is not None and line.strip() == "```":
            blocks.append((start, textwrap.dedent("\n".join(current))))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def _documented(module_name, module):
    """(qualified name, object) for a module, its public classes and functions, and their
    public members, defined in wasabi (each object once, under its defining name)."""
    yield module_name, module
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        yield f"{module_name}.{name}", obj
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if not member.startswith("_"):
                    yield f"{module_name}.{name}.{member}", value


def _fenced_examples():
    found, seen = [], set()
    for module_name, module in _imported_modules():
        for qualname, obj in _documented(module_name, module):
            doc = getattr(obj, "__doc__", None)
            if not isinstance(doc, str) or id(obj) in seen:
                continue
            seen.add(id(obj))
            for index, (line, source) in enumerate(fenced_blocks(doc)):
                found.append(pytest.param(qualname, line, source, id=f"{qualname}[{index}]"))
    return found


FENCED = _fenced_examples()

# the main public API of the wasmer face: each shows itself in a ```py block
DOCUMENTED = [
    "wasabi.api.store.Store", "wasabi.api.module.Module", "wasabi.api.module.Module.validate",
    "wasabi.api.module.Module.serialize", "wasabi.api.module.Module.deserialize",
    "wasabi.api.module.Instance", "wasabi.api.externs.Function", "wasabi.api.externs.WasmFunction",
    "wasabi.api.externs.Memory", "wasabi.api.externs.Global", "wasabi.api.externs.Table",
    "wasabi.api.imports.ImportObject", "wasabi.api.engine.Universal", "wasabi.api.target.Triple",
    "wasabi.api.target.Target", "wasabi.wasi.wasmer.StateBuilder",
    "wasabi.wasi.environment.Environment", "wasabi.wasi.environment.get_version",
]


def test_the_public_api_has_fenced_examples():
    documented = {param.values[0] for param in FENCED}
    assert [name for name in DOCUMENTED if name not in documented] == []


def test_fenced_blocks_are_read_as_wasmers_collector_reads_them():
    doc = "Text.\n\n    ```py\n    x = 1\n    assert x == 1\n    ```\n\n```py\ny = 2\n```\n"
    assert fenced_blocks(doc) == [(2, "x = 1\nassert x == 1"), (7, "y = 2")]


@pytest.mark.parametrize("qualname,line,source", FENCED)
def test_fenced_example(qualname, line, source):
    # line numbers in a traceback match the docstring's
    code = compile("\n" * line + source, f"<docstring of {qualname}>", "exec")
    exec(code, {"__name__": f"docstring_example_{qualname}"})
