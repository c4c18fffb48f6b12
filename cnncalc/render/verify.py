"""How a verification prints: a rich table of checks, a timing summary, and the JSON document.

Torch-free: it reads the records :mod:`cnncalc.backends.torch` returns.
"""

from __future__ import annotations

from ..formatting import plural as _count
from ..formatting import size_bytes
from ..formatting import thousands as _num
from .common import layer_list


def _dims(d) -> str:
    return "×".join(str(x) for x in d) if d is not None else "—"



# Column headings of the compared quantities, keyed as in the JSON.
LABELS = {"shape": "C×H×W", "params": "params", "trainable_params": "trainable",
          "buffers": "buffers", "macs": "MACs"}
NOT_COMPARED = "n/c"


def _value(key: str, x) -> str:
    return _dims(x) if key == "shape" else _num(x)


def _layer_json(c) -> dict:
    doc = {"name": c.name, "kind": c.kind, "ok": c.ok, "shape": c.shape,
           "torch_shape": c.torch_shape, "params": c.params, "torch_params": c.torch_params,
           "trainable_params": c.trainable_params,
           "torch_trainable_params": c.torch_trainable_params, "buffers": c.buffers,
           "torch_buffers": c.torch_buffers, "macs": c.macs, "torch_macs": c.torch_macs,
           "macs_compared": c.macs_compared}
    if c.macs_note:
        doc["macs_note"] = c.macs_note
    if not c.ok:
        doc["mismatches"] = [q.key for q in c.mismatches]
    if c.error:
        doc["error"] = c.error
    return doc


def to_json(v) -> dict:
    """``{"ok", "device", totals, "layers": [...], "timing": {...} | null}``."""
    t = v.timing
    timing = None
    if t is not None:
        timing = {"batch": t.batch, "dtype": t.dtype, "iters": t.iters, "warmup": t.warmup,
                  "median_ms": round(t.median_ms, 4), "p10_ms": round(t.p10_ms, 4),
                  "p90_ms": round(t.p90_ms, 4), "images_per_s": round(t.images_per_s, 2),
                  "tflops": round(t.tflops, 4), "spread": round(t.spread, 3),
                  "noisy": t.noisy, "peak_memory_bytes": t.peak_memory_bytes,
                  "channels_last": t.channels_last, "compile": t.compiled}
        if t.per_layer_ms:
            total = sum(ms for _, ms in t.per_layer_ms) or 1.0
            timing["per_layer"] = [{"name": n, "median_ms": round(ms, 4),
                                    "share": round(ms / total, 4)} for n, ms in t.per_layer_ms]
    return {
        "ok": v.ok,
        "name": v.name,
        "device": v.device,
        "params": v.params,
        "torch_params": v.torch_params,
        "trainable_params": v.trainable_params,
        "torch_trainable_params": v.torch_trainable_params,
        "buffers": v.buffers,
        "torch_buffers": v.torch_buffers,
        "macs": v.macs,
        "torch_macs": v.torch_macs,
        "macs_unchecked": v.macs_unchecked,
        "output": v.output_shape,
        "torch_output": v.torch_output_shape,
        "layers": [_layer_json(c) for c in v.layers],
        "timing": timing,
        "memory": [m.as_json() for m in v.memory],
    }


def _cell(q) -> str:
    """The agreed value; ``cnncalc ≠ PyTorch`` in red; the value and n/c when not compared."""
    ours = _value(q.key, q.ours)
    if not q.compared:
        return f"{ours} [dim]{NOT_COMPARED}[/]"
    if q.ok:
        return ours
    return f"[bold red]{ours} ≠ {_value(q.key, q.theirs)}[/]"


def _total_macs_cell(v, q) -> str:
    """The compared part of the total, plus the part PyTorch's counter cannot see."""
    if not v.macs_unchecked:
        return _cell(q)
    return f"{_cell(q)} [dim]+ {_num(v.macs_unchecked)} {NOT_COMPARED}[/]"


def _mark(ok: bool) -> str:
    return "[green]✓[/]" if ok else "[bold red]✗[/]"


NAME_MIN = 8  # the layer and kind columns wrap down to this width before the numbers give way


def checks_table(v, width: int | None = None):
    """The checks as a rich table; ``width`` (the console's) lays it out so that no number is
    ever cut: where the table is too wide, the layer and kind columns wrap (fold) first, then
    the number columns' headers, never their values; only a terminal narrower than the
    numbers themselves crops (the rule the inspect table keeps, ``render/table.py``)."""
    from rich.table import Table

    table = Table(title=f"{v.name}: cnncalc against PyTorch on {v.device}", title_justify="left",
                  caption=f"each cell: the value both agree on, or cnncalc ≠ PyTorch; "
                          f"{NOT_COMPARED}: not comparable",
                  caption_justify="left")
    rows = [[_mark(c.ok), c.name, c.kind, *(_cell(q) for q in c.quantities())] for c in v.layers]
    totals = v.totals()
    rows.append([_mark(v.total_ok), "[bold]total[/]", "",
                 *(_total_macs_cell(v, q) if q.key == "macs" else _cell(q) for q in totals)])
    headers = ["", "layer", "kind", *LABELS.values()]
    layout = _fixed_widths(headers, rows, width)
    widths = None if layout is None else layout[0]
    if layout is not None:
        table.padding = (0, layout[1])
    for i, (col, just) in enumerate((("", "center"), ("layer", "left"), ("kind", "left"),
                                     *((label, "right") for label in LABELS.values()))):
        if widths is None:
            table.add_column(col, justify=just, no_wrap=True)
        else:
            table.add_column(col, justify=just, width=widths[i], no_wrap=False,
                             overflow="fold")
    if widths is not None:
        for row in rows[:-1]:
            row[1] = _wrap_name(row[1], widths[1])
    for row in rows[:-1]:
        table.add_row(*row)
    table.add_row(*rows[-1], end_section=True)
    return table


def _wrap_name(name: str, width: int) -> str:
    """A dotted layer name broken after its dots to lines of at most ``width`` (a part longer
    than that is folded by the table)."""
    if len(name) <= width:
        return name
    from rich.markup import escape

    lines, line = [], ""
    for part in name.replace(".", ".\0").split("\0"):
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return escape("\n".join(lines))


def _fixed_widths(headers: list[str], rows: list[list[str]], width: int | None):
    """(each column's width, cell padding) where the natural table is wider than ``width``;
    None where it fits.

    In order, until it fits: the layer and kind columns wrap (down to :data:`NAME_MIN` each),
    the cells lose their padding, the number columns' headers fold to their widest value.
    A value is never cut."""
    if width is None:
        return None
    from rich.text import Text

    def w(markup: str) -> int:
        return Text.from_markup(markup).cell_len

    need = [max([w(head)] + [w(r[i]) for r in rows]) for i, head in enumerate(headers)]
    values = [max([w(r[i]) for r in rows] or [0]) for i in range(len(headers))]
    rules = len(headers) + 1
    if sum(need) + 2 * len(headers) + rules <= width:
        return None
    names = min(need[1], NAME_MIN) + min(need[2], NAME_MIN)
    for pad, numbers in ((1, need[3:]), (0, need[3:]), (0, values[3:])):
        room = width - rules - 2 * pad * len(headers) - need[0] - sum(numbers)
        if room >= names:
            break
    room = max(room, 2)
    kind = min(need[2], max(room - need[1], room // 3, min(room // 2, NAME_MIN)))
    layer = max(min(need[1], room - kind), 1)
    return [need[0], layer, max(room - layer, 1), *numbers], pad


def _mismatch_text(q) -> str:
    return f"{LABELS[q.key]} {_value(q.key, q.ours)} ≠ {_value(q.key, q.theirs)}"


def macs_notes(v) -> list[str]:
    """How PyTorch's MAC figures were read, where not as its counter gave them."""
    groups: dict[tuple[bool, str], list[str]] = {}
    for c in v.layers:
        if c.macs_note:
            groups.setdefault((c.macs_compared, c.macs_note), []).append(c.name)
    if not groups:
        return []
    lines = ["MACs from PyTorch's FlopCounterMode (convolutions and matrix products only):"]
    for (compared, note), names in groups.items():
        how = "" if compared else f" ({NOT_COMPARED})"
        lines.append(f"  {layer_list(names)}{how}: {note.removeprefix('not comparable: ')}")
    if v.macs_unchecked:
        lines.append(f"  the total compares the other {_num(v.macs - v.macs_unchecked)} of "
                     f"cnncalc's {_num(v.macs)}")
    return lines


def summary_lines(v, shown: int = 10) -> list[str]:
    bad = [c for c in v.layers if not c.ok]
    lines = []
    if v.ok:
        agree = ("the layer agrees" if len(v.layers) == 1
                 else f"all {len(v.layers)} layers agree")
        lines.append(f"✓ {agree} with PyTorch "
                     f"({v.torch_params:,} params, output {_dims(v.torch_output_shape)})")
    elif bad:
        lines.append(f"✗ {len(bad)} of {_count(len(v.layers), 'layer')} "
                     f"disagree{'s' if len(bad) == 1 else ''} with PyTorch")
        for c in bad[:shown]:
            lines.append(f"  {c.name}: {c.error}" if c.error else
                         f"  {c.name}: {'; '.join(_mismatch_text(q) for q in c.mismatches)}")
        if len(bad) > shown:
            lines.append(f"  … and {len(bad) - shown} more")
    else:
        lines.append("✗ every layer agrees with PyTorch, but the whole net does not")
    if not v.total_ok and v.torch_output_shape is not None:
        lines.append(f"  total: {'; '.join(_mismatch_text(q) for q in v.totals() if not q.ok)}")
    lines += macs_notes(v)
    t = v.timing
    if t is not None:
        flags = ", ".join(f for f, on in (("channels-last", t.channels_last),
                                          ("compiled", t.compiled)) if on)
        lines.append(
            f"timing on {v.device}, batch {t.batch}, {t.dtype}{', ' + flags if flags else ''}, "
            f"{_count(t.iters, 'iteration')} after {t.warmup} warm-up:")
        lines.append(f"  median {t.median_ms:.3f} ms (p10 {t.p10_ms:.3f}, p90 {t.p90_ms:.3f}), "
                     f"{t.images_per_s:,.1f} images/s, {flops_rate(t.tflops)} (2·MACs)")
        if t.noisy:
            lines.append(f"  ⚠ the timings spread widely (p90/p10 = {t.spread:.1f}): the machine "
                         f"is busy or the runs are too few; try --iters {max(4 * t.iters, 50)} "
                         f"and a quieter machine")
        if t.peak_memory_bytes is not None:
            lines.append(f"  peak device memory over the timed passes: "
                         f"{t.peak_memory_bytes / 2**20:,.1f} MiB")
    lines += memory_lines(v.memory)
    return lines


OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD+momentum", "adam": "Adam", "adamw": "AdamW"}


def memory_lines(checks) -> list[str]:
    """The measured peaks beside the estimate: 'measured, estimated, ratio'."""
    if not checks:
        return []
    first = checks[0]
    kind = f"amp {first.amp}" if first.amp else first.dtype
    lines = [f"memory, batch {first.batch}, {kind} (measured: {first.how}):"]
    for m in checks:
        what = "forward pass" if m.mode == "inference" else \
            f"{OPTIMIZER_NAMES.get(m.optimizer, m.optimizer)} step (the 2nd)"
        est = (f"estimate {size_bytes(m.estimate)} ({m.estimate:,} B), ratio {m.ratio:.3f}"
               if m.estimate is not None else m.estimate_note or "estimate unavailable")
        lines.append(f"  {what}: measured {size_bytes(m.measured)} ({m.measured:,} B); {est}")
    lines.append("  left out of both: the CUDA context, cuBLAS's and most cuDNN workspaces (a "
                 "bf16/fp16 conv's is in both), allocator fragmentation")
    return lines


def flops_rate(tflops: float) -> str:
    """FLOP/s with a unit that shows its digits: 0.015 TFLOP/s is 15.0 GFLOP/s."""
    for unit, scale in (("TFLOP/s", 1), ("GFLOP/s", 1e3), ("MFLOP/s", 1e6)):
        if tflops * scale >= 1:
            return f"{tflops * scale:,.3g} {unit}" if tflops * scale < 100 else \
                f"{tflops * scale:,.0f} {unit}"
    return f"{tflops * 1e9:,.3g} kFLOP/s"


def per_layer_table(t):
    from rich.table import Table

    total = sum(ms for _, ms in t.per_layer_ms) or 1.0
    table = Table(title="per-layer time", title_justify="left")
    for col, just in (("layer", "left"), ("ms", "right"), ("share", "right")):
        table.add_column(col, justify=just, no_wrap=True)
    for name, ms in t.per_layer_ms:
        table.add_row(name, f"{ms:.4f}", f"{100 * ms / total:.1f}%")
    return table
