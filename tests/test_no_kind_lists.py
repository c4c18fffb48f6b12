"""No list of kind names outside ``cnncalc/layers/``: what a part needs to know of a kind is an
attribute of its class (STYLE.md, "lessons from version 1").

The test reads every module of the package with :mod:`ast` and looks for a string literal equal
to a registered kind's key where a list of kinds hides: an element of a list, tuple or set of
words, a key or a value of a dict, an operand of a comparison (``kind == "fc"``,
``kind in (…)``).  A single kind named in a call (``REGISTRY["flatten"]``, a builder
registered for its kind) is not a list and is not looked for.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cnncalc.layers import REGISTRY

PACKAGE = Path(__file__).resolve().parent.parent / "cnncalc"

# Genuine uses of a word that is also a kind's key: (module, words) → why it is not a list.
EXEMPT = {
    ("numeric.py", frozenset({"relu", "sigmoid", "tanh"})):
        "numeric.ACTIVATIONS is `cnncalc apply --act`'s own table of scalar functions for "
        "exercises worked by hand (apply builds no layers); cli_calc.py reads its keys from there",
    ("exercises/topics.py", frozenset({"conv", "pool", "flatten", "fc"})):
        "each question writes the net it asks about in the spec's own language, one mapping "
        "per layer ({'conv': {'filters': k, 'size': f}}, LeNet-5's layer list), which it "
        "parses as a spec: that is a net, data the engine reads through the registry, not a "
        "table of what kinds are or do; where topics.py asks something of a kind (which "
        "layers have a bias, how to word one) it asks the class (has_bias(), Conv.key)",
    ("cli.py", frozenset({"conv", "deconv", "pool", "fc"})):
        "cli.COMMANDS maps each command's name to the module that defines it (so that a "
        "command's module loads only when it runs): `cnncalc conv`, `pool`, `deconv` and `fc` "
        "are the one-layer calculators, commands that share their names with kinds",
    ("exercises/topics.py", frozenset({"relu"})):
        "the numeric exercise's 'act': 'relu' is numeric.ACTIVATIONS' scalar function, "
        "the `cnncalc apply --act` argument the question records (see numeric.py above)",
}

# The importer (rebuilt around the kinds in issue 16: it dispatches on the classes the kinds
# declare and computes its nearest-kind suggestion) is held in a test of its own, over its files
# together.
IMPORTER = "backends/importer"


def words_of(node: ast.AST) -> list[ast.Constant]:
    """The string constants where a list of kinds would be written."""
    found: list[ast.Constant] = []
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = node.elts
        if items and all(isinstance(e, ast.Constant) and isinstance(e.value, str)
                         for e in items):
            found += items  # a list of words (a (name, module) pair is not one)
    elif isinstance(node, ast.Dict):
        found += [k for k in node.keys if isinstance(k, ast.Constant)]
        found += [v for v in node.values if isinstance(v, ast.Constant)]
    elif isinstance(node, ast.Compare):
        found += [e for e in (node.left, *node.comparators) if isinstance(e, ast.Constant)]
    return found


def kind_words(path: Path) -> list[tuple[int, str]]:
    """(line, kind key) of each kind named where a list of kinds would be."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return sorted({(c.lineno, c.value) for node in ast.walk(tree) for c in words_of(node)
                   if isinstance(c.value, str) and c.value in REGISTRY})


def offences(paths) -> list[str]:
    found = []
    for path in paths:
        where = path.relative_to(PACKAGE).as_posix()
        hits = kind_words(path)
        exempt = set().union(*(words for (module, words) in EXEMPT if module == where))
        found += [f"cnncalc/{where}:{line}: {word!r}" for line, word in hits if word not in exempt]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py")
                 if p.relative_to(PACKAGE).parts[0] != "layers")


def test_the_scan_finds_the_lists_it_looks_for(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text('KINDS = ["conv", "fc"]\nif kind == "bn":\n    pass\n'
                    'x = kind in ("relu", "sigmoid")\nTABLE = {"dropout": 1, "Mish": "silu"}\n'
                    'y = REGISTRY["flatten"]\nz = ("conv", make())\n', encoding="utf-8")
    assert kind_words(path) == [(1, "conv"), (1, "fc"), (2, "bn"), (4, "relu"), (4, "sigmoid"),
                                (5, "dropout"), (5, "silu")]


def test_every_exemption_is_still_needed():
    for module, words in EXEMPT:
        assert words <= {w for _, w in kind_words(PACKAGE / module)}, module


@pytest.mark.parametrize("path", [
    pytest.param(p, id=p.relative_to(PACKAGE).as_posix()) for p in MODULES
    if not p.relative_to(PACKAGE).as_posix().startswith(IMPORTER)])
def test_no_module_outside_layers_lists_kinds(path):
    assert offences([path]) == []


def test_the_importer_lists_no_kinds():
    paths = [p for p in MODULES if p.relative_to(PACKAGE).as_posix().startswith(IMPORTER)]
    assert paths, "no importer module found"
    assert offences(paths) == []
