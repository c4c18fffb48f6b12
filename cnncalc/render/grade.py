"""`cnncalc grade`: each student's answers ✓/✗, the right answer, the likely slip and the
worked formula, then the scores."""

from __future__ import annotations

from typing import Any


def grade_view(grades) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = []
    for score in grades.scores:
        tab = Table(title=f"{score.student}: {score.right}/{score.total}", title_justify="left",
                    header_style="bold")
        tab.add_column("", no_wrap=True)
        tab.add_column("Q", justify="right", no_wrap=True)
        tab.add_column("Topic", no_wrap=True)
        tab.add_column("Answer", overflow="fold")
        tab.add_column("Right", overflow="fold")
        tab.add_column("Why", overflow="fold", ratio=1)
        for m in grades.marks:
            if m.student != score.student:
                continue
            mark = Text("✓", style="green") if m.ok else Text("✗", style="bold red")
            why = Text()
            if not m.ok:
                if m.note:
                    why.append(f"{m.note}\n", style="yellow")
                elif m.slip:
                    why.append(f"likely slip: {m.slip}\n", style="yellow")
                why.append(m.formula)
            tab.add_row(mark, str(m.number), m.topic, Text(m.given or "—"), Text(m.right), why)
        parts.append(tab)
    lines = Text()
    for s in grades.scores:
        lines.append(f"{s.student}: {s.right}/{s.total}\n", style="bold")
    if grades.absent:
        lines.append(f"no answers from: {', '.join(grades.absent)}\n", style="yellow")
    parts.append(lines)
    return Group(*parts)
