"""A pytest plugin that records every ``memtrack.track`` call's whole result (every field of
``Tracked``: figures, per-layer rows, memory curves), keyed by what was tracked (the module's
repr, built on meta, its leaves' names, the input shape and every option), to $RECORD_OUT.

Before and after a change to the tracker, on the same test files, then compare
(benchmarks/memtrack_compare.py):

    RECORD_OUT=/tmp/before.pkl PYTHONPATH=.:benchmarks python -m pytest -p memtrack_record \
        tests/test_memory_oracle.py tests/test_memory_amp.py tests/test_memtrack.py \
        tests/test_verify_memory.py tests/test_memory.py tests/test_share.py \
        tests/test_split_attention.py
    (the same with RECORD_OUT=/tmp/after.pkl on the changed tree)
    python benchmarks/memtrack_compare.py /tmp/before.pkl /tmp/after.pkl
"""
import os
import pickle

import pytest

RECORDS = []
CURRENT = {"node": None}


def _key(model, input_shape, kw):
    import torch
    names = kw.get("names")
    try:
        if callable(model) and not isinstance(model, torch.nn.Module):
            with torch.device("meta"):
                built = model()
        else:
            built = model
        if isinstance(built, tuple):
            built, names = built
        ck = kw.get("checkpoint")
        if callable(ck):
            ck = tuple(ck(built))
        elif ck is not None:
            ck = tuple(ck)
        return (repr(built), None if names is None else tuple(names.values()),
                tuple(input_shape)) + tuple(
            (k, kw.get(k)) for k in ("batch", "dtype", "amp", "optimizer", "device", "emulate")) \
            + (("checkpoint", ck),)
    except Exception as e:  # pragma: no cover
        return ("unkeyable", CURRENT["node"], repr(e))


def pytest_configure(config):
    from cnncalc.backends import memtrack
    real = memtrack.track

    import inspect
    sig = inspect.signature(real)

    def track(model, input_shape, **kw):
        bound = sig.bind(model, input_shape, **kw)
        bound.apply_defaults()
        key = _key(model, input_shape, dict(bound.arguments))
        out = real(model, input_shape, **kw)
        RECORDS.append((CURRENT["node"], key, out))
        return out

    track.__wrapped__ = real
    memtrack.track = track


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    CURRENT["node"] = item.nodeid
    yield


def pytest_sessionfinish(session):
    with open(os.environ["RECORD_OUT"], "wb") as f:
        pickle.dump(RECORDS, f)
