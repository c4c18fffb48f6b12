"""What every view of a report shares: the totals lines, diagnostics grouped by finding, the
receptive field and formula as text, the rows a depth shows, and the counting convention."""

from __future__ import annotations

from ..layers.base import Formula
from ..report import Diagnostic, ReceptiveField, Report, Row, Severity
from ..formulas import volume_text
from ..formatting import MISSING, decimal, plural, short, size_bytes, thousands, with_short

CONVENTION = ("params = PyTorch parameters(); buffers = BN running stats; "
              "MACs = conv/fc multiply-adds, no bias; FLOPs = 2·MACs")


def formula_text(formula: Formula | None) -> str:
    return "" if formula is None else str(formula)


def rf_text(rf: ReceptiveField | None) -> str:
    """The receptive field's size, W×H when they differ (4 significant digits at most)."""
    if rf is None:
        return MISSING
    if rf.h.size == rf.w.size:
        return decimal(rf.h.size)
    return f"{decimal(rf.w.size)}×{decimal(rf.h.size)}"


def visible(report: Report, depth: int | None) -> list[Row]:
    return [r for r in report.rows if depth is None or r.depth <= depth]


def shows_connections(report: Report) -> bool:
    """The Connections column appears when the spec makes a claim about connections (the
    LeNet-5 1998 spec checks the paper's per-layer figures); elsewhere it is noise."""
    return any(c.field == "connections" for c in report.claims)


def output_text(report: Report) -> str:
    """The net's output volume, or, when a layer fails, that there is none and where it stops
    (the last volume that worked is not the output)."""
    if report.failed_at is not None:
        return f"none: the net stops at {report.failed_at}"
    return volume_text(report.output_shape)


def summary_lines(report: Report) -> list[tuple[str, str]]:
    """The totals under the table, each as (label, text).  When a layer failed, a first line
    says where the net stops and that every figure after it counts only the layers before."""
    t, m = report.totals, report.memory
    lines = []
    if report.failed_at is not None:
        lines.append(("Stops at", f"{report.failed_at}, which fails (the error follows): the "
                                  f"figures below count only the "
                                  f"{plural(len(report.layers), 'layer')} before it"))
    lines += [
        ("Total params", with_short(t.params)),
        ("Trainable params", thousands(t.trainable_params)),
        ("Non-trainable params", thousands(t.params - t.trainable_params)),
        ("Buffers", f"{thousands(t.buffers)} (BN running mean and variance; Keras counts these as "
                    f"non-trainable params)"),
        ("MACs", f"{with_short(t.macs)}; FLOPs = 2·MACs = {short(t.flops)}"),
        ("Output", output_text(report)),
    ]
    if shows_connections(report):
        lines.append(("Connections", f"{thousands(t.connections)} (LeCun's count: per output, its "
                                     f"inputs + its bias)"))
    traced = traced_rows(report)
    if traced:
        lines.append(("Traced", traced_note(traced)))
    if m is not None:
        lines += memory_lines(m, len(traced))
    if report.claims:
        bad = sum(not c.ok for c in report.claims)
        lines.append(("expect", f"{len(report.claims)} claims, all ✓" if not bad else
                      f"{bad} of {len(report.claims)} claims wrong (cnncalc check shows why)"))
    return lines


def traced_rows(report: Report) -> list[Row]:
    """The rows of layers whose numbers a PyTorch trace gave (``traced``, from import)."""
    from ..layers import REGISTRY

    return [r for r in report.layers if getattr(REGISTRY.get(r.kind), "from_trace", False)]


def traced_note(rows: list[Row]) -> str:
    """What the table's traced rows are, and what cannot reason through them."""
    return (f"{plural(len(rows), 'layer')} ({layer_list([r.name for r in rows])}) with numbers "
            f"taken from the PyTorch trace at this input, not computed: sizes, a symbolic "
            f"input, verify and export cannot reason through them, and the receptive field "
            f"after them is unknown")


def traced_left_out(count: int) -> str:
    """The memory estimate's caveat for a net with traced layers."""
    return (f"what the {plural(count, 'traced layer')} save{'s' if count == 1 else ''} for "
            f"backward (unknown: only {'its output is' if count == 1 else 'their outputs are'} "
            f"counted)")


def memory_lines(m, traced: int = 0) -> list[tuple[str, str]]:
    """The memory totals (a :class:`cnncalc.memory.MemoryEstimate`), each peak with the layer
    where it happens and what it leaves out."""
    weights = "fp32" if m.amp else m.dtype
    return [
        (f"Params size ({weights})", size_bytes(m.params_bytes)),
        (f"Buffers size ({weights})", size_bytes(m.buffers_bytes)),
        (f"Inference peak (batch {m.batch}, {m.precision})",
         f"{size_bytes(m.inference_peak)} at {m.inference_peak_layer} (weights + buffers + "
         f"input + the tensors alive at once)"),
        (f"Training peak (batch {m.batch}, {m.precision}, {m.optimizer})",
         f"{size_bytes(m.training_peak)} at {m.training_peak_at} (a later step: + grads "
         f"{size_bytes(m.grads_bytes)} + {m.optimizer} state {size_bytes(m.optimizer_bytes)} + "
         f"saved for backward {size_bytes(m.saved_bytes)})"),
        ("Memory leaves out", "the CUDA context, cuBLAS's and most cuDNN workspaces (a bf16/fp16 "
                              "conv's is in), allocator fragmentation (cnncalc fit keeps a reserve)" +
         (f"; {traced_left_out(traced)}" if traced else "")),
    ]


def memory_cells(report: Report) -> list[tuple[int, int] | None]:
    """Per row of ``report.rows``: (bytes kept for backward, bytes alive after it in
    inference); a group's are its layers' sum and the figure after its last layer."""
    m = report.memory
    if m is None:
        return [None] * len(report.rows)
    rows = report.rows
    out: list[tuple[int, int] | None] = [None] * len(rows)
    open_groups: list[tuple[int, int]] = []  # (position, depth)
    sums: dict[int, list[int]] = {}
    for k, r in enumerate(rows):
        while open_groups and open_groups[-1][1] >= r.depth:
            open_groups.pop()
        if r.is_group:
            open_groups.append((k, r.depth))
            sums[k] = [0, 0]
            continue
        if 0 <= r.index < len(m.rows):
            saved, live = m.rows[r.index].saved_bytes, m.rows[r.index].live_bytes
            out[k] = (saved, live)
            for g, _ in open_groups:
                sums[g][0] += saved
                sums[g][1] = live
    for g, (saved, live) in sums.items():
        out[g] = (saved, live)
    return out


def grouped(diagnostics) -> list[tuple[Diagnostic, list[str]]]:
    """The same finding on many layers (every ResNet downsampling) is shown once."""
    groups: dict[tuple[str, str], tuple[Diagnostic, list[str]]] = {}
    for d in diagnostics:
        groups.setdefault((d.code, d.message), (d, []))[1].append(d.layer)
    return list(groups.values())


def layer_list(names: list[str], shown: int = 3) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")


def color_of(severity: Severity) -> str:
    """The rich colour of a diagnostic's severity."""
    return {Severity.ERROR: "red", Severity.WARNING: "yellow"}.get(severity, "blue")


def silenced_line(silenced) -> str:
    """One line for the diagnostics ``allow:`` or ``--ignore`` silenced, or ''."""
    if not silenced:
        return ""
    by: dict[str, list[str]] = {}
    for d in silenced:
        by.setdefault(d.code, []).append("allow" if d.silenced_by == "allow" else "--ignore")
    what = ", ".join(f"{code} ×{len(ways)} ({'/'.join(sorted(set(ways)))})"
                     for code, ways in sorted(by.items()))
    return f"silenced: {what}"
