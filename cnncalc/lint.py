"""Design notes on a whole network: the engine's per-layer rules (CN1xx) plus network-level
rules (CN2xx) tied to the course notes.

Each network rule is a pure function of the analysed rows (paired with the spec's leaves,
for hyperparameters such as ``bias``) that yields :class:`~cnncalc.report.Diagnostic`\\ s.
The codes are stable; each is registered in :data:`cnncalc.report.CODES` with its one-line
reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .engine import analyze
from .errors import AnalysisError
from .network import Leaf, Spec, leaves
from .report import Diagnostic, Report, Row

FC_SHARE = 0.5  # one fc layer holding more than this share of all params is flagged

Pairs = list[tuple[Row, Leaf]]
NetworkRule = Callable[[Report, Pairs], Iterable[Diagnostic]]
RULES: list[NetworkRule] = []


def network_rule(fn: NetworkRule) -> NetworkRule:
    RULES.append(fn)
    return fn


def note(code: str, message: str, row: Row, leaf: Leaf | None) -> Diagnostic:
    return Diagnostic(code, message, row.name, leaf.loc if leaf else None)


@network_rule
def fc_dominates(report: Report, pairs: Pairs) -> Iterable[Diagnostic]:
    total = report.totals.params
    if not total:
        return
    for row, leaf in pairs:
        params = row.counts.params
        if row.kind == "fc" and params > FC_SHARE * total:
            yield note("CN201", f"{row.name} holds {params:,} of the net's {total:,} params "
                                f"({params / total:.0%}); a global pool or a smaller "
                                f"feature map before it shrinks that", row, leaf)


@network_rule
def bias_before_bn(report: Report, pairs: Pairs) -> Iterable[Diagnostic]:
    for (row, leaf), (nxt, _) in zip(pairs, pairs[1:]):
        if (row.kind in ("conv", "deconv", "fc") and leaf.layer.hp.get("bias")
                and nxt.kind == "bn" and nxt.input_shape == row.shape):
            k = row.shape.c
            biases = "bias learns" if k == 1 else f"{k:,} biases learn"
            yield note("CN202", f"{row.name} has a bias and {nxt.name} (batch norm) follows: "
                                f"BN subtracts the mean, so the {biases} nothing; "
                                f"set bias: false", row, leaf)


@network_rule
def dropout_between_convs(report: Report, pairs: Pairs) -> Iterable[Diagnostic]:
    for i, (row, leaf) in enumerate(pairs):
        if row.kind != "dropout" or not row.input_shape.spatial:
            continue
        before = next((r.kind for r, leaf in reversed(pairs[:i])
                       if not leaf.layer.keeps_features), None)
        after = next((r.kind for r, leaf in pairs[i + 1:] if not leaf.layer.keeps_features), None)
        if before == "conv" and after == "conv":
            yield note("CN203", f"{row.name} sits between two convolutions", row, leaf)


@dataclass(frozen=True)
class LintResult:
    report: Report
    notes: tuple[Diagnostic, ...]
    error: AnalysisError | None = None

    @property
    def ok(self) -> bool:
        return not self.notes and self.error is None


def lint(spec: Spec) -> LintResult:
    """Every design note on ``spec``: the engine's diagnostics, then the network rules."""
    error = None
    try:
        report = analyze(spec)
    except AnalysisError as e:
        report, error = e.report, e
    found_leaves = leaves(spec.layers)
    pairs = [(row, found_leaves[row.index][1]) for row in report.layers]
    found = list(report.diagnostics)
    if error is None:
        for rule in RULES:
            found.extend(rule(report, pairs))
    return LintResult(report, tuple(found), error)
