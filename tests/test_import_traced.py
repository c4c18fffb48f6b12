"""Import's fallback (issue 16): an op with no kind becomes a ``traced`` layer whose shape,
params and MACs are the trace's, so a model with such an op still gives a spec and a table.

PyTorch is the oracle: the model's own ``parameters()``, the module's output shape under a
forward hook, and ``FlopCounterMode`` run over the model and over the unknown module alone.
"""

from __future__ import annotations

import json
import textwrap

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402
from cnncalc.errors import SpecError  # noqa: E402

NETS = textwrap.dedent('''
    import torch
    from torch import nn


    class Gram(nn.Module):
        """A custom attention over the positions: no kind stands for any of its ops."""

        def __init__(self, c):
            super().__init__()
            self.mix = nn.Parameter(torch.randn(c, c) / c)

        def forward(self, x):
            b, c, h, w = x.shape
            t = x.flatten(2)                                       # b, c, hw
            a = torch.softmax(t.transpose(1, 2) @ t, dim=-1)       # b, hw, hw
            return (self.mix @ (t @ a)).reshape(b, c, h, w)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.attn = Gram(8)
            self.head = nn.Linear(8, 10)

        def forward(self, x):
            x = torch.relu(self.bn(self.conv(x)))
            x = self.attn(x)
            x = torch.cumsum(x, dim=2)
            return self.head(x.mean((2, 3)))


    class Twice(nn.Module):
        """One unknown module called twice: its weights are counted once."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 1)
            self.attn = Gram(8)

        def forward(self, x):
            x = self.conv(x)
            return self.attn(torch.relu(self.attn(x)))


    class AsymmetricPool(nn.Module):
        """NASNet's pool: zeros on the top and left only, then a pool (no kind pads so)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.head = nn.Conv2d(8, 4, 1)

        def forward(self, x):
            x = nn.functional.pad(self.conv(x), (1, 0, 1, 0))
            return self.head(nn.functional.max_pool2d(x, 3, 2))


    class SpaceToDepth(nn.Module):
        """TResNet's stem (a 6-D view) and blur (a conv whose weight is a buffer)."""

        def __init__(self):
            super().__init__()
            self.register_buffer("filt", torch.ones(12, 1, 3, 3) / 9)
            self.conv = nn.Conv2d(12, 8, 1)

        def forward(self, x):
            b, c, h, w = x.shape
            x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
            x = x.reshape(b, c * 4, h // 2, w // 2)
            x = nn.functional.conv2d(x, self.filt, padding=1, groups=12)
            return self.conv(x)


    class Reorder(nn.Module):
        """Attention indexing into its activation (bat_resnext's), with a matmul."""

        def __init__(self, c):
            super().__init__()
            self.mix = nn.Parameter(torch.randn(c, c) / c)

        def forward(self, x):
            b, c, h, w = x.shape
            t = x.flatten(2)[:, :, list(range(h * w))[::-1]]
            return (self.mix @ t).reshape(b, c, h, w)


    class ExportOnly(nn.Module):
        """A forward torch.fx cannot trace (control flow on a size, as timm's 'same'
        padding): torch.export traces it, at one input size."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.attn = Reorder(8)
            self.head = nn.Conv2d(8, 4, 1)

        def forward(self, x):
            if x.shape[-1] % 2 == 0:
                x = nn.functional.pad(x, (1, 1, 1, 1))
            return self.head(torch.relu(self.attn(self.conv(x))))


    class MergeReadTwice(nn.Module):
        """A sum read by a later layer and by the final concat (NASNet's cells): a tap
        reads a named layer, and a sum has none."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 8, 1)
            self.left = nn.Conv2d(8, 8, 3, padding=1)
            self.right = nn.Conv2d(8, 8, 1)
            self.after = nn.Conv2d(8, 8, 1)

        def forward(self, x):
            x = self.stem(x)
            s = self.left(x) + self.right(x)
            return torch.cat([self.after(s) + x, s], 1)
''')

VOLUME = "12x10x3"  # W×H×D: 10 rows, 12 columns, so H and W cannot be swapped unnoticed


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "traced_nets.py"
    path.write_text(NETS, encoding="utf-8")
    return path


def model_of(nets, name):
    namespace: dict = {}
    exec(compile(NETS, str(nets), "exec"), namespace)
    torch.manual_seed(0)
    return namespace[name]().eval()


def flops_of(module, x) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


@pytest.fixture
def imported(nets, tmp_path):
    result = import_model(f"{nets}:Net", input_volume=VOLUME)
    path = tmp_path / "net.yaml"
    path.write_text(result.text, encoding="utf-8")
    return result, path


def test_an_unknown_module_and_an_unknown_function_become_traced_layers(nets, imported):
    result, path = imported
    model = model_of(nets, "Net")
    x = torch.zeros(1, 3, 10, 12)
    seen = {}
    model.attn.register_forward_hook(lambda m, i, o: seen.update(attn=(i[0].shape, o.shape)))
    with torch.no_grad():
        out = model(x)
    report = cnncalc.analyze(cnncalc.load(path))
    assert report.claims_ok  # PyTorch's own totals, written as expect:
    # conv 8·(3·3·3) + 8, bn 2·8, attn.mix 8·8, head 8·10 + 10
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 224 + 16 + 64 + 90
    assert report.totals.macs == flops_of(model, x) // 2
    assert report.output_shape.dims() == list(out.shape[1:])
    rows = {r.name: r for r in report.layers}
    # the module, all its ops one layer named after it; its numbers PyTorch's
    attn = rows["attn"]
    assert attn.kind == "traced"
    assert [attn.input_shape.dims(), attn.shape.dims()] == [list(s[1:]) for s in seen["attn"]]
    assert attn.counts.params == model.attn.mix.numel() == 64
    assert attn.counts.macs == flops_of(model.attn, torch.zeros(1, 8, 10, 12)) // 2 > 0
    # hw = 120: t·a is (8×120)(120×120), tᵀ·t (120×8)(8×120), mix·(t·a) (8×8)(8×120)
    assert attn.counts.macs == 120 * 8 * 120 + 8 * 120 * 120 + 8 * 8 * 120
    # torch.cumsum at the model's own level: a traced layer with no weights and no MACs
    cumsum = rows["traced"]
    assert (cumsum.kind, cumsum.counts.params, cumsum.counts.macs) == ("traced", 0, 0)
    assert cumsum.shape.dims() == [8, 10, 12]
    assert "cumsum" in result.text
    assert result.notes[-1].startswith("2 traced layers (attn, traced) stand for ops with no "
                                       "cnncalc kind")


def test_a_module_called_twice_counts_its_weights_once(nets):
    model = model_of(nets, "Twice")
    result = import_model(f"{nets}:Twice", input_volume=VOLUME)
    report = cnncalc.analyze(cnncalc.load(result.text))
    assert report.claims_ok
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 32 + 64
    traced = [r for r in report.layers if r.kind == "traced"]
    assert [r.name for r in traced] == ["attn", "attn@2"]
    assert [r.counts.params for r in traced] == [64, 0]
    assert traced[0].counts.macs == traced[1].counts.macs > 0


def test_exact_refuses_as_before(nets):
    with pytest.raises(ImportFailure, match="has no cnncalc kind"):
        import_model(f"{nets}:Net", input_volume=VOLUME, traced=False)


def test_inspect_shows_traced_rows(cli, imported):
    _, path = imported
    table = cli("inspect", path)
    assert table.exit_code == 0, table.stderr
    assert "Traced" in table.stdout and "2 layers (attn, traced) with numbers taken from the " \
                                        "PyTorch trace" in " ".join(table.stdout.split())
    doc = json.loads(cli("inspect", path, "--format", "json").stdout)
    marked = [row["name"] for row in doc["layers"] if row.get("traced")]
    assert marked == ["attn", "traced"]
    assert all("traced" not in row for row in doc["layers"] if row["name"] not in marked)
    assert any("traced layers save for backward" in t for t in doc["totals"]["memory"]["left_out"])
    rows = {row["name"]: row for row in doc["layers"]}
    assert rows["attn"]["receptive_field"] is None  # what it reads is not known
    assert rows["conv"]["receptive_field"]["size"] == 3
    assert cli("inspect", path, "--format", "csv").exit_code == 0
    assert cli("inspect", path, "--format", "markdown").exit_code == 0
    assert cli("lint", path).exit_code in (0, 1)
    assert cli("check", path).exit_code == 0


def _line_of(path, text) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_sizes_and_a_symbolic_input_refuse_with_the_reason(cli, imported, tmp_path):
    _, path = imported
    line = _line_of(path, "- traced:")
    result = cli("sizes", path)
    assert result.exit_code == 2
    message, = result.stderr.strip().splitlines()
    assert message.startswith(f"{path}:{line}:")
    assert "sizes and a symbolic input cannot reason through a traced layer" in message
    symbolic = tmp_path / "symbolic.yaml"
    symbolic.write_text(path.read_text().replace("input: 12x10x3", "input: WxHx3"))
    result = cli("inspect", symbolic)
    assert result.exit_code == 2
    assert f"{symbolic}:{line}:" in result.stderr
    assert "cannot reason through a traced layer" in result.stderr


def test_a_traced_layer_fed_another_input_is_a_located_error(cli, imported, tmp_path):
    _, path = imported
    other = tmp_path / "other.yaml"
    other.write_text(path.read_text().replace("input: 12x10x3", "input: 16x16x3"))
    result = cli("inspect", other)
    assert result.exit_code == 2
    line = _line_of(other, "- traced:")
    error = [ln for ln in result.stderr.splitlines() if ": error: " in ln]
    assert error == [f"{other}:{line}:5: error: attn → traced on 16×16×8: its numbers were "
                     f"taken from a PyTorch trace of Gram at 12×10×8: a traced "
                     f"layer only knows the input it was traced at; import the model again at "
                     f"this input (cnncalc import SOURCE --input 16x16x8)"]


def test_verify_and_export_refuse_naming_the_traced_layers(cli, imported):
    _, path = imported
    line = _line_of(path, "- traced:")
    for args in (("verify", path), ("export", path, "--to", "pytorch")):
        result = cli(*args)
        assert result.exit_code == 2
        message, = result.stderr.strip().splitlines()
        assert message == (f"{path}:{line}:5: error: 2 traced layers (attn, traced): their "
                           f"numbers were taken from a PyTorch trace of code cnncalc has no "
                           f"kind for, so no module can be built for them; check the model "
                           f"itself instead: its import's expect: totals are PyTorch's own "
                           f"(cnncalc check); docs/import.md#traced-layers")
    spec = cnncalc.load(path)
    with pytest.raises(SpecError, match="2 traced layers"):
        cnncalc.verify(spec, device="cpu", iters=0)


def pytorch_totals(model, volume: str):
    """PyTorch's params, MACs (FlopCounterMode / 2) and output shape at ``volume`` (W×H×D)."""
    w, h, c = (int(d) for d in volume.split("x"))
    x = torch.zeros(1, c, h, w)
    with torch.no_grad():
        out = model(x)
    return (sum(p.numel() for p in model.parameters()), flops_of(model, x) // 2,
            list(out.shape[1:]))


def op_of(row) -> str:
    """A traced row's ``op``, read back from its formula (``traced OP: taken from …``)."""
    text = row.formula.shape
    assert text.startswith("traced ")
    return text.removeprefix("traced ").split(": taken from")[0]


def import_traced(nets, name, volume=VOLUME):
    """The import of ``name`` and its report; ``--exact``'s refusal, which must come first."""
    with pytest.raises(ImportFailure) as refused:
        import_model(f"{nets}:{name}", input_volume=volume, traced=False)
    result = import_model(f"{nets}:{name}", input_volume=volume)
    report = cnncalc.analyze(cnncalc.load(result.text))
    assert report.claims_ok  # the expect: totals, PyTorch's
    model = model_of(nets, name)
    got = (report.totals.params, report.totals.macs, report.output_shape.dims())
    assert got == pytorch_totals(model, volume)
    traced = [r for r in report.layers if r.kind == "traced"]
    return str(refused.value), result, model, traced


def test_an_asymmetric_pad_before_a_pool_is_one_traced_layer(nets):
    refused, _, model, traced = import_traced(nets, "AsymmetricPool")
    assert "a pad by 1×1 before a pool" in refused
    # the pad and the pool, nothing else: the convs before and after are conv layers
    assert [(r.name, op_of(r)) for r in traced] == [("traced", "pad, max_pool2d")]
    # 10×12 padded to 11×13, pooled 3/2: 5×6; a max pool counts no FLOPs
    assert (traced[0].input_shape.dims(), traced[0].shape.dims()) == ([8, 10, 12], [8, 5, 6])
    assert (traced[0].counts.params, traced[0].counts.macs) == (0, 0)


def test_a_six_dimensional_view_and_a_buffer_weight_are_traced(nets):
    refused, _, model, traced = import_traced(nets, "SpaceToDepth")
    assert "a view from (1, 3, 10, 12) to (1, 3, 5, 2, 6, 2)" in refused
    # ops of one module (here the model's own forward) that no kind stands for are one layer:
    # the view, its permute and reshape, and the blur after them
    assert [op_of(r) for r in traced] == ["view, permute, reshape, conv2d"]
    s2d = traced[0]
    assert (s2d.input_shape.dims(), s2d.shape.dims()) == ([3, 10, 12], [12, 5, 6])
    # the blur: a depthwise 3×3 with a fixed filter (a buffer: 12·9), 5·6·12·9 MACs
    assert (s2d.counts.params, s2d.counts.buffers) == (0, model.filt.numel()) == (0, 12 * 9)
    assert s2d.counts.macs == 5 * 6 * 12 * 9


def test_an_export_only_trace_gives_traced_layers_their_flops(nets):
    refused, result, model, traced = import_traced(nets, "ExportOnly")
    assert "attn: a flatten of dims 2..-1 (not 1..-1), which has no cnncalc kind" in refused
    assert any("traced with torch.export" in note for note in result.notes)
    # the attention alone: its ops read back from the exported graph, named after it
    assert [r.name for r in traced] == ["attn"]
    attn = traced[0]
    # 12×10 padded to 14×12, a 3×3 conv: 12×10 positions, hw = 120; mix·t is (8×8)(8×120)
    assert attn.counts.macs == flops_of(model.attn, torch.zeros(1, 8, 10, 12)) // 2 \
        == 8 * 8 * 120
    assert attn.counts.params == model.attn.mix.numel() == 64


def test_a_sum_read_twice_is_traced_from_its_fork(nets):
    refused, result, model, traced = import_traced(nets, "MergeReadTwice")
    assert "feeds several later layers that merge in different places" in refused
    # one layer from the stem's output to the sum: left, right and the add; what reads the
    # sum later reads that layer (a tap), so it is computed once
    assert [op_of(r) for r in traced] == ["torch.nn.Conv2d, add"]
    s = traced[0]
    assert s.counts.params == 8 * 8 * 9 + 8 + 8 * 8 + 8
    assert s.counts.macs == 10 * 12 * 8 * (8 * 9 + 8)
    assert "from: traced" in result.text
