"""Design notes on a whole network: the engine's per-layer rules (CN1xx) plus network-level
rules (CN2xx) tied to the course notes.

Each network rule is a pure function of a :class:`Flow` (the analysed rows, each with the
spec leaf that made it and the leaves it feeds) that yields
:class:`~cnncalc.report.Diagnostic`\\ s.  The codes are stable; each is registered in
:data:`cnncalc.codes.CODES` with its one-line reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .engine import analyze
from .errors import AnalysisError, Issue, Location, SpecError
from .network import At, Leaf, Spec, Visitor, walk
from .codes import silence
from .report import Diagnostic, Report, Row
from .formulas import symbolic_shape, volume_text

FC_SHARE = 0.5  # one fc layer holding more than this share of all params is flagged
MAX_PLAUSIBLE_PARAMS = 10 ** 10  # GPT-3 has 1.75·10¹¹; no CNN comes near 10¹⁰
MAX_PLAUSIBLE_TRAINING_BYTES = 2 ** 40  # 1 TiB: more than any single accelerator holds


class _Feeds(Visitor["int | None"]):
    """What flows is the index of the leaf whose output it is (None: the input, or a merge)."""

    def __init__(self):
        self.leaves: list[Leaf] = []
        self.before: list[int | None] = []
        self.allow: dict[str, frozenset[str]] = {}

    def leaf(self, at: At, leaf: Leaf, x: int | None) -> int:
        self.leaves.append(leaf)
        self.before.append(x)
        self.allow[at.name] = at.allow
        return at.index

    def merge(self, at: At, node, x, outs) -> None:
        return None  # an add or a concat: no single leaf feeds what follows


@dataclass(frozen=True)
class Flow:
    """The net as data flows through it: ``rows[i]`` was made by ``leaves[i]`` and reads the
    output of ``before[i]`` directly (None after a merge or at the input)."""

    rows: tuple[Row, ...]
    leaves: tuple[Leaf, ...]
    before: tuple[int | None, ...]
    allow: dict[str, frozenset[str]]  # a layer's name → the codes its spec allows

    def after(self, i: int) -> list[int]:
        """The leaves that read leaf ``i``'s output directly."""
        return [j for j, b in enumerate(self.before) if b == i]


def flow_of(spec: Spec, report: Report) -> Flow:
    """The dataflow of the rows ``report`` holds (all of them, or those before a failure)."""
    rows = report.layers
    feeds = _Feeds()
    walk(spec.layers, feeds, None)
    return Flow(rows, tuple(feeds.leaves[:len(rows)]), tuple(feeds.before[:len(rows)]),
                feeds.allow)


NetworkRule = Callable[[Report, Flow], Iterable[Diagnostic]]
RULES: list[NetworkRule] = []


def network_rule(fn: NetworkRule) -> NetworkRule:
    RULES.append(fn)
    return fn


def note(code: str, message: str, row: Row, leaf: Leaf | None) -> Diagnostic:
    return Diagnostic(code, message, row.name, leaf.loc if leaf else None)


@network_rule
def fc_dominates(report: Report, flow: Flow) -> Iterable[Diagnostic]:
    total = report.totals.params
    if not total:
        return
    for row, leaf in zip(flow.rows, flow.leaves):
        params = row.counts.params
        if leaf.layer.fully_connected and params > FC_SHARE * total:
            yield note("CN201", f"{row.name} holds {params:,} of the net's {total:,} params "
                                f"({params / total:.0%}); a global pool or a smaller "
                                f"feature map before it shrinks that", row, leaf)


@network_rule
def bias_before_bn(report: Report, flow: Flow) -> Iterable[Diagnostic]:
    for i, (row, leaf) in enumerate(zip(flow.rows, flow.leaves)):
        if not leaf.layer.has_bias():
            continue
        for j in flow.after(i):
            nxt = flow.rows[j]
            if flow.leaves[j].layer.cancels_bias:
                k = row.shape.c
                biases = "bias learns" if k == 1 else f"{k:,} biases learn"
                yield note("CN202", f"{row.name} has a bias and {nxt.name} ({nxt.kind}) "
                                    f"follows: it subtracts each map's mean, so the {biases} "
                                    f"nothing; set bias: false", row, leaf)
                break


def _past_kept(flow: Flow, i: int | None, step) -> int | None:
    """From leaf ``i``, follow ``step`` past layers that keep the features."""
    while i is not None and flow.leaves[i].layer.keeps_features:
        i = step(i)
    return i


@network_rule
def dropout_between_convs(report: Report, flow: Flow) -> Iterable[Diagnostic]:
    def back(i):
        return flow.before[i]

    def ahead(i):
        nxt = flow.after(i)
        return nxt[0] if len(nxt) == 1 else None

    for i, (row, leaf) in enumerate(zip(flow.rows, flow.leaves)):
        if not leaf.layer.dropout or not row.input_shape.spatial:
            continue
        before = _past_kept(flow, back(i), back)
        after = _past_kept(flow, ahead(i), ahead)
        if before is not None and after is not None and \
                flow.leaves[before].layer.convolution and flow.leaves[after].layer.convolution:
            yield note("CN203", f"{row.name} sits between two convolutions", row, leaf)


@network_rule
def activation_twice(report: Report, flow: Flow) -> Iterable[Diagnostic]:
    for i, (row, leaf) in enumerate(zip(flow.rows, flow.leaves)):
        j = flow.before[i]
        if j is None or not (leaf.layer.activation and flow.leaves[j].layer.activation):
            continue
        prev = flow.rows[j]
        same = "again" if prev.kind == row.kind else f"right after {prev.kind}"
        yield note("CN204", f"{row.name} applies {row.kind} {same} ({prev.name}), with no "
                            f"weighted layer between: the second changes little (a second "
                            f"softmax flattens the probabilities); drop one", row, leaf)


@network_rule
def implausible_size(report: Report, flow: Flow) -> Iterable[Diagnostic]:
    if not flow.rows:
        return
    last, leaf = flow.rows[-1], flow.leaves[-1]
    t = report.totals
    if t.params > MAX_PLAUSIBLE_PARAMS:
        yield note("CN205", f"the net has {t.params:,} params (over 10¹⁰): check the "
                            f"filters and units for a slip of a few zeros", last, leaf)
    m = report.memory
    if m is not None and m.training_peak > MAX_PLAUSIBLE_TRAINING_BYTES:
        yield note("CN205", f"training at batch {m.batch} in {m.precision} needs "
                            f"{m.training_peak / 2 ** 40:,.1f} TiB (over 1 TiB): a smaller "
                            f"batch, input or width", last, leaf)


@dataclass(frozen=True)
class LintResult:
    report: Report
    notes: tuple[Diagnostic, ...]
    error: AnalysisError | None = None
    silenced: tuple[Diagnostic, ...] = ()  # by allow: in the spec or --ignore

    @property
    def ok(self) -> bool:
        return not self.notes and self.error is None


def lint(spec: Spec, *, batch: int = 1, dtype: str = "fp32", ignore=()) -> LintResult:
    """Every design note on ``spec``: the engine's diagnostics, then the network rules.
    Codes in ``ignore`` (and in a layer's ``allow:``) are silenced, not dropped."""
    if symbolic_shape(spec.input_shape):  # its rules weigh numbers: shares, sizes, bytes
        raise SpecError(Issue(Location(spec.source), f"lint weighs a design at numeric sizes; "
                                                     f"the input {volume_text(spec.input_shape)} "
                                                     f"has symbols",
                              hint="give the input in numbers (cnncalc sizes answers for "
                                   "every size)"))
    error = None
    try:
        report = analyze(spec, batch=batch, dtype=dtype, ignore=ignore)
    except AnalysisError as e:
        report, error = e.report, e
    found, silenced = list(report.diagnostics), list(report.silenced)
    if error is None:
        flow = flow_of(spec, report)
        for rule in RULES:
            for d in rule(report, flow):
                d = silence(d, flow.allow.get(d.layer, ()), frozenset(ignore))
                (silenced if d.silenced_by else found).append(d)
    return LintResult(report, tuple(found), error, tuple(silenced))
