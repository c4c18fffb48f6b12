"""``cnncalc sweep --plot``: every evaluated point and the front, as one inline SVG (no
plotting library).

The axes are the first two ``--pareto`` figures (macs and params without one).  A million
points cannot each be an SVG element: the plot area is a grid of 2-pixel cells and every
point is drawn as the cell it falls in (one ``rect`` per occupied cell, grey for points that
fail --where, blue for those that pass), so every point shows and the file stays small.
The front is drawn point by point, joined by a step line (the staircase of a minimised
front).
"""

from __future__ import annotations

import math
from html import escape

from ..sweep import Result
from .layout import CHAR, FONT
from .svg import FONT_FAMILY

WIDTH, HEIGHT = 720.0, 480.0
LEFT, RIGHT, TOP, BOTTOM = 96.0, 24.0, 40.0, 64.0
CELL = 2.0


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi + step * 1e-9:
        out.append(v)
        v += step
    return out


def _short(v: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            text = f"{v / scale:.3g}{unit}"
            return text
    return f"{v:.3g}"


def plot_svg(result: Result) -> str:
    import numpy as np

    names = [o.field for o in result.objectives[:2]] or ["macs", "params"]
    labels = [o.label for o in result.objectives[:2]] or names
    possible = result.possible.nonzero()[0]
    xs_all = result.field(names[0]).astype(float)
    ys_all = result.field(names[1]).astype(float)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cnncalc sweep" '
           f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="{WIDTH:g}" height="{HEIGHT:g}" '
           f'font-family="{escape(FONT_FAMILY)}" font-size="{FONT:g}">',
           f'<style>text {{ font-family: {FONT_FAMILY}; font-size: {FONT:g}px; '
           f'fill: #1f2933; white-space: pre; }} text.title {{ font-weight: bold; }}</style>',
           f'<rect x="0" y="0" width="{WIDTH:g}" height="{HEIGHT:g}" fill="#ffffff"/>']
    title = (f"{result.spec_name}: {result.evaluated:,} points, {len(possible):,} possible, "
             f"{int(result.passed.sum()):,} pass, front {len(result.front):,}")
    max_chars = int((WIDTH - 16) / CHAR)
    if len(title) > max_chars:
        title = title[:max_chars - 1] + "…"
    out.append(f'<text class="title" x="8" y="20">{escape(title)}</text>')
    if len(possible) == 0:
        out.append(f'<text x="{LEFT:g}" y="{TOP + ph / 2:g}">no possible point</text></svg>')
        return "\n".join(out) + "\n"
    xs, ys = xs_all[possible], ys_all[possible]
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = float(ys.min()), float(ys.max())
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - 1, y1 + 1
    pad_x, pad_y = (x1 - x0) * 0.03, (y1 - y0) * 0.03
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y

    def px(v):
        return LEFT + (v - x0) / (x1 - x0) * pw

    def py(v):
        return TOP + ph - (v - y0) / (y1 - y0) * ph

    out.append(f'<rect x="{LEFT:g}" y="{TOP:g}" width="{pw:g}" height="{ph:g}" fill="none" '
               f'stroke="#9aa5b1" stroke-width="1"/>')
    for v in _ticks(x0, x1):
        x = px(v)
        if LEFT <= x <= LEFT + pw:
            out.append(f'<path d="M{x:.1f} {TOP + ph:g}v4" stroke="#9aa5b1"/>')
            text = _short(v)
            out.append(f'<text x="{x:.1f}" y="{TOP + ph + 16:g}" text-anchor="middle">'
                       f'{escape(text)}</text>')
    for v in _ticks(y0, y1):
        y = py(v)
        if TOP <= y <= TOP + ph:
            out.append(f'<path d="M{LEFT - 4:g} {y:.1f}h4" stroke="#9aa5b1"/>')
            out.append(f'<text x="{LEFT - 8:g}" y="{y + 4:.1f}" text-anchor="end">'
                       f'{escape(_short(v))}</text>')
    out.append(f'<text x="{LEFT + pw / 2:g}" y="{HEIGHT - 30:g}" text-anchor="middle">'
               f'{escape(labels[0])}</text>')
    out.append(f'<text x="{LEFT:g}" y="{TOP - 6:g}" text-anchor="middle">'
               f'{escape(labels[1])}</text>')
    # every possible point, as the cell it falls in
    passed = result.passed[possible]
    cx = np.minimum(((xs - x0) / (x1 - x0) * pw / CELL).astype(np.int64), int(pw / CELL) - 1)
    cy = np.minimum(((y1 - ys) / (y1 - y0) * ph / CELL).astype(np.int64), int(ph / CELL) - 1)
    for flag, colour in ((False, "#c5ccd3"), (True, "#4c8bf5")):
        sel = passed == flag
        cells = np.unique(np.stack([cx[sel], cy[sel]], axis=1), axis=0) if sel.any() else []
        parts = [f"M{LEFT + a * CELL:g} {TOP + b * CELL:g}h{CELL:g}v{CELL:g}h-{CELL:g}z"
                 for a, b in cells]
        if parts:
            out.append(f'<path class="{"pass" if flag else "fail"}" fill="{colour}" '
                       f'd="{"".join(parts)}"/>')
    front = result.front
    if len(front):
        fx, fy = xs_all[front], ys_all[front]
        order = np.argsort(fx, kind="stable")
        pts = [(px(fx[i]), py(fy[i])) for i in order]
        d = f"M{pts[0][0]:.1f} {pts[0][1]:.1f}" + "".join(
            f"H{x:.1f}V{y:.1f}" for x, y in pts[1:])
        out.append(f'<path class="front-line" d="{d}" fill="none" stroke="#d9480f" '
                   f'stroke-width="1.5"/>')
        for x, y in pts:
            out.append(f'<circle class="front" cx="{x:.1f}" cy="{y:.1f}" r="3" '
                       f'fill="#d9480f"/>')
    # legend, under the plot, right-aligned
    legend = [("#c5ccd3", "fails --where"), ("#4c8bf5", "passes"), ("#d9480f", "front")]
    x = LEFT + pw
    y = HEIGHT - 12
    for colour, text in reversed(legend):
        x -= len(text) * CHAR + 4
        out.append(f'<text x="{x:.1f}" y="{y:g}">{escape(text)}</text>')
        x -= 14
        out.append(f'<rect x="{x:.1f}" y="{y - 9:g}" width="10" height="10" fill="{colour}"/>')
        x -= 14
    out.append("</svg>")
    return "\n".join(out) + "\n"
