"""Golden IR: for each emitter family, small .wat snippets and the IR the translator emits
for their functions (tests/golden/<family>/<name>.wat -> <name>.ll).

A change in code generation shows here as a readable diff. When the change is intended,
regenerate the fragments and commit them with it:

    python tests/golden/regen.py             # all families
    python tests/golden/regen.py control     # one family

then read `git diff tests/golden` (see tests/golden/regen.py for the snippet options).
"""
import difflib

import pytest

from golden.regen import FAMILIES, HERE, render, snippets

CASES = snippets()


def test_every_emitter_family_has_snippets():
    for family in FAMILIES:
        assert len([c for c in CASES if c[0] == family]) >= 2, family


@pytest.mark.parametrize("family,path", CASES,
                         ids=[f"{family}/{path.stem}" for family, path in CASES])
def test_translator_output_matches_the_golden_fragment(family, path):
    expected_path = path.with_suffix(".ll")
    assert expected_path.exists(), f"no {expected_path.name}: run python tests/golden/regen.py"
    actual = render(path.read_text())
    expected = expected_path.read_text()
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True),
            f"{expected_path.relative_to(HERE.parent.parent)} (golden)", "translator now"))
        pytest.fail(f"the IR changed; if intended, run python tests/golden/regen.py {family}\n"
                    + diff)


def test_fragments_are_stable_within_a_process():
    """No counter or address leaks from one translation into the next."""
    _, path = CASES[0]
    assert render(path.read_text()) == render(path.read_text())
