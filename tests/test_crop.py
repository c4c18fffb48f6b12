"""The crop kind and the U-Net spec, by hand and against PyTorch."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.formulas import Shape


def net(layers: str, volume: str = "10x8x3"):
    return cnncalc.analyze(cnncalc.load(f"input: {volume}\nlayers:\n{layers}"))


@pytest.mark.parametrize("crop, shape, start", [
    ("{total: 4}", Shape(3, 4, 6), (2, 2)),          # 8 − 4, 10 − 4; 2 off the top and left
    ("{total: 3}", Shape(3, 5, 7), (1, 1)),          # odd: 1 before, 2 after
    ("{total: [2, 0]}", Shape(3, 6, 10), (1, 0)),
    ("{size: 5}", Shape(3, 5, 5), (1, 2)),           # 8 − 5 = 3: 1 + 2; 10 − 5 = 5: 2 + 3
    ("{size: [8, 10]}", Shape(3, 8, 10), (0, 0)),
])
def test_crop_shapes_and_where_the_field_starts(crop, shape, start):
    r = net(f"  - crop: {crop}\n")
    row = r.layers[0]
    assert row.shape == shape
    assert (row.counts.params, row.counts.macs, row.counts.connections) == (0, 0, 0)
    assert (row.rf.h.start, row.rf.w.start) == start  # the first output is input pixel start


def test_crop_formula_shows_the_cut():
    row = net("  - crop: {total: 3}\n").layers[0]
    assert str(row.formula) == "centre crop: H: 8 − 1 − 2 = 5; W: 10 − 1 − 2 = 7 → 7×5×3"


@pytest.mark.parametrize("crop, message", [
    ("{total: 8}", "cutting 8 of 8 along H leaves 0: a crop must leave at least 1; cut at most 7"),
    ("{size: 9}", "cannot crop 8 to 9 along H: the input is smaller; crop to at most 8"),
])
def test_crop_that_cannot_be(cli, write, crop, message):
    path = write(f"input: 10x8x3\nlayers:\n  - crop: {crop}\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert message in result.stderr


def test_crop_needs_one_setting(cli, write):
    path = write("input: 10x8x3\nlayers:\n  - crop: {total: 2, size: 4}\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert "give total (the pixels to cut) or size (the output size), not both" in result.stderr


# --- U-Net ----------------------------------------------------------------------------------

def test_unet_holds_the_papers_figure():
    report = cnncalc.analyze(cnncalc.load("zoo:unet"))
    assert report.claims and report.claims_ok  # every size in Figure 1
    assert report.output_shape == Shape(2, 388, 388)
    # by hand: two 3×3 convs per level, (9·in + 1)·out each; 2×2 up-convs (4·in + 1)·out;
    # 37,568 + 221,440 + 885,248 + 3,539,968 + 14,157,824 (down) + 2,097,664 + 7,078,912
    # + 524,544 + 1,769,984 + 131,200 + 442,624 + 32,832 + 110,720 (up) + 130 (1×1 to 2)
    assert report.totals.params == 31_030_658


torch = pytest.importorskip("torch")
nn = torch.nn


class HandUNet(nn.Module):
    """Ronneberger et al.'s U-Net written with torch.nn alone, as the paper describes it."""

    def __init__(self):
        super().__init__()

        def double(a, b):
            return nn.Sequential(nn.Conv2d(a, b, 3), nn.ReLU(), nn.Conv2d(b, b, 3), nn.ReLU())

        widths = [64, 128, 256, 512, 1024]
        self.down = nn.ModuleList([double(1, 64)] + [double(a, b) for a, b in
                                                     zip(widths, widths[1:])])
        self.up = nn.ModuleList([nn.ConvTranspose2d(b, a, 2, stride=2)
                                 for a, b in zip(widths, widths[1:])][::-1])
        self.dec = nn.ModuleList([double(b, a) for a, b in zip(widths, widths[1:])][::-1])
        self.out = nn.Conv2d(64, 2, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = up(x)
            skip = skips.pop()
            cut = (skip.shape[-1] - x.shape[-1]) // 2
            x = dec(torch.cat([skip[..., cut:cut + x.shape[-2], cut:cut + x.shape[-1]], x], 1))
        return self.out(x)


def test_unet_params_and_output_agree_with_a_hand_built_pytorch_unet():
    hand = HandUNet()
    assert sum(p.numel() for p in hand.parameters()) == 31_030_658
    with torch.no_grad():
        assert tuple(hand(torch.zeros(1, 1, 188, 188)).shape) == (1, 2, 4, 4)


def test_unet_macs_agree_with_pytorchs_flop_counter():
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        hand = HandUNet()
        x = torch.zeros(1, 1, 572, 572)
    with FlopCounterMode(display=False) as counter:
        hand(x)
    # FLOPs = 2·MACs; a transposed conv counts every input pixel times every weight, as here
    assert counter.get_total_flops() == 2 * cnncalc.analyze(cnncalc.load("zoo:unet")).totals.macs
    assert counter.get_total_flops() == 2 * 150_428_424_448


def test_crop_verifies_in_pytorch():
    from cnncalc.backends import torch as backend

    spec = cnncalc.load("input: 11x9x2\nlayers:\n  - crop: {total: 3}\n  - crop: {size: [4, 6]}\n"
                        "  - conv: {filters: 2, size: 3}\n")
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok
    # the slice itself: rows 1 … 5 and columns 1 … 8 of the input (total 3: 1 before, 2 after)
    model, _, _ = backend.build(spec)
    x = torch.arange(2 * 9 * 11, dtype=torch.float32).reshape(1, 2, 9, 11)
    crop = model[0]
    assert torch.equal(crop(x), x[..., 1:7, 1:9])


def test_export_writes_the_crop(cli):
    code = cli("export", "zoo:unet", "--to", "pytorch").stdout
    assert "nn.ZeroPad2d((-88, -88, -88, -88))" in code  # 568 → 392
    namespace: dict = {}
    exec(compile(code, "unet_export.py", "exec"), namespace)
    model = namespace["Net"]()
    assert sum(p.numel() for p in model.parameters()) == 31_030_658
