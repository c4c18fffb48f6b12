#!/usr/bin/env python3
"""Measure reference layer shapes, parameter counts and MACs from real PyTorch models.

This is a developer tool, not part of the ``cnncalc`` package and not run by the
test-suite.  It needs PyTorch and torchvision, which ``cnncalc`` itself does not
depend on; the reference figures were produced with torch 2.14.1 and
torchvision 0.29.1 in a virtualenv kept outside the repository::

    python3 -m venv /work/tvenv
    /work/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /work/tvenv/bin/python tools/torchvision_reference.py

It writes ``tests/data/torchvision_reference.json`` (sorted keys, indent 1),
which the test-suite compares against layer by layer.

What is measured
----------------
Every model is built with random weights (``weights=None``), put in eval mode
and run once on a zeros tensor of shape ``(1, 3, H, W)`` under
``torch.no_grad()``.  A forward hook on every *leaf* module (a module with no
child modules) records, in execution order, one entry per call -- a module that
is called twice (e.g. the shared ``relu`` of a ResNet block) appears twice:

``name``
    the module's qualified name, as given by ``model.named_modules()``
``type``
    the module's class name (``Conv2d``, ``BatchNorm2d``, ``ReLU``, ...)
``shape``
    the output shape without the batch dimension, as a list of ints
``params``
    number of elements of the module's own parameters (counted again on each
    call of the same module; use the model-level ``params`` for the total)
``macs``
    multiply-accumulates for that call, per image, bias additions not counted:
    ``Conv2d``: ``out.numel() * (in_channels // groups) * kh * kw``;
    ``Linear``: ``in_features * out_features * rows`` (rows = 1 here);
    every other module: 0.

Operations done with ``torch.*`` / ``F.*`` functions rather than modules
(residual additions, ``torch.cat`` in Inception/DenseNet/Fire, GoogLeNet's
``F.relu`` in BasicConv2d, DenseNet's final ``F.relu`` + adaptive average pool,
MobileNetV2's final adaptive average pool, ``torch.flatten``) have no hook and
so do not appear in ``layers``.

Per model the JSON also holds:

``input_shape``
    the input shape used, with batch dimension
``output_shape``
    the model output shape, without batch dimension
``params``
    ``sum(p.numel() for p in model.parameters())``
``buffers``
    number of buffer elements excluding ``num_batches_tracked``
    (i.e. BatchNorm running mean + running var)
``num_batches_tracked_count``
    how many ``num_batches_tracked`` buffers (one scalar per BatchNorm)
``macs``
    sum of the per-call conv/linear MACs
``layer_count``
    ``len(layers)``
``layers``
    the per-call records described above

Layout of the JSON file::

    {"meta": {...versions, MAC definition...},
     "torchvision": {"alexnet": {...}, "vgg11": {...}, ...},
     "handbuilt": {"mobilenet_v1": {...}, "alexnet_2012": {...},
                   "resnet50_v1": {...}}}

The ``handbuilt`` models are written here in plain ``torch.nn`` following the
papers (see the builder functions below for the exact layouts).
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections import OrderedDict
from typing import Callable

import torch
import torchvision
from torch import nn
from torchvision import models as tvm
from torchvision.models.resnet import Bottleneck

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
OUTPUT_PATH = REPO_ROOT / "tests" / "data" / "torchvision_reference.json"

DEFAULT_INPUT = (1, 3, 224, 224)

# torchvision models, in report order.  Each entry builds the model with
# weights=None and otherwise torchvision's defaults.
TORCHVISION_MODELS: "OrderedDict[str, Callable[[], nn.Module]]" = OrderedDict(
    [
        ("alexnet", lambda: tvm.alexnet(weights=None)),
        ("vgg11", lambda: tvm.vgg11(weights=None)),
        ("vgg16", lambda: tvm.vgg16(weights=None)),
        ("vgg19", lambda: tvm.vgg19(weights=None)),
        ("vgg16_bn", lambda: tvm.vgg16_bn(weights=None)),
        ("resnet18", lambda: tvm.resnet18(weights=None)),
        ("resnet34", lambda: tvm.resnet34(weights=None)),
        ("resnet50", lambda: tvm.resnet50(weights=None)),
        ("resnet101", lambda: tvm.resnet101(weights=None)),
        ("googlenet", lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=False)),
        ("densenet121", lambda: tvm.densenet121(weights=None)),
        ("mobilenet_v2", lambda: tvm.mobilenet_v2(weights=None)),
        ("squeezenet1_0", lambda: tvm.squeezenet1_0(weights=None)),
    ]
)


# ---------------------------------------------------------------------------
# Hand-built models
# ---------------------------------------------------------------------------


def build_mobilenet_v1() -> nn.Module:
    """MobileNet v1 (Howard et al. 2017, Table 1), width multiplier 1.0, 224x224x3.

    conv 3x3 s2 -> 32 channels (pad 1), then 13 depthwise-separable blocks:
    depthwise 3x3 (pad 1, stride on the depthwise conv) + BN + ReLU,
    pointwise 1x1 + BN + ReLU.  All convolutions have bias=False and are
    followed by BatchNorm2d.  Then a 7x7 average pool, flatten, and a
    fully-connected 1024 -> 1000 layer with bias.
    """
    # (pointwise output channels, depthwise stride) for the 13 blocks
    blocks = [
        (64, 1),
        (128, 2),
        (128, 1),
        (256, 2),
        (256, 1),
        (512, 2),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (512, 1),
        (1024, 2),
        (1024, 1),
    ]
    layers: "OrderedDict[str, nn.Module]" = OrderedDict(
        [
            ("conv0", nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)),
            ("bn0", nn.BatchNorm2d(32)),
            ("relu0", nn.ReLU(inplace=True)),
        ]
    )
    in_ch = 32
    for i, (out_ch, stride) in enumerate(blocks, start=1):
        layers[f"dw{i}"] = nn.Conv2d(in_ch, in_ch, 3, stride=stride, padding=1, groups=in_ch, bias=False)
        layers[f"dw{i}_bn"] = nn.BatchNorm2d(in_ch)
        layers[f"dw{i}_relu"] = nn.ReLU(inplace=True)
        layers[f"pw{i}"] = nn.Conv2d(in_ch, out_ch, 1, bias=False)
        layers[f"pw{i}_bn"] = nn.BatchNorm2d(out_ch)
        layers[f"pw{i}_relu"] = nn.ReLU(inplace=True)
        in_ch = out_ch
    layers["avgpool"] = nn.AvgPool2d(7)
    layers["flatten"] = nn.Flatten(1)
    layers["fc"] = nn.Linear(1024, 1000)
    return nn.Sequential(layers)


def build_alexnet_2012() -> nn.Module:
    """AlexNet as in Krizhevsky et al. 2012 (two-GPU original, usual reconstruction).

    Input 227x227x3.  The two-GPU split is expressed with groups=2 on conv2,
    conv4 and conv5; conv3 connects across both GPUs (groups=1).  LRN uses the
    paper's constants (size 5, alpha 1e-4, beta 0.75, k 2).  All layers have bias.
    """

    def lrn() -> nn.Module:
        return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)

    return nn.Sequential(
        OrderedDict(
            [
                ("conv1", nn.Conv2d(3, 96, 11, stride=4)),
                ("relu1", nn.ReLU(inplace=True)),
                ("lrn1", lrn()),
                ("pool1", nn.MaxPool2d(3, stride=2)),
                ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)),
                ("relu2", nn.ReLU(inplace=True)),
                ("lrn2", lrn()),
                ("pool2", nn.MaxPool2d(3, stride=2)),
                ("conv3", nn.Conv2d(256, 384, 3, padding=1)),
                ("relu3", nn.ReLU(inplace=True)),
                ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)),
                ("relu4", nn.ReLU(inplace=True)),
                ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)),
                ("relu5", nn.ReLU(inplace=True)),
                ("pool5", nn.MaxPool2d(3, stride=2)),
                ("flatten", nn.Flatten(1)),
                ("fc6", nn.Linear(9216, 4096)),
                ("relu6", nn.ReLU(inplace=True)),
                ("drop6", nn.Dropout(0.5)),
                ("fc7", nn.Linear(4096, 4096)),
                ("relu7", nn.ReLU(inplace=True)),
                ("drop7", nn.Dropout(0.5)),
                ("fc8", nn.Linear(4096, 1000)),
            ]
        )
    )


def build_resnet50_v1() -> nn.Module:
    """ResNet-50 v1 (He et al. 2015): torchvision's resnet50 with the stride moved.

    torchvision's Bottleneck is "v1.5": a downsampling block puts its stride on
    the 3x3 conv (conv2).  The paper's v1 puts it on the first 1x1 conv
    (conv1).  The parameter count is unchanged.  In both variants the 3x3 conv
    produces the half-resolution output, so its MACs are unchanged; only the
    first 1x1 conv of the three strided blocks (layer2.0, layer3.0, layer4.0)
    now runs at the reduced resolution, so v1 has fewer MACs than v1.5.
    """
    model = tvm.resnet50(weights=None)
    for module in model.modules():
        if isinstance(module, Bottleneck) and module.stride != 1:
            stride = module.conv2.stride
            module.conv1.stride = stride
            module.conv2.stride = (1, 1)
    return model


HANDBUILT_MODELS: "OrderedDict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]]" = OrderedDict(
    [
        ("mobilenet_v1", (build_mobilenet_v1, DEFAULT_INPUT)),
        ("alexnet_2012", (build_alexnet_2012, (1, 3, 227, 227))),
        ("resnet50_v1", (build_resnet50_v1, DEFAULT_INPUT)),
    ]
)


# ---------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------


def _first_tensor(output: object) -> torch.Tensor:
    """Return the tensor a leaf module produced (leaf modules here return one tensor)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise TypeError(f"unexpected module output type {type(output).__name__}")


def layer_macs(module: nn.Module, out: torch.Tensor) -> int:
    """MACs of one call of a module, per the definition in the module docstring."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        rows = out.numel() // module.out_features
        return module.in_features * module.out_features * rows
    return 0


def measure(model: nn.Module, input_shape: tuple[int, ...]) -> dict:
    """Run one forward pass with leaf-module hooks and return the model's record."""
    model.eval()
    records: list[dict] = []
    handles = []

    for name, module in model.named_modules():
        if any(True for _ in module.children()):
            continue  # not a leaf

        def hook(mod: nn.Module, _inputs: tuple, output: object, _name: str = name) -> None:
            out = _first_tensor(output)
            records.append(
                {
                    "name": _name,
                    "type": type(mod).__name__,
                    "shape": list(out.shape[1:]),
                    "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                    "macs": layer_macs(mod, out),
                }
            )

        handles.append(module.register_forward_hook(hook))

    try:
        with torch.no_grad():
            output = _first_tensor(model(torch.zeros(input_shape)))
    finally:
        for handle in handles:
            handle.remove()

    buffers = 0
    nbt_count = 0
    for buf_name, buf in model.named_buffers():
        if buf_name.rsplit(".", 1)[-1] == "num_batches_tracked":
            nbt_count += 1
        else:
            buffers += buf.numel()

    return {
        "input_shape": list(input_shape),
        "output_shape": list(output.shape[1:]),
        "params": sum(p.numel() for p in model.parameters()),
        "buffers": buffers,
        "num_batches_tracked_count": nbt_count,
        "macs": sum(r["macs"] for r in records),
        "layer_count": len(records),
        "layers": records,
    }


def main() -> int:
    torch.manual_seed(0)
    result: dict = {
        "meta": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "generator": "tools/torchvision_reference.py",
            "macs": (
                "per image, bias adds not counted; Conv2d: out.numel()*(in_channels//groups)*kh*kw; "
                "Linear: in_features*out_features*rows; other modules 0"
            ),
            "layers": (
                "one record per leaf-module call in execution order; shape excludes batch dim; "
                "params = module's own parameter elements, repeated for repeated calls"
            ),
            "buffers": "buffer elements excluding num_batches_tracked",
        },
        "torchvision": {},
        "handbuilt": {},
    }

    for name, build in TORCHVISION_MODELS.items():
        result["torchvision"][name] = measure(build(), DEFAULT_INPUT)
        _report(name, result["torchvision"][name])

    for name, (build, input_shape) in HANDBUILT_MODELS.items():
        result["handbuilt"][name] = measure(build(), input_shape)
        _report(name, result["handbuilt"][name])

    OUTPUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT_PATH.open("w", encoding="utf-8") as fh:
        json.dump(result, fh, sort_keys=True, indent=1)
        fh.write("\n")
    print(f"wrote {OUTPUT_PATH}")
    return 0


def _report(name: str, rec: dict) -> None:
    print(
        f"{name:15s} params={rec['params']:>13,d} macs={rec['macs']:>16,d} "
        f"buffers={rec['buffers']:>8,d} nbt={rec['num_batches_tracked_count']:>3d} "
        f"out={rec['output_shape']} layers={rec['layer_count']}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
