"""Numeric convolution and pooling of small matrices, for exercises worked by hand.

Pure Python (no numpy, no torch).  A *volume* (:mod:`cnncalc.matrix` reads one from text) is
a list of channels, each a list of rows of numbers.  As in the notes, a filter extends the
full depth of its input: its channels are convolved with the input's channels one by one and
the results summed, then the shared bias is added.  "Convolution" is the deep-learning one
(cross-correlation, no kernel flip), as in PyTorch's ``conv2d``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from .records import record
from .errors import Param, UsageError
from .layers.base import AxisWindow
from .reads import chain_lost
from .formulas import unread_image, window_out_len
from .formatting import decimal, plural

if TYPE_CHECKING:  # the CLI reads ACTIVATIONS at start-up: no matrix parser for that
    from .matrix import Matrix, Number, Volume


class NumericError(UsageError):
    """Values that cannot work together (a kernel larger than the input, …); it names
    :func:`apply`'s parameters (``pool_size``), which the CLI writes as its options."""


# --- arithmetic -------------------------------------------------------------------------------

def shape_text(v: Volume) -> str:
    """The notes' W×H×D."""
    return f"{len(v[0][0])}×{len(v[0])}×{len(v)}"


def pad_matrix(m: Matrix, p: int, fill: Number = 0) -> Matrix:
    if p == 0:
        return m
    w = len(m[0]) + 2 * p
    edge = [[fill] * w for _ in range(p)]
    return [list(r) for r in edge] + [[fill] * p + list(r) + [fill] * p for r in m] + \
        [list(r) for r in edge]


def out_len(n: int, f: int, s: int, p: int, what: str, param: str | None = None) -> int:
    if f > n + 2 * p:
        raise NumericError(f"the {what} ({f}) is larger than the padded input "
                           f"({n} + 2·{p} = {n + 2 * p}); use a smaller {what} or more padding",
                           param=param)
    return window_out_len(n, f, s, (p, p)).out


def conv2d(x: Volume, kernels: list[Volume], biases: list[Number], stride: int = 1,
           pad: int = 0) -> Volume:
    """One output map per kernel: Σ over channels of the window · kernel, plus the bias."""
    depth = len(x)
    for i, k in enumerate(kernels):
        if len(k) != depth:
            raise NumericError(
                f"kernel {i + 1} has {plural(len(k), 'channel')} but the input "
                f"has {depth}; a filter extends the full depth of the input (F×F×D)",
                param="kernels")
    xp = [pad_matrix(m, pad) for m in x]
    fh, fw = len(kernels[0][0]), len(kernels[0][0][0])
    oh = out_len(len(x[0]), fh, stride, pad, "kernel", "kernels")
    ow = out_len(len(x[0][0]), fw, stride, pad, "kernel", "kernels")
    out = []
    for k, b in zip(kernels, biases):
        out.append([[sum(xp[c][i * stride + u][j * stride + v] * k[c][u][v]
                         for c in range(depth) for u in range(fh) for v in range(fw)) + b
                     for j in range(ow)] for i in range(oh)])
    return out


def pool2d(x: Volume, size: int, stride: int, mode: str = "max", pad: int = 0) -> Volume:
    """Max or average pooling of each channel (PyTorch: max pads with −∞, avg counts the
    zero padding)."""
    if 2 * pad > size:
        raise NumericError(f"pooling pad {pad} is more than half the window {size} "
                           f"(PyTorch's rule); use a pad of at most {size // 2}", param="pad")
    oh = out_len(len(x[0]), size, stride, pad, "pooling window", "pool_size")
    ow = out_len(len(x[0][0]), size, stride, pad, "pooling window", "pool_size")
    out = []
    for m in x:
        mp = pad_matrix(m, pad, -math.inf if mode == "max" else 0)
        rows = []
        for i in range(oh):
            row = []
            for j in range(ow):
                window = [mp[i * stride + u][j * stride + v] for u in range(size)
                          for v in range(size)]
                row.append(max(window) if mode == "max" else tidy(sum(window) / len(window)))
            rows.append(row)
        out.append(rows)
    return out


ACTIVATIONS: dict[str, Callable[[Number], Number]] = {
    "relu": lambda v: v if v > 0 else 0,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v)),
    "tanh": math.tanh,
}


def activate(x: Volume, name: str) -> Volume:
    f = ACTIVATIONS[name]
    return [[[f(v) for v in row] for row in m] for m in x]


def tidy(v: Number) -> Number:
    """A float that is whole becomes an int, so 7.0 prints as 7."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


# --- the worked dot product ------------------------------------------------------------------

def paren(v: Number) -> str:
    return f"({decimal(v)})" if v < 0 else decimal(v)


def conv_steps(x: Volume, kernel: Volume, bias: Number, i: int, j: int, stride: int = 1,
               pad: int = 0, act: str | None = None) -> list[str]:
    """Output element (i, j) (0-based) of one kernel, term by term."""
    xp = [pad_matrix(m, pad) for m in x]
    fh, fw = len(kernel[0]), len(kernel[0][0])
    lines = []
    total: Number = 0
    for c in range(len(x)):
        terms = [(xp[c][i * stride + u][j * stride + v], kernel[c][u][v])
                 for u in range(fh) for v in range(fw)]
        part = sum(a * b for a, b in terms)
        total += part
        label = f"channel {c + 1}: " if len(x) > 1 else ""
        lines.append(f"{label}" + " + ".join(f"{paren(a)}·{paren(b)}" for a, b in terms)
                     + f" = {decimal(part)}")
    value = total + bias
    tail = f"sum {decimal(total)}" if len(x) > 1 else decimal(total)
    lines.append(f"{tail} + bias {paren(bias)} = {decimal(value)}")
    if act:
        lines.append(f"{act}({decimal(value)}) = {decimal(ACTIVATIONS[act](value))}")
    return lines


def pool_steps(x: Volume, size: int, stride: int, mode: str, i: int, j: int, pad: int = 0,
               channel: int = 0) -> list[str]:
    mp = pad_matrix(x[channel], pad, -math.inf if mode == "max" else 0)
    window = [mp[i * stride + u][j * stride + v] for u in range(size) for v in range(size)]
    values = ", ".join(decimal(v) if math.isfinite(v) else "−∞" for v in window)
    if mode == "max":
        return [f"max({values}) = {decimal(max(window))}"]
    return [f"({' + '.join(decimal(v) for v in window)})/{len(window)} = "
            f"{decimal(sum(window) / len(window))}"]


# --- the whole exercise -------------------------------------------------------------------

@record(slots=False)
class Applied:
    output: Volume
    steps: list[str]
    notes: list[str]


def apply(x: Volume, kernels: list[Volume] | None = None, biases: list[Number] | None = None,
          stride: int | None = None, pad: int | None = None, act: str | None = None,
          pool: str | None = None,
          pool_size: int | None = None, pool_stride: int | None = None,
          at: tuple[int, int] | None = None) -> Applied:
    """Convolve (if kernels), add the bias, activate, then pool (if ``pool``).

    Without kernels, ``stride`` and ``pad`` belong to the pooling (stride defaults to the
    window, as in PyTorch); with kernels they belong to the convolution (1 and 0).  ``at``
    (0-based row, column) picks the element whose arithmetic ``steps`` shows.
    """
    if any(not math.isfinite(b) for b in biases or ()):
        raise UsageError("must be a finite number", param="biases")
    notes: list[str] = []
    steps: list[str] = []
    chain: list[tuple[Volume, int, int, int, int, str]] = []  # the windows, for fit_notes
    y = x
    if kernels:
        stride, pad = stride or 1, pad or 0
        if len({shape_text(k) for k in kernels}) > 1:
            raise NumericError("every kernel needs the same size; give kernels of one F×F×D",
                               param="kernels")
        biases = list(biases or [0])
        if len(biases) == 1:
            biases = biases * len(kernels)
        if len(biases) != len(kernels):
            raise NumericError(f"got {plural(len(biases), 'bias')} for "
                               f"{plural(len(kernels), 'kernel')}; give one ", Param("biases"),
                               " for all kernels or one per kernel", param="biases")
        y = conv2d(x, kernels, biases, stride, pad)
        chain.append((x, len(kernels[0][0]), len(kernels[0][0][0]), stride, pad, "conv"))
        if at is not None:
            check_at(at, y)
            steps = [f"output[{at[0] + 1},{at[1] + 1}] of kernel 1 (row, column from 1):"]
            steps += conv_steps(x, kernels[0], biases[0], at[0], at[1], stride, pad, act)
    elif biases and any(biases):
        raise NumericError(Param("biases"), " needs a ", Param("kernels"))
    if act:
        y = activate(y, act)
    if pool:
        if pool_size is None:
            raise NumericError(Param("pool"), " needs ", Param("pool_size"),
                               " F (the pooling window)")
        ps = pool_stride or (None if kernels else stride) or pool_size
        pp = 0 if kernels else pad or 0
        chain.append((y, pool_size, pool_size, ps, pp, "pool"))
        before = y
        y = pool2d(y, pool_size, ps, pool, pp)
        if at is not None and not kernels:
            check_at(at, y)
            steps = [f"output[{at[0] + 1},{at[1] + 1}] of channel 1 (row, column from 1):"]
            steps += pool_steps(before, pool_size, ps, pool, at[0], at[1], pp)
    elif pool_size is not None:
        raise NumericError(Param("pool_size"), " is the pooling window: add ", Param("pool"),
                           " max or ", Param("pool"), " avg")
    if not kernels and not pool and not act:
        raise NumericError("nothing to apply: give ", Param("kernels"), ", ", Param("pool"), " or ",
                           Param("act"))
    if any(not math.isfinite(v) for m in y for row in m for v in row):
        raise UsageError("the result overflows a float; use smaller numbers")
    notes += fit_notes(chain)
    return Applied([[[tidy(v) for v in row] for row in m] for m in y], steps, notes)


def check_at(at: tuple[int, int], y: Volume) -> None:
    h, w = len(y[0]), len(y[0][0])
    if not (0 <= at[0] < h and 0 <= at[1] < w):
        raise NumericError(f"{at[0] + 1},{at[1] + 1} is outside the output, which has "
                           f"{plural(h, 'row')} and {plural(w, 'column')}; pick a row from 1 to "
                           f"{h} and a column from 1 to {w}", param="at")


def fit_notes(chain: list[tuple[Volume, int, int, int, int, str]]) -> list[str]:
    """The notes' rule: (N − F + 2P)/S must be whole, else border pixels are dropped; said
    only where image pixels are lost (padding left unread loses nothing, and a row one step
    skips may be read by the step before it: :func:`cnncalc.reads.chain_lost`).  ``chain``:
    each step's input, window, stride, pad and name, from the image on."""
    lines = (("H", "row"), ("W", "column"))
    per_axis = []
    for i in (0, 1):
        steps = []
        for x, fh, fw, s, p, _ in chain:
            n, f = (len(x[0]), fh) if i == 0 else (len(x[0][0]), fw)
            a = window_out_len(n, f, s, (p, p))
            steps.append((AxisWindow(f, s, p), n, a.out, unread_image(a)))
        per_axis.append((steps, chain_lost(steps)))
    notes = []
    for j, (_, _, _, s, p, what) in enumerate(chain):
        for (axis, line), (steps, lost) in zip(lines, per_axis):
            win, n, _, skipped = steps[j]
            if not lost[j]:
                continue
            formula = f"{what} {axis}: ({n} − {win.k} + 2·{p})/{s} + 1 is not a whole number; "
            if j == 0:
                last = f"the last {line} is" if skipped == 1 else f"the last {skipped} {line}s are"
                notes.append(f"{formula}{last} never read (PyTorch floors it too)")
                continue
            mine = f"the last {line}" if skipped == 1 else f"the last {skipped} {line}s"
            theirs = f"the last {line}" if lost[j] == 1 else f"the last {lost[j]} {line}s"
            notes.append(f"{formula}{mine} of the {chain[j - 1][5]}'s output, and with "
                         f"{'it' if skipped == 1 else 'them'} {theirs} of the input, "
                         f"{'is' if lost[j] == 1 else 'are'} never read (PyTorch floors it too)")
    return notes
