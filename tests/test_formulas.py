"""The size arithmetic, case by case, worked by hand from the notes."""

import pytest

from cnncalc.formulas import (Shape, adaptive_window, axis_formula, effective_kernel, parse_volume,
                            same_pad_total, keep_pad_total, unread_image,
                            split_pad, transposed_out_len, volume_text,
                            window_out_len)


@pytest.mark.parametrize("n, f, s, p, out, rem", [
    (32, 5, 1, 2, 32, 0),    # the notes: 32×32×3, ten 5×5 filters, S=1, P=2 → 32×32×10
    (32, 5, 1, 0, 28, 0),    # LeNet C1: (32 − 5)/1 + 1 = 28
    (32, 3, 1, 0, 30, 0),    # the notes: 30 = (32 − 3)/1 + 1
    (7, 3, 1, 0, 5, 0),      # the classic 7×7 input, 3×3 filter
    (7, 3, 2, 0, 3, 0),      # stride 2: (7 − 3)/2 + 1 = 3
    (7, 3, 3, 0, 2, 1),      # stride 3 does not fit: 2.33, one column never read
    (28, 2, 2, 0, 14, 0),    # the pooling formula: (28 − 2)/2 + 1 = 14
    (224, 7, 2, 3, 112, 1),  # ResNet's stem: (224 − 7 + 6)/2 + 1 = 112.5 → 112
    (227, 11, 4, 0, 55, 0),  # AlexNet conv1: (227 − 11)/4 + 1 = 55
    (224, 11, 4, 2, 55, 1),  # torchvision AlexNet: (224 − 11 + 4)/4 + 1 = 55.25 → 55
])
def test_window_out_len(n, f, s, p, out, rem):
    a = window_out_len(n, f, s, (p, p))
    assert (a.out, a.remainder) == (out, rem)
    assert a.exact == (rem == 0)


@pytest.mark.parametrize("n, f, s, p, out", [
    (112, 3, 2, 0, 56),  # GoogLeNet maxpool1 with ceil_mode: 55.5 → 56
    (14, 2, 2, 0, 7),    # GoogLeNet maxpool4: exact, ceil changes nothing
    (109, 3, 2, 0, 54),  # SqueezeNet: exact
    (55, 3, 2, 0, 27),   # exact
    (5, 2, 2, 1, 3),     # the last window would start in the right padding: dropped
    (6, 3, 2, 0, 3),     # (6 − 3)/2 + 1 = 2.5 → 3
])
def test_ceil_mode(n, f, s, p, out):
    assert window_out_len(n, f, s, (p, p), ceil=True).out == out


def test_dilated_kernel_span():
    assert effective_kernel(3, 1) == 3
    assert effective_kernel(3, 2) == 5   # 2·(3 − 1) + 1
    assert effective_kernel(3, 4) == 9
    assert window_out_len(32, 3, 1, (2, 2), d=2).out == 32


def test_same_padding_from_the_notes():
    # p = (F − 1)/2 at stride 1
    assert same_pad_total(32, 5, 1) == 4 and split_pad(4) == (2, 2)
    assert same_pad_total(32, 3, 1) == 2
    # an even kernel cannot pad symmetrically: 1 before, 2 after
    assert split_pad(same_pad_total(32, 4, 1)) == (1, 2)
    # keep: the notes' p = (N(s − 1) + F − s)/2 at any stride: 32·1 + 3 − 2 = 33 pixels
    assert keep_pad_total(32, 3, 2) == 33
    assert window_out_len(32, 3, 2, split_pad(33)).out == 32
    assert keep_pad_total(32, 5, 1) == same_pad_total(32, 5, 1) == 4  # equal at stride 1
    # same: the output is ⌈N/S⌉ (Keras/TensorFlow): 2p = (⌈N/S⌉ − 1)·S + F − N
    assert same_pad_total(32, 3, 2) == (16 - 1) * 2 + 3 - 32 == 1       # 0 before, 1 after
    assert window_out_len(32, 3, 2, split_pad(1)).out == 16
    assert same_pad_total(33, 3, 2) == (17 - 1) * 2 + 3 - 33 == 2       # ⌈33/2⌉ = 17
    assert window_out_len(33, 3, 2, split_pad(2)).out == 17
    assert same_pad_total(32, 1, 2) == 0                                # never negative
    assert same_pad_total(224, 7, 2) == (112 - 1) * 2 + 7 - 224 == 5    # TF's ResNet stem: 2 + 3


def test_unread_image_rows_exclude_padding():
    # (96 − 3 + 2·1)/2 + 1 = 48.5: the unread last row is the zero padding, not image
    a = window_out_len(96, 3, 2, (1, 1))
    assert (a.out, a.remainder, unread_image(a)) == (48, 1, 0)
    # a 1×1 stride-2 shortcut on 56: (56 − 1)/2 + 1 = 28.5, the last image row is skipped
    a = window_out_len(56, 1, 2)
    assert (a.out, a.remainder, unread_image(a)) == (28, 1, 1)
    # 5×5 stride 3 on 32 with pad 1: (32 − 5 + 2)/3 + 1 = 10.67: 2 unread, 1 of them image
    a = window_out_len(32, 5, 3, (1, 1))
    assert (a.out, a.remainder, unread_image(a)) == (10, 2, 1)


def test_transposed_conv():
    # (7 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 14
    assert transposed_out_len(7, 3, 2, 1, 1, 1) == 14
    # the usual 2×2 stride-2 up-convolution doubles: (16 − 1)·2 + 1 + 1 = 32
    assert transposed_out_len(16, 2, 2) == 32


def test_adaptive_windows():
    assert adaptive_window(6, 6) == (1, 1)            # AlexNet's 6×6 on 6×6: identity
    assert adaptive_window(13, 6)[0] == 3            # windows [0,3) [2,5) [4,7) [6,9) [8,11) [10,13)
    assert adaptive_window(7, 1)[0] == 7             # global


def test_volume_text_and_parsing():
    assert parse_volume("32x32x3") == Shape(3, 32, 32)
    assert parse_volume("64×48×3") == Shape(3, 48, 64)   # W×H×D: width first
    assert parse_volume("28x28") == Shape(1, 28, 28)
    assert parse_volume("784") == Shape(784)
    assert volume_text(Shape(3, 48, 64)) == "64×48×3"
    assert volume_text(Shape(10)) == "10"
    for bad in ("32x32x0", "HxWx3", "", "32x"):
        with pytest.raises(ValueError):
            parse_volume(bad)


def test_axis_formula_text():
    assert axis_formula(window_out_len(32, 5, 1, (2, 2))) == "(32 − 5 + 2·2)/1 + 1 = 32"
    assert axis_formula(window_out_len(7, 3, 3, (0, 0))) == "(7 − 3 + 2·0)/3 + 1 = 2.333 → floor 2"
