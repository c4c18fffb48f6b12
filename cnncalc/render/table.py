"""A report as a table in the terminal: the layers, the totals and the diagnostics.

The layer table is drawn here rather than by rich's ``Table``: rich measured and laid out every
cell of every row, 71% of a 10,000-layer ``inspect`` (5.8 s; this writer takes a few tens of
milliseconds).  Where the table fits the terminal it is what rich's ``Table`` drew, box
characters, column rules and colours alike (``tests/test_table.py`` holds the two together);
rich still draws the title, the totals and the diagnostics.

Where it does not fit, no number is ever cut: the number columns keep their width (their
headers wrap), the formulas wrap in their column between words or, with less than
:data:`FORMULA_MIN` columns left for them, are listed under the table, the Layer and Kind
columns wrap (names after a dot), and last the cells lose their padding
(:meth:`LayerTable.layout`).  Only a terminal narrower than the number columns crops.

rich is imported inside the functions, so that ``--format json`` and the API never pay for it.
"""

from __future__ import annotations

from typing import Any

from ..records import record
from ..report import Report
from ..formulas import volume_text
from ..formatting import plural, size_bytes, thousands
from .common import (CONVENTION, color_of, formula_text, grouped, layer_list, memory_cells,
                     rf_text, shows_connections, silenced_line, summary_lines, visible)

FORMULA_MIN = 40  # the narrowest formula column; with less room the formulas go below
FORMULA_WIDTH = 48  # the formula column's least width, when the table has room for it
NAME_MIN = 8  # how narrow the Layer and Kind columns may wrap before the table crops
MARK = " ⚠"  # after the name of a layer with a diagnostic


def table(report: Report, *, formulas: bool = False, depth: int | None = None,
          memory: bool = False):
    """A rich renderable of the report: the layer table, the totals and the warnings.
    ``memory`` adds each layer's bytes kept for backward and alive after it."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[Any] = [LayerTable(report, formulas=formulas, depth=depth, memory=memory)]
    hidden = len(report.rows) - len(visible(report, depth))
    if hidden:
        parts.append(Text(f"{plural(hidden, 'nested row')} folded: "
                          f"--depth N or --expand shows them", style="dim"))
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    for label, value in summary_lines(report):
        summary.add_row(Text(label), Text(value))
    parts.append(summary)
    for d, layers in grouped(report.diagnostics):
        where = f"{d.loc}: " if d.loc and len(layers) == 1 else ""
        parts.append(Text.assemble((f"{where}{d.severity}: ", color_of(d.severity)),
                                   f"{d.code} {d.slug} ({layer_list(layers)}): {d.message}"))
    if report.silenced:
        parts.append(Text(silenced_line(report.silenced), style="dim"))
    parts.append(Text(CONVENTION, style="dim"))
    return Group(*parts)


def cell_width(text: str) -> int:
    """Terminal columns of a one-line text."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def fit(text: str, width: int) -> int:
    """How many characters of ``text`` fill at most ``width`` columns."""
    if text.isascii():
        return min(len(text), width)
    used = 0
    for i, ch in enumerate(text):
        used += cell_width(ch)
        if used > width:
            return i
    return len(text)


def wrap(text: str, width: int, breaks: str) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken after the last of ``breaks``
    that fits (a space is dropped at the break), else where the width ends.  A break after
    "; " is preferred where it leaves the line at least half full: a formula's parts
    (the shape, params, MACs) then start their lines."""
    lines = []
    for part in text.split("\n"):
        while cell_width(part) > width:
            cut = fit(part, width)
            at = max(part.rfind(b, 0, cut + (b == " ")) for b in breaks)
            clause = part.rfind("; ", 0, cut + 1) + 1
            if " " in breaks and clause > width // 2:
                at = clause
            if at > len(part) - len(part.lstrip(" ")):  # not inside a nested name's indent
                lines.append(part[:at] if part[at] == " " else part[:at + 1])
                part = part[at + 1:]
            else:
                lines.append(part[:max(cut, 1)])
                part = part[max(cut, 1):]
        lines.append(part)
    return lines


@record(slots=False)
class Layout:
    """How the layer table is drawn: each column's text width, the formula column's (None:
    no column), and the space on each side of a cell (0 only where 1 cannot fit)."""

    widths: list[int]
    formula: int | None
    pad: int = 1

    @property
    def all_widths(self) -> list[int]:
        return self.widths + ([self.formula] if self.formula is not None else [])

    @property
    def width(self) -> int:
        return outer(self.all_widths, self.pad)


class LayerTable:
    """The layer table as rich draws a ``Table`` (heavy head, one space of padding): title,
    header, one row per visible layer; wrapped or with the formulas below where it must."""

    def __init__(self, report: Report, *, formulas: bool = False, depth: int | None = None,
                 memory: bool = False):
        self.title = f"{report.name}  (input {volume_text(report.input_shape)})"
        self.heads = ["Layer", "Kind", "Output W×H×D", "Params", "MACs", "RF"]
        connections = shows_connections(report)
        if connections:
            self.heads.append("Connections")
        mem = memory_cells(report) if memory and report.memory is not None else None
        if mem is not None:
            self.heads += ["Saved", "Live"]
            where = {id(r): k for k, r in enumerate(report.rows)}
        flagged = {d.layer for d in report.diagnostics}
        rows = visible(report, depth)
        self.cells: list[list[str]] = []
        self.styled: list[tuple[bool, bool]] = []  # per row: a group (bold, cyan), flagged
        for r in rows:
            mark = r.name in flagged
            cells = ["  " * r.depth + r.name + (MARK if mark else ""), r.kind,
                     volume_text(r.shape), thousands(r.counts.params),
                     thousands(r.counts.macs), rf_text(r.rf)]
            if connections:
                cells.append(thousands(r.counts.connections))
            if mem is not None:
                got = mem[where[id(r)]]
                cells += [size_bytes(got[0]), size_bytes(got[1])] if got else ["", ""]
            self.cells.append(cells)
            self.styled.append((r.is_group, mark))
        self.formulas = ([(r.name, formula_text(r.formula)) for r in rows]
                         if formulas else None)
        self.whole, self.wrapped = self.natural()

    # -- the layout
    def natural(self) -> tuple[list[int], list[int]]:
        """Each column's width at its widest cell or header, and with its header wrapped
        between words (a header wider than its cells: "Output W×H×D")."""
        widths = [0] * len(self.heads)
        for cells in self.cells:
            for i, text in enumerate(cells):
                w = cell_width(text) if "\n" not in text else max(map(cell_width,
                                                                      text.split("\n")))
                if w > widths[i]:
                    widths[i] = w
        whole = [max(w, cell_width(h)) for w, h in zip(widths, self.heads)]
        wrapped = [max([w] + [cell_width(word) for word in h.split(" ")])
                   for w, h in zip(widths, self.heads)]
        return whole, wrapped

    def layout(self, width: int) -> Layout:
        """The layout in a terminal ``width`` wide.  What gives way, in turn, when the table
        is too wide: the headers wrap between words, the formulas wrap in their column (or,
        with less room than :data:`FORMULA_MIN`, go below the table), the Layer and Kind
        columns wrap, down to :data:`NAME_MIN` each, then the cells lose their padding, and
        last the Layer and Kind columns wrap down to half that.
        """
        plan = Layout(self.whole, self.formula_width(self.whole, width, 1))
        if plan.width <= width and (self.formulas is None or plan.formula is not None):
            return plan  # rich's Table, exactly
        narrower = self.whole[:2] + self.wrapped[2:]
        formula = self.formula_width(narrower, width, 1)
        if formula is not None:
            return Layout(narrower, formula)
        if outer(self.whole) <= width:  # the formulas go below a table that fits
            return Layout(self.whole, None)
        for pad, least in ((1, NAME_MIN), (0, NAME_MIN), (0, NAME_MIN // 2)):
            widths = narrower[:]
            for _ in range(outer(widths, pad) - width):  # the wider of the two, a column a time
                names = [i for i in (0, 1) if widths[i] > least]
                if not names:
                    break
                widths[max(names, key=lambda i: widths[i])] -= 1
            plan = Layout(widths, None, pad)
            if plan.width <= width:
                break
        return plan

    def formula_width(self, widths: list[int], width: int, pad: int) -> int | None:
        """The formula column's width beside columns of ``widths``: all it needs where there
        is room, else what is left if that is at least :data:`FORMULA_MIN` (and the longest
        word), else None: the formulas go below."""
        if self.formulas is None:
            return None
        texts = [t for _, t in self.formulas]
        natural = max([FORMULA_WIDTH, cell_width("Formula")] + [cell_width(t) for t in texts])
        room = width - outer(widths + [0], pad)
        if room >= natural:
            return natural
        longest_word = max((cell_width(w) for t in texts for w in t.split(" ")), default=0)
        return room if room >= max(FORMULA_MIN, longest_word) else None

    # -- the drawing
    def __rich_console__(self, console, options):
        from rich import box
        from rich.segment import Segment
        from rich.style import Style

        plan = self.layout(options.max_width)
        widths, formula, all_widths = plan.widths, plan.formula, plan.all_widths
        heads = self.heads + (["Formula"] if formula is not None else [])
        right = [False, False] + [True] * (len(self.heads) - 2) + [False]
        frame = box.HEAVY_HEAD.substitute(options, safe=console.safe_box)
        padded = [w + 2 * plan.pad for w in all_widths]
        title = console.render_str(self.title, style="table.title", highlight=False)
        yield from console.render(title, options.update(width=plan.width, highlight=False,
                                                        height=None, justify="left"))
        null, bold = Style(), console.get_style("bold")
        cyan, yellow = console.get_style("cyan"), console.get_style("yellow")
        line = Segment.line()
        space = " " * plan.pad

        yield Segment(frame.get_top(padded), null)
        yield line
        head_lines = [wrap(h, w, " ") for h, w in zip(heads, all_widths)]
        height = max(map(len, head_lines))
        for k in range(height):
            yield Segment(frame.head_left, null)
            for i, (lines, w) in enumerate(zip(head_lines, all_widths)):
                if i:
                    yield Segment(frame.head_vertical, null)
                at = k - (height - len(lines))  # headers sit at the bottom, as in rich
                if space:
                    yield Segment(space, bold)
                yield Segment(justify(lines[at] if at >= 0 else "", w, right[i]), bold)
                if space:
                    yield Segment(space, bold)
            yield Segment(frame.head_right, null)
            yield line
        yield Segment(frame.get_row(padded, "head", edge=True), null)
        yield line

        # Rows of plain cells at their natural width: one plain line each (most of a large
        # table); the others are drawn cell by cell, as rich's Table draws them.
        simple = formula is None and widths[:2] == self.whole[:2]
        last = len(self.cells) - 1
        for n, cells in enumerate(self.cells):
            left, vertical, end = ((frame.foot_left, frame.foot_vertical, frame.foot_right)
                                   if n == last else
                                   (frame.mid_left, frame.mid_vertical, frame.mid_right))
            group, mark = self.styled[n]
            if simple and not group and not mark and not any("\n" in c for c in cells):
                yield Segment(left + space + f"{space}{vertical}{space}".join(
                    justify(c, w, r) for c, w, r in zip(cells, widths, right)) + space + end)
                yield line
                continue
            columns = [wrap(cells[0], widths[0], ". "), wrap(cells[1], widths[1], " :")]
            columns += [c.split("\n") for c in cells[2:]]
            if formula is not None:
                columns.append(wrap(self.formulas[n][1], formula, " "))
            height = max(map(len, columns))
            for k in range(height):
                yield Segment(left, null)
                for i, (lines, w) in enumerate(zip(columns, all_widths)):
                    if i:
                        yield Segment(vertical, null)
                    text = justify(lines[k] if k < len(lines) else "", w, right[i])
                    if space:
                        yield Segment(space, null)
                    if i == 0:
                        yield from name_segments(text, group, mark and k == len(lines) - 1,
                                                 bold, yellow)
                    elif i == 1 and group:
                        yield Segment(text, cyan)
                    else:
                        yield Segment(text)
                    if space:
                        yield Segment(space, null)
                yield Segment(end, null)
                yield line
        yield Segment(frame.get_bottom(padded), null)
        yield line
        if self.formulas is not None and formula is None:
            yield from self.formulas_below(options.max_width, bold)

    def formulas_below(self, width: int, bold):
        """Each layer's formula on its own lines, when the table has no room for them."""
        from rich.segment import Segment

        shown = [(name, text) for name, text in self.formulas if text]
        if not shown:
            return
        indent = min(max(cell_width(name) for name, _ in shown) + 2, max(width // 3, 4))
        yield Segment("Formulas", bold)
        yield Segment.line()
        for name, text in shown:
            lines = wrap(text, max(width - indent, 1), " ")
            if cell_width(name) + 2 > indent:
                yield Segment(name + "\n")
                first = " " * indent
            else:
                first = name + " " * (indent - cell_width(name))
            yield Segment(first + lines[0] + "\n")
            for more in lines[1:]:
                yield Segment(" " * indent + more + "\n")


def outer(widths: list[int], pad: int = 1) -> int:
    """The width of a table whose columns hold ``widths`` of text: ``pad`` spaces on each
    side of a cell, and a border before, between and after the cells."""
    return sum(widths) + (2 * pad + 1) * len(widths) + 1


def justify(text: str, width: int, right: bool) -> str:
    pad = width - cell_width(text)
    if pad <= 0:
        return text
    return " " * pad + text if right else text + " " * pad


def name_segments(text: str, group: bool, mark: bool, bold, yellow):
    """A name cell's segments as rich's Text gives them: a group's name bold (its padding
    too), the warning mark yellow."""
    from rich.segment import Segment

    base = bold if group else None
    at = text.rfind(MARK[-1]) if mark else -1
    if at < 0:
        yield Segment(text, base)
        return
    start = at - 1 if at > 0 and text[at - 1] == " " else at
    if start:
        yield Segment(text[:start], base)
    yield Segment(text[start:at + 1], base + yellow if base else yellow)
    if at + 1 < len(text):
        yield Segment(text[at + 1:], base)
