"""Split attention (ResNeSt, SKNet) and DPN's unequal slices: the kinds ``slice``,
``radix_sum`` and ``radix_softmax`` worked by hand, their modules against the PyTorch code they
stand for, a split-attention unit verified and its memory against the fake-tensor tracker, and
the importer on plain-PyTorch copies of the three forms (timm's own models are in
``test_import_timm.py``)."""

from __future__ import annotations

import textwrap

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, SpecError

torch = pytest.importorskip("torch")

from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402


def one(layer_yaml: str, volume: str):
    report = cnncalc.analyze(cnncalc.load(f"input: {volume}\nlayers:\n  - {layer_yaml}\n"))
    return report.layers[0]


# --- slice ----------------------------------------------------------------------------------

def test_slice_keeps_a_run_of_maps():
    # DPN's x_s[:, :64] and x_s[:, 64:] of a 56×56×96 projection: 64 and 32 maps
    row = one("slice: {end: 64}", "56x56x96")
    assert row.shape.dims() == [64, 56, 56]
    assert (row.counts.params, row.counts.macs, row.counts.connections) == (0, 0, 0)
    assert str(row.formula) == "slice: maps 0 to 63 of 96: D = 64 − 0 = 64 → 56×56×64"
    row = one("slice: {start: 64}", "56x56x96")
    assert row.shape.dims() == [32, 56, 56]
    assert one("slice: {start: 2, end: 5}", "10").shape.dims() == [3]  # a vector too


def test_slice_errors():
    with pytest.raises(SpecError, match="must be above start"):
        one("slice: {start: 4, end: 4}", "8x8x8")
    with pytest.raises(AnalysisError, match="maps 4 to 9 are past the depth D=8"):
        one("slice: {start: 4, end: 10}", "8x8x8")
    with pytest.raises(AnalysisError, match="past the depth D=8"):
        one("slice: {start: 8}", "8x8x8")


def test_slice_module_is_the_python_slice():
    from cnncalc.backends.extra_modules import ChannelSlice

    x = torch.arange(2 * 7 * 2 * 2, dtype=torch.float32).view(2, 7, 2, 2)
    assert torch.equal(ChannelSlice(0, 3)(x), x[:, :3])
    assert torch.equal(ChannelSlice(3)(x), x[:, 3:])
    assert torch.equal(ChannelSlice(2, 6)(x), x[:, 2:6])


# --- the radix ------------------------------------------------------------------------------

def test_radix_sum_adds_the_slices():
    row = one("radix_sum: 2", "56x56x128")  # ResNeSt's radix 2 of 64 maps
    assert row.shape.dims() == [64, 56, 56]
    assert (row.counts.params, row.counts.macs) == (0, 0)
    assert row.counts.connections == 2 * 64 * 56 * 56  # each output reads one map per slice
    assert str(row.formula) == "radix sum: D = 128/2 = 64; map i = map i + … + map 64 + i " \
                               "→ 56×56×64"
    assert one("radix_sum: 4", "7x7x64").shape.dims() == [16, 7, 7]


def test_radix_softmax_keeps_the_shape():
    row = one("radix_softmax: 2", "1x1x128")
    assert row.shape.dims() == [128, 1, 1]
    assert (row.counts.params, row.counts.macs) == (0, 0)


def test_radix_errors():
    with pytest.raises(AnalysisError, match="D=6 does not split into radix=4 equal slices"):
        one("radix_sum: 4", "8x8x6")
    with pytest.raises(AnalysisError, match="radix_softmax needs a W×H×D volume"):
        one("radix_softmax: 2", "64")


def test_radix_modules_compute_what_split_attention_does():
    from cnncalc.backends.extra_modules import RadixSoftmax, RadixSum

    torch.manual_seed(0)
    x = torch.randn(2, 12, 3, 3)
    # ResNeSt: x.reshape(B, r, C, H, W).sum(dim=1); SKNet: torch.stack(paths, 1).sum(1)
    assert torch.allclose(RadixSum(3)(x), x[:, :4] + x[:, 4:8] + x[:, 8:])
    w = RadixSoftmax(3)(x)
    assert w.shape == x.shape
    assert torch.allclose(w[:, :4] + w[:, 4:8] + w[:, 8:], torch.ones(2, 4, 3, 3))
    assert torch.allclose(w, torch.softmax(x.view(2, 3, 4, 3, 3), dim=1).reshape(2, 12, 3, 3))
    # cardinality 2 (ResNeSt's rSoftMax): read as 2 groups × 3 slices × 2, written 3 × 2 × 2
    v = torch.randn(2, 12, 1, 1)
    w = RadixSoftmax(3, groups=2)(v)
    rsoftmax = torch.softmax(v.view(2, 2, 3, -1).transpose(1, 2), dim=1).reshape(2, -1)
    assert torch.allclose(w.view(2, -1), rsoftmax)
    assert torch.allclose(w[:, :4] + w[:, 4:8] + w[:, 8:], torch.ones(2, 4, 1, 1))


def test_radix_softmax_over_groups():
    row = one("radix_softmax: {radix: 2, groups: 2}", "1x1x128")
    assert row.shape.dims() == [128, 1, 1]
    assert str(row.formula) == "radix softmax: D = 2·2·32 read as 2 groups of 2 slices, " \
                               "written as 2·2·32; each map's 2 values weigh to 1 → 1×1×128"
    with pytest.raises(AnalysisError, match="groups=4 × radix=2"):
        one("radix_softmax: {radix: 2, groups: 4}", "1x1x12")


# A split-attention unit, worked by hand: a 3×3 conv of 16 maps into r = 2 groups of 16
# (groups: 2), its attention over the pooled radix sum, and the weighted sum of the branches.
UNIT = """\
name: split_attention
input: 8x8x16
layers:
  - conv: {filters: 32, size: 3, pad: 1, groups: 2, bias: false}
  - bn
  - relu
  - name: attn
    branches:
      merge: mul
      paths:
        - []
        - [{radix_sum: 2}, global_pool, {conv: {filters: 8, size: 1}}, bn, relu,
           {conv: {filters: 32, size: 1}}, {radix_softmax: 2}]
  - radix_sum: 2
  - slice: {start: 4}
"""


def test_a_split_attention_unit_by_hand_and_in_pytorch():
    spec = cnncalc.load(UNIT)
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok, [c for c in result.layers if not c.ok]
    report = result.report
    conv = 3 * 3 * (16 // 2) * 32  # each of the 32 filters reads 8 of the 16 maps
    fc1, fc2 = 16 * 8 + 8, 8 * 32 + 32
    assert report.totals.params == conv + 2 * 32 + fc1 + 2 * 8 + fc2 == 2808
    assert report.totals.macs == conv * 8 * 8 + 16 * 8 + 8 * 32 == 147_840
    assert report.output_shape.dims() == [12, 8, 8]  # 16 maps after the sum, 4 sliced off


CARDINAL = UNIT.replace("{radix_softmax: 2}", "{radix_softmax: {radix: 2, groups: 2}}") \
    .replace("{conv: {filters: 8, size: 1}}", "{conv: {filters: 8, size: 1, groups: 2}}") \
    .replace("{conv: {filters: 32, size: 1}}", "{conv: {filters: 32, size: 1, groups: 2}}")


def test_a_split_attention_unit_over_two_groups_in_pytorch():
    assert CARDINAL.count("groups: 2") == 4  # the conv, fc1, fc2 and the softmax
    result = backend.verify(cnncalc.load(CARDINAL), device="cpu", iters=0)
    assert result.ok, [c for c in result.layers if not c.ok]
    fc1, fc2 = 16 // 2 * 8 + 8, 8 // 2 * 32 + 32
    assert result.report.totals.params == 2304 + 64 + fc1 + 16 + fc2


@pytest.mark.parametrize("text", [UNIT, CARDINAL], ids=["one group", "two groups"])
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_split_attention_memory_as_the_tracker_measures(dtype, text):
    from cnncalc.backends.memtrack import track_spec
    from cnncalc.memory import estimate

    spec = cnncalc.load(text)
    est = estimate(spec, batch=64, dtype=dtype, optimizer="adam")
    real = track_spec(spec, batch=64, dtype=dtype, optimizer="adam", device="cuda")
    assert est.inference_peak == pytest.approx(real.inference_peak, rel=0.01)
    assert est.training_peak == pytest.approx(real.training_peak, rel=0.01)


# --- the importer, on plain-PyTorch copies of timm's forms ----------------------------------

NETS = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class RadixSoftmax(nn.Module):
        """ResNeSt's rSoftMax (timm.layers.split_attn): softmax across the radix."""

        def __init__(self, radix, cardinality):
            super().__init__()
            self.radix, self.cardinality = radix, cardinality

        def forward(self, x):
            batch = x.size(0)
            x = x.view(batch, self.cardinality, self.radix, -1).transpose(1, 2)
            x = F.softmax(x, dim=1)
            return x.reshape(batch, -1)


    class SplitAttn(nn.Module):
        """ResNeSt's split-attention conv, as timm writes it."""

        def __init__(self, cin=16, cout=16, radix=2, attn=8, groups=1):
            super().__init__()
            self.radix = radix
            self.conv = nn.Conv2d(cin, cout * radix, 3, padding=1, groups=groups * radix,
                                  bias=False)
            self.bn0 = nn.BatchNorm2d(cout * radix)
            self.act0 = nn.ReLU(inplace=True)
            self.fc1 = nn.Conv2d(cout, attn, 1, groups=groups)
            self.act1 = nn.ReLU(inplace=True)
            self.fc2 = nn.Conv2d(attn, cout * radix, 1, groups=groups)
            self.rsoftmax = RadixSoftmax(radix, groups)

        def forward(self, x):
            x = self.act0(self.bn0(self.conv(x)))
            B, RC, H, W = x.shape
            x = x.reshape((B, self.radix, RC // self.radix, H, W))
            x_gap = x.sum(dim=1).mean((2, 3), keepdim=True)
            x_attn = self.fc2(self.act1(self.fc1(x_gap)))
            x_attn = self.rsoftmax(x_attn).view(B, -1, 1, 1)
            out = (x * x_attn.reshape((B, self.radix, RC // self.radix, 1, 1))).sum(dim=1)
            return out.contiguous()


    class Cardinal(SplitAttn):
        def __init__(self):
            super().__init__(groups=2)


    class SelectiveKernel(nn.Module):
        """SKNet's selective kernel (timm.layers.selective_kernel): the input split between a
        3×3 and a dilated 3×3 path, stacked, weighed by a softmax across the paths."""

        def __init__(self, cin=16, cout=16, attn=8):
            super().__init__()
            self.paths = nn.ModuleList([
                nn.Sequential(nn.Conv2d(cin // 2, cout, 3, padding=d, dilation=d, bias=False),
                              nn.BatchNorm2d(cout), nn.ReLU(inplace=True)) for d in (1, 2)])
            self.fc_reduce = nn.Conv2d(cout, attn, 1, bias=False)
            self.bn = nn.BatchNorm2d(attn)
            self.act = nn.ReLU(inplace=True)
            self.fc_select = nn.Conv2d(attn, cout * 2, 1, bias=False)

        def forward(self, x):
            x_split = torch.split(x, x.shape[1] // 2, 1)
            x = torch.stack([op(x_split[i]) for i, op in enumerate(self.paths)], dim=1)
            a = x.sum(1).mean((2, 3), keepdim=True)
            a = self.fc_select(self.act(self.bn(self.fc_reduce(a))))
            B, C, H, W = a.shape
            a = torch.softmax(a.view(B, 2, C // 2, H, W), dim=1)
            return torch.sum(x * a, dim=1)


    class DualPath(nn.Module):
        """DPN's dual-path block: the projection cut into a residual part (64 maps) and a dense
        part (32), cat([x_s1 + out1, x_s2, out2])."""

        def __init__(self):
            super().__init__()
            self.proj = nn.Conv2d(16, 96, 1, bias=False)
            self.body = nn.Conv2d(16, 48, 3, padding=1, bias=False)
            self.c1 = nn.Conv2d(48, 64, 1, bias=False)
            self.c2 = nn.Conv2d(48, 16, 1, bias=False)

        def forward(self, x):
            x_s = self.proj(x)
            x_s1, x_s2 = x_s[:, :64], x_s[:, 64:]
            x = self.body(x)
            return torch.cat([x_s1 + self.c1(x), x_s2, self.c2(x)], dim=1)


    class PartialConv(nn.Module):
        """FasterNet's partial conv: a 3×3 conv on the first 4 of 16 maps, the rest untouched
        (torch.split into unequal parts)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)

        def forward(self, x):
            x1, x2 = torch.split(x, [4, 12], dim=1)
            return torch.cat((self.conv(x1), x2), 1)


    class SumOverSpace(nn.Module):
        def forward(self, x):
            return x.sum(dim=2, keepdim=True)
''')


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    path = tmp_path_factory.mktemp("nets") / "nets.py"
    path.write_text(NETS, encoding="utf-8")
    return path


def _truth(path, name):
    """PyTorch's own: params, FlopCounterMode / 2, the output shape, at 8×8×16."""
    import importlib.util

    from torch.utils.flop_counter import FlopCounterMode

    spec = importlib.util.spec_from_file_location("nets_truth", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, name)().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(1, 16, 8, 8))
    return (sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2,
            list(out.shape[1:]))


@pytest.mark.parametrize("name, kinds", [
    ("SplitAttn", {"radix_sum": 2, "radix_softmax": 1}),
    ("SelectiveKernel", {"radix_sum": 2, "radix_softmax": 1, "split": 2}),
    ("Cardinal", {"radix_sum": 2, "radix_softmax": 1}),
    ("DualPath", {"slice": 1, "split": 1}),
    ("PartialConv", {"split": 1, "slice": 1}),  # maps 0–3 are one of 4 equal slices
])
def test_imports_exactly_and_verifies(nets, name, kinds):
    imported = import_model(f"{nets}:{name}", input_volume="8x8x16")
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    params, macs, output = _truth(nets, name)
    assert (report.totals.params, report.totals.macs, report.output_shape.dims()) == \
        (params, macs, output)
    assert report.claims_ok
    found = [row.kind for row in report.layers]
    assert {k: found.count(k) for k in kinds} == kinds
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok, [c for c in result.layers if not c.ok]


def test_split_attention_imports_as_the_unit_a_student_writes(nets):
    text = import_model(f"{nets}:SplitAttn", input_volume="8x8x16").text
    assert "merge: mul" in text
    assert "radix_softmax: 2" in text and "radix_sum: 2" in text


def test_a_radix_over_several_groups_imports_with_its_cardinality(nets):
    text = import_model(f"{nets}:Cardinal", input_volume="8x8x16").text
    assert "radix_softmax: {radix: 2, groups: 2}" in text


def test_a_sum_that_is_not_across_a_radix_is_refused(nets):
    """No kind sums over space: ``--exact`` refuses and names the nearest kind; without it
    the sum is one traced layer (its 8×1×16 output, 0 params and 0 MACs, from the trace)."""
    with pytest.raises(ImportFailure, match=r"a sum over dims 2 \(not across the radix.*"
                                            r"nearest kind is radix_sum"):
        import_model(f"{nets}:SumOverSpace", input_volume="8x8x16", traced=False)
    text = import_model(f"{nets}:SumOverSpace", input_volume="8x8x16").text
    assert "traced: {op: sum, input: 8x8x16, output: 8x1x16, params: 0, macs: 0}" in text


@pytest.mark.parametrize("text", [UNIT, CARDINAL], ids=["one group", "two groups"])
def test_the_export_imports_back_as_the_same_spec(text, tmp_path):
    from cnncalc.backends.export import to_python

    spec = cnncalc.load(text)
    report = cnncalc.analyze(spec)
    path = tmp_path / "net.py"
    path.write_text(to_python(spec), encoding="utf-8")
    back = cnncalc.analyze(cnncalc.load(import_model(f"{path}:Net",
                                                     input_volume="8x8x16").text))
    assert back.claims_ok
    assert [(r.name, r.kind, r.shape.dims(), r.counts.params, r.counts.macs)
            for r in back.layers] == \
        [(r.name, r.kind, r.shape.dims(), r.counts.params, r.counts.macs)
         for r in report.layers]
