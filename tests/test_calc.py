"""One-off calculators (`conv`, `pool`, `pad`) against numbers worked by hand from the notes."""

import json

import pytest


def run_json(cli, *args):
    result = cli(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_conv_notes_homework(cli):
    # The brief's question: 32×32×3, ten 5×5 filters, S=1, P=2.
    # (32 − 5 + 2·2)/1 + 1 = 32 → 32×32×10; (5·5·3)·10 + 10 = 760;
    # MACs = 32·32 positions · 10 filters · 75 weights = 768,000.
    out = run_json(cli, "conv", "32x32x3", "--filters", 10, "--size", 5, "--stride", 1,
                   "--pad", 2)
    assert out["shape"] == [10, 32, 32]
    assert out["volume"] == "32×32×10"
    assert out["params"] == 760
    assert out["macs"] == 768_000
    assert out["receptive_field"]["size"] == 5
    assert "(32 − 5 + 2·2)/1 + 1 = 32" in out["formula"]
    assert "(5·5·3)·10 + 10 = 760" in out["formula"]


def test_conv_short_options_in_the_notes_letters(cli):
    out = run_json(cli, "conv", "32x32x3", "-K", 10, "-F", 5, "-S", 1, "-P", 2)
    assert (out["volume"], out["params"]) == ("32×32×10", 760)


@pytest.mark.parametrize("stride, side", [(1, 5), (2, 3)])
def test_conv_7x7_strides_that_fit(cli, stride, side):
    # (7 − 3)/1 + 1 = 5 and (7 − 3)/2 + 1 = 3.
    out = run_json(cli, "conv", "7x7x1", "-K", 1, "-F", 3, "-S", stride)
    assert out["shape"] == [1, side, side]
    assert not [w for w in out["warnings"] if w["code"] == "CN101"]


def test_conv_7x7_stride_3_does_not_fit(cli):
    # (7 − 3)/3 + 1 = 2.33: not a whole number.
    out = run_json(cli, "conv", "7x7x1", "-K", 1, "-F", 3, "-S", 3)
    codes = [w["code"] for w in out["warnings"]]
    assert "CN101" in codes
    assert "2.333" in out["formula"]
    text = cli("conv", "7x7x1", "-K", 1, "-F", 3, "-S", 3)
    assert text.exit_code == 0
    assert "not a whole number" in text.stdout
    assert "does not fit" in text.stdout


def test_notes_filter_example_32x32x3_3x3(cli):
    # The notes: a 3×3×3 filter over 32×32×3 at stride 1 gives 30×30×1; 3·3·3 + 1 = 28 weights.
    out = run_json(cli, "conv", "32x32x3", "-K", 1, "-F", 3)
    assert out["volume"] == "30×30×1"
    assert out["params"] == 28


def test_depthwise_3x3_on_32_channels(cli):
    # The notes' exercise: depthwise 3×3, 32 in and 32 out → 3·3·32 = 288 weights (no bias).
    out = run_json(cli, "conv", "32x32x32", "--depthwise", "-F", 3, "-P", 1, "--no-bias")
    assert out["params"] == 288
    assert out["volume"] == "32×32×32"
    with_bias = run_json(cli, "conv", "32x32x32", "--depthwise", "-F", 3, "-P", 1)
    assert with_bias["params"] == 288 + 32


def test_grouped_and_dilated_conv(cli):
    # groups 2 on 8 maps, K=4, F=3: (3·3·8/2)·4 + 4 = 148.
    assert run_json(cli, "conv", "10x10x8", "-K", 4, "-F", 3, "--groups", 2)["params"] == 148
    # dilation 2 makes a 3×3 span 5: (9 − 5)/1 + 1 = 5.
    assert run_json(cli, "conv", "9x9x1", "-K", 1, "-F", 3, "--dilation", 2)["shape"] == [1, 5, 5]


def test_conv_same_pad_option(cli):
    assert run_json(cli, "conv", "32x32x3", "-K", 8, "-F", 5, "-P", "same")["volume"] == "32×32×8"


def test_pool_notes(cli):
    # (28 − 2)/2 + 1 = 14, depth kept, 0 weights.
    out = run_json(cli, "pool", "28x28x6", "--size", 2, "--stride", 2)
    assert out["volume"] == "14×14×6"
    assert out["params"] == 0
    avg = run_json(cli, "pool", "28x28x6", "--size", 2, "--stride", 2, "--mode", "avg")
    assert avg["volume"] == "14×14×6"
    assert "avg" in avg["formula"]


def test_pool_stride_defaults_to_size(cli):
    # (32 − 4)/4 + 1 = 8.
    assert run_json(cli, "pool", "32x32x3", "-F", 4)["shape"] == [3, 8, 8]


def test_calculator_fields_match_inspect(cli, write):
    path = write("input: 32x32x3\nlayers:\n  - conv: {filters: 10, size: 5, pad: 2}\n")
    layer = json.loads(cli("inspect", path, "--format", "json").stdout)["layers"][0]
    calc = run_json(cli, "conv", "32x32x3", "-K", 10, "-F", 5, "-P", 2)
    assert set(layer) <= set(calc)


@pytest.mark.parametrize("n, f, s, pad", [(32, 5, 1, 2), (32, 3, 1, 1), (28, 7, 1, 3),
                                          (5, 3, 2, 3), (10, 1, 1, 0)])
def test_same_pad_exists(cli, n, f, s, pad):
    # p = (N(s − 1) + F − s)/2, worked by hand: e.g. (5·1 + 3 − 2)/2 = 3.
    out = run_json(cli, "pad", n, "--size", f, "--stride", s)
    assert out["pad"] == pad
    assert out["nearest"] == []


def test_same_pad_even_kernel_has_no_integer_answer(cli):
    # F = 4 at stride 1: p = 3/2; P = 1 gives 31, P = 2 gives 33.
    out = run_json(cli, "pad", 32, "--size", 4)
    assert out["pad"] is None
    assert out["value"] == 1.5
    assert [(c["pad"], c["output"]) for c in out["nearest"]] == [(1, 31), (2, 33)]
    text = cli("pad", 32, "--size", 4)
    assert text.exit_code == 0
    assert "no integer P gives exactly 32" in text.stdout
    assert "P = 1 gives 31" in text.stdout and "P = 2 gives 33" in text.stdout


def test_same_pad_text_shows_the_formula(cli):
    text = cli("pad", 32, "--size", 5, "--stride", 1).stdout
    assert "p = (F − 1)/2 = (5 − 1)/2 = 4/2 = 2" in text
    strided = cli("pad", 5, "-F", 3, "-S", 2).stdout
    assert "(5·(2 − 1) + 3 − 2)/2 = 6/2 = 3" in strided


@pytest.mark.parametrize("args, message", [
    (("conv", "32x32x3", "-F", 3), "Invalid value for '--filters': is required"),
    (("conv", "32x32x3", "-K", 3), "missing --size"),
    (("conv", "banana", "-K", 3, "-F", 3), "not a volume"),
    (("conv", "32x32x3", "-K", 3, "-F", 3, "-P", "lots"), "--pad"),
    (("conv", "4x4x3", "-K", 3, "-F", 7), "larger than the padded input"),
    (("pool", "32x32x3"), "missing --size"),
    (("pool", "32x32x3", "-F", 2, "-P", 2), "half the kernel"),
])
def test_calculator_usage_errors(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, option, message", [
    (("conv", "32x32x3", "-K", 10, "-F", 3, "-P", "foo"), "'--pad'",
     "expected an integer, 'h,w', 'same', 'valid', 'keep', got 'foo'"),
    (("conv", "axb", "-K", 10, "-F", 3), "'VOLUME'", "'axb' is not a volume"),
    (("conv", "32x32x3", "-K", 10, "-F", 3, "-S", "x"), "'--stride'", "expected an integer"),
    (("pad", 0, "--size", 3), "'N'", "0 is not in the range x>=1"),
    (("pad", 5, "--size", 0), "'--size'", "0 is not in the range x>=1"),
    (("pad", 5, "--size", 3, "--stride", 0), "'--stride'", "0 is not in the range x>=1"),
    (("pad", 5, "--size", 3, "--dilation", 0), "'--dilation'", "0 is not in the range x>=1"),
])
def test_calculator_option_errors_name_the_option(cli, args, option, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ") and f" {args[0]} [OPTIONS]" in result.stderr
    assert "Error: Invalid value for " in result.stderr and option in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_calculator_shape_error_has_no_repeated_trail(cli):
    result = cli("conv", "32x32x3", "-K", 10, "-F", 40)
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: conv on 32×32×3: the kernel (40 along H) is larger")
    assert "→" not in result.stderr


def test_same_pad_odd_total_splits_the_padding(cli):
    text = cli("pad", 7, "-F", 2, "-S", 2).stdout
    assert "2P = 7 is odd: no integer P makes (N − F + 2P)/S + 1 a whole 7" in text
    assert "or pad 3 before and 4 after: a whole 7" in text
    doc = json.loads(cli("pad", 7, "-F", 2, "-S", 2, "--format", "json").stdout)
    assert [c["pad"] for c in doc["nearest"]] == [3, 4]
    dilated = cli("pad", 5, "-F", 3, "--dilation", 2).stdout
    assert "P = 2 keeps 5: (5 − 5 + 2·2)/1 + 1 = 5" in dilated


def test_same_pad_at_a_stride_says_when_flooring_lands_on_n(cli):
    # N = 6, F = 3, s = 2: 2p = 6·1 + 3 − 2 = 7; P = 4 gives (6 − 3 + 8)/2 + 1 = 6.5 → 6
    # (issue 10: it said "no integer P gives exactly 6", then that P = 4 gives 6)
    text = cli("pad", 6, "-F", 3, "-S", 2).stdout
    assert "no integer P gives exactly 6" not in text
    assert "no integer P makes (N − F + 2P)/S + 1 a whole 6, but PyTorch floors it" in text
    assert "P = 4 gives 6 (after PyTorch floors a fraction)" in text
    assert "P = 3 gives 5" in text  # (6 − 3 + 6)/2 + 1 = 5.5 → 5
    assert "padding='same'" not in text


def test_fc_calculator_flattens_a_volume_first(cli):
    # LeNet-5's C5 as an fc: 5·5·16 = 400 inputs, (400 + 1)·120 = 48,120 params, 400·120 MACs
    out = run_json(cli, "fc", "5x5x16", "--units", 120)
    assert (out["shape"], out["params"], out["macs"]) == ([120], 48_120, 48_000)
    assert out["flatten"]["formula"] == "flatten: 5·5·16 = 400"
    out = run_json(cli, "fc", "84", "-U", 10, "--no-bias")
    assert (out["params"], out["macs"], out["formula"]) == (840, 840, "fc 84 → 10: params 84·10 = 840; MACs 84·10 = 840")
    r = cli("fc", "400")
    assert r.exit_code == 2 and "missing --units" in r.stderr


def test_deconv_calculator(cli):
    # U-Net's 2×2 up-convolution, 64 → 32 maps: (16 − 1)·2 + 1·(2 − 1) + 1 = 32;
    # params 64·32·2·2 + 32 = 8,224 (PyTorch's ConvTranspose2d weight is D·K·F·F);
    # MACs: every input pixel times every weight it touches, 16·16·64·32·2·2
    out = run_json(cli, "deconv", "16x16x64", "-K", 32, "-F", 2, "-S", 2)
    assert (out["shape"], out["params"], out["macs"]) == ([32, 32, 32], 8_224, 2_097_152)
    # (7 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 14 with output_pad 1
    out = run_json(cli, "deconv", "7x7x8", "-K", 4, "-F", 3, "-S", 2, "-P", 1, "--output-pad", 1)
    assert out["shape"] == [4, 14, 14]
    r = cli("deconv", "16", "-K", 3, "-F", 2)
    assert r.exit_code == 2 and "deconv needs a W×H×D volume" in r.stderr


def test_conv_calculator_takes_every_pad_word(cli):
    assert run_json(cli, "conv", "32x32x3", "-K", 8, "-F", 3, "-S", 2, "-P", "same")["shape"] == [8, 16, 16]
    assert run_json(cli, "conv", "32x32x3", "-K", 8, "-F", 3, "-S", 2, "-P", "keep")["shape"] == [8, 32, 32]


def test_pad_shows_the_notes_keep_and_the_same_word_at_a_stride(cli):
    # keep: the notes' 2p = 224·1 + 7 − 2 = 229; same: ⌈224/2⌉ = 112, 2p = 111·2 + 7 − 224 = 5
    out = run_json(cli, "pad", 224, "--size", 7, "--stride", 2)
    assert out["total"] == 229 and out["same"] == {"total": 5, "output": 112}
    text = cli("pad", 224, "--size", 7, "--stride", 2).stdout
    assert "pad: same gives ⌈224/2⌉ = 112" in text and "= 5 (2 before, 3 after)" in text
    assert "pad: same" not in cli("pad", 32, "--size", 5).stdout  # the same at stride 1
