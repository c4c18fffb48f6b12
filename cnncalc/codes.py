"""The diagnostic codes: each finding's stable code, slug, severity and its one-line reason from
the notes.  ``inspect`` finds CN1xx layer by layer (the kinds' ``findings``), ``cnncalc lint``
the network-level CN2xx (:mod:`cnncalc.lint`); a spec's ``allow:`` and ``--ignore`` silence them
by code.  The records a finding becomes are :mod:`cnncalc.report`'s."""

from __future__ import annotations

from dataclasses import replace
from enum import Enum

from .records import record


class Severity(str, Enum):
    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@record
class Rule:
    """A stable diagnostic code: its slug, severity and the one-line reason from the notes."""

    code: str
    slug: str
    severity: Severity
    reason: str


def silence(found, allow, ignore):
    """``found``, marked silenced when the spec's ``allow:`` or ``--ignore`` names its code."""
    by = "allow" if found.code in allow else "ignore" if found.code in ignore else ""
    return replace(found, silenced_by=by) if by else found


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


CODES: dict[str, Rule] = _rules(
    Rule("CN101", "fractional-output", Severity.WARNING,
         "(N − F + 2P)/S + 1 must be a whole number; PyTorch floors it and drops border pixels"),
    Rule("CN102", "asymmetric-same", Severity.WARNING,
         "'same' padding whose total is odd (an even kernel, or a stride) cannot be symmetric"),
    Rule("CN103", "pool-padding", Severity.NOTE, "it is not common to zero-pad a pooling layer"),
    Rule("CN104", "shrinks-too-fast", Severity.NOTE, "shrinking too fast is not good"),
    Rule("CN105", "misaligned-merge", Severity.WARNING,
         "merged paths step over the input with different jumps"),
    Rule("CN106", "stride-skips-input", Severity.NOTE,
         "a stride larger than the kernel never reads some input pixels"),
    # network-level rules, found by `cnncalc lint` (cnncalc/lint.py)
    Rule("CN201", "fc-dominates", Severity.NOTE,
         "one fc layer holds most of the parameters; the notes: convolution shares weights "
         "to cut them, fully connected layers have many more"),
    Rule("CN202", "bias-before-bn", Severity.NOTE,
         "a bias right before batch norm is cancelled by BN's mean subtraction (β replaces "
         "it): set bias: false"),
    Rule("CN203", "dropout-between-convs", Severity.NOTE,
         "the notes: dropout is less effective to regularize convolution layers; put it on "
         "the fc layers (or rely on batch norm)"),
    Rule("CN204", "activation-twice", Severity.NOTE,
         "two activations in a row with no weighted layer between: the second adds nothing "
         "a single one would not"),
    Rule("CN205", "implausible-size", Severity.NOTE,
         "over 10¹⁰ params, or over 1 TiB to train at the batch given: likely a slip"),
)
