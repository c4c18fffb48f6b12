"""The PyTorch model's qualified names are the spec's names (issue 9, item 5)."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.export import to_python  # noqa: E402

SPECS = sorted((Path(cnncalc.__file__).parent / "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_layer_is_named_as_inspect_names_it(path):
    spec = cnncalc.load(path)
    with torch.device("meta"):  # names only: no weight is initialised
        model, names, _ = backend.build(spec)
    qualified = {module: name for name, module in model.named_modules()}
    report = cnncalc.analyze(spec)
    assert sorted(qualified[m] for m in names) == sorted(r.name for r in report.layers)
    for module, name in names.items():
        assert qualified[module] == name


def test_the_issue_example_keeps_its_names():
    # An unnamed branches inside a named path: skip1.branch2.branch2.up2 stays exactly that
    spec = cnncalc.load("""\
input: 16x16x4
layers:
  - branches:
      paths:
        - []
        - - conv: {filters: 4, size: 3, pad: 1}
          - branches:
              paths:
                - []
                - - upsample: 2
                    name: up1
                  - pool: 2
                    name: up2
    name: skip1
""")
    model, names, _ = backend.build(spec)
    got = {name for name, _ in model.named_modules()}
    assert {"skip1.branch2.conv1", "skip1.branch2.branch2.up1", "skip1.branch2.branch2.up2"} <= got
    y = model(torch.randn(1, 4, 16, 16))
    assert tuple(y.shape) == (1, 12, 16, 16)  # 4 + (4 + 4): the concat of concats


def test_a_top_level_residual_exports_and_runs(tmp_path):
    spec = cnncalc.load("input: 8x8x4\nlayers:\n  - residual:\n      main:\n"
                        "        - conv: {filters: 4, size: 3, pad: 1}\n  - relu\n")
    source = to_python(spec)
    assert "    forward = Block.forward\n    run = Block.run\n" in source
    namespace = {}
    exec(compile(source, "net.py", "exec"), namespace)
    net = namespace["Net"]()
    assert [name for name, _ in net.named_modules()][1:] == ["conv1", "relu1"]
    x = torch.randn(2, 4, 8, 8)
    direct = torch.relu(net.conv1(x) + x)
    assert torch.equal(net(x), direct)
