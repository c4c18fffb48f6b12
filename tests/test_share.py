"""``share: NAME``: a layer runs with the weights of an earlier layer (one module called twice,
as a recurrent or a weight-tied net does).  PyTorch counts the module's parameters once and
its MACs at every call; so must cnncalc.  Counts by hand; PyTorch (a hand-written module that
calls one conv twice, ``sum(p.numel())``, ``FlopCounterMode``), verify, export, import and
the memory tracker as the oracles."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, SpecError

SPEC = """\
input: 8x8x4
layers:
  - conv: {filters: 4, size: 3, pad: 1}
    name: c
  - relu
  - conv: {filters: 4, size: 3, pad: 1}
    name: again
    share: c
  - relu
"""

# conv c: (3·3·4)·4 + 4 = 148 params; 8·8·4 outputs × 3·3·4 = 9,216 MACs per call
PARAMS, MACS = 148, 9216


def test_params_once_macs_twice():
    report = cnncalc.analyze(cnncalc.load(SPEC))
    rows = {r.name: r for r in report.layers}
    assert rows["c"].counts.params == PARAMS
    assert rows["again"].counts.params == 0
    assert rows["again"].counts.trainable_params == 0
    assert rows["again"].counts.macs == MACS
    assert rows["again"].shape.dims() == [4, 8, 8]
    assert "shares c's weights" in str(rows["again"].formula)
    assert report.totals.params == PARAMS
    assert report.totals.macs == 2 * MACS


def test_receptive_field_grows_as_two_convs():
    # two 3×3 convs, stride 1: receptive field 5
    report = cnncalc.analyze(cnncalc.load(SPEC))
    from cnncalc.engine import rf_value
    assert rf_value(report.layers[0].rf) == 3
    assert rf_value(report.layers[2].rf) == 5


def test_shared_batch_norm_counts_its_buffers_once():
    spec = cnncalc.load("""\
input: 8x8x4
layers:
  - bn
  - relu
  - bn:
    share: bn1
""")
    report = cnncalc.analyze(spec)
    # BN on 4 maps: γ, β = 8 params; running mean and variance 4 + 4 = 8 buffers, once
    assert report.layers[0].counts.params == 8
    assert report.layers[2].counts.params == 0 and report.layers[2].counts.buffers == 0
    assert report.totals.params == 8
    assert report.totals.buffers == report.layers[0].counts.buffers == 8


def _error(text: str) -> str:
    with pytest.raises((SpecError, AnalysisError)) as e:
        cnncalc.analyze(cnncalc.load(text))
    return str(e.value)


def test_unknown_name_is_located():
    text = SPEC.replace("share: c", "share: nope")
    message = _error(text)
    assert "<text>:8:12" in message and "share: nope" in message and "no earlier layer" in message


def test_a_later_layer_cannot_be_shared():
    text = """\
input: 8x8x4
layers:
  - conv: {filters: 4, size: 3, pad: 1}
    share: c
  - conv: {filters: 4, size: 3, pad: 1}
    name: c
"""
    message = _error(text)
    assert "<text>:4:12" in message and "no earlier layer" in message


def test_other_settings_are_refused_with_what_differs():
    text = SPEC.replace("    name: again", "    name: again").replace(
        "  - conv: {filters: 4, size: 3, pad: 1}\n    name: again",
        "  - conv: {filters: 4, size: 3, pad: 1, bias: false}\n    name: again")
    message = _error(text)
    assert "<text>:8:12" in message and "bias True there, False here" in message


def test_other_kind_and_other_depth_are_refused():
    message = _error(SPEC.replace("share: c", "share: relu1"))
    assert "is a relu" in message and "same kind" in message
    text = """\
input: 8x8x4
layers:
  - conv: {filters: 8, size: 1}
  - conv: {filters: 8, size: 1}
    share: conv1
"""
    message = _error(text)
    assert "<text>:5:12" in message and "depth 4" in message and "8" in message


def test_share_beside_a_combinator_or_not_a_name_is_refused():
    message = _error("input: 8x8x4\nlayers:\n  - residual: {main: [relu]}\n    share: x\n")
    assert "belongs to a layer" in message
    message = _error("input: 8x8x4\nlayers:\n  - relu\n  - relu:\n    share: [a]\n")
    assert "must name an earlier layer" in message


def test_cli_exit_2_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SPEC.replace("share: c", "share: nope"))
    for cmd in (["inspect", str(path)], ["check", str(path)], ["lint", str(path)],
                ["draw", str(path), "-o", str(tmp_path / "p.svg")],
                ["report", str(path), "-o", str(tmp_path / "p.html")]):
        done = subprocess.run([sys.executable, "-m", "cnncalc", *cmd], capture_output=True,
                              text=True)
        assert done.returncode == 2, cmd
        assert f"{path}:8:12: error:" in done.stderr and "Traceback" not in done.stderr, cmd


def test_lint_and_picture_do_not_crash(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text(SPEC)
    for cmd in (["lint", str(path)], ["draw", str(path), "-o", str(tmp_path / "p.svg")],
                ["inspect", str(path), "--format", "json"]):
        done = subprocess.run([sys.executable, "-m", "cnncalc", *cmd], capture_output=True,
                              text=True)
        assert done.returncode in (0, 1), (cmd, done.stderr)
        assert "Traceback" not in done.stderr


def test_schema_knows_share():
    jsonschema = pytest.importorskip("jsonschema")
    import yaml
    from cnncalc.schema import build_schema

    jsonschema.validate(yaml.safe_load(SPEC), build_schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(SPEC.replace("share: c", "share: [c]")),
                            build_schema())


# --- PyTorch as the oracle ------------------------------------------------------------------


NET = textwrap.dedent('''
    import torch
    from torch import nn


    class Twice(nn.Module):
        """One conv called twice (weight tying), a ReLU after each."""

        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(4, 4, 3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.c(self.relu(self.c(x))))
''')


def _torch():
    return pytest.importorskip("torch")


def test_pytorch_counts_a_module_called_twice_as_cnncalc_does():
    torch = _torch()
    from torch.utils.flop_counter import FlopCounterMode

    ns: dict = {}
    exec(NET, ns)  # noqa: S102 - the test's own module
    model = ns["Twice"]()
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(1, 4, 8, 8))
    report = cnncalc.analyze(cnncalc.load(SPEC))
    assert sum(p.numel() for p in model.parameters()) == report.totals.params == PARAMS
    assert counter.get_total_flops() // 2 == report.totals.macs == 2 * MACS


def test_verify_builds_one_module_called_twice():
    _torch()
    from cnncalc.backends.torch import build, verify

    spec = cnncalc.load(SPEC)
    model, names, _ = build(spec)
    assert model.get_submodule("again").shared is model.get_submodule("c")
    v = verify(spec, device="cpu", iters=0)
    assert v.torch_params == v.params == PARAMS
    assert v.torch_macs == v.macs == 2 * MACS
    assert v.ok, [c.mismatches for c in v.layers]


def test_export_writes_one_module_called_twice(tmp_path):
    torch = _torch()
    from cnncalc.backends.export import to_python

    path = tmp_path / "net.py"
    path.write_text(to_python(cnncalc.load(SPEC)))
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)  # noqa: S102
    net = ns["Net"]()
    assert sum(p.numel() for p in net.parameters()) == PARAMS
    assert net.again.shared is net.c
    with torch.no_grad():
        x = torch.randn(1, 4, 8, 8)
        y = net(x)
        c = net.c
        assert torch.equal(y, torch.relu(c(torch.relu(c(x)))))


def test_import_writes_share_and_exact_counts(tmp_path):
    _torch()
    from cnncalc.backends.importer import import_model

    path = tmp_path / "twice.py"
    path.write_text(NET)
    imported = import_model(f"{path}:Twice", input_volume="8x8x4")
    assert "share: c" in imported.text
    assert not any("called" in n for n in imported.notes)
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    assert report.totals.params == PARAMS
    assert report.totals.macs == 2 * MACS
    assert all(c.ok for c in report.claims)  # the expect: totals PyTorch gave


def test_memory_estimate_equals_the_tracker():
    _torch()
    from cnncalc.backends.memtrack import track_spec
    from cnncalc.memory import estimate

    spec = cnncalc.load(SPEC.replace("8x8x4", "32x32x4"))
    est = estimate(spec, batch=4, optimizer="adam")
    real = track_spec(spec, batch=4, optimizer="adam", device="cuda")
    # the conv's weight 4·4·9 and bias 4, fp32, once: 148·4 = 592 B
    assert est.params_bytes == 592
    assert est.grads_bytes == 592
    # the weight 576 B rounds to 1,024 and the bias 16 B to 512 (the allocator), once
    assert real.weights == 1536
    assert est.inference_peak == real.inference_peak
    assert est.training_peak == real.training_peak


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("uses", [2, 3])
def test_memory_of_a_weight_used_several_times_equals_the_tracker(uses, optimizer):
    """64 maps: the weight (147,456 B) outweighs an activation, so its one .grad, and the
    moment autograd sums an earlier use's gradient into it, decide the backward peak."""
    _torch()
    from cnncalc.backends.memtrack import track_spec
    from cnncalc.memory import estimate

    layer = "  - conv: {filters: 64, size: 3, pad: 1}\n"
    text = "input: 8x8x64\nlayers:\n" + layer + "    name: c\n  - relu\n" + \
        (layer + "    share: c\n  - relu\n") * (uses - 1)
    spec = cnncalc.load(text)
    est = estimate(spec, batch=2, optimizer=optimizer)
    real = track_spec(spec, batch=2, optimizer=optimizer, device="cuda")
    assert est.params_bytes == (64 * 64 * 9 + 64) * 4
    assert est.grads_bytes == est.params_bytes
    assert est.inference_peak == real.inference_peak
    assert est.training_peak == real.training_peak


NESTED = """\
input: 16x16x8
layers:
  - conv: {filters: 8, size: 3, pad: same, stride: 2}
    name: s
  - bn
  - repeat:
      times: 2
      layers:
        - residual:
            main:
              - conv: {filters: 8, size: 3, pad: 1}
              - bn:
                share: bn1
              - relu
        - conv: {filters: 8, size: 3, pad: same, stride: 2}
          share: s
"""


def test_shares_inside_a_repeat_and_a_residual_verify():
    """Names resolve inside out (share: bn1 inside repeat1.0 finds the top-level bn1, since
    repeat1.0.bn1 is the layer itself, not an earlier one); a 'same' conv with an odd pad
    (a Sequential of a pad and a conv) and a batch norm (buffers) are shared too."""
    _torch()
    from cnncalc.backends.torch import build, verify

    spec = cnncalc.load(NESTED)
    report = cnncalc.analyze(spec)
    # s: 9·8·8 + 8 = 584; bn1: 16 (+ 16 buffers); each repeat's conv: 584; shared: 0
    assert report.totals.params == 584 + 16 + 2 * 584
    assert report.totals.buffers == 16  # bn1's running mean and variance, 8 + 8, once
    model, _, _ = build(spec)
    assert model.get_submodule("repeat1.0.bn1").shared is model.get_submodule("bn1")
    v = verify(spec, device="cpu", iters=0)
    assert v.torch_params == v.params == 1768
    assert v.torch_buffers == v.buffers
    assert v.torch_macs == v.macs
    assert v.ok, [c.mismatches for c in v.layers]


def test_import_a_block_that_calls_its_conv_twice_repeated():
    """A cell whose forward calls one conv twice, stacked three times: the importer's block
    writes ``share: conv`` relative to the block, resolved inside each use (layer.0.conv…)."""
    _torch()
    from pathlib import Path

    from cnncalc.backends.importer import import_model
    from cnncalc.backends.torch import verify

    source = Path(__file__).with_name("data") / "shared_cell.py"
    imported = import_model(f"{source}:Rec", input_volume="16x16x3")
    assert "share: conv" in imported.text and "repeat" in imported.text
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    # stem 3·8·9 + 8 = 224; per cell conv 8·8·9 + 8 = 584 once, bn 16; fc 8·10 + 10 = 90
    assert report.totals.params == 224 + 3 * (584 + 16) + 90 == 2114
    rows = {r.name: r for r in report.layers}
    assert rows["layer.1.conv@2"].counts.params == 0
    # each conv call: 16·16·8·(3·3·8) = 147,456 MACs, twice per cell
    assert rows["layer.1.conv@2"].counts.macs == rows["layer.1.conv"].counts.macs == 147456
    assert report.claims_ok  # PyTorch's own totals (sum(p.numel()), FlopCounterMode)
    assert verify(spec, device="cpu", iters=0).ok
