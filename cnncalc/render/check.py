"""`cnncalc check`: each spec's expect claims graded ✓/✗, with the right value, the formula
and the likely slip."""

from __future__ import annotations

from typing import Any

from ..errors import EXIT_OK, CnncalcError
from ..exit_codes import check_status
from ..formulas import volume_text
from ..formatting import MISSING, json_number, plural, thousands
from . import document


def claim_json(c, file: str | None = None) -> dict[str, Any]:
    """The claim as inspect's JSON has it, with the formula and the likely slip."""
    out = dict(document.claim_json(c), formula=c.formula, hint=c.hint)
    if file is not None:
        out["file"] = file
    return out


def check_json(results: list[tuple[str, Any]], files: int = 1,
               errors: list[CnncalcError] = ()) -> dict[str, Any]:
    """``cnncalc check``: ``{"ok", "results": [...]}`` over ``(file, ClaimResult)`` pairs.

    ``ok`` agrees with the exit status: false when a claim is wrong or a file could not be
    checked (``errors``); with several files each result names its ``file``."""
    out = {"ok": check_status((c for _, c in results), errors) == EXIT_OK,
           "results": [claim_json(c, f if files > 1 else None) for f, c in results]}
    if errors:
        out["errors"] = [line for e in errors for line in e.lines()]
    return out


def check_view(source: str, claims) -> Any:
    """One spec's claims graded ✓/✗, with the right value, the formula and the slip."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    tab = Table(title=source, title_justify="left", header_style="bold", show_lines=False)
    tab.add_column("", no_wrap=True)
    tab.add_column("Layer", no_wrap=True)
    tab.add_column("Field", no_wrap=True)
    tab.add_column("Claimed", justify="right", no_wrap=True)
    tab.add_column("Right", justify="right", no_wrap=True)
    tab.add_column("Why", overflow="fold")
    for c in claims:
        mark = Text("✓", style="green") if c.ok else Text("✗", style="bold red")
        why = Text()
        if not c.ok:
            if c.hint:
                why.append(f"likely slip: {c.hint}\n", style="yellow")
            why.append(c.formula)
        tab.add_row(mark, Text(c.layer or "(net)"), Text(c.field),
                    Text(claim_text(c.expected)), Text(claim_text(c.actual)), why)
    bad = sum(not c.ok for c in claims)
    if bad:
        summary = Text(f"{bad} of {plural(len(claims), 'claim')} wrong", style="bold red")
    elif len(claims) == 1:
        summary = Text("the claim is right", style="bold green")
    else:
        summary = Text(f"all {len(claims)} claims right", style="bold green")
    return Group(tab, summary)


def claim_text(v: Any) -> str:
    if v is None:
        return MISSING
    if hasattr(v, "dims"):
        return volume_text(v)
    v = json_number(v)
    return thousands(v) if isinstance(v, int) else str(v)


def wrong_claim_lines(claims) -> list[str]:
    """One line per wrong claim, ``FILE:LINE:COL: wrong: …``, for the commands that exit 1
    on one without grading them (draw, report)."""
    lines = []
    for c in claims:
        if c.ok:
            continue
        where = f"{c.loc}: " if c.loc is not None else ""
        hint = f" (likely slip: {c.hint})" if c.hint else ""
        lines.append(f"{where}wrong: {c.layer or 'the net'} {c.field}: claimed "
                     f"{claim_text(c.expected)}, right {claim_text(c.actual)}{hint}")
    return lines
