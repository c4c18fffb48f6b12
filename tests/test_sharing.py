"""What makes a very large spec fast, and must not change a number: equal layer settings make
one shared layer, a layer on one input is worked out once, and its formula when it is read."""

from __future__ import annotations

import cnncalc
from cnncalc.engine import Explained

STACK = "input: 16x16x4\nlayers:\n" + "  - conv: {filters: 4, size: 3, pad: 1}\n" * 4 + \
        "  - conv: {filters: 4, size: 3, pad: 1, bias: true}\n" \
        "  - conv: {filters: 4, size: 3, stride: 1, pad: 1}\n"


def test_equal_settings_share_one_layer():
    spec = cnncalc.load(STACK)
    layers = [leaf.layer for leaf in spec.layers]
    assert all(layer is layers[0] for layer in layers[1:4])
    # written differently (bias: true is the default; stride: 1 too): another layer, equal hp
    assert layers[4] is not layers[0] and layers[5] is not layers[0]
    assert layers[4].hp == layers[5].hp == layers[0].hp


def test_a_block_parameter_is_read_per_use():
    spec = cnncalc.load("input: 8x8x4\nblocks:\n  b:\n    params: {k: 4}\n    layers:\n"
                        "      - conv: {filters: $k, size: 1}\n"
                        "layers:\n  - use: b\n  - use: b\n    with: {k: 8}\n  - use: b\n")
    report = cnncalc.analyze(spec)
    assert [r.shape.c for r in report.layers] == [4, 8, 4]
    # (1·1·4)·4 + 4 = 20; (1·1·4)·8 + 8 = 40; (1·1·8)·4 + 4 = 36
    assert [r.counts.params for r in report.layers] == [20, 40, 36]


def test_rows_of_a_shared_layer_keep_their_own_receptive_field():
    report = cnncalc.analyze(cnncalc.load(STACK))
    # 3×3, stride 1: the field grows by 2 a layer, from 3
    assert [r.rf.h.size for r in report.layers] == [3, 5, 7, 9, 11, 13]
    assert [r.name for r in report.layers] == [f"conv{i}" for i in range(1, 7)]
    # (3·3·4)·4 + 4 = 148 each; MACs 16·16·4·(3·3·4) = 36,864
    assert {(r.counts.params, r.counts.macs) for r in report.layers} == {(148, 36_864)}
    assert report.totals.params == 6 * 148


def test_a_formula_is_worked_out_when_read_and_reads_as_the_formula():
    report = cnncalc.analyze(cnncalc.load(STACK))
    first = report.layers[0].formula
    assert isinstance(first, Explained)
    assert report.layers[3].formula is first  # one layer, one input: one formula
    formula = first.formula()
    assert first == formula and str(first) == str(formula) and first.shape == formula.shape
    assert str(first) == ("(16 − 3 + 2·1)/1 + 1 = 16 → 16×16×4; params (3·3·4)·4 + 4 = 148; "
                          "MACs 16·16·4·(3·3·4) = 36,864")
    assert cnncalc.analyze(cnncalc.load(STACK), explain=False).layers[0].formula is None


def test_a_frozen_copy_of_a_shared_layer_counts_no_trainable_params():
    text = ("input: 8x8x4\nlayers:\n  - conv: {filters: 4, size: 1}\n"
            "  - conv: {filters: 4, size: 1}\n    frozen: true\n")
    report = cnncalc.analyze(cnncalc.load(text))
    assert [(r.counts.params, r.counts.trainable_params) for r in report.layers] == [
        (20, 20), (20, 0)]
