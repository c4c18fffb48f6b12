"""Error classes and exit codes.

Every error a user can cause is a :class:`CnncalcError`; the CLI prints its ``lines()``
and exits with its ``exit_code``.  A traceback is only shown with ``--debug``.
"""

from __future__ import annotations

from .records import record

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a verify mismatch, a wrong expect, a warning under --strict
EXIT_BAD_INPUT = 2  # bad spec, bad usage


@record
class Location:
    """Where a spec node starts: 1-based line and column, as editors count."""

    file: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@record
class Issue:
    """One problem found in a spec: where, the trail of keys to it, what, and what to do."""

    loc: Location
    message: str
    trail: str = ""
    hint: str = ""

    def __str__(self) -> str:
        trail = f"{self.trail} → " if self.trail else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{self.loc}: error: {trail}{self.message}{hint}"


class CnncalcError(Exception):
    """Base of every error cnncalc reports to a user."""

    exit_code = EXIT_BAD_INPUT

    def lines(self) -> list[str]:
        return [str(self)]


class SpecError(CnncalcError):
    """One or more problems in a spec, all found in one pass."""

    def __init__(self, issues: list[Issue] | Issue):
        self.issues = [issues] if isinstance(issues, Issue) else list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))

    def lines(self) -> list[str]:
        return [str(i) for i in self.issues]


class AnalysisError(SpecError):
    """A layer whose shapes cannot work; ``report`` holds the layers that did."""

    def __init__(self, issue: Issue, report=None):
        super().__init__(issue)
        self.report = report


@record
class Param:
    """A parameter named inside an error message (``pool_size``): the Python API prints its
    name, the CLI the option that sets it (``--size``)."""

    name: str


class UsageError(CnncalcError):
    """Values the core refuses, or bad command-line usage that click's types cannot catch.

    ``param`` names the parameter at fault (``stride``) and the message is pieces of text and
    :class:`Param`\\ s, so that the core never spells a command-line option: ``str()`` writes
    parameter names, ``text(spell)`` lets the CLI write each as its option.  The CLI hands it to
    click, which prints the usage line and ``Error: …`` (exit 2)."""

    def __init__(self, *parts: str | Param, param: str | None = None):
        self.parts = parts
        self.param = param
        super().__init__(self.text())

    def text(self, spell=lambda name: name) -> str:
        """The message, with every :class:`Param` written as ``spell(name)``."""
        return "".join(p if isinstance(p, str) else spell(p.name) for p in self.parts)

    def lines(self) -> list[str]:
        where = f"{self.param}: " if self.param else ""
        return [f"cnncalc: error: {where}{self}"]
