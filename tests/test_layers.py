"""Each layer kind against numbers worked by hand from the notes and the papers."""

from fractions import Fraction

import cnncalc


def one(layer_yaml: str, volume: str):
    """Analyze a one-layer net; return its row and the report."""
    report = cnncalc.analyze(cnncalc.load(f"input: {volume}\nlayers:\n  - {layer_yaml}\n"))
    return report.layers[0], report


def test_the_notes_conv_example():
    # 32×32×3, ten 5×5 filters, S=1, P=2 → 32×32×10 and (5·5·3)·10 + 10 = 760 weights
    row, _ = one("conv: {filters: 10, size: 5, stride: 1, pad: 2}", "32x32x3")
    assert row.shape.dims() == [10, 32, 32]
    assert row.counts.params == 760
    assert row.counts.macs == 32 * 32 * 10 * 5 * 5 * 3          # 768,000
    assert str(row.formula).startswith("(32 − 5 + 2·2)/1 + 1 = 32 → 32×32×10")
    assert "(5·5·3)·10 + 10 = 760" in str(row.formula)


def test_conv_without_bias():
    row, _ = one("conv: {filters: 10, size: 5, pad: 2, bias: false}", "32x32x3")
    assert row.counts.params == 750


def test_depthwise_from_the_notes():
    # "For a depthwise 3x3 convolution, 32 in and 32 out: 3*3*32"
    row, _ = one("conv: {size: 3, pad: 1, depthwise: true, bias: false}", "56x56x32")
    assert row.counts.params == 288
    assert row.shape.dims() == [32, 56, 56]
    assert row.counts.macs == 56 * 56 * 32 * 9
    assert str(row.formula).endswith("params 3·3·32 = 288; MACs 56·56·(3·3·32) = 903,168")
    row, _ = one("conv: {size: 3, pad: 1, depthwise: true}", "56x56x32")
    assert row.counts.params == 288 + 32
    assert "params 3·3·32 + 32 = 320" in str(row.formula)  # the notes' F·F·D + D
    # a depth multiplier of 2 (K = 2D) is grouped, not the notes' depthwise: the general form
    row, _ = one("conv: {filters: 64, size: 3, groups: 32}", "8x8x32")
    assert "params (3·3·32/32)·64 + 64 = 640" in str(row.formula)


def test_depthwise_vs_standard_cost():
    dw, _ = one("conv: {size: 3, pad: 1, depthwise: true, bias: false}", "56x56x32")
    pw, _ = one("conv: {filters: 64, size: 1, bias: false}", "56x56x32")
    std, _ = one("conv: {filters: 64, size: 3, pad: 1, bias: false}", "56x56x32")
    assert (dw.counts.params, pw.counts.params, std.counts.params) == (288, 2048, 18432)
    # MobileNet: the separable pair costs 1/K + 1/F² of the standard conv
    assert Fraction(dw.counts.macs + pw.counts.macs, std.counts.macs) == Fraction(1, 64) + Fraction(1, 9)


def test_grouped_conv_alexnet_conv2():
    # AlexNet's conv2 on two GPUs: each filter sees 48 of the 96 maps: (5·5·48)·256 + 256
    row, _ = one("conv: {filters: 256, size: 5, pad: 2, groups: 2}", "27x27x96")
    assert row.counts.params == 307_456
    assert row.shape.dims() == [256, 27, 27]


def test_one_by_one_conv():
    row, _ = one("conv: {filters: 32, size: 1}", "56x56x64")
    assert row.counts.params == 64 * 32 + 32
    assert row.shape.dims() == [32, 56, 56]


def test_dilated_conv_keeps_size_with_matching_pad():
    row, _ = one("conv: {filters: 8, size: 3, dilation: 2, pad: 2}", "32x32x3")
    assert row.shape.dims() == [8, 32, 32]
    assert row.rf.size == 5


def test_keep_padding_at_stride_two_keeps_the_size():
    row, report = one("conv: {filters: 8, size: 3, stride: 2, pad: keep}", "32x32x3")
    assert row.shape.dims() == [8, 32, 32]
    assert [d.code for d in report.diagnostics] == ["CN102"]  # 33 pixels: 16 + 17
    assert "the notes' p = (N(s − 1) + F − s)/2 = 33/2" in report.diagnostics[0].message


def test_same_padding_at_stride_two_gives_the_ceiling():
    # Keras/TensorFlow 'same': ⌈32/2⌉ = 16, with 1 pixel of padding (after)
    row, report = one("conv: {filters: 8, size: 3, stride: 2, pad: same}", "32x32x3")
    assert row.shape.dims() == [8, 16, 16]
    assert str(row.formula).startswith("(32 − 3 + 0 + 1)/2 + 1 = 16 → 16×16×8")
    assert [d.code for d in report.diagnostics] == ["CN102"]
    row, _ = one("conv: {filters: 8, size: 3, stride: 2, pad: same}", "33x33x3")
    assert row.shape.dims() == [8, 17, 17]  # (33 − 3 + 2·1)/2 + 1 = 17 = ⌈33/2⌉


def test_cn101_warns_only_when_image_pixels_are_lost():
    # ResNet's stem: (224 − 7 + 2·3)/2 + 1 = 112.5: the unread row is padding: no warning
    _, report = one("conv: {filters: 64, size: 7, stride: 2, pad: 3}", "224x224x3")
    assert report.diagnostics == ()
    # a 1×1 stride-2 projection on 56 skips the last image row and column
    _, report = one("conv: {filters: 8, size: 1, stride: 2}", "56x56x4")
    assert [d.code for d in report.diagnostics] == ["CN101", "CN106"]
    assert "the last row and column of the image are never read" in \
        report.diagnostics[0].message


def test_even_kernel_same_padding_warns():
    row, report = one("conv: {filters: 8, size: 4, pad: same}", "32x32x3")
    assert row.shape.dims() == [8, 32, 32]
    assert "CN102" in {d.code for d in report.diagnostics}


def test_non_square_kernel_and_input():
    # W=64, H=48; a 3×5 kernel (h=3, w=5) with pad [1, 2] keeps both
    row, _ = one("conv: {filters: 4, size: [3, 5], pad: [1, 2]}", "64x48x2")
    assert row.shape.dims() == [4, 48, 64]
    assert row.counts.params == 3 * 5 * 2 * 4 + 4


LENET_C3 = ("[[0,1,2],[1,2,3],[2,3,4],[3,4,5],[0,4,5],[0,1,5],"
            "[0,1,2,3],[1,2,3,4],[2,3,4,5],[0,3,4,5],[0,1,4,5],[0,1,2,5],"
            "[0,1,3,4],[1,2,4,5],[0,2,3,5],[0,1,2,3,4,5]]")


def test_lenet_c3_connection_table():
    # LeCun et al. 1998: C3 has 1,516 trainable parameters and 151,600 connections
    row, _ = one(f"conv: {{filters: 16, size: 5, connections: {LENET_C3}}}", "14x14x6")
    assert row.shape.dims() == [16, 10, 10]
    assert row.counts.params == 1516
    assert row.counts.connections == 151_600


def test_lenet_trainable_subsampling():
    # S2: 12 trainable parameters and 5,880 connections
    row, _ = one("pool: {size: 2, mode: avg, trainable: true}", "28x28x6")
    assert row.shape.dims() == [6, 14, 14]
    assert (row.counts.params, row.counts.connections) == (12, 5880)


def test_lenet_c1_connections():
    row, _ = one("conv: {filters: 6, size: 5}", "32x32x1")
    assert (row.counts.params, row.counts.connections) == (156, 122_304)


def test_pool_has_no_weights():
    row, _ = one("pool: {size: 2, stride: 2}", "28x28x6")
    assert row.shape.dims() == [6, 14, 14]
    assert (row.counts.params, row.counts.macs) == (0, 0)
    row, _ = one("pool: 3", "9x9x4")    # stride defaults to the size
    assert row.shape.dims() == [4, 3, 3]


def test_fc_and_rbf():
    row, _ = one("fc: 120", "400")
    assert (row.counts.params, row.counts.macs, row.counts.connections) == (48_120, 48_000, 48_120)
    row, _ = one("fc: {units: 10, bias: false}", "84")
    assert row.counts.params == 840
    row, _ = one("rbf: 10", "84")   # LeNet's output: 84·10 = 840 weights and connections
    assert (row.counts.params, row.counts.connections) == (840, 840)


def test_bn_params_and_buffers():
    row, _ = one("bn", "56x56x64")
    assert (row.counts.params, row.counts.buffers) == (128, 128)
    row, _ = one("bn: {affine: false}", "56x56x64")
    assert (row.counts.params, row.counts.buffers) == (0, 128)


def test_lrn_keeps_shape():
    row, _ = one("lrn: {size: 5, k: 2}", "55x55x96")
    assert row.shape.dims() == [96, 55, 55] and row.counts.params == 0


def test_deconv():
    # 2×2, stride 2 doubles; params D·K·F·F + K = 64·32·4 + 32
    row, _ = one("deconv: {filters: 32, size: 2, stride: 2}", "16x16x64")
    assert row.shape.dims() == [32, 32, 32]
    assert row.counts.params == 8224
    assert row.counts.macs == 16 * 16 * 64 * 32 * 4


def test_pools_to_fixed_sizes():
    row, _ = one("global_pool", "7x7x512")
    assert row.shape.dims() == [512, 1, 1]
    assert row.rf.size == 7
    row, _ = one("adaptive_pool: 6", "13x13x256")
    assert row.shape.dims() == [256, 6, 6]
    row, _ = one("adaptive_pool: [2, 3]", "13x13x256")
    assert row.shape.dims() == [256, 2, 3]


def test_flatten_upsample_and_elementwise():
    row, _ = one("flatten", "5x5x16")
    assert row.shape.dims() == [400]
    row, _ = one("upsample: 2", "8x8x3")
    assert row.shape.dims() == [3, 16, 16]
    for kind in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardswish", "softmax",
                 "leaky_relu: 0.2", "dropout: 0.3"):
        row, _ = one(kind, "8x8x3")
        assert row.shape.dims() == [3, 8, 8] and row.counts.params == 0


def test_receptive_field_of_stacked_3x3_convs():
    # The notes on VGG: two 3×3 convs see 5×5, three see 7×7
    report = cnncalc.analyze(cnncalc.load(
        "input: 32x32x3\nlayers:\n" + "  - conv: {filters: 8, size: 3, pad: 1}\n" * 3))
    assert [r.rf.size for r in report.layers] == [3, 5, 7]
    assert all(r.rf.h.jump == 1 for r in report.layers)


def test_receptive_field_through_a_stride():
    # conv 3 s2 then conv 3: r = 3 + (3 − 1)·2 = 7, j = 2
    report = cnncalc.analyze(cnncalc.load(
        "input: 32x32x3\nlayers:\n  - conv: {filters: 8, size: 3, stride: 2, pad: 1}\n"
        "  - conv: {filters: 8, size: 3, pad: 1}\n"))
    rf = report.layers[1].rf
    assert (rf.size, rf.h.jump) == (7, 2)
    # the first output's centre: 0 + (1 − 1)·1 = 0, then 0 + (1 − 1)·2 = 0
    assert rf.h.start == 0
    # without padding the first centre moves in by (k − 1)/2 per layer
    report = cnncalc.analyze(cnncalc.load(
        "input: 32x32x3\nlayers:\n  - conv: {filters: 8, size: 3, stride: 2}\n"
        "  - conv: {filters: 8, size: 3}\n"))
    assert report.layers[1].rf.h.start == 1 + 1 * 2
