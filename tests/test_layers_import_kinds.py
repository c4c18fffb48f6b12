"""The kinds and merges the torchvision CNNs need (issue 12), worked by hand, then with PyTorch
(CPU torch 2.13.0) as the oracle: each spec here also builds and runs in `verify`."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, SpecError

torch = pytest.importorskip("torch")

from cnncalc.backends import torch as backend  # noqa: E402


def one(layer_yaml: str, volume: str):
    report = cnncalc.analyze(cnncalc.load(f"input: {volume}\nlayers:\n  - {layer_yaml}\n"))
    return report.layers[0], report


def verified(text: str):
    """The spec's report, after checking every layer against PyTorch."""
    spec = cnncalc.load(text)
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok, [c for c in result.layers if not c.ok]
    return result.report


# --- elementwise and channel kinds ----------------------------------------------------------

def test_hardsigmoid_is_elementwise():
    row, _ = one("hardsigmoid", "8x8x16")
    assert row.shape.dims() == [16, 8, 8]
    assert (row.counts.params, row.counts.macs) == (0, 0)
    verified("input: 8x8x16\nlayers: [hardsigmoid]\n")


def test_split_keeps_one_slice_of_the_depth():
    # ShuffleNet v2's x.chunk(2, dim=1) of 28×28×116: two slices of 116/2 = 58 maps
    row, _ = one("split: {parts: 2, index: 1}", "28x28x116")
    assert row.shape.dims() == [58, 28, 28]
    assert (row.counts.params, row.counts.macs, row.counts.connections) == (0, 0, 0)
    assert str(row.formula) == "split: D = 116/2 = 58, maps 58 to 115 → 28×28×58"


def test_split_module_takes_the_same_slice_as_chunk():
    from cnncalc.backends.extra_modules import ChannelSplit

    x = torch.arange(2 * 6 * 2 * 2, dtype=torch.float32).view(2, 6, 2, 2)
    for index in range(3):
        assert torch.equal(ChannelSplit(3, index)(x), x.chunk(3, dim=1)[index])


def test_split_errors():
    with pytest.raises(AnalysisError, match="does not split into 2 equal slices"):
        one("split: 2", "28x28x5")
    with pytest.raises(SpecError, match="must be below parts"):
        one("split: {parts: 2, index: 2}", "28x28x4")


def test_shuffle_keeps_the_shape_and_interleaves_as_torchvision():
    row, _ = one("shuffle: 2", "28x28x116")
    assert row.shape.dims() == [116, 28, 28]
    assert (row.counts.params, row.counts.macs) == (0, 0)
    with pytest.raises(AnalysisError, match="groups=3 must divide the depth D=116"):
        one("shuffle: 3", "28x28x116")
    # torchvision's channel_shuffle: view as g × D/g, transpose, view back
    x = torch.arange(6, dtype=torch.float32).view(1, 6, 1, 1)
    by_hand = x.view(1, 2, 3, 1, 1).transpose(1, 2).reshape(1, 6, 1, 1)
    assert by_hand.flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert torch.equal(torch.nn.ChannelShuffle(2)(x), by_hand)


def test_layer_norm_over_channels():
    # ConvNeXt's LayerNorm2d on 56×56×96: γ and β per channel, 2·96 = 192 params, no buffers
    row, _ = one("layer_norm: {eps: 1.0e-6}", "56x56x96")
    assert (row.counts.params, row.counts.buffers, row.counts.macs) == (192, 0, 0)
    row, _ = one("layer_norm: {affine: false}", "56x56x96")
    assert row.counts.params == 0
    row, _ = one("layer_norm", "768")   # on a vector: over its 768 features
    assert row.counts.params == 1536
    verified("input: 4x4x8\nlayers: [{layer_norm: {eps: 1.0e-6}}, flatten, layer_norm]\n")


def test_channel_layer_norm_normalises_each_position_over_the_channels():
    from cnncalc.backends.extra_modules import ChannelLayerNorm

    x = torch.randn(2, 8, 3, 5)
    ln = ChannelLayerNorm(8, eps=1e-6)
    y = ln(x)
    mean = x.mean(1, keepdim=True)
    var = x.var(1, unbiased=False, keepdim=True)
    assert torch.allclose(y, (x - mean) / torch.sqrt(var + 1e-6), atol=1e-5)


def test_layer_scale_counts_one_weight_per_channel_and_no_macs():
    row, _ = one("layer_scale", "56x56x96")
    assert (row.counts.params, row.counts.macs) == (96, 0)
    report = verified("input: 4x4x8\nlayers: [layer_scale]\n")
    assert report.totals.params == 8


def test_stochastic_depth_is_the_identity_in_eval():
    from cnncalc.backends.extra_modules import StochasticDepth

    row, _ = one("stochastic_depth: {p: 0.2, mode: batch}", "8x8x4")
    assert row.shape.dims() == [4, 8, 8] and row.counts.params == 0
    x = torch.randn(4, 3, 2, 2)
    assert torch.equal(StochasticDepth(0.5).eval()(x), x)
    torch.manual_seed(0)
    dropped = StochasticDepth(0.5, "row").train()(torch.ones(64, 1, 1, 1)).flatten()
    assert set(dropped.tolist()) <= {0.0, 2.0}  # whole samples dropped, the rest scaled by 2
    assert 0 < int((dropped == 0).sum()) < 64


# --- merges -----------------------------------------------------------------------------------

SE = """input: 28x28x72
layers:
  - name: se
    branches:
      merge: mul
      paths:
        - []
        - [global_pool, conv: {filters: 24, size: 1}, relu, conv: {filters: 72, size: 1},
           hardsigmoid]
"""


def test_squeeze_and_excitation_gate():
    # MobileNetV3's SE on 28×28×72, squeezed to 24: (72 + 1)·24 + (24 + 1)·72 = 1,752 + 1,800
    # = 3,552 params; both 1×1 convs run on 1×1: 72·24 + 24·72 = 3,456 MACs; the product
    # x · gate counts none.
    report = verified(SE)
    assert report.output_shape.dims() == [72, 28, 28]
    assert report.totals.params == 3_552
    assert report.totals.macs == 3_456
    group = next(r for r in report.rows if r.is_group)
    assert group.kind == "branches (mul)"


def test_mul_merge_needs_a_gate_of_the_same_depth():
    bad = SE.replace("filters: 72, size: 1", "filters: 24, size: 1")
    with pytest.raises(AnalysisError, match=r"mul merge: .* gives 1×1×24; multiplied paths "
                                            r"must give the same shape, or 1×1×72"):
        cnncalc.analyze(cnncalc.load(bad))


AUX = """input: 14x14x512
layers:
  - branches:
      merge: first
      paths:
        - []
        - [adaptive_pool: 4, conv: {filters: 128, size: 1, bias: false}, flatten, fc: 1024,
           fc: 10]
  - conv: {filters: 8, size: 1}
"""


def test_side_output_counts_its_layers_but_passes_the_first_path_on():
    # GoogLeNet-style head on 14×14×512: conv 512·128 = 65,536; fc (2048 + 1)·1024 =
    # 2,098,176; fc (1024 + 1)·10 = 10,250; then the main conv sees 14×14×512 again:
    # (512 + 1)·8 = 4,104.  MACs: 4·4·65,536 = 1,048,576 + 2,048·1,024 + 1,024·10 +
    # 14·14·512·8 = 1,048,576 + 2,097,152 + 10,240 + 802,816.
    report = verified(AUX)
    assert report.output_shape.dims() == [8, 14, 14]
    assert report.totals.params == 65_536 + 2_098_176 + 10_250 + 4_104
    assert report.totals.macs == 1_048_576 + 2_097_152 + 10_240 + 802_816


def test_flat_names_and_repeat_start():
    text = """input: 8x8x4
blocks:
  down:
    layers:
      - residual:
          flat: true
          main: [{conv: {filters: 8, size: 3, stride: 2, pad: 1}, name: conv1}]
          shortcut:
            - {conv: {filters: 8, size: 1, stride: 2}, name: downsample.0}
      - {relu, name: relu}
  same:
    layers:
      - residual: {main: [{conv: {filters: 8, size: 3, pad: 1}, name: conv1}]}
layers:
  - {use: down, name: layer2.0}
  - {repeat: {times: 2, start: 1, layers: [use: same]}, name: layer2}
  - branches:
      flat: true
      paths: [[{conv: {filters: 2, size: 1}, name: a}], [{conv: {filters: 3, size: 1}, name: b}]]
""".replace("{relu, name: relu}", "{relu: ~, name: relu}")
    report = verified(text)
    assert [r.name for r in report.layers] == [
        "layer2.0.conv1", "layer2.0.downsample.0", "layer2.0.relu", "layer2.1.conv1",
        "layer2.2.conv1", "a", "b"]
    assert report.output_shape.dims() == [5, 4, 4]


def test_repeat_start_must_be_a_whole_number():
    with pytest.raises(SpecError, match="must be an integer ≥ 0"):
        cnncalc.load("input: 8x8x4\nlayers:\n  - repeat: {times: 2, start: -1, layers: [relu]}\n")


def test_convnext_block_by_hand():
    # A ConvNeXt block on 14×14×32: depthwise 7×7 (32·49 + 32 = 1,600), layer norm (64),
    # 1×1 to 128 (32·128 + 128 = 4,224), GELU, 1×1 to 32 (128·32 + 32 = 4,128), layer scale
    # (32): 10,048 params.  MACs 14·14·32·49 = 307,328 and 2 · 14·14·32·128 = 1,605,632.
    report = verified("""input: 14x14x32
layers:
  - residual:
      main:
        - conv: {size: 7, pad: 3, depthwise: true}
        - layer_norm: {eps: 1.0e-6}
        - conv: {filters: 128, size: 1}
        - gelu
        - conv: {filters: 32, size: 1}
        - layer_scale
        - stochastic_depth: 0.1
""")
    assert report.totals.params == 10_048
    assert report.totals.macs == 307_328 + 1_605_632


# --- channel_conv: ECA's attention (issue 16) ------------------------------------------------

def test_channel_conv_counts_by_hand_and_as_pytorch():
    # ECA on a 7×7×256 map: global pool → 1×1×256, a Conv1d(1, 1, 5, padding=2, bias=False)
    # along the channels: 256 + 2·2 − 5 + 1 = 256 channels; params k = 5; MACs 5 per output
    # channel, 5·256 = 1,280
    row, _ = one("channel_conv: {size: 5, pad: 2, bias: false}", "1x1x256")
    assert row.shape.dims() == [256, 1, 1]
    assert (row.counts.params, row.counts.macs) == (5, 1_280)
    assert str(row.formula) == ("channel conv: D = 256 + 2·2 − 5 + 1 = 256 → 1×1×256; "
                                "params 5 = 5; MACs 5·256 = 1,280")
    # without padding and with a bias, at every position of a 4×4×8 map: 8 − 3 + 1 = 6
    # channels; params 3 + 1 = 4; MACs 3·(4·4·6) = 288
    row, _ = one("channel_conv: 3", "4x4x8")
    assert row.shape.dims() == [6, 4, 4]
    assert (row.counts.params, row.counts.macs) == (4, 288)
    # PyTorch: the module verify builds has the same params and output shape; its MACs from
    # FlopCounterMode are the same k per output value
    for text in ("input: 1x1x256\nlayers: [channel_conv: {size: 5, pad: 2, bias: false}]\n",
                 "input: 4x4x8\nlayers: [channel_conv: 3]\n"):
        verified(text)


def test_channel_conv_gate_is_eca():
    report = verified(
        "input: 8x8x16\nlayers:\n  - branches:\n      merge: mul\n      paths:\n"
        "        - []\n        - [global_pool, channel_conv: {size: 3, pad: 1, bias: false}, "
        "sigmoid]\n")
    assert report.totals.params == 3 and report.output_shape.dims() == [16, 8, 8]


def test_channel_conv_longer_than_the_depth_is_an_error():
    with pytest.raises(AnalysisError, match="longer than the padded depth: 2 \\+ 2·0 = 2"):
        one("channel_conv: 3", "1x1x2")
