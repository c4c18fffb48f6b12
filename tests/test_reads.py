"""CN101 ("never read") over the whole net: an image pixel is unread only when no path from
the input reads it, and the finding names the layer that cuts it (cnncalc/reads.py).

Each expectation is worked by hand in its comment: which rows each window reads."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import AnalysisError
from cnncalc.layers.base import AxisWindow
from cnncalc.reads import chain_lost, read_span, spread_span
from cnncalc.zoo import names as zoo_names


def cn101(text: str):
    report = cnncalc.analyze(cnncalc.load(text))
    return [(d.layer, d.message) for d in report.diagnostics if d.code == "CN101"]


def test_read_and_spread_spans_by_hand():
    # 3×3, stride 2, pad 1 on 8 rows: output o reads 2o − 1 … 2o + 1; outputs 0..3 read 0..7
    assert read_span((0, 3), 8, AxisWindow(3, 2, 1)) == (0, 7)
    # 1×1 stride 2 on 8 rows: outputs 0..3 read 0, 2, 4, 6: the hull 0..6, row 7 unread
    assert read_span((0, 3), 8, AxisWindow(1, 2, 0)) == (0, 6)
    # row 7 dead: the 3×3 stride-1 pad-1 outputs reading it are 6 and 7
    assert spread_span((7, 7), 8, AxisWindow(3, 1, 1)) == (6, 7)
    # 2×2 stride 2 on 7: outputs 0..2 read 0..5; row 6 reaches no output
    assert spread_span((6, 6), 3, AxisWindow(2, 2, 0)) is None


def test_the_resnet_projection_shortcut_is_no_false_alarm():
    # 8×8: the main path's 3×3/2 pad 1 reads rows 0..7 ((8 − 3 + 2)/2 + 1 = 4.5: only the pad
    # goes unread); the 1×1/2 shortcut skips row 7 of the same map, which the main path reads
    text = ("input: 8x8x4\nlayers:\n  - residual:\n      main:\n"
            "        - conv: {filters: 8, size: 3, stride: 2, pad: 1}\n"
            "      shortcut:\n        - conv: {filters: 8, size: 1, stride: 2}\n")
    assert cn101(text) == []


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_zoo_resnets_have_no_cn101_and_pass_strict(cli, name):
    r = cli("inspect", f"zoo:{name}", "--strict")
    assert r.exit_code == 0 and "CN101" not in r.stdout + r.stderr


def test_strict_passes_on_every_bundled_spec(cli):
    # squeezenet1_0's conv1 really skips the last row and column at 224 ((224 − 7)/2 + 1 =
    # 109.5, and nothing else reads the image): its spec allows CN101, and says why
    for name in zoo_names():
        r = cli("inspect", f"zoo:{name}", "--strict", "--format", "json")
        assert r.exit_code == 0, (name, r.stderr[:300])


def test_a_deep_layer_that_loses_image_rows_is_named():
    # 7×7: the 1×1 conv reads every row; the 2×2/2 pool reads rows 0..5 of its output
    # ((7 − 2)/2 + 1 = 3.5 → 3), and row 6 of that map comes from image row 6 alone
    found = cn101("input: 7x7x1\nlayers:\n  - conv: {filters: 2, size: 1}\n"
                  "  - pool: {size: 2}\n")
    assert [layer for layer, _ in found] == ["pool1"]
    assert found[0][1] == (
        "H and W: (7 − 2 + 2·0)/2 + 1 = 3.5 is not a whole number: PyTorch floors it to 3, so "
        "the last row and column of its input are never read, and no other path reads the "
        "last row and column of the image (pick P or S so that N − F + 2P is a multiple of S)")
    with pytest.raises(AnalysisError, match="pool1.*CN101"):
        cnncalc.analyze(cnncalc.load("input: 7x7x1\nlayers:\n  - conv: {filters: 2, size: 1}\n"
                                     "  - pool: {size: 2}\n"), strict=True)


def test_a_3x3_conv_before_the_floor_still_reads_the_last_row():
    # conv 3×3 pad 1 on 7: output row 5 reads image rows 4..6, and the pool reads rows 0..5 of
    # the conv's output: image row 6 is read
    assert cn101("input: 7x7x1\nlayers:\n  - conv: {filters: 2, size: 3, pad: 1}\n"
                 "  - pool: {size: 2}\n") == []


def test_branches_warn_only_when_every_arm_skips_the_rows():
    one_reads = ("input: 7x7x1\nlayers:\n  - branches:\n      merge: concat\n      paths:\n"
                 "        - - pool: {size: 2}\n"
                 "        - - conv: {filters: 2, size: 3, stride: 2}\n")
    # the conv arm: (7 − 3)/2 + 1 = 3 windows over rows 0..6: it reads row 6
    assert cn101(one_reads) == []
    both_skip = one_reads.replace("size: 3, stride: 2", "size: 2, stride: 2")
    # both arms: (7 − 2)/2 + 1 = 3.5 → 3: row 6 is read by neither; each is named
    assert [layer for layer, _ in cn101(both_skip)] == ["branch1.pool1", "branch2.conv1"]


def test_the_first_layer_keeps_its_words_and_lists_the_image_rows():
    # 3×3 on 9 at stride 2 with no pad: (9 − 2)/2 + 1 = 4.5 → 4 windows over rows 0..7
    found = cn101("input: 9x9x1\nlayers:\n  - conv: {filters: 1, size: 2, stride: 2}\n")
    assert found == [("conv1", "H and W: (9 − 2 + 2·0)/2 + 1 = 4.5 is not a whole number: "
                               "PyTorch floors it to 4, so the last row and column of the image "
                               "are never read (pick P or S so that N − F + 2P is a multiple "
                               "of S)")]


def test_an_aux_head_reads_what_the_main_path_skips():
    # a side output (merge: first) is an output too: its 1×1 conv reads row 6 of the map
    text = ("input: 7x7x1\nlayers:\n  - conv: {filters: 2, size: 1}\n"
            "  - branches:\n      merge: first\n      paths:\n"
            "        - - pool: {size: 2}\n"
            "        - - conv: {filters: 1, size: 1}\n")
    assert cn101(text) == []


def test_chain_lost_by_hand():
    # apply's conv 2×2/2 pad 1 on 3 rows: windows at −1, 1 read rows 0..2: nothing lost
    assert chain_lost([(AxisWindow(2, 2, 1), 3, 2, 0)]) == [0]
    # conv 1×1 on 7, then pool 2×2/2: the pool skips row 6, which only it could read
    assert chain_lost([(AxisWindow(1, 1, 0), 7, 7, 0), (AxisWindow(2, 2, 0), 7, 3, 1)]) == [0, 1]
    # conv 3×3 pad 1 first: its row 5 reads image row 6, and the pool reads row 5
    assert chain_lost([(AxisWindow(3, 1, 1), 7, 7, 0), (AxisWindow(2, 2, 0), 7, 3, 1)]) == [0, 0]


def test_strict_fails_on_a_real_loss_with_the_whole_table(cli, write):
    path = write("input: 7x7x1\nlayers:\n  - conv: {filters: 2, size: 1}\n  - pool: {size: 2}\n"
                 "  - flatten\n  - fc: 3\n")
    r = cli("inspect", path, "--strict")
    assert r.exit_code == 2
    assert "error: pool1 → CN101" in r.stderr and "(an error under --strict)" in r.stderr
    # the net was walked to its end: every row, and its output, are shown
    assert "fc1" in r.stdout and "Stops at" not in r.stdout
