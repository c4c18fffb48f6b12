"""cnncalc fit: the largest batch whose peak fits, its boundary, and the command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import cnncalc
from cnncalc.cli import main
from cnncalc.fit import GIB, GPUS, fit, gpu_memory, parse_memory
from cnncalc.memory import RESERVE

ONE_CONV = """
name: one
input: 8x8x8
layers:
  - conv: {filters: 8, size: 3, pad: 1, bias: false}
"""


def test_fit_by_hand():
    # per sample: the input 8·8·8·4 = 2,048 B and the conv's output 2,048 B (multiples of 512);
    # the weight 8·8·9·4 = 2,304 → 2,560.  Inference peak at batch b: 2,560 + 4,096·b.
    net = cnncalc.load(ONE_CONV)
    exact = fit(net, 2_560 + 4_096 * 10, reserve=0)
    assert exact.batch == 10 and exact.at.inference_peak == 2_560 + 4_096 * 10
    assert exact.over.inference_peak == 2_560 + 4_096 * 11
    assert fit(net, 2_560 + 4_096 * 10 - 1, reserve=0).batch == 9
    assert fit(net, 2_560 + 4_096 - 1, reserve=0).batch == 0  # not even one image
    # the reserve comes off the card's memory
    assert fit(net, RESERVE + 2_560 + 4_096 * 3).batch == 3


@pytest.mark.parametrize("options", [{}, {"amp": "bf16"}, {"checkpoint": True}])
def test_resnet50_on_80_gib(options):
    """Issue 15's acceptance: a batch whose estimate fits, and whose next does not."""
    result = fit(cnncalc.load("zoo:resnet50"), 80 * GIB, train=True, **options)
    assert result.batch > 256
    assert result.at.batch == result.batch and result.over.batch == result.batch + 1
    assert result.at.training_peak <= 80 * GIB - RESERVE < result.over.training_peak


def test_checkpointing_lowers_the_peak_and_recomputes_the_blocks():
    net = cnncalc.load("zoo:resnet50")
    plain = cnncalc.memory.estimate(net, batch=32)
    ckpt = cnncalc.memory.estimate(net, batch=32, checkpoint=True)
    assert ckpt.training_peak < plain.training_peak / 2
    # everything but the stem (conv1, bn1, relu1, maxpool) and the head (avgpool, flatten,
    # fc) runs again: the blocks' MACs, per image, times the batch
    report = cnncalc.analyze(net)
    blocks = sum(r.counts.macs for r in report.layers if r.name.startswith("layer"))
    assert ckpt.recomputed_macs == blocks * 32


def test_parse_memory_and_cards():
    assert parse_memory("24GiB") == 24 * GIB
    assert parse_memory("80GB") == 80 * 10 ** 9
    assert parse_memory("512 MiB") == 512 * 2 ** 20
    assert gpu_memory("H100")[1] == 80 * GIB
    assert gpu_memory("a100-40")[1] == 40 * GIB
    assert set(GPUS) >= {"t4", "rtx3090", "rtx4090", "a100-40", "a100-80", "h100", "h200"}


def test_fit_command():
    runner = CliRunner()
    got = runner.invoke(main, ["fit", "zoo:resnet50", "--memory", "80GiB", "--train",
                               "--format", "json"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.output)
    assert doc["peak_bytes"] <= doc["budget_bytes"] < doc["next_peak_bytes"]
    assert doc["budget_bytes"] == 80 * GIB - RESERVE and doc["train"] is True
    text = runner.invoke(main, ["fit", "zoo:resnet50", "--gpu", "h100", "--train",
                                "--checkpoint"])
    assert text.exit_code == 0 and "Checkpointing" in text.output and "H100" in text.output
    bad = runner.invoke(main, ["fit", "zoo:resnet50", "--memory", "lots"])
    assert bad.exit_code == 2 and "24GiB" in bad.output
    both = runner.invoke(main, ["fit", "zoo:resnet50"])
    assert both.exit_code == 2
    nothing = runner.invoke(main, ["fit", "zoo:resnet50", "--memory", "1MiB"])
    assert nothing.exit_code == 1 and "none" in nothing.output
