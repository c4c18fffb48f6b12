"""A report as a rich table in the terminal: the layers, the totals and the diagnostics.

rich is imported inside the function, so that ``--format json`` and the API never pay for it.
"""

from __future__ import annotations

from typing import Any

from ..report import Report
from ..shapes import volume_text
from ..wording import plural, thousands
from .pieces import (CONVENTION, color_of, formula_text, grouped, layer_list, rf_text,
                     shows_connections, silenced_line, summary_lines, visible)


def table(report: Report, *, formulas: bool = False, depth: int | None = None):
    """A rich renderable of the report: the layer table, the totals and the warnings."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

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
    parts: list[Any] = [tab]
    hidden = len(report.rows) - len(visible(report, depth))
    if hidden:
        parts.append(Text(f"{plural(hidden, 'nested row')} folded: "
                          f"--depth N or --expand shows them", style="dim"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    for label, value in summary_lines(report):
        summary.add_row(Text(label), Text(value))
    parts.append(summary)
    for d, layers in grouped(report.diagnostics):
        where = f"{d.loc}: " if d.loc and len(layers) == 1 else ""
        parts.append(Text.assemble((f"{where}{d.severity}: ", color_of(d.severity)),
                                   f"{d.code} {d.slug} ({layer_list(layers)}): {d.message}"))
    if report.silenced:
        parts.append(Text(silenced_line(report.silenced), style="dim"))
    parts.append(Text(CONVENTION, style="dim"))
    return Group(*parts)
