"""torchvision for the tests marked ``torchvision``: skipped where it is not installed (the main
environment, whose CPU torch 2.13.0 cannot load it), a failure where CI says it must be there
(``CNNCALC_TORCHVISION=required``, set by .ci/run for its torchvision environment)."""

from __future__ import annotations

import importlib
import os

import pytest


def load(name: str = "torchvision"):
    if os.environ.get("CNNCALC_TORCHVISION") == "required":
        return importlib.import_module(name)
    return pytest.importorskip(name)
