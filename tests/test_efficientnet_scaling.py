"""zoo:efficientnet, compound scaling in params (issue 18 item 2): its points are
torchvision's EfficientNet-B0…B3.

The figures are torchvision 0.29.1's: params from ``parameters()`` (also its weights'
``meta["num_params"]``), MACs = FlopCounterMode's FLOPs / 2 at the weights' crop size
(batch 1, CPU), measured in the tv-venv; the docs round them to 0.386, 0.687, 1.088 and
1.827 GFLOPS (``meta["_ops"]``), which the MACs below round to.  The torchvision-marked test
measures them again from the live models.
"""

from __future__ import annotations

import json

import pytest

from cnncalc.engine import analyze
from cnncalc.spec import load

POINTS = {  # model: (width, depth, res), params, MACs, the docs' GMACs
    "efficientnet_b0": (("1.0", "1.0", 224), 5_288_548, 385_814_752, "0.386"),
    "efficientnet_b1": (("1.0", "1.1", 240), 7_794_184, 686_802_832, "0.687"),
    "efficientnet_b2": (("1.1", "1.2", 288), 9_109_994, 1_087_529_456, "1.088"),
    "efficientnet_b3": (("1.2", "1.4", 300), 12_233_232, 1_827_141_392, "1.827"),
}


def settings(point) -> str:
    width, depth, res = point
    return f"width={width},depth={depth},res={res}"


@pytest.mark.parametrize("model", sorted(POINTS))
def test_points_by_inspect_set(cli, model):
    point, params, macs, docs = POINTS[model]
    result = cli("inspect", "zoo:efficientnet", "--set", settings(point), "--format", "json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert totals["params"] == totals["trainable_params"] == params
    assert totals["macs"] == macs
    assert f"{macs / 1e9:.3f}" == docs
    assert json.loads(result.stdout)["output"]["shape"] == [1000]


def test_zoo_b0_equals_the_b0_point():
    b0 = analyze(load("zoo:efficientnet_b0"))
    point = analyze(load("zoo:efficientnet"))  # the spec's own params are B0's
    assert point.totals == b0.totals
    assert point.output_shape == b0.output_shape
    assert [r.shape for r in point.layers] == [r.shape for r in b0.layers]
    assert [r.counts for r in point.layers] == [r.counts for r in b0.layers]


def test_depth_rounds_up_per_stage():
    """ceil(n · depth) blocks per stage: B3's depth 1.4 gives 2, 3, 3, 5, 5, 6, 2 blocks
    (torchvision's adjust_depth on 1, 2, 2, 3, 3, 4, 1)."""
    from cnncalc import expr

    report = analyze(load("zoo:efficientnet", params={"width": expr.exact(1.2),
                                                       "depth": expr.exact(1.4),
                                                       "res": 300}))
    import re

    blocks = {1: {0}}  # stage 1's first block is written out (features.1.0.block.N)
    for row in report.rows:
        m = re.fullmatch(r"features\.(\d)\.(?:repeat1\.)?(\d+)", row.name)
        if m:
            blocks.setdefault(int(m.group(1)), set()).add(int(m.group(2)))
    assert [len(blocks[s]) for s in range(1, 8)] == [2, 3, 3, 5, 5, 6, 2]


@pytest.mark.parametrize("model", ["efficientnet_b0", "efficientnet_b1"])
def test_verify_set_against_the_pytorch_build(cli, model):
    pytest.importorskip("torch")
    point, params, macs, _ = POINTS[model]
    result = cli("verify", "zoo:efficientnet", "--set", settings(point), "--iters", "0",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["ok"]
    assert doc["torch_params"] == params and doc["torch_macs"] == macs


MORE = {"efficientnet_b4": ("1.4", "1.8", 380), "efficientnet_b5": ("1.6", "2.2", 456)}


@pytest.mark.torchvision
@pytest.mark.parametrize("model", sorted(POINTS) + sorted(MORE))
def test_points_equal_torchvisions_models(model):
    from torchvision_needed import load as need

    torch = need("torch")
    torchvision = need("torchvision")
    from torch.utils.flop_counter import FlopCounterMode

    from cnncalc import expr

    width, depth, res = POINTS[model][0] if model in POINTS else MORE[model]
    net = getattr(torchvision.models, model)(weights=None).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, 3, res, res))
    report = analyze(load("zoo:efficientnet", params={"width": expr.number(width),
                                                       "depth": expr.number(depth),
                                                       "res": res}))
    assert report.totals.params == sum(p.numel() for p in net.parameters())
    assert report.totals.buffers == sum(b.numel() for name, b in net.named_buffers()
                                        if not name.endswith("num_batches_tracked"))
    assert 2 * report.totals.macs == counter.get_total_flops()
