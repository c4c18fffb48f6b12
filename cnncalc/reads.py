"""Which pixels of the input a net reads: the dataflow behind CN101 ("never read").

A layer whose ``(N − F + 2P)/S`` is not whole reads no window over the last rows of its own
input.  That loses image pixels only when no other path reads them: ResNet's 1×1 stride-2
projection shortcut skips the last row of a 56×56 map, but the main path's 3×3 conv reads it,
so nothing is lost.  The rule, everywhere (``inspect``, ``lint``, the calculators, ``apply``):
a pixel of the image is unread only if no path from the input to an output reads it, and
the finding names the layers that cut it.

Each axis is followed on its own, as an interval of positions per tensor (H and W are
independent: every window is separable):

* *live* positions, backwards from the outputs (the net's output and any side output): a
  position is live when a window over a live output position reads it;
* the image's dead tail (its last rows no live window reads), forwards: the positions of each
  tensor that depend on a dead image pixel.

A layer is named when rows its windows never read are among those positions.  An interval
per tensor is exact for the tails CN101 is about; the gaps of a stride larger than the kernel
are CN106's, and an upsampling is taken to read (and spread) everything, so the rule errs
towards silence, never towards a false alarm.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .layers.base import AxisWindow
from .network import Branches, Merge, Residual, Spec, Visitor, walk
from .formulas import Shape

Span = tuple[int, int] | None  # positions lo..hi along one axis; None: none of them


def hull(a: Span, b: Span) -> Span:
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def clip(span: Span, n: int) -> Span:
    if span is None:
        return None
    lo, hi = max(span[0], 0), min(span[1], n - 1)
    return (lo, hi) if lo <= hi else None


def read_span(live: Span, n_in: int, win: AxisWindow) -> Span:
    """The input positions that windows over the ``live`` outputs read: output o reads
    ``o·S − P … o·S − P + F − 1``.  An upsampling (a stride below 1) reads everything."""
    if live is None:
        return None
    k, s, p = win.k, win.s, win.p
    if not isinstance(s, int) or not isinstance(k, int):
        return (0, n_in - 1)
    return clip((live[0] * s - p, live[1] * s - p + k - 1), n_in)


def spread_span(dead: Span, n_out: int, win: AxisWindow) -> Span:
    """The outputs whose windows read any of the ``dead`` input positions."""
    if dead is None:
        return None
    k, s, p = win.k, win.s, win.p
    if not isinstance(s, int) or not isinstance(k, int):
        return (0, n_out - 1)
    first = dead[0] - k + 1 + p
    lo = -(-first // s) if type(first) is int else math.ceil(Fraction(first, s))  # ⌈first/s⌉
    return clip((lo, (dead[1] + p) // s), n_out)


# --- the net as tensors and operations ----------------------------------------------------

class _Stop(Exception):
    """The report ends before this leaf (the walk failed there)."""


def _axes(shape: Shape):
    return (shape.h, shape.w) if shape.spatial else None


def _windows(leaf, x: Shape, y: Shape):
    """Per axis the leaf's window, "all" (its outputs mix the whole map), or "same" (position
    to position)."""
    if not x.spatial or not y.spatial:
        return ("all", "all")
    win = leaf.layer.window(x)
    if win is None:
        return ("same", "same")
    return (win.h, win.w)


class _Structure(Visitor[int]):
    """The graph without shapes: which tensor each op reads and writes (0: the input), and
    the side outputs.  It depends on the tree alone, so an analysis of the same tree at
    another input reuses it."""

    def __init__(self, rows: int | None = None):
        self.rows = rows  # the report's rows, where the walk failed before the end
        self.n_tensors = 1
        self.ops: list[tuple] = []  # ("leaf", row index, leaf, input, output) or
        self.side: list[int] = []  # ("merge", -1, None, inputs, output)

    def leaf(self, at, leaf, x: int) -> int:
        if self.rows is not None and at.index >= self.rows:
            raise _Stop
        t = self.n_tensors
        self.n_tensors += 1
        self.ops.append(("leaf", at.index, leaf, x, t))
        return t

    def merge(self, at, node: Residual | Branches, x: int, outs) -> int:
        ins = [t for _, t in outs]
        if isinstance(node, Branches) and node.merge == Merge.FIRST:
            self.side += ins[1:]
            return ins[0]
        t = self.n_tensors
        self.n_tensors += 1
        self.ops.append(("merge", -1, None, ins, t))
        return t


_STRUCTURES: dict[int, tuple] = {}  # id(spec.layers) → (spec.layers, structure, its output)
_WINDOWS_SEEN: list = [None, {}]  # the structure, and its leaves' windows by layer and shapes
_STRUCTURES_KEPT = 16


def _structure(spec: Spec) -> tuple["_Structure", int]:
    found = _STRUCTURES.get(id(spec.layers))
    if found is not None and found[0] is spec.layers:
        return found[1], found[2]
    graph = _Structure()
    final = walk(spec.layers, graph, 0)
    if len(_STRUCTURES) >= _STRUCTURES_KEPT:
        del _STRUCTURES[next(iter(_STRUCTURES))]
    _STRUCTURES[id(spec.layers)] = (spec.layers, graph, final)
    return graph, final


def lost_rows(spec: Spec, rows, candidates: dict[int, tuple[int, int]]) -> dict[int, tuple]:
    """For each candidate leaf (its row index → the rows and columns of its own input that it
    never reads, per axis), the axes along which it cuts image pixels that no path reads, and
    whether its input is the image itself: ``{index: ({axis: image rows lost}, reads the
    image)}`` (axis 0 = H, 1 = W).  A candidate that cuts nothing lost is absent."""
    graph, final = _structure(spec)
    if len(rows) < sum(1 for op in graph.ops if op[0] == "leaf"):  # the walk failed first
        graph = _Structure(len(rows))
        try:
            final = walk(spec.layers, graph, 0)
        except _Stop:
            return {}
    shapes = [spec.input_shape] + [None] * (graph.n_tensors - 1)
    for kind, index, _, x, t in graph.ops:
        shapes[t] = rows[index].shape if kind == "leaf" else \
            max((shapes[i] for i in x), key=lambda s: s.numel)
    n_tensors = len(shapes)
    dims_of = [_axes(s) for s in shapes]
    # each leaf's window per axis, once ("all", "same" or an AxisWindow); kept by layer and
    # shapes for the tree's next analysis (most of a net's layers see an input seen before)
    known = _WINDOWS_SEEN
    if known[0] is not graph or len(known[1]) > 100_000:
        known[:] = [graph, {}]
    seen = known[1]
    windows = {}
    for kind, index, leaf, x, t in graph.ops:
        if kind == "leaf":
            key = (leaf.layer, shapes[x], shapes[t])
            win = seen.get(key)
            if win is None:
                win = seen[key] = _windows(leaf, shapes[x], shapes[t])
            windows[index] = win
    live: list[list[Span]] = [[None, None] for _ in range(n_tensors)]

    def full(t: int) -> list[Span]:
        dims = dims_of[t]
        return [(0, d - 1) for d in dims] if dims else [(0, 0), (0, 0)]

    for t in [final, *graph.side]:
        live[t] = full(t)
    for kind, index, leaf, x, t in reversed(graph.ops):
        out = live[t]
        if out[0] is None and out[1] is None:
            continue
        inputs = x if kind == "merge" else [x]
        for i in inputs:
            dims = dims_of[i]
            if dims is None:
                live[i] = full(i)
                continue
            for axis in (0, 1):
                if kind == "merge":
                    got = clip(out[axis], dims[axis]) if dims[axis] > 1 else \
                        (None if out[axis] is None else (0, 0))
                else:
                    win = windows[index][axis]
                    if type(win) is not str:  # an AxisWindow (a record: == would ask it)
                        got = read_span(out[axis], dims[axis], win)
                    elif win == "all" and out[axis] is not None:
                        got = (0, dims[axis] - 1)
                    else:
                        got = out[axis]
                live[i][axis] = hull(live[i][axis], got)
    image = dims_of[0]
    if image is None:
        return {}
    dead: list[list[Span]] = [[None, None] for _ in range(n_tensors)]
    counts = []
    for axis in (0, 1):
        span = live[0][axis]
        last = -1 if span is None else span[1]
        counts.append(image[axis] - 1 - last)
        dead[0][axis] = (last + 1, image[axis] - 1) if last < image[axis] - 1 else None
    if not any(counts):
        return {}
    found: dict[int, dict] = {}
    for kind, index, leaf, x, t in graph.ops:
        dims = dims_of[t]
        inputs = x if kind == "merge" else [x]
        for axis in (0, 1):
            if dims is None:
                continue
            if kind == "merge":
                spread = None
                for i in inputs:
                    d = dead[i][axis]
                    if d is not None and dims_of[i] and dims_of[i][axis] == 1:
                        d = (0, dims[axis] - 1)  # a 1×1 gate reaches every position
                    spread = hull(spread, d)
                dead[t][axis] = clip(spread, dims[axis])
                continue
            d = dead[x][axis]
            if d is None:
                continue
            win = windows[index][axis]
            if type(win) is not str:
                dead[t][axis] = spread_span(d, dims[axis], win)
            elif win == "all":
                dead[t][axis] = (0, dims[axis] - 1)
            else:  # "same"
                dead[t][axis] = clip(d, dims[axis])
        if kind == "leaf" and index in candidates:
            n_in = dims_of[x]
            for axis, skipped in enumerate(candidates[index]):
                if skipped and n_in is not None and dead[x][axis] is not None and \
                        dead[x][axis][1] >= n_in[axis] - skipped:
                    axes, _ = found.setdefault(index, ({}, x == 0))
                    axes[axis] = counts[axis]
    return found


def chain_lost(steps: list[tuple[AxisWindow, int, int, int]]) -> list[int]:
    """One axis of a chain of windows (``apply``'s conv then pool), the first reading the
    image: per step, the image rows lost because that step skips the tail of its input (0 when
    another step's window reads them, or only padding goes unread).  A step is ``(window, its
    input's length, its output's length, the input rows it never reads)``."""
    if not steps:
        return []
    live: Span = (0, steps[-1][2] - 1)
    for win, n_in, _, _ in reversed(steps):
        live = read_span(live, n_in, win)
    n = steps[0][1]
    lost = n - 1 - (live[1] if live else -1)
    out = []
    dead: Span = (n - lost, n - 1) if lost > 0 else None
    for win, n_in, n_out, skipped in steps:
        cut = skipped and dead is not None and dead[1] >= n_in - skipped
        out.append(lost if cut else 0)
        dead = spread_span(dead, n_out, win)
    return out
