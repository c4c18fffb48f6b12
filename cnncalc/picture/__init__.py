"""Pictures of a network: an SVG of its volumes or its graph, and a one-page HTML report.

``scene`` pairs the report's rows with the tree (the one walk); ``layout`` places them;
``svg`` writes the picture; ``html`` the report page.  Nothing here computes a count.
"""

from __future__ import annotations

from .layout import Style, lay_out
from .scene import make_plan
from .svg import to_svg


def draw(spec, report, *, style: str = "auto", depth: int | None = None,
         error: str = "") -> str:
    """The SVG of ``report`` (``error``: why a partial report stopped, marked in red)."""
    return to_svg(lay_out(make_plan(spec, report, depth, error), Style(style)))


def page(spec, report, *, style: str = "auto", depth: int | None = None,
         error: str = "") -> str:
    """The self-contained HTML report of ``report``."""
    from .html import to_html

    picture = lay_out(make_plan(spec, report, depth, error), Style(style))
    return to_html(spec, report, picture, error)


__all__ = ["Style", "draw", "page"]
