"""`cnncalc solve`: one unknown of one layer, every whole value, worked by hand."""

from __future__ import annotations

import json

import pytest


def solve(cli, *args):
    result = cli("solve", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_pad_for_224_to_112(cli):
    # ⌊(224 − 7 + 2P)/2⌋ + 1 = 112 ⟺ 222 ≤ 217 + 2P ≤ 223 ⟺ P = 3 (2.5 ≤ P ≤ 3)
    doc = solve(cli, "P", "-N", 224, "-O", 112, "-F", 7, "-S", 2)
    assert [(s["pad"], s["output"], s["exact"]) for s in doc["solutions"]] == [(3, 112, False)]
    assert doc["solutions"][0]["formula"] == "(224 − 7 + 2·3)/2 + 1 = 112.5 → floor 112"
    text = cli("solve", "P", "-N", 224, "-O", 112, "-F", 7, "-S", 2).stdout
    assert "P = 3: (224 − 7 + 2·3)/2 + 1 = 112.5 → floor 112" in text


def test_no_pad_lets_5_stride_2_fit_32_exactly(cli):
    # 32 − 5 + 2P = 27 + 2P is odd for every P: never a multiple of 2
    doc = solve(cli, "P", "-N", 32, "-F", 5, "-S", 2)
    assert doc["solutions"] == [] and doc["range"] == [0, 4]
    assert "never a multiple of S = 2" in doc["note"]
    # at stride 3 it fits for 27 + 2P ∈ {27, 33}: P = 0 and P = 3
    doc = solve(cli, "P", "-N", 32, "-F", 5, "-S", 3)
    assert [(s["pad"], s["output"]) for s in doc["solutions"]] == [(0, 10), (3, 12)]


@pytest.mark.parametrize("args, unknown, values", [
    # ⌊(N − 3 + 2)/2⌋ + 1 = 56 ⟺ 110 ≤ N − 1 ≤ 111: N = 111, 112
    (("N", "-O", 56, "-F", 3, "-S", 2, "-P", 1), "input", [111, 112]),
    # ⌊(32 − 3)/S⌋ + 1 = 15 ⟺ ⌊29/S⌋ = 14: S = 2
    (("S", "-N", 32, "-O", 15, "-F", 3), "stride", [2]),
    # 32 − F + 1 = 28: F = 5
    (("F", "-N", 32, "-O", 28), "size", [5]),
    # (32 − (2d + 1))/1 + 1 = 28: d = 2
    (("d", "-N", 32, "-O", 28, "-F", 3), "dilation", [2]),
])
def test_each_unknown(cli, args, unknown, values):
    doc = solve(cli, *args)
    assert doc["unknown"] == unknown
    assert [s[unknown] for s in doc["solutions"]] == values


def test_inputs_that_fit_exactly_are_periodic(cli):
    # (N − 3 + 2)/2 whole: N odd
    doc = solve(cli, "N", "-F", 3, "-S", 2, "-P", 1)
    assert [s["input"] for s in doc["solutions"]] == [1, 3, 5, 7, 9]
    assert doc["note"] == "every N ≡ 1 (mod 2) from 1 on"


def test_nearest_when_nothing_gives_the_output(cli):
    # at stride 1 the output moves by 2 per P: 32 − 4 + 1 + 2P is odd, 32 is never reached
    doc = solve(cli, "P", "-N", 32, "-F", 4, "-O", 32)
    assert doc["solutions"] == []
    assert [(s["pad"], s["output"]) for s in doc["nearest"]] == [(1, 31), (2, 33)]


def test_ceil_mode(cli):
    # ⌈(7 − 2)/2⌉ + 1 = 4 (the last window starts at 6, inside the input)
    doc = solve(cli, "P", "-N", 7, "-F", 2, "-S", 2, "-O", 4, "--ceil", "--range", "0..0")
    assert [s["pad"] for s in doc["solutions"]] == [0]


@pytest.mark.parametrize("args, message", [
    (("Q", "-N", 3), "cannot solve for 'Q'"),
    (("P", "-N", 32, "-F", 3, "-P", 1), "pad is the unknown: leave it out"),
    (("P", "-F", 3), "missing --input"),
    (("P", "-N", 32, "-F", 3, "--range", "5..3"), "the range 5..3 is empty"),
    (("P", "-N", 32, "-F", 3, "--range", "-1..3"), "pad starts at 0"),
    (("P", "-N", 32, "-F", 0), "must be at least 1, got 0"),
])
def test_bad_solver_input(cli, args, message):
    result = cli("solve", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr
