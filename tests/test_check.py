"""`cnncalc check`: grading expect: claims, and every slip the hints name.

Every claimed and right number below is worked by hand from the notes' formulas.
"""

import json

import pytest

from cnncalc.engine import analyze
from cnncalc.hints import annotate
from cnncalc.spec import load

CONV = "input: {inp}\nlayers:\n  - {layer}\n    expect: {{{field}: {claim}}}\n"


def one_claim(layer: str, field: str, claim, inp: str = "32x32x3"):
    spec = load(CONV.format(inp=inp, layer=layer, field=field, claim=claim))
    (result,) = annotate(spec, analyze(spec))
    return result


# Each case: layer, input, field, the wrong claim, the right value, words the hint must hold.
SLIPS = [
    # (5·5·3)·10 = 750 without the bias; + 10 = 760.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "params", 750, 760, "forgot the bias"),
    # F·F·K + K = 5·5·10 + 10 = 260: the input depth 3 forgotten.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "params", 260, 760,
     "forgot the input depth"),
    # 5·5·10 = 250: depth and bias both forgotten.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "params", 250, 760,
     "forgot the input depth and the bias"),
    # bias: false: 5·5·3·10 = 750 is right; 760 counts a bias that is not there.
    ("conv: {filters: 10, size: 5, pad: 2, bias: false}", "32x32x3", "params", 760, 750,
     "bias: false"),
    # depthwise 3×3 on 32 maps: 3·3·32 = 288; a standard conv would be 3·3·32·32 = 9216.
    ("conv: {size: 3, pad: 1, depthwise: true, bias: false}", "32x32x32", "params", 9216, 288,
     "standard conv"),
    # (5·5·3) + 1 = 76 is one filter of ten.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "params", 76, 760, "one filter"),
    # N instead of N + 2P: (32 − 5)/1 + 1 = 28 instead of 32.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "output", "28x28x10", "32×32×10",
     "instead of N + 2P"),
    # forgot the +1: (7 − 3)/2 = 2 instead of 3.
    ("conv: {filters: 4, size: 3, stride: 2}", "7x7x1", "output", "2x2x4", "3×3×4",
     "forgot the +1"),
    # stride first: 32/2 − 4 + 1 = 13 instead of (32 − 4)/2 + 1 = 15.
    ("conv: {filters: 8, size: 4, stride: 2}", "32x32x3", "output", "13x13x8", "15×15×8",
     "divided by the stride before subtracting F"),
    # forgot the stride: 32 − 4 + 1 = 29.
    ("conv: {filters: 8, size: 4, stride: 2}", "32x32x3", "output", "29x29x8", "15×15×8",
     "forgot to divide by the stride"),
    # P once: (32 − 5 + 2)/1 + 1 = 30.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "output", "30x30x10", "32×32×10",
     "2P"),
    # depth: the input's 3 instead of K = 10.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "output", "32x32x3", "32×32×10",
     "number of filters"),
    # PyTorch's C×H×W order written for W×H×D: 10x32x32.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "output", "10x32x32", "32×32×10",
     "W×H×D"),
    # pool: forgot the +1: (28 − 2)/2 = 13 instead of 14.
    ("pool: {size: 2, stride: 2}", "28x28x6", "output", "13x13x6", "14×14×6", "forgot the +1"),
    # pool has no weights: 2·2·6 = 24 claimed.
    ("pool: {size: 2, stride: 2}", "28x28x6", "params", 24, 0, "no weights"),
    # conv MACs: 32·32·10·75 = 768,000; FLOPs are twice that.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "macs", 1_536_000, 768_000, "FLOPs"),
    # counted the bias adds: 32·32·760 = 778,240.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "macs", 778_240, 768_000, "bias adds"),
    # weights counted once: 750.
    ("conv: {filters: 10, size: 5, pad: 2}", "32x32x3", "macs", 750, 768_000,
     "every output position"),
]


@pytest.mark.parametrize("layer, inp, field, claim, right, words", SLIPS)
def test_slip_is_named(layer, inp, field, claim, right, words):
    r = one_claim(layer, field, claim, inp)
    assert not r.ok
    actual = r.actual if isinstance(r.actual, int) else f"{r.actual.w}×{r.actual.h}×{r.actual.c}"
    assert actual == right
    assert words in r.hint


def test_fc_and_bn_slips(write):
    # flatten 4×4×2 = 32; fc 10: (32 + 1)·10 = 330, 320 without bias;
    # bn over 8 maps: 2·8 = 16 params, 4·8 = 32 counts the buffers too.
    spec = load("input: 4x4x8\nlayers:\n  - bn: {}\n    expect: {params: 32}\n  - conv: {filters: 2,"
                " size: 1}\n  - flatten\n  - fc: 10\n    expect: {params: 320}\n")
    bn, fc = annotate(spec, analyze(spec))
    assert (bn.actual, fc.actual) == (16, 330)
    assert "buffers" in bn.hint
    assert "forgot the bias" in fc.hint


def test_top_level_claims(write):
    # conv (3·3·3)·4 + 4 = 112, bn 2·4 = 8 params and 8 buffers: 120 params; 128 counts buffers.
    spec = load("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 3, pad: 1}\n  - bn\n"
                "expect: {params: 128}\n")
    (total,) = annotate(spec, analyze(spec))
    assert total.layer == "" and total.actual == 120
    assert "buffers" in total.hint


def test_unknown_slip_gives_no_hint():
    r = one_claim("conv: {filters: 10, size: 5, pad: 2}", "params", 12345)
    assert not r.ok and r.hint == ""


def test_right_claim_has_no_hint():
    r = one_claim("conv: {filters: 10, size: 5, pad: 2}", "params", 760)
    assert r.ok and r.hint == ""


HOMEWORK = """\
name: homework
input: 32x32x3
layers:
  - conv: {filters: 10, size: 5, stride: 1, pad: 2}
    expect: {output: 32x32x10, params: 750}
  - pool: {size: 2, stride: 2}
    expect: {output: 16x16x10}
expect: {params: 760}
"""


def test_check_command_table(cli, write):
    result = cli("check", write(HOMEWORK))
    assert result.exit_code == 1
    assert "✗" in result.stdout and "✓" in result.stdout
    assert "forgot the bias" in result.stdout
    assert "(5·5·3)·10 + 10 = 760" in result.stdout
    assert "1 of 4 claims wrong" in result.stdout


def test_check_command_json(cli, write):
    result = cli("check", write(HOMEWORK), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert [set(r) for r in doc["results"]] == [
        {"layer", "field", "expected", "actual", "ok", "formula", "hint"}] * 4
    wrong = [r for r in doc["results"] if not r["ok"]]
    assert wrong == [{"layer": "conv1", "field": "params", "expected": 750, "actual": 760,
                      "ok": False, "formula": wrong[0]["formula"], "hint": wrong[0]["hint"]}]
    assert wrong[0]["hint"].startswith("forgot the bias")
    outputs = [r for r in doc["results"] if r["field"] == "output"]
    assert [o["actual"] for o in outputs] == ["32×32×10", "16×16×10"]


def test_check_all_right_exits_0(cli):
    # LeNet-5's claims (156, 2416, 48120, 61706) come from the paper and the notes.
    result = cli("check", "specs/lenet5.yaml")
    assert result.exit_code == 0, result.stdout
    assert "all" in result.stdout and "claims right" in result.stdout


def test_check_without_claims(cli, write):
    result = cli("check", write("input: 8x8x1\nlayers: [relu]\n"))
    assert result.exit_code == 0
    assert "no expect: claims" in result.stdout


def test_check_bad_spec_exits_2(cli, write):
    result = cli("check", write("input: 8x8x1\nlayers:\n  - cnov: {filters: 2}\n"))
    assert result.exit_code == 2
    assert "unknown layer kind 'cnov'" in result.stderr


def test_check_several_files_json(cli, write):
    a = write(HOMEWORK, "a.yaml")
    result = cli("check", a, "specs/lenet5.yaml", "--format", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1
    assert {r["file"] for r in doc["results"]} == {str(a), "specs/lenet5.yaml"}


def test_rf_slip():
    # two 3×3 convs at stride 1: r = 1 + 2 + 2 = 5; claiming 3 is the last layer's own kernel.
    spec = load("input: 16x16x1\nlayers:\n  - conv: {filters: 2, size: 3}\n"
                "  - conv: {filters: 2, size: 3}\n    expect: {rf: 3}\n")
    (r,) = annotate(spec, analyze(spec))
    assert (r.ok, r.actual) == (False, 5)
    assert "own kernel" in r.hint


def test_shipped_homework_example_checks(cli):
    # Its claims are worked by hand in the file's comments.
    result = cli("check", "specs/examples/homework.yaml", "--format", "json")
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert doc["ok"] is True and len(doc["results"]) == 18


def test_check_json_is_not_ok_when_a_file_fails(cli, write, tmp_path):
    good = write("input: 32x32x3\nlayers:\n  - conv: {filters: 10, size: 5, pad: 2}\n"
                 "    expect: {params: 760}\n", "good.yaml")
    bad = write("input: 32x32x3\nlayers:\n  - convv: {filters: 10}\n", "bad.yaml")
    result = cli("check", bad, good, "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert [r["file"] for r in doc["results"]] == [str(good)]
    assert doc["errors"][0].startswith(f"{bad}:3:5: error:")


def test_check_without_claims_says_so(cli, write):
    path = write("input: 8x8x3\nlayers: [relu]\n")
    result = cli("check", path)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"no expect: claims in {path}")


def test_check_json_is_not_ok_when_a_file_fails_to_analyse(cli, write):
    good = write("input: 32x32x3\nlayers:\n  - conv: {filters: 10, size: 5, pad: 2}\n"
                 "    expect: {params: 760}\n", "good.yaml")
    bad = write("input: 4x4x1\nlayers:\n  - conv: {filters: 2, size: 9}\n", "bad.yaml")
    result = cli("check", good, bad, "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    assert all("file" in r for r in doc["results"])
    assert len(doc["errors"]) == 1 and doc["errors"][0].startswith(f"{bad}:")
    alone = json.loads(cli("check", good, "--format", "json").stdout)
    assert alone["ok"] is True and "errors" not in alone and "file" not in alone["results"][0]


def test_check_summary_counts_one_claim_in_the_singular(cli, write):
    spec = "input: 32x32x3\nlayers:\n  - conv: {{filters: 10, size: 5, pad: 2}}\n" \
           "    expect: {{params: {}}}\n"
    right = cli("check", write(spec.format(760), "right.yaml"))
    assert right.exit_code == 0 and "the claim is right" in right.stdout
    wrong = cli("check", write(spec.format(750), "wrong.yaml"))
    assert wrong.exit_code == 1 and "1 of 1 claim wrong" in wrong.stdout
    assert "claims" not in right.stdout and "claims" not in wrong.stdout


def test_hints_count_one_map_and_one_unit_in_the_singular():
    # groups = 4 on 4 maps: each filter sees 4/4 = 1 map; (3·3·1)·8 + 8 = 80.
    r = one_claim("conv: {filters: 8, size: 3, pad: 1, groups: 4}", "params", 3 * 3 * 4 * 8 + 8,
                  inp="8x8x4")
    assert "= 1 map:" in r.hint
    # fc 4 → 1: (4 + 1)·1 = 5; the bias forgotten gives 4.
    fc = one_claim("fc: 1", "params", 4, inp="4")
    assert "the unit has one" in fc.hint
