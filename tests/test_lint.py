"""`cnncalc lint`: each design note with its stable code, exit codes, and a clean net."""

import json

import pytest

from cnncalc.lint import RULES, lint
from cnncalc.report import CODES
from cnncalc.spec import load

CLEAN = """\
input: 32x32x3
layers:
  - conv: {filters: 16, size: 3, pad: 1}
  - relu
  - pool: {size: 2}
  - conv: {filters: 16, size: 3, pad: 1}
  - relu
  - global_pool
  - flatten
  - fc: 10
"""
# params: (3·3·3)·16 + 16 = 448, (3·3·16)·16 + 16 = 2320, (16 + 1)·10 = 170: fc holds 6%.


def codes(text: str) -> list[str]:
    return [d.code for d in lint(load(text)).notes]


def test_clean_net_has_no_notes(cli, write):
    assert codes(CLEAN) == []
    result = cli("lint", write(CLEAN), "--strict")
    assert result.exit_code == 0
    assert "no design notes" in result.stdout


@pytest.mark.parametrize("layers, code", [
    # (7 − 3)/3 + 1 = 2.33: not whole.
    ("  - conv: {filters: 4, size: 3, stride: 3}\n", "CN101"),
    # an even kernel cannot pad symmetrically.
    ("  - conv: {filters: 4, size: 4, pad: same}\n", "CN102"),
    ("  - pool: {size: 3, stride: 1, pad: 1}\n", "CN103"),
    # 7 → 1 in one layer.
    ("  - conv: {filters: 4, size: 7}\n", "CN104"),
    # a 1-wide window at stride 2: (7 − 1)/2 + 1 = 4, but every other pixel is never read.
    ("  - pool: {size: 1, stride: 2}\n", "CN106"),
    # (3·3·1)·4 + 4 = 40 conv params; fc (7·7·4 + 1)·10 = 1970: 98% of the net.
    ("  - conv: {filters: 4, size: 3, pad: 1}\n  - flatten\n  - fc: 10\n", "CN201"),
    ("  - conv: {filters: 4, size: 3, pad: 1}\n  - bn\n", "CN202"),
    ("  - conv: {filters: 4, size: 3, pad: 1}\n  - relu\n  - dropout: 0.5\n"
     "  - conv: {filters: 4, size: 3, pad: 1}\n", "CN203"),
])
def test_each_rule(layers, code):
    assert code in codes(f"input: 7x7x1\nlayers:\n{layers}")


def test_bias_false_before_bn_is_fine():
    assert "CN202" not in codes("input: 8x8x1\nlayers:\n  - conv: {filters: 4, size: 3, "
                                "pad: 1, bias: false}\n  - bn\n")


def test_dropout_on_fc_is_fine():
    text = CLEAN.replace("  - fc: 10\n", "  - fc: 32\n  - dropout: 0.5\n  - fc: 10\n")
    assert "CN203" not in codes(text)


def test_codes_are_registered_with_reasons():
    network = {c: v for c, v in CODES.items() if c.startswith("CN2")}
    assert set(network) == {"CN201", "CN202", "CN203"} and len(RULES) == 3
    for rule in network.values():
        assert rule.slug and rule.severity in ("note", "warning", "error") and rule.reason


def test_lint_command_exit_codes_and_json(cli, write):
    path = write("input: 32x32x3\nlayers:\n  - conv: {filters: 8, size: 3, pad: 1}\n  - bn\n"
                 "  - relu\n  - flatten\n  - fc: 10\n")
    result = cli("lint", path)
    assert result.exit_code == 0
    assert "CN202 bias-before-bn" in result.stdout
    assert "CN201 fc-dominates" in result.stdout
    assert cli("lint", path, "--strict").exit_code == 1
    # ok agrees with the exit code: notes alone are fine, under --strict they are not
    assert json.loads(cli("lint", path, "--format", "json").stdout)["ok"] is True
    doc = json.loads(cli("lint", path, "--format", "json", "--strict").stdout)
    assert doc["ok"] is False
    got = {n["code"]: n for n in doc["notes"]}
    assert set(got) == {"CN201", "CN202"}
    assert got["CN202"]["line"] == 3 and got["CN202"]["layer"] == "conv1"
    assert got["CN201"]["why"] == CODES["CN201"].reason


def test_lint_spec_error_exits_2(cli, write):
    result = cli("lint", write("input: 8x8x1\nlayers:\n  - conv: {filters: 2, size: 9}\n"))
    assert result.exit_code == 2
    assert "larger than the padded input" in result.stderr


def test_bias_before_bn_counts_one_bias_in_the_singular():
    (note,) = [d for d in lint(load("input: 8x8x3\nlayers:\n  - conv: {filters: 1, size: 3}\n"
                                    "  - bn\n")).notes if d.code == "CN202"]
    assert "so the bias learns nothing" in note.message
    (note,) = [d for d in lint(load("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 3}\n"
                                    "  - bn\n")).notes if d.code == "CN202"]
    assert "so the 4 biases learn nothing" in note.message
