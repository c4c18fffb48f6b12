"""A report as a JSON document: the contract the README documents (``schema_version``)."""

from __future__ import annotations

import json
from typing import Any

from ..report import (COUNT_FIELDS, ClaimResult, Counts, Diagnostic, Memory, ReceptiveField,
                      Report, Row)
from ..shapes import volume_text
from ..wording import json_number
from .pieces import formula_text

SCHEMA_VERSION = 1


def rf_json(rf: ReceptiveField | None) -> dict[str, Any] | None:
    if rf is None:
        return None
    if rf.h == rf.w:
        return {"size": json_number(rf.h.size), "jump": json_number(rf.h.jump),
                "start": json_number(rf.h.start)}
    return {"size": [json_number(rf.h.size), json_number(rf.w.size)],
            "jump": [json_number(rf.h.jump), json_number(rf.w.jump)],
            "start": [json_number(rf.h.start), json_number(rf.w.start)]}


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


def silenced_json(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic silenced by the spec's ``allow:`` or by ``--ignore`` (``by``)."""
    return dict(diagnostic_json(d), by=d.silenced_by)


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
        "silenced": [silenced_json(d) for d in report.silenced],
        "expect": [claim_json(c) for c in report.claims],
    }
    if error is not None:
        out["error"] = error
    return out


def claim_json(c: ClaimResult) -> dict[str, Any]:
    """One ``expect:`` claim: what was claimed, what is right, and whether they agree."""
    return {"layer": c.layer, "field": c.field, "expected": claim_value(c.expected),
            "actual": claim_value(c.actual), "ok": c.ok}


def claim_value(v: Any) -> Any:
    if hasattr(v, "dims"):
        return volume_text(v)
    if isinstance(v, tuple):
        return [json_number(x) for x in v]
    return json_number(v)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)
