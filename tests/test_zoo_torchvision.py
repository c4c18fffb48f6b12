"""The zoo against live torchvision models, layer by layer.

Marked ``torchvision``: CI runs it in its torchvision environment (see .ci/run and the README);
in the main environment it is skipped, and tests/test_zoo.py makes the same comparison against
the committed measurements.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from torchvision_needed import load  # noqa: E402

torch = load("torch")
torchvision = load("torchvision")
pytestmark = pytest.mark.torchvision

from cnncalc.engine import analyze  # noqa: E402
from cnncalc.spec import load  # noqa: E402

TOOL = Path(__file__).resolve().parent.parent / "tools" / "torchvision_reference.py"


def tool():
    spec = importlib.util.spec_from_file_location("torchvision_reference", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODELS = tool()
BUILDERS = {name: (build, (1, 3, 224, 224)) for name, build in MODELS.TORCHVISION_MODELS.items()}
BUILDERS.update(MODELS.HANDBUILT_MODELS)


def measured(model, input_shape):
    """Every Conv2d/Linear call, in execution order: (kind, output shape, params, MACs)."""
    calls = []

    def hook(module, inputs, output):
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            macs = output.numel() * (module.in_channels // module.groups) * kh * kw
            kind = "conv"
        else:
            macs = module.in_features * module.out_features
            kind = "fc"
        params = sum(p.numel() for p in module.parameters(recurse=False))
        calls.append((kind, list(output.shape[1:]), params, macs))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(input_shape))
    for h in handles:
        h.remove()
    return calls, list(out.shape[1:])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_spec_matches_the_live_model(name):
    build, input_shape = BUILDERS[name]
    model = build()
    calls, output = measured(model, input_shape)
    report = analyze(load(f"zoo:{name}"))
    rows = [(r.kind, r.shape.dims(), r.counts.params, r.counts.macs) for r in report.layers
            if r.kind in ("conv", "fc")]
    assert len(rows) == len(calls)
    for i, (row, call) in enumerate(zip(rows, calls)):
        assert row == call, f"conv/fc #{i}"
    assert report.totals.params == sum(p.numel() for p in model.parameters())
    assert report.totals.macs == sum(c[3] for c in calls)
    assert report.output_shape.dims() == output
