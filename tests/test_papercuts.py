"""What a new user tripped on (issue 17): each item's test, worked out by hand."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

NET = ROOT / "docs" / "examples" / "net.py"


# --- --input and --arg on every command that takes a PyTorch SOURCE ------------------------

def net_params(width: int) -> int:
    """docs/examples/net.py's Net at 32×32×3, by hand: two 3×3 convs (pad 1) and two 2×2
    pools leave an 8×8 map of 2·width channels for the fc to 10 classes."""
    conv1 = 3 * 3 * 3 * width + width
    conv2 = 3 * 3 * width * (2 * width) + 2 * width
    fc = (2 * width * 8 * 8) * 10 + 10
    return conv1 + conv2 + fc


def test_net_params_by_hand():
    assert net_params(16) == 448 + 4640 + 20490 == 25578
    assert net_params(8) == 224 + 1168 + 10250 == 11642


def test_a_net_that_cannot_run_at_224_is_told_an_option_that_exists(cli):
    pytest.importorskip("torch")
    source = f"{NET}:Net"
    r = cli("inspect", source)
    assert r.exit_code == 2 and "give another --input" in r.stderr
    r = cli("inspect", source, "--input", "32x32x3", "--arg", "width=8", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["input"]["volume"] == "32×32×3"
    assert doc["totals"]["params"] == net_params(8)


@pytest.mark.parametrize("command", [("check",), ("lint",), ("verify", "--iters", "0"),
                                     ("draw", "-o", "-"), ("report", "-o", "-")])
def test_every_command_that_takes_a_source_takes_input_and_arg(cli, command):
    pytest.importorskip("torch")
    r = cli(*command, f"{NET}:Net", "--input", "32x32x3", "--arg", "width=8")
    assert r.exit_code == 0, r.output
    if command[0] == "verify":  # PyTorch's own count of the model, against cnncalc's
        assert f"{net_params(8):,}" in r.stdout
    if command[0] in ("draw", "report"):
        assert "32×32×3" in r.stdout


@pytest.mark.parametrize("command", ["inspect", "check", "lint", "verify", "draw", "report"])
def test_input_and_arg_are_for_a_model_not_a_spec(cli, command):
    r = cli(command, "zoo:lenet5", "--input", "64x64x1")
    assert r.exit_code == 2
    assert "--input is for a PyTorch model SOURCE" in r.stderr
    assert "zoo:lenet5 is a spec" in r.stderr
