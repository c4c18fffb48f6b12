"""`cnncalc export --to pytorch`: the generated file builds the same network, for every
bundled spec, and depends on torch alone."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import cnncalc
from cnncalc.backends.export import to_python

SPEC_DIR = Path(__file__).resolve().parent.parent / "cnncalc" / "specs"
ZOO = sorted(SPEC_DIR.glob("*.yaml"))


def load_module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_export_round_trip(path, tmp_path):
    torch = pytest.importorskip("torch")
    spec = cnncalc.load(path)
    out = tmp_path / f"{path.stem}_net.py"
    out.write_text(to_python(spec, str(path)), encoding="utf-8")
    module = load_module(out, f"exported_{path.stem}")
    report = cnncalc.analyze(spec, explain=False)
    # On the meta device PyTorch computes every shape and allocates nothing: big nets are free.
    with torch.device("meta"):
        net = module.Net()
        y = net.eval()(torch.empty(2, *module.Net.input_shape))
    assert sum(p.numel() for p in net.parameters()) == report.totals.params
    assert list(y.shape) == [2, *report.output_shape.dims()]
    assert "import cnncalc" not in out.read_text() and "from cnncalc" not in out.read_text()


def test_exported_lenet_runs_without_cnncalc(tmp_path, python):
    pytest.importorskip("torch")
    out = tmp_path / "lenet.py"
    out.write_text(to_python(cnncalc.load(SPEC_DIR / "lenet5_1998.yaml")), encoding="utf-8")
    r = python(f"import runpy; runpy.run_path({str(out)!r}, run_name='__main__')\n",
               hide=("cnncalc",), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # LeNet-5 1998: 10 RBF outputs; 60,000 trainable + 840 hand-set RBF weights.
    assert "output (1, 10) params 60840" in r.stdout
    assert "(C3): ConnectionConv2d(6, 16" in r.stdout


def test_export_needs_no_torch(python):
    r = python("import cnncalc\n"
               "from cnncalc.backends.export import to_python\n"
               "text = to_python(cnncalc.load('zoo:lenet5_1998'))\n"
               "assert 'class Net(nn.Module)' in text and 'class RBF(nn.Module)' in text\n",
               hide=("torch",))
    assert r.returncode == 0, r.stderr


def test_export_cli_writes_and_never_overwrites(cli, tmp_path):
    out = tmp_path / "net.py"
    r = cli("export", SPEC_DIR / "lenet5.yaml", "--to", "pytorch", "-o", out)
    assert r.exit_code == 0, r.output
    first = out.read_text()
    assert "class Net(nn.Module):" in first and "def __init__(self):" in first
    out.write_text("# mine\n")
    r = cli("export", SPEC_DIR / "lenet5.yaml", "--to", "pytorch", "-o", out)
    assert r.exit_code == 2 and "--force" in r.stderr
    assert out.read_text() == "# mine\n"
    r = cli("export", SPEC_DIR / "lenet5.yaml", "--to", "pytorch", "-o", out, "--force")
    assert r.exit_code == 0 and out.read_text() == first


def test_export_cli_to_stdout(cli):
    r = cli("export", SPEC_DIR / "resnet_mini.yaml", "--to", "pytorch")
    assert r.exit_code == 0
    # the spec's names are the module names; an unnamed residual runs by the block's program
    assert "self.mixed = Block(" in r.stdout and "class Block(nn.Module):" in r.stdout
    assert "program=[('concat', [['branch1'], ['branch2'], ['branch3']])]" in r.stdout
    assert "program=[('residual', ['conv1', 'bn1', 'relu1', 'conv2', 'bn2'], ['shortcut']), " \
           "'relu2']" in r.stdout
    compile(r.stdout, "<export>", "exec")


def test_export_bad_spec_exits_2(cli, write):
    r = cli("export", write("name: t\ninput: 4x4x1\nlayers: [{conv: {filters: 2, size: 9}}]\n"),
            "--to", "pytorch")
    assert r.exit_code == 2 and "larger than the padded input" in r.stderr


def test_export_cli_cannot_write_is_one_error_line(cli, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "net.py"
    r = cli("export", SPEC_DIR / "lenet5.yaml", "--to", "pytorch", "-o", out)
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        f"{out}: error: cannot write: No such file or directory; "
        f"check that its folder exists and is writable"]
    assert not out.exists()
