"""Matrix text → a volume of numbers, for ``cnncalc apply``; every problem is one located line.

Matrix text: one row per line, numbers separated by spaces or commas, channels separated by
a blank line; ``#`` starts a comment.  Inline, ``;`` separates rows and ``|`` channels:
``"1 2 3; 4 5 6; 7 8 9"``.  A *volume* is a list of channels, each a list of rows of
numbers: ``[[[1, 2], [3, 4]]]`` is one 2×2 channel.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from .errors import CnncalcError, Issue, Location, UsageError
from .formatting import plural

Number = Union[int, float]
Matrix = list[list[Number]]
Volume = list[Matrix]

MAX_MATRIX_BYTES = 1024 * 1024
_TOKEN = re.compile(r"[^\s,]+")
_INLINE = re.compile(r"^[\s\d.,;|eE+\-]*$")


class MatrixError(CnncalcError):
    """A malformed matrix: ``FILE:LINE:COL: error: …``, then the line and a caret."""

    def __init__(self, loc: Location, message: str, source_line: str | None = None,
                 hint: str = ""):
        self.issue = Issue(loc, message, hint=hint)
        self.source_line = source_line
        super().__init__(str(self.issue))

    def lines(self) -> list[str]:
        out = [str(self.issue)]
        if self.source_line is not None:
            out.append(f"    {self.source_line}")
            if self.issue.loc.col:
                out.append("    " + " " * (self.issue.loc.col - 1) + "^")
        return out


def parse_number(token: str) -> Number:
    """``3`` → 3, ``-0.5`` → -0.5; ValueError for anything else (nan and inf included)."""
    try:
        return int(token)
    except ValueError:
        pass
    x = float(token)
    if not math.isfinite(x):
        raise ValueError(token)
    return int(x) if x.is_integer() and "e" not in token.lower() and "." not in token else x


@dataclass
class _Row:
    values: list[Number]
    line: int
    col: int
    text: str


def parse_matrix(text: str, source: str, inline: bool = False) -> Volume:
    """Read a volume from matrix text; every problem is a :class:`MatrixError`."""
    if inline:
        return _parse_inline(text, source)
    channels: list[list[_Row]] = [[]]
    lines = text.splitlines()
    for i, raw in enumerate(lines, start=1):
        body = raw.split("#", 1)[0]
        if not body.strip():
            if channels[-1]:
                channels.append([])
            continue
        channels[-1].append(_row(body, raw, source, i, 0))
    return _volume([c for c in channels if c], source, lines)


def _parse_inline(text: str, source: str) -> Volume:
    channels: list[list[_Row]] = []
    offset = 0
    for chunk in text.split("|"):
        rows = []
        start = offset
        for piece in chunk.split(";"):
            if piece.strip():
                rows.append(_row(piece, text, source, 1, start))
            start += len(piece) + 1
        offset += len(chunk) + 1
        if rows:
            channels.append(rows)
    return _volume(channels, source, [text])


def _row(body: str, raw: str, source: str, line: int, offset: int) -> _Row:
    values = []
    for m in _TOKEN.finditer(body):
        try:
            values.append(parse_number(m.group()))
        except ValueError:
            raise MatrixError(Location(source, line, offset + m.start() + 1),
                              f"'{m.group()}' is not a number", raw,
                              "write numbers separated by spaces or commas") from None
    first = _TOKEN.search(body)
    return _Row(values, line, offset + (first.start() if first else 0) + 1, body)


def _volume(channels: list[list[_Row]], source: str, lines: list[str]) -> Volume:
    if not channels:
        raise MatrixError(Location(source, 1, 1), "holds no numbers",
                          hint="write one matrix row per line, e.g. '1 0 -1'")
    width = len(channels[0][0].values)
    height = len(channels[0])
    for c, rows in enumerate(channels):
        for r in rows:
            if len(r.values) != width:
                raise MatrixError(Location(source, r.line, r.col),
                                  f"this row has {plural(len(r.values), 'number')} but the first "
                                  f"row has {width}; every row needs the same count",
                                  _line(lines, r.line))
        if len(rows) != height:
            r = rows[0]
            raise MatrixError(Location(source, r.line, r.col),
                              f"channel {c + 1} has {plural(len(rows), 'row')} but channel 1 has "
                              f"{height}; every channel needs the same size",
                              _line(lines, r.line), "a blank line separates channels")
    return [[r.values for r in rows] for rows in channels]


def _line(lines: list[str], n: int) -> str | None:
    return lines[n - 1] if 0 < n <= len(lines) else None


def read_matrix(arg: str, label: str = "input") -> tuple[Volume, str]:
    """A matrix from a file path, or inline text; returns ``(volume, display name)``.

    ``label`` is what the caller calls the matrix (the CLI: its option, ``--kernel``): the
    file name of inline text in error locations."""
    if not arg.strip():
        raise UsageError("is empty: give a matrix file, or numbers such as \"1 2; 3 4\"",
                         param=label)
    path = Path(arg)
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError:  # longer than a file name may be: only inline text can be that
        is_file = is_dir = False
    if is_file:
        try:
            if path.stat().st_size > MAX_MATRIX_BYTES:
                raise MatrixError(Location(arg), f"is larger than {MAX_MATRIX_BYTES:,} bytes; "
                                                 f"apply is for small exercises")
            data = path.read_bytes()
        except OSError as e:
            raise MatrixError(Location(arg), f"cannot read: {e.strerror or e}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MatrixError(Location(arg), "is not UTF-8 text") from None
        return parse_matrix(text, arg), arg
    if is_dir:
        raise MatrixError(Location(arg), "is a directory, not a matrix file")
    if any(ch in arg for ch in ";|, \t") or _INLINE.match(arg):
        return parse_matrix(arg, label, inline=True), label
    raise MatrixError(Location(arg), "no such file",
                      hint=f"give a matrix file, or the matrix inline: {label} "
                           f"\"1 2 3; 4 5 6; 7 8 9\"")
