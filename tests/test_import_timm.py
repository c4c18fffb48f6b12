"""`cnncalc import timm:NAME` on timm 1.0.31's CNNs (issue 16's acceptance list).

Marked ``torchvision``: runs in the torchvision environment, where CI installs timm too.  The
truth is PyTorch's, measured here on the model itself, not read from the import: params =
``sum(p.numel())``, the output shape of a forward pass, MACs = ``FlopCounterMode``'s FLOPs / 2;
the spec's own counts (cnncalc's formulas) must equal them, and ``verify`` must pass (the spec
built back in PyTorch, layer by layer)."""

from __future__ import annotations

import pytest

from torchvision_needed import load

torch = load("torch")
timm = load("timm")

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402

pytestmark = pytest.mark.torchvision

# The whole acceptance list: each imports exactly (docs/import.md).  ResNeSt and SKNet are
# split attention (radix_sum, radix_softmax), DPN its two paths cut by unequal slices.
EXACT = ["resnet18d", "seresnext26d_32x4d", "mobilenetv3_small_100",
         "tf_mobilenetv3_small_100", "cspdarknet53", "convnext_femto", "ese_vovnet19b_dw",
         "repvgg_a0", "mobileone_s1", "ecaresnet26t", "res2next50", "dla46_c",
         "hrnet_w18_small_v2", "selecsls60", "resnest26d", "skresnet34", "dpn48b"]


def _pytorch(name: str):
    from torch.utils.flop_counter import FlopCounterMode

    model = timm.create_model(name, pretrained=False).eval()
    c, h, w = model.pretrained_cfg["input_size"]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        out = model(torch.zeros(1, c, h, w))
    return (sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2,
            list(out.shape[1:]))


@pytest.mark.parametrize("name", EXACT)
def test_imports_exactly_and_verifies(name):
    params, macs, output = _pytorch(name)
    imported = import_model(f"timm:{name}", traced=False)  # exactly: no traced layer
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    assert report.totals.params == params
    assert report.totals.macs == macs
    assert report.output_shape.dims() == output
    assert report.claims_ok
    assert backend.verify(spec, device="cpu", iters=0).ok


# Beyond the list: where an op still has no kind (RepViT's division by a constant), the import
# writes traced layers (docs/import.md#traced-layers) and the spec's totals are PyTorch's.
TRACED = ["repvit_m0_9"]


@pytest.mark.parametrize("name", TRACED)
def test_a_model_with_an_op_of_no_kind_imports_with_pytorchs_totals(name):
    params, macs, output = _pytorch(name)
    report = cnncalc.analyze(cnncalc.load(import_model(f"timm:{name}").text))
    assert any(row.kind == "traced" for row in report.layers)
    assert (report.totals.params, report.totals.macs) == (params, macs)
    assert report.output_shape.dims() == output
    assert report.claims_ok
    with pytest.raises(ImportFailure):
        import_model(f"timm:{name}", traced=False)


def test_an_unknown_timm_name_suggests():
    from cnncalc.backends.importer import ImportFailure

    with pytest.raises(ImportFailure) as e:
        import_model("timm:resnet18e")
    assert "timm has no model 'resnet18e'; did you mean" in str(e.value)
