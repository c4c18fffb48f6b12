"""`cnncalc lint`: each design note with its stable code, exit codes, and a clean net."""

import json

import pytest

from cnncalc.lint import RULES, lint
from cnncalc.codes import CODES
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
    assert set(network) == {"CN201", "CN202", "CN203", "CN204", "CN205"} and len(RULES) == 5
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


def test_two_activations_in_a_row():
    text = CLEAN.replace("  - fc: 10\n", "  - fc: 10\n  - softmax\n  - softmax\n")
    result = lint(load(text))
    twice = [d for d in result.notes if d.code == "CN204"]
    assert [(d.layer, d.message.split(" (")[0]) for d in twice] == [
        ("softmax2", "softmax2 applies softmax again")]
    text = CLEAN.replace("  - relu\n  - pool", "  - relu\n  - tanh\n  - pool")
    assert [d.message.split(" (")[0] for d in lint(load(text)).notes] == [
        "tanh1 applies tanh right after relu"]


def test_rules_follow_the_data_not_the_listing():
    # The main path's last conv is followed in the listing by the post-add bn, but the add
    # stands between them: BN does not see that conv's bias, so no CN202 …
    text = ("input: 8x8x4\nlayers:\n  - residual:\n      main:\n"
            "        - conv: {filters: 4, size: 3, pad: 1}\n  - bn\n  - relu\n")
    assert codes(text) == []
    # … and a relu ending a path is not "in a row" with the relu after the add.
    text = ("input: 8x8x4\nlayers:\n  - residual:\n      main:\n"
            "        - conv: {filters: 4, size: 3, pad: 1}\n        - relu\n  - relu\n")
    assert codes(text) == []
    # A shortcut conv feeds nothing directly (the add does): its bias is not before the bn.
    text = ("input: 8x8x4\nlayers:\n  - residual:\n      main:\n"
            "        - conv: {filters: 8, size: 3, pad: 1, bias: false}\n        - bn\n"
            "      shortcut:\n        - conv: {filters: 8, size: 1}\n        - bn\n")
    assert [(d.code, d.layer) for d in lint(load(text)).notes] == [("CN202", "shortcut.conv1")]


def test_implausible_sizes_are_noted():
    # fc 100,000 → 100,000: (10⁵ + 1)·10⁵ ≈ 10¹⁰ + 10⁵ params, just over the line
    text = "input: 100000\nlayers:\n  - fc: 100000\n"
    found = [d for d in lint(load(text)).notes if d.code == "CN205"]
    assert len(found) == 1 and "10,000,100,000 params" in found[0].message
    # fp32 training of 10¹⁰ + 10⁵ params alone: (1 + 1 + 3)·4 bytes each > 1 TiB? 200 GB: no
    assert all("TiB" not in d.message for d in found)
    # 4096×4096×64 activations at batch 4096: 4096·4096·64·4 B ·4096 = 16 TiB
    text = "input: 4096x4096x3\nlayers:\n  - conv: {filters: 64, size: 1}\n"
    found = [d for d in lint(load(text), batch=4096).notes if d.code == "CN205"]
    assert len(found) == 1 and "training at batch 4096 in fp32 needs" in found[0].message
    assert codes(text) == []  # at batch 1 it is 4.3 GB: plausible


def test_allow_silences_a_deliberate_design_and_keeps_it_on_record():
    text = ("input: 56x56x4\nlayers:\n  - conv: {filters: 8, size: 1, stride: 2}\n"
            "    allow: [CN106]\n  - conv: {filters: 8, size: 1, stride: 2}\n")
    result = lint(load(text))
    # the first conv's CN106 is silenced, its CN101 is not; the second conv keeps both
    assert [(d.code, d.layer) for d in result.notes] == [
        ("CN101", "conv1"), ("CN101", "conv2"), ("CN106", "conv2")]
    assert [(d.code, d.layer, d.silenced_by) for d in result.silenced] == [
        ("CN106", "conv1", "allow")]


def test_allow_on_a_block_covers_its_layers_and_ignore_covers_the_net():
    # both arms skip the last row and column of the 56×56 image: (56 − 1)/2 + 1 = 28.5
    text = ("input: 56x56x4\nlayers:\n  - residual:\n      main:\n"
            "        - conv: {filters: 8, size: 1, stride: 2}\n"
            "      shortcut:\n        - conv: {filters: 8, size: 1, stride: 2}\n"
            "    allow: [CN101, CN106]\n  - flatten\n  - fc: 2\n  - softmax\n  - softmax\n")
    result = lint(load(text))
    assert [d.code for d in result.notes] == ["CN201", "CN204"]
    assert sorted(d.code for d in result.silenced) == ["CN101", "CN101", "CN106", "CN106"]
    result = lint(load(text), ignore=("CN204", "CN201"))
    assert result.notes == ()
    assert sorted((d.code, d.silenced_by) for d in result.silenced) == [
        ("CN101", "allow"), ("CN101", "allow"), ("CN106", "allow"), ("CN106", "allow"),
        ("CN201", "ignore"), ("CN204", "ignore")]


def test_allowed_cn101_does_not_fail_strict():
    import cnncalc
    from cnncalc.errors import AnalysisError

    text = "input: 56x56x4\nlayers:\n  - conv: {filters: 8, size: 1, stride: 2}\n"
    with pytest.raises(AnalysisError, match="CN101"):
        cnncalc.analyze(load(text), strict=True)
    report = cnncalc.analyze(load(text + "    allow: CN101\n"), strict=True)
    assert [d.code for d in report.diagnostics] == ["CN106"]


def test_unknown_allowed_code_is_a_spec_error():
    from cnncalc.errors import SpecError

    with pytest.raises(SpecError, match=r"4:12: error: layers\[0\]\.allow → unknown "
                                        r"diagnostic code 'CN-203'; did you mean 'CN203'\?"):
        load("input: 8x8x1\nlayers:\n  - relu:\n    allow: [CN-203]\n")


def test_ignore_on_the_command_line(cli, write):
    path = write("input: 56x56x4\nlayers:\n  - conv: {filters: 8, size: 1, stride: 2}\n"
                 "    allow: [CN106]\n")
    doc = json.loads(cli("lint", path, "--ignore", "cn101", "--format", "json").stdout)
    assert doc["notes"] == []
    assert [(d["code"], d["by"]) for d in doc["silenced"]] == [("CN101", "ignore"),
                                                               ("CN106", "allow")]
    r = cli("lint", path, "--ignore", "CN101")  # the line wraps where the temporary path is long
    assert "silenced: CN101 ×1 (--ignore), CN106 ×1 (allow)" in " ".join(r.stdout.split())
    doc = json.loads(cli("inspect", path, "--ignore", "CN101", "--format", "json").stdout)
    assert doc["warnings"] == [] and [d["by"] for d in doc["silenced"]] == ["ignore", "allow"]
    # --strict counts only what is not silenced: CN101 is an error under --strict, unless ignored
    assert cli("inspect", path, "--strict").exit_code == 2
    assert cli("inspect", path, "--strict", "--ignore", "CN101").exit_code == 0
    r = cli("lint", path, "--ignore", "CN1O1")
    assert r.exit_code == 2 and "unknown diagnostic code 'CN1O1'; did you mean CN101?" in r.stderr
