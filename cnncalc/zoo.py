"""The bundled specs (``zoo:NAME``): YAML files shipped inside the package.

They live in ``cnncalc/specs/`` (package data; the checkout's top-level ``specs/`` is a link to
it), one file per architecture.  Sub-folders hold examples that are not architectures.
"""

from __future__ import annotations

from pathlib import Path

from .errors import Issue, Location, SpecError
from .layers import closest

SPEC_DIR = Path(__file__).with_name("specs")


def names() -> list[str]:
    return sorted(p.stem for p in SPEC_DIR.glob("*.yaml"))


def path(name: str) -> Path:
    """The file of ``zoo:NAME`` (``examples/NAME`` reaches the examples)."""
    candidate = SPEC_DIR / f"{name}.yaml"
    if name and ".." not in name and candidate.is_file():
        return candidate
    near = closest(name, names())
    raise SpecError(Issue(Location(f"zoo:{name}"), "no such bundled spec",
                          f"did you mean zoo:{near}?" if near else
                          f"`cnncalc zoo` lists them: {', '.join(names())}"))
