"""Report → JSON, rich table, Markdown or CSV.  The only module that knows how a report looks.

rich is imported inside the functions that draw with it, so that ``--format json`` and the
API never pay for it.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

from .layers.base import Formula
from .report import COUNT_FIELDS, Counts, Diagnostic, Memory, ReceptiveField, Report, Row
from .shapes import fmt_number, volume_text

SCHEMA_VERSION = 1
CONVENTION = ("params = PyTorch parameters(); buffers = BN running stats; "
              "MACs = conv/fc multiply-adds, no bias; FLOPs = 2·MACs")


# --- numbers ------------------------------------------------------------------------------

def number(x: Fraction | int | None) -> int | float | None:
    """A Fraction as JSON: an int when whole."""
    if x is None:
        return None
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else float(x)
    return x


def count(n: int) -> str:
    return f"{n:,}"


def short(n: int | float) -> str:
    """1,814,073,344 → 1.81 G."""
    if abs(n) >= 1e15:
        return f"{n:.3g}"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def size_bytes(n: int | float) -> str:
    for unit, size in (("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20),
                       ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def rf_json(rf: ReceptiveField | None) -> dict[str, Any] | None:
    if rf is None:
        return None
    if rf.h == rf.w:
        return {"size": number(rf.h.size), "jump": number(rf.h.jump),
                "start": number(rf.h.start)}
    return {"size": [number(rf.h.size), number(rf.w.size)],
            "jump": [number(rf.h.jump), number(rf.w.jump)],
            "start": [number(rf.h.start), number(rf.w.start)]}


def rf_text(rf: ReceptiveField | None) -> str:
    """The receptive field's size, W×H when they differ (4 significant digits at most)."""
    if rf is None:
        return "—"
    if rf.h.size == rf.w.size:
        return fmt_number(rf.h.size)
    return f"{fmt_number(rf.w.size)}×{fmt_number(rf.h.size)}"


# --- JSON ---------------------------------------------------------------------------------

def formula_text(formula: Formula | None) -> str:
    return "" if formula is None else str(formula)


def counts_json(c: Counts) -> dict[str, int]:
    return {f: getattr(c, f) for f in COUNT_FIELDS}


def row_json(row: Row) -> dict[str, Any]:
    return {
        "name": row.name, "kind": row.kind, "shape": row.shape.dims(),
        "volume": volume_text(row.shape), **counts_json(row.counts),
        "receptive_field": rf_json(row.rf), "formula": formula_text(row.formula), "line": row.line,
    }


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "rule": d.slug, "severity": str(d.severity), "message": d.message,
            "layer": d.layer, "line": d.loc.line if d.loc else None,
            "col": d.loc.col if d.loc else None}


def memory_json(m: Memory) -> dict[str, Any]:
    return {"dtype": m.dtype, "batch": m.batch, "params_bytes": m.params_bytes,
            "buffers_bytes": m.buffers_bytes, "input_bytes": m.input_bytes,
            "activations_bytes_per_sample": m.activations_bytes_per_sample,
            "activations_bytes": m.activations_bytes, "inference_bytes": m.inference_bytes,
            "training_bytes": m.training_bytes}


def to_json(report: Report, error: str | None = None) -> dict[str, Any]:
    t = report.totals
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": report.name,
        "input": {"shape": report.input_shape.dims(), "volume": volume_text(report.input_shape)},
        "output": {"shape": report.output_shape.dims(),
                   "volume": volume_text(report.output_shape)},
        "layers": [row_json(r) for r in report.layers],
        "totals": {"params": t.params, "trainable_params": t.trainable_params,
                   "non_trainable_params": t.non_trainable_params,
                   "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                   "connections": t.connections, "activations": t.activations,
                   "memory": memory_json(report.memory) if report.memory else None},
        "warnings": [diagnostic_json(d) for d in report.diagnostics],
        "expect": [{"layer": c.layer, "field": c.field, "expected": claim_value(c.expected),
                    "actual": claim_value(c.actual), "ok": c.ok} for c in report.claims],
    }
    if error is not None:
        out["error"] = error
    return out


def claim_value(v: Any) -> Any:
    if hasattr(v, "dims"):
        return volume_text(v)
    if isinstance(v, tuple):
        return [number(x) for x in v]
    return number(v)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


# --- CSV and Markdown ---------------------------------------------------------------------

CSV_FIELDS = ("name", "kind", "volume", "shape", "params", "trainable_params", "buffers", "macs",
              "connections", "activations", "rf_size", "rf_jump", "rf_start", "formula")


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for r in report.layers:
        rf = rf_json(r.rf) or {}
        w.writerow([r.name, r.kind, volume_text(r.shape), "x".join(map(str, r.shape.dims())),
                    *(getattr(r.counts, f) for f in COUNT_FIELDS), rf.get("size", ""), rf.get("jump", ""), rf.get("start", ""),
                    formula_text(r.formula)])
    return buf.getvalue()


def visible(report: Report, depth: int | None) -> list[Row]:
    return [r for r in report.rows if depth is None or r.depth <= depth]


def to_markdown(report: Report, *, formulas: bool = False, depth: int | None = None) -> str:
    head = ["Layer", "Kind", "Output (W×H×D)", "Params", "MACs", "RF"]
    connections = shows_connections(report)
    if connections:
        head.append("Connections")
    if formulas:
        head.append("Formula")
    lines = [f"## {report.name}", "", f"Input: {volume_text(report.input_shape)}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in visible(report, depth):
        name = "&nbsp;" * 2 * r.depth + (f"**{r.name}**" if r.is_group else r.name)
        cells = [name, r.kind, volume_text(r.shape), count(r.counts.params), count(r.counts.macs),
                 rf_text(r.rf)]
        if connections:
            cells.append(count(r.counts.connections))
        if formulas:
            cells.append(formula_text(r.formula).replace("|", "\\|"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {label}: {value}" for label, value in summary_lines(report)]
    lines += [f"- {d.severity} {d.code} ({d.layer}): {d.message}" for d in report.diagnostics]
    lines += ["", CONVENTION, ""]
    return "\n".join(lines)


# --- totals, shared by table and markdown -------------------------------------------------

def summary_lines(report: Report) -> list[tuple[str, str]]:
    t, m = report.totals, report.memory
    lines = [
        ("Total params", f"{count(t.params)} ({short(t.params)})"),
        ("Trainable params", count(t.trainable_params)),
        ("Non-trainable params", count(t.params - t.trainable_params)),
        ("Buffers", f"{count(t.buffers)} (BN running mean and variance; Keras counts these as "
                    f"non-trainable params)"),
        ("MACs", f"{count(t.macs)} ({short(t.macs)}); FLOPs = 2·MACs = {short(t.flops)}"),
        ("Output", volume_text(report.output_shape)),
    ]
    if shows_connections(report):
        lines.append(("Connections", f"{count(t.connections)} (LeCun's count: per output, its "
                                     f"inputs + its bias)"))
    if m is not None:
        lines += [
            (f"Params size ({m.dtype})", size_bytes(m.params_bytes + m.buffers_bytes)),
            ("Activations", f"{count(t.activations)} per sample = "
                            f"{size_bytes(m.activations_bytes_per_sample)}; batch {m.batch}: "
                            f"{size_bytes(m.activations_bytes)}"),
            (f"Inference memory (batch {m.batch})",
             f"{size_bytes(m.inference_bytes)} (weights + input + activations)"),
            (f"Training memory (batch {m.batch}, Adam)",
             f"{size_bytes(m.training_bytes)} (weights + grads + 2 Adam moments + input + "
             f"activations)"),
        ]
    if report.claims:
        bad = sum(not c.ok for c in report.claims)
        lines.append(("expect", f"{len(report.claims)} claims, all ✓" if not bad else
                      f"{bad} of {len(report.claims)} claims wrong (cnncalc check shows why)"))
    return lines


def grouped(diagnostics) -> list[tuple[Diagnostic, list[str]]]:
    """The same finding on many layers (every ResNet downsampling) is shown once."""
    groups: dict[tuple[str, str], tuple[Diagnostic, list[str]]] = {}
    for d in diagnostics:
        groups.setdefault((d.code, d.message), (d, []))[1].append(d.layer)
    return list(groups.values())


def layer_list(names: list[str], shown: int = 3) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


# --- rich ---------------------------------------------------------------------------------

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
                 Text(volume_text(r.shape)), Text(count(r.counts.params)), Text(count(r.counts.macs)),
                 Text(rf_text(r.rf))]
        if connections:
            cells.append(Text(count(r.counts.connections)))
        if formulas:
            cells.append(Text(formula_text(r.formula)))
        tab.add_row(*cells)
    parts: list[Any] = [tab]
    hidden = len(report.rows) - len(visible(report, depth))
    if hidden:
        parts.append(Text(f"{hidden} nested row{'s' if hidden > 1 else ''} folded: "
                          f"--depth N or --expand shows them", style="dim"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    for label, value in summary_lines(report):
        summary.add_row(Text(label), Text(value))
    parts.append(summary)
    for d, layers in grouped(report.diagnostics):
        color = {"error": "red", "warning": "yellow"}.get(d.severity, "blue")
        where = f"{d.loc}: " if d.loc and len(layers) == 1 else ""
        parts.append(Text.assemble((f"{where}{d.severity}: ", color),
                                   f"{d.code} {d.slug} ({layer_list(layers)}): {d.message}"))
    parts.append(Text(CONVENTION, style="dim"))
    return Group(*parts)


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


# --- homework: check, calculators, apply, lint --------------------------------------------

def claim_json(c, file: str | None = None) -> dict[str, Any]:
    out = {"layer": c.layer, "field": c.field, "expected": claim_value(c.expected),
           "actual": claim_value(c.actual), "ok": c.ok, "formula": c.formula, "hint": c.hint}
    if file is not None:
        out["file"] = file
    return out


def check_json(results: list[tuple[str, Any]], files: int = 1,
               errors: list[str] = ()) -> dict[str, Any]:
    """``cnncalc check``: ``{"ok", "results": [...]}`` over ``(file, ClaimResult)`` pairs.

    ``ok`` is false when a claim is wrong or a file could not be checked (``errors``); with
    several files each result names its ``file``."""
    out = {"ok": not errors and all(c.ok for _, c in results),
           "results": [claim_json(c, f if files > 1 else None) for f, c in results]}
    if errors:
        out["errors"] = list(errors)
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
        summary = Text(f"{bad} of {len(claims)} claim{'s' if len(claims) > 1 else ''} wrong",
                       style="bold red")
    elif len(claims) == 1:
        summary = Text("the claim is right", style="bold green")
    else:
        summary = Text(f"all {len(claims)} claims right", style="bold green")
    return Group(tab, summary)


def claim_text(v: Any) -> str:
    if v is None:
        return "—"
    if hasattr(v, "dims"):
        return volume_text(v)
    v = number(v)
    return count(v) if isinstance(v, int) else str(v)


def calc_json(report: Report) -> dict[str, Any]:
    """A one-layer calculator: inspect's per-layer fields, plus the input and the warnings."""
    out = row_json(report.layers[0])
    out["input"] = {"shape": report.input_shape.dims(), "volume": volume_text(report.input_shape)}
    out["warnings"] = [diagnostic_json(d) for d in report.diagnostics]
    return out


def calc_view(report: Report) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    row = report.layers[0]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row(Text("Input"), Text(volume_text(report.input_shape)))
    fits = "" if not any(d.code == "CN101" for d in report.diagnostics) else \
        "  (does not fit: (N − F + 2P)/S + 1 is not whole; PyTorch floors it)"
    grid.add_row(Text("Output"), Text(volume_text(row.shape) + fits))
    grid.add_row(Text("Params"), Text(count(row.counts.params)))
    grid.add_row(Text("MACs"), Text(count(row.counts.macs)))
    grid.add_row(Text("Receptive field"), Text(rf_text(row.rf)))
    grid.add_row(Text("Formula"), Text(formula_text(row.formula)))
    parts: list[Any] = [grid]
    for d in report.diagnostics:
        color = {"error": "red", "warning": "yellow"}.get(d.severity, "blue")
        parts.append(Text.assemble((f"{d.severity}: ", color), f"{d.code} {d.slug}: {d.message}"))
    return Group(*parts)


def pad_json(sp) -> dict[str, Any]:
    return {"pad": sp.pad, "total": sp.total, "value": number(sp.value), "n": sp.n,
            "size": sp.f, "stride": sp.s, "dilation": sp.d, "formula": sp.formula,
            "nearest": [{"pad": c.pad, "output": c.output, "exact": c.exact}
                        for c in sp.nearest],
            "keeping": [{"pad": c.pad, "output": c.output, "exact": c.exact}
                        for c in sp.keeping]}


def pad_lines(sp) -> list[str]:
    from .shapes import effective_kernel, split_pad

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


def matrix_table(m: list, title: str = "") -> Any:
    from rich.table import Table
    from rich.text import Text

    from .numeric import fmt

    tab = Table(title=title or None, title_justify="left", show_header=False, show_lines=False)
    for _ in m[0]:
        tab.add_column(justify="right")
    for row in m:
        tab.add_row(*(Text(fmt(v)) for v in row))
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


def lint_json(source: str, result, strict: bool = False) -> dict[str, Any]:
    """``ok`` agrees with the exit code: no error, and no note under ``--strict``."""
    ok = result.error is None and not (strict and result.notes)
    out = {"file": source, "ok": ok,
           "notes": [dict(diagnostic_json(d), why=d.rule.reason)
                     for d in result.notes]}
    if result.error is not None:
        out["error"] = str(result.error)
    return out


def lint_view(source: str, result) -> Any:
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    for d in result.notes:
        color = {"error": "red", "warning": "yellow"}.get(d.severity, "blue")
        where = f"{d.loc}: " if d.loc else f"{source}: "
        parts.append(Text.assemble((f"{where}{d.severity}: ", color),
                                   (f"{d.code} {d.slug}", "bold"), f" ({d.layer}): {d.message}"))
        parts.append(Text(f"    why: {d.rule.reason}", style="dim"))
    if not result.notes and result.error is None:
        parts.append(Text(f"{source}: no design notes", style="green"))
    return Group(*parts)


def shows_connections(report: Report) -> bool:
    """The Connections column appears when the spec makes a claim about connections (the
    LeNet-5 1998 spec checks the paper's per-layer figures); elsewhere it is noise."""
    return any(c.field == "connections" for c in report.claims)


# --- zoo ----------------------------------------------------------------------------------

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
        tab.add_row(e.name, e.input_volume, count(e.params), count(e.macs),
                    mark if e.claims else Text(""),
                    Text(e.description or e.title))
    note = Text("✓: the spec's expect claims (torchvision's and the papers' figures) all hold. "
                + CONVENTION, style="dim")
    return Group(tab, note)
