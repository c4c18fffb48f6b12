"""The number and plural formatters (cnncalc/formatting.py), worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest

from cnncalc.formatting import decimal, json_number, plural, short, size_bytes, thousands


@pytest.mark.parametrize("fn, value, text", [
    (thousands, 1814073344, "1,814,073,344"),
    (thousands, 156, "156"),
    (thousands, None, "—"),
    (short, 1814073344, "1.81 G"),  # 1.814… × 10⁹
    (short, 61706, "61.71 k"),
    (short, 999, "999"),
    (size_bytes, 2 * 2 ** 20, "2.00 MiB"),
    (size_bytes, 1536, "1.50 KiB"),  # 1536 / 1024
    (size_bytes, 1023, "1023 B"),
    (decimal, Fraction(27, 2), "13.5"),
    (decimal, Fraction(1, 3), "0.3333"),  # 4 significant digits
    (decimal, Fraction(28, 1), "28"),
    (decimal, 7.0, "7"),
    (decimal, 0.35835739, "0.3584"),
    (decimal, -2, "-2"),
])
def test_numbers(fn, value, text):
    assert fn(value) == text


@pytest.mark.parametrize("n, noun, text", [
    (1, "row", "1 row"), (2, "row", "2 rows"), (0, "column", "0 columns"),
    (1, "bias", "1 bias"), (2, "bias", "2 biases"), (3, "box", "3 boxes"),
    (2, "batch", "2 batches"),
])
def test_plural(n, noun, text):
    assert plural(n, noun) == text


def test_json_number_keeps_whole_fractions_integers():
    assert json_number(Fraction(4, 2)) == 2 and isinstance(json_number(Fraction(4, 2)), int)
    assert json_number(Fraction(1, 2)) == 0.5
    assert json_number(None) is None
