"""`cnncalc apply`: the output matrices, the worked sum and the notes."""

from __future__ import annotations

from typing import Any

from ..formatting import decimal


def matrix_table(m: list, title: str = "") -> Any:
    from rich.table import Table
    from rich.text import Text

    tab = Table(title=title or None, title_justify="left", show_header=False, show_lines=False)
    for _ in m[0]:
        tab.add_column(justify="right")
    for row in m:
        tab.add_row(*(Text(decimal(v)) for v in row))
    return tab


def apply_json(applied) -> dict[str, Any]:
    out: dict[str, Any] = {"output": applied.output[0] if len(applied.output) == 1
                           else applied.output}
    if applied.steps:
        out["steps"] = applied.steps
    if applied.notes:
        out["notes"] = applied.notes
    return out


def apply_view(applied) -> Any:
    from rich.console import Group
    from rich.text import Text

    many = len(applied.output) > 1
    h, w = len(applied.output[0]), len(applied.output[0][0])
    parts: list[Any] = [Text(f"Output {w}×{h}×{len(applied.output)}", style="bold")]
    for i, m in enumerate(applied.output):
        parts.append(matrix_table(m, f"channel {i + 1}" if many else ""))
    for line in applied.steps:
        parts.append(Text(line))
    for line in applied.notes:
        parts.append(Text.assemble(("note: ", "blue"), line))
    return Group(*parts)
