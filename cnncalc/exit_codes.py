"""The exit-status policy: when a result counts as failed.  The CLI exits with these codes, the
JSON documents' ``ok`` agrees with them, and the Python API returns them
(``cnncalc.exit_status(report, strict=True)`` is :func:`inspect_status`).

- 0: all good.
- 1 (``EXIT_CHECK_FAILED``): a check failed: a wrong ``expect`` claim, a verify mismatch; under
  ``strict``, any warning or error diagnostic (inspect) or any design note at all (lint).
- 2 (``EXIT_BAD_INPUT``), or the error's own ``exit_code``: the input could not be analysed.

Over several files a command exits with the worst (highest) status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .errors import EXIT_CHECK_FAILED, EXIT_OK, CnncalcError
from .report import ClaimResult, Report, Severity

if TYPE_CHECKING:  # the types only: lint imports the engine, verify imports torch
    from .backends.torch import Verification
    from .lint import LintResult


def inspect_status(report: Report, *, strict: bool = False,
                   error: CnncalcError | None = None) -> int:
    """``inspect``: the error's code when the analysis stopped, 1 for a wrong claim, and under
    ``strict`` 1 for any diagnostic above a note.

    As the CLI does, analyse with the same ``strict``: ``analyze(spec, strict=True)`` raises
    :class:`~cnncalc.errors.AnalysisError` for a size that is not whole; pass it as ``error``
    (with its ``report``)."""
    if error is not None:
        return error.exit_code
    if not report.claims_ok:
        return EXIT_CHECK_FAILED
    if strict and any(d.severity is not Severity.NOTE for d in report.diagnostics):
        return EXIT_CHECK_FAILED
    return EXIT_OK


def lint_status(result: LintResult, *, strict: bool = False) -> int:
    """``lint``: notes are advice, so they fail only under ``strict``."""
    if result.error is not None:
        return result.error.exit_code
    return EXIT_CHECK_FAILED if strict and result.notes else EXIT_OK


def check_status(claims: Iterable[ClaimResult], errors: Iterable[CnncalcError] = ()) -> int:
    """``check``: 1 for any wrong claim; a file that could not be checked, its error's code."""
    codes = [e.exit_code for e in errors]
    if not all(c.ok for c in claims):
        codes.append(EXIT_CHECK_FAILED)
    return max(codes, default=EXIT_OK)


def verify_status(result: Verification) -> int:
    """``verify``: 1 when PyTorch disagrees with any count."""
    return EXIT_OK if result.ok else EXIT_CHECK_FAILED
