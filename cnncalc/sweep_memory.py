"""The memory peaks of a group of sweep points at once: one replay, every size a numpy array.

A sweep group is one network whose input's height and width vary (:mod:`cnncalc.sweep`).
:mod:`cnncalc.memory` replays the forward and backward over tensor lifetimes; which tensor is
born and freed when depends on the network alone, a tensor's bytes on the sizes.  So the
replay is run once for the whole group with every size a :class:`Vec` — the sizes of the
group's points side by side, from the symbolic engine's closed forms in H and W — and the
same code (``cnncalc.memory``'s own ``_replay``, ``_inference``, ``_training``) adds and
rounds them up to 512 bytes element-wise; each peak is then the element-wise maximum over
the replay's steps.

Exact by construction: wherever the replay compares two sizes or tests one (``rounded``'s
``nbytes <= 0``, a merge's larger operand), a :class:`Vec` answers only when every point
gives the same answer, and otherwise raises :class:`Mixed`: the caller then replays each
distinct (H, W) on its own (``cnncalc.memory.estimate``).  A product that could leave int64
raises :class:`Mixed` too.  Tests hold the result to ``estimate`` at random points.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np

LIMIT = float(1 << 62)


class Mixed(Exception):
    """The points of a group disagree where the replay branches (or a size is too big)."""


class Vec:
    """One integer per point of a group (an int64 array), with the arithmetic the replay
    uses; a comparison is a plain bool only when all points agree."""

    __slots__ = ("a",)
    __array_priority__ = 1000  # numpy defers to our operators

    def __init__(self, a):
        self.a = a

    @staticmethod
    def of(v):
        return v.a if isinstance(v, Vec) else v

    def _wrap(self, r):
        if isinstance(r, np.ndarray) and r.dtype == object:
            raise Mixed("not an integer array")
        return Vec(r)

    def __add__(self, o):
        return self._wrap(self.a + Vec.of(o))

    __radd__ = __add__

    def __sub__(self, o):
        return self._wrap(self.a - Vec.of(o))

    def __rsub__(self, o):
        return self._wrap(Vec.of(o) - self.a)

    def __mul__(self, o):
        b = Vec.of(o)
        if not isinstance(b, (int, np.ndarray, np.integer)):
            raise Mixed(f"a size times {type(b).__name__}")
        bound = np.abs(self.a).max(initial=0) * float(np.abs(b).max(initial=0)
                                                      if isinstance(b, np.ndarray) else abs(b))
        if bound >= LIMIT:
            raise Mixed("a size beyond int64")
        return self._wrap(self.a * b)

    __rmul__ = __mul__

    def __floordiv__(self, o):
        return self._wrap(self.a // Vec.of(o))

    def __rfloordiv__(self, o):
        return self._wrap(Vec.of(o) // self.a)

    def __neg__(self):
        return Vec(-self.a)

    def _all(self, mask) -> bool:
        if mask.all():
            return True
        if not mask.any():
            return False
        raise Mixed("the points disagree")

    def __lt__(self, o):
        return self._all(self.a < Vec.of(o))

    def __le__(self, o):
        return self._all(self.a <= Vec.of(o))

    def __gt__(self, o):
        return self._all(self.a > Vec.of(o))

    def __ge__(self, o):
        return self._all(self.a >= Vec.of(o))

    def __eq__(self, o):
        return self._all(self.a == Vec.of(o))

    def __ne__(self, o):
        return not self.__eq__(o)

    def __bool__(self):
        return self._all(self.a != 0)

    __hash__ = None  # type: ignore[assignment]

    def __index__(self):
        raise Mixed("a size used as an index")

    __int__ = __index__


def _vec(v, env, n):
    from .sweep import value_array

    a = value_array(v, env, n, np)
    if a.dtype == object:
        raise Mixed("a size beyond int64")
    if (a == a[0]).all():
        return int(a[0])  # the same at every point: a plain number
    return Vec(a)


def _shape(shape, env, n):
    from .formulas import Shape

    if not shape.spatial:
        return Shape(_vec(shape.c, env, n))
    return Shape(_vec(shape.c, env, n), _vec(shape.h, env, n), _vec(shape.w, env, n))


def _peak(curve, n: int):
    best = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    for v in curve:
        np.maximum(best, Vec.of(v), out=best)
    return best


def peaks(sym, report, env: dict, n: int, *, batch: int, dtype: str, amp: str | None,
          optimizer: str):
    """(inference_peak, training_peak) as int64 arrays over the ``n`` points whose H and W
    are ``env``'s arrays, for the symbolic network ``sym`` and its traced ``report``; what
    ``cnncalc.memory.estimate`` gives at each point.  Raises :class:`Mixed` where one replay
    cannot stand for all the points."""
    from . import memory as m

    rows = [SimpleNamespace(input_shape=_shape(r.input_shape, env, n),
                            shape=_shape(r.shape, env, n), name=r.name) for r in report.layers]
    vreport = SimpleNamespace(layers=rows)
    spec = replace(sym, input_shape=_shape(sym.input_shape, env, n))
    opt = m.Optimizer(optimizer)
    item = m.ITEM[dtype] if amp is None else 4
    # as estimate() assembles them (cnncalc/memory.py)
    params, buffers, trainable, _ = m._weights(vreport, spec, item, opt, item)
    inf, inf_out = m._replay(spec, vreport, batch, dtype, amp, training=False)
    inf_curve, _ = m._inference(inf, params + buffers, inf_out)
    if not inf_curve:
        inp = m.rounded(spec.input_shape.numel * batch * (4 if amp else item))
        inf_curve = [params + buffers + inp]
    tr, out = m._replay(spec, vreport, batch, dtype, amp, training=True)
    reach = m._reach(tr, out)
    dead = [numel for i, ops in enumerate(tr.o_params) if not reach[i] for numel in ops]
    idle = sum(m.rounded(numel * item) for numel in dead)
    state = opt.state * (trainable - idle)
    opt_scratch = opt.scratch * (trainable - idle)
    tr_curve, _, _ = m._training(tr, out, params + buffers + state, reach, opt_scratch, False)
    return _peak(inf_curve, n), _peak(tr_curve, n)


# --- a sweep group's peaks ------------------------------------------------------------------

SPLIT_MIN = 8  # fewer points than this are replayed one size at a time


def estimate_at(mem, spec, report) -> tuple[int, int]:
    """(inference_peak, training_peak) of one numeric network: ``cnncalc.memory.estimate``."""
    from .memory import estimate
    from .sweep import SweepError

    try:
        e = estimate(spec, batch=mem.batch, dtype=mem.dtype, amp=mem.amp,
                     optimizer=mem.optimizer, report=report)
    except ValueError as err:
        raise SweepError(f"memory figures at {spec.input_shape}: {err}") from None
    return e.inference_peak, e.training_peak


def put_peaks(ev, chunk, out: dict) -> None:
    from .sweep import INT64_SAFE

    for name in ev.peaks:
        vs = out[name]
        small = all(abs(v) < INT64_SAFE for v in vs)
        chunk.values[name] = np.array(vs, dtype=np.int64 if small else object)


def group_peaks(ev, chunk, spec, key, hs, ws, ok, traced) -> None:
    """The peaks at every possible point (``ok``) of a group of evaluator ``ev``: one replay
    for all of them (:func:`peaks`).  Where the points disagree on a branch of the replay,
    the points (in order of H, W) are halved and each half tried again; below
    :data:`SPLIT_MIN` points, the group's network ``spec`` with its input's height and width
    set is replayed once per distinct (H, W) (``estimate``, cached across groups by ``key``)."""
    from .sweep import PEAKS

    n = len(hs)
    out = {name: [0] * n for name in PEAKS}
    rows = np.nonzero(ok)[0]
    rows = rows[np.lexsort((ws[rows], hs[rows]))]
    _peaks_at(ev, rows, out, spec, key, hs, ws, traced)
    put_peaks(ev, chunk, out)


def _peaks_at(ev, rows, out, spec, key, hs, ws, traced) -> None:
    from .engine import analyze
    from .formulas import Shape

    if len(rows) >= SPLIT_MIN and not ((hs[rows] == hs[rows[0]]).all() and
                                        (ws[rows] == ws[rows[0]]).all()):
        sym, report, env = traced
        m = ev.mem
        try:
            inf, tr = peaks(sym, report, {v: a[rows] for v, a in env.items()}, len(rows),
                            batch=m.batch, dtype=m.dtype, amp=m.amp, optimizer=m.optimizer)
        except (Mixed, ArithmeticError, TypeError, ValueError, AttributeError):
            half = len(rows) // 2  # the disagreement is often at one end (the tiny sizes)
            _peaks_at(ev, rows[:half], out, spec, key, hs, ws, traced)
            _peaks_at(ev, rows[half:], out, spec, key, hs, ws, traced)
        else:
            for k, a, b in zip(rows.tolist(), inf.tolist(), tr.tolist()):
                out["inference_peak"][k], out["training_peak"][k] = a, b
        return
    c = spec.input_shape.c
    for k in rows.tolist():
        h, w = int(hs[k]), int(ws[k])
        found = ev.estimates.get((key, h, w))
        if found is None:
            at = replace(spec, input_shape=Shape(c, h, w))
            found = estimate_at(ev.mem, at, analyze(at, explain=False, memory=False,
                                                        checks=False))
            if len(ev.estimates) > 1 << 16:
                ev.estimates.clear()
            ev.estimates[(key, h, w)] = found
        out["inference_peak"][k], out["training_peak"][k] = found
