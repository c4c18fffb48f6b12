"""``from: NAME`` (a tap): a later path reads an earlier output, so a tensor that feeds an add
and a concat (DLA, HRNet) is computed once.  Counts by hand; PyTorch (verify, export) as the
oracle for the built network."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, SpecError

SPEC = """\
input: 8x8x4
layers:
  - conv: {filters: 4, size: 1}
    name: a
  - residual:
      main:
        - conv: {filters: 4, size: 3, pad: 1}
          name: b
  - branches:
      merge: concat
      paths:
        - []
        - [from: a]
"""


def test_a_tap_reads_the_earlier_output_once():
    report = cnncalc.analyze(cnncalc.load(SPEC))
    # a: 4·4 + 4 = 20 params, 16 MACs per position; b: 4·4·9 + 4 = 148, 144 per position;
    # the concat of b's sum (4 maps) and a's output (4 maps): 8×8×8; a is computed once
    assert [r.name for r in report.layers] == ["a", "b"]
    assert report.totals.params == 168
    assert report.totals.macs == (16 + 144) * 64
    assert report.output_shape.dims() == [8, 8, 8]


def test_a_tap_inside_a_block_reads_the_blocks_own_name_first():
    text = """\
input: 8x8x4
blocks:
  fuse:
    layers:
      - conv: {filters: 2, size: 1}
        name: y
      - conv: {filters: 2, size: 1}
      - branches:
          merge: concat
          paths: [[], [from: y]]
layers:
  - use: fuse
    name: f1
  - use: fuse
    name: f2
"""
    report = cnncalc.analyze(cnncalc.load(text))
    # f2.y reads f1's 4 maps (2 from f1's conv2, 2 from f1.y): 4·2 + 2 = 10 params; the tap
    # in f2 reads f2.y, not f1.y
    assert report.output_shape.dims() == [4, 8, 8]
    rows = {r.name: r for r in report.layers}
    assert rows["f2.y"].counts.params == 10 and rows["f1.y"].counts.params == 8 + 2


def test_a_tap_naming_nothing_earlier_is_a_located_error():
    bad = SPEC.replace("[from: a]", "[from: c]")
    with pytest.raises(AnalysisError) as e:
        cnncalc.analyze(cnncalc.load(bad))
    assert "from: c: no earlier layer or named level has that name" in str(e.value)
    assert str(e.value).startswith("<text>:13:12: error: branch2 → from: c")  # the from: item's line
    later = SPEC.replace("name: a", "name: a0").replace("[from: a]", "[from: b2]")
    with pytest.raises(AnalysisError):
        cnncalc.analyze(cnncalc.load(later))


def test_a_tap_takes_nothing_beside_its_name():
    with pytest.raises(SpecError, match="'from:' stands alone"):
        cnncalc.load(SPEC.replace("[from: a]", "[{from: a, name: t}]"))
    with pytest.raises(SpecError, match="must name an earlier layer"):
        cnncalc.load(SPEC.replace("[from: a]", "[from: 3]"))


def test_verify_and_export_run_the_tap_in_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from cnncalc.backends import torch as backend
    from cnncalc.backends.export import to_python

    spec = cnncalc.load(SPEC)
    assert backend.verify(spec, device="cpu", iters=0).ok
    path = tmp_path / "net.py"
    path.write_text(to_python(spec), encoding="utf-8")
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "output (1, 8, 8, 8) params 168" in run.stdout
    del torch
