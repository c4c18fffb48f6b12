"""What the export writes imports back as the kinds it came from, and what the importer learnt
for that holds for any model (issue 16): a ``ZeroPad2d`` (a crop, or zeros before a conv), a
layer run but never read (kept as a side path), a layer-scale module named after itself, frozen
weights, and MACs FlopCounterMode does not count as cnncalc does.

tests/test_every_kind.py brings every kind and combinator back; here the bundled LeNet-5 of
1998 (C3's connection table, trainable subsampling, the frozen RBF) and plain PyTorch models
written by hand.  PyTorch is the oracle: ``sum(p.numel())``, ``requires_grad`` and
``FlopCounterMode``, and numbers worked out below from the layers' sizes.
"""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends.export import to_python  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402
from conftest import SPECS  # noqa: E402

NETS = textwrap.dedent('''
    import torch
    from torch import nn


    class SidePath(nn.Module):
        """A head computed and dropped (a merge: first's side path, in plain PyTorch)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(3, 5)

        def forward(self, x):
            y = self.conv(x)
            self.head(self.pool(x).flatten(1))  # run, never read
            return y


    class Scale(nn.Module):
        """timm's LayerScale2d: a module holding one parameter, used in its own forward."""

        def __init__(self, c):
            super().__init__()
            self.gamma = nn.Parameter(torch.ones(c))

        def forward(self, x):
            return x * self.gamma.view(1, -1, 1, 1)


    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.ls = Scale(4)
            self.gamma = nn.Parameter(torch.ones(4, 1, 1))  # held beside children: its own name

        def forward(self, x):
            return self.gamma * self.ls(self.conv(x))


    class Pads(nn.Module):
        """TF's 'same' at stride 2 on 9×9 (a total of 2, split 1 and 1; ⌈9/2⌉ = 5 outputs)
        then a centre crop of 2 (5 → 3)."""

        def __init__(self):
            super().__init__()
            self.pad = nn.ZeroPad2d((1, 1, 1, 1))
            self.conv = nn.Conv2d(3, 4, 3, stride=2)
            self.crop = nn.ZeroPad2d(-1)

        def forward(self, x):
            return self.crop(self.conv(self.pad(x)))


    class OffCentre(nn.Module):
        def __init__(self):
            super().__init__()
            self.crop = nn.ZeroPad2d((0, -2, 0, -2))

        def forward(self, x):
            return self.crop(x)


    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(4 * 6 * 6, 10)
            self.fc.requires_grad_(False)

        def forward(self, x):
            return self.fc(self.conv(x).flatten(1))
''')


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(NETS, encoding="utf-8")
    return path


def imported(source: str, volume: str):
    result = import_model(source, input_volume=volume)
    report = cnncalc.analyze(cnncalc.load(result.text))
    assert report.claims_ok  # PyTorch's params, MACs and output shape hold
    return result, report


def rows(report) -> list[tuple]:
    return [(r.name, r.kind, r.shape.dims(), r.counts.params, r.counts.trainable_params,
             r.counts.buffers, r.counts.macs) for r in report.layers]


def test_lenet5_of_1998_exports_and_imports_as_itself(tmp_path):
    spec = cnncalc.load(SPECS / "lenet5_1998.yaml")
    report = cnncalc.analyze(spec)
    path = tmp_path / "lenet.py"
    path.write_text(to_python(spec), encoding="utf-8")
    result, again = imported(f"{path}:Net", "32x32x1")
    # C3 with its table, S2 and S4 trainable, the RBF frozen: every row as the paper's spec
    assert rows(again) == rows(report)
    assert again.totals == report.totals
    assert (again.totals.params, again.totals.trainable_params) == (60_840, 60_000)
    assert "connections: [[0, 1, 2], [1, 2, 3]," in result.text
    assert "frozen: true" in result.text
    # FlopCounterMode counts C3's dense 16×6 kernel on 10×10 outputs, 16·6·25·100 = 240,000,
    # where the table holds 60 of the 96 kernels: 150,000; it counts nothing of S2's and S4's
    # coefficients (6·14·14 = 1,176 and 16·5·5 = 400) or the RBF's 84·10 = 840
    notes = "\n".join(result.notes)
    assert "C3: PyTorch counts the dense 16×6 kernel" in notes
    assert "S2: an elementwise multiply per output" in notes and "1,176 MACs" in notes
    assert "S4:" in notes and "400 MACs" in notes
    assert "OUTPUT: Σ(x − w)²" in notes and "840 MACs" in notes
    model = _load(path, "Net")
    assert again.totals.params == sum(p.numel() for p in model.parameters())
    assert again.totals.trainable_params == sum(p.numel() for p in model.parameters()
                                                if p.requires_grad)


def test_a_layer_run_but_never_read_is_a_side_path_and_counted(nets):
    result, report = imported(f"{nets}:SidePath", "8x8x3")
    assert "merge: first" in result.text
    assert [(r.name, r.kind) for r in report.layers] == [
        ("conv", "conv"), ("pool", "global_pool"), ("flatten", "flatten"), ("head", "fc")]
    # conv 3·8·9 + 8 = 224 params, 8·8·8·27 = 13,824 MACs; head 3·5 + 5 = 20, 15 MACs
    assert (report.totals.params, report.totals.macs) == (244, 13_839)
    model = _load(nets, "SidePath")
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.output_shape.dims() == [8, 8, 8]


def test_a_module_holding_one_scale_is_named_after_itself(nets):
    result, report = imported(f"{nets}:Scales", "8x8x3")
    # Scale holds gamma alone: the layer is ls; the model's own gamma sits beside children
    assert [(r.name, r.kind, r.counts.params) for r in report.layers] == [
        ("conv", "conv", 16), ("ls", "layer_scale", 4), ("gamma", "layer_scale", 4)]


def test_zero_pads_are_a_convs_same_padding_and_a_centre_crop(nets):
    result, report = imported(f"{nets}:Pads", "9x9x3")
    assert [(r.name, r.kind, r.shape.dims()) for r in report.layers] == [
        ("conv", "conv", [4, 5, 5]), ("crop", "crop", [4, 3, 3])]
    assert "pad: same" in result.text and "crop: {total: 2}" in result.text
    # 4 filters of 3·3·3 + 4 biases = 112; 25 positions · 4 · 27 = 2,700 MACs
    assert (report.totals.params, report.totals.macs) == (112, 2_700)


def test_an_off_centre_crop_is_refused_saying_why(nets):
    """``--exact`` refuses it, saying why; the default import writes it as a traced layer
    (the 8×8 map cropped to 6×6, no params, no MACs)."""
    with pytest.raises(ImportFailure, match=r"crop is a ZeroPad2d cropping 0, 2 rows and 0, 2 "
                                            r"columns \(not centred"):
        import_model(f"{nets}:OffCentre", input_volume="8x8x3", traced=False)
    text = import_model(f"{nets}:OffCentre", input_volume="8x8x3").text
    assert "input: 8x8x3, output: 6x6x3, params: 0, macs: 0" in text


def test_frozen_weights_are_frozen_true(nets):
    result, report = imported(f"{nets}:Frozen", "8x8x3")
    assert "frozen: true" in result.text
    # conv 3·4·9 + 4 = 112 trained; fc 144·10 + 10 = 1,450 frozen
    assert (report.totals.params, report.totals.trainable_params) == (1_562, 112)
    model = _load(nets, "Frozen")
    assert report.totals.trainable_params == sum(p.numel() for p in model.parameters()
                                                 if p.requires_grad)


def _load(path, name: str):
    namespace: dict = {}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace[name]()
