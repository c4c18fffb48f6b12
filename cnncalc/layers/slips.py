"""The vocabulary of slips: the notes' formulas done wrong, for naming a wrong ``expect:``.

A *slip* is ``(wrong value, what went wrong)``.  Each layer kind lists its own candidates in
``Layer.slips(field, x, y)``, commonest first; the window kinds (conv, pool) share the size
slips below.  :mod:`cnncalc.hints` matches a claim against them.

The slips come from the notes' formulas::

    output  (N − F + 2P)/S + 1  per axis, depth K (conv) or D (pool)
    params  (F·F·D1)·K + K      (conv; D1/g with groups, 1 with depthwise)
    macs    weights × W2·H2     (one multiply-accumulate per weight per output position)
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..formulas import DOT, MINUS, AxisOut, Shape, volume_text
from ..formatting import plural

ARROW = "→"

Slip = tuple[Any, str]


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def axis_slips(a: AxisOut, f_plain: int) -> dict[str, int]:
    """One axis's output length under each slip (the notes' formula done wrong).

    ``a.f`` is the effective (dilated) kernel, ``f_plain`` the kernel as written.
    Results are floored as a student (or PyTorch) would.
    """
    n, f, s, p = a.n, a.f, a.s, a.pad[0] + a.pad[1]
    out = {
        "no_pad": _floor(Fraction(n - f, s)) + 1,
        "one_pad": _floor(Fraction(n - f + p // 2, s)) + 1,
        "rounded_up": -((f - n - p) // s) + 1,
        "no_plus_one": _floor(Fraction(n - f + p, s)),
        "stride_first": _floor(Fraction(n + p, s)) - f + 1,
        "stride_first_n": _floor(Fraction(n, s)) - f + p + 1,
        "no_stride": n - f + p + 1,
        "no_dilation": _floor(Fraction(n - f_plain + p, s)) + 1,
    }
    return out


SPATIAL_TEXT = {
    "no_pad": "used N instead of N + 2P: the padding adds P pixels on each side before the "
              "filter slides ({right})",
    "one_pad": "added P once: the padding is on both sides, so it is 2P ({right})",
    "rounded_up": "rounded up instead of flooring: a window that would run past the input is "
                  "dropped, so PyTorch floors a fractional size ({floored})",
    "no_plus_one": "forgot the +1: the first position of the window counts too ({right})",
    "stride_first": "divided by the stride before subtracting F: subtract F (and add 2P) "
                    "first, then divide by S, then add 1 ({right})",
    "stride_first_n": "divided by the stride before subtracting F: subtract F (and add 2P) "
                      "first, then divide by S, then add 1 ({right})",
    "no_stride": "forgot to divide by the stride S ({right})",
    "no_dilation": "used F instead of the dilated span d·(F − 1) + 1 ({right})",
}


def right_text(a: AxisOut) -> str:
    p = a.pad[0] + a.pad[1]
    pad = f" + 2{DOT}{a.pad[0]}" if a.pad[0] == a.pad[1] else f" + {p}"
    return f"({a.n} {MINUS} {a.f}{pad})/{a.s} + 1 = {a.out}"


def floored_text(a: AxisOut) -> str:
    """``(15 − 2 + 2·0)/2 + 1 = 7.5 → floor 7``: the exact size, then PyTorch's."""
    p = a.pad[0] + a.pad[1]
    pad = f" + 2{DOT}{a.pad[0]}" if a.pad[0] == a.pad[1] else f" + {p}"
    exact = Fraction(a.n - a.f + p, a.s) + 1
    shown = str(exact.numerator) if exact.denominator == 1 else f"{float(exact):.4g}"
    return f"({a.n} {MINUS} {a.f}{pad})/{a.s} + 1 = {shown} {ARROW} floor {_floor(exact)}"


def window_shape_slips(ah: AxisOut, aw: AxisOut, f_plain: tuple[int, int], depth: int,
                       y: Shape) -> list[Slip]:
    """The wrong volumes of a conv's or pool's size slips (:func:`axis_slips`), named."""
    sh, sw = axis_slips(ah, f_plain[0]), axis_slips(aw, f_plain[1])
    same = (ah.n, ah.f, ah.s, ah.pad) == (aw.n, aw.f, aw.s, aw.pad)
    right = right_text(ah) if same else f"H: {right_text(ah)}; W: {right_text(aw)}"
    floored = floored_text(ah) if same else f"H: {floored_text(ah)}; W: {floored_text(aw)}"
    return [(Shape(depth, sh[k], sw[k]), SPATIAL_TEXT[k].format(right=right, floored=floored))
            for k in sh]


def order_slips(y: Shape) -> list[Slip]:
    """A right volume written in the wrong order."""
    if not y.spatial:
        return []
    right = volume_text(y)
    return [
        (Shape(y.w, y.h, y.c), f"wrote PyTorch's C×H×W order; the notes write W×H×D, depth "
                               f"last: {right}"),
        (Shape(y.c, y.w, y.h), f"swapped width and height; the notes write W×H×D: {right}"),
    ]


def chw_typed(x: Shape) -> Shape | None:
    """The volume meant when PyTorch's C×H×W order was typed where the notes' W×H×D belongs:
    a small first number and two equal, larger ones (``3x224x224``: width 3, height 224 and
    224 maps, where 224×224×3 was meant), or None when the volume looks as meant."""
    if not x.spatial or x.h != x.c or 4 * x.w > x.h:
        return None
    return Shape(x.w, x.h, x.c)


def chw_order_text(x: Shape) -> str:
    """The hint for :func:`chw_typed`, or ''."""
    meant = chw_typed(x)
    if meant is None:
        return ""
    return (f"{volume_text(x)} is read in the notes' W×H×D order: width {x.w}, height {x.h}, "
            f"depth {x.c}; if you meant PyTorch's C×H×W ({plural(x.w, 'map')} of {x.h}×{x.c}), write "
            f"{meant.w}x{meant.h}x{meant.c}")
