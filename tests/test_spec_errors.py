"""Bad specs: each gives one clear `FILE:LINE:COL: error:` line, exit code 2, no traceback."""

import re
import subprocess
import sys

import pytest

import cnncalc

CASES = {
    "yaml-syntax": ("input: 32x32x3\nlayers:\n  - conv: {filters: 6, size: 5\n  - relu\n",
                    "5:1", "flow mapping that starts at 3:11"),
    "unknown-kind": ("input: 32x32x3\nlayers:\n  - relu\n  - convv: {filters: 6, size: 5}\n",
                     "4:5", "unknown layer kind 'convv'; did you mean 'conv'?"),
    "missing-filters": ("input: 32x32x3\nlayers:\n  - conv: {size: 5}\n",
                        "3:11", "filters → is required"),
    "zero-size": ("input: 32x32x3\nlayers:\n  - conv: {filters: 6, size: 0}\n",
                  "3:30", "size → must be a positive integer, got 0"),
    "negative-stride": ("input: 32x32x3\nlayers:\n  - pool: {size: 2, stride: -2}\n",
                        "3:29", "stride → must be a positive integer, got -2"),
    "kernel-too-large": ("input: 4x4x3\nlayers:\n  - relu\n  - conv: {filters: 6, size: 7}\n",
                         "4:5", "larger than the padded input: 4 + 0 + 0 = 4"),
    "unknown-setting": ("input: 8x8x3\nlayers:\n  - conv: {filters: 6, size: 3, strides: 2}\n",
                        "3:33", "conv has no setting 'strides'; did you mean 'stride'?"),
    "tab-indentation": ("input: 8x8x3\nlayers:\n  - conv:\n\t  filters: 3\n",
                        "4:1", "a tab in the indentation: YAML indents with spaces only; "
                               "replace the tab with spaces"),
    "expect-inside-settings": (
        "input: 8x8x3\nlayers:\n  - conv: {filters: 6, size: 3, expect: {params: 168}}\n",
        "3:33", "conv has no setting 'expect'; 'expect:' belongs beside 'conv:', not inside its "
                "settings"),
    "residual-mismatch": (
        "input: 28x28x64\nlayers:\n  - residual:\n      main:\n"
        "        - conv: {filters: 64, size: 3, stride: 2, pad: 1}\n",
        "3:5", "main path gives 14×14×64 but the shortcut gives 28×28×64; the 14 comes from "
               "(28 − 3 + 2·1)/2 + 1 = 14.5 → floor 14 at conv1"),
    "concat-mismatch": (
        "input: 28x28x64\nlayers:\n  - branches:\n      paths:\n"
        "        - [conv: {filters: 8, size: 3}]\n        - [conv: {filters: 8, size: 1}]\n",
        "3:5", "concat: branch1 gives 26×26×8 but branch2 gives 28×28×8"),
    "add-mismatch": (
        "input: 8x8x4\nlayers:\n  - branches:\n      merge: add\n      paths:\n"
        "        - [conv: {filters: 8, size: 1}]\n        - []\n",
        "3:5", "add merge: branch1 gives 8×8×8 but branch2 gives 8×8×4"),
    "unknown-block": ("input: 8x8x3\nblocks:\n  basic: [relu]\nlayers:\n  - use: basci\n",
                      "5:10", "unknown block 'basci'; did you mean 'basic'?"),
    "block-uses-itself": ("input: 8x8x3\nblocks:\n  a: [use: b]\n  b: [use: a]\nlayers:\n"
                          "  - use: a\n", "4:12", "block 'a' uses itself (a → b → a)"),
    "unknown-block-param": (
        "input: 8x8x3\nblocks:\n  b:\n    params: {width: 8}\n    layers:\n"
        "      - conv: {filters: $width, size: 1}\nlayers:\n  - use: b\n    with: {widht: 4}\n",
        "9:12", "block 'b' has no parameter 'widht'; did you mean 'width'?"),
    "param-outside-block": ("input: 8x8x3\nlayers:\n  - conv: {filters: $k, size: 1}\n",
                            "3:21", "$k is not defined"),
    "inexact-division": (
        "input: 8x8x3\nblocks:\n  b:\n    params: {width: 6}\n    layers:\n"
        "      - conv: {filters: $width / 4, size: 1}\nlayers:\n  - use: b\n",
        "6:25", "'$width / 4' is 1.5, not a whole number, where a size is needed"),
    "huge-repeat": ("input: 8x8x3\nlayers:\n  - repeat: {times: 1000000000, layers: [relu]}\n",
                    "3:21", "exceeds the 1,000,000 layers"),
    "fc-on-volume": ("input: 5x5x16\nlayers:\n  - fc: 120\n",
                     "3:5", "add '- flatten' before it"),
    "conv-on-vector": ("input: 8x8x3\nlayers:\n  - flatten\n  - conv: {filters: 4, size: 1}\n",
                       "4:5", "conv needs a W×H×D volume but gets a vector of 192"),
    "missing-input": ("layers: [relu]\n", "1:1", "missing 'input:'"),
    "bad-input": ("input: 32x32xthree\nlayers: [relu]\n", "1:8", "is not a volume"),
    "unknown-top-key": ("input: 8x8x3\nlayer: [relu]\n", "2:1",
                        "unknown top-level key 'layer'; did you mean 'layers'?"),
    "duplicate-key": ("input: 8x8x3\ninput: 9x9x3\nlayers: [relu]\n", "2:1",
                      "the key 'input' appears twice"),
    "groups-do-not-divide": ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 1, groups: 2}\n",
                             "3:5", "groups=2 must divide the input depth D=3"),
    "connection-table-length": (
        "input: 8x8x3\nlayers:\n  - conv: {filters: 3, size: 1, connections: [[0], [1]]}\n",
        "3:46", "has 2 entries but the conv has 3 filters"),
    "connection-table-range": (
        "input: 8x8x3\nlayers:\n  - conv: {filters: 2, size: 1, connections: [[0], [3]]}\n",
        "3:5", "reads input map(s) [3] but the input has only 3 maps"),
    "expect-unknown-field": ("input: 8x8x3\nlayers:\n  - relu:\n    expect: {parms: 0}\n",
                             "4:14", "cannot check 'parms'; did you mean 'params'?"),
    "pool-pad-too-large": ("input: 8x8x3\nlayers:\n  - pool: {size: 2, pad: 2}\n",
                           "3:26", "must be at most half the kernel"),
    "two-kinds": ("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 1}\n    relu: {}\n",
                  "3:5", "this has 2 kinds (conv, relu)"),
    "duplicate-name": ("input: 8x8x3\nlayers:\n  - relu:\n    name: a\n  - relu:\n    name: a\n",
                       "6:11", "the name 'a' is used twice"),
    "not-a-mapping": ("- relu\n- conv\n", "1:1", "a spec is a mapping"),
    "scalar-for-mapping-kind": ("input: 8x8x3\nlayers:\n  - conv: 5\n", "3:11",
                                "conv takes settings as a mapping"),
    "bad-merge": ("input: 8x8x3\nlayers:\n  - branches: {merge: sum, paths: [[], []]}\n",
                  "3:23", "must be concat, add, mul or first, got 'sum'"),
}


def test_independent_errors_are_all_reported(cli, write):
    path = write("input: 8x8x3\nlayers:\n  - conv: {filters: 0, size: 3}\n"
                 "  - poool: 2\n  - fc: {units: -1}\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": error:")[0] for line in lines] == [
        f"{path}:3:21", f"{path}:4:5", f"{path}:5:17"]


def test_shape_error_still_shows_the_table_above(cli, write):
    path = write("input: 4x4x3\nlayers:\n  - conv: {filters: 2, size: 1}\n    name: first\n"
                 "  - relu\n  - conv: {filters: 6, size: 7}\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert "first" in result.stdout and "relu1" in result.stdout
    assert f"{path}:6:5: error: conv1 →" in result.stderr


def test_non_integer_output_is_an_error_only_under_strict(cli, write):
    path = write("input: 28x28x3\nlayers:\n  - conv: {filters: 6, size: 5, stride: 2}\n")
    relaxed = cli("inspect", path)
    assert relaxed.exit_code == 0
    assert "CN101" in relaxed.stdout
    strict = cli("inspect", "--strict", path)
    assert strict.exit_code == 2
    assert (f"{path}:3:5: error: conv1 → CN101 H and W: (28 − 5 + 2·0)/2 + 1 = 12.5 is not a "
            f"whole number: PyTorch floors it to 12") in strict.stderr


@pytest.mark.parametrize("name, content, fragment", [
    ("empty.yaml", b"", ":1:1: error: the file is empty"),
    ("latin1.yaml", b"input: 8x8x3\nlayers:\n  - relu  # caf\xe9\n",
     ":3:16: error: the file is not UTF-8 text (byte 0xe9)"),
    ("bomb.yaml", b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"%c: &%c [%s]\n" % (c, c, b", ".join([b"*" + bytes([c - 1])] * 9))
        for c in range(ord("b"), ord("j"))) + b"input: 8x8x3\nlayers: [relu]\n",
     "error: YAML aliases repeat more than 100,000 nodes"),
])
def test_bad_files(name, content, fragment, cli, tmp_path):
    path = tmp_path / name
    path.write_bytes(content)
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+:\d+: error: [^\n]+\n", result.stderr)
    assert fragment in result.stderr


def test_directory_and_missing_file(cli, tmp_path):
    result = cli("inspect", tmp_path)
    assert result.exit_code == 2
    assert f"{tmp_path}: error: is a directory" in result.stderr
    result = cli("inspect", tmp_path / "nope.yaml")
    assert result.exit_code == 2
    assert f"{tmp_path / 'nope.yaml'}: error: no such file" in result.stderr


def test_no_traceback_from_the_real_program(tmp_path):
    """The installed entry point, not the test runner: exit 2 and one line on stderr."""
    path = tmp_path / "net.yaml"
    path.write_text("input: 8x8x3\nlayers:\n  - convv: {filters: 6, size: 5}\n")
    proc = subprocess.run([sys.executable, "-m", "cnncalc", "inspect", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"{path}:3:5: error: layers[0] → unknown layer kind 'convv'; "
                                   f"did you mean 'conv'?")


def test_user_file_is_never_written(cli, write):
    path = write("input: 4x4x3\nlayers:\n  - conv: {filters: 6, size: 7}\n")
    before = path.read_bytes()
    cli("inspect", "--format", "json", path)
    assert path.read_bytes() == before


# --- what a reviewer fed it: each must be a clean error, not a traceback -------------------

HOSTILE = {
    "huge-filters": ("input: 8x8x3\nlayers:\n  - conv: {filters: 1000000000000, size: 5}\n",
                     "3:21", "must be at most 1,000,000,000"),
    "5000-digit-int": ("input: 8x8x3\nlayers:\n  - conv: {filters: " + "9" * 5000 + ", size: 3}\n",
                       "3:21", "has 5,000 digits"),
    "400-digit-float-setting": ("input: 8x8x3\nlayers:\n  - dropout: " + "1" + "0" * 400 + "\n",
                                "3:14", "must be a finite number"),
    "deep-expression": ("input: 8x8x3\nblocks:\n  b:\n    params: {w: 4}\n    layers:\n"
                        "      - conv: {filters: \"" + "(" * 3000 + "$w" + ")" * 3000
                        + "\", size: 1}\nlayers:\n  - use: b\n", "6:25", "nests more than 50"),
    "empty-layers": ("input: 8x8x3\nlayers: []\n", "2:9", "layers → is empty"),
    "null-layers": ("input: 8x8x3\nlayers:\n", "2:8", "layers → is empty"),
    "block-with-null-layers": ("input: 8x8x3\nblocks:\n  b:\n    layers:\nlayers:\n  - use: b\n",
                               "4:12", "is empty"),
    "repeat-zero": ("input: 8x8x3\nlayers:\n  - repeat: {times: 0, layers: [relu]}\n",
                    "3:21", "must be a positive integer, got 0"),
    "dotted-name-collision": (
        "input: 8x8x3\nlayers:\n  - repeat: {times: 1, layers: [conv: {filters: 3, size: 1}]}\n"
        "    name: x\n  - conv: {filters: 3, size: 1}\n    name: x.0.conv1\n",
        "5:5", "two layers are called 'x.0.conv1'"),
    "bare-word-with-name": ("input: 8x8x3\nlayers:\n  - relu\n    name: act\n", "4:9",
                            "write '- relu:' (with a colon)"),
    "misspelt-sibling": ("input: 8x8x3\nlayers:\n  - relu:\n    nmae: act\n", "3:5",
                         "'nmae' is not a kind: did you mean 'name'?"),
    "depth-mismatch-explained": (
        "input: 32x32x16\nblocks:\n  b:\n    params: {w: 32}\n    layers:\n"
        "      - residual: {main: [conv: {filters: $w, size: 3, pad: 1}]}\n"
        "layers:\n  - repeat: {times: 2, layers: [use: b]}\n",
        "6:9", "the depth 32 comes from repeat1.0.conv1 (conv, 32×32×16 → 32×32×32)"),
}


CASES.update(HOSTILE)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec(case, cli, write):
    text, where, fragment = CASES[case]
    path = write(text)
    result = cli("inspect", path)
    assert result.exit_code == 2, result.output
    assert f"{path}:{where}: error:" in result.stderr, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_chain_of_blocks_too_deep(cli, write):
    blocks = "".join(f"  b{i}: [use: b{i + 1}]\n" for i in range(60)) + "  b60: [relu]\n"
    path = write(f"input: 8x8x3\nblocks:\n{blocks}layers:\n  - use: b0\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert "blocks are used inside blocks more than 50 deep (b0 → b1 → b2 → …)" in result.stderr


def test_binary_file(cli, tmp_path):
    path = tmp_path / "net.yaml"
    path.write_bytes(b"input: 8x8x3\nlayers: [relu]\n\x00\x01\x02")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert f"{path}:3:1: error: the character U+0000 cannot appear in YAML" in result.stderr


def test_a_missing_path_with_a_colon_is_a_missing_file(cli, tmp_path):
    result = cli("inspect", tmp_path / "my:net.yaml")
    assert result.exit_code == 2
    assert "error: no such file" in result.stderr


def test_a_large_plain_spec_is_not_an_alias_bomb():
    # 110,000 distinct nodes: more than the 100,000 that aliases may add, and no alias at all
    spec = cnncalc.load("input: 4x4x1\nlayers: [" + ", ".join(["relu"] * 110_000) + "]\n")
    assert len(spec.layers) == 110_000


def test_zoo_errors_put_the_hint_last(cli):
    result = cli("inspect", "zoo:lenet")
    assert result.exit_code == 2
    assert result.stderr.startswith("zoo:lenet: error: no such bundled spec; did you mean zoo:")


def test_lrn_on_a_vector_is_refused(cli, write):
    path = write("input: 8x8x4\nlayers:\n  - flatten\n  - lrn\n")
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert f"{path}:4:5: error: lrn1 → lrn on 256: lrn needs a W×H×D volume" in result.stderr


def test_names_too_long_for_the_file_system(cli, tmp_path):
    result = cli("inspect", "zoo:" + "a" * 5000)
    assert result.exit_code == 2 and "no such bundled spec" in result.stderr
    result = cli("inspect", "")
    assert result.exit_code == 2 and "error: the path is empty" in result.stderr
