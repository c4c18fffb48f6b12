"""``verify``'s memory check: the peak of one forward pass (or one training step) measured on
its own, beside cnncalc's estimate.

On a CUDA device the figure is ``torch.cuda.max_memory_allocated`` over a pass of a freshly
built model (no hooks, no counters, nothing left from the checks); on the CPU, whose allocator
keeps no such statistic, it is the fake-tensor tracker's (:mod:`.memtrack`), which emulates a
GPU.  Both follow the protocol of :func:`.memtrack.track`: weights, buffers and the input on the
device first; inference in ``eval()`` under ``inference_mode``; training = the second step of
``zero_grad(set_to_none=True)``, forward, ``out.float().sum()``, backward, ``step()``.

The estimate comes from :mod:`cnncalc.memory` (torch-free) when it exists; without it the
record says "estimate unavailable".
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

from . import BackendError
from .memtrack import AMPS, DTYPES, OPTIMIZERS, make_optimizer, track_spec

try:
    import torch
except ImportError as e:  # pragma: no cover - memtrack raised first
    raise BackendError(str(e)) from e


@dataclass(frozen=True)
class MemoryCheck:
    """One measured peak beside the estimate (bytes)."""

    mode: str  # "inference" or "training"
    batch: int
    dtype: str
    amp: str | None
    optimizer: str | None  # training only
    device: str
    measured: int
    method: str  # "max_memory_allocated" or "tracker"
    estimate: int | None = None
    estimate_note: str = ""  # why there is no estimate

    @property
    def ratio(self) -> float | None:
        return self.estimate / self.measured if self.estimate and self.measured else None

    @property
    def how(self) -> str:
        if self.method == "tracker":
            return "fake-tensor tracker, a CUDA GPU emulated (no GPU here)"
        return f"torch.cuda.max_memory_allocated on {self.device}"

    def as_json(self) -> dict:
        return {"mode": self.mode, "batch": self.batch, "dtype": self.dtype, "amp": self.amp,
                "optimizer": self.optimizer, "device": self.device, "measured": self.measured,
                "method": self.method, "estimate": self.estimate,
                "ratio": None if self.ratio is None else round(self.ratio, 4),
                **({"estimate_note": self.estimate_note} if self.estimate_note else {})}


def check_options(dtype: str, amp: str | None, optimizer: str) -> None:
    if amp is not None and amp not in AMPS:
        raise BackendError(f"--amp {amp}: use one of {', '.join(AMPS)}")
    if amp is not None and dtype != "fp32":
        raise BackendError(f"--amp {amp} keeps the weights in fp32: drop --dtype {dtype}")
    if optimizer not in OPTIMIZERS:
        raise BackendError(f"--optimizer {optimizer}: use one of {', '.join(OPTIMIZERS)}")


def estimates(spec, *, batch: int, dtype: str, amp: str | None, optimizer: str):
    """cnncalc's estimate (the :mod:`cnncalc.memory` model), or (None, why)."""
    estimate = memory_model()
    if estimate is None:
        return None, "estimate unavailable (cnncalc.memory is not in this build)"
    kwargs = dict(batch=batch, dtype=dtype, optimizer=optimizer)
    if amp is not None:
        kwargs["amp"] = amp
    return estimate(spec, **kwargs), ""


def memory_model():
    """``cnncalc.memory.estimate`` when this cnncalc has it, else None.  Only a module beside
    this package counts: an editable install of another checkout on the path must not lend
    its own (it may not match this cnncalc)."""
    import importlib
    import importlib.util
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent
    try:
        found = importlib.util.find_spec("cnncalc.memory")
    except ImportError:
        return None
    if found is None or found.origin is None or Path(found.origin).resolve().parent != package:
        return None
    return getattr(importlib.import_module("cnncalc.memory"), "estimate", None)


def measure(spec, *, device: torch.device, batch: int, dtype: str, amp: str | None = None,
            optimizer: str = "adam", train: bool = False, report=None,
            ) -> tuple[MemoryCheck, ...]:
    """The inference peak, and with ``train`` the peak of one training step."""
    check_options(dtype, amp, optimizer)
    if device.type == "cuda":
        inference = _cuda_inference(spec, device, batch, dtype, amp, report)
        training = _cuda_training(spec, device, batch, dtype, amp, optimizer, report) \
            if train else None
        method, dev = "max_memory_allocated", str(device)
    else:
        tracked = track_spec(spec, batch=batch, dtype=dtype, amp=amp,
                             optimizer=optimizer if train else None, device="cuda",
                             report=report)
        inference, training = tracked.inference_peak, tracked.training_peak
        method, dev = "tracker", "cuda (emulated)"
    est, why = estimates(spec, batch=batch, dtype=dtype, amp=amp, optimizer=optimizer)
    out = [MemoryCheck("inference", batch, dtype, amp, None, dev, inference, method,
                       None if est is None else est.inference_peak, why)]
    if train:
        out.append(MemoryCheck("training", batch, dtype, amp, optimizer, dev, training, method,
                               None if est is None else est.training_peak, why))
    return tuple(out)


# --- on a GPU -------------------------------------------------------------------------------

def _fresh(spec, device, dtype, report):
    from .torch import build

    gc.collect()
    torch.cuda.empty_cache()
    model, _, _ = build(spec, report)
    return model.to(device=device, dtype=DTYPES[dtype])


def _autocast(device, amp):
    from contextlib import nullcontext

    return torch.autocast(device.type, dtype=DTYPES[amp]) if amp else nullcontext()


def _cuda_inference(spec, device, batch, dtype, amp, report) -> int:
    model = _fresh(spec, device, dtype, report).eval()
    x = torch.randn(batch, *spec.input_shape.dims(), device=device, dtype=DTYPES[dtype])
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode(), _autocast(device, amp):
        out = model(x)
        del out
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    del model, x
    return peak


def _cuda_training(spec, device, batch, dtype, amp, optimizer, report) -> int:
    model = _fresh(spec, device, dtype, report).train()
    x = torch.randn(batch, *spec.input_shape.dims(), device=device, dtype=DTYPES[dtype])
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise BackendError("the network has no trainable parameters: no training step")
    opt = make_optimizer(optimizer, params, None)  # PyTorch's own default on CUDA: foreach
    peak = 0
    for step in (1, 2):
        opt.zero_grad(set_to_none=True)
        if step == 2:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        with _autocast(device, amp):
            out = model(x)
            loss = out.float().sum()
        del out
        loss.backward()
        del loss
        opt.step()
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    del model, x, opt, params
    return peak
