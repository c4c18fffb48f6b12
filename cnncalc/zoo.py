"""The bundled specs (``zoo:NAME``): YAML files shipped inside the package.

They live in ``cnncalc/specs/`` (package data; the checkout's top-level ``specs/`` is a link to
it), one file per architecture.  Sub-folders hold examples that are not architectures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import Issue, Location, SpecError
from .layers import closest

SPEC_DIR = Path(__file__).with_name("specs")


def names() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def path(name: str) -> Path:
    """The file of ``zoo:NAME`` (``examples/NAME`` reaches the examples)."""
    candidate = SPEC_DIR / f"{name}.yaml"
    try:
        if name and ".." not in name and candidate.is_file():
            return candidate
    except OSError:  # a name too long for the file system
        pass
    near = closest(name, names())
    raise SpecError(Issue(Location(f"zoo:{name}"), "no such bundled spec",
                          hint=f"did you mean zoo:{near}?" if near else
                          f"`cnncalc zoo` lists them: {', '.join(names())}"))


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
    from .engine import analyze
    from .shapes import volume_text
    from .spec import load

    spec = load(f"zoo:{name}")
    report = analyze(spec, explain=False)
    t = report.totals
    return Entry(name, spec.name, spec.description, volume_text(report.input_shape),
                 volume_text(report.output_shape), len(report.layers), t.params,
                 t.trainable_params, t.buffers, t.macs, len(report.claims), report.claims_ok)


def catalog() -> list[Entry]:
    """Every bundled spec, in name order."""
    return [entry(name) for name in names()]
