"""Pure size arithmetic: the notes' formulas, and PyTorch's rules where the notes stop.

Every function here takes and returns plain numbers (no torch, no I/O), or a symbolic size
(:class:`cnncalc.closed_forms.Size`, from ``input: HxWx3``) where a size is expected.  Sizes are
combined with ``+ - * // %``; what needs more (a ``max``, a condition) goes through the
helpers of :mod:`cnncalc.closed_forms`, which decide numbers at once and keep sizes exact.

Conventions
-----------
* A shape is stored in PyTorch's order without the batch: ``Shape(c, h, w)`` for a volume,
  ``Shape(c)`` for a vector (after ``flatten``).  The notes write volumes ``W×H×D``;
  :func:`volume_text` prints that order.
* Padding is given per axis as ``(before, after)`` so that asymmetric 'same' padding
  (an even kernel) is exact.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .records import record
from .closed_forms import (Size, at_least, flag, is_symbolic, largest, parse_dims, ratio,
                       text_of)
from .formatting import decimal

MAX_SIZE = 10 ** 9  # no real layer has a billion filters, nor an input a billion pixels wide
TIMES = "×"
MINUS = "−"
DOT = "·"


@record
class Shape:
    """An activation shape without the batch: ``[C, H, W]`` or ``[N]``."""

    c: int
    h: int | None = None
    w: int | None = None

    @property
    def spatial(self) -> bool:
        return self.h is not None

    @property
    def numel(self) -> int:
        return self.c * self.h * self.w if self.spatial else self.c

    def dims(self) -> list[int]:
        """PyTorch order without batch: ``[C, H, W]`` or ``[N]``."""
        return [self.c, self.h, self.w] if self.spatial else [self.c]


def volume_text(shape: Shape) -> str:
    """The notes' ``W×H×D`` text (or ``N`` for a vector)."""
    if not shape.spatial:
        return str(shape.c)
    return f"{shape.w}{TIMES}{shape.h}{TIMES}{shape.c}"


_VOLUME = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*(?:[x×X*]\s*(\d+))?\s*$")


def parse_volume(text: str) -> Shape:
    """Parse the notes' ``W×H×D`` (``32x32x3``), ``W×H`` (depth 1) or ``N`` (a vector).

    Raises ``ValueError`` with a message fit for a user.
    """
    text = str(text)
    if len(text) > 64:
        raise ValueError(f"'{text[:20]}…' is not a volume; write W×H×D, e.g. 32x32x3")
    if text.strip().isdigit():
        n = int(text)
        if not 1 <= n <= MAX_SIZE:
            raise ValueError(f"a size must be from 1 to {MAX_SIZE:,}, got {n}")
        return Shape(n)
    m = _VOLUME.match(text)
    if not m:
        raise ValueError(f"'{text}' is not a volume; write W×H×D as in the notes, e.g. 32x32x3")
    w, h = int(m.group(1)), int(m.group(2))
    d = int(m.group(3)) if m.group(3) is not None else 1
    if min(w, h, d) < 1 or max(w, h, d) > MAX_SIZE:
        raise ValueError(f"every size in '{text}' must be from 1 to {MAX_SIZE:,}")
    return Shape(d, h, w)


def parse_input(text: str, by_name: bool = True) -> Shape:
    """A spec's ``input:``: a volume as :func:`parse_volume` reads it, or with a letter for a
    spatial size (``HxWx3``: see :func:`cnncalc.closed_forms.parse_dims`)."""
    dims = parse_dims(text, by_name) if len(str(text)) <= 64 else None
    if dims is None:
        return parse_volume(text)
    w, h, d = dims
    for v in (w, h, d):
        if not isinstance(v, Size) and not 1 <= v <= MAX_SIZE:
            raise ValueError(f"every size in '{text}' must be from 1 to {MAX_SIZE:,}")
    return Shape(d, h, w)


def symbolic_shape(shape: Shape) -> bool:
    """Whether a shape has a size that depends on the input's symbols."""
    return is_symbolic(shape.c) or (shape.spatial and (is_symbolic(shape.h) or
                                                       is_symbolic(shape.w)))


@record
class AxisOut:
    """The output length along one axis, with the arithmetic that gave it."""

    n: int  # input length
    f: int  # effective kernel length d·(F − 1) + 1
    s: int
    pad: tuple[int, int]
    out: int  # what PyTorch produces
    remainder: int  # (n + pads − f) mod s: input rows/cols never read (0 when exact)

    @property
    def exact(self) -> bool:
        return self.remainder == 0


def effective_kernel(f: int, d: int = 1) -> int:
    """A dilated kernel's span: ``d·(F − 1) + 1``."""
    return d * (f - 1) + 1


def window_out_len(n: int, f: int, s: int = 1, pad: tuple[int, int] = (0, 0), d: int = 1,
                   ceil: bool = False) -> AxisOut:
    """The notes' ``(N − F + 2P)/S + 1`` as PyTorch computes it for conv and pool.

    ``f`` is the kernel length before dilation.  PyTorch floors the division; with
    ``ceil`` (pooling's ceil_mode) it rounds up, but drops a last window that would start
    in the right padding (``(out − 1)·S ≥ N + P``): PyTorch's ``pooling_output_shape``
    (aten/src/ATen/native/Pool.h).  In ceil mode a window that starts inside the input and
    runs past its end is kept, so the padded input may be shorter than the window, down to
    ``F − S + 1`` (:func:`window_need`).  A result below 1 is returned as 0: the caller
    reports it.
    """
    fe = effective_kernel(f, d)
    span = n + pad[0] + pad[1] - fe
    up = s - 1 if ceil else 0
    if not is_symbolic(span) and span + up < 0:
        return AxisOut(n, fe, s, pad, 0, 0)  # a symbolic span ≥ 0 is the layer's requirement
    out = (span + up) // s + 1
    rem = span % s
    if ceil:
        # the last window must start inside the input or the left padding; a size's
        # condition repeats residue by residue: (out − 1)·S − N − P stays within S of P − F
        out = out - flag((out - 1) * s - n - pad[0], lambda t: t >= 0)
    return AxisOut(n, fe, s, pad, out, rem)


def window_need(a: AxisOut, ceil: bool = False):
    """The least padded input a window layer runs on: ``F`` (floor), ``F − S + 1`` (ceil
    mode: a last window that starts inside the input may run past it)."""
    return a.f - (a.s - 1 if ceil else 0)


def dropped_last(a: AxisOut, ceil: bool) -> bool:
    """Whether ceil mode dropped a last window that would have started in the right padding
    (numbers only)."""
    if not ceil or is_symbolic(a.n) or is_symbolic(a.out):
        return False
    return a.out != -(-(a.n + a.pad[0] + a.pad[1] - a.f) // a.s) + 1


def unread_image(a: AxisOut) -> int:
    """Image rows (or columns) a floored window never reads: the unread tail of the padded
    input less the zero padding after the image.  0 when only padding goes unread."""
    return at_least(a.remainder - a.pad[1], 0)


def transposed_out_len(n: int, f: int, s: int = 1, pad: int = 0, d: int = 1,
                       output_pad: int = 0) -> int:
    """A transposed convolution: ``(N − 1)·S − 2P + d·(F − 1) + output_pad + 1``."""
    return (n - 1) * s - 2 * pad + d * (f - 1) + output_pad + 1


def same_pad_total(n: int, f: int, s: int = 1, d: int = 1) -> int:
    """Total padding (both sides) of ``pad: same``: the output is ``⌈N/S⌉``, as in Keras and
    TensorFlow: ``max((⌈N/S⌉ − 1)·S + F − N, 0)``.

    At stride 1 this is ``F − 1``: the notes' ``p = (F − 1)/2``.  Odd totals cannot be split
    evenly: PyTorch's 'same' (and TensorFlow's) puts the extra pixel after (right/bottom), and
    so do we.
    """
    out = -(-n // s)
    return at_least((out - 1) * s + effective_kernel(f, d) - n, 0)


def keep_pad_total(n: int, f: int, s: int = 1, d: int = 1) -> int:
    """Total padding (both sides) that keeps ``n`` at any stride (``pad: keep``): the notes'
    ``2p = N(s − 1) + F − s``.  Equal to ``same`` at stride 1."""
    return n * (s - 1) + effective_kernel(f, d) - s


def split_pad(total: int) -> tuple[int, int]:
    return (total // 2, total - total // 2)


def adaptive_window(n: int, out: int) -> tuple[int, Fraction]:
    """Largest window and mean stride of PyTorch's adaptive pooling from ``n`` to ``out``.

    Window i spans ``[floor(i·n/out), ceil((i + 1)·n/out))``.
    """
    return largest(-((-(i + 1) * n) // out) - (i * n) // out for i in range(out)), ratio(n, out)


def fmt_pad(pad: tuple[int, int]) -> str:
    """``2·2`` for symmetric padding, ``1 + 2`` for asymmetric (the formula's 2P term)."""
    if pad[0] == pad[1]:
        return f"2{DOT}{pad[0]}"
    return f"{pad[0]} + {pad[1]}"


def axis_formula(a: AxisOut, ceil: bool = False) -> str:
    """``(32 − 5 + 2·2)/1 + 1 = 32``, with the true quotient when it is not whole."""
    num = f"{a.n} {MINUS} {a.f} + {fmt_pad(a.pad)}"
    if is_symbolic(a.n) or is_symbolic(a.pad[0]) or is_symbolic(a.pad[1]):
        if a.s == 1:
            return f"({num})/1 + 1 = {text_of(a.out)}"
        left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
        return f"{left}({num})/{a.s}{right} + 1 = {text_of(a.out)}"
    exact = Fraction(a.n - a.f + a.pad[0] + a.pad[1], a.s) + 1
    text = f"({num})/{a.s} + 1"
    if exact.denominator == 1:
        return f"{text} = {a.out}"
    if dropped_last(a, ceil):
        return (f"{text} = {decimal(exact)} → ceil {a.out + 1}, less a last window that would "
                f"start in the padding: {a.out}")
    rounding = "ceil" if ceil else "floor"
    return f"{text} = {decimal(exact)} → {rounding} {a.out}"
