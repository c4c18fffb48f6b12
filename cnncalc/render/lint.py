"""`cnncalc lint`: the design notes with their codes and the reason from the notes."""

from __future__ import annotations

from typing import Any

from ..errors import EXIT_OK
from ..exit_codes import lint_status
from .document import diagnostic_json, silenced_json
from .common import color_of, silenced_line


def lint_json(source: str, result, strict: bool = False) -> dict[str, Any]:
    """``ok`` agrees with the exit status: no error, and no note under ``--strict``."""
    out = {"file": source, "ok": lint_status(result, strict=strict) == EXIT_OK,
           "notes": [dict(diagnostic_json(d), why=d.rule.reason)
                     for d in result.notes],
           "silenced": [silenced_json(d) for d in result.silenced]}
    if result.error is not None:
        out["error"] = str(result.error)
    return out


def lint_view(source: str, result) -> Any:
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    for d in result.notes:
        where = f"{d.loc}: " if d.loc else f"{source}: "
        parts.append(Text.assemble((f"{where}{d.severity}: ", color_of(d.severity)),
                                   (f"{d.code} {d.slug}", "bold"), f" ({d.layer}): {d.message}"))
        parts.append(Text(f"    why: {d.rule.reason}", style="dim"))
    if not result.notes and result.error is None:
        parts.append(Text(f"{source}: no design notes", style="green"))
    if result.silenced:
        parts.append(Text(f"{source}: {silenced_line(result.silenced)}", style="dim"))
    return Group(*parts)
