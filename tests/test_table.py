"""The layer table: rich's Table wherever it fits, and no number cut where it does not.

The table is drawn by cnncalc (rich's layout was 71% of a 10,000-layer inspect).  Here it is
held to what rich's own Table draws, colours included, on every bundled spec; and at widths
from 60 columns up every formula and every number is shown whole.
"""

from __future__ import annotations

import io
import re

import pytest
from click.testing import CliRunner
from conftest import BUNDLED
from rich.console import Console
from rich.table import Table
from rich.text import Text

import cnncalc
from cnncalc.cli import main
from cnncalc.render.common import formula_text, rf_text, shows_connections, visible
from cnncalc.render.table import LayerTable, wrap
from cnncalc.formulas import volume_text
from cnncalc.formatting import thousands

WIDTHS = (60, 80, 100, 120, 200)


def rich_table(report, formulas=False, depth=None) -> Table:
    """The layer table as rich's Table drew it before cnncalc drew its own (the reference)."""
    tab = Table(title=f"{report.name}  (input {volume_text(report.input_shape)})",
                title_justify="left", show_lines=False, header_style="bold")
    tab.add_column("Layer", no_wrap=True)
    tab.add_column("Kind", no_wrap=True)
    tab.add_column("Output W×H×D", justify="right", no_wrap=True)
    tab.add_column("Params", justify="right", no_wrap=True)
    tab.add_column("MACs", justify="right", no_wrap=True)
    tab.add_column("RF", justify="right", no_wrap=True)
    connections = shows_connections(report)
    if connections:
        tab.add_column("Connections", justify="right", no_wrap=True)
    if formulas:
        tab.add_column("Formula", overflow="fold", min_width=48)
    flagged = {d.layer for d in report.diagnostics}
    for r in visible(report, depth):
        name = Text("  " * r.depth + r.name, style="bold" if r.is_group else "")
        if r.name in flagged:
            name.append(" ⚠", style="yellow")
        cells = [name, Text(r.kind, style="cyan" if r.is_group else ""),
                 Text(volume_text(r.shape)), Text(thousands(r.counts.params)),
                 Text(thousands(r.counts.macs)), Text(rf_text(r.rf))]
        if connections:
            cells.append(Text(thousands(r.counts.connections)))
        if formulas:
            cells.append(Text(formula_text(r.formula)))
        tab.add_row(*cells)
    return tab


def drawn(renderable, width: int, colour: bool = True) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=colour, color_system="truecolor"
                      if colour else None, soft_wrap=False, highlight=False)
    console.print(renderable)
    return out.getvalue()


def natural_width(report, formulas=False, depth=None) -> int:
    """The width rich draws the table at when given room: what it measures (no drawing)."""
    console = Console(file=io.StringIO(), width=1000, soft_wrap=False, highlight=False)
    return console.measure(rich_table(report, formulas, depth)).maximum


def test_rich_draws_a_table_that_fits_the_same_at_every_width():
    # What lets the test below draw rich's table once per setting: from its natural width
    # (what rich measures, the longest line it draws) up, rich's drawing does not change.
    report = cnncalc.analyze(cnncalc.load("zoo:resnet50"))  # groups, marks (CN101), formulas
    for depth in (1, None):
        for formulas in (False, True):
            need = natural_width(report, formulas, depth)
            plain = drawn(rich_table(report, formulas, depth), 1000, colour=False)
            assert need == max(len(line) for line in plain.splitlines())
            assert len({drawn(rich_table(report, formulas, depth), width)
                        for width in (need, need + 37, 1000)}) == 1


@pytest.mark.parametrize("name", BUNDLED)
def test_the_table_is_richs_where_it_fits(name):
    # rich given room draws at its natural width, the same at any wider (the test above);
    # ours from its own natural width up must be that drawing
    report = cnncalc.analyze(cnncalc.load(f"zoo:{name}"))
    compared = 0
    for depth in (1, None):
        for formulas in (False, True):
            ours_wide = drawn(LayerTable(report, formulas=formulas, depth=depth), 1000, False)
            need = max(len(line) for line in ours_wide.splitlines())
            theirs = drawn(rich_table(report, formulas, depth), 1000)
            for width in (need, need + 37, 200):
                if width < need:
                    continue
                ours = drawn(LayerTable(report, formulas=formulas, depth=depth), width)
                assert ours == theirs, (depth, formulas, width)
                compared += 1
    assert compared >= 8


def test_the_comparison_sees_colours_and_marks():
    # ResNet-50: bold groups, cyan kinds and yellow marks (CN101 on the stem), escape codes
    # and all; the LeNet-5 of 1998 adds the connections column.
    report = cnncalc.analyze(cnncalc.load("zoo:resnet50"))
    text = drawn(LayerTable(report), 200)
    assert "\x1b[1m" in text and "\x1b[36m" in text and "⚠" in text and "\x1b[33m" in text
    wide = cnncalc.analyze(cnncalc.load("zoo:lenet5_1998"))
    assert "Connections" in drawn(LayerTable(wide), 200)


def test_a_table_of_no_rows_is_richs():
    report = cnncalc.analyze(cnncalc.load("input: 8x8x3\nlayers: [relu]\n"))
    empty = type(report)(report.name, report.input_shape, report.output_shape, (),
                         report.totals)
    assert drawn(LayerTable(empty), 80) == drawn(rich_table(empty), 80)


# --- narrow terminals: nothing cut -----------------------------------------------------------

def formula_pieces(stdout: str) -> str | None:
    """The Formula column's text, row pieces joined by spaces; None when it has no column."""
    lines = stdout.splitlines()
    head = next(line for line in lines if line.startswith("┃"))
    if "Formula" not in "".join(line for line in lines if line.startswith("┃")):
        return None
    assert head
    pieces = [line.split("│")[-2].strip() for line in lines if line.startswith("│")]
    return " ".join(p for p in pieces if p)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("spec, args", [("specs/lenet5.yaml", ()),
                                        ("specs/resnet_mini.yaml", ("--expand",)),
                                        ("zoo:resnet50", ())])
def test_formulas_are_never_cut(spec, args, width):
    report = cnncalc.analyze(cnncalc.load(spec))
    depth = None if args else 1
    texts = [(r.name, formula_text(r.formula)) for r in visible(report, depth)]
    result = CliRunner().invoke(main, ["inspect", spec, "--formulas", *args],
                                env={"COLUMNS": str(width)})
    assert result.exit_code in (0, 1), result.stderr
    out = result.stdout
    assert all(len(line) <= width for line in out.splitlines()), width
    assert "…" not in out
    column = formula_pieces(out)
    if column is not None:  # in their column, wrapped between words
        assert column == " ".join(t for _, t in texts if t)
    else:  # under the table: each name, then its formula, wrapped between words
        flat = " ".join(out.split())
        for name, text in texts:
            if text:
                assert f"{name} {text}" in flat
    if spec.endswith("lenet5.yaml"):
        assert "(5·5·1)·6 + 6 = 156" in " ".join(out.split())


@pytest.mark.parametrize("width", (60, 80))
@pytest.mark.parametrize("name", BUNDLED)
def test_numbers_are_never_cut(name, width):
    report = cnncalc.analyze(cnncalc.load(f"zoo:{name}"))
    out = drawn(LayerTable(report, depth=None), width, colour=False)
    assert all(len(line) <= width for line in out.splitlines())
    rows = [line for line in out.splitlines() if line.startswith("│")]
    numbers = [cell.strip() for line in rows for cell in line.split("│")[3:-1] if cell.strip()]
    expect = [x for r in visible(report, None) for x in (
        volume_text(r.shape), thousands(r.counts.params), thousands(r.counts.macs),
        rf_text(r.rf))]
    if shows_connections(report):
        expect = [x for r in visible(report, None) for x in (
            volume_text(r.shape), thousands(r.counts.params), thousands(r.counts.macs),
            rf_text(r.rf), thousands(r.counts.connections))]
    assert numbers == expect


def test_a_narrow_table_wraps_headers_then_names():
    report = cnncalc.analyze(cnncalc.load("specs/lenet5.yaml"))
    out = drawn(LayerTable(report), 60, colour=False).splitlines()
    # 63 columns wide at rest: "Output W×H×D" takes two lines, the names stay whole
    assert max(map(len, out)) <= 60
    assert re.search(r"┃ +Output ┃", out[2]) and re.search(r"┃ +W×H×D ┃", out[3])
    assert any(line.startswith("│ flatten1 │ flatten │") for line in out)


# --- wrapping -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, width, breaks, lines", [
    ("a bb ccc", 4, " ", ["a bb", "ccc"]),
    ("layer1.0.downsample", 10, ". ", ["layer1.0.", "downsample"]),
    ("abcdefgh", 3, " ", ["abc", "def", "gh"]),  # no break: folded at the width
    ("  layer1.conv", 8, ". ", ["  layer1", ".conv"]),  # not inside the indentation
    ("x = 1; params 2 + 3 = 5; MACs 7", 20, " ", ["x = 1; params 2 + 3", "= 5; MACs 7"]),
    ("shape → 28×28×6; params (5·5·1)·6 + 6 = 156", 30, " ",
     ["shape → 28×28×6;", "params (5·5·1)·6 + 6 = 156"]),  # after "; " where half full
    ("use:bottleneck", 8, " :", ["use:", "bottlene", "ck"]),
])
def test_wrap(text, width, breaks, lines):
    assert wrap(text, width, breaks) == lines
    assert all(len(line) <= width for line in lines)
