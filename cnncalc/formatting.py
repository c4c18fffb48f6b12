"""How numbers and counted nouns are written: the one home of every number and plural formatter.

Torch-free and rich-free, importing nothing of cnncalc, so that the core (formula text, error
messages), the render package and the backends all write a number the same way.
"""

from __future__ import annotations

from fractions import Fraction

MISSING = "—"  # a value that is not there (no PyTorch output, no receptive field)


def thousands(n: int | None) -> str:
    """1814073344 → '1,814,073,344'; None → '—'."""
    return MISSING if n is None else f"{n:,}"


def short(n: int | float) -> str:
    """1,814,073,344 → '1.81 G'."""
    if abs(n) >= 1e15:
        return f"{n:.3g}"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return str(n)


def with_short(n: int) -> str:
    """'1,814,073,344 (1.81 G)'; a number with no shorter form is written once: '510'."""
    long, brief = thousands(n), short(n)
    return long if brief in (long, str(n)) else f"{long} ({brief})"


def size_bytes(n: int | float) -> str:
    """A byte count in binary units: 2,097,152 → '2.00 MiB'."""
    for unit, size in (("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20),
                       ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


def decimal(x: Fraction | int | float) -> str:
    """An exact or measured value in a formula: whole → '7', else 4 significant digits
    ('13.5', '0.3584')."""
    if isinstance(x, Fraction):
        return str(x.numerator) if x.denominator == 1 else f"{float(x):.4g}"
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else f"{x:.4g}"
    return str(x)


def json_number(x: Fraction | int | None) -> int | float | None:
    """A Fraction as JSON: an int when whole."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else float(x)
    return x


def plural(n: int, noun: str) -> str:
    """``plural(1, 'row')`` → '1 row', ``plural(2, 'bias')`` → '2 biases'."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {noun}{'es' if noun.endswith(('s', 'x', 'ch', 'sh')) else 's'}"
