"""`cnncalc import` on models written in files and packages (CPU torch 2.13.0; torchvision's
models are in test_import_torchvision.py): names, totals, the torch.export fallback, and every
bad input as one line with exit 2 and nothing written.  PyTorch is the oracle: the model's own
``parameters()``, its forward hooks and a forward pass of the built spec."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.importer import (ImportFailure, import_model, is_model_source,  # noqa: E402
                                       load_model, parse_args)

NETS = textwrap.dedent('''
    import torch
    from torch import nn
    import torch.nn.functional as F


    class Small(nn.Module):
        def __init__(self, width: int = 8, classes: int = 10):
            super().__init__()
            self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(width)
            self.conv1 = nn.Conv2d(width, width, 3, padding=1)
            self.conv2 = nn.Conv2d(width, width, 3, padding=1)
            self.fc = nn.Linear(width, classes)

        def forward(self, x):
            x = F.relu(self.bn(self.stem(x)))
            x = x + self.conv2(F.relu(self.conv1(x)))
            x = F.adaptive_avg_pool2d(x, 1)
            return self.fc(torch.flatten(x, 1))


    class Sized(Small):
        def forward(self, x):
            x = F.relu(self.bn(self.stem(x)))
            if x.shape[-1] >= 32:
                x = F.max_pool2d(x, 2)
            x = x + self.conv2(F.relu(self.conv1(x)))
            return self.fc(x.mean((2, 3)))


    class Data(Small):
        def forward(self, x):
            if x.sum() > 0:
                x = -x
            return super().forward(x)


    class Needs(nn.Module):
        def __init__(self, depth, width=4):
            super().__init__()
            self.conv = nn.Conv2d(3, width, 3)


    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.norm = nn.GroupNorm(2, 8)

        def forward(self, x):
            return self.norm(self.conv(x))


    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))


    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.spare = nn.Linear(4, 4)

        def forward(self, x):
            return self.conv(x)


    class Gate(nn.Module):
        """Squeeze-and-excitation, ShuffleNet's split and shuffle, a layer scale, a side head."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.fc1 = nn.Conv2d(16, 4, 1)
            self.fc2 = nn.Conv2d(4, 16, 1)
            self.branch = nn.Conv2d(8, 8, 1)
            self.gamma = nn.Parameter(torch.ones(16, 1, 1))
            self.side = nn.Linear(16, 3)
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            x = self.conv(x)
            s = F.adaptive_avg_pool2d(x, 1)
            x = x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
            a, b = x.chunk(2, dim=1)
            x = torch.cat((a, self.branch(b)), dim=1)
            n, c, h, w = x.size()
            x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
            x = self.gamma * x
            v = x.mean((2, 3))
            return self.head(v), self.side(v)
''')


@pytest.fixture
def nets(tmp_path):
    path = tmp_path / "nets.py"
    path.write_text(NETS, encoding="utf-8")
    return path


def the_model(nets: Path, name: str):
    namespace: dict = {}
    exec(compile(NETS, str(nets), "exec"), namespace)
    return namespace[name]().eval()


def test_sources_are_told_from_spec_paths():
    for source in ("torchvision:resnet18", "net.py:Net", "dir/net.py:Net", "pkg.mod:Net",
                   "mod:make_net"):
        assert is_model_source(source), source
    for source in ("net.yaml", "zoo:resnet18", "specs/lenet5.yaml", "-", "a:b.yaml",
                   "input: 8x8x3\nlayers: [relu]\n"):
        assert not is_model_source(source), source


def test_arguments_are_yaml_scalars():
    assert parse_args(["num_classes=10", "aux_logits=false", "width_mult=0.5", "name=x"]) == {
        "num_classes": 10, "aux_logits": False, "width_mult": 0.5, "name": "x"}
    with pytest.raises(ImportFailure, match="write key=value"):
        parse_args(["10"])


def test_a_residual_net_from_a_file(nets):
    imported = import_model(f"{nets}:Small", input_volume="32x32x3")
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    model = the_model(nets, "Small")
    # PyTorch's count: stem 3·8·9 = 216, bn 16, conv1 and conv2 (8·8·9 + 8) = 584 each,
    # fc 8·10 + 10 = 90: 1,490
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 1_490
    assert report.claims_ok and len(report.claims) == 3
    assert "residual:" in imported.text
    names = [r.name for r in report.layers]
    assert names == ["stem", "bn", "relu", "conv1", "relu@2", "conv2", "global_pool",
                     "flatten", "fc"]
    # every module-made layer is a module of the model, by its qualified name
    modules = dict(model.named_modules())
    assert {n for n in names if "@" not in n} - {"relu", "global_pool", "flatten"} <= set(modules)
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok


def test_the_layers_see_what_the_models_modules_see(nets):
    model = the_model(nets, "Small")
    seen = {}

    def record(name):
        def hook(module, inputs, output):
            seen.setdefault(name, list(output.shape[1:]))
        return hook

    for name, module in model.named_modules():
        if name:
            module.register_forward_hook(record(name))
    model(torch.zeros(1, 3, 32, 32))
    report = cnncalc.analyze(cnncalc.load(import_model(f"{nets}:Small",
                                                       input_volume="32x32x3").text))
    rows = {r.name: r.shape.dims() for r in report.layers}
    assert seen and all(rows[name] == shape for name, shape in seen.items())


def test_gates_splits_shuffles_scales_and_side_outputs(nets):
    imported = import_model(f"{nets}:Gate", input_volume="8x8x3")
    for text in ("merge: mul", "split: {parts: 2, index: 1}", "shuffle: 2", "layer_scale",
                 "merge: first", "sigmoid"):
        assert text in imported.text, text
    spec = cnncalc.load(imported.text)
    report = cnncalc.analyze(spec)
    model = the_model(nets, "Gate")
    # conv 3·16·9 + 16 = 448; fc1 16·4 + 4 = 68; fc2 4·16 + 16 = 80; branch 8·8 + 8 = 72;
    # gamma 16; side 16·3 + 3 = 51; head 16·5 + 5 = 85: 820
    assert report.totals.params == sum(p.numel() for p in model.parameters()) == 820
    assert report.output_shape.dims() == [5]
    assert report.claims_ok
    assert backend.verify(spec, device="cpu", iters=0).ok


def test_control_flow_on_the_size_falls_back_to_torch_export(nets):
    imported = import_model(f"{nets}:Sized", input_volume="32x32x3")
    assert len(imported.notes) == 1
    assert "traced with torch.export at 32×32×3" in imported.notes[0]
    assert "control flow was fixed for that input size" in imported.notes[0]
    assert "if x.shape[-1] >= 32:" in imported.notes[0]
    report = cnncalc.analyze(cnncalc.load(imported.text))
    assert report.claims_ok
    assert [r.kind for r in report.layers][:4] == ["conv", "bn", "relu", "pool"]
    assert report.layers[3].shape.dims() == [8, 16, 16]


def test_a_module_called_twice_shares_its_weights(nets):
    """The second call is written with ``share: conv`` (issue 17): params once, MACs twice,
    as PyTorch counts them; no note is needed any more."""
    imported = import_model(f"{nets}:Shared", input_volume="8x8x4")
    assert "share: conv" in imported.text
    assert not any("called 2 times" in note for note in imported.notes)
    report = cnncalc.analyze(cnncalc.load(imported.text))
    # conv: (3·3·4)·4 + 4 = 148 params once; 8·8·4·36 = 9,216 MACs per call
    assert report.totals.params == 148
    assert report.totals.macs == 2 * 9216
    assert report.claims_ok


def test_a_module_never_called_is_noted(nets):
    imported = import_model(f"{nets}:Unused", input_volume="8x8x3")
    # spare: 4·4 + 4 = 20 params that forward() never uses; the model has 3·4·9 + 4 + 20 = 132
    assert imported.notes == ("spare (20 params) is never called by forward(): the spec leaves "
                              "it out, so its params are below the model's 132",)
    report = cnncalc.analyze(cnncalc.load(imported.text))
    assert report.totals.params == 112 and not report.claims_ok


def test_inspect_check_lint_and_verify_take_a_source(cli, nets):
    source = f"{nets}:Small"
    assert cli("inspect", source).exit_code == 0
    result = cli("check", source)
    assert result.exit_code == 0 and "all 3 claims right" in result.stdout
    assert cli("lint", source).exit_code == 0
    result = cli("verify", source, "--iters", "0", "--device", "cpu")
    assert result.exit_code == 0 and "agree with PyTorch" in result.stdout


def test_import_writes_the_file(cli, nets, tmp_path):
    out = tmp_path / "net.yaml"
    result = cli("import", f"{nets}:Small", "-o", out, "--input", "32x32x3", "--arg", "width=4")
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    report = cnncalc.analyze(cnncalc.load(out))
    # width 4: stem 108, bn 8, conv1/conv2 148 each, fc 50
    assert report.totals.params == 462 and report.claims_ok


def test_a_package_module_source(cli, nets, monkeypatch):
    monkeypatch.syspath_prepend(str(nets.parent))
    result = cli("import", "nets:Small", "--input", "16x16x3")
    assert result.exit_code == 0, result.stderr
    assert "input: 16x16x3" in result.stdout
    spec, notes = load_model("nets:Small", input_volume="16x16x3")
    assert notes == () and cnncalc.analyze(spec).totals.params == 1_490


BAD = {
    "missing file": ("{dir}/none.py:Small", [], "cnncalc: error: {dir}/none.py: no such file"),
    "name not in module": ("{nets}:Smal", [], "cnncalc: error: {nets}: has no 'Smal'; did you "
                                              "mean Small?"),
    "needs arguments": ("{nets}:Needs", [], "cnncalc: error: {nets}:Needs: needs depth; give "
                                            "--arg depth=…"),
    "untraceable": ("{nets}:Data", ["--input", "32x32x3"],
                    "cnncalc: error: {nets}:Data: neither torch.fx nor torch.export can trace "
                    "its forward at {nets}:{data_line} (if x.sum() > 0:)"),
    "no kind": ("{nets}:Grouped", ["--exact"], "cnncalc: error: {nets}:Grouped: norm is a GroupNorm, "
                                      "which has no cnncalc kind; the nearest kind is "
                                      "layer_norm (at {nets}:{norm_line}: return self.norm(self.conv(x)))"),
    "bad input": ("{nets}:Small", ["--input", "100"], "cnncalc: error: --input 100: give an "
                                                      "image volume W×H×D"),
    "no torchvision": ("torchvision:resnet18", [], "cnncalc: error: torchvision:resnet18: "),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_writes_nothing(cli, nets, tmp_path, case):
    source, extra, message = BAD[case]
    if case == "no torchvision" and _has_torchvision():
        pytest.skip("torchvision is installed here")
    where = {f"{key}_line": next(i for i, text in enumerate(NETS.splitlines(), 1) if code in text)
             for key, code in (("data", "if x.sum() > 0:"), ("norm", "return self.norm("))}
    source = source.format(dir=tmp_path, nets=nets)
    out = tmp_path / "out.yaml"
    result = cli("import", source, "-o", out, *extra)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(message.format(dir=tmp_path, nets=nets, **where)), lines[0]
    assert not out.exists()
    assert result.stdout == ""


def _has_torchvision() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return True


def test_an_existing_output_is_kept(cli, nets, tmp_path):
    out = tmp_path / "net.yaml"
    out.write_text("mine", encoding="utf-8")
    result = cli("import", f"{nets}:Small", "-o", out)
    assert result.exit_code == 2 and "exists; nothing was written" in result.stderr
    assert out.read_text(encoding="utf-8") == "mine"


def test_without_torch_it_says_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from cnncalc.cli import main\n"
            "main(['import', 'net.py:Net'])\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "cnncalc: error: PyTorch is not installed; install the extra: pip install "
        "'cnncalc[torch]' (on a machine without a GPU, first pip install torch==2.13.0 to get "
        "the CPU build)"]


def test_the_importer_and_inspect_never_import_torch():
    code = ("import sys\n"
            "import cnncalc.backends.importer\n"
            "from cnncalc.cli import main\n"
            "try:\n"
            "    main(['inspect', 'zoo:resnet18'])\n"
            "except SystemExit:\n"
            "    pass\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def test_ci_runs_the_readmes_torchvision_command():
    import re

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", setup)
    torchvision_command = next(c for c in commands if "torchvision==" in c)
    assert "torchvision==0.29.1" in torchvision_command and "-m torchvision" in torchvision_command
    ci = (root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert torchvision_command in ci
    assert ci.index(torchvision_command) > ci.index(commands[2])  # after the main suite
