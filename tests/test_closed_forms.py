"""Symbolic sizes (cnncalc.closed_forms): every operation against the same arithmetic done on
numbers, input by input, and the closed forms' text against forms worked by hand."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.formulas import (Shape, adaptive_window, keep_pad_total, parse_input,
                            same_pad_total, split_pad, unread_image, volume_text,
                            window_out_len)
from cnncalc.closed_forms import (Poly, Requirement, Size, SymbolicError, collecting, exceeds,
                              jsonable, largest, parse_dims, require_equal)

H, W = Size.variable("H"), Size.variable("W")
XS = range(-40, 300)


def same_function(expr, fn, xs=XS):
    """``expr`` (a closed form or a number) equals ``fn(x)`` at every x."""
    for x in xs:
        got = expr.at(x) if isinstance(expr, Size) else expr
        assert got == fn(x), (x, got, fn(x))


# --- the identity the issue states -----------------------------------------------------------

@given(a=st.integers(-20, 20), s=st.integers(1, 9), k=st.integers(-20, 20), t=st.integers(1, 9))
def test_nested_floors_collapse_into_one(a, s, k, t):
    # ⌊(⌊(x + a)/s⌋ + k)/t⌋ = ⌊(x + a + k·s)/(s·t)⌋ for s, t > 0
    nested = ((H + a) // s + k) // t
    one = (H + a + k * s) // (s * t)
    assert nested == one
    same_function(nested, lambda x: ((x + a) // s + k) // t)


@given(ops=st.lists(st.tuples(st.sampled_from("+-*/%"), st.integers(1, 6)), max_size=6))
@settings(max_examples=200)
def test_any_chain_of_operations_is_exact(ops):
    expr, fns = H, []
    for op, v in ops:
        if op == "+":
            expr = expr + v
        elif op == "-":
            expr = expr - v
        elif op == "*":
            expr = expr * v
        elif op == "/":
            expr = expr // v
        else:
            expr = expr % v
        fns.append((op, v))

    def fn(x):
        for op, v in fns:
            x = {"+": x + v, "-": x - v, "*": x * v, "/": x // v, "%": x % v}[op]
        return x

    same_function(expr, fn)


def test_resnet_stem_reads_as_one_floor():
    # conv 7×7/2 pad 3, then max pool 3×3/2 pad 1: ⌊(H − 1)/2⌋ + 1, then ⌊(H − 1)/4⌋ + 1
    conv = window_out_len(H, 7, 2, (3, 3)).out
    pool = window_out_len(conv, 3, 2, (1, 1)).out
    assert conv.text == "⌊(H − 1)/2⌋ + 1"
    assert pool.text == "⌊(H − 1)/4⌋ + 1"
    assert pool.form() == (1, -1, 4, 1)
    assert pool.at(224) == 56 and conv.at(224) == 112


def test_texts_of_the_common_forms():
    assert (H - 4).text == "H − 4"
    assert (2 * H).text == "2·H"
    assert (H // 2 - 2).text == "⌊H/2⌋ − 2"
    up = 2 * ((H - 1) // 4 + 1)  # a deconv ×2 after the ResNet stem
    assert up.text == "2·⌊(H − 1)/4⌋ + 2"
    assert str(H - 4) == "(H − 4)" and str(H // 4) == "⌊H/4⌋"  # parentheses only for sums
    assert volume_text(Shape(64, H - 2, W - 2)) == "(W − 2)×(H − 2)×64"
    assert format(1000 * (H - 2), ",") == "(1,000·H − 2,000)"


def test_a_size_with_no_single_floor_is_written_by_its_period():
    # upsample ×2, then a stride-3 pool: ⌊2H/3⌋ has no form a·⌊(H + A)/S⌋ + B with a ≠ 1 … but
    # 2·⌊H/3⌋ + [0, 0, 1][H mod 3] is exact
    f = (2 * H) // 3
    assert f.form() is None
    assert f.text == "2·⌊H/3⌋ + [0, 0, 1][H mod 3]"
    same_function(f, lambda x: 2 * x // 3)


def test_a_constant_result_is_a_plain_number():
    assert (H + 3) - H == 3
    assert isinstance((H % 4) * 0, int)
    assert (H // 2) * 2 + H % 2 == H


def test_sizes_refuse_what_needs_a_number():
    for attempt in (lambda: H < 3, lambda: bool(H), lambda: range(H), lambda: H // 0,
                    lambda: H + W, lambda: max(H - 1, 0)):
        with pytest.raises(SymbolicError):
            attempt()


# --- shapes.py's functions on sizes ----------------------------------------------------------

@given(f=st.integers(1, 7), s=st.integers(1, 4), p0=st.integers(0, 3), p1=st.integers(0, 3),
       d=st.integers(1, 3), ceil=st.booleans(), shift=st.integers(0, 30))
@settings(max_examples=300)
def test_window_out_len_equals_the_numeric_one(f, s, p0, p1, d, ceil, shift):
    n = H + shift
    a = window_out_len(n, f, s, (p0, p1), d, ceil)
    for x in range(1, 120):
        b = window_out_len(x + shift, f, s, (p0, p1), d, ceil)
        if b.out == 0 and a.f > x + shift + p0 + p1:
            continue  # the kernel does not fit: the layer's requirement, not a size
        assert (value(a.out, x), value(a.remainder, x), value(unread_image(a), x)) == \
            (b.out, b.remainder, unread_image(b)), x


def value(v, x):
    return v.at(x) if isinstance(v, Size) else v


@given(f=st.integers(1, 7), s=st.integers(1, 4), d=st.integers(1, 3))
def test_same_and_keep_padding_on_sizes(f, s, d):
    same, keep = same_pad_total(H, f, s, d), keep_pad_total(H, f, s, d)
    before, after = split_pad(same)
    for x in range(1, 100):
        assert value(same, x) == same_pad_total(x, f, s, d)
        assert value(keep, x) == keep_pad_total(x, f, s, d)
        assert (value(before, x), value(after, x)) == split_pad(same_pad_total(x, f, s, d))
        out = window_out_len(H, f, s, (before, after), d).out
        assert value(out, x) == -(-x // s)  # 'same': ⌈N/S⌉


@given(out=st.integers(1, 9))
def test_adaptive_windows_on_sizes(out):
    k, stride = adaptive_window(H, out)
    for x in range(1, 100):
        assert value(k, x) == adaptive_window(x, out)[0]
        assert value(stride, x) == Fraction(x, out)


def test_largest_of_sizes_that_grow_alike():
    values = [(H + 1) // 3, H // 3, (H + 2) // 3 - 1]
    top = largest(values)
    same_function(top, lambda x: max((x + 1) // 3, x // 3, (x + 2) // 3 - 1))


# --- sums of products ---------------------------------------------------------------------

def test_poly_groups_equal_products_and_evaluates():
    a, b = (H - 1) // 4 + 1, (W - 1) // 4 + 1
    macs = 64 * a * b + 128 * a * b + 10
    assert macs == 192 * a * b + 10
    assert macs.text == "192·(⌊(H − 1)/4⌋ + 1)·(⌊(W − 1)/4⌋ + 1) + 10"
    assert macs.at({"H": 224, "W": 320}) == 192 * 56 * 80 + 10
    assert (a * a).text == "(⌊(H − 1)/4⌋ + 1)²"
    assert macs - macs == 0 and isinstance(macs - 192 * a * b, int)
    assert macs.vars == ("H", "W")


def test_json_of_a_size_has_its_text_and_parts():
    doc = jsonable({"h": (H - 1) // 4 + 1, "n": 3})
    assert doc["n"] == 3
    assert doc["h"] == {"expr": "⌊(H − 1)/4⌋ + 1", "var": "H", "period": 4, "step": 1,
                        "values": [0, 1, 1, 1], "form": {"a": 1, "A": -1, "S": 4, "B": 1}}
    poly = jsonable(2 * H * W)
    assert poly["expr"] == "2·H·W" and poly["terms"][0]["coefficient"] == 2


# --- conditions ---------------------------------------------------------------------------

@given(a=st.integers(-30, 30), s=st.integers(1, 8), m=st.integers(1, 3), kind=st.sampled_from(
    ["fits", "agree"]), c=st.integers(-40, 40))
def test_a_requirement_is_periodic_above_its_threshold(a, s, m, kind, c):
    expr = m * ((H + a) // s) - c
    if not isinstance(expr, Size):
        return
    r = Requirement(kind, expr)
    t, p = r.threshold(), expr.period
    for x in range(max(t, 1), t + 3 * p + 50):
        assert r.holds(x) == r.holds(x + p), (x, t, p)


def test_exceeds_records_a_condition_only_inside_a_collector():
    assert exceeds(5, 3) and not exceeds(3, 5)
    with pytest.raises(SymbolicError):
        exceeds(7, H)
    with collecting() as found:
        assert exceeds(7, H) is False  # recorded, and the walk goes on
        assert require_equal(2 * (H // 2), H) is True
        assert require_equal(H, H)
    assert [(r.kind, r.expr.text) for r in found] == [("fits", "H − 7"),
                                                      ("agree", "[0, −1][H mod 2]")]
    assert [x for x in range(1, 12) if found[0].holds(x)] == [7, 8, 9, 10, 11]
    assert [x for x in range(1, 8) if found[1].holds(x)] == [2, 4, 6]


# --- symbolic inputs ----------------------------------------------------------------------

def test_symbolic_inputs_read_as_height_and_width():
    x = parse_input("HxWx3")
    assert (x.c, x.h, x.w) == (3, H, W)  # H is the height wherever it stands
    assert parse_input("WxHx3") == x
    square = parse_input("NxNx1")
    assert square.h == square.w == Size.variable("N")
    mixed = parse_input("Wx224x3")
    assert (mixed.h, mixed.w) == (224, W)
    assert parse_dims("32x32x3") is None
    assert parse_input("32x32x3") == Shape(3, 32, 32)


@pytest.mark.parametrize("text, message", [
    ("HxWxC", "the depth 'C' must be a number"),
    ("2HxWx3", "'2H' is not a size"),
    ("H+1xWx3", "'H+1' is not a size"),
    ("HxWx3x4", "is not a volume"),
])
def test_symbolic_inputs_that_cannot_be(text, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        parse_input(text)
