"""A laid-out picture → SVG text: the same picture gives the same bytes.

Numbers are written with one decimal at most; attributes in a fixed order; no time, no
random ids.  Classes name what a shape is (``layer``, ``merge``, ``shortcut``, ``frame``) so
that a page's script and the tests find them; the style sheet inside the file colours them.
"""

from __future__ import annotations

from html import escape

from .layout import FONT, Circle, Curve, Group, Label, Picture, Poly, Rect

FONT_FAMILY = "'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"

STYLE = f"""
text {{ font-family: {FONT_FAMILY}; font-size: {FONT:g}px; fill: #1f2933; white-space: pre; }}
text.name {{ font-weight: bold; }}
text.dim {{ fill: #52606d; }}
text.title {{ font-weight: bold; }}
text.frame {{ fill: #52606d; }}
text.kernel {{ fill: #b44d12; }}
text.error {{ fill: #c81e1e; }}
polygon, rect {{ stroke-width: 0.8; stroke-linejoin: round; }}
.front.weights {{ fill: #9ec5e8; stroke: #2c5f8a; }}
.top.weights {{ fill: #c9def2; stroke: #2c5f8a; }}
.side.weights {{ fill: #6fa3d2; stroke: #2c5f8a; }}
.front.plain {{ fill: #cfe3c8; stroke: #4a7a3f; }}
.top.plain {{ fill: #e4f0df; stroke: #4a7a3f; }}
.side.plain {{ fill: #a9cd9d; stroke: #4a7a3f; }}
.front.vector {{ fill: #dccbe8; stroke: #6a4a86; }}
.top.vector {{ fill: #ece2f3; stroke: #6a4a86; }}
.side.vector {{ fill: #bfa5d3; stroke: #6a4a86; }}
.front.input {{ fill: #e8e8e8; stroke: #616e7c; }}
.top.input {{ fill: #f5f5f5; stroke: #616e7c; }}
.side.input {{ fill: #cbd2d9; stroke: #616e7c; }}
.front.error, .top.error, .side.error {{ fill: #fde2e2; stroke: #c81e1e; stroke-width: 1.6;
  stroke-dasharray: 4 2; }}
polygon.kernel {{ fill: #f7b37c; stroke: #b44d12; fill-opacity: 0.9; pointer-events: none; }}
.ghost {{ fill: #ffffff; stroke: #9aa5b1; }}
.projection {{ fill: none; stroke: #b44d12; stroke-width: 0.8; stroke-dasharray: 3 2;
  pointer-events: none; }}
.edge {{ fill: none; stroke: #52606d; stroke-width: 1.2; }}
svg.graph .edge {{ marker-end: url(#arrow); }}
.shortcut-line {{ fill: none; stroke: #d0503c; stroke-width: 1.6; }}
rect.frame {{ fill: none; stroke: #9aa5b1; stroke-dasharray: 5 3; }}
.merge circle {{ fill: #ffffff; stroke: #1f2933; stroke-width: 1.2; }}
.merge .merge-error {{ fill: #fde2e2; stroke: #c81e1e; stroke-width: 1.6; }}
.sign {{ fill: none; stroke: #1f2933; stroke-width: 1.4; }}
.layer, .merge {{ cursor: pointer; }}
.hl > polygon, .hl > rect.front {{ stroke: #e8590c; stroke-width: 2.4; }}
.hl > circle {{ stroke: #e8590c; stroke-width: 2.4; }}
g.frame.hl > rect.frame {{ stroke: #e8590c; stroke-width: 2; }}
"""

ARROW = ('<marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
         'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#52606d"/></marker>')


def num(x: float) -> str:
    """One decimal at most, no "-0"."""
    r = round(x, 1)
    if r == 0:
        return "0"
    text = f"{r:.1f}"
    return text[:-2] if text.endswith(".0") else text


def attrs_text(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{escape(v)}"' for k, v in attrs.items() if v != "")


def write(node, out: list[str], indent: str) -> None:
    if isinstance(node, Group):
        out.append(f'{indent}<g class="{node.role}"{attrs_text(node.attrs)}>')
        for child in node.children:
            write(child, out, indent + " ")
        out.append(f"{indent}</g>")
    elif isinstance(node, Label):
        out.append(f'{indent}<text class="{node.role}" x="{num(node.x)}" y="{num(node.y)}">'
                   f"{escape(node.text)}</text>")
    elif isinstance(node, Poly):
        points = " ".join(f"{num(x)},{num(y)}" for x, y in node.points)
        out.append(f'{indent}<polygon class="{node.role}" points="{points}"/>')
    elif isinstance(node, Rect):
        out.append(f'{indent}<rect class="{node.role}" x="{num(node.x)}" y="{num(node.y)}" '
                   f'width="{num(node.w)}" height="{num(node.h)}" rx="3"/>')
    elif isinstance(node, Circle):
        out.append(f'{indent}<circle class="{node.role}" cx="{num(node.x)}" cy="{num(node.y)}" '
                   f'r="{num(node.r)}"/>')
    elif isinstance(node, Curve):
        d = " ".join(cmd[0] + ",".join(num(c) for c in cmd[1:]) for cmd in node.commands)
        out.append(f'{indent}<path class="{node.role}" d="{d}"/>')
    else:  # pragma: no cover - the layout makes only the shapes above
        raise TypeError(f"cannot write {type(node).__name__}")


def to_svg(picture: Picture, standalone: bool = True) -> str:
    """The SVG document (``standalone``: with the XML declaration, for a file of its own)."""
    w, h = num(picture.width), num(picture.height)
    out = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    # inside a page the size is a style, so that print can scale it to the paper
    size = f'width="{w}" height="{h}"' if standalone else f'style="width: {w}px"'
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" class="cnncalc {picture.style}" '
               f'viewBox="0 0 {w} {h}" {size} '
               f'font-family="{escape(FONT_FAMILY)}" font-size="{FONT:g}">')
    out.append(f"<title>{escape(picture.title)}</title>")
    out.append(f"<defs>{ARROW}</defs>")
    out.append(f"<style>{STYLE}</style>")
    out.append(f'<rect class="paper" x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>')
    for node in picture.body:
        write(node, out, "")
    out.append("</svg>")
    return "\n".join(out) + "\n"
