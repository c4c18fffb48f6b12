"""A report as CSV: one row per leaf, the counts in columns (for spreadsheets), then a
``total`` row.  ``volume_whd`` is the notes' W×H×D text; ``shape_chw`` is PyTorch's order."""

from __future__ import annotations

import csv
import io

from ..report import COUNT_FIELDS, Report
from ..formulas import volume_text
from .document import rf_json
from .common import formula_text

CSV_FIELDS = ("name", "kind", "volume_whd", "shape_chw", "params", "trainable_params", "buffers", "macs",
              "connections", "activations", "saved_bytes", "live_bytes", "rf_size", "rf_jump",
              "rf_start", "formula")


def to_csv(report: Report) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    m = report.memory
    mem = m.rows if m is not None and len(m.rows) == len(report.layers) else None
    for k, r in enumerate(report.layers):
        rf = rf_json(r.rf) or {}
        w.writerow([r.name, r.kind, volume_text(r.shape), "x".join(map(str, r.shape.dims())),
                    *(getattr(r.counts, f) for f in COUNT_FIELDS),
                    mem[k].saved_bytes if mem else "", mem[k].live_bytes if mem else "",
                    rf.get("size", ""), rf.get("jump", ""), rf.get("start", ""),
                    formula_text(r.formula)])
    out = report.output_shape
    w.writerow(["total", "", volume_text(out), "x".join(map(str, out.dims())),
                *(getattr(report.totals, f) for f in COUNT_FIELDS),
                m.saved_bytes if m is not None else "", "", "", "", "", ""])
    return buf.getvalue()
