"""A kind's PyTorch forms live on its class (``Layer.torch``): the importer dispatches on the
module's class hierarchy and on the declared functional forms, suggests the nearest kind
from the declarations, and a kind declared once imports with no other edit.  PyTorch is the
oracle: the model's ``parameters()`` and a forward pass of the spec built back (verify)."""

from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402
from cnncalc.backends.importer import kinds  # noqa: E402
from cnncalc.layers import REGISTRY  # noqa: E402
from cnncalc.layers.base import Layer, Torch  # noqa: E402

NETS = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class MyConv(nn.Conv2d):
        """A subclass that keeps Conv2d's forward: a conv."""


    class StdConv(nn.Conv2d):
        """A subclass with its own forward (timm's StdConv2d, Conv2dSame): traced through."""

        def forward(self, x):
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)


    class BnAct(nn.BatchNorm2d):
        """timm's BatchNormAct2d: F.batch_norm then an activation module."""

        def __init__(self, c):
            super().__init__(c)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             False, 0.0, self.eps)
            return self.act(x)


    class Head(nn.Module):
        """timm's Linear: F.linear with the module's own weight and bias."""

        def __init__(self, cin, cout):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(cout, cin))
            self.bias = nn.Parameter(torch.zeros(cout))

        def forward(self, x):
            return F.linear(x, self.weight, self.bias)


    class Forms(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = MyConv(3, 8, 3, padding=1, bias=False)
            self.bn1 = BnAct(8)
            self.conv2 = StdConv(8, 16, 3, stride=2, padding=1, groups=2)
            self.drop = nn.Dropout(0.25)
            self.head = Head(16, 10)

        def forward(self, x):
            x = self.conv2(self.bn1(self.conv1(x)))
            x = F.leaky_relu(x, 0.2)
            x = self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1))
            return self.head(x)


    class WithMish(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.act = nn.Mish()

        def forward(self, x):
            return F.mish(self.act(self.conv(x)))


    class Osa(nn.Module):
        """VoVNet's one-shot aggregation: every successive output concatenated."""

        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(4, 4, 3, padding=1)
            self.c2 = nn.Conv2d(4, 4, 3, padding=1)
            self.c3 = nn.Conv2d(4, 4, 3, padding=1)
            self.concat = nn.Conv2d(16, 8, 1)

        def forward(self, x):
            d1 = self.c1(x)
            d2 = self.c2(d1)
            d3 = self.c3(d2)
            return self.concat(torch.cat([x, d1, d2, d3], 1))


    class Fuse(nn.Module):
        """A map that feeds an add and a concat (DLA, HRNet)."""

        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(4, 4, 1)
            self.b = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            y = self.a(x)
            z = self.b(y) + y
            return torch.cat([z, y, x], 1)


    class Slices(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 12, 3, padding=1)
            self.tail = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            x = self.conv(x)
            last = torch.split(x, 4, 1)[-1]          # channels 8..11
            first = x[:, :6]                           # channels 0..5: half
            return torch.cat([self.tail(last), first], 1)


    class PlusOne(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return self.conv(x) + 1
''')


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "forms.py"
    path.write_text(NETS, encoding="utf-8")
    return path


def _model(name: str):
    namespace: dict = {}
    exec(compile(NETS, "forms.py", "exec"), namespace)
    return namespace[name]().eval()


def test_subclasses_and_functional_forms_import_as_their_kinds(nets):
    imported = import_model(f"{nets}:Forms", input_volume="8x8x3")
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    kinds_ = [(r.name, r.kind) for r in report.layers]
    # MyConv keeps Conv2d's forward: one layer under its module name; StdConv and BnAct are
    # traced through to F.conv2d and F.batch_norm, named after their modules
    assert kinds_ == [("conv1", "conv"), ("bn1.bn", "bn"), ("bn1.act", "relu"),
                      ("conv2", "conv"), ("leaky_relu", "leaky_relu"),
                      ("global_pool", "global_pool"), ("flatten", "flatten"),
                      ("drop", "dropout"), ("head", "fc")]
    assert "leaky_relu: 0.2" in imported.text and "dropout: 0.25" in imported.text
    assert "groups: 2" in imported.text and "stride: 2" in imported.text
    # PyTorch's count: conv1 3·8·9 = 216; bn 2·8 = 16; conv2 (8/2)·16·9 + 16 = 592;
    # head 16·10 + 10 = 170: 994
    model = _model("Forms")
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 994
    assert report.claims_ok  # PyTorch's own MACs and output shape, claimed in expect:
    assert backend.verify(spec, device="cpu", iters=0).ok


def test_the_kind_of_a_module_follows_its_class_hierarchy():
    from torch import nn

    class Plain(nn.Conv2d):
        pass

    class Own(nn.Conv2d):
        def forward(self, x):
            return super().forward(x)

    assert kinds.module_kind(Plain(3, 4, 3)) == ("conv", nn.Conv2d)
    assert kinds.module_kind(Own(3, 4, 3)) == (None, nn.Conv2d)
    assert kinds.module_kind(nn.GroupNorm(2, 4)) == (None, None)
    assert kinds.function_kind("batch_norm") == "bn" and kinds.function_kind("linear") == "fc"


@pytest.mark.parametrize("word, nearest", [
    ("GroupNorm", "layer_norm"), ("InstanceNorm2d", "bn"), ("Conv3d", "conv"),
    ("ConvTranspose1d", "deconv"), ("MaxPool1d", "pool"), ("LogSoftmax", "softmax"),
    ("mish", ""), ("Mish", ""), ("MultiheadAttention", ""), ("add", ""), ("LSTM", "")])
def test_the_nearest_kind_is_computed_from_the_declarations(word, nearest):
    assert kinds.nearest_kind(word) == nearest


def test_no_kind_says_no_false_nearest_kind(nets):
    # F.mish and x + 1: no kind, and none near (the issue's "nearest kind is mish" and "a
    # residual adds two paths" were wrong); refused as --exact does (else: traced layers)
    with pytest.raises(ImportFailure) as e:
        import_model(f"{nets}:PlusOne", input_volume="8x8x3", traced=False)
    assert "an add of a constant or a parameter, which has no cnncalc kind" in str(e.value)
    assert "residual" not in str(e.value) and "nearest" not in str(e.value)
    with pytest.raises(ImportFailure) as e:
        import_model(f"{nets}:WithMish", input_volume="8x8x3", traced=False)
    assert "act is a Mish, which has no cnncalc kind" in str(e.value)
    assert "nearest" not in str(e.value)


@pytest.fixture
def mish(monkeypatch):
    """A ``mish`` kind declared as one elementwise class would be, registered for the test."""
    cls = type("Mish", (Layer,), {"__slots__": (), "key": "mish", "family": "activation",
                                  "summary": "x·tanh(softplus(x))", "activation": True,
                                  "keeps_features": True, "module": "nn.Mish",
                                  "torch": Torch(("torch.nn.Mish",), ("mish",))})
    monkeypatch.setitem(REGISTRY, "mish", cls)
    kinds._module_table.cache_clear()
    kinds._function_table.cache_clear()
    yield cls
    kinds._module_table.cache_clear()
    kinds._function_table.cache_clear()


def test_a_kind_declared_once_imports_as_module_and_function_and_verifies(nets, mish):
    imported = import_model(f"{nets}:WithMish", input_volume="8x8x3")
    assert "- mish" in imported.text
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    assert [(r.name, r.kind) for r in report.layers] == [("conv", "conv"), ("act", "mish"),
                                                         ("mish", "mish")]
    assert report.totals.params == 3 * 4 * 9 + 4 and report.claims_ok
    assert backend.verify(spec, device="cpu", iters=0).ok


def test_the_builder_passes_fields_through_the_declared_settings(monkeypatch):
    from cnncalc.backends import recipes as planmod
    from cnncalc.layers.base import Field, boolean

    # a field named as its module's attribute (mem-model's `inplace`) needs no mapping
    cls = type("Relu", (REGISTRY["relu"],), {
        "__slots__": (), "fields": (Field("inplace", boolean, False, "in place"),)})
    layer = cls({"inplace": True})
    on = planmod.build_module(layer, None)
    off = planmod.build_module(cls({"inplace": False}), None)
    assert (on.cls, on.args, on.kwargs) == ("nn.ReLU", (), (("inplace", True),))
    assert (off.cls, off.args, off.kwargs) == ("nn.ReLU", (), ())
    # leaky_relu's slope is nn.LeakyReLU's negative_slope, both ways
    assert REGISTRY["leaky_relu"].torch.attribute("slope") == "negative_slope"


def test_a_concat_of_successive_outputs_is_nested_branches_computing_each_once(nets):
    imported = import_model(f"{nets}:Osa", input_volume="8x8x4")
    report = cnncalc.analyze(cnncalc.load(imported.text))
    names = [r.name for r in report.layers]
    assert names == ["c1", "c2", "c3", "concat"]  # each conv once
    # PyTorch: c1..c3 (4·4·9 + 4) = 148 each, concat 16·8 + 8 = 136: 580; MACs per position
    # 3·144 + 128 over 8·8 = 35,840
    assert report.totals.params == sum(p.numel() for p in _model("Osa").parameters()) == 580
    assert report.totals.macs == 35_840 and report.claims_ok
    assert report.output_shape.dims() == [8, 8, 8]
    assert backend.verify(cnncalc.load(imported.text), device="cpu", iters=0).ok


def test_a_tensor_merged_in_two_places_is_read_by_a_tap(nets):
    imported = import_model(f"{nets}:Fuse", input_volume="8x8x4")
    assert "- from: a" in imported.text
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    assert [r.name for r in report.layers] == ["a", "b"]  # a computed once
    # a and b: 4·4 + 4 = 20 params each, 16 MACs per position each over 8·8; the output
    # cat([b(y) + y, y, x]) has 12 maps
    assert report.totals.params == sum(p.numel() for p in _model("Fuse").parameters()) == 40
    assert report.totals.macs == 2 * 16 * 64
    assert report.output_shape.dims() == [12, 8, 8] and report.claims_ok
    assert backend.verify(spec, device="cpu", iters=0).ok


def test_a_negative_split_index_and_an_equal_channel_slice_are_splits(nets):
    imported = import_model(f"{nets}:Slices", input_volume="8x8x3")
    assert "split: {parts: 3, index: 2}" in imported.text  # torch.split(x, 4, 1)[-1]
    assert "split: {parts: 2, index: 0}" in imported.text  # x[:, :6] of 12
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    # conv 3·12·9 + 12 = 336, tail 4·4 + 4 = 20; output 4 + 6 = 10 maps
    assert report.totals.params == sum(p.numel() for p in _model("Slices").parameters()) == 356
    assert report.output_shape.dims() == [10, 8, 8] and report.claims_ok
    assert backend.verify(spec, device="cpu", iters=0).ok


COPIES = textwrap.dedent('''
    import torch
    from torch import nn


    class ChannelConv(nn.Module):
        """Not cnncalc's: the same name, another forward."""

        def __init__(self, kernel_size: int, padding: int = 0, bias: bool = True):
            super().__init__()
            self.conv = nn.Conv1d(1, 1, kernel_size, padding=padding, bias=bias)

        def forward(self, x):
            return x


    class Identity(nn.Module):
        """Computes nothing: its output is its input."""

        def __init__(self):
            super().__init__()
            self.drop = nn.Identity()

        def forward(self, x):
            return self.drop(x)
''')


def test_the_exports_copy_of_a_cnncalc_module_is_its_kind_and_nothing_else_is(tmp_path):
    from cnncalc.backends.export import to_python

    # export copies cnncalc's ChannelConv into the file; import knows the copy by its source:
    # one channel_conv of 3 + 1 = 4 params (PyTorch's parameters() in the expect: it writes)
    spec = cnncalc.load("name: eca\ninput: 8x8x4\nlayers:\n  - channel_conv: 3\n")
    path = tmp_path / "net.py"
    path.write_text(to_python(spec), encoding="utf-8")
    text = import_model(f"{path}:Net", input_volume="8x8x4").text
    back = cnncalc.analyze(cnncalc.load(text))
    assert [(r.name, r.kind) for r in back.layers] == [("channel_conv1", "channel_conv")]
    assert back.totals.params == 4 and back.claims_ok and "never called" not in text
    # a class of the same name with other code is not cnncalc's
    namespace: dict = {}
    exec(compile(COPIES, "copies.py", "exec"), namespace)
    assert kinds.module_kind(namespace["ChannelConv"](3)) == (None, None)


def test_a_net_that_computes_nothing_is_refused_not_written_empty(tmp_path):
    path = tmp_path / "copies.py"
    path.write_text(COPIES, encoding="utf-8")
    with pytest.raises(ImportFailure, match="computes nothing cnncalc counts"):
        import_model(f"{path}:Identity", input_volume="8x8x4")
