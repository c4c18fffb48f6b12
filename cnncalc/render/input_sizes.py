"""How symbolic sizes look: a symbolic report (``inspect`` of ``input: HxWx3``), its counts at
given sizes (``inspect --at``), the answers of ``cnncalc sizes`` and of ``cnncalc solve``.

JSON: a symbolic value is an object (:meth:`cnncalc.closed_forms.Size.json`): its ``expr`` text
and the parts that define it; numeric values stay numbers.  rich is imported inside the
functions that draw.
"""

from __future__ import annotations

from typing import Any

from ..report import Report
from ..formulas import volume_text
from ..closed_forms import is_symbolic, jsonable, text_of
from ..formatting import short, size_bytes, thousands, with_short
from .document import memory_json, to_json
from .common import CONVENTION, formula_text, grouped, layer_list, visible


def _count(v) -> str:
    """A count or a closed form, with thousands separators and no outer parentheses."""
    return v._text(",") if is_symbolic(v) else f"{v:,}"


# --- inspect of a symbolic spec -----------------------------------------------------------

def symbolic_json(report: Report, runs: dict[str, str], at: list | None = None,
                  error: str | None = None) -> dict[str, Any]:
    """inspect's JSON (the contract's fields) with closed forms as objects, the sizes for which
    the net runs (``runs``: per symbol, ``cnncalc sizes``' text) and, with ``--at``, every
    count evaluated."""
    out = jsonable(to_json(report, error=error))
    out["symbols"] = {var: {"runs": text} for var, text in runs.items()}
    if at is not None:
        out["at"] = [at_json(entry) for entry in at]
    return out


def at_json(entry) -> dict[str, Any]:
    env, evaluated, failed = entry
    out: dict[str, Any] = {"sizes": env, "runs": failed is None}
    if failed is not None:
        out["fails_at"] = failed
        return out
    t = evaluated.totals
    out["output"] = {"shape": evaluated.output_shape.dims(),
                     "volume": volume_text(evaluated.output_shape)}
    out["totals"] = {"params": t.params, "trainable_params": t.trainable_params,
                     "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                     "connections": t.connections, "activations": t.activations,
                     "memory": memory_json(evaluated.memory) if evaluated.memory else None}
    return out


def symbolic_table(report: Report, runs: dict[str, str], *, formulas: bool = False,
                   depth: int | None = None):
    """The layer table with each size as a closed form, then the totals as formulas."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    rows = visible(report, depth)
    tab = Table(title=f"{report.name}  (input {volume_text(report.input_shape)})",
                title_justify="left", header_style="bold")
    # names, kinds and volumes keep their width; the MACs' formulas fold
    tab.add_column("Layer", no_wrap=True)
    tab.add_column("Kind", no_wrap=True)
    tab.add_column("Output W×H×D", no_wrap=True)
    tab.add_column("Params", justify="right", overflow="fold")
    tab.add_column("MACs", overflow="fold")
    if formulas:
        tab.add_column("Formula", overflow="fold", min_width=48)
    for r in rows:
        cells = [Text("  " * r.depth + r.name, style="bold" if r.is_group else ""),
                 Text(r.kind, style="cyan" if r.is_group else ""), Text(volume_text(r.shape)),
                 Text(_count(r.counts.params)), Text(_count(r.counts.macs))]
        if formulas:
            cells.append(Text(formula_text(r.formula)))
        tab.add_row(*cells)
    parts: list[Any] = [tab]
    hidden = len(report.rows) - len(rows)
    if hidden:
        parts.append(Text(f"{hidden} nested row{'s' if hidden > 1 else ''} folded: "
                          f"--depth N or --expand shows them", style="dim"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column(overflow="fold")
    for label, value in symbolic_summary(report, runs):
        summary.add_row(Text(label), Text(value))
    parts.append(summary)
    for d, layers in grouped(report.diagnostics):
        color = {"error": "red", "warning": "yellow"}.get(d.severity, "blue")
        parts.append(Text.assemble((f"{d.severity}: ", color),
                                   f"{d.code} {d.slug} ({layer_list(layers)}): "
                                   f"{d.message}"))
    parts.append(Text(CONVENTION + "; ⌊x⌋ rounds down. --at 224,320 evaluates every "
                      "count; cnncalc sizes lists the sizes that work", style="dim"))
    return Group(*parts)


def symbolic_summary(report: Report, runs: dict[str, str]) -> list[tuple[str, str]]:
    t = report.totals
    lines = [("Runs for", "; ".join(runs.values()) or "—"),
             ("Output", volume_text(report.output_shape)),
             ("Total params", _count(t.params)),
             ("Buffers", _count(t.buffers)),
             ("MACs", _count(t.macs)),
             ("FLOPs", f"2·MACs"),
             ("Activations", f"{_count(t.activations)} per sample")]
    if report.claims:
        bad = sum(not c.ok for c in report.claims)
        lines.append(("expect", f"{len(report.claims)} claims, all ✓" if not bad else
                      f"{bad} of {len(report.claims)} claims do not hold at every size"))
    return lines


def at_table(name: str, entries):
    """``inspect --at``: every total at each input size, one column per size."""
    from rich.table import Table
    from rich.text import Text

    tab = Table(title=f"{name} at each input size", title_justify="left", header_style="bold")
    tab.add_column("", no_wrap=True, style="bold")
    for env, _, _ in entries:
        tab.add_column(" × ".join(f"{k} = {v}" for k, v in env.items()), justify="right",
                       no_wrap=True)

    def cell(entry, fn) -> Text:
        _, evaluated, failed = entry
        if failed is not None:
            return Text(f"fails at {failed}", style="red")
        return Text(fn(evaluated))

    lines = [
        ("Output", lambda r: volume_text(r.output_shape)),
        ("Params", lambda r: thousands(r.totals.params)),
        ("MACs", lambda r: with_short(r.totals.macs)),
        ("FLOPs", lambda r: short(r.totals.flops)),
        ("Activations", lambda r: thousands(r.totals.activations)),
        ("Inference peak", lambda r: size_bytes(r.memory.inference_peak) if r.memory else "—"),
        ("Training peak", lambda r: size_bytes(r.memory.training_peak) if r.memory else "—"),
    ]
    for label, fn in lines:
        tab.add_row(Text(label), *(cell(e, fn) for e in entries))
    return tab


# --- cnncalc sizes ------------------------------------------------------------------------

def _axis_key(axis) -> tuple:
    """What an axis answers, with its symbol written X: equal keys read the same."""
    def plain(text: str) -> str:
        return text.replace(axis.var, "X")

    wanted = axis.wanted
    return (plain(axis.runs.text()), plain(axis.exact.text()), plain(text_of(axis.output)),
            plain(axis.on_runs),
            None if wanted is None else (plain(wanted.inputs.text()), wanted.below,
                                          wanted.above),
            tuple((plain(f.inputs), f.example, f.layer) for f in axis.failures))


def sizes_json(result, exact: bool) -> dict[str, Any]:
    given = result.given
    axes = []
    for a in result.axes:
        entry: dict[str, Any] = {
            "var": a.var, "runs": a.runs.json(),
            "output": {"closed_form": jsonable(a.output), "vector": a.vector,
                       "where_runs": a.on_runs or None},
            "failures": [{"inputs": f.inputs, "example": f.example, "layer": f.layer,
                          "message": f.message} for f in a.failures],
            "proof": {"period": a.period, "threshold": a.threshold,
                      "checked": list(a.checked)}}
        if exact:
            entry["exact"] = a.exact.json()
        if result.mode == "eval":  # side outputs (training only) left out of "runs"
            entry["training"] = (a.training or a.runs).json()
        if given is not None and not a.vector:
            x = given.h if _is_height(result, a.var) else given.w
            if x in a.runs:
                entry["output"]["at_given"] = {"input": x, "output": a.output.at(x)
                                               if is_symbolic(a.output) else a.output}
        if a.wanted is not None:
            w = a.wanted
            entry["want_output"] = {
                "output": w.output, "inputs": w.inputs.json(),
                "below": None if w.below is None else {"output": w.below[0],
                                                       "inputs": list(w.below[1])},
                "above": None if w.above is None else {"output": w.above[0],
                                                       "inputs": list(w.above[1])}}
        axes.append(entry)
    out = {"name": result.name, "input": volume_text(result.input_shape),
           "given": volume_text(given) if given is not None else None, "exact": exact,
           "axes": axes}
    if result.mode is not None:
        out["mode"] = result.mode
    return out


def _is_height(result, var: str) -> bool:
    h = result.input_shape.h
    return is_symbolic(h) and h.var == var


def sizes_view(result, exact: bool):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = f"{result.name}: input {volume_text(result.input_shape)}"
    if result.given is not None:
        head += f" (the spec's own: {volume_text(result.given)})"
    parts: list[Any] = [Text(head, style="bold")]
    shown = []
    for a in result.axes:
        if any(_axis_key(b) == _axis_key(a) for b in shown):
            continue  # its twin's title names it
        shown.append(a)
        twins = [b.var for b in result.axes if b is not a and _axis_key(b) == _axis_key(a)]
        title = " and ".join([a.var] + twins)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(Text(title + (f" (shown for {a.var})" if twins else "")), Text(""))
        for label, value in axis_lines(result, a, exact):
            grid.add_row(Text(label), Text(value))
        parts.append(grid)
    parts.append(Text("Exact, not sampled: the conditions repeat with the period shown above "
                      "the threshold shown (README: Which sizes work?), and the integer engine "
                      "confirmed the inputs it lists.", style="dim"))
    return Group(*parts)


def _members(s) -> str:
    first = s.first()
    if not s.residues and len(s.finite) <= 1:
        return s.text()
    more = "" if not s.residues and len(s.finite) <= len(first) else ", …"
    return f"{s.text()}" + (f": {', '.join(map(str, first))}{more}" if first else "")


def axis_lines(result, a, exact: bool) -> list[tuple[str, str]]:
    v = a.var
    lines = [("  runs", _members(a.runs))]
    if result.mode == "eval":
        lines[0] = ("  runs (eval)", lines[0][1])
        if a.training is not None:
            lines.append(("  in training", f"{_members(a.training)} (its side outputs, an "
                                           f"auxiliary head, run too)"))
    if exact:
        lines.append(("  no layer floors", _members(a.exact)))
    if a.vector:
        lines.append(("  output", f"a vector of {text_of(a.output)}" +
                      ("" if is_symbolic(a.output) else f": it does not depend on {v}")))
    else:
        text = text_of(a.output)
        if a.on_runs and a.on_runs != text:
            text = f"{a.on_runs} where it runs ({text} as a closed form)"
        elif a.on_runs:
            text = f"{text}"
        given = result.given
        if given is not None:
            x = given.h if _is_height(result, v) else given.w
            if x in (a.exact if exact else a.runs):
                y = a.output.at(x) if is_symbolic(a.output) else a.output
                text += f"; {x} → {y}"
        lines.append(("  output", text))
    if a.wanted is not None:
        w = a.wanted
        label = f"  output {w.output}"
        if not w.inputs.empty:
            lines.append((label, f"from {_members(w.inputs)}"))
        else:
            near = []
            for side, found in (("below", w.below), ("above", w.above)):
                if found is not None:
                    out, xs = found
                    near.append(f"{out} from {v} = {', '.join(map(str, xs[:5]))}")
            lines.append((label, f"no {v} gives {w.output}" +
                          (f"; the nearest: {'; '.join(near)}" if near else "")))
    for i, f in enumerate(a.failures):
        lines.append(("  fails" if i == 0 else "",
                      f"{f.inputs}, e.g. {v} = {f.example}: {f.layer} → {f.message}"))
    checked = a.checked
    span = (f"{checked[0]}" if len(checked) == 1 else f"{checked[0]} … {checked[-1]}")
    lines.append(("  why exact", f"the conditions repeat every {a.period} from {v} = "
                                 f"{a.threshold}; the engine confirmed {len(checked)} inputs, "
                                 f"{v} = {span}"))
    return lines


# --- cnncalc solve -------------------------------------------------------------------------

def solve_json(sol) -> dict[str, Any]:
    def cand(c):
        return {sol.unknown: c.value, "output": c.output, "exact": c.exact,
                "formula": c.formula}

    return {"unknown": sol.unknown, "letter": sol.letter, "given": sol.given,
            "output": sol.output, "ceil": sol.ceil, "range": [sol.low, sol.high],
            "solutions": [cand(c) for c in sol.found],
            "nearest": [cand(c) for c in sol.nearest], "note": sol.note or None}


def solve_lines(sol) -> list[str]:
    letters = {"input": "N", "size": "F", "stride": "S", "pad": "P", "dilation": "d"}
    given = ", ".join(f"{letters[k]} = {sol.given[k]}" for k in letters
                      if k in sol.given and not (k == "dilation" and sol.given[k] == 1))
    rule = ("output = ⌈(N − F + 2P)/S⌉ + 1, ceil mode" if sol.ceil else
            "output = ⌊(N − F + 2P)/S⌋ + 1, as PyTorch floors")
    want = (f"gives output {sol.output}" if sol.output is not None
            else "makes (N − F + 2P)/S + 1 whole")
    lines = [f"{sol.letter} where {given}: every {sol.letter} from {sol.low} to {sol.high} "
             f"that {want} ({rule})"]
    for c in sol.found:
        rounds = "ceil mode rounds it up" if sol.ceil else "PyTorch floors it"
        fit = "" if c.exact or sol.output is None else f" (not whole: {rounds})"
        lines.append(f"  {sol.letter} = {c.value}: {c.formula}{fit}")
    if not sol.found:
        lines.append(f"  no whole {sol.letter} from {sol.low} to {sol.high} {want}")
        for c in sol.nearest:
            lines.append(f"  nearest: {sol.letter} = {c.value} gives {c.output}: {c.formula}")
    if sol.note:
        lines.append(f"  beyond: {sol.note}")
    return lines
