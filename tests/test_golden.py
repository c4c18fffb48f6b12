"""Every bundled spec's output held still, and the sums every report must keep.

The goldens in tests/golden/specs/ are what `cnncalc inspect zoo:NAME` prints as JSON and as a
120-column table.  Their numbers are proven elsewhere (tests/test_zoo.py against torchvision and
the papers); here they pin the rest: layout, names, formulas, folding.  A change on purpose is
rewritten with `pytest --update-golden` and reviewed in the diff.
"""

from __future__ import annotations

import pytest
from conftest import BUNDLED, sum_mismatches

import cnncalc
from cnncalc.report import Counts, Report, Row
from cnncalc.formulas import Shape


@pytest.mark.parametrize("fmt, suffix", [("json", "json"), ("table", "table.out")])
@pytest.mark.parametrize("name", BUNDLED)
def test_inspect_output_is_pinned(name, fmt, suffix, cli, golden):
    result = cli("inspect", f"zoo:{name}", "--format", fmt)
    assert result.exit_code == 0, result.stderr
    golden(f"specs/{name}.{suffix}", result.stdout)


def test_every_bundled_spec_is_pinned():
    # The listing is the directory's: a spec added beside the others gets goldens too.
    assert {"lenet5", "resnet50", "examples/homework"} <= set(BUNDLED)
    assert len(BUNDLED) == len(set(BUNDLED)) >= 20


@pytest.mark.parametrize("name", BUNDLED)
def test_groups_and_totals_sum_their_leaf_rows(name):
    report = cnncalc.analyze(cnncalc.load(f"zoo:{name}"))
    assert sum_mismatches(report) == []


# --- the checker itself can fail --------------------------------------------------------------

def counts(params: int) -> Counts:
    # every field linear in params, so a group's right value is counts(sum of its params)
    return Counts(params, params, 0, 10 * params, 0, 2 * params)


def row(name: str, depth: int, params: int, group: bool = False) -> Row:
    shape = Shape(1, 1, 1)
    return Row(name, "use:b" if group else "conv", depth, shape, shape, counts(params), None,
               "", is_group=group)


def report_of(*rows: Row, totals: Counts | None = None) -> Report:
    leaves = [r.counts for r in rows if not r.is_group]
    shape = Shape(1, 1, 1)
    return Report("hand-built", shape, shape, rows,
                  totals if totals is not None else sum(leaves, Counts()))


def nested(outer: int, inner: int) -> tuple[Row, ...]:
    # outer holds inner (a and b) and then c, one level up; d follows at the top
    return (row("outer", 0, outer, group=True), row("inner", 1, inner, group=True),
            row("a", 2, 1), row("b", 2, 2), row("c", 1, 4), row("d", 0, 8))


def test_a_right_report_passes_the_checker():
    assert sum_mismatches(report_of(*nested(outer=1 + 2 + 4, inner=1 + 2))) == []


def test_a_wrong_group_sum_is_caught():
    # inner counted c, which follows it one level up, not under it
    assert sum_mismatches(report_of(*nested(outer=7, inner=7))) == [
        f"group inner: {counts(7)} ≠ its leaf rows' sum {counts(3)}"]
    # outer missed c
    wrong = sum_mismatches(report_of(*nested(outer=3, inner=3)))
    assert len(wrong) == 1 and wrong[0].startswith("group outer:")


def test_wrong_totals_are_caught():
    wrong = sum_mismatches(report_of(*nested(7, 3), totals=counts(14)))
    assert len(wrong) == 1 and wrong[0].startswith("totals ")


def test_a_row_with_no_group_above_it_is_caught():
    rows = (row("a", 0, 1), row("b", 1, 2))
    assert sum_mismatches(report_of(*rows)) == ["b at depth 1 has no group above it"]
