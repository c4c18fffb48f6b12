"""`cnncalc apply`: numeric convolution and pooling, by hand and against PyTorch."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.matrix import MatrixError, parse_matrix
from cnncalc.numeric import NumericError, apply, conv2d, pool2d

EXAMPLES = Path(__file__).resolve().parent.parent / "cnncalc" / "specs" / "examples"


def apply_json(cli, *args):
    result = cli("apply", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_notes_edge_detection(cli):
    # 6×6, left half 10, right half 0, vertical filter [[1,0,-1]]×3: each row of the 4×4
    # output is 0, 30, 30, 0 (the edge shows up in the two middle columns).
    out = apply_json(cli, "--input", EXAMPLES / "edge_input.txt",
                     "--kernel", EXAMPLES / "edge_kernel.txt")
    assert out == {"output": [[0, 30, 30, 0]] * 4}


def test_edge_steps_term_by_term(cli):
    result = cli("apply", "--input", EXAMPLES / "edge_input.txt", "--kernel",
                 EXAMPLES / "edge_kernel.txt", "--steps", "--at", "1,2")
    assert result.exit_code == 0
    # Window at row 1, column 2: columns 2–4 hold 10, 10, 0.
    assert "10·1 + 10·0 + 0·(-1) + 10·1 + 10·0 + 0·(-1) + 10·1 + 10·0 + 0·(-1) = 30" \
        in result.stdout
    assert "30 + bias 0 = 30" in result.stdout


def test_exercise_shape_bias_and_relu(cli):
    # The notes' Exercise form: 5×5 input, 3×3 kernel, bias −500, ReLU.  With every input
    # 100 and a kernel of ones each window sums to 900: 900 − 500 = 400 everywhere (3×3);
    # with bias −1000 ReLU gives 0.
    x = "; ".join(["100 100 100 100 100"] * 5)
    k = "1 1 1; 1 1 1; 1 1 1"
    assert apply_json(cli, "--input", x, "--kernel", k, "--bias", -500, "--act", "relu") == \
        {"output": [[400] * 3] * 3}
    assert apply_json(cli, "--input", x, "--kernel", k, "--bias", -1000, "--act", "relu") == \
        {"output": [[0] * 3] * 3}


def test_multichannel_sums_over_channels(cli, tmp_path):
    # Two channels of 2×2, kernel 2×2×2: 1·1+2·1+3·1+4·1 = 10 and 5·2+6·2+7·2+8·2 = 52: 62 + 1.
    (tmp_path / "x.txt").write_text("1 2\n3 4\n\n5 6\n7 8\n")
    (tmp_path / "k.txt").write_text("1, 1\n1, 1\n\n2, 2\n2, 2\n")
    out = apply_json(cli, "--input", tmp_path / "x.txt", "--kernel", tmp_path / "k.txt",
                     "--bias", 1)
    assert out == {"output": [[63]]}


def test_several_kernels_give_several_maps(cli):
    out = apply_json(cli, "--input", "1 2; 3 4", "--kernel", "1", "--kernel", "2")
    assert out == {"output": [[[1, 2], [3, 4]], [[2, 4], [6, 8]]]}


def test_pool_after_conv_and_pool_alone(cli):
    # max of each 2×2 block of 1..16 (4×4): 6, 8, 14, 16; the mean: 3.5, 5.5, 11.5, 13.5.
    x = "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16"
    assert apply_json(cli, "--input", x, "--pool", "max", "--size", 2) == \
        {"output": [[6, 8], [14, 16]]}
    assert apply_json(cli, "--input", x, "--pool", "avg", "--size", 2) == \
        {"output": [[3.5, 5.5], [11.5, 13.5]]}
    # the edge map, then 2×2 max pool: [[30, 30], [30, 30]].
    assert apply_json(cli, "--input", EXAMPLES / "edge_input.txt", "--kernel",
                      EXAMPLES / "edge_kernel.txt", "--pool", "max", "--size", 2) == \
        {"output": [[30, 30], [30, 30]]}


def test_stride_and_padding(cli):
    # 3×3 of ones, pad 1, kernel 3×3 ones, stride 2: corners see 4 ones, so [[4, 4], [4, 4]].
    out = apply_json(cli, "--input", "1 1 1; 1 1 1; 1 1 1", "--kernel", "1 1 1;1 1 1;1 1 1",
                     "--pad", 1, "--stride", 2)
    assert out == {"output": [[4, 4], [4, 4]]}


def test_table_output(cli):
    result = cli("apply", "--input", EXAMPLES / "edge_input.txt", "--kernel",
                 EXAMPLES / "edge_kernel.txt")
    assert result.exit_code == 0
    assert "Output 4×4×1" in result.stdout
    assert "30" in result.stdout


# --- against PyTorch ------------------------------------------------------------------------

torch = pytest.importorskip("torch")
F = torch.nn.functional

small = st.integers(-9, 9)


@st.composite
def conv_case(draw):
    c = draw(st.integers(1, 3))
    k = draw(st.integers(1, 2))
    f = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    stride = draw(st.integers(1, 3))
    h = draw(st.integers(max(1, f - 2 * pad), 7))
    w = draw(st.integers(max(1, f - 2 * pad), 7))
    x = [[[draw(small) for _ in range(w)] for _ in range(h)] for _ in range(c)]
    kernels = [[[[draw(small) for _ in range(f)] for _ in range(f)] for _ in range(c)]
               for _ in range(k)]
    biases = [draw(small) for _ in range(k)]
    return x, kernels, biases, stride, pad


@settings(max_examples=150, deadline=None)
@given(conv_case())
def test_conv_matches_torch(case):
    x, kernels, biases, stride, pad = case
    ours = conv2d(x, kernels, biases, stride, pad)
    theirs = F.conv2d(torch.tensor([x], dtype=torch.float64), torch.tensor(kernels,
                      dtype=torch.float64), torch.tensor(biases, dtype=torch.float64),
                      stride=stride, padding=pad)[0]
    assert ours == theirs.to(torch.int64).tolist()
    assert torch.equal(theirs, theirs.round())


@st.composite
def pool_case(draw):
    c = draw(st.integers(1, 3))
    size = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, size // 2))
    h = draw(st.integers(max(1, size - 2 * pad), 7))
    w = draw(st.integers(max(1, size - 2 * pad), 7))
    x = [[[draw(small) for _ in range(w)] for _ in range(h)] for _ in range(c)]
    return x, size, stride, pad


@settings(max_examples=150, deadline=None)
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pool_matches_torch(case, mode):
    x, size, stride, pad = case
    ours = pool2d(x, size, stride, mode, pad)
    t = torch.tensor([x], dtype=torch.float64)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    theirs = pool(t, size, stride, pad)[0]
    assert [len(ours), len(ours[0]), len(ours[0][0])] == list(theirs.shape)
    assert flat(ours) == pytest.approx(theirs.flatten().tolist())


def flat(volume):
    return [float(v) for m in volume for row in m for v in row]


@settings(max_examples=50, deadline=None)
@given(conv_case(), st.sampled_from(["relu", "sigmoid", "tanh"]))
def test_activations_match_torch(case, act):
    x, kernels, biases, stride, pad = case
    ours = apply(x, kernels, biases, stride, pad, act).output
    z = F.conv2d(torch.tensor([x], dtype=torch.float64), torch.tensor(kernels,
                 dtype=torch.float64), torch.tensor(biases, dtype=torch.float64),
                 stride=stride, padding=pad)[0]
    theirs = getattr(torch, act)(z)
    assert [len(ours), len(ours[0]), len(ours[0][0])] == list(theirs.shape)
    assert flat(ours) == pytest.approx(theirs.flatten().tolist())


# --- malformed matrices -----------------------------------------------------------------------

@pytest.mark.parametrize("text, where, message", [
    ("1 2 3\n4 5\n", ":2:1:", "this row has 2 numbers but the first row has 3"),
    ("1 2 3\n4 five 6\n", ":2:3:", "'five' is not a number"),
    ("1 2\n3 4\n\n5 6\n", ":4:1:", "channel 2 has 1 row but channel 1 has 2"),
    ("", ":1:1:", "holds no numbers"),
    ("  \n# only a comment\n", ":1:1:", "holds no numbers"),
    ("1 nan\n", ":1:3:", "'nan' is not a number"),
])
def test_malformed_matrix_file(cli, tmp_path, text, where, message):
    path = tmp_path / "m.txt"
    path.write_text(text)
    result = cli("apply", "--input", path, "--kernel", "1")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}{where} error: ")
    assert message in first
    assert "Traceback" not in result.stderr


def test_error_shows_the_line_and_a_caret(cli, tmp_path):
    path = tmp_path / "k.txt"
    path.write_text("1 0 -1\n1 O -1\n")
    result = cli("apply", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:2:3: error: 'O' is not a number; write numbers separated by spaces or commas",
        "    1 O -1",
        "      ^"]


def test_inline_error_location(cli):
    result = cli("apply", "--input", "1 2 3; 4 x 6", "--kernel", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith("--input:1:10: error: 'x' is not a number")


@pytest.mark.parametrize("args, message", [
    (("--input", "no/such/file.txt", "--kernel", "1"), "no such file"),
    (("--input", "1 2; 3 4", "--kernel", "1 2 3; 4 5 6; 7 8 9"), "larger than the padded input"),
    (("--input", "1 2; 3 4", "--kernel", "1 | 1"), "kernel 1 has 2 channels but the input has 1"),
    (("--input", "1 2; 3 4", "--kernel", "1", "--kernel", "1 1"), "same size"),
    (("--input", "1 2; 3 4", "--size", 2), "add --pool"),
    (("--input", "1 2; 3 4"), "nothing to apply"),
    (("--input", "1 2; 3 4", "--kernel", "1", "--steps", "--at", "3,1"), "outside"),
])
def test_apply_usage_errors(cli, args, message):
    result = cli("apply", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_matrix_accepts_commas_comments_and_floats():
    assert parse_matrix("1, 2.5  # a comment\n-3,4\n", "m.txt") == [[[1, 2.5], [-3, 4]]]
    with pytest.raises(MatrixError):
        parse_matrix("1 2\n3\n", "m.txt")
    with pytest.raises(NumericError):
        pool2d([[[1, 2], [3, 4]]], 2, 2, "max", 2)


@pytest.mark.parametrize("args, option, message", [
    (("--input", "1 2; 3 4", "--kernel", "1 2 3; 4 5 6; 7 8 9"), "'--kernel'",
     "the kernel (3) is larger than the padded input (2 + 2·0 = 2); use a smaller kernel"),
    (("--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 1", "--steps", "--at", "5,5"),
     "'--at'", "5,5 is outside the output, which has 2 rows and 2 columns; pick a row from 1 "
               "to 2 and a column from 1 to 2"),
    (("--input", "1 2; 3 4", "--kernel", "1", "--steps", "--at", "x"), "'--at'",
     "expected row,column such as 1,1, got 'x'"),
    (("--input", "1 2; 3 4", "--kernel", "1", "--kernel", "2", "--bias", 1, "--bias", 2,
      "--bias", 3), "'--bias'",
     "got 3 biases for 2 kernels; give one --bias for all kernels or one per kernel"),
    (("--input", "1 2; 3 4", "--kernel", "1", "--bias", 1, "--bias", 2), "'--bias'",
     "got 2 biases for 1 kernel;"),
    (("--input", "", "--act", "relu"), "'--input'", "is empty"),
    (("--input", "  ", "--act", "relu"), "'--input'", "is empty"),
    (("--input", "1 2; 3 4", "--pool", "max", "--size", 2, "--pad", 2), "'--pad'",
     "pooling pad 2 is more than half the window 2 (PyTorch's rule); use a pad of at most 1"),
])
def test_apply_option_errors_name_the_option(cli, args, option, message):
    result = cli("apply", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ") and " apply [OPTIONS]" in result.stderr
    assert f"Error: Invalid value for {option}: {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_pool_without_size_is_a_usage_error(cli):
    result = cli("apply", "--input", "1 2; 3 4", "--pool", "max")
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ") and " apply [OPTIONS]" in result.stderr
    assert "Error: --pool needs --size F (the pooling window)" in result.stderr


def test_an_inline_matrix_longer_than_a_file_name(cli):
    # 12×12 ones is over 255 characters: it must be read as a matrix, not tried as a path.
    # Each 2×2 window of ones under [[1, 0], [0, 1]] sums 2; 12 − 2 + 1 = 11 per side.
    inline = "; ".join(" ".join(["1"] * 12) for _ in range(12))
    assert len(inline) > 255
    assert apply_json(cli, "--input", inline, "--kernel", "1 0; 0 1") == {
        "output": [[2] * 11] * 11}


def test_unused_rows_note_is_singular_or_plural():
    one = apply([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]], [[[[1, 0], [0, 1]]]], stride=2).notes
    assert "the last row is never read" in one[0]
    assert "the last column is never read" in one[1]
    x = [[list(range(7)) for _ in range(7)]]
    assert apply(x, [[[[1]]]], stride=3).notes == []  # (7 − 1)/3 is whole
    three = apply(x, [[[[1, 1], [1, 1]]]], stride=3).notes  # (7 − 2) mod 3 = 2
    assert "the last 2 rows are never read" in three[0]
    assert "the last 2 columns are never read" in three[1]


def test_unread_padding_is_no_note(cli):
    # the case: 2×2 at stride 2 with pad 1 on 3×3: windows start at −1 and 1 and read
    # rows 0..2; only the bottom padding row goes unread ((3 − 2 + 2)/2 + 1 = 2.5 → 2), as
    # `cnncalc conv 3x3x1 -K 1 -F 2 -S 2 -P 1` says (nothing)
    r = cli("apply", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 -1", "--pad", 1,
            "--stride", 2)
    assert r.exit_code == 0 and "never read" not in r.stdout + r.stderr
    assert "CN101" not in cli("conv", "3x3x1", "-K", 1, "-F", 2, "-S", 2, "-P", 1).stdout
    # without the pad the last row and column of the image are skipped: said
    r = cli("apply", "--input", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 0; 0 -1", "--stride", 2)
    assert "the last row is never read" in r.stdout + r.stderr


def test_a_pool_after_a_conv_notes_only_image_rows_lost():
    x = [[list(range(7)) for _ in range(7)]]
    # 1×1 conv, then 2×2/2 pool on 7: the pool skips row 6 of the conv's output, which came
    # from image row 6 alone
    notes = apply(x, [[[[1]]]], pool="max", pool_size=2).notes
    assert notes[0] == ("pool H: (7 − 2 + 2·0)/2 + 1 is not a whole number; the last row of "
                        "the conv's output, and with it the last row of the input, is never "
                        "read (PyTorch floors it too)")
    assert len(notes) == 2 and "last column" in notes[1]
    # 3×3 pad 1 conv first: its output row 5 reads image rows 4..6, and the pool reads row 5
    assert apply(x, [[[[1] * 3] * 3]], pad=1, pool="max", pool_size=2).notes == []
