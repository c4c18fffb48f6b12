"""``cnncalc fit``: the largest batch whose memory peak fits a card.

The peak is :func:`cnncalc.memory.estimate`'s (inference, or one training step), which grows
with the batch; the card's memory less :data:`cnncalc.memory.RESERVE` (the CUDA context,
workspaces, fragmentation: what the estimate leaves out) is the budget.  A doubling search,
then bisection: about 2·log2(batch) estimates, each one replay of the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .engine import analyze
from .errors import UsageError
from .memory import RESERVE, MemoryEstimate, estimate
from .network import Spec

GIB = 2 ** 30

# Memory of common cards, as each vendor's datasheet states it (GB of HBM/GDDR, which the
# chips hold in binary units).  nvidia-smi shows a little less (the driver's own reserve and
# ECC): the reserve covers it.
GPUS: dict[str, tuple[str, int, str]] = {
    "t4": ("NVIDIA T4", 16, "NVIDIA T4 datasheet: 16 GB GDDR6"),
    "v100-16": ("NVIDIA V100 16GB", 16, "NVIDIA V100 datasheet: 16 GB HBM2"),
    "v100-32": ("NVIDIA V100 32GB", 32, "NVIDIA V100 datasheet: 32 GB HBM2"),
    "rtx3090": ("GeForce RTX 3090", 24, "NVIDIA GeForce RTX 3090 specifications: 24 GB GDDR6X"),
    "rtx4090": ("GeForce RTX 4090", 24, "NVIDIA GeForce RTX 4090 specifications: 24 GB GDDR6X"),
    "l4": ("NVIDIA L4", 24, "NVIDIA L4 datasheet: 24 GB GDDR6"),
    "a100-40": ("NVIDIA A100 40GB", 40, "NVIDIA A100 datasheet: 40 GB HBM2"),
    "a100-80": ("NVIDIA A100 80GB", 80, "NVIDIA A100 datasheet: 80 GB HBM2e"),
    "h100": ("NVIDIA H100 80GB", 80, "NVIDIA H100 datasheet: 80 GB HBM3 (SXM5 and PCIe)"),
    "h200": ("NVIDIA H200", 141, "NVIDIA H200 datasheet: 141 GB HBM3e"),
}

_UNITS = {"": 1, "b": 1, "k": 2 ** 10, "kb": 10 ** 3, "kib": 2 ** 10, "m": 2 ** 20,
          "mb": 10 ** 6, "mib": 2 ** 20, "g": GIB, "gb": 10 ** 9, "gib": GIB,
          "t": 2 ** 40, "tb": 10 ** 12, "tib": 2 ** 40}


def parse_memory(text: str) -> int:
    """``24GiB``, ``24 GB`` (10⁹), ``80G`` (GiB), ``512MiB`` or a byte count → bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text or "")
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise UsageError(f"expected a memory size such as 24GiB, 80GB or 512MiB, got {text!r}",
                         param="--memory")
    return int(float(m.group(1)) * _UNITS[unit])


def gpu_memory(name: str) -> tuple[str, int, str]:
    """(the card's name, its memory in bytes, where the figure comes from)."""
    key = name.lower().replace(" ", "").replace("_", "-")
    if key not in GPUS:
        raise UsageError(f"unknown GPU {name!r}; known: {', '.join(GPUS)} (or give --memory)",
                         param="--gpu")
    label, gib, source = GPUS[key]
    return label, gib * GIB, source


@dataclass(frozen=True)
class Fit:
    memory: int  # the card's bytes
    reserve: int
    train: bool
    batch: int  # the largest batch that fits; 0 when none does
    at: MemoryEstimate | None  # the estimate at ``batch``
    over: MemoryEstimate  # the estimate at ``batch + 1``

    @property
    def budget(self) -> int:
        return self.memory - self.reserve

    def peak(self, e: MemoryEstimate) -> int:
        return e.training_peak if self.train else e.inference_peak


MAX_BATCH = 1 << 24


def fit(spec: Spec, memory: int, *, train: bool = False, dtype: str = "fp32",
        amp: str | None = None, optimizer: str = "adam", checkpoint: bool = False,
        reserve: int = RESERVE) -> Fit:
    """The largest batch whose peak fits ``memory`` less ``reserve``."""
    report = analyze(spec, explain=False, memory=False, checks=False)
    budget = memory - reserve
    cache: dict[int, MemoryEstimate] = {}

    def at(batch: int) -> MemoryEstimate:
        if batch not in cache:
            cache[batch] = estimate(spec, batch=batch, dtype=dtype, amp=amp, optimizer=optimizer,
                                    report=report, checkpoint=checkpoint)
        return cache[batch]

    def fits(batch: int) -> bool:
        e = at(batch)
        return (e.training_peak if train else e.inference_peak) <= budget

    if not fits(1):
        return Fit(memory, reserve, train, 0, None, at(1))
    lo, hi = 1, 2
    while hi <= MAX_BATCH and fits(hi):
        lo, hi = hi, hi * 2
    if hi > MAX_BATCH:
        return Fit(memory, reserve, train, lo, at(lo), at(lo + 1))
    while hi - lo > 1:  # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return Fit(memory, reserve, train, lo, at(lo), at(lo + 1))
