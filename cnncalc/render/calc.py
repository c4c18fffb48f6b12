"""The one-off calculators: `cnncalc conv` and `cnncalc pool` (one layer), `cnncalc pad`."""

from __future__ import annotations

from typing import Any

from ..report import Report
from ..formulas import effective_kernel, split_pad, volume_text
from ..formatting import json_number, thousands
from .document import diagnostic_json, row_json
from .common import color_of, formula_text, rf_text


def calc_json(report: Report) -> dict[str, Any]:
    """A one-layer calculator: inspect's per-layer fields, plus the input and the warnings
    (and the flatten an fc on a volume needed, as ``flatten``)."""
    out = row_json(report.layers[-1])
    out["input"] = {"shape": report.input_shape.dims(), "volume": volume_text(report.input_shape)}
    if len(report.layers) > 1:
        out["flatten"] = row_json(report.layers[0])
    out["warnings"] = [diagnostic_json(d) for d in report.diagnostics]
    out["hints"] = [hint] if (hint := input_hint(report)) else []
    return out


def input_hint(report: Report) -> str:
    """A window's input that looks typed in PyTorch's C×H×W order (``conv 3x224x224``)."""
    from ..layers import REGISTRY
    from ..layers.slips import chw_order_text

    cls = REGISTRY.get(report.layers[-1].kind)
    if cls is None or not cls.sliding_window:
        return ""
    return chw_order_text(report.input_shape)


def calc_view(report: Report) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    row = report.layers[-1]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row(Text("Input"), Text(volume_text(report.input_shape)))
    if len(report.layers) > 1:  # an fc on a volume: flattened first
        grid.add_row(Text("Flatten"), Text(formula_text(report.layers[0].formula)))
    fits = "" if not any(d.code == "CN101" for d in report.diagnostics) else \
        "  (does not fit: (N − F + 2P)/S + 1 is not whole; PyTorch floors it)"
    grid.add_row(Text("Output"), Text(volume_text(row.shape) + fits))
    grid.add_row(Text("Params"), Text(thousands(row.counts.params)))
    grid.add_row(Text("MACs"), Text(thousands(row.counts.macs)))
    grid.add_row(Text("Receptive field"), Text(rf_text(row.rf)))
    grid.add_row(Text("Formula"), Text(formula_text(row.formula)))
    parts: list[Any] = [grid]
    for d in report.diagnostics:
        parts.append(Text.assemble((f"{d.severity}: ", color_of(d.severity)),
                                   f"{d.code} {d.slug}: {d.message}"))
    if hint := input_hint(report):
        parts.append(Text.assemble(("hint: ", "cyan"), hint))
    return Group(*parts)


def pad_json(sp) -> dict[str, Any]:
    return {"same": {"total": sp.same_total, "output": sp.same_output},"pad": sp.pad, "total": sp.total, "value": json_number(sp.value), "n": sp.n,
            "size": sp.f, "stride": sp.s, "dilation": sp.d, "formula": sp.formula,
            "nearest": [{"pad": c.pad, "output": c.output, "exact": c.exact}
                        for c in sp.nearest],
            "keeping": [{"pad": c.pad, "output": c.output, "exact": c.exact}
                        for c in sp.keeping]}


def pad_lines(sp) -> list[str]:
    lines = _keep_lines(sp)
    if sp.s > 1:  # the spec's two words differ at a stride: say which is which
        before, after = split_pad(sp.same_total)
        lines += [f"the notes' padding above keeps {sp.n} (pad: keep in a spec); pad: same gives "
                  f"⌈{sp.n}/{sp.s}⌉ = {sp.same_output} instead, as Keras and TensorFlow do: "
                  f"2p = (⌈N/S⌉ − 1)·S + F − N = {sp.same_total}"
                  + (f" ({before} before, {after} after)" if before != after else "")]
    return lines


def _keep_lines(sp) -> list[str]:
    lines = [sp.formula]
    if sp.pad is not None:
        lines.append(f"P = {sp.pad} keeps {sp.n}: ({sp.n} − {effective_kernel(sp.f, sp.d)} + "
                     f"2·{sp.pad})/{sp.s} + 1 = {sp.n}")
        return lines
    if sp.keeping:  # at a stride PyTorch's floor can still land on n
        lines.append(f"2P = {sp.total} is odd: no integer P makes (N − F + 2P)/S + 1 a whole "
                     f"{sp.n}, but PyTorch floors it:")
        lines += [f"  P = {c.pad} gives {sp.n} (after PyTorch floors a fraction)"
                  for c in sp.keeping]
        lines += [f"  P = {c.pad} gives {c.output}" for c in sp.nearest if c.output != sp.n]
        before, after = split_pad(sp.total)
        lines.append(f"  or pad {before} before and {after} after: a whole {sp.n}")
        return lines
    lines.append(f"no integer P gives exactly {sp.n}: 2P = {sp.total} is odd"
                 + (" (an even kernel cannot pad symmetrically)" if sp.s == 1 else ""))
    for c in sp.nearest:
        fit = "" if c.exact else " (after PyTorch floors a fraction)"
        lines.append(f"  P = {c.pad} gives {c.output}{fit}")
    before, after = split_pad(sp.total)
    lines.append(f"  or pad {before} before and {after} after"
                 + (" (PyTorch's padding='same' puts the extra pixel after)" if sp.s == 1 else ""))
    return lines
