"""The zoo specs written by `cnncalc import` (issue 12) against torchvision's documented figures.

The numbers below are torchvision 0.29.1's model documentation (each weights enum's
``meta["num_params"]`` and ``meta["_ops"]``, its GFLOPS, which are GMACs), copied from there, not
from cnncalc; test_import_torchvision.py reads the same figures from torchvision itself.
"""

from __future__ import annotations

import pytest
import yaml

import cnncalc
from conftest import SPECS

# name: (params, GMACs as documented, the digits given)
DOCUMENTED = {
    "mobilenet_v3_large": (5_483_032, 0.217),
    "efficientnet_b0": (5_288_548, 0.386),
    "shufflenet_v2_x1_0": (2_278_604, 0.145),
    "regnet_y_400mf": (4_344_144, 0.402),
    "convnext_tiny": (28_589_128, 4.456),
    "inception_v3": (27_161_264, 5.713),
    "resnext50_32x4d": (25_028_904, 4.23),
}


def report_of(name: str):
    return cnncalc.analyze(cnncalc.load(f"zoo:{name}"))


def aux_macs(report) -> int:
    """Inception v3's auxiliary head runs only while training: torchvision's GFLOPS (its eval
    pass) leave it out; cnncalc counts its layers."""
    return sum(r.counts.macs for r in report.layers if r.name.startswith("AuxLogits."))


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_totals_are_torchvisions(name):
    params, gmacs = DOCUMENTED[name]
    report = report_of(name)
    assert report.totals.params == params
    digits = len(repr(gmacs).split(".")[1])
    assert round((report.totals.macs - aux_macs(report)) / 1e9, digits) == gmacs
    assert report.output_shape.dims() == [1000]
    assert report.claims_ok


def test_inception_v3s_auxiliary_head_by_hand():
    report = report_of("inception_v3")
    # AuxLogits on 17×17×768: avg pool 5/3 → 5×5; conv0 1×1 to 128: 768·128 = 98,304 weights,
    # 25 positions → 2,457,600 MACs; conv1 5×5 to 768: 128·25·768 = 2,457,600 weights, one
    # position → 2,457,600 MACs; fc 768 → 1000: 769,000 params, 768,000 MACs; BN 2·128 + 2·768.
    assert aux_macs(report) == 2_457_600 + 2_457_600 + 768_000 == 5_683_200
    aux = sum(r.counts.params for r in report.layers if r.name.startswith("AuxLogits."))
    assert aux == 98_304 + 256 + 2_457_600 + 1_536 + 769_000 == 3_326_696


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_written_with_blocks_and_the_new_kinds(name):
    text = (SPECS / f"{name}.yaml").read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    assert spec["blocks"] and "expect" in spec
    wanted = {"mobilenet_v3_large": ["merge: mul", "hardsigmoid", "hardswish"],
              "efficientnet_b0": ["merge: mul", "silu", "stochastic_depth"],
              "shufflenet_v2_x1_0": ["split:", "shuffle:", "merge: concat"],
              "regnet_y_400mf": ["merge: mul", "groups:"],
              "convnext_tiny": ["layer_norm", "layer_scale", "stochastic_depth"],
              "inception_v3": ["merge: first", "merge: concat"],
              "resnext50_32x4d": ["groups: 32", "flat: true"]}[name]
    assert all(word in text for word in wanted)


@pytest.mark.torchvision
@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_the_zoo_spec_is_what_import_gives(name):
    from torchvision_needed import load

    load("torchvision")
    from cnncalc.backends.importer import import_model

    fresh = cnncalc.analyze(cnncalc.load(import_model(f"torchvision:{name}").text))
    zoo = report_of(name)
    row = lambda r: (r.name, r.kind, r.shape.dims(), r.counts.params, r.counts.macs)  # noqa: E731
    assert [row(r) for r in zoo.layers] == [row(r) for r in fresh.layers]
