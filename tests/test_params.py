"""Spec-level params (issue 18 item 1): ``params:`` at the top, ``$name`` wherever a number
is, exact arithmetic (decimals as the fractions they write, ceil/floor/round/int,
torchvision's make_divisible), ``--set`` on inspect/verify/draw/report/export, and errors
that point at the expression."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnncalc import expr
from cnncalc.engine import analyze
from cnncalc.errors import SpecError
from cnncalc.params import parse_assignments
from cnncalc.spec import parse

NET = """\
params: {width: 1.0, depth: 1.0, res: 32}
input: $res x $res x 3
blocks:
  b:
    params: {c: 8}
    layers:
      - conv: {filters: make_divisible($c * $width), size: 3, pad: 1}
      - relu
layers:
  - conv: {filters: round(16 * $width), size: 3}
  - repeat: {times: ceil(2 * $depth), layers: [use: b]}
  - use: b
    with: {c: $width * 20}
  - global_pool
  - flatten
  - dropout: $width / 4
  - fc: 10
"""


def torchvision_make_divisible(v: float, divisor: int, min_value=None) -> int:
    """torchvision/models/_utils.py's _make_divisible (0.29.1), in its own float arithmetic."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def by_hand(width, depth, res) -> tuple[int, int]:
    """The net's params and MACs, worked out from the layer formulas."""
    c1 = round(16 * width)
    s = res - 2  # 3×3 valid conv
    cb = torchvision_make_divisible(8 * width, 8)
    cw = torchvision_make_divisible(20 * width * width, 8)  # c = 20·width, then c·width
    params = macs = 0
    params += 3 * 3 * 3 * c1 + c1
    macs += s * s * 3 * 3 * 3 * c1
    c = c1
    for out in [cb] * math.ceil(2 * depth) + [cw]:
        params += 3 * 3 * c * out + out
        macs += s * s * 3 * 3 * c * out
        c = out
    params += c * 10 + 10
    macs += c * 10
    return params, macs


@pytest.mark.parametrize("width,depth,res", [(1.0, 1.0, 32), (1.1, 1.2, 40), (2.0, 0.5, 17),
                                             (0.35, 3.3, 64)])
def test_params_read_everywhere_a_number_is(width, depth, res):
    report = analyze(parse(NET, "<t>", {"width": expr.exact(width), "depth": expr.exact(depth),
                                        "res": res}))
    assert (report.totals.params, report.totals.macs) == by_hand(width, depth, res)
    assert report.input_shape.h == report.input_shape.w == res


def test_set_on_the_command_line(cli, write):
    path = write(NET)
    result = cli("inspect", path, "--set", "width=1.1,depth=1.2", "--set", "res=40",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["totals"]["params"], doc["totals"]["macs"]) == by_hand(1.1, 1.2, 40)


@pytest.mark.parametrize("command", ["verify", "draw", "report", "export"])
def test_every_command_takes_set(cli, command):
    result = cli(command, "--help")
    assert "--set NAME=VALUE[,…]" in result.output


def test_export_uses_the_set_values(cli, write):
    path = write(NET)
    result = cli("export", path, "--set", "width=2")
    assert result.exit_code == 0, result.output
    assert "nn.Conv2d(3, 32, kernel_size=3" in result.stdout  # round(16 · 2)


def test_decimals_are_exact():
    # 50 · 1.1 is 55.00000000000001 in binary floats: their ceil is 56
    assert math.ceil(50 * 1.1) == 56
    assert expr.substitute("ceil(50 * $d)", {"d": 1.1}) == 55
    assert expr.substitute("ceil(3 * $d)", {"d": 1.1}) == 4
    assert expr.substitute("$a / 3", {"a": 2}) == Fraction(2, 3)
    assert expr.substitute("floor(7 / 2) + round(2.5) + round(3.5) + int(-2.7)", {}) == 3 + 2 + 4 - 2
    assert expr.substitute("max(3, $a, 2) - min(4, 1.5)", {"a": 1}) == Fraction(3, 2)


@given(st.integers(1, 4000), st.sampled_from([1, 2, 3, 4, 8, 16]),
       st.sampled_from([None, 1, 8, 16]))
def test_make_divisible_is_torchvisions(tenths, divisor, least):
    """On values whose float arithmetic is exact (multiples of 1/8), equal to torchvision's
    own code; the exact version never depends on binary rounding."""
    v = Fraction(tenths, 8)
    args = f"{tenths} / 8, {divisor}" + (f", {least}" if least is not None else "")
    assert expr.substitute(f"make_divisible({args})", {}) == \
        torchvision_make_divisible(tenths / 8, divisor, least)
    assert expr.make_divisible(v, divisor, least) % divisor == 0 or least is not None


@pytest.mark.parametrize("channels,width,expected", [
    (32, Fraction(11, 10), 32), (16, Fraction(11, 10), 16), (24, Fraction(11, 10), 24),
    (40, Fraction(11, 10), 48), (80, Fraction(11, 10), 88), (112, Fraction(11, 10), 120),
    (320, Fraction(12, 10), 384), (40, Fraction(12, 10), 48), (1280, Fraction(1, 4), 320)])
def test_make_divisible_on_efficientnet_channels(channels, width, expected):
    # worked by hand: 40·1.1 = 44, int(44 + 4) // 8 · 8 = 48; 112·1.1 = 123.2 → 120 (≥ 0.9·123.2)
    assert expr.substitute(f"make_divisible({channels} * $w, 8)", {"w": width}) == expected


BAD = {
    "unknown-param": ("params: {width: 1}\ninput: 8x8x3\nlayers:\n"
                      "  - conv: {filters: $widht * 4, size: 1}\n", "4:21",
                      "$widht is not a parameter of this spec; its parameters: $width"),
    "fraction-where-a-size-is-needed": (
        "params: {width: 1.1}\ninput: 8x8x3\nlayers:\n  - conv: {filters: $width * 5, size: 1}\n",
        "4:21", "'$width * 5' is 5.5, not a whole number, where a size is needed: round it"),
    "fractional-repeat": (
        "params: {depth: 1.5}\ninput: 8x8x3\nlayers:\n"
        "  - repeat: {times: $depth * 3, layers: [relu]}\n", "4:21", "is 4.5, not a whole number"),
    "fractional-input": ("params: {res: 1.5}\ninput: $res x 8 x 3\nlayers: [relu]\n", "2:8",
                         "'$res' is 1.5, not a whole number"),
    "unknown-function": ("params: {w: 1}\ninput: 8x8x3\nlayers:\n"
                         "  - conv: {filters: cell($w * 4), size: 1}\n", "4:21",
                         "'cell' in 'cell($w * 4)' is neither a function"),
    "wrong-arity": ("params: {w: 1}\ninput: 8x8x3\nlayers:\n"
                    "  - conv: {filters: \"ceil($w, 4)\", size: 1}\n", "4:21",
                    "ceil takes 1 argument, got 2"),
    "param-not-a-number": ("params: {w: wide}\ninput: 8x8x3\nlayers: [relu]\n", "1:13",
                           "must be a number"),
    "set-unknown": (None, "1:9", "--set widht=…: the spec has no parameter 'widht'; did you "
                                 "mean 'width'?"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_errors_point_at_the_expression(case, cli, write):
    text, where, fragment = BAD[case]
    args = ()
    if text is None:
        text, args = NET, ("--set", "widht=2")
    path = write(text)
    result = cli("inspect", path, *args)
    assert result.exit_code == 2, result.output
    assert f"{path}:{where}: error:" in result.stderr, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_set_without_params_and_bad_values(cli, write):
    result = cli("inspect", "zoo:lenet5", "--set", "width=2")
    assert result.exit_code == 2
    assert "zoo:lenet5:1:1: error: --set width=…: this spec has no params:" in result.stderr
    for bad in ("width=abc", "width", "=3", "width=1,,"):
        result = cli("inspect", write(NET), "--set", bad)
        assert result.exit_code == 2, bad
        assert "Invalid value for '--set'" in result.stderr


def test_parse_assignments():
    assert parse_assignments(["width=1.1, depth=2", "res=224"]) == {
        "width": Fraction(11, 10), "depth": 2, "res": 224}
    assert parse_assignments(["x=-0.5,y=1e3"]) == {"x": Fraction(-1, 2), "y": 1000}


def test_a_spec_without_params_is_unchanged():
    spec = parse("input: 8x8x3\nlayers: [{conv: {filters: 4, size: 3}}]\n", "<t>")
    assert analyze(spec).totals.params == 3 * 3 * 3 * 4 + 4
    with pytest.raises(SpecError, match=r"\$k is not defined"):
        parse("input: 8x8x3\nlayers: [{conv: {filters: $k, size: 3}}]\n", "<t>")


def test_a_list_setting_reads_params(cli, write):
    path = write("params: {k: 3, res: 16}\ninput: $res x $res\nlayers:\n"
                 "  - conv: {filters: 4, size: [$k, 3]}\n")
    doc = json.loads(cli("inspect", path, "--set", "k=5", "--format", "json").stdout)
    assert doc["totals"]["params"] == 5 * 3 * 1 * 4 + 4
    bad = cli("inspect", path, "--set", "k=1.5")
    assert bad.exit_code == 2
    assert f"{path}:4:30: error: layers[0].conv.size → '$k' is 1.5, not a whole number" in bad.stderr
