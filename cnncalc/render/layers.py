"""`cnncalc layers`: the registry of layer kinds, as a rich table or JSON."""

from __future__ import annotations

from typing import Any


def layers_table(registry: dict, combinators: dict[str, str]):
    """`cnncalc layers`: every registered kind with its hyperparameters and defaults."""
    from rich.table import Table
    from rich.text import Text

    tab = Table(title="Layer kinds (generated from the registry)", title_justify="left",
                show_lines=True, header_style="bold")
    tab.add_column("Kind", style="cyan", no_wrap=True)
    tab.add_column("Family")
    tab.add_column("Hyperparameters (default)")
    tab.add_column("What it computes")
    for key in sorted(registry):
        cls = registry[key]
        tab.add_row(key, cls.family, Text(fields_text(cls)), Text(cls.summary))
    for key, doc in combinators.items():
        tab.add_row(key, "combinator", "", Text(doc))
    tab.caption = ("* the setting a bare value sets: fc: 84 is fc: {units: 84}, dropout: 0.5 "
                   "is dropout: {p: 0.5}")
    tab.caption_justify = "left"
    return tab


def fields_text(cls) -> str:
    parts = []
    for f in cls.fields:
        default = "required" if f.required else repr(f.default)
        primary = " *" if cls.primary == f.name else ""
        parts.append(f"{f.name}{primary} ({default}): {f.doc}")
    return "\n".join(parts) or "—"


def layers_json(registry: dict, combinators: dict[str, str]) -> list[dict[str, Any]]:
    out = [{"kind": key, "family": cls.family, "summary": cls.summary, "primary": cls.primary,
            "fields": [{"name": f.name, "required": f.required,
                        "default": None if f.required else f.default, "doc": f.doc}
                       for f in cls.fields]}
           for key, cls in sorted(registry.items())]
    out += [{"kind": k, "family": "combinator", "summary": v, "fields": []}
            for k, v in combinators.items()]
    return out
