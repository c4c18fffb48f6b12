"""``cnncalc sizes`` against PyTorch: the smallest square input that each torchvision
classification CNN runs on, found by running the model itself (eval mode, CPU, batch 1,
no_grad), equals cnncalc's, for every bundled spec that is a torchvision model and for
torchvision CNNs without a bundled spec (imported with ``cnncalc import``).

Only the edge is run: the smallest size runs, the one below fails, and a few more on either
side agree with cnncalc's set, so the whole file stays within a minute of CPU.  Marked
``torchvision``: CI runs it in its torchvision environment (.ci/run)."""

from __future__ import annotations

import pytest

from torchvision_needed import load

torch = load("torch")
torchvision = load("torchvision")
tvm = torchvision.models
pytestmark = pytest.mark.torchvision

import cnncalc  # noqa: E402
from cnncalc.backends.importer import import_model  # noqa: E402
from cnncalc.input_sizes import find_sizes  # noqa: E402
from cnncalc.zoo import names as zoo_names  # noqa: E402

# every bundled spec that is a torchvision model, built as its spec describes it
SPECIAL = {
    "googlenet": lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=False),
    "inception_v3": lambda: tvm.inception_v3(weights=None, init_weights=False),
}
BUNDLED = sorted(n for n in zoo_names() if n in SPECIAL or n in tvm.list_models(tvm))


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """PyTorch on one thread for these tiny ops (conftest.py's one_torch_thread)."""


def build(name: str):
    return SPECIAL[name]() if name in SPECIAL else tvm.get_model(name, weights=None)


def runs(model, x: int, batch: int = 1) -> bool:
    with torch.no_grad():
        try:
            model(torch.zeros(batch, 3, x, x))
        except RuntimeError:
            return False
    return True


def probe(model, runs_set) -> list:
    """Where PyTorch and cnncalc's set disagree, around the smallest size and a few others."""
    m = runs_set.minimum
    xs = sorted({x for x in (1, 2, m // 2, m - 2, m - 1, m, m + 1, m + 5) if x >= 1})
    return [(x, x in runs_set) for x in xs if runs(model, x) != (x in runs_set)]


def test_the_bundled_torchvision_specs_are_the_expected_ones():
    assert len(BUNDLED) >= 19 and {"googlenet", "inception_v3", "squeezenet1_0"} <= set(BUNDLED)


@pytest.mark.parametrize("name", BUNDLED)
def test_smallest_input_of_a_bundled_spec_is_pytorchs_in_eval_mode(name):
    axis = find_sizes(cnncalc.load(f"zoo:{name}")).axes[0]
    model = build(name).eval()
    assert probe(model, axis.runs) == []


def test_the_issues_figures():
    # googlenet 15 and squeezenet1_0 21 (ceil-mode pools), inception_v3 75 in eval mode
    for name, least in (("googlenet", 15), ("squeezenet1_0", 21), ("inception_v3", 75)):
        assert find_sizes(cnncalc.load(f"zoo:{name}")).axes[0].runs.minimum == least


def test_inception_v3_in_training_needs_299_for_its_aux_head():
    found = find_sizes(cnncalc.load("zoo:inception_v3"))
    assert found.mode == "eval"
    axis = found.axes[0]
    assert axis.runs.text() == "every H ≥ 75"
    assert axis.training is not None and axis.training.text() == "every H ≥ 299"
    model = build("inception_v3").train()
    # batch 2: batch norm in training needs more than one value per channel
    assert runs(model, 299, batch=2) and not runs(model, 298, batch=2)
    # in eval mode the aux head does not run: 75 runs, 74 does not
    model.eval()
    assert runs(model, 75) and not runs(model, 74)


# torchvision CNNs without a bundled spec: imported, then asked.  One or two of each family
# the bundled specs leave out (the rest of a family shares its edges: the same stem and pools).
IMPORTED = ["squeezenet1_1", "vgg11_bn", "wide_resnet50_2", "densenet161", "mnasnet0_5",
            "mobilenet_v3_small", "shufflenet_v2_x0_5", "efficientnet_b1", "efficientnet_v2_s",
            "regnet_x_400mf"]


@pytest.mark.parametrize("name", IMPORTED)
def test_smallest_input_of_an_imported_torchvision_cnn_is_pytorchs(name):
    spec = cnncalc.load(import_model(f"torchvision:{name}").text)
    axis = find_sizes(spec).axes[0]
    model = build(name).eval()
    assert probe(model, axis.runs) == []
