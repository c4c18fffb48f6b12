"""Memory over execution order, as an inline SVG for the HTML report.

Two curves over one axis of steps: the left half is the forward pass (one step per op), the
right half the backward pass (the ops in reverse), then the optimizer's step.  Inference
(eval, no grad) runs only the forward half; one training step runs all of it.  Each peak is a
dot, and the legend above names its bytes and its layer.  Text is 11 px in the pictures'
monospace font (0.602 em a character), so its width is known before a browser draws it.
"""

from __future__ import annotations

from html import escape

from ..formatting import size_bytes
from .svg import FONT_FAMILY

FONT = 11
CHAR = 0.602 * FONT
LINE = 16
MAX_POINTS = 1200  # a longer curve keeps each bucket's largest value
INFERENCE, TRAINING = "#2f6fb2", "#c2562b"


def _thin(values: list[int]) -> list[tuple[int, int]]:
    """(step, bytes) pairs, at most MAX_POINTS: each bucket's largest, so no peak is lost."""
    if len(values) <= MAX_POINTS:
        return list(enumerate(values))
    size = -(-len(values) // MAX_POINTS)
    out = []
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        k = max(range(len(chunk)), key=chunk.__getitem__)
        out.append((start + k, chunk[k]))
    return out


def memory_svg(m) -> str:
    """The plot of a :class:`cnncalc.memory.MemoryEstimate`."""
    inference = [b for _, b in m.inference_curve]
    training = [b for _, b in m.training_curve]
    n = len(inference)
    steps = max(len(training), 2)
    legend = [
        (INFERENCE, f"inference: peak {size_bytes(m.inference_peak)} at "
                    f"{m.inference_peak_layer}"),
        (TRAINING, f"one training step ({m.optimizer}, {m.precision}): peak "
                   f"{size_bytes(m.training_peak)} at {m.training_peak_at}"),
    ]
    top = max(m.training_peak, m.inference_peak, 1)
    label_top = size_bytes(top)
    left = 8 + CHAR * max(len(label_top), 1) + 8
    text_width = max(CHAR * (len(t) + 3) for _, t in legend)
    width = max(640, left + text_width + 16)
    plot_w = width - left - 16
    y0 = 8 + 2 * LINE + 8  # the plot's top
    plot_h = 160
    height = y0 + plot_h + 8 + LINE + 4

    def x(step: int) -> float:
        return left + plot_w * step / (steps - 1)

    def y(value: int) -> float:
        return y0 + plot_h * (1 - value / top)

    def path(points) -> str:
        return "M" + " L".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" font-family="{escape(FONT_FAMILY)}" '
           f'font-size="{FONT}" role="img" aria-label="memory over execution order">']
    for k, (color, text) in enumerate(legend):
        base = 8 + LINE * k + FONT
        out.append(f'<rect x="8" y="{base - FONT + 3:.1f}" width="{CHAR * 2:.1f}" height="3" '
                   f'fill="{color}"/>')
        out.append(f'<text x="{8 + CHAR * 3:.1f}" y="{base:.1f}">{escape(text)}</text>')
    # axes: 0 and the top value on the left; the phases below
    out.append(f'<rect x="{left:.1f}" y="{y0:.1f}" width="{plot_w:.1f}" height="{plot_h}" '
               f'fill="none" stroke="#d9e2ec"/>')
    out.append(f'<text x="8" y="{y0 + FONT:.1f}">{escape(label_top)}</text>')
    out.append(f'<text x="{left - 8 - CHAR:.1f}" y="{y0 + plot_h:.1f}">0</text>')
    if n:
        mid = x(n - 1) if steps > n else left + plot_w / 2
        out.append(f'<path d="M{mid:.1f},{y0:.1f} L{mid:.1f},{y0 + plot_h:.1f}" '
                   f'stroke="#d9e2ec" stroke-dasharray="3 3"/>')
        below = y0 + plot_h + 4 + FONT
        out.append(f'<text x="{left:.1f}" y="{below:.1f}">forward →</text>')
        back = "← backward, then the optimizer's step"
        out.append(f'<text x="{max(mid + 4, left + CHAR * 11):.1f}" y="{below:.1f}">'
                   f'{escape(back)}</text>')
    for color, values, peak in ((TRAINING, training, m.training_peak),
                                (INFERENCE, inference, m.inference_peak)):
        if not values:
            continue
        out.append(f'<path d="{path(_thin(values))}" fill="none" stroke="{color}" '
                   f'stroke-width="1.5"/>')
        at = values.index(peak) if peak in values else max(range(len(values)),
                                                            key=values.__getitem__)
        out.append(f'<circle cx="{x(at):.1f}" cy="{y(values[at]):.1f}" r="3" '
                   f'fill="{color}"><title>{escape(size_bytes(values[at]))}</title></circle>')
    out.append("</svg>")
    return "\n".join(out)
