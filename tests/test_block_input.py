"""Blocks that read their input volume: ``$in.c``, ``$in.h``, ``$in.w`` (issue 9, item 7)."""

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, SpecError

INVERTED = """\
name: mbv2-ish
input: 32x32x16
blocks:
  inverted:                   # MobileNetV2's inverted residual body: expand the input t times
    params: {t: 6, cout: 24, stride: 1}
    layers:
      - conv: {filters: $in.c * $t, size: 1, bias: false}
      - bn
      - relu6
      - conv: {size: 3, stride: $stride, pad: 1, depthwise: true, bias: false}
      - bn
      - relu6
      - conv: {filters: $cout, size: 1, bias: false}
      - bn
layers:
  - use: inverted
    with: {cout: 24, stride: 2}
  - repeat:
      times: 2
      layers:
        - use: inverted
          with: {cout: 32}
"""


def block_params(cin: int, t: int, cout: int) -> int:
    """By hand: 1×1 expand (cin·t·cin), its BN, 3×3 depthwise, its BN, 1×1 project, its BN."""
    hidden = cin * t
    return cin * hidden + 2 * hidden + 9 * hidden + 2 * hidden + hidden * cout + 2 * cout


def test_each_use_expands_for_the_volume_it_receives():
    report = cnncalc.analyze(cnncalc.load(INVERTED))
    groups = {r.name: r for r in report.rows if r.is_group}
    # 16 → 96 → 24; then 24 → 144 → 32; then 32 → 192 → 32: each iteration reads its own input
    assert groups["inverted1"].counts.params == block_params(16, 6, 24) == 5_136
    assert groups["repeat1.0"].counts.params == block_params(24, 6, 32) == 10_000
    assert groups["repeat1.1"].counts.params == block_params(32, 6, 32) == 14_848
    assert report.layers[0].shape.c == 96 and report.layers[8].shape.c == 144
    assert report.layers[16].shape.c == 192
    assert report.output_shape.dims() == [32, 16, 16]


def test_the_analysed_tree_is_what_later_walks_see():
    from cnncalc.backends import recipes as planmod

    spec = cnncalc.load(INVERTED)
    report = cnncalc.analyze(spec)
    the_plan = planmod.plan(spec, report)
    first = [recipe for name, kind, recipe in the_plan.leaves if name == "repeat1.1.conv1"][0]
    assert first.args[:2] == (32, 192)  # nn.Conv2d(32, 192, …): the expansion the engine saw


def test_height_and_width_too():
    text = ("input: 12x10x3\nblocks:\n  whole:\n    - conv: {filters: 4, size: [$in.h, $in.w]}\n"
            "layers:\n  - use: whole\n")
    row = cnncalc.analyze(cnncalc.load(text)).layers[0]
    assert row.shape.dims() == [4, 1, 1] and row.counts.params == 10 * 12 * 3 * 4 + 4


@pytest.mark.parametrize("text, where, message", [
    ("input: 8x8x4\nblocks:\n  b:\n    - conv: {filters: $in.q, size: 1}\nlayers:\n  - use: b\n",
     "4:23", "$in.q is not defined: the block's input is $in.c (depth), $in.h (height) and "
             "$in.w (width) (with $in = 8×8×4 at b1)"),
    ("input: 8x8x4\nblocks:\n  b:\n    - fc: $in.h\nlayers:\n  - flatten\n  - use: b\n",
     "4:11", "$in.h: the block's input is a vector of 256, which has no height"),
    ("input: 8x8x4\nblocks:\n  b:\n    - conv: {filters: $in.c - 4, size: 1}\nlayers:\n"
     "  - use: b\n", "4:23", "filters → must be a positive integer, got 0 (with $in = 8×8×4"),
])
def test_mistakes_are_located_in_the_block(text, where, message):
    with pytest.raises(AnalysisError) as e:
        cnncalc.analyze(cnncalc.load(text, ))
    line = str(e.value)
    assert line.startswith(f"<text>:{where}: error: ") and message in line


def test_outside_a_block_it_is_a_spec_error():
    with pytest.raises(SpecError, match=r"3:21: error: .*\$in.c is the depth of a block's input: "
                                        r"it exists only inside a block"):
        cnncalc.load("input: 8x8x4\nlayers:\n  - conv: {filters: $in.c, size: 1}\n")
