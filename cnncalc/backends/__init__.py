"""Verification backends.  Only :mod:`cnncalc.backends.torch` (and :mod:`.extra_modules`, which it
uses) import torch; :mod:`.recipes` and :mod:`.export` work without it.
"""

from __future__ import annotations

from ..errors import CnncalcError

TORCH_EXTRA = ("PyTorch is not installed; install the extra: pip install 'cnncalc[torch]' "
               "(on a machine without a GPU, first pip install torch==2.13.0 to get the "
               "CPU build)")


class BackendError(CnncalcError):
    """The backend cannot run: no torch, no CUDA device, out of memory (exit 2)."""

    def lines(self) -> list[str]:
        return [f"cnncalc: error: {self}"]


def torch_missing() -> BackendError:
    return BackendError(TORCH_EXTRA)
