"""`cnncalc zoo`: the bundled specs with their params and MACs."""

from __future__ import annotations

from typing import Any

from ..formatting import thousands
from .common import CONVENTION


def zoo_json(entries) -> list[dict[str, Any]]:
    """`cnncalc zoo --format json`: one object per bundled spec."""
    return [{"name": e.name, "spec": f"zoo:{e.name}", "title": e.title,
             "description": e.description, "input": e.input_volume, "output": e.output_volume,
             "layers": e.layers, "params": e.params, "trainable_params": e.trainable_params,
             "buffers": e.buffers, "macs": e.macs, "flops": 2 * e.macs,
             "expect": {"claims": e.claims, "ok": e.claims_ok}} for e in entries]


def zoo_table(entries):
    """`cnncalc zoo`: the bundled specs with their params and MACs."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    tab = Table(title="Bundled specs (cnncalc inspect zoo:NAME)", title_justify="left",
                header_style="bold")
    tab.add_column("Name", style="cyan", no_wrap=True)
    tab.add_column("Input", justify="right", no_wrap=True)
    tab.add_column("Params", justify="right", no_wrap=True)
    tab.add_column("MACs", justify="right", no_wrap=True)
    tab.add_column("", no_wrap=True)
    tab.add_column("Description")
    for e in entries:
        mark = Text("✓", style="green") if e.claims_ok else Text("✗", style="red")
        tab.add_row(e.name, e.input_volume, thousands(e.params), thousands(e.macs),
                    mark if e.claims else Text(""),
                    Text(e.description or e.title))
    note = Text("✓: the spec's expect claims (torchvision's and the papers' figures) all hold. "
                + CONVENTION, style="dim")
    return Group(tab, note)
