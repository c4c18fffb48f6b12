"""Name the likely slip behind a wrong ``expect:`` claim.

Each layer kind lists its candidate slips (``Layer.slips``, see :mod:`cnncalc.layers.slips`);
a claim that equals a candidate's wrong value gets that candidate's text as its hint.  The
first matching candidate wins, so each list starts with the commonest slip.  Slips any layer
(or the whole net) can show are here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from .layers.base import Layer
from .layers.slips import Slip, order_slips
from .network import Leaf, leaves
from .report import ClaimResult, Report, Row
from .formulas import DOT, Shape


def first_match(candidates: Iterable[Slip], claimed: Any, actual: Any) -> str:
    for value, text in candidates:
        if value == claimed and value != actual:
            return text
    return ""


def generic_slips(field: str, actual: Any, row: Row | None) -> list[Slip]:
    """Slips any layer (or the whole net) can show."""
    slips: list[Slip] = []
    if field == "macs" and isinstance(actual, int):
        slips.append((2 * actual, f"that is FLOPs = 2{DOT}MACs; one MAC is one "
                                  f"multiply-accumulate"))
    if field == "params" and row is not None and row.counts.buffers:
        slips.append((row.counts.params + row.counts.buffers, "counted batch norm's running mean and "
                                                "variance; they are buffers, not params"))
    if field == "output" and isinstance(actual, Shape):
        slips += order_slips(actual)
    return slips


def rf_slips(layer: Layer, x: Shape, actual: Any) -> list[Slip]:
    win = layer.window(x)
    if win is None:
        return []
    own = max(win.h.k, win.w.k)
    return [(own, "that is this layer's own kernel; the receptive field grows through the "
                  "earlier layers: r' = r + (F − 1)·j, with j the product of earlier strides")]


def hint_for(layer: Layer, row: Row, field: str, claimed: Any, actual: Any) -> str:
    """The likely slip behind ``claimed`` for one layer's field, or ''."""
    x, y = row.input_shape, row.shape
    found = first_match(layer.slips(field, x, y), claimed, actual)
    if not found and field == "rf":
        found = first_match(rf_slips(layer, x, actual), claimed, actual)
    if not found:
        found = first_match(generic_slips(field, actual, row), claimed, actual)
    return found


def total_hint(report: Report, field: str, claimed: Any, actual: Any) -> str:
    """The likely slip behind a top-level claim."""
    t = report.totals
    slips = generic_slips(field, actual, None)
    if field == "params" and t.buffers:
        slips.append((t.params + t.buffers, "counted batch norm's running mean and variance; "
                                            "they are buffers, not params"))
    if field == "params" and t.trainable_params != t.params:
        slips.append((t.trainable_params, "counted only the trainable params; frozen layers' "
                                          "weights are params too (trainable_params checks "
                                          "the other)"))
    if isinstance(actual, int) and isinstance(claimed, int):
        for row in report.layers:  # one layer left out of the sum (or counted twice)
            value = getattr(row.counts, field, None)
            if not row.is_group and isinstance(value, int) and value:
                slips += [(actual - value, f"left out {row.name} ({value:,})"),
                          (actual + value, f"counted {row.name} ({value:,}) twice")]
    return first_match(slips, claimed, actual)


# --- pairing report rows with the spec's leaves -------------------------------------------

def leaf_rows(spec, report: Report) -> list[tuple[Row, Leaf]]:
    """Each report row with the leaf that made it (up to a layer that failed)."""
    found = leaves(spec.layers)
    return [(row, found[row.index][1]) for row in report.layers]


def annotate(spec, report: Report) -> tuple[ClaimResult, ...]:
    """``report.claims`` with ``hint`` filled in for each wrong claim a slip explains."""
    by_name = {row.name: (row, leaf) for row, leaf in leaf_rows(spec, report)}
    out = []
    for c in report.claims:
        hint = ""
        if not c.ok and c.actual is not None:
            if c.layer and c.layer in by_name:
                row, leaf = by_name[c.layer]
                hint = hint_for(leaf.layer, row, c.field, c.expected, c.actual)
            elif not c.layer:
                hint = total_hint(report, c.field, c.expected, c.actual)
        out.append(replace(c, hint=hint) if hint else c)
    return tuple(out)
