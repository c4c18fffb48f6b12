"""What the engine keeps between analyses of one tree (issue 16's speed): a tree's program
(cnncalc.network: its second walk replays the steps the first one made), the layers' facts
and receptive-field steps, and each block, repeat, residual and branches given again at an
input it met before (cnncalc.engine: Engine.recall).  The oracle is the engine with nothing
kept: every report of a sequence of analyses equals the one a fresh engine gives."""

from __future__ import annotations

from dataclasses import replace

import pytest

import cnncalc
from cnncalc import engine, network, reads
from cnncalc.errors import AnalysisError
from cnncalc.formulas import Shape
from cnncalc.network import Visitor, walk


def fresh():
    """Forget everything kept: the next analysis is a first one."""
    engine._forget()
    engine._KNOWN_TREE[0] = None
    network._PROGRAMS.clear()
    reads._STRUCTURES.clear()


def outcome(spec, **options):
    """All of a report that the engine makes (memory aside: cnncalc.memory's), as plain
    values; a failure by its message and its partial report."""
    try:
        report, failed = cnncalc.analyze(spec, **options), None
    except AnalysisError as e:
        report, failed = e.report, str(e)
    rows = [(r.name, r.kind, r.depth, r.input_shape, r.shape, r.counts, r.rf,
             None if r.formula is None else str(r.formula), r.line, r.is_group, r.index)
            for r in report.rows]
    return (failed, rows, report.totals, report.output_shape, report.diagnostics,
            report.silenced, report.claims)


def at(spec, x: int):
    return replace(spec, input_shape=Shape(spec.input_shape.c, x, x))


# Sizes that come back (a stage after a stride of 32 sees one input for 32 sizes), sizes
# that fail, and a size met before after others: every memo path and its reverse
SIZES = [224, 225, 230, 224, 33, 1, 64, 65, 225, 96, 31, 224]
SPECS = ["densenet121", "inception_v3", "googlenet", "resnet50", "unet", "squeezenet1_0",
         "efficientnet", "mobilenet_v3_large", "shufflenet_v2_x1_0", "lenet5"]


@pytest.mark.parametrize("name", SPECS)
def test_analyses_of_one_tree_equal_fresh_ones(name):
    spec = cnncalc.load(f"zoo:{name}")
    own = spec.input_shape.h
    sizes = SIZES + [own, own + 1, own + 16, own]
    kept = []
    fresh()
    for x in sizes:
        kept.append(outcome(at(spec, x), explain=False))
    given = sum(m[engine._TALLY][0] for m in engine._MEMOS if engine._TALLY in m)
    assert given > 0 or name == "lenet5"  # a plain stack has no steps to give again
    for x, got in zip(sizes, kept):
        fresh()
        assert got == outcome(at(spec, x), explain=False), x
    assert any(failed is None for failed, *_ in kept)


def test_options_are_part_of_what_is_kept():
    """explain, --ignore and --strict change rows, findings or the outcome: a step kept
    under one set of options is not given under another."""
    spec = cnncalc.load("zoo:resnet50")
    runs = [dict(explain=False), dict(explain=True), dict(explain=False, ignore=("CN103",)),
            dict(explain=True, strict=True), dict(explain=False, checks=False),
            dict(explain=False)]
    fresh()
    kept = [outcome(at(spec, x), **options) for x in (224, 225) for options in runs]
    alone = []
    for x in (224, 225):
        for options in runs:
            fresh()
            alone.append(outcome(at(spec, x), **options))
    assert kept == alone
    # they do differ: the formulas, CN103 moved to the silenced, no findings without checks
    assert kept[0][1] != kept[1][1] and kept[0][4] != kept[2][4]
    assert kept[0][4] and not kept[4][4]


@pytest.mark.parametrize("name", SPECS + ["alexnet", "lenet5_1998", "resnet50_scaled"])
def test_without_checks_the_figures_are_the_same(name):
    """checks=False (a sweep's, a memory estimate's, a brute force's analyses): every row,
    total and failure as with the checks; no findings and no claims."""
    spec = cnncalc.load(f"zoo:{name}")
    checked = []
    for x in (spec.input_shape.h, spec.input_shape.h + 5, 33, 2):
        failed, rows, totals, output, diagnostics, silenced, claims = outcome(at(spec, x))
        bare = outcome(at(spec, x), checks=False)
        assert bare == (failed, rows, totals, output, (), (), ())
        checked.append(bool(claims))
    assert checked[0] == bool(spec.expect or any(leaf.expect for leaf in spec.layers))
    with pytest.raises(ValueError, match="strict"):
        cnncalc.analyze(spec, strict=True, checks=False)


TAPS_AND_SHARES = """\
input: 32x32x4
layers:
  - conv: {filters: 4, size: 3, stride: 2, pad: 1}
    name: a
  - residual:
      main:
        - conv: {filters: 4, size: 3, pad: 1}
          name: b
        - conv: {filters: 4, size: 3, pad: 1}
          share: b
    name: r
  - branches:
      merge: concat
      paths:
        - []
        - [from: a]
  - repeat:
      times: 2
      layers:
        - conv: {filters: 8, size: 3, stride: 2}
        - bn
"""


def test_taps_and_shares_are_walked_every_time():
    """A step whose result depends on more than its input (a tap reading an earlier output,
    a layer sharing an earlier one's weights) is never given from a memo; the analyses still
    equal fresh ones."""
    spec = cnncalc.load(TAPS_AND_SHARES)
    sizes = [32, 33, 32, 8, 31, 32]
    fresh()
    kept = [outcome(at(spec, x)) for x in sizes]
    for x, got in zip(sizes, kept):
        fresh()
        assert got == outcome(at(spec, x)), x
    program = network._program(spec.layers, "")
    assert program is not None
    memos = [step[-1] for step in program if step[0] in (network._MERGE, network._REPEAT)]
    assert memos and all(m is None for m in memos)


class Events(Visitor[int]):
    """Every call a walk makes, with its arguments (what flows: a counter)."""

    def __init__(self):
        self.seen = []

    def leaf(self, at, leaf, x):
        self.seen.append(("leaf", at, leaf.name, x))
        return x + 1

    def enter(self, at, node, x):
        self.seen.append(("enter", at, type(node).__name__, x))

    def leave(self, at, node, x, y):
        self.seen.append(("leave", at, type(node).__name__, x, y))

    def merge(self, at, node, x, outs):
        self.seen.append(("merge", at, x, outs))
        return max(y for _, y in outs) + 100

    def tap(self, at, node, source, x, y):
        self.seen.append(("tap", at, source, x, y))
        return y


@pytest.mark.parametrize("text", [f"zoo:{n}" for n in ("inception_v3", "densenet121",
                                                       "regnet_y_400mf", "unet")]
                         + [TAPS_AND_SHARES])
def test_a_replayed_walk_makes_the_calls_of_the_first(text):
    spec = cnncalc.load(text)
    network._PROGRAMS.clear()
    first, second, third = Events(), Events(), Events()
    assert network._program(spec.layers, "") is None  # the first walk is the plain one
    network._PROGRAMS.clear()
    walk(spec.layers, first, 0)
    walk(spec.layers, second, 0)
    assert network._PROGRAMS[(id(spec.layers), "")][2] is not None  # compiled
    walk(spec.layers, third, 0)
    assert first.seen == second.seen == third.seen
    assert sum(e[0] == "leaf" for e in first.seen) == network.count_leaves(spec.layers)
