"""A plan → positioned shapes and labels: a recursive series-parallel layout.

Every spec is series-parallel (sequences, residuals, branches), so each item is laid out from
the sizes of its parts, and no two parts ever cross: a sequence puts its items one after the
other along the flow, a split puts its arms side by side across it.  No graph-layout library,
no graphviz.

Sizes are measured along the flow (``u``) and across it (``v``, above and below the item's
axis, the line that enters and leaves it).  Two looks share that layout:

* ``volumes``: the flow runs left to right; each output volume is a 3-D box whose sides grow
  with W, H and D on a log scale (224 and 7 both read), labelled below, the kernel a small box
  on its input; residual shortcuts arc above.
* ``graph``: the flow runs down; compact labelled boxes and arrows, for deep nets.

Label widths are predicted, not measured: DejaVu Sans Mono advances 0.602 em per character,
so a text box is known before it is drawn and labels are placed where nothing else is.
Coordinates are rounded to 0.1 in the writer, so the same plan gives the same bytes.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field
from enum import Enum

from ..layers.base import Window
from ..network import Merge
from ..render.common import output_text
from ..formatting import short
from ..formatting import thousands as count
from ..formulas import Shape, volume_text
from .scene import Box, Frame, Plan, Split

FONT = 11.0  # px
EM = 0.602  # DejaVu Sans Mono's advance, in em
CHAR = EM * FONT
LINE = 14.0  # baseline to baseline
ASCENT = 0.95 * FONT  # a little above the font's own 0.928, so predicted boxes contain real ones
DESCENT = 0.25 * FONT
MARGIN = 16.0


class Style(str, Enum):
    AUTO = "auto"
    VOLUMES = "volumes"
    GRAPH = "graph"

    def __str__(self) -> str:
        return self.value


FITS = 2400.0  # px: a volumes picture wider than this is drawn as a graph under "auto"


def text_width(text: str) -> float:
    """Predicted width: a wide (East Asian) character takes two cells, a combining one none."""
    cells = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        cells += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return cells * CHAR


# --- what comes out: shapes in picture coordinates ------------------------------------------

@dataclass(frozen=True, slots=True)
class Poly:
    points: tuple[tuple[float, float], ...]
    role: str


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    role: str


@dataclass(frozen=True, slots=True)
class Circle:
    x: float
    y: float
    r: float
    role: str


@dataclass(frozen=True, slots=True)
class Curve:
    """Path commands in picture coordinates: ("M", x, y), ("L", x, y), ("C", x1, y1, x2, y2, x, y)."""

    commands: tuple[tuple, ...]
    role: str


@dataclass(frozen=True, slots=True)
class Label:
    x: float  # left end
    y: float  # baseline
    text: str
    role: str  # "name", "text", "dim", "error", "title", "kernel"


@dataclass(slots=True)
class Group:
    role: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list = field(default_factory=list)


@dataclass(slots=True)
class Picture:
    width: float
    height: float
    title: str
    style: Style
    body: list


# --- labels --------------------------------------------------------------------------------




def kernel_text(win: Window) -> str:
    """``F×F/S`` as the papers write a window (W first, as the notes write volumes)."""
    size = f"{win.w.k}×{win.h.k}" if win.w.k != win.h.k else f"{win.w.k}×{win.w.k}"
    if win.w.s == win.h.s:
        stride = "" if win.w.s == 1 or not float(win.w.s).is_integer() else f"/{win.w.s}"
    else:
        stride = f"/{win.w.s}×{win.h.s}"
    return size + stride


def counts_line(rows) -> str:
    """``params · MACs`` of the rows a box stands for, each as the report states it."""
    params = [count(r.counts.params) for r in rows if r.counts.params]
    macs = [short(r.counts.macs) for r in rows if r.counts.macs]
    parts = []
    if params:
        parts.append(" + ".join(params) + " params")
    if macs:
        parts.append(" + ".join(macs) + " MACs")
    return " · ".join(parts)


def wrap(text: str, width: int = 44, most: int = 5) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        while len(word) > width:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][:width - 1] + "…"
    return lines


def box_lines(box: Box, with_kernel: bool) -> list[tuple[str, str]]:
    """A box's label: name, kinds, volume, counts (graph boxes add the kernel to the kinds)."""
    kinds = " + ".join(box.kinds)
    if with_kernel and box.kernel is not None:
        first, *rest = box.kinds
        kinds = " + ".join([f"{first} {kernel_text(box.kernel)}", *rest])
    if box.times > 1:
        kinds = f"{kinds} ×{box.times}"
    lines = [(box.name, "name"), (kinds, "dim")]
    if box.shape is not None:
        lines.append((volume_text(box.shape), "text"))
    if box.counted and not box.is_input:
        counts = counts_line(box.counted)
        if counts:
            lines.append((counts, "text"))
    if box.error:
        lines += [(line, "error") for line in wrap("error: " + box.error)]
    return lines


def merge_lines(split: Split) -> list[tuple[str, str]]:
    word = "concat" if split.merge == Merge.CONCAT else "add"
    kinds = " + ".join([word] + [r.kind for r in split.after])
    head = kinds
    if split.shape is not None and not split.error:
        head = f"{kinds} {volume_text(split.shape)}"
    lines = [(head, "error" if split.error else "dim")]
    if split.error:
        lines += [(line, "error") for line in wrap("error: " + split.error)]
    return lines


def tone_of(box: Box) -> str:
    """The fill: by what the box holds (weights or none, a vector), never by kind name."""
    if box.error:
        return "error"
    if box.is_input:
        return "input"
    if any(r.counts.params for r in box.counted):
        return "weights"
    if box.shape is not None and not box.shape.spatial:
        return "vector"
    return "plain"


def frame_title(frame: Frame) -> str:
    return f"{frame.name} · {frame.kind} → {volume_text(frame.shape)}"


def lines_width(lines) -> float:
    return max((text_width(t) for t, _ in lines), default=0.0)


# --- sizes ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Size:
    length: float  # along the flow
    above: float  # across, before the axis (up in volumes, left in graph)
    below: float
    entry: float  # where the axis enters, from the start
    exit: float  # where it leaves


class Look:
    """What differs between the two styles: boxes, merges, frames, and the orientation."""

    along_x = True
    gap = 24.0  # between items of a sequence
    arm_gap = 18.0  # between arms of a split
    fork = 26.0  # from a split's entry to its arms
    join = 18.0  # from its arms to the merge
    radius = 7.0
    pad = 8.0
    wrap_at = 1500.0
    shortcut_side = -1  # residual shortcuts on the "above" side

    def xy(self, u: float, v: float) -> tuple[float, float]:
        return (u, v) if self.along_x else (v, u)

    # boxes
    def box_size(self, box: Box, hosts: Window | None) -> Size:
        raise NotImplementedError

    def draw_box(self, box: Box, u: float, v: float, size: Size, out: list) -> None:
        raise NotImplementedError

    def draw_kernel(self, host: Box, hu: float, hsize: Size, box: Box, u: float, v: float,
                    size: Size, out: list) -> None:
        pass

    # merges: the circle, and its label beside it
    def merge_size(self, split: Split) -> tuple[float, float, float]:
        """(length after the join, above, below)."""
        lines = merge_lines(split)
        r = self.radius
        width = lines_width(lines)
        if self.along_x:  # first line above the axis to the right, the rest below
            return (2 * r + 4 + width, max(r, 4 + DESCENT + ASCENT),
                    max(r, 4 + LINE * (len(lines) - 1)))
        return (2 * r + max(0.0, LINE * (len(lines) - 1)), r, r + 5 + width)

    def draw_merge(self, split: Split, um: float, v: float, out: list) -> None:
        r = self.radius
        x, y = self.xy(um, v)
        role = "merge-error" if split.error else "merge"
        out.append(Circle(x, y, r, role))
        if split.merge == Merge.CONCAT:  # two bars: maps stacked side by side
            for d in (-2.0, 2.0):
                a = self.xy(um + d, v - r + 2.5) if self.along_x else self.xy(um - r + 2.5, v + d)
                b = self.xy(um + d, v + r - 2.5) if self.along_x else self.xy(um + r - 2.5, v + d)
                out.append(Curve((("M", *a), ("L", *b)), "sign"))
        else:  # a plus
            a, b = self.xy(um - r + 2.5, v), self.xy(um + r - 2.5, v)
            c, d = self.xy(um, v - r + 2.5), self.xy(um, v + r - 2.5)
            out.append(Curve((("M", *a), ("L", *b), ("M", *c), ("L", *d)), "sign"))
        lines = merge_lines(split)
        for i, (text, role) in enumerate(lines):
            if self.along_x:
                base = v - 4 - DESCENT if i == 0 else v + 4 + ASCENT + LINE * (i - 1)
                out.append(Label(um + r + 4, base, text, role))
            else:
                out.append(Label(v + r + 5, um + (ASCENT - DESCENT) / 2 + LINE * i, text, role))

    # frames
    def frame_size(self, frame: Frame, inner: Size) -> Size:
        raise NotImplementedError

    def frame_inner(self, frame: Frame, size: Size, inner: Size) -> float:
        """Where the inner sequence starts along the flow."""
        raise NotImplementedError

    def draw_frame_title(self, frame: Frame, u: float, v: float, size: Size, out: list) -> None:
        raise NotImplementedError


class Volumes(Look):
    along_x = True
    shortcut_side = -1

    @staticmethod
    def cuboid(shape: Shape | None) -> tuple[float, float, float, float]:
        """(thickness along x for D, height for H, oblique x and y for W), on log scales."""
        if shape is None:
            return 14.0, 30.0, 6.0, 5.0
        if not shape.spatial:  # a vector: a thin slab as tall as its length reads
            return 5.0, 8.0 + 6.0 * math.log2(shape.c), 3.0, 2.5
        depth = 3.0 + 4.5 * math.log2(shape.c)
        height = 8.0 + 9.0 * math.log2(shape.h)
        oblique = 3.0 + 4.5 * math.log2(shape.w)
        return depth, height, 0.8 * oblique, 0.6 * oblique

    def box_size(self, box: Box, hosts: Window | None) -> Size:
        dx, dy, ox, oy = self.cuboid(box.shape)
        stack = 4.0 * min(box.times - 1, 2)
        drawn = dx + ox + stack
        lines = box_lines(box, with_kernel=False)
        width = max(drawn, lines_width(lines))
        above = dy / 2 + oy + stack
        if hosts is not None:
            width = max(width, text_width(kernel_text(hosts)))
            above += 4 + LINE
        entry = (width - drawn) / 2
        return Size(width, above, dy / 2 + 4 + LINE * len(lines), entry, entry + dx + ox / 2)

    def faces(self, x: float, y: float, dx: float, dy: float, ox: float, oy: float):
        """Front, top and side of a box whose front face's left edge is at x, centred on y."""
        t, b = y - dy / 2, y + dy / 2
        front = ((x, t), (x + dx, t), (x + dx, b), (x, b))
        top = ((x, t), (x + ox, t - oy), (x + dx + ox, t - oy), (x + dx, t))
        side = ((x + dx, t), (x + dx + ox, t - oy), (x + dx + ox, b - oy), (x + dx, b))
        return front, top, side

    def draw_box(self, box: Box, u: float, v: float, size: Size, out: list) -> None:
        dx, dy, ox, oy = self.cuboid(box.shape)
        x = u + size.entry
        tone = tone_of(box)
        for k in range(min(box.times - 1, 2), 0, -1):  # a repeat drawn once: its copies behind
            front, top, side = self.faces(x + 4 * k, v - 4 * k, dx, dy, ox, oy)
            out.append(Poly(front + side[2:] + side[1:2] + top[1:2], "ghost"))
        front, top, side = self.faces(x, v, dx, dy, ox, oy)
        out.append(Poly(front, f"front {tone}"))
        out.append(Poly(top, f"top {tone}"))
        out.append(Poly(side, f"side {tone}"))
        lines = box_lines(box, with_kernel=False)
        centre = u + size.length / 2
        for i, (text, role) in enumerate(lines):
            out.append(Label(centre - text_width(text) / 2, v + dy / 2 + 4 + ASCENT + LINE * i,
                             text, role))

    def draw_kernel(self, host: Box, hu: float, hsize: Size, box: Box, u: float, v: float,
                    size: Size, out: list) -> None:
        """The kernel as a small box inside its input, and the two lines to what it makes."""
        hdx, hdy, hox, hoy = self.cuboid(host.shape)
        win = box.kernel
        kw, kh = (float(win.w.k), float(win.h.k))
        # the volumes' log scales, kept inside the input: 80% of its H and of its W
        kdy = min(8.0 + 9.0 * math.log2(max(kh, 1.0)), 0.8 * hdy)
        kob = min(3.0 + 4.5 * math.log2(max(kw, 1.0)), 0.8 * (hox / 0.8))
        kox, koy = 0.8 * kob, 0.6 * kob
        kdx = hdx
        hx = hu + hsize.entry
        # set into the volume, halfway back along W, in its upper half
        x = hx + (hox - kox) / 2
        y = v - (hoy - koy) / 2 - hdy / 2 + kdy / 2 + min(4.0, (hdy - kdy) / 2)
        front, top, side = self.faces(x, y, kdx, kdy, kox, koy)
        out.append(Poly(front, "front kernel"))
        out.append(Poly(top, "top kernel"))
        out.append(Poly(side, "side kernel"))
        dx, dy, ox, oy = self.cuboid(box.shape)
        tx = u + size.entry + ox / 2
        ty = v - oy / 2 - dy / 6
        out.append(Curve((("M", x + kdx + kox, y - koy - kdy / 2), ("L", tx, ty),
                          ("L", x + kdx, y + kdy / 2)), "projection"))
        text = kernel_text(win)
        out.append(Label(hu + hsize.length / 2 - text_width(text) / 2,
                         v - hdy / 2 - hoy - 4 - DESCENT - 4 * min(host.times - 1, 2),
                         text, "kernel"))

    def frame_size(self, frame: Frame, inner: Size) -> Size:
        p = self.pad
        title = text_width(frame_title(frame))
        length = max(inner.length, title) + 2 * p
        return Size(length, inner.above + p + LINE + 2, inner.below + p,
                    p + inner.entry, p + inner.exit)

    def frame_inner(self, frame: Frame, size: Size, inner: Size) -> float:
        return self.pad

    def draw_frame_title(self, frame: Frame, u: float, v: float, size: Size, out: list) -> None:
        out.append(Label(u + self.pad, v - size.above + 3 + ASCENT, frame_title(frame), "frame"))


class Graph(Look):
    along_x = False
    gap = 22.0
    arm_gap = 16.0
    fork = 20.0
    join = 14.0
    wrap_at = 1800.0
    shortcut_side = 1  # shortcuts to the right of the main path
    title_room = 4 + LINE + 4

    def box_size(self, box: Box, hosts: Window | None) -> Size:
        lines = box_lines(box, with_kernel=True)
        width = lines_width(lines) + 14
        height = LINE * len(lines) + 8
        stack = 3.0 * min(box.times - 1, 2)  # a repeat drawn once: its copies behind
        return Size(height + stack, width / 2, width / 2 + stack, 0.0, height)

    def draw_box(self, box: Box, u: float, v: float, size: Size, out: list) -> None:
        stack = 3.0 * min(box.times - 1, 2)
        width = size.above + size.below - stack
        height = size.length - stack
        for k in range(int(stack // 3), 0, -1):
            out.append(Rect(v - size.above + 3 * k, u + 3 * k, width, height, "ghost"))
        out.append(Rect(v - size.above, u, width, height, f"front {tone_of(box)}"))
        for i, (text, role) in enumerate(box_lines(box, with_kernel=True)):
            out.append(Label(v - size.above + 7, u + 4 + ASCENT + LINE * i, text, role))

    def frame_size(self, frame: Frame, inner: Size) -> Size:
        p = self.pad
        title = text_width(frame_title(frame))
        # the title sits right of the axis, so the line into the frame never crosses it
        below = max(inner.below + p, 6 + title + p)
        return Size(self.title_room + inner.length + p, inner.above + p, below,
                    self.title_room + inner.entry, self.title_room + inner.exit)

    def frame_inner(self, frame: Frame, size: Size, inner: Size) -> float:
        return self.title_room

    def draw_frame_title(self, frame: Frame, u: float, v: float, size: Size, out: list) -> None:
        out.append(Label(v + 6, u + 4 + ASCENT, frame_title(frame), "frame"))


# --- the recursive layout ------------------------------------------------------------------

class _Layout:
    def __init__(self, look: Look):
        self.look = look
        self.sizes: dict[int, Size] = {}
        self.hosts: dict[int, Window] = {}  # a box → the kernel drawn on it
        self.ids = 0

    # measuring, bottom-up
    def measure_chain(self, items: list) -> Size:
        if not items:
            return Size(0.0, 2.0, 2.0, 0.0, 0.0)
        for a, b in zip(items, items[1:]):
            if isinstance(a, Box) and isinstance(b, Box) and b.kernel is not None \
                    and a.shape is not None and a.shape.spatial and self.look.along_x:
                self.hosts[id(a)] = b.kernel
        sizes = [self.measure(item) for item in items]
        length = sum(s.length for s in sizes) + self.look.gap * (len(sizes) - 1)
        exit_ = length - sizes[-1].length + sizes[-1].exit
        return Size(length, max(s.above for s in sizes), max(s.below for s in sizes),
                    sizes[0].entry, exit_)

    def measure(self, item) -> Size:
        if isinstance(item, Box):
            size = self.look.box_size(item, self.hosts.get(id(item)))
        elif isinstance(item, Frame):
            inner = self.measure_chain(item.items)
            self.sizes[id(item.items)] = inner
            size = self.look.frame_size(item, inner)
        else:
            size = self.measure_split(item)
        self.sizes[id(item)] = size
        return size

    def arm_offsets(self, split: Split, sizes: list[Size]) -> list[float]:
        look = self.look
        if split.kind == "residual" and len(sizes) == 2:
            main, short = sizes
            if look.shortcut_side < 0:
                return [0.0, -(main.above + look.arm_gap + short.below)]
            return [0.0, main.below + look.arm_gap + short.above]
        offsets = [0.0]
        for prev, nxt in zip(sizes, sizes[1:]):
            offsets.append(offsets[-1] + prev.below + look.arm_gap + nxt.above)
        axis = offsets[(len(offsets) - 1) // 2]
        return [o - axis for o in offsets]

    def measure_split(self, split: Split) -> Size:
        look = self.look
        sizes = []
        for arm in split.arms:
            size = self.measure_chain(arm.items)
            self.sizes[id(arm.items)] = size
            sizes.append(size)
        offsets = self.arm_offsets(split, sizes)
        longest = max((s.length for s in sizes), default=0.0)
        tail, m_above, m_below = look.merge_size(split)
        join = look.fork + longest + look.join
        length = join + tail
        above = max([m_above] + [s.above - o for s, o in zip(sizes, offsets)])
        below = max([m_below] + [s.below + o for s, o in zip(sizes, offsets)])
        return Size(length, above, below, 0.0, join + 2 * look.radius)

    # drawing, top-down
    def new_id(self) -> str:
        self.ids += 1
        return f"b{self.ids}"

    def draw_chain(self, items: list, u: float, v: float, out: list) -> None:
        look = self.look
        sizes = [self.sizes[id(item)] for item in items]
        starts = []
        at = u
        for size in sizes:
            starts.append(at)
            at += size.length + look.gap
        for i in range(len(items) - 1):  # edges first, so that boxes cover their ends
            a = look.xy(starts[i] + sizes[i].exit, v)
            b = look.xy(starts[i + 1] + sizes[i + 1].entry, v)
            out.append(Curve((("M", *a), ("L", *b)), "edge"))
        for i, item in enumerate(items):
            host = items[i - 1] if i and id(items[i - 1]) in self.hosts else None
            self.draw(item, starts[i], v, out,
                      (host, starts[i - 1], sizes[i - 1]) if host is not None else None)

    def draw(self, item, u: float, v: float, out: list, host=None) -> None:
        size = self.sizes[id(item)]
        if isinstance(item, Box):
            attrs = {"id": self.new_id(), "data-name": item.name,
                     "data-kind": " + ".join(item.kinds),
                     "data-rows": " ".join(map(str, item.rows)),
                     "data-groups": " ".join(map(str, item.groups))}
            if item.shape is not None:
                attrs["data-volume"] = volume_text(item.shape)
            if item.times > 1:
                attrs["data-times"] = str(item.times)
            role = "layer error" if item.error else ("layer input" if item.is_input else "layer")
            group = Group(role, attrs)
            self.look.draw_box(item, u, v, size, group.children)
            if host is not None:
                self.look.draw_kernel(host[0], host[1], host[2], item, u, v, size,
                                      group.children)
            out.append(group)
        elif isinstance(item, Frame):
            inner = self.sizes[id(item.items)]
            group = Group("frame", {"id": self.new_id(), "data-name": item.name,
                                    "data-rows": " ".join(map(str, item.rows)),
                                    "data-volume": volume_text(item.shape)})
            x0, y0 = self.look.xy(u, v - size.above)
            x1, y1 = self.look.xy(u + size.length, v + size.below)
            group.children.append(Rect(x0, y0, x1 - x0, y1 - y0, "frame"))
            self.look.draw_frame_title(item, u, v, size, group.children)
            self.draw_chain(item.items, u + self.look.frame_inner(item, size, inner), v,
                            group.children)
            out.append(group)
        else:
            self.draw_split(item, u, v, size, out)

    def draw_split(self, split: Split, u: float, v: float, size: Size, out: list) -> None:
        look = self.look
        sizes = [self.sizes[id(arm.items)] for arm in split.arms]
        offsets = self.arm_offsets(split, sizes)
        longest = max((s.length for s in sizes), default=0.0)
        join = u + look.fork + longest + look.join
        um = join + look.radius
        attrs = {"data-merge": str(split.merge)}
        if split.name:
            attrs["data-name"] = split.name
        group = Group(f"split {split.kind}", attrs)
        for arm, s, off in zip(split.arms, sizes, offsets):
            shortcut = split.kind == "residual" and arm.role == "shortcut"
            start = u + look.fork + ((longest - s.length) / 2 if shortcut else 0.0)
            arm_group = Group("arm", {"data-role": arm.role})
            lines = arm_group.children
            if off == 0.0:
                into = (("M", *look.xy(u, v)), ("L", *look.xy(start + s.entry, v)))
            else:  # leave the axis in an S, run along the arm's axis
                mid = u + look.fork / 2
                into = (("M", *look.xy(u, v)),
                        ("C", *look.xy(mid, v), *look.xy(mid, v + off),
                         *look.xy(u + look.fork, v + off)),
                        ("L", *look.xy(start + s.entry, v + off)))
            back = join - look.join / 2
            out_of = (("M", *look.xy(start + s.exit, v + off)),
                      ("L", *look.xy(join - look.join if off else um - look.radius, v + off)))
            if off:
                out_of += (("C", *look.xy(back, v + off), *look.xy(back, v),
                            *look.xy(um - look.radius, v)),)
            role = "shortcut-line" if shortcut else "edge"
            if shortcut and not arm.items:  # an identity shortcut: one arc
                lines.append(Curve(into + out_of[1:], role))
            else:
                lines.append(Curve(into, role))
                lines.append(Curve(out_of, role))
            self.draw_chain(arm.items, start, v + off, lines)
            if shortcut:
                arm_group.role = "arm shortcut"
                arm_group.attrs["data-projection"] = str(len(arm.items))
            group.children.append(arm_group)
        merge = Group("merge", {"id": self.new_id(), "data-merge": str(split.merge),
                                "data-rows": " ".join(map(str, split.rows)),
                                "data-groups": " ".join(map(str, split.groups))})
        if split.shape is not None:
            merge.attrs["data-volume"] = volume_text(split.shape)
        look.draw_merge(split, um, v, merge.children)
        group.children.append(merge)
        out.append(group)


def split_lines(items: list, sizes: list[Size], gap: float, limit: float) -> list[list[int]]:
    """The top-level sequence cut into lines no longer than ``limit`` (as text wraps)."""
    lines: list[list[int]] = [[]]
    length = 0.0
    for i, size in enumerate(sizes):
        if lines[-1] and length + gap + size.length > limit:
            lines.append([])
            length = 0.0
        length += (gap if lines[-1] else 0.0) + size.length
        lines[-1].append(i)
    return lines


TURN = 12.0  # room for the line that leads from one line of items to the next


def lay_out(plan: Plan, style: Style = Style.AUTO) -> Picture:
    """Place every item of ``plan``; ``auto`` draws volumes when they fit (lines no wider
    than :data:`FITS`), else a graph."""
    if style == Style.AUTO:
        lines = measure_lines(plan, Volumes())
        style = Style.VOLUMES if lines[4] + 2 * (MARGIN + TURN) <= FITS else Style.GRAPH
    return place(plan, style)


def measure_lines(plan: Plan, look: Look):
    """The top-level sequence cut into lines, each measured, and the lines stacked across the
    flow: (layout, [(items, size)], offsets, across, along)."""
    layout = _Layout(look)
    layout.measure_chain(plan.items)
    sizes = [layout.sizes[id(item)] for item in plan.items]
    line_sizes = []
    for idx in split_lines(plan.items, sizes, look.gap, look.wrap_at):
        items = [plan.items[i] for i in idx]
        line_sizes.append((items, layout.measure_chain(items)))
    offsets, v = [], 0.0
    for k, (_, s) in enumerate(line_sizes):
        if k:
            v += line_sizes[k - 1][1].below + 2 * TURN + s.above
        else:
            v = s.above
        offsets.append(v)
    across = offsets[-1] + line_sizes[-1][1].below
    along = max(s.length for _, s in line_sizes)
    return layout, line_sizes, offsets, across, along


def place(plan: Plan, style: Style) -> Picture:
    """Place every item of ``plan`` in one style; the picture starts at 0, 0."""
    look: Look = Volumes() if style == Style.VOLUMES else Graph()
    layout, line_sizes, offsets, across, along = measure_lines(plan, look)
    report = plan.report
    t = report.totals
    title = [(plan.title, "title"),
             (f"input {volume_text(report.input_shape)} → output {output_text(report)} · "
              f"{'before it: ' if report.failed_at is not None else ''}{count(t.params)} "
              f"params · {short(t.macs)} MACs", "dim")]
    head = 8 + LINE * len(title) + 10  # the title band, in picture y
    turn = TURN

    if look.along_x:
        shift_u, shift_v = MARGIN + turn, head
    else:
        shift_u, shift_v = head + turn, MARGIN + turn  # the turns run below the title
    xy = look.xy
    body: list = []
    for k, ((items, s), off) in enumerate(zip(line_sizes, offsets)):
        off += shift_v
        if k:  # from the end of the previous line, round to the start of this one
            prev = line_sizes[k - 1][1]
            pv = offsets[k - 1] + shift_v
            mid = pv + prev.below + turn
            body.append(Curve((("M", *xy(shift_u + prev.exit, pv)),
                               ("L", *xy(shift_u + prev.length + turn, pv)),
                               ("L", *xy(shift_u + prev.length + turn, mid)),
                               ("L", *xy(shift_u - turn, mid)),
                               ("L", *xy(shift_u - turn, off)),
                               ("L", *xy(shift_u + s.entry, off))), "edge"))
        layout.draw_chain(items, shift_u, off, body)

    if look.along_x:
        width = shift_u + along + turn + MARGIN
        height = shift_v + across + MARGIN
    else:
        width = shift_v + across + turn + MARGIN
        height = shift_u + along + turn + MARGIN
    labels = [Label(MARGIN, 8 + ASCENT + LINE * i, text, role)
              for i, (text, role) in enumerate(title)]
    width = max(width, MARGIN + max(text_width(t) for t, _ in title) + MARGIN)
    return Picture(width, height, plan.title, style, labels + body)
