"""Walk the network tree once and return a :class:`~cnncalc.report.Report`.

Pure Python: never imports torch.  The engine is a :class:`~cnncalc.network.Visitor` over
``(shape, receptive field)``; :func:`~cnncalc.network.walk` does the naming and the order.
Shape errors stop the walk at the first failing layer; the
:class:`~cnncalc.errors.AnalysisError` raised carries the report of every layer before it.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from fractions import Fraction

from .records import record
from .errors import AnalysisError, Issue, Location, SpecError
from .layers.base import Formula, LayerError, Window, unread_findings, unread_rows
from .network import (Arm, At, Branches, Claim, Group, Leaf, Merge, Repeat, Residual, Spec,
                      ShareError, TapError, Visitor, has_row, walk)
from .codes import silence
from .report import (COUNT_FIELDS, AxisRF, ClaimResult, Counts, Diagnostic, ReceptiveField,
                     Report, Row)
from .reads import lost_rows
from .formulas import Shape, symbolic_shape, volume_text
from .closed_forms import (Requirement, SymbolicError, add_all, collected, collecting,
                           require_equal)

STRICT_ERRORS = {"CN101"}  # --strict turns these warnings into errors (exit 2)
UNREAD = "CN101"  # decided over the whole net once it is walked (cnncalc.reads)

State = tuple[Shape, "ReceptiveField | None"]
# A layer on one input: output, counts, receptive-field step, findings, formula.
_Facts = tuple[Shape, Counts, "Window | None", tuple, "Explained | None"]


def step_rf(rf: ReceptiveField, win: Window) -> ReceptiveField:
    """Receptive-field recurrence: r' = r + (k − 1)·j, j' = j·s, start' = start + ((k − 1)/2 − p)·j.

    Integers stay integers (a Fraction only where a half or an upsampling's jump needs one):
    on a 10,000-layer net Fraction arithmetic was 40% of the engine's time.
    """
    def axis(a: AxisRF, w) -> AxisRF:
        reach = (w.k - 1) * a.jump
        if isinstance(reach, int):
            half = reach // 2 if reach % 2 == 0 else Fraction(reach) / 2
        else:  # a Fraction, or a size that depends on the input (after a global pool)
            half = reach / 2
        return AxisRF(a.size + reach, a.jump * w.s, a.start + half - w.p * a.jump)

    return ReceptiveField(axis(rf.h, win.h), axis(rf.w, win.w))


def merge_rf(rfs: list[ReceptiveField | None]) -> ReceptiveField | None:
    """Through a merge, each output sees the union of its paths: the largest field."""
    known = [r for r in rfs if r is not None]
    if not known:
        return None
    try:
        return max(known, key=lambda r: (r.size, r.h.size, r.w.size))
    except SymbolicError:  # fields that grow with the input size: none is the largest for all
        return None


def summary_row(name: str, kind: str, depth: int, x: Shape, y: Shape, rows, rf,
                formula: Formula | None, line: int | None, symbolic: bool = False) -> Row:
    """A row standing for many: the sums of the leaf rows among ``rows``."""
    counts = total((r.counts for r in rows if r is not None and not r.is_group), symbolic)
    return Row(name, kind, depth, x, y, counts, rf, formula, line, is_group=True)


def total(counts, symbolic: bool) -> Counts:
    """The sum of many counts; closed forms (a symbolic input's) added as ``+`` adds them
    (:func:`cnncalc.closed_forms.add_all`: a deep net's group rows add hundreds each)."""
    if not symbolic:
        return Counts.total(counts)
    counts = list(counts)
    return Counts(*(add_all([getattr(c, name) for c in counts]) for name in COUNT_FIELDS))


def rf_value(rf: ReceptiveField | None):
    """What an ``rf`` claim is compared with: one size when square, else ``(h, w)``."""
    if rf is None:
        return None
    return rf.h.size if rf.h.size == rf.w.size else (rf.h.size, rf.w.size)


def group_kind(node) -> str:
    """The kind column of a combinator's own row."""
    if isinstance(node, Group):
        return f"use:{node.block}"
    if isinstance(node, Repeat):
        return f"repeat ×{node.times}"
    if isinstance(node, Branches):
        return f"branches ({node.merge})"
    return "residual"


class Explained:
    """A leaf's :class:`Formula`, worked out when first read rather than by the walk.

    The formula text of every row was half the engine's time on a 10,000-layer stack, yet only
    the JSON, ``--formulas`` and some error messages read it: the table and Markdown without
    formulas never pay for it now.  Leaves with the same layer and input share one Explained
    (a stack or a repeat of equal layers is explained once), which keeps its text once made.  It reads as the Formula it stands for (``str()``, ``.shape``, ``.output``,
    ``.parts``; equal to it).
    """

    __slots__ = ("layer", "x", "y", "text")

    def __init__(self, layer, x: Shape, y: Shape):
        self.layer, self.x, self.y, self.text = layer, x, y, None

    def formula(self) -> Formula:
        return self.layer.explain(self.x, self.y)

    def __str__(self) -> str:
        if self.text is None:
            self.text = str(self.formula())
        return self.text

    def __repr__(self) -> str:
        return repr(self.formula())

    def __getattr__(self, name: str):
        return getattr(self.formula(), name)

    def __eq__(self, other) -> bool:
        if isinstance(other, Explained):
            other = other.formula()
        return self.formula() == other

    def __hash__(self) -> int:
        return hash(self.formula())


# What the analyses of one tree share (a brute force over input sizes, the calls of one
# command), kept until a trace of another tree, or past _KNOWN_KEPT entries: long-lived
# objects make every full pass of Python's collector longer, so one tree's worth is kept.
# What study found (keyed by the layer object: equal settings parsed apart are apart), a
# table per options: with formulas or not, with the findings (checks) or not.
_KNOWN: dict[tuple[bool, bool], dict[tuple, _Facts]] = {  # by (explain, checks)
    (e, c): {} for e in (False, True) for c in (False, True)}
_KNOWN_KEPT = 50_000
_KNOWN_TREE: list = [None]  # the tree (spec.layers) they are of
# Layers worked out and leaves walked by this tree's analyses: where most leaves meet a new
# input every time (a small net without strides, at every size), keeping them only costs
# the collector, and each analysis keeps its own again
_KNOWN_TALLY = [0, 0]
_MEMOS: list[dict] = []  # the steps' memos written (Engine.remember)
# CN101's text for (layer, input, rows it skips, image rows lost), as settle_unread words it
_UNREAD: dict[tuple, list] = {}
# Per layer, its last receptive-field step: (field in, window, field out).  The walk starts
# from one field object and a step that repeats gives the object it gave before, so at the
# next input a layer whose field and window are unchanged finds them here by identity
# (Fractions made the recurrence a fifth of a brute force over small nets)
_STEPS: dict = {}
_START_RF: list = []  # the input's field, 1×1, made once
_STEPS_KEPT = 1024  # inputs remembered per step (Engine.remember)
_TALLY = object()  # a memo's key for how often its step was given again and walked


@dataclass(slots=True)
class _Open:
    """A combinator (or a repeat's iteration) the walk is inside."""

    at: At
    node: object  # the node, or an iteration's kind text
    line: int | None
    x: Shape
    start: int  # its first row
    own: int  # the index of its own row, or -1 when it has none
    arms: list[int] = field(default_factory=list)  # each arm's first row
    # the sums of the leaf rows under it so far (numbers only: a symbolic walk adds its
    # closed forms in row order, see close)
    sums: list[int] = field(default_factory=lambda: [0, 0, 0, 0, 0, 0])


class _Engine(Visitor[State]):
    checks_shares = True
    def __init__(self, spec: Spec, strict: bool, explain: bool, ignore: frozenset[str],
                 checks: bool = True):
        self.spec, self.strict, self.explain, self.ignore = spec, strict, explain, ignore
        self.checks = checks = bool(checks)  # the findings and the claims, beside the figures
        self.rows: list[Row | None] = []
        self.diagnostics: list[Diagnostic] = []
        self.silenced: list[Diagnostic] = []
        self.claims: list[ClaimResult] = []
        self.names: set[str] = set()
        self.leaf_inputs: dict[str, tuple[Leaf, Shape]] = {}  # for ``share:``
        self.open: list[_Open] = []  # combinators (and iterations) entered, not yet left
        # (layer, input) → what it gives (study), kept across analyses: a brute force over
        # input sizes, or the calls of one command, meet the same layers at the same inputs
        studied, walked = _KNOWN_TALLY
        self.known: dict[tuple, _Facts] = (_KNOWN[bool(explain), checks]
                                           if walked < 2000 or 2 * studied < walked else {})
        self.studied = 0
        self.options = (bool(explain), strict, ignore, checks)  # what else a step's rows read
        # A symbolic input: the conditions the layers need (cnncalc.closed_forms.Requirement),
        # and each window's remainder (layer, axis 0 = H or 1 = W, (N − F + 2P) mod S)
        self.symbolic = symbolic_shape(spec.input_shape)
        self.known_symbolic: dict[tuple, tuple[_Facts, tuple[Requirement, ...]]] = {}
        self.requirements: list[Requirement] = []
        self.floors: list[tuple[str, int, object]] = []
        # CN101 candidates: (where in the diagnostics and the silenced, the leaf's place, the
        # leaf, its input)
        self.unread: list[tuple[tuple[int, int], At, Leaf, Shape]] = []

    # -- what the walk calls
    def leaf(self, at: At, node: Leaf, state: State) -> State:
        if not self.symbolic:
            return self.leaf_row(at, node, state)
        try:
            with collecting() as found:
                out = self.leaf_row(at, node, state)
        except SymbolicError as e:
            self.fail(node.loc, at.name, f"{node.kind} on {volume_text(state[0])}: {e}")
        self.requirements += [replace(r, layer=at.name) for r in found]
        axes = node.layer.axes(state[0])
        if axes is not None:
            self.floors += [(at.name, i, a.remainder) for i, a in enumerate(axes)]
        return out

    def leaf_row(self, at: At, node: Leaf, state: State) -> State:
        x, rf = state
        name = at.name
        if name in self.names:
            self.fail(node.loc, name, f"two layers are called '{name}' (a name with a dot can "
                                      f"collide with a nested one); rename this one")
        self.names.add(name)
        # A symbolic layer states its requirements as it is worked out: each leaf works its own.
        if self.symbolic:
            facts = self.study_symbolic(node, name, x)
        else:
            facts = self.known.get((node.layer, x))
            if facts is None:
                facts = self.study(node, name, x)
        y, counts, win, findings, formula = facts
        if node.layer.from_trace:
            rf = None  # what an op known only by its trace reads is not known
        elif win is not None and rf is not None:
            memo = None if self.symbolic else _STEPS.get(node.layer)
            if memo is not None and memo[0] is rf and (memo[1] is win or memo[1] == win):
                rf = memo[2]
            else:
                before = rf
                try:
                    rf = step_rf(rf, win)
                except SymbolicError:  # a field that no closed form here can follow
                    rf = None
                if not self.symbolic:
                    _STEPS[node.layer] = (before, win, rf)
        for finding in findings if self.checks else ():
            if finding.code == UNREAD and not self.symbolic:
                # whether another path reads those pixels is known only after the walk
                self.unread.append(((len(self.diagnostics), len(self.silenced)), at, node, x))
                continue
            found = self.note(Diagnostic(finding.code, finding.message, name, node.loc), at)
            if found and self.strict and finding.code in STRICT_ERRORS:
                self.fail(node.loc, name, f"{finding.code} {finding.message} (an error under "
                                          f"--strict)")
        if at.share:
            counts, formula = self.shared(at, node, x, counts, formula)
        self.leaf_inputs[name] = (node, x)
        if at.frozen:
            counts = replace(counts, trainable_params=0)
        row = Row(name, node.kind, at.depth, x, y, counts, rf, formula, node.loc.line,
                  index=at.index)
        self.rows.append(row)
        if self.open and not self.symbolic:
            sums = self.open[-1].sums
            sums[0] += counts.params
            sums[1] += counts.trainable_params
            sums[2] += counts.buffers
            sums[3] += counts.macs
            sums[4] += counts.connections
            sums[5] += counts.activations
        if self.checks:
            for claim in node.expect:
                self.claims.append(check(claim, row))
        return y, rf

    # -- a step given again (cnncalc.network: a tree walked from its program keeps, per block
    # use, repeat, residual and branches, what it gave for an input).  What a step adds to the
    # engine depends on its place, its input (shape and field) and the options alone: its
    # rows, findings, CN101 candidates and claims, and its leaf rows' sums.  A brute force
    # over input sizes meets most steps again: a stage after a stride of 32 sees the same
    # input for 32 sizes in a row.
    def mark(self) -> tuple:
        outer = self.open[-1].sums.copy() if self.open else None
        return (len(self.rows), len(self.diagnostics), len(self.silenced), len(self.unread),
                len(self.claims), outer)

    def remember(self, memo: dict, mark: tuple, x: State, y: State) -> None:
        if self.symbolic:
            return
        tally = memo.get(_TALLY)
        if tally is None:
            tally = memo[_TALLY] = [0, 0]  # given again, walked
            _MEMOS.append(memo)
        tally[1] += 1
        if tally[1] > 32 and tally[0] < tally[1]:
            return  # a step whose input rarely repeats: keeping it costs more than it saves
        r0, d0, s0, u0, c0, outer = mark
        rows = self.rows[r0:]  # the step is closed: its placeholders are filled
        sums = None if outer is None else [a - b for a, b in zip(self.open[-1].sums, outer)]
        unread = [((d - d0, s - s0), at, node, xx) for (d, s), at, node, xx in self.unread[u0:]]
        if len(memo) >= _STEPS_KEPT:
            memo.clear()
            memo[_TALLY] = tally
        memo[(self.options, x)] = (y, rows, sums, self.diagnostics[d0:], self.silenced[s0:],
                                   unread, self.claims[c0:],
                                   [r.name for r in rows if not r.is_group])

    def recall(self, memo: dict, x: State):
        if self.symbolic or not memo:
            return None
        found = memo.get((self.options, x))
        if found is None:
            return None
        y, rows, sums, diagnostics, silenced, unread, claims, names = found
        memo[_TALLY][0] += 1
        if not self.names.isdisjoint(names):
            return None  # walked, it fails where the name repeats
        self.names.update(names)
        if unread:
            d0, s0 = len(self.diagnostics), len(self.silenced)
            self.unread += [((d0 + d, s0 + s), at, node, xx) for (d, s), at, node, xx in unread]
        self.diagnostics += diagnostics
        self.silenced += silenced
        self.claims += claims
        self.rows += rows
        if sums is not None and self.open:
            outer = self.open[-1].sums
            for i in range(6):
                outer[i] += sums[i]
        return y

    def shared(self, at: At, node: Leaf, x: Shape, counts: Counts, formula):
        """``share: NAME``: the same kind, settings and input depth as NAME (one module run
        twice), so its weights and buffers are NAME's: 0 here, its MACs as usual."""
        other, ox = self.leaf_inputs[at.share]
        loc = node.share_loc or node.loc
        if other.kind != node.kind:
            self.fail(loc, at.name, f"share: {at.share} is a {other.kind}, this layer a "
                                    f"{node.kind}: only a layer of the same kind can share "
                                    f"its weights")
        if other.layer is not node.layer and other.layer.hp != node.layer.hp:
            diff = [f"{k} {other.layer.hp.get(k)!r} there, {node.layer.hp.get(k)!r} here"
                    for k in node.layer.hp if other.layer.hp.get(k) != node.layer.hp.get(k)]
            self.fail(loc, at.name, f"share: {at.share} has other settings ({'; '.join(diff)})"
                                    f": shared weights need the same settings; give this "
                                    f"layer the settings of the one it shares")
        if other.layer.params(ox) != node.layer.params(x) or ox.c != x.c:
            self.fail(loc, at.name, f"share: {at.share} reads an input of depth {ox.c}, this "
                                    f"layer {x.c}: its weights do not fit here; share a "
                                    f"layer that reads the same depth")
        counts = replace(counts, params=0, trainable_params=0, buffers=0)
        if formula is not None:
            f = formula.formula() if isinstance(formula, Explained) else formula
            text = f"0: shares {at.share}'s weights"
            parts = [(label, text if label == "params" else t) for label, t in f.parts]
            if not any(label == "params" for label, _ in f.parts):
                parts.append(("params", text))
            formula = replace(f, parts=tuple(parts))
        return counts, formula

    def study_symbolic(self, node: Leaf, name: str, x: Shape) -> _Facts:
        """:meth:`study` on closed forms, with the requirements it states: kept for this
        analysis by layer and input (a repeat's equal blocks see equal closed forms), and a
        layer met again states its requirements again, in the same place."""
        key = (node.layer, x)
        found = self.known_symbolic.get(key)
        if found is None:
            with collecting() as stated:
                facts = self.study(node, name, x)
            found = self.known_symbolic[key] = (facts, tuple(stated))
        facts, stated = found
        collected(stated)
        return facts

    def study(self, node: Leaf, name: str, x: Shape) -> _Facts:
        """What a layer gives on input ``x``: a pure function of the two, so leaves that share
        a layer (equal settings, a repeat's body) and see the same input are worked out once.
        On a 100,000-layer stack this was most of the walk."""
        layer = node.layer
        try:
            y = layer.output_shape(x)
        except LayerError as e:
            self.fail(node.loc, name, f"{node.kind} on {volume_text(x)}: {e}")
        params = layer.params(x)
        counts = Counts(params, params, layer.buffers(x), layer.macs(x, y),
                        layer.connections(x, y), y.numel)
        formula = None
        if self.explain:  # a symbolic one now, while its requirements are being collected
            formula = layer.explain(x, y) if self.symbolic else Explained(layer, x, y)
        findings = tuple(layer.diagnose(x, y)) if self.checks else ()
        facts = (y, counts, layer.window(x), findings, formula)
        if not self.symbolic:
            self.known[(layer, x)] = facts
            self.studied += 1
        return facts


    def enter(self, at: At, node, state: State) -> None:
        x = state[0]
        if isinstance(node, Arm):
            self.open[-1].arms.append(len(self.rows))
            if node.role == "iteration":
                repeat = self.open[-1].node
                kind = f"use:{repeat.label}" if repeat.label else "repeat"
                self.open.append(_Open(at, kind, repeat.loc.line, x, len(self.rows),
                                       self.placeholder()))
            return
        own = self.placeholder() if has_row(node) else -1
        self.open.append(_Open(at, node, node.loc.line, x, len(self.rows), own))

    def leave(self, at: At, node, state: State, out: State) -> None:
        if isinstance(node, Arm) and node.role != "iteration":
            return
        entry = self.open.pop()
        y, rf = out
        self.close(entry, y, rf)
        if self.checks and not isinstance(entry.node, str) and entry.node.expect:
            self.check_combinator(entry.node, at.name, entry.start, entry.x, y, rf)

    def close(self, entry: "_Open", y: Shape, rf) -> None:
        """Its row, the sums of the leaf rows under it; they count in the one around it too.
        Numbers are summed as the walk goes; closed forms are added in row order, as a Poly's
        terms keep the order they came in."""
        if not self.symbolic and self.open:
            outer, inner = self.open[-1].sums, entry.sums
            for i in range(6):
                outer[i] += inner[i]
        if entry.own >= 0:
            kind = entry.node if isinstance(entry.node, str) else group_kind(entry.node)
            if self.symbolic:
                self.rows[entry.own] = summary_row(entry.at.name, kind, entry.at.depth, entry.x,
                                                   y, self.rows[entry.own + 1:], rf, None,
                                                   entry.line, symbolic=True)
            else:
                self.rows[entry.own] = Row(entry.at.name, kind, entry.at.depth, entry.x, y,
                                           Counts(*entry.sums), rf, None, entry.line,
                                           is_group=True)

    def expand(self, at: At, node: Group, state: State):
        """A block that reads its input: expand it for this input, once per place."""
        try:
            nodes = node.expand(state[0])
        except SpecError as e:
            issue = e.issues[0]
            hint = f"; {issue.hint}" if issue.hint else ""
            self.fail(issue.loc, issue.trail, f"{issue.message}{hint} (with $in = "
                                              f"{volume_text(state[0])} at {at.name or node.block})")
        node.expansions[at.name] = nodes
        return nodes

    def merge(self, at: At, node, state: State, outs) -> State:
        if isinstance(node, Residual):
            (main_at, (y_main, rf_main)), (short_at, (y_short, rf_short)) = outs
            if not self.agree(at.name or "residual", node, y_main, y_short, spatial_only=False):
                main, short = self.open[-1].arms
                why = self.origin(main, short, y_main, y_short)
                fix = (" (an identity shortcut: give it a 1×1 conv with the main path's stride "
                       "and filters)" if not node.shortcut else "")
                self.fail(node.loc, at.name or "residual",
                          f"residual add: the main path gives {volume_text(y_main)} but the "
                          f"shortcut gives {volume_text(y_short)}{why}; the shapes must "
                          f"match{fix}")
            return y_main, self.merge_rf([rf_main, rf_short])
        if node.merge in (Merge.MUL, Merge.FIRST):
            return self.merge_special(at, node, outs)
        first_at, (first, _) = outs[0]
        for path_at, (y, _) in outs[1:]:
            if node.merge == Merge.ADD and not self.agree(at.name or "branches", node, first, y,
                                                          spatial_only=False):
                self.fail(node.loc, at.name or "branches",
                          f"add merge: {first_at.name} gives {volume_text(first)} but "
                          f"{path_at.name} gives {volume_text(y)}; added paths must give the "
                          f"same shape")
            if node.merge == Merge.CONCAT and (y.spatial != first.spatial or (
                    y.spatial and not self.agree(at.name or "branches", node, first, y,
                                                 spatial_only=True))):
                self.fail(node.loc, at.name or "branches",
                          f"concat: {first_at.name} gives {volume_text(first)} but "
                          f"{path_at.name} gives {volume_text(y)}; concatenated paths must "
                          f"have the same W×H (only the depth may differ)")
        if node.merge == Merge.ADD:
            y = first
        elif first.spatial:
            y = Shape(sum(s.c for _, (s, _) in outs), first.h, first.w)
        else:
            y = Shape(sum(s.c for _, (s, _) in outs))
        rfs = [r for _, (_, r) in outs]
        jumps = {(r.h.jump, r.w.jump) for r in rfs if r is not None}
        if len(jumps) > 1 and self.checks:
            self.note(Diagnostic(
                "CN105", f"the merged paths step over the input with different jumps "
                         f"({', '.join(sorted({str(j[1]) for j in jumps}))} pixels): their "
                         f"outputs are misaligned", at.name or first_at.name, node.loc), at)
        return y, self.merge_rf(rfs)

    def merge_special(self, at: At, node, outs) -> State:
        """``mul`` (a gate) and ``first`` (side outputs, dropped)."""
        if node.merge == Merge.FIRST:
            return outs[0][1]
        if self.symbolic:  # sizes have no largest: the map is a path that is not 1×1
            maps = [o for o in outs if not (o[1][0].spatial and (o[1][0].h, o[1][0].w) == (1, 1))]
            big_at, (big, _) = (maps or outs)[0]
        else:
            big_at, (big, _) = max(outs, key=lambda o: o[1][0].numel)
        name = at.name or "branches"
        for path_at, (y, _) in outs:
            fits = y.c == big.c and y.spatial == big.spatial and (
                not y.spatial or (y.h, y.w) in ((big.h, big.w), (1, 1)) or
                self.agree(name, node, big, y, spatial_only=True))
            if not fits:
                self.fail(node.loc, at.name or "branches",
                          f"mul merge: {big_at.name} gives {volume_text(big)} but "
                          f"{path_at.name} gives {volume_text(y)}; multiplied paths must give "
                          f"the same shape, or 1×1×{big.c} to gate every position")
        return big, self.merge_rf([r for _, (_, r) in outs])

    # -- helpers
    def merge_rf(self, rfs: list) -> ReceptiveField | None:
        """:func:`merge_rf`; with a symbolic input, unknown when a path's field is (a field
        that grows with the input cannot be compared with a number)."""
        if self.symbolic and any(r is None for r in rfs):
            return None
        return merge_rf(rfs)

    def agree(self, name: str, node, a: Shape, b: Shape, spatial_only: bool) -> bool:
        """Whether merged shapes ``a`` and ``b`` can agree.  Sizes that depend on the input
        agree for some inputs only: the condition is recorded and the walk goes on."""
        if (a.h, a.w) == (b.h, b.w) and (spatial_only or a.c == b.c):
            return True
        if not self.symbolic or not (spatial_only or a.c == b.c) or not a.spatial or \
                not b.spatial:
            return False
        try:
            with collecting() as found:
                ok = require_equal(a.h, b.h) and require_equal(a.w, b.w)
        except SymbolicError as e:
            self.fail(node.loc, name, str(e))
        if ok:
            self.requirements += [replace(r, layer=name) for r in found]
        return ok

    def note(self, found: Diagnostic, at: At) -> bool:
        """Record a finding; False when ``allow:`` or ``--ignore`` silences it."""
        found = silence(found, at.allow, self.ignore)
        (self.silenced if found.silenced_by else self.diagnostics).append(found)
        return not found.silenced_by

    def placeholder(self) -> int:
        self.rows.append(None)
        return len(self.rows) - 1

    def check_combinator(self, node, name: str, start: int, x: Shape, y: Shape, rf) -> None:
        """``expect:`` on a block, repeat, residual or branches: its output and its sums."""
        kind = type(node).__name__.lower()
        rows = self.rows[start:]
        count = sum(1 for r in rows if r is not None and not r.is_group)
        row = summary_row(name or kind, kind, 0, x, y, rows, rf,
                          Formula(f"the sum over its {count} layers; output {volume_text(y)}"),
                          node.loc.line, self.symbolic)
        self.claims.extend(check(claim, row) for claim in node.expect)

    def origin(self, main: int, short: int, a: Shape, b: Shape) -> str:
        """Why path A's shape differs from B's: the arithmetic of the last layer that set it."""
        for lo, hi, got in ((main, short, a), (short, len(self.rows), b)):
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
                if changed and row.formula is not None:
                    text = row.formula.shape if row.formula.output else str(row.formula)
                    return f"; the {got.h} comes from {text} at {row.name}"
        return ""

    def settle_unread(self, output: Shape) -> None:
        """CN101 where image pixels are really lost: no path from the input reads them
        (:mod:`cnncalc.reads`); each finding stands at its layer's place among the others."""
        if not self.unread:
            return
        leaves = [r for r in self.rows if r is not None and not r.is_group]
        candidates = {}
        for _, at, node, x in self.unread:
            ah, aw = node.layer.axes(x)
            candidates[at.index] = unread_rows(ah, aw, bool(node.layer.hp.get("ceil")))
        lost = lost_rows(self.spec, leaves, candidates)
        later = (self.diagnostics, self.silenced)
        self.diagnostics, self.silenced = [], []
        done = (0, 0)
        for where, at, node, x in self.unread:
            self.diagnostics += later[0][done[0]:where[0]]
            self.silenced += later[1][done[1]:where[1]]
            done = where
            if at.index not in lost:
                continue
            axes, image = lost[at.index]
            ah, aw = node.layer.axes(x)
            key = (node.layer, x, candidates[at.index],
                   None if image else tuple(sorted(axes.items())))
            findings = _UNREAD.get(key)
            if findings is None:
                findings = _UNREAD[key] = unread_findings(ah, aw, candidates[at.index],
                                                          None if image else axes)
            for finding in findings:
                found = self.note(Diagnostic(finding.code, finding.message, at.name, node.loc),
                                  at)
                if found and self.strict:
                    raise AnalysisError(Issue(node.loc, f"{finding.code} {finding.message} (an "
                                                        f"error under --strict)", at.name),
                                        self.report(output))  # the whole net was walked
        self.diagnostics += later[0][done[0]:]
        self.silenced += later[1][done[1]:]

    # -- endings
    def fail(self, loc: Location, trail: str, message: str):
        last = next((r.shape for r in reversed(self.rows) if r is not None),
                    self.spec.input_shape)
        while self.open:
            self.close(self.open.pop(), last, None)
        raise AnalysisError(Issue(loc, message, trail), self.report(last, failed_at=trail))

    def report(self, output: Shape, failed_at: str | None = None) -> Report:
        rows = tuple(r for r in self.rows if r is not None)
        totals = total((r.counts for r in rows if not r.is_group), self.symbolic)
        return Report(self.spec.name, self.spec.input_shape, output, rows, totals,
                      tuple(self.diagnostics), tuple(self.claims), self.spec.source,
                      failed_at=failed_at, silenced=tuple(self.silenced))


def check(claim: Claim, row: Row) -> ClaimResult:
    if claim.field == "rf":
        actual = rf_value(row.rf)
    elif claim.field == "output":
        actual = row.shape
    else:
        actual = getattr(row.counts, claim.field)
    return ClaimResult(row.name if not row.is_group or row.kind != "net" else "", claim.field,
                       claim.value, actual, claim.value == actual,
                       str(row.formula) if row.formula is not None else "", claim.loc)


def check_totals(claim: Claim, report: Report, leaves=None) -> ClaimResult:
    """A claim on the whole net (``expect:`` at the top): the totals are the leaf rows' sums.
    ``leaves``: ``report.layers``, when the caller has them."""
    leaves = report.layers if leaves is None else leaves
    net = Row("", "net", 0, report.input_shape, report.output_shape, report.totals,
              leaves[-1].rf if leaves else None, Formula(sum_text(claim.field, leaves)), None,
              is_group=True)
    return check(claim, net)


def sum_text(field: str, rows, shown: int = 3) -> str:
    """A total's formula: the sum over the layers, with its largest terms, so that a wrong
    total points at the layers that make it (``fc1 48,120 + C3 2,416 + … = 61,706``)."""
    head = f"the sum over {len(rows)} layers"
    terms = [(getattr(r.counts, field, None), r.name) for r in rows if not r.is_group]
    if not terms or not all(isinstance(v, int) for v, _ in terms):
        return head  # an output or a receptive field; or closed forms
    terms = [t for t in terms if t[0]]
    if not terms:
        return head
    import heapq  # here: inspect's start-up does not pay for it

    # the largest first, equal ones in row order (as a stable sort by −value gives them)
    top = heapq.nlargest(shown, terms, key=lambda t: t[0])
    parts = [f"{name} {value:,}" for value, name in top]
    total = sum(v for v, _ in terms)
    if len(terms) > shown:
        parts.append(f"{len(terms) - shown} more {total - sum(v for v, _ in top):,}")
    return f"{head}, the largest first: {' + '.join(parts)} = {total:,}"


def analyze(spec: Spec, *, strict: bool = False, batch: int = 1, dtype: str = "fp32",
            explain: bool = True, ignore=(), amp: str | None = None, optimizer: str = "adam",
            memory: bool = True, checks: bool = True) -> Report:
    """Compute every layer's shape, counts and receptive field.

    ``explain=False`` skips the formula text (faster on very large nets); ``ignore`` lists
    diagnostic codes to silence (they move to ``report.silenced``).  ``checks=False`` gives
    the figures alone, with no diagnostics and no ``expect:`` claims (what a sweep, a memory
    estimate or a brute force over sizes reads: the search for lost pixels and the claims on
    the totals are passes over the whole net).  Raises :class:`AnalysisError` (with the
    partial report) when a layer cannot work.

    With a symbolic input (``input: HxWx3``) sizes are closed forms and counts sums of their
    products; :func:`trace` also returns the conditions under which the layers work.
    """
    return trace(spec, strict=strict, batch=batch, dtype=dtype, explain=explain,
                 ignore=ignore, amp=amp, optimizer=optimizer, memory=memory, checks=checks)[0]


def _forget() -> None:
    """Empty what analyses keep for the next one (a new tree is analysed)."""
    for kept in (*_KNOWN.values(), _UNREAD, _STEPS, *_MEMOS):
        kept.clear()
    _MEMOS.clear()


@record(slots=False)
class Conditions:
    """What a symbolic analysis found beside its report: the requirements (each holds for
    the inputs where its layer works) and each sliding window's remainder per axis (0
    where ``(N − F + 2P)/S`` is whole), in execution order."""

    requirements: tuple[Requirement, ...]
    floors: tuple[tuple[str, int, object], ...]


def trace(spec: Spec, *, strict: bool = False, batch: int = 1, dtype: str = "fp32",
          explain: bool = True, ignore=(), amp: str | None = None, optimizer: str = "adam",
          memory: bool = True, checks: bool = True) -> tuple[Report, Conditions]:
    """:func:`analyze`, and the :class:`Conditions` of a symbolic input (empty otherwise).
    ``memory``: estimate the memory (:func:`cnncalc.memory.estimate`) at ``batch``,
    ``dtype``/``amp`` and ``optimizer``; a symbolic input has none."""
    if _KNOWN_TREE[0] is not spec.layers:
        _forget()
        _KNOWN_TREE[0] = spec.layers
        _KNOWN_TALLY[:] = [0, 0]
    for known in (*_KNOWN.values(), _UNREAD, _STEPS):
        if len(known) > _KNOWN_KEPT:
            known.clear()
    if strict and not checks:
        raise ValueError("strict turns findings into errors: it needs checks")
    engine = _Engine(spec, strict, explain, frozenset(ignore), checks)
    rf = None
    if spec.input_shape.spatial:
        if not _START_RF:
            one = AxisRF(1, 1, 0)
            _START_RF.append(ReceptiveField(one, one))
        rf = _START_RF[0]
    enabled = gc.isenabled()
    gc.disable()  # rows are acyclic: collector passes over 100k of them only cost time
    try:
        try:
            y, _ = walk(spec.layers, engine, (spec.input_shape, rf))
        except TapError as e:
            engine.fail(e.tap.loc, e.at.name or "from", str(e))
        except ShareError as e:
            engine.fail(e.leaf.share_loc or e.leaf.loc, e.name, str(e))
        engine.settle_unread(y)
        report = engine.report(y)
        _KNOWN_TALLY[0] += engine.studied
        _KNOWN_TALLY[1] += len(engine.names)
    finally:
        if enabled:
            gc.enable()
    if spec.expect and checks:
        leaves = report.layers
        claims = report.claims + tuple(check_totals(c, report, leaves) for c in spec.expect)
        report = replace(report, claims=claims)
    if memory and not symbolic_shape(spec.input_shape):
        from .memory import estimate
        made = report  # the estimate reads the rows, not the memory
        report = replace(report, memory_source=lambda: estimate(
            spec, batch=batch, dtype=dtype, amp=amp, optimizer=optimizer, report=made))
    return report, Conditions(tuple(engine.requirements), tuple(engine.floors))
