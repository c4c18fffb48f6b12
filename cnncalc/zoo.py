"""The bundled specs (``zoo:NAME``), analysed: what `cnncalc zoo` lists.

Finding and reading their files is :mod:`cnncalc.sources`' job (``names`` and ``path`` are
its ``bundled_names`` and ``bundled_path``), so that the spec reader never imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import analyze
from .formulas import volume_text
from .sources import SPEC_DIR, bundled_names as names, bundled_path as path
from .spec import load

__all__ = ["SPEC_DIR", "Entry", "catalog", "entry", "names", "path"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One bundled spec, analysed: what `cnncalc zoo` lists."""

    name: str
    title: str
    description: str
    input_volume: str
    output_volume: str
    layers: int
    params: int
    trainable_params: int
    buffers: int
    macs: int
    claims: int
    claims_ok: bool


def entry(name: str) -> Entry:
    """Load and analyse ``zoo:NAME`` (formulas off: only the counts are needed)."""
    spec = load(f"zoo:{name}")
    report = analyze(spec, explain=False)
    t = report.totals
    return Entry(name, spec.name, spec.description, volume_text(report.input_shape),
                 volume_text(report.output_shape), len(report.layers), t.params,
                 t.trainable_params, t.buffers, t.macs, len(report.claims), report.claims_ok)


def catalog() -> list[Entry]:
    """Every bundled spec, in name order."""
    return [entry(name) for name in names()]
