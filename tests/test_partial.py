"""A failed `inspect` keeps the table up to the failing layer, and says its totals are partial.

Issue 9 item 3: the summary of a net that stops at layer X said "Output 4×4×1" and "Total
params 0" as if the net were whole.  Now it says where it stops and that the figures count only
the layers before it; the JSON marks them ``"partial": true`` with ``"failed_at"``.
"""

from __future__ import annotations

import json

import pytest

TOO_SMALL = "input: 4x4x1\nlayers:\n  - conv: {filters: 1, size: 5}\n"

# A small U-Net whose skip connections only line up at input sizes divisible by 4: at 66×66
# the inner skip is 33×33 and the upsampled path 16 · 2 = 32.
UNET = """\
name: unet-small
input: 66x66x1
layers:
  - conv: {filters: 64, size: 3, pad: 1}
    name: enc1
  - branches:
      merge: concat
      paths:
        - []
        - - pool: {size: 2}
          - conv: {filters: 128, size: 3, pad: 1}
            name: enc2
          - branches:
              merge: concat
              paths:
                - []
                - - pool: {size: 2}
                  - conv: {filters: 256, size: 3, pad: 1}
                    name: bottom
                  - deconv: {filters: 128, size: 2, stride: 2}
                    name: up2
            name: skip2
          - conv: {filters: 128, size: 3, pad: 1}
          - deconv: {filters: 64, size: 2, stride: 2}
            name: up1
    name: skip1
  - conv: {filters: 2, size: 1}
"""
# The layers before the failing concat, by hand ((F·F·D)·K + K; a deconv D·K·F·F + K):
# enc1 (3·3·1)·64 + 64 = 640; enc2 (3·3·64)·128 + 128 = 73,856; bottom (3·3·128)·256 + 256
# = 295,168; up2 256·128·2·2 + 128 = 131,200; the two pools none.
UNET_PARAMS = 640 + 73_856 + 295_168 + 131_200


def summary(stdout: str) -> dict[str, str]:
    """The lines under the table, label → text."""
    out: dict[str, str] = {}
    label = None
    for line in stdout.splitlines():
        if line.startswith(("┃", "│", "┏", "┡", "└")) or not line.strip():
            continue
        if line.startswith(" ") and label:  # a long text wraps under its column
            out[label] += " " + " ".join(line.split())
            continue
        label, _, text = line.partition("  ")
        label = label.strip()
        out[label] = " ".join(text.split())
    return out


def test_a_kernel_larger_than_the_input(cli, write):
    path = write(TOO_SMALL)
    result = cli("inspect", path)
    assert result.exit_code == 2
    assert "the kernel (5 along H) is larger than the padded input: 4 + 0 + 0 = 4" in \
        result.stderr
    lines = summary(result.stdout)
    assert lines["Stops at"] == ("conv1, which fails (the error follows): the figures below "
                                 "count only the 0 layers before it")
    assert lines["Output"] == "none: the net stops at conv1"  # not the input's 4×4×1
    assert lines["Total params"] == "0"
    assert list(lines).index("Stops at") < list(lines).index("Total params")


def test_a_unet_that_fails_at_a_concat(cli, write):
    path = write(UNET)
    result = cli("inspect", path, "--expand")
    assert result.exit_code == 2
    assert "skip1.branch2.skip2 → concat: skip1.branch2.skip2.branch1 gives 33×33×128 but " \
           "skip1.branch2.skip2.branch2 gives 32×32×128" in result.stderr
    # the table up to the failure stays
    assert "skip1.branch2.skip2.branch2.up2" in result.stdout
    lines = summary(result.stdout)
    assert lines["Stops at"].startswith("skip1.branch2.skip2, which fails")
    assert lines["Stops at"].endswith("count only the 6 layers before it")
    assert lines["Output"] == "none: the net stops at skip1.branch2.skip2"
    assert lines["Total params"] == f"{UNET_PARAMS:,} (500.86 k)"


def test_markdown_says_it_too(cli, write):
    result = cli("inspect", write(UNET), "--format", "markdown")
    assert "- Stops at: skip1.branch2.skip2, which fails" in result.stdout
    assert "- Output: none: the net stops at skip1.branch2.skip2" in result.stdout


@pytest.mark.parametrize("text, failed_at, layers, params, output", [
    (TOO_SMALL, "conv1", [], 0, "4×4×1"),
    (UNET, "skip1.branch2.skip2", ["enc1", "skip1.branch2.pool1", "skip1.branch2.enc2",
                                   "skip1.branch2.skip2.branch2.pool1",
                                   "skip1.branch2.skip2.branch2.bottom",
                                   "skip1.branch2.skip2.branch2.up2"], UNET_PARAMS, "32×32×128"),
])
def test_the_json_marks_partial_totals(text, failed_at, layers, params, output, cli, write):
    result = cli("inspect", write(text), "--format", "json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["partial"] is True and doc["failed_at"] == failed_at
    assert [row["name"] for row in doc["layers"]] == layers
    assert doc["totals"]["params"] == sum(row["params"] for row in doc["layers"]) == params
    assert doc["output"]["volume"] == output  # the last layer that worked
    assert doc["error"].endswith(result.stderr.strip().split(": error: ", 1)[1])


def test_a_whole_net_has_no_partial_mark(cli):
    doc = json.loads(cli("inspect", "specs/lenet5.yaml", "--format", "json").stdout)
    assert "partial" not in doc and "failed_at" not in doc and "error" not in doc
    result = cli("inspect", "specs/lenet5.yaml")
    assert "Stops at" not in result.stdout
