"""Walk the network tree once and return a :class:`~cnncalc.report.Report`.

Pure Python: never imports torch.  Shape errors stop the walk at the first failing layer;
the :class:`~cnncalc.errors.AnalysisError` raised carries the report of every layer before it.
"""

from __future__ import annotations

import gc
import re
from fractions import Fraction

from .errors import AnalysisError, Issue, Location
from .layers.base import LayerError, Window
from .network import Branches, Claim, Group, Leaf, Repeat, Residual, Spec
from .report import (CODES, AxisRF, ClaimResult, Diagnostic, ReceptiveField, Report, Row, Totals,
                     memory)
from .shapes import Shape, volume_text

STRICT_ERRORS = {"CN101"}  # --strict turns these warnings into errors (exit 2)
_HALF = Fraction(1, 2)
_ARITHMETIC = re.compile(r"^(.*?) → \d+×\d+×\d+")  # a formula's shape arithmetic


def join(prefix: str, segment: str | None) -> str:
    if not segment:
        return prefix
    return f"{prefix}.{segment}" if prefix else segment


def step_rf(rf: ReceptiveField, win: Window) -> ReceptiveField:
    """Receptive-field recurrence: r' = r + (k − 1)·j, j' = j·s, start' = start + ((k − 1)/2 − p)·j."""
    def axis(a: AxisRF, w) -> AxisRF:
        return AxisRF(a.size + (w.k - 1) * a.jump, a.jump * w.s,
                      a.start + ((w.k - 1) * _HALF - w.p) * a.jump)

    return ReceptiveField(axis(rf.h, win.h), axis(rf.w, win.w))


def merge_rf(rfs: list[ReceptiveField | None]) -> ReceptiveField | None:
    """Through a merge, each output sees the union of its paths: the largest field."""
    known = [r for r in rfs if r is not None]
    if not known:
        return None
    return max(known, key=lambda r: (r.size, r.h.size, r.w.size))


COUNTS = ("params", "trainable_params", "buffers", "macs", "connections", "activations")


def summary_row(name: str, kind: str, depth: int, x: Shape, y: Shape, rows, rf, formula: str,
                line: int | None) -> Row:
    """A row standing for many: the sums of the leaf rows among ``rows``."""
    leaves = [r for r in rows if r is not None and not r.is_group]
    sums = [sum(getattr(r, f) for r in leaves) for f in COUNTS]
    return Row(name, kind, depth, x, y, *sums, rf, formula, line, is_group=True)


def rf_value(rf: ReceptiveField | None):
    """What an ``rf`` claim is compared with: one size when square, else ``(h, w)``."""
    if rf is None:
        return None
    return rf.h.size if rf.h.size == rf.w.size else (rf.h.size, rf.w.size)


class _Walk:
    def __init__(self, spec: Spec, strict: bool, explain: bool):
        self.spec, self.strict, self.explain = spec, strict, explain
        self.rows: list[Row | None] = []
        self.diagnostics: list[Diagnostic] = []
        self.claims: list[ClaimResult] = []
        self.shape = spec.input_shape
        self.open: list[tuple] = []  # groups whose rows are not closed yet, for partial reports
        self.names: set[str] = set()

    # -- the walk
    def sequence(self, nodes, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        for node in nodes:
            if isinstance(node, Leaf):
                x, rf = self.leaf(node, x, rf, prefix, depth, frozen)
                continue
            start, x0 = len(self.rows), x
            if isinstance(node, Residual):
                x, rf = self.residual(node, x, rf, prefix, depth, frozen)
            elif isinstance(node, Branches):
                x, rf = self.branches(node, x, rf, prefix, depth, frozen)
            elif isinstance(node, Repeat):
                x, rf = self.repeat(node, x, rf, prefix, depth, frozen)
            else:
                x, rf = self.group(node, x, rf, prefix, depth, frozen)
            if node.expect:
                self.check_combinator(node, join(prefix, node.name), start, x0, x, rf)
        return x, rf

    def check_combinator(self, node, name: str, start: int, x: Shape, y: Shape, rf) -> None:
        """``expect:`` on a block, repeat, residual or branches: its output and its sums."""
        kind = type(node).__name__.lower()
        rows = self.rows[start:]
        count = sum(1 for r in rows if r is not None and not r.is_group)
        row = summary_row(name or kind, kind, 0, x, y, rows, rf,
                          f"the sum over its {count} layers; output {volume_text(y)}",
                          node.loc.line)
        self.claims.extend(check(claim, row) for claim in node.expect)

    def leaf(self, node: Leaf, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        name = join(prefix, node.name)
        if name in self.names:
            self.fail(node.loc, name, f"two layers are called '{name}' (a name with a dot can "
                                      f"collide with a nested one); rename this one")
        self.names.add(name)
        layer = node.layer
        try:
            y = layer.output_shape(x)
        except LayerError as e:
            self.fail(node.loc, name, f"{node.kind} on {volume_text(x)}: {e}")
        params = layer.params(x)
        win = layer.window(x)
        if win is not None and rf is not None:
            rf = step_rf(rf, win)
        formula = layer.explain(x, y) if self.explain else ""
        for finding in layer.diagnose(x, y):
            if self.strict and finding.code in STRICT_ERRORS:
                self.fail(node.loc, name, f"{finding.code} {finding.message} (an error under "
                                          f"--strict)")
            self.diagnostics.append(Diagnostic(finding.code, CODES[finding.code][1],
                                               finding.message, name, node.loc))
        row = Row(name, node.kind, depth, x, y, params, 0 if frozen or node.frozen else params,
                  layer.buffers(x), layer.macs(x, y), layer.connections(x, y), y.numel, rf,
                  formula, node.loc.line)
        self.rows.append(row)
        for claim in node.expect:
            self.claims.append(check(claim, row))
        return y, rf

    def open_group(self, name: str, kind: str, depth: int, x: Shape, line: int | None) -> int:
        self.rows.append(None)
        self.open.append((len(self.rows) - 1, name, kind, depth, x, line))
        return len(self.rows) - 1

    def close_group(self, index: int, name: str, kind: str, depth: int, x: Shape, y: Shape, rf,
                    line: int | None) -> None:
        if self.open and self.open[-1][0] == index:
            self.open.pop()
        self.rows[index] = summary_row(name, kind, depth, x, y, self.rows[index + 1:], rf, "",
                                       line)

    def group(self, node: Group, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        if not node.name:  # the body of a repeat: the iteration is its row
            return self.sequence(node.body, x, rf, prefix, depth, frozen or node.frozen)
        name = join(prefix, node.name)
        index = self.open_group(name, f"use:{node.block}", depth, x, node.loc.line)
        y, rf = self.sequence(node.body, x, rf, name, depth + 1, frozen or node.frozen)
        self.close_group(index, name, f"use:{node.block}", depth, x, y, rf, node.loc.line)
        return y, rf

    def repeat(self, node: Repeat, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        name = join(prefix, node.name)
        outer = self.open_group(name, f"repeat ×{node.times}", depth, x, node.loc.line)
        x0 = x
        frozen = frozen or node.frozen
        kind = f"use:{node.label}" if node.label else "repeat"
        for i in range(node.times):
            iname = join(name, str(i))
            index = self.open_group(iname, kind, depth + 1, x, node.loc.line)
            y, rf = self.sequence(node.body, x, rf, iname, depth + 2, frozen)
            self.close_group(index, iname, kind, depth + 1, x, y, rf, node.loc.line)
            x = y
        self.close_group(outer, name, f"repeat ×{node.times}", depth, x0, x, rf, node.loc.line)
        return x, rf

    def residual(self, node: Residual, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        frozen = frozen or node.frozen
        if node.name:
            prefix = join(prefix, node.name)
            index = self.open_group(prefix, "residual", depth, x, node.loc.line)
            inner = depth + 1
        else:
            inner = depth
        start = len(self.rows)
        y_main, rf_main = self.sequence(node.main, x, rf, prefix, inner, frozen)
        middle = len(self.rows)
        if node.shortcut:
            y_short, rf_short = self.sequence(node.shortcut, x, rf,
                                              join(prefix, node.shortcut_name), inner, frozen)
        else:
            y_short, rf_short = x, rf
        if y_main != y_short:
            why = self.origin(start, middle, x, y_main, y_short)
            fix = (" (an identity shortcut: give it a 1×1 conv with the main path's stride and "
                   "filters)" if not node.shortcut else "")
            self.fail(node.loc, prefix or "residual",
                      f"residual add: the main path gives {volume_text(y_main)} but the shortcut "
                      f"gives {volume_text(y_short)}{why}; the shapes must match{fix}")
        out_rf = merge_rf([rf_main, rf_short])
        if node.name:
            self.close_group(index, prefix, "residual", depth, x, y_main, out_rf, node.loc.line)
        return y_main, out_rf

    def origin(self, start: int, middle: int, x: Shape, a: Shape, b: Shape) -> str:
        """Why path A's shape differs from B's: the arithmetic of the last layer that set it."""
        for lo, hi, got in ((start, middle, a), (middle, len(self.rows), b)):
            other = b if got is a else a
            dim = None
            if got.spatial and other.spatial and (got.h, got.w) != (other.h, other.w):
                dim = "spatial"
            elif got.c != other.c:
                dim = "depth"
            if dim is None:
                continue
            for row in reversed(self.rows[lo:hi]):
                if row is None or row.is_group:
                    continue
                changed = ((row.input_shape.h, row.input_shape.w) != (row.shape.h, row.shape.w)
                           if dim == "spatial" else row.input_shape.c != row.shape.c)
                if changed and dim == "depth":
                    return (f"; the depth {got.c} comes from {row.name} ({row.kind}, "
                            f"{volume_text(row.input_shape)} → {volume_text(row.shape)})")
                if changed and row.formula:
                    arithmetic = _ARITHMETIC.match(row.formula)
                    text = arithmetic.group(1) if arithmetic else row.formula
                    return f"; the {got.h} comes from {text} at {row.name}"
        return ""

    def branches(self, node: Branches, x: Shape, rf, prefix: str, depth: int, frozen: bool):
        frozen = frozen or node.frozen
        if node.name:
            prefix = join(prefix, node.name)
            index = self.open_group(prefix, f"branches ({node.merge})", depth, x, node.loc.line)
            inner = depth + 1
        else:
            inner = depth
        outs = []
        for pname, path in node.paths:
            y, prf = self.sequence(path, x, rf, join(prefix, pname), inner, frozen)
            outs.append((join(prefix, pname), y, prf))
        first_name, first, _ = outs[0]
        for pname, y, _ in outs[1:]:
            if node.merge == "add" and y != first:
                self.fail(node.loc, prefix or "branches",
                          f"add merge: {first_name} gives {volume_text(first)} but {pname} gives "
                          f"{volume_text(y)}; added paths must give the same shape")
            if node.merge == "concat" and (y.spatial != first.spatial or (
                    y.spatial and (y.h, y.w) != (first.h, first.w))):
                self.fail(node.loc, prefix or "branches",
                          f"concat: {first_name} gives {volume_text(first)} but {pname} gives "
                          f"{volume_text(y)}; concatenated paths must have the same W×H "
                          f"(only the depth may differ)")
        if node.merge == "add":
            y = first
        elif first.spatial:
            y = Shape(sum(o[1].c for o in outs), first.h, first.w)
        else:
            y = Shape(sum(o[1].c for o in outs))
        rfs = [o[2] for o in outs]
        jumps = {(r.h.jump, r.w.jump) for r in rfs if r is not None}
        if len(jumps) > 1:
            self.diagnostics.append(Diagnostic(
                "CN105", CODES["CN105"][1],
                f"the merged paths step over the input with different jumps "
                f"({', '.join(sorted({str(j[1]) for j in jumps}))} pixels): their outputs are "
                f"misaligned", prefix or first_name, node.loc))
        out_rf = merge_rf(rfs)
        if node.name:
            self.close_group(index, prefix, f"branches ({node.merge})", depth, x, y, out_rf,
                             node.loc.line)
        return y, out_rf

    # -- endings
    def fail(self, loc: Location, trail: str, message: str):
        last = next((r.shape for r in reversed(self.rows) if r is not None), self.shape)
        while self.open:
            index, name, kind, depth, x, line = self.open[-1]
            self.close_group(index, name, kind, depth, x, last, None, line)
        raise AnalysisError(Issue(loc, message, trail), self.report(self.shape, partial=True))

    def report(self, output: Shape, partial: bool = False) -> Report:
        rows = tuple(r for r in self.rows if r is not None)
        leaves = [r for r in rows if not r.is_group]
        totals = Totals(sum(r.params for r in leaves), sum(r.trainable_params for r in leaves),
                        sum(r.buffers for r in leaves), sum(r.macs for r in leaves),
                        sum(r.connections for r in leaves), sum(r.activations for r in leaves),
                        self.spec.input_shape.numel)
        if partial and leaves:
            output = leaves[-1].shape
        return Report(self.spec.name, self.spec.input_shape, output, rows, totals,
                      tuple(self.diagnostics), tuple(self.claims), self.spec.source,
                      extra={"partial": partial})


def check(claim: Claim, row: Row) -> ClaimResult:
    actual = rf_value(row.rf) if claim.field == "rf" else (
        row.shape if claim.field == "output" else getattr(row, claim.field))
    return ClaimResult(row.name if not row.is_group or row.kind != "net" else "", claim.field,
                       claim.value, actual, claim.value == actual, row.formula, claim.loc)


def check_totals(claim: Claim, report: Report) -> ClaimResult:
    leaves = report.layers
    net = summary_row("", "net", 0, report.input_shape, report.output_shape, leaves,
                      leaves[-1].rf if leaves else None,
                      f"the sum over {len(leaves)} layers", None)
    return check(claim, net)


def analyze(spec: Spec, *, strict: bool = False, batch: int = 1, dtype: str = "fp32",
            explain: bool = True) -> Report:
    """Compute every layer's shape, counts and receptive field.

    ``explain=False`` skips the formula text (faster on very large nets).  Raises
    :class:`AnalysisError` (with the partial report) when a layer cannot work.
    """
    walk = _Walk(spec, strict, explain)
    rf = None
    if spec.input_shape.spatial:
        one = AxisRF(Fraction(1), Fraction(1), Fraction(0))
        rf = ReceptiveField(one, one)
    enabled = gc.isenabled()
    gc.disable()  # rows are acyclic: collector passes over 100k of them only cost time
    try:
        y, _ = walk.sequence(spec.layers, spec.input_shape, rf, "", 0, False)
        report = walk.report(y)
    finally:
        if enabled:
            gc.enable()
    claims = report.claims + tuple(check_totals(c, report) for c in spec.expect)
    return Report(report.name, report.input_shape, report.output_shape, report.rows,
                  report.totals, report.diagnostics, claims, report.source,
                  memory(report.totals, dtype, batch))
