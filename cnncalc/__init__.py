"""cnncalc: layer shapes, parameter counts, MACs, memory and receptive fields of CNNs.

The public API::

    spec = cnncalc.load("net.yaml")      # or "zoo:resnet50", or YAML text
    report = cnncalc.analyze(spec)       # frozen dataclasses: rows, totals, diagnostics
    checks = cnncalc.verify(spec)        # PyTorch agrees? (needs the `torch` extra)
    status = cnncalc.exit_status(report) # 0, or 1 for a wrong expect claim: inspect's exit status
"""

from __future__ import annotations

from .engine import analyze
from .errors import AnalysisError, CnncalcError, SpecError
from .exit_codes import inspect_status as exit_status
from .report import Report
from .spec import load

__version__ = "0.1.0"


def verify(spec, **options):
    """Build the spec in PyTorch and compare every layer (imports torch lazily)."""
    from .backends import torch as backend

    return backend.verify(spec, **options)


__all__ = ["load", "analyze", "verify", "exit_status", "Report", "CnncalcError", "SpecError",
           "AnalysisError", "__version__"]
