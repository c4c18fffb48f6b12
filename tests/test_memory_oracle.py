"""Issue 15's acceptance: the torch-free memory model (``cnncalc.memory.estimate``) against the
fake-tensor tracker (``cnncalc.backends.memtrack.track_spec``) for every bundled spec at batch
64, fp32 and bf16: the inference peak and one Adam step (a later step: the state exists)
within 1%.

The tracker runs the very module ``verify`` builds from the spec, on fake tensors (no memory),
emulating a GPU (``device="cuda"``); each (spec, dtype) is tracked once and shared by the
two tests.  Skipped, saying why, where ``cnncalc.memory.estimate`` does not exist yet.
"""

from __future__ import annotations

import functools

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends.memtrack import track_spec  # noqa: E402
from cnncalc.sources import bundled_names  # noqa: E402

BATCH = 64
TOLERANCE = 0.01
ZOO = bundled_names()
# Each (spec, dtype) tracked once and read by both tests: in a parallel run (pytest-xdist,
# --dist loadgroup) the two share a worker, so the tracking is not done twice.
CASES = [pytest.param(name, dtype, id=f"{name}-{dtype}",
                      marks=pytest.mark.xdist_group(f"track-{name}-{dtype}"))
         for dtype in ("fp32", "bf16") for name in ZOO]


def _estimate():
    from cnncalc.backends.memcheck import memory_model

    estimate = memory_model()
    if estimate is None:
        pytest.skip("cnncalc.memory.estimate does not exist on this branch yet (mem-model "
                    "writes it); the tracker's side is tested in tests/test_memtrack.py")
    return estimate


@functools.lru_cache(maxsize=None)
def tracked(name: str, dtype: str):
    return track_spec(cnncalc.load(f"zoo:{name}"), batch=BATCH, dtype=dtype, optimizer="adam",
                      device="cuda")


@functools.lru_cache(maxsize=None)
def estimated(name: str, dtype: str):
    return _estimate()(cnncalc.load(f"zoo:{name}"), batch=BATCH, dtype=dtype, optimizer="adam")


def _close(ours: int, theirs: int) -> str:
    return f"estimate {ours:,} B, tracker {theirs:,} B, ratio {ours / theirs:.4f}"


@pytest.mark.parametrize("name, dtype", CASES)
def test_inference_peak_within_1_percent(name, dtype):
    est = estimated(name, dtype)
    real = tracked(name, dtype)
    assert est.inference_peak == pytest.approx(real.inference_peak, rel=TOLERANCE), \
        _close(est.inference_peak, real.inference_peak)


@pytest.mark.parametrize("name, dtype", CASES)
def test_adam_step_within_1_percent(name, dtype):
    est = estimated(name, dtype)
    real = tracked(name, dtype)
    assert est.training_peak == pytest.approx(real.training_peak, rel=TOLERANCE), \
        _close(est.training_peak, real.training_peak)
