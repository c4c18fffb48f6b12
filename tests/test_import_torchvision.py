"""`cnncalc import torchvision:NAME` for every torchvision classification CNN (issue 12).

Marked ``torchvision``: runs in the torchvision environment (.ci/run, the README's second test
command).  The truth is torchvision's: each model's documented ``num_params`` and GFLOPS
(``weights.meta``: ``_ops``, the GMACs of its eval-mode forward pass) at its documented
resolution (the weights' crop size), the model's own ``parameters()`` and output shape, and
forward hooks on its modules.
"""

from __future__ import annotations

import re

import pytest
import yaml

from torchvision_needed import load

torch = load("torch")
torchvision = load("torchvision")
models = torchvision.models

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.importer import import_model  # noqa: E402

pytestmark = pytest.mark.torchvision

# The list, as it names them.
CNNS = """alexnet vgg11 vgg13 vgg16 vgg19 vgg11_bn vgg13_bn vgg16_bn vgg19_bn
resnet18 resnet34 resnet50 resnet101 resnet152 resnext50_32x4d resnext101_32x8d
resnext101_64x4d wide_resnet50_2 wide_resnet101_2 squeezenet1_0 squeezenet1_1 densenet121
densenet161 densenet169 densenet201 googlenet inception_v3 mobilenet_v2 mobilenet_v3_small
mobilenet_v3_large mnasnet0_5 mnasnet0_75 mnasnet1_0 mnasnet1_3 shufflenet_v2_x0_5
shufflenet_v2_x1_0 shufflenet_v2_x1_5 shufflenet_v2_x2_0 efficientnet_b0 efficientnet_b1
efficientnet_b2 efficientnet_b3 efficientnet_b4 efficientnet_b5 efficientnet_b6 efficientnet_b7
efficientnet_v2_s efficientnet_v2_m efficientnet_v2_l regnet_x_400mf regnet_x_800mf
regnet_x_1_6gf regnet_x_3_2gf regnet_x_8gf regnet_x_16gf regnet_x_32gf regnet_y_400mf
regnet_y_800mf regnet_y_1_6gf regnet_y_3_2gf regnet_y_8gf regnet_y_16gf regnet_y_32gf
regnet_y_128gf convnext_tiny convnext_small convnext_base convnext_large""".split()

# As torchvision documents them: GoogLeNet without its auxiliary heads (its weights drop
# them), Inception v3 with its auxiliary head (its weights keep it).
ARGS = {"googlenet": {"aux_logits": False}}

# Verified layer by layer in PyTorch in CI: together they hold every kind the import adds
# (hardsigmoid, the mul gate, split, shuffle, layer_norm, layer_scale, stochastic_depth, the
# first merge of an auxiliary head, DenseNet's chained concat, flat residuals, repeat start).
VERIFIED = ["resnet18", "googlenet", "inception_v3", "densenet121", "squeezenet1_1",
            "mobilenet_v3_small", "efficientnet_b0", "mnasnet0_5", "shufflenet_v2_x0_5",
            "regnet_y_400mf", "convnext_tiny"]


def test_the_list_is_every_classification_cnn_torchvision_has():
    transformers = {n for n in models.list_models(module=models)
                    if n.startswith(("vit_", "swin_", "maxvit_"))}
    assert set(CNNS) == set(models.list_models(module=models)) - transformers


def documented(name: str):
    weights = models.get_model_weights(name).DEFAULT
    crop = weights.transforms().crop_size[0]
    return weights.meta, crop


def imported(name: str):
    meta, crop = documented(name)
    result = import_model(f"torchvision:{name}", args=ARGS.get(name))
    return result, cnncalc.analyze(cnncalc.load(result.text), explain=False), meta, crop


def side_macs(report) -> int:
    """MACs of the layers in side paths (auxiliary heads): torchvision's GFLOPS count the
    eval-mode pass, which skips them; cnncalc counts them, as their layers are in the net."""
    names = {r.name for r in report.rows if r.is_group and r.kind.startswith("use:inception_aux")}
    return sum(r.counts.macs for r in report.layers if any(r.name.startswith(n + ".")
                                                           for n in names))


@pytest.mark.parametrize("name", CNNS)
def test_imports_with_torchvisions_figures(name):
    result, report, meta, crop = imported(name)
    assert f"input: {crop}x{crop}x3" in result.text  # the documented resolution
    assert report.totals.params == meta["num_params"]
    ops = meta["_ops"]
    digits = len(repr(ops).split(".")[1])
    assert round((report.totals.macs - side_macs(report)) / 1e9, digits) == round(ops, digits)
    assert report.output_shape.dims() == [1000]
    assert report.claims_ok, [c for c in report.claims if not c.ok]  # PyTorch's own totals
    assert result.notes == ()


def test_params_are_the_models_own_and_the_output_its_shape():
    for name in ("googlenet", "inception_v3", "shufflenet_v2_x1_0"):
        model = models.get_model(name, weights=None, **ARGS.get(name, {})).eval()
        _, report, _, crop = imported(name)
        assert report.totals.params == sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            out = model(torch.zeros(1, 3, crop, crop))
        assert report.output_shape.dims() == list(out.shape[1:])
    # googlenet as documented, 6,624,904; inception_v3 with its auxiliary head, 27,161,264
    assert imported("googlenet")[1].totals.params == 6_624_904
    assert imported("inception_v3")[1].totals.params == 27_161_264


def test_inception_v3s_auxiliary_head_is_a_side_output():
    result, report, meta, _ = imported("inception_v3")
    assert "merge: first" in result.text and "name: AuxLogits" in result.text
    aux = [r for r in report.layers if r.name.startswith("AuxLogits.")]
    # AuxLogits: conv0 1×1 768 → 128 (98,304 weights + 128 BN·2), conv1 5×5 128 → 768
    # (2,457,600 + 768·2), fc 768·1000 + 1000
    assert sum(r.counts.params for r in aux) == 98_304 + 256 + 2_457_600 + 1_536 + 769_000
    # on 5×5 (17×17 pooled 5/3), conv0 runs at 25 positions: 2,457,600 MACs; conv1 at one:
    # 2,457,600; fc 768,000
    assert side_macs(report) == 2_457_600 + 2_457_600 + 768_000
    assert round((report.totals.macs - side_macs(report)) / 1e9, 3) == meta["_ops"] == 5.713


@pytest.mark.parametrize("name", VERIFIED)
def test_the_imported_spec_verifies_and_its_names_are_the_models(name):
    result, report, _, crop = imported(name)
    spec = cnncalc.load(result.text)
    checks = backend.verify(spec, device="cpu", iters=0)
    assert checks.ok, [c for c in checks.layers if not c.ok][:3]
    # every layer named after a module sees what that module of the real model gives
    model = models.get_model(name, weights=None, **ARGS.get(name, {})).eval()
    seen: dict = {}

    def record(qualname):
        def hook(module, inputs, output):
            seen.setdefault(qualname, list(output.shape[1:]))
        return hook

    # a Permute (ConvNeXt) only changes the layout: the spec keeps C×H×W throughout
    leaves = {n: m for n, m in model.named_modules() if n and not any(True for _ in m.children())
              and type(m).__name__ != "Permute"}
    for qualname, module in leaves.items():
        module.register_forward_hook(record(qualname))
    with torch.no_grad():
        model(torch.zeros(1, 3, crop, crop))
    rows = {r.name: r.shape.dims() for r in report.layers}
    called = [n for n in leaves if n in seen]
    assert called and all(n in rows for n in called), [n for n in called if n not in rows][:5]
    # ConvNeXt's layers between its permutes give H×W×C; the spec's the same as C×H×W
    assert all(rows[n] in (seen[n], seen[n][-1:] + seen[n][:-1]) for n in called), \
        [(n, rows[n], seen[n]) for n in called if rows[n] != seen[n]][:3]


def test_resnet18_reads_like_the_zoo():
    result, report, _, _ = imported("resnet18")
    spec = yaml.safe_load(result.text)
    assert spec["blocks"]  # the basic block, and the projecting first block of a stage
    repeats = [item for item in spec["layers"] if isinstance(item, dict) and "repeat" in item]
    assert [r["name"] for r in repeats] == ["layer1", "layer2", "layer3", "layer4"]
    projecting = [name for name, block in spec["blocks"].items()
                  if "shortcut:" in yaml.safe_dump(block)]
    uses = [item["name"] for item in spec["layers"] if isinstance(item, dict)
            and item.get("use") in projecting]
    assert uses == ["layer2.0", "layer3.0", "layer4.0"]  # the 3 projection shortcuts
    zoo = cnncalc.analyze(cnncalc.load("zoo:resnet18"))
    assert (report.totals.params, report.totals.macs) == (11_689_512, 1_814_073_344)
    assert (zoo.totals.params, zoo.totals.macs) == (report.totals.params, report.totals.macs)
    assert re.search(r"downsample\.0", result.text)


def test_command_writes_a_spec_that_checks(cli, tmp_path):
    out = tmp_path / "r18.yaml"
    result = cli("import", "torchvision:resnet18", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "11,689,512 params, 1,814,073,344 MACs" in result.stderr
    assert cli("check", out).exit_code == 0


def test_a_vision_transformer_imports_with_its_encoder_traced(cli):
    # Its tokens (N×197×768) are no volume: from the patch embedding's output to the class
    # token the import writes one traced layer whose numbers are the trace's; torchvision's
    # documented params and GFLOPS still hold for the whole spec.
    result = cli("import", "torchvision:vit_b_16")
    assert result.exit_code == 0, result.stderr
    spec = cnncalc.load(result.stdout)
    report = cnncalc.analyze(spec)
    meta, crop = documented("vit_b_16")
    assert crop == 224 and report.claims_ok
    assert report.totals.params == meta["num_params"] == 86_567_656
    assert round(report.totals.macs / 1e9, 3) == meta["_ops"]  # 17.564 GMACs
    kinds = [r.kind for r in report.layers]
    assert kinds == ["conv", "traced", "fc"]
    traced = report.layers[1]
    assert (traced.input_shape.dims(), traced.shape.dims()) == ([768, 14, 14], [768])
    # params: all but the patch embedding's conv and the head's fc
    assert traced.counts.params == 86_567_656 - (768 * 3 * 16 * 16 + 768) - (768 * 1000 + 1000)
    assert "1 traced layer (traced) stands for ops with no cnncalc kind" in result.stderr
    refused = cli("import", "torchvision:vit_b_16", "--exact")
    assert refused.exit_code == 2
    line, = refused.stderr.strip().splitlines()
    assert line.startswith("cnncalc: error: torchvision:vit_b_16: ")
    assert "has no cnncalc kind" in line


def test_an_unknown_torchvision_name_suggests(cli):
    result = cli("import", "torchvision:resnet19")
    assert result.exit_code == 2
    assert result.stderr.strip() == ("cnncalc: error: torchvision:resnet19: torchvision has no "
                                     "classification model 'resnet19'; did you mean resnet18?")
