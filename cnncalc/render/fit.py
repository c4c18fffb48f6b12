"""`cnncalc fit`: the largest batch that fits a card, as lines and as JSON."""

from __future__ import annotations

from typing import Any

from ..memory import LEFT_OUT, RESERVE_FOR
from ..formatting import size_bytes, thousands


def _peak(result, e) -> tuple[int, str]:
    if result.train:
        return e.training_peak, e.training_peak_at
    return e.inference_peak, e.inference_peak_layer


def fit_lines(result, card: str, baseline=None) -> list[tuple[str, str]]:
    """(label, text) lines.  ``baseline``: the estimate at the same batch without
    checkpointing, for ``--checkpoint``'s what-if."""
    e = result.over
    what = (f"one training step ({e.optimizer}, {e.precision}, a later step)" if result.train
            else f"inference ({e.precision})")
    lines = [("Memory of", what), ("Card", card),
             ("Reserve", f"{size_bytes(result.reserve)} ({RESERVE_FOR})"),
             ("Budget", size_bytes(result.budget))]
    if result.batch == 0:
        peak, layer = _peak(result, e)
        lines.append(("Largest batch", f"none: batch 1 peaks at {size_bytes(peak)} at {layer}, "
                                       f"over the budget"))
        return lines
    peak, layer = _peak(result, result.at)
    lines.append(("Largest batch", f"{thousands(result.batch)}: peak {size_bytes(peak)} "
                                   f"({thousands(peak)} B) at {layer}"))
    over, where = _peak(result, e)
    lines.append((f"Batch {thousands(result.batch + 1)}",
                  f"{size_bytes(over)} ({thousands(over)} B) at {where}: does not fit"))
    if result.at is not None and result.at.checkpoint and baseline is not None:
        lines.append(("Checkpointing", f"each top-level block: saves "
                                       f"{size_bytes(baseline.training_peak - peak)} at batch "
                                       f"{thousands(result.batch)} "
                                       f"({size_bytes(baseline.training_peak)} without); runs "
                                       f"{thousands(result.at.recomputed_macs)} MACs again in "
                                       f"the backward"))
    return lines


def fit_json(result, card: str, baseline=None) -> dict[str, Any]:
    e = result.over
    out: dict[str, Any] = {
        "train": result.train, "optimizer": str(e.optimizer) if result.train else None,
        "dtype": e.dtype, "amp": e.amp, "card": card, "memory_bytes": result.memory,
        "reserve_bytes": result.reserve, "reserve_for": RESERVE_FOR,
        "budget_bytes": result.budget, "batch": result.batch,
        "peak_bytes": _peak(result, result.at)[0] if result.at else None,
        "peak_layer": _peak(result, result.at)[1] if result.at else None,
        "next_peak_bytes": _peak(result, e)[0], "next_peak_layer": _peak(result, e)[1],
        "left_out": list(LEFT_OUT),
    }
    if result.at is not None and result.at.checkpoint:
        out["checkpoint"] = {
            "saved_bytes": (baseline.training_peak - result.at.training_peak)
            if baseline is not None else None,
            "recomputed_macs": result.at.recomputed_macs}
    return out
