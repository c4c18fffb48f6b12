"""A report as Markdown: the layer table, the totals and the diagnostics (for notes and
READMEs)."""

from __future__ import annotations

from ..report import Report
from ..formulas import volume_text
from ..formatting import size_bytes, thousands
from .common import (CONVENTION, formula_text, memory_cells, rf_text, shows_connections,
                     summary_lines, visible)


def to_markdown(report: Report, *, formulas: bool = False, depth: int | None = None,
                memory: bool = False) -> str:
    head = ["Layer", "Kind", "Output (W×H×D)", "Params", "MACs", "RF"]
    connections = shows_connections(report)
    if connections:
        head.append("Connections")
    mem = memory_cells(report) if memory and report.memory is not None else None
    if mem is not None:
        head += ["Saved", "Live"]
    if formulas:
        head.append("Formula")
    lines = [f"## {report.name}", "", f"Input: {volume_text(report.input_shape)}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    shown = set(map(id, visible(report, depth)))
    for k, r in enumerate(report.rows):
        if id(r) not in shown:
            continue
        name = "&nbsp;" * 2 * r.depth + (f"**{r.name}**" if r.is_group else r.name)
        cells = [name, r.kind, volume_text(r.shape), thousands(r.counts.params),
                 thousands(r.counts.macs), rf_text(r.rf)]
        if connections:
            cells.append(thousands(r.counts.connections))
        if mem is not None:
            cells += [size_bytes(mem[k][0]), size_bytes(mem[k][1])] if mem[k] else ["", ""]
        if formulas:
            cells.append(formula_text(r.formula).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {label}: {value}" for label, value in summary_lines(report)]
    lines += [f"- {d.severity} {d.code} ({d.layer}): {d.message}" for d in report.diagnostics]
    lines += ["", CONVENTION, ""]
    return "\n".join(lines)
