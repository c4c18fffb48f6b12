"""A report as a JSON document: the contract the README documents (``schema_version``)."""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..report import (COUNT_FIELDS, ClaimResult, Counts, Diagnostic, ReceptiveField, Report,
                      Row)
from ..formulas import volume_text
from ..formatting import json_number
from ..layers import REGISTRY
from .common import formula_text, traced_left_out, traced_rows

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


def row_json(row: Row, mem=None) -> dict[str, Any]:
    """A leaf's row; ``mem``: its :class:`cnncalc.memory.LayerMemory` (``saved_bytes``,
    ``live_bytes``: null without an estimate).  A layer whose numbers a PyTorch trace gave
    (``traced``) has ``"traced": true`` too."""
    out = {
        "name": row.name, "kind": row.kind, "shape": row.shape.dims(),
        "volume": volume_text(row.shape), **counts_json(row.counts),
        "saved_bytes": mem.saved_bytes if mem is not None else None,
        "live_bytes": mem.live_bytes if mem is not None else None,
        "receptive_field": rf_json(row.rf), "formula": formula_text(row.formula), "line": row.line,
    }
    if getattr(REGISTRY.get(row.kind), "from_trace", False):
        out["traced"] = True
    return out


def _rows(report: Report):
    m = report.memory
    if m is None or len(m.rows) != len(report.layers):
        return (row_json(r) for r in report.layers)
    return map(row_json, report.layers, m.rows)


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "rule": d.slug, "severity": str(d.severity), "message": d.message,
            "layer": d.layer, "line": d.loc.line if d.loc else None,
            "col": d.loc.col if d.loc else None}


def silenced_json(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic silenced by the spec's ``allow:`` or by ``--ignore`` (``by``)."""
    return dict(diagnostic_json(d), by=d.silenced_by)


def memory_json(m, traced: int = 0) -> dict[str, Any]:
    """A :class:`cnncalc.memory.MemoryEstimate`: the two peaks and where they happen, what
    they count, the reserve ``cnncalc fit`` keeps and what the figures leave out."""
    from ..memory import LEFT_OUT, RESERVE, RESERVE_FOR

    return {"batch": m.batch, "dtype": m.dtype, "amp": m.amp, "optimizer": str(m.optimizer),
            "step": "later (the optimizer state exists)",
            "params_bytes": m.params_bytes, "buffers_bytes": m.buffers_bytes,
            "input_bytes": m.input_bytes, "grads_bytes": m.grads_bytes,
            "optimizer_bytes": m.optimizer_bytes, "saved_bytes": m.saved_bytes,
            "inference_peak_bytes": m.inference_peak,
            "inference_peak_layer": m.inference_peak_layer,
            "training_peak_bytes": m.training_peak,
            "training_peak_layer": m.training_peak_layer,
            "training_peak_phase": m.training_peak_phase,
            "reserve_bytes": RESERVE, "reserve_for": RESERVE_FOR,
            "left_out": list(LEFT_OUT) + ([traced_left_out(traced)] if traced else [])}


def to_json(report: Report, error: str | None = None) -> dict[str, Any]:
    """The report as the JSON contract's document: plain dicts and lists."""
    return _document(report, list(_rows(report)), error)


def to_json_stream(report: Report, error: str | None = None) -> dict[str, Any]:
    """:func:`to_json`'s document with ``layers`` as an iterator: each row's dict (and its
    formula text) is made as :func:`iter_dumps` writes it, so a 100,000-layer report is
    written without holding them all.  For ``iter_dumps``, not ``json.dumps``."""
    return _document(report, _rows(report), error)


def _document(report: Report, layers, error: str | None) -> dict[str, Any]:
    t = report.totals
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "name": report.name,
        "input": {"shape": report.input_shape.dims(), "volume": volume_text(report.input_shape)},
        "output": {"shape": report.output_shape.dims(),
                   "volume": volume_text(report.output_shape)},
    }
    if report.failed_at is not None:
        # The walk stopped: output, layers and totals are those of the layers before it.
        out["partial"] = True
        out["failed_at"] = report.failed_at
    out.update({
        "layers": layers,
        "totals": {"params": t.params, "trainable_params": t.trainable_params,
                   "non_trainable_params": t.non_trainable_params,
                   "buffers": t.buffers, "macs": t.macs, "flops": t.flops,
                   "connections": t.connections, "activations": t.activations,
                   "memory": memory_json(report.memory, len(traced_rows(report)))
                   if report.memory else None},
        "warnings": [diagnostic_json(d) for d in report.diagnostics],
        "silenced": [silenced_json(d) for d in report.silenced],
        "expect": [claim_json(c) for c in report.claims],
    })
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


# --- the text ------------------------------------------------------------------------------
# Objects open one key per line, indented by two; a list of objects or lists (the layers, the
# warnings, several documents) puts one item per line; an item, and any list of plain values,
# is written whole on its line.  So a layer is one line (grep finds it, a diff shows it), and
# every line is written by the C encoder: ``json.dumps(indent=2)`` falls back to the pure
# Python one, which was a tenth of a 10,000-layer inspect, and gave 45 lines per layer.

_compact = json.JSONEncoder(ensure_ascii=False).encode  # separators ", " and ": "
_CHUNK = 1 << 16  # characters per piece that iter_dumps yields


def dumps(obj: Any) -> str:
    """``obj`` as JSON text in cnncalc's layout (above); ``json.loads`` gives ``obj`` back."""
    return "".join(iter_dumps(obj))


def iter_dumps(obj: Any) -> Iterator[str]:
    """The text of :func:`dumps` in pieces of about 64 K characters, for writing as it is
    made; an iterator inside ``obj`` is written as a list, one item per line."""
    pieces: list[str] = []
    size = 0
    for piece in _pieces(obj, 0, False):
        pieces.append(piece)
        size += len(piece)
        if size >= _CHUNK:
            yield "".join(pieces)
            pieces.clear()
            size = 0
    yield "".join(pieces)


def _pieces(value: Any, level: int, item: bool) -> Iterator[str]:
    if type(value) is dict:
        if value and (not item or any(_spreads(v) for v in value.values())):
            yield from _object(value, level)
        else:
            yield _compact(value)
    elif _spreads(value):
        yield from _items(iter(value), level)
    else:
        yield _compact(value)


def _spreads(value: Any) -> bool:
    """A list of objects or lists, or an iterator: one item per line (and a list item that
    holds one, a document, is spread over lines too)."""
    kind = type(value)
    if kind is list or kind is tuple:
        return any(type(v) in _CONTAINERS for v in value)
    return kind not in _LEAVES and hasattr(value, "__next__")


_CONTAINERS = frozenset({dict, list, tuple})
_LEAVES = frozenset({str, int, float, bool, type(None), dict})


def _object(value: dict, level: int) -> Iterator[str]:
    inner = "\n" + "  " * (level + 1)
    sep = "{" + inner
    for key, v in value.items():
        yield f"{sep}{_compact(key if isinstance(key, str) else str(key))}: "
        yield from _pieces(v, level + 1, False)
        sep = "," + inner
    yield "\n" + "  " * level + "}"


def _items(values: Iterator, level: int) -> Iterator[str]:
    # The items of one list are laid out alike, as the first is: rows are checked once.
    first = next(values, _END)
    if first is _END:
        yield "[]"
        return
    inner = "\n" + "  " * (level + 1)
    yield "[" + inner
    if _spreads(first) or (type(first) is dict and any(_spreads(v) for v in first.values())):
        # documents: each spread over lines, even one whose layers are empty
        yield from _pieces(first, level + 1, False)
        for v in values:
            yield "," + inner
            yield from _pieces(v, level + 1, False)
    else:
        yield _compact(first)
        sep = "," + inner
        for v in values:
            yield sep + _compact(v)
    yield "\n" + "  " * level + "]"


_END = object()
