"""The kinds of answer a question takes, as the key stores them and as a student writes them.

=========  ======================  ==========================================
kind       in the key (JSON)       a student may write
=========  ======================  ==========================================
number     760                     760, 7,600, 7 600
volume     "32×32×10" (W×H×D)      32x32x10, 32×32×10, 32*32*10
strides    [1, 2, 4]               1, 2, 4 (any order, commas or spaces)
matrix     [[0, 30], [0, 30]]      0 30; 0 30 (rows split by ';' or new lines)
=========  ======================  ==========================================

:func:`read` turns a student's text into the key's form, or None when it cannot be read
(graded wrong, with what was expected).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from ..formulas import Shape, parse_volume, volume_text


class Kind(str, Enum):
    NUMBER = "number"
    VOLUME = "volume"
    STRIDES = "strides"
    MATRIX = "matrix"

    def __str__(self) -> str:
        return self.value


FORMS = {
    Kind.NUMBER: {"en": "a number", "zh": "一个整数"},
    Kind.VOLUME: {"en": "W×H×D", "zh": "W×H×D"},
    Kind.STRIDES: {"en": "a list such as 1, 3", "zh": "列出，如 1, 3"},
    Kind.MATRIX: {"en": "a matrix, rows split by ';'", "zh": "矩阵，各行用 ; 分隔"},
}

_SEPARATORS = re.compile(r"[\s,，、;]+")
# a whole number, its thousands grouped by commas, spaces, thin spaces, ' or _ (7,600 · 7 600)
_NUMBER = re.compile(r"^[-−]?(\d{1,3}(?:([,\s'_\u2009\u202f])\d{3})?(?:\2\d{3})*|\d+)$")


def key_value(kind: Kind, value: Any) -> Any:
    """A computed answer in the key's JSON form."""
    if kind is Kind.VOLUME:
        return volume_text(value) if isinstance(value, Shape) else str(value)
    if kind is Kind.STRIDES:
        return sorted(int(v) for v in value)
    if kind is Kind.MATRIX:
        return [[int(v) for v in row] for row in value]
    return int(value)


def text(kind: Kind, value: Any) -> str:
    """The key's value as a person reads it."""
    if kind is Kind.NUMBER:
        return f"{value:,}"
    if kind is Kind.STRIDES:
        return ", ".join(str(v) for v in value)
    if kind is Kind.MATRIX:
        return "; ".join(" ".join(str(v) for v in row) for row in value)
    return str(value)


def read(kind: Kind, raw: Any) -> Any:
    """What a student wrote, in the key's form; None when it cannot be read."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int) and kind is Kind.NUMBER:
        return raw
    if isinstance(raw, list):
        if kind is Kind.STRIDES and all(isinstance(v, int) for v in raw):
            return sorted(set(raw))
        if kind is Kind.MATRIX and all(isinstance(r, list) for r in raw):
            raw = "; ".join(" ".join(str(v) for v in r) for r in raw)
        else:
            return None
    s = str(raw).strip()
    if not s:
        return None
    try:
        if kind is Kind.NUMBER:
            if not _NUMBER.match(s):
                return None
            return int(re.sub(r"[^\d-]", "", s.replace("−", "-")))
        if kind is Kind.VOLUME:
            return volume_text(parse_volume(s))
        if kind is Kind.STRIDES:
            found = {int(w) for w in _SEPARATORS.split(s) if w}
            return sorted(found) if found else None
        rows = [r for r in re.split(r"[;\n；]", s) if r.strip()]
        matrix = [[int(w) for w in _SEPARATORS.split(r.strip()) if w] for r in rows]
        return matrix if matrix else None
    except ValueError:
        return None
