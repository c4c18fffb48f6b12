"""How a verification prints: a rich table of checks, a timing summary, and the JSON document.

Torch-free: it reads the records :mod:`cnncalc.backends.torch` returns.
"""

from __future__ import annotations


def _dims(d) -> str:
    return "×".join(str(x) for x in d) if d is not None else "—"


def _num(n) -> str:
    return f"{n:,}" if n is not None else "—"


def to_json(v) -> dict:
    """``{"ok", "device", "layers": [...], "timing": {...} | null}``."""
    t = v.timing
    timing = None
    if t is not None:
        timing = {"batch": t.batch, "dtype": t.dtype, "iters": t.iters, "warmup": t.warmup,
                  "median_ms": round(t.median_ms, 4), "p10_ms": round(t.p10_ms, 4),
                  "p90_ms": round(t.p90_ms, 4), "images_per_s": round(t.images_per_s, 2),
                  "tflops": round(t.tflops, 4), "peak_memory_bytes": t.peak_memory_bytes,
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
        "output": v.output_shape,
        "torch_output": v.torch_output_shape,
        "layers": [{"name": c.name, "kind": c.kind, "ok": c.ok, "shape": c.shape,
                    "torch_shape": c.torch_shape, "params": c.params,
                    "torch_params": c.torch_params, **({"error": c.error} if c.error else {})}
                   for c in v.layers],
        "timing": timing,
    }


def checks_table(v):
    from rich.table import Table

    table = Table(title=f"{v.name}: cnncalc against PyTorch on {v.device}", title_justify="left")
    for col, just in (("", "center"), ("layer", "left"), ("kind", "left"), ("C×H×W", "right"),
                      ("torch C×H×W", "right"), ("params", "right"), ("torch params", "right")):
        table.add_column(col, justify=just, no_wrap=True)
    for c in v.layers:
        mark = "[green]✓[/]" if c.ok else "[bold red]✗[/]"
        table.add_row(mark, c.name, c.kind, _dims(c.shape), _dims(c.torch_shape), _num(c.params),
                      _num(c.torch_params))
    whole = (v.params == v.torch_params and v.torch_output_shape is not None
             and list(v.output_shape) == list(v.torch_output_shape))
    mark = "[green]✓[/]" if whole else "[bold red]✗[/]"
    table.add_row(mark, "[bold]total[/]", "", _dims(v.output_shape), _dims(v.torch_output_shape),
                  _num(v.params), _num(v.torch_params), end_section=True)
    return table


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def summary_lines(v) -> list[str]:
    bad = [c for c in v.layers if not c.ok]
    lines = []
    if v.ok:
        agree = ("the layer agrees" if len(v.layers) == 1
                 else f"all {len(v.layers)} layers agree")
        lines.append(f"✓ {agree} with PyTorch "
                     f"({v.torch_params:,} params, output {_dims(v.torch_output_shape)})")
    else:
        lines.append(f"✗ {len(bad)} of {_count(len(v.layers), 'layer')} "
                     f"disagree{'s' if len(bad) == 1 else ''} with PyTorch")
        lines += [f"  {c.name}: {c.error}" for c in bad if c.error]
    t = v.timing
    if t is not None:
        flags = ", ".join(f for f, on in (("channels-last", t.channels_last),
                                          ("compiled", t.compiled)) if on)
        lines.append(
            f"timing on {v.device}, batch {t.batch}, {t.dtype}{', ' + flags if flags else ''}, "
            f"{_count(t.iters, 'iteration')} after {t.warmup} warm-up:")
        lines.append(f"  median {t.median_ms:.3f} ms (p10 {t.p10_ms:.3f}, p90 {t.p90_ms:.3f}), "
                     f"{t.images_per_s:,.1f} images/s, {t.tflops:.3f} TFLOP/s (2·MACs)")
        if t.peak_memory_bytes is not None:
            lines.append(f"  peak device memory: {t.peak_memory_bytes / 2**20:,.1f} MiB")
    return lines


def per_layer_table(t):
    from rich.table import Table

    total = sum(ms for _, ms in t.per_layer_ms) or 1.0
    table = Table(title="per-layer time", title_justify="left")
    for col, just in (("layer", "left"), ("ms", "right"), ("share", "right")):
        table.add_column(col, justify=just, no_wrap=True)
    for name, ms in t.per_layer_ms:
        table.add_row(name, f"{ms:.4f}", f"{100 * ms / total:.1f}%")
    return table
