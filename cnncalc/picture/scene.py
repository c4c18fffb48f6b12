"""What a picture shows, before any geometry: the report's rows paired with the tree.

:func:`make_plan` walks the tree once with :func:`cnncalc.network.walk` and turns every
visible node into a plan item:

* a :class:`Box`: a leaf's row, or a block folded by ``depth`` into its own row (a repeat
  whose iterations fold is drawn once, with ``×N``); elementwise layers that keep the volume
  (activations, batch norm, dropout) join the box before them, as the notes draw them;
* a :class:`Split`: a residual or a branches, its arms side by side and their merge;
* a :class:`Frame`: a named block drawn open, around its items.

Every number an item shows is a row of the report (:func:`cnncalc.engine.analyze`); the
plan adds none of its own.  A report that stopped at a failing layer gives the items up to
it and one item marked with the error.

Folding follows ``inspect --depth N``: a block whose own row is at depth ``N`` is one box;
its layers (depth ``N + 1``) are not drawn.  ``None`` draws every layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..layers.base import Window
from ..network import (Arm, At, Branches, Leaf, Merge, Repeat, Residual, Visitor, has_row,
                       walk)
from ..report import Report, Row
from ..formulas import Shape


@dataclass(slots=True)
class Box:
    """One drawn volume.  ``rows`` are the report rows it stands for (``report.rows``
    indices; the first is its own), ``groups`` the open blocks it lies in."""

    name: str
    kinds: list[str]
    shape: Shape | None
    rows: list[int] = field(default_factory=list)
    counted: list[Row] = field(default_factory=list)  # the rows whose counts it shows
    groups: tuple[int, ...] = ()
    times: int = 1  # a repeat drawn once
    kernel: Window | None = None  # the window it slides over the box before it
    error: str = ""  # this layer stopped the analysis
    is_input: bool = False
    folded: bool = False  # a block drawn as one box


@dataclass(slots=True)
class Path:
    """One arm of a split: a residual's ``main`` or ``shortcut``, or a branch."""

    role: str
    name: str
    items: list = field(default_factory=list)


@dataclass(slots=True)
class Split:
    kind: str  # "residual" or "branches"
    merge: Merge
    name: str
    groups: tuple[int, ...]
    arms: list[Path] = field(default_factory=list)
    shape: Shape | None = None  # the merged volume, when the report states it
    after: list[Row] = field(default_factory=list)  # elementwise layers right after the merge
    rows: list[int] = field(default_factory=list)  # their rows
    error: str = ""


@dataclass(slots=True)
class Frame:
    """A block drawn open: its row, and its items inside a frame."""

    name: str
    kind: str
    shape: Shape
    row: int
    groups: tuple[int, ...]
    items: list = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # its own row, and any frame it absorbed


Item = Box | Split | Frame


@dataclass(slots=True)
class Plan:
    title: str
    items: list
    report: Report
    failed: bool


def elementwise(leaf: Leaf, row: Row) -> bool:
    """A layer that keeps the volume, slides no window and multiplies no weights
    (activations, batch norm, dropout): drawn on the box before it."""
    return (row.counts.macs == 0 and row.shape == row.input_shape
            and leaf.layer.window(row.input_shape) is None)


class _Planner(Visitor[None]):
    def __init__(self, report: Report, depth: int | None, error: str):
        self.report, self.limit, self.error = report, depth, error
        self.leaf_rows = [i for i, r in enumerate(report.rows) if not r.is_group]
        self.group_rows = {r.name: i for i, r in enumerate(report.rows) if r.is_group}
        self.analysed = len(self.leaf_rows)
        self.items: list = []
        self.chains: list[list] = [self.items]
        self.splits: list[Split] = []
        self.groups: list[int] = []
        self.prefixes: list[str] = [""]
        self.open: list[tuple] = []  # what each enter started, for its leave
        self.fold: Box | None = None
        self.seen = 0  # leaves visited
        self.stopped = False
        self.marked = False

    # -- names shown relative to the innermost open block or arm
    def rel(self, name: str) -> str:
        prefix = self.prefixes[-1]
        if prefix and name.startswith(prefix + "."):
            return name[len(prefix) + 1:]
        return name

    def append(self, item) -> None:
        chain = self.chains[-1]
        if chain and isinstance(chain[-1], Split) and chain[-1].shape is None:
            # an unnamed concat has no row: its volume is what the next row reads
            if isinstance(item, Frame):
                chain[-1].shape = self.report.rows[item.row].input_shape
            elif isinstance(item, Box) and item.counted:
                chain[-1].shape = item.counted[0].input_shape
        chain.append(item)

    # -- the walk
    def leaf(self, at: At, leaf: Leaf, x: None) -> None:
        self.seen += 1
        if self.fold is not None:
            if at.index < self.analysed:
                self.fold.rows.append(self.leaf_rows[at.index])
            return
        if self.stopped:
            return
        if at.index >= self.analysed:
            self.stopped = True
            if at.name == self.report.failed_at:
                self.append(Box(self.rel(at.name), [leaf.kind], None, groups=tuple(self.groups),
                                error=self.error))
                self.marked = True
            return
        pos = self.leaf_rows[at.index]
        row = self.report.rows[pos]
        chain = self.chains[-1]
        last = chain[-1] if chain else None
        if elementwise(leaf, row):
            if isinstance(last, Box) and not last.is_input and last.times == 1 \
                    and not last.error:
                last.kinds.append(leaf.kind)
                last.rows.append(pos)
                last.counted.append(row)
                return
            if isinstance(last, Split) and not last.error:
                last.after.append(row)
                last.rows.append(pos)
                return
        kernel = None
        if row.counts.macs:  # a window that slides over its input (not an upsampling's)
            kernel = leaf.layer.window(row.input_shape)
            if kernel is not None and not all(float(a.s).is_integer() and a.s >= 1
                                              for a in (kernel.h, kernel.w)):
                kernel = None
        self.append(Box(self.rel(at.name), [leaf.kind], row.shape, [pos], [row],
                        tuple(self.groups), kernel=kernel))

    def enter(self, at: At, node, x: None) -> None:
        if self.fold is not None:
            if has_row(node) and at.name in self.group_rows:
                self.fold.rows.append(self.group_rows[at.name])
            self.open.append(("inner",))
            return
        if self.stopped:
            self.open.append(("skip",))
            return
        if isinstance(node, Arm) and node.role != "iteration":
            arm = Path(node.role, node.segment or "")
            self.splits[-1].arms.append(arm)
            self.chains.append(arm.items)
            self.prefixes.append(at.name)
            self.open.append(("arm",))
            return
        pos = self.group_rows.get(at.name) if has_row(node) else None
        if pos is not None and self.folds(at, node):
            row = self.report.rows[pos]
            times, kind = 1, row.kind
            if isinstance(node, Repeat):  # its body's kind; the box says ×N itself
                times, kind = node.times, f"use:{node.label}" if node.label else "repeat"
            box = Box(self.rel(at.name), [kind], row.shape, [pos], [row], tuple(self.groups),
                      times=times, folded=True)
            self.append(box)
            self.fold = box
            self.open.append(("fold", at.name))
            return
        frame = None
        if pos is not None:
            row = self.report.rows[pos]
            kind = row.kind
            frame = Frame(self.rel(at.name), kind, row.shape, pos, tuple(self.groups),
                          rows=[pos])
            self.append(frame)
            self.chains.append(frame.items)
            self.groups.append(pos)
            self.prefixes.append(at.name)
        split = None
        if isinstance(node, (Residual, Branches)):
            split = Split("residual" if isinstance(node, Residual) else "branches",
                          Merge.ADD if isinstance(node, Residual) else node.merge,
                          self.rel(at.name) if node.name else "", tuple(self.groups))
            self.append(split)
            self.splits.append(split)
        self.open.append(("node", frame, split))

    def folds(self, at: At, node) -> bool:
        if self.limit is None:
            return False
        if isinstance(node, Repeat):  # drawn once, ×N, when its iterations would fold
            return at.depth + 1 >= self.limit
        return at.depth >= self.limit

    def leave(self, at: At, node, x: None, y: None) -> None:
        entry = self.open.pop()
        what = entry[0]
        if what == "fold":
            failed = self.report.failed_at
            if failed and not self.marked and (failed == entry[1] or
                                               failed.startswith(entry[1] + ".")):
                self.fold.error = self.error  # the failure lies inside this folded block
                self.marked = self.stopped = True
            self.fold = None
        elif what == "arm":
            self.chains.pop()
            self.prefixes.pop()
        elif what == "node":
            _, frame, split = entry
            if split is not None:
                self.close_split(at, node, split)
            if frame is not None:
                self.chains.pop()
                self.groups.pop()
                self.prefixes.pop()
                self.close_frame(frame)

    def close_split(self, at: At, node, split: Split) -> None:
        self.splits.pop()
        trail = at.name or split.kind
        if not self.stopped and self.seen == self.analysed and self.report.failed_at == trail:
            split.error = self.error  # the merge itself failed: its arms differ
            self.stopped = self.marked = True
        if self.stopped and not split.error and not any(arm.items for arm in split.arms):
            self.chains[-1].remove(split)  # nothing of it was analysed
            return
        if split.merge == Merge.ADD:
            for arm in split.arms:  # an add gives the volume its arms agree on
                if arm.items and arm.items[-1].shape is not None:
                    split.shape = arm.items[-1].shape
                    break
        elif split.name and at.name in self.group_rows:
            split.shape = self.report.rows[self.group_rows[at.name]].shape

    def close_frame(self, frame: Frame) -> None:
        items = frame.items
        if items and isinstance(items[-1], Split) and items[-1].shape is None \
                and not items[-1].error:
            items[-1].shape = frame.shape
        chain = self.chains[-1]
        if len(items) == 1 and isinstance(items[0], Box) and not items[0].error \
                and items[0].times == 1 and not items[0].folded and chain[-1] is frame:
            # a block of one box (conv, bn, relu) is that box, under the block's name
            box = items[0]
            box.name = frame.name
            box.rows[:0] = frame.rows
            box.groups = frame.groups
            chain[-1] = box
        elif len(items) == 1 and isinstance(items[0], Frame) and chain[-1] is frame:
            # a block whose one item is a block (a repeat ×1): one frame, both names
            inner = items[0]
            inner.name = f"{frame.name}.{inner.name}"
            inner.rows = frame.rows + inner.rows
            inner.groups = frame.groups
            chain[-1] = inner
        elif not items and chain and chain[-1] is frame:
            chain.pop()  # a block after the failure

    def merge(self, at: At, node, x: None, outs) -> None:
        return None


def make_plan(spec, report: Report, depth: int | None = None, error: str = "") -> Plan:
    """The items of ``report``'s picture, from the walk of ``spec``'s tree."""
    planner = _Planner(report, depth, error)
    planner.items.append(Box("input", ["input"], report.input_shape, is_input=True))
    walk(spec.layers, planner, None)
    items = planner.items
    if report.failed_at is not None and not planner.marked:
        items.append(Box(report.failed_at, ["failed"], None, error=error))
    elif items and isinstance(items[-1], Split) and items[-1].shape is None \
            and report.failed_at is None:
        items[-1].shape = report.output_shape
    return Plan(report.name, items, report, report.failed_at is not None)

