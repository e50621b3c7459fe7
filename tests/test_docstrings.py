"""Every docstring example in wasabi runs (doctest), as documentation collectors such as
wasmer-python's would run them: each module of the package is searched."""
import doctest
import importlib
import pkgutil

import pytest

import wasabi


def _modules():
    names = ["wasabi"]
    for info in pkgutil.walk_packages(wasabi.__path__, "wasabi."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def _examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    found = []
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
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
