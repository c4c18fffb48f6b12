"""`cnncalc verify`: the engine against PyTorch on every bundled spec, LeNet-5's 1998 layers
worked by hand, the command's output and its errors.  PyTorch is the oracle throughout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import cnncalc  # noqa: E402
from cnncalc.backends import recipes as planmod  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.backends.extra_modules import RBF, ConnectionConv2d, Subsampling  # noqa: E402
from cnncalc.layers import REGISTRY  # noqa: E402
from conftest import verify_on_meta  # noqa: E402

SPEC_DIR = Path(__file__).resolve().parent.parent / "cnncalc" / "specs"
ZOO = sorted(SPEC_DIR.glob("*.yaml"))  # collected at import time: new zoo specs are picked up
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_every_registered_kind_has_a_builder():
    # a builder, or the plain module its class names (elementwise kinds)
    missing = {key for key, cls in REGISTRY.items()
               if key not in planmod.BUILDERS and cls.module is None}
    assert not missing, missing
    both = {key for key, cls in REGISTRY.items() if key in planmod.BUILDERS and cls.module}
    assert not both, f"{both}: a builder and a module; keep one"
    assert set(planmod.BUILDERS) <= set(REGISTRY), set(planmod.BUILDERS) - set(REGISTRY)


def test_child_names_never_shadow_module_attributes():
    public = {n for n in dir(torch.nn.Module) if not n.startswith("_")}
    assert public <= planmod.RESERVED, public - planmod.RESERVED


# Kinds whose MACs PyTorch's counter cannot see (README, verify section): trainable pooling
# multiplies elementwise, RBF subtracts, squares and sums.
UNCOUNTED_KINDS = {"rbf", "pool"}


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_spec_verifies(path):
    result = verify_on_meta(cnncalc.load(path))  # every count PyTorch's, no arithmetic
    bad = [c for c in result.layers if not c.ok]
    assert result.ok, bad[:5]
    layers = result.layers
    # the whole module's counts are the leaves' counts: nothing lives or runs outside a leaf
    assert result.torch_params == sum(c.torch_params for c in layers)
    assert result.torch_trainable_params == sum(c.torch_trainable_params for c in layers)
    assert result.torch_buffers == sum(c.torch_buffers for c in layers)
    assert result.torch_macs == sum(c.torch_macs for c in layers if c.macs_compared)
    # every count was compared; MACs too, except where the counter cannot see them
    assert all(c.torch_macs is not None for c in layers if c.macs_compared)
    unseen = [c for c in layers if not c.macs_compared]
    assert {c.kind for c in unseen} <= UNCOUNTED_KINDS, unseen
    assert result.macs_unchecked == sum(c.macs for c in unseen)
    assert result.torch_macs > 0


# --- LeNet-5 (1998) pieces, worked by hand ---------------------------------------------------

TABLE = ((0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5), (0, 1, 2, 3),
         (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5), (0, 1, 3, 4),
         (1, 2, 4, 5), (0, 2, 3, 5), (0, 1, 2, 3, 4, 5))


def test_connection_conv_holds_exactly_the_tables_weights():
    conv = ConnectionConv2d(6, TABLE, (5, 5))
    # Table I: 60 connections of 5×5 kernels, one bias per map: the paper's 1,516.
    assert conv.weight.shape == (60, 5, 5)
    assert sum(p.numel() for p in conv.parameters()) == 60 * 25 + 16 == 1516
    x = torch.randn(2, 6, 14, 14)
    y = conv(x)
    # Each output map is the sum of its listed inputs' correlations, worked out map by map.
    k = 0
    for out, maps in enumerate(TABLE):
        expect = conv.bias[out].expand(2, 10, 10).clone()
        for i in maps:
            expect += F.conv2d(x[:, i:i + 1], conv.weight[k].view(1, 1, 5, 5))[:, 0]
            k += 1
        torch.testing.assert_close(y[:, out], expect, rtol=1e-5, atol=1e-5)


def test_trainable_subsampling_is_coefficient_times_sum_plus_bias():
    pool = Subsampling(2, (2, 2), (2, 2))
    with torch.no_grad():
        pool.weight.copy_(torch.tensor([0.5, -2.0]))
        pool.bias.copy_(torch.tensor([1.0, 3.0]))
    x = torch.arange(32, dtype=torch.float32).view(1, 2, 4, 4)
    y = pool(x)
    # map 0, top-left window: 0 + 1 + 4 + 5 = 10 → 0.5·10 + 1 = 6
    assert y[0, 0, 0, 0].item() == 6.0
    # map 1, bottom-right window: 26 + 27 + 30 + 31 = 114 → −2·114 + 3 = −225
    assert y[0, 1, 1, 1].item() == -225.0
    assert sum(p.numel() for p in pool.parameters()) == 4


def test_rbf_is_the_squared_distance_to_each_weight_vector():
    rbf = RBF(3, 2)
    with torch.no_grad():
        rbf.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [2.0, 2.0, 2.0]]))
    y = rbf(torch.tensor([[1.0, 2.0, 3.0]]))
    # (0² + 2² + 4², 1² + 0² + 1²); no bias
    assert y.tolist() == [[20.0, 2.0]]
    assert [n for n, _ in rbf.named_parameters()] == ["weight"]


def test_lenet_1998_module_tree_reads_like_the_spec():
    model, names, _ = backend.build(cnncalc.load("zoo:lenet5_1998"))
    text = str(model)
    for piece in ("(C1): Conv2d(1, 6", "(S2): Subsampling(6", "(C3): ConnectionConv2d(6, 16",
                  "(OUTPUT): RBF(in_features=84, out_features=10)"):
        assert piece in text
    assert not any(p.requires_grad for p in model.OUTPUT.parameters())  # frozen: true


# --- shapes PyTorch itself cannot pad -------------------------------------------------------

def test_same_padding_with_an_odd_total_and_a_stride():
    spec = cnncalc.load("name: t\ninput: 7x7x3\nlayers:\n"
                        "  - conv: {filters: 5, size: 4, stride: 2, pad: keep}\n"
                        "  - conv: {filters: 4, size: [2, 3], pad: same}\n")
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok
    # The notes' padding (keep) keeps N at any stride: 2p = N(s − 1) + F − s = 7 + 4 − 2 = 9, split
    # 4 + 5, and (7 − 4 + 9)/2 + 1 = 7; then F = 2 (1 px, after) and F = 3 (1 + 1) keep 7×7.
    assert [c.torch_shape for c in result.layers] == [[5, 7, 7], [4, 7, 7]]
    assert [c.torch_params for c in result.layers] == [4 * 4 * 3 * 5 + 5, 2 * 3 * 5 * 4 + 4]


def test_names_with_dots_map_to_their_rows():
    spec = cnncalc.load("""name: t
input: 8x8x4
blocks:
  block:
    layers:
      - residual: {main: [{conv: {filters: 4, size: 3, pad: 1}}, bn]}
      - relu
layers:
  - use: block
    name: layer2.0
  - repeat: {times: 2, layers: [{use: block}]}
    name: stage
""")
    model, names, _ = backend.build(spec)
    # layer2.0 nests, as torchvision's layer2[0]: a container layer2 holds the block 0
    assert [n for n, _ in model.named_children()] == ["layer2", "stage"]
    assert "layer2.0.conv1" in dict(model.named_modules())
    assert list(names.values()) == ["layer2.0.conv1", "layer2.0.bn1", "layer2.0.relu1",
                                    "stage.0.conv1", "stage.0.bn1", "stage.0.relu1",
                                    "stage.1.conv1", "stage.1.bn1", "stage.1.relu1"]
    assert backend.verify(spec, device="cpu", iters=0).ok


# --- the command ----------------------------------------------------------------------------

def test_verify_table_marks_every_layer(cli):
    r = cli("verify", SPEC_DIR / "lenet5_1998.yaml", "--iters", "2", "--warmup", "1")
    assert r.exit_code == 0, r.output
    assert r.stdout.count("✓") >= 15 and "✗" not in r.stdout
    assert "images/s" in r.stdout and "FLOP/s (2·MACs)" in r.stdout


def test_verify_json_shape(cli):
    r = cli("verify", SPEC_DIR / "resnet_mini.yaml", "--format", "json", "--batch", "2",
            "--iters", "4", "--warmup", "1", "--device", "cpu")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["ok"] is True and doc["device"] == "cpu"
    assert {"name", "ok", "shape", "torch_shape", "params", "torch_params", "trainable_params",
            "torch_trainable_params", "buffers", "torch_buffers", "macs", "torch_macs",
            "macs_compared"} <= set(doc["layers"][0])
    bn1 = next(d for d in doc["layers"] if d["name"] == "bn1")
    assert bn1["shape"][0] == 64 and bn1["buffers"] == bn1["torch_buffers"] == 2 * 64
    # the stem: 64 filters of 3·3·3 over 32·32 positions
    stem = doc["layers"][0]
    assert stem["macs"] == stem["torch_macs"] == 64 * 27 * 32 * 32
    t = doc["timing"]
    assert {"batch", "dtype", "iters", "median_ms", "p10_ms", "p90_ms", "images_per_s",
            "tflops"} <= set(t)
    assert (t["batch"], t["dtype"], t["iters"]) == (2, "fp32", 4)
    assert t["p10_ms"] <= t["median_ms"] <= t["p90_ms"]
    # both are rounded in the JSON (2 and 4 decimals): a slow run is off by the rounding alone
    assert t["images_per_s"] == pytest.approx(2 / (t["median_ms"] / 1e3), rel=1e-3, abs=0.01)


def test_verify_per_layer_shares(cli):
    r = cli("verify", SPEC_DIR / "lenet5_1998.yaml", "--format", "json", "--iters", "3",
            "--per-layer")
    shares = json.loads(r.stdout)["timing"]["per_layer"]
    assert len(shares) == 14 and sum(s["share"] for s in shares) == pytest.approx(1, abs=1e-3)


def test_a_mismatch_exits_1(cli, monkeypatch):
    # A builder that gets fc wrong by one unit: PyTorch disagrees, the row shows ✗.
    monkeypatch.setitem(planmod.BUILDERS, "fc", lambda layer, x: planmod.call(
        "nn.Linear", x.c, layer.hp["units"] + 1))
    r = cli("verify", "name: t\ninput: 4\nlayers: [{fc: 3}]\n", "--iters", "0")
    assert r.exit_code == 1
    row = next(line for line in r.stdout.splitlines() if "fc1" in line)
    # cnncalc's (4 + 1)·3 = 15 weights and 4·3 = 12 MACs against PyTorch's (4 + 1)·4 and 4·4
    assert "✗" in row and "3 ≠ 4" in row and "15 ≠ 20" in row and "12 ≠ 16" in row
    assert "  fc1: C×H×W 3 ≠ 4; params 15 ≠ 20; trainable 15 ≠ 20; MACs 12 ≠ 16" in r.stdout


# --- the broken builders each new check must catch --------------------------------------------

def cropped_conv(layer, x):
    """Conv2d padded one pixel more on every side, the extra border cropped off again: the
    same output and weights, (H + 2)·(W + 2) positions computed instead of H·W."""
    (top, _), (left, _) = layer.pads(x)
    hp = layer.hp
    conv = planmod.call("nn.Conv2d", x.c, layer.filters(x), hp["size"],
                        padding=(top + 1, left + 1), bias=hp["bias"])
    crop = planmod.call("nn.ZeroPad2d", -1)
    return planmod.call("nn.Sequential", planmod.Named((("conv", conv), ("crop", crop))))


BROKEN = {
    "macs": ("conv", cropped_conv),
    "buffers": ("bn", lambda layer, x: planmod.call("nn.BatchNorm2d", x.c,
                                                     track_running_stats=False)),
    "trainable_params": ("fc", lambda layer, x: planmod.call("nn.Linear", x.c, layer.hp["units"],
                                                             frozen=True)),
}
BROKEN_SPEC = ("name: t\ninput: 6x6x2\nlayers: [{conv: {filters: 3, size: 3, pad: 1}}, bn, relu,"
               " flatten, {fc: 4}]\n")


@pytest.mark.parametrize("count", BROKEN, ids=list(BROKEN))
def test_a_broken_builder_is_caught_by_its_count_alone(cli, monkeypatch, count):
    kind, broken = BROKEN[count]
    monkeypatch.setitem(planmod.BUILDERS, kind, broken)
    result = backend.verify(cnncalc.load(BROKEN_SPEC), device="cpu", iters=0)
    bad = [c for c in result.layers if not c.ok]
    # only the broken layer fails, and only on the count the break changes
    assert [(c.kind, [q.key for q in c.mismatches]) for c in bad] == [(kind, [count])]
    assert [q.key for q in result.totals() if not q.ok] == [count]
    c = bad[0]
    ours, theirs = {  # worked out by hand for the 6×6×2 input
        # 3·3·2·3 = 54 weights at 6·6 positions; PyTorch's cropped conv computes 8·8
        "macs": (54 * 36, 54 * 64),
        # BN over 3 maps keeps a running mean and variance; without tracking, none
        "buffers": (2 * 3, 0),
        # fc 108 → 4: (108 + 1)·4 weights, all frozen by the broken builder
        "trainable_params": (109 * 4, 0),
    }[count]
    assert (getattr(c, count), getattr(c, f"torch_{count}")) == (ours, theirs)
    r = cli("verify", BROKEN_SPEC, "--iters", "0", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["ok"] is False
    assert [(d["kind"], d["mismatches"]) for d in doc["layers"] if not d["ok"]] == [(kind, [count])]


def test_a_torch_error_inside_the_net_is_a_failed_row(monkeypatch):
    monkeypatch.setitem(planmod.BUILDERS, "fc", lambda layer, x: planmod.call(
        "nn.Linear", x.c + 1, layer.hp["units"]))
    result = backend.verify(cnncalc.load("name: t\ninput: 4\nlayers: [{fc: 3}, relu]\n"),
                            device="cpu", iters=0)
    assert not result.ok
    assert result.layers[0].error.startswith("RuntimeError") and result.layers[1].torch_shape is None
    # the total row too: the params agree, but PyTorch never produced the output
    from rich.console import Console

    from cnncalc.render import verify as view

    console = Console(width=120, record=True)
    console.print(view.checks_table(result))
    total = next(line for line in console.export_text().splitlines() if "total" in line)
    assert "✗" in total and "✓" not in total


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_asked_without_cuda_is_a_clear_error(cli):
    r = cli("verify", SPEC_DIR / "lenet5.yaml", "--device", "cuda")
    assert r.exit_code == 2
    assert "no CUDA device" in r.stderr and "--device cpu" in r.stderr


def test_out_of_memory_names_the_batch(cli, monkeypatch):
    def boom(*a, **k):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(backend, "check_layers", boom)
    r = cli("verify", SPEC_DIR / "lenet5.yaml", "--batch", "64", "--device", "cpu")
    assert r.exit_code == 2
    assert "batch 64" in r.stderr and "--batch 32" in r.stderr
    r = cli("verify", SPEC_DIR / "lenet5.yaml", "--batch", "1", "--device", "cpu")
    assert r.exit_code == 2
    assert "does not fit in memory on cpu even at batch 1" in r.stderr
    assert "--batch" not in r.stderr
    assert "cnncalc estimates" in r.stderr and "for one image in fp32" in r.stderr
    r = cli("verify", SPEC_DIR / "lenet5.yaml", "--device", "cpu", "--dtype", "bf16")
    assert r.exit_code == 2 and "for one image in bf16" in r.stderr


def test_summary_counts_one_layer_and_one_iteration_in_the_singular():
    from cnncalc.render import verify as view

    timing = backend.Timing(batch=1, dtype="fp32", warmup=0, iters=1, times_ms=(1.0,), macs=0)
    fc = backend.LayerCheck("fc", "fc", [1], [1], 11, 11, 11, 11, 0, 0, 10, 10)
    good = backend.Verification("t", "cpu", (fc,), 11, 11, [1], [1], 11, 11, 0, 0, 10, 10,
                                timing=timing)
    lines = view.summary_lines(good)
    assert lines[0] == "✓ the layer agrees with PyTorch (11 params, output 1)"
    assert "1 iteration after 0 warm-up" in lines[1]
    broken = backend.LayerCheck("fc", "fc", [1], None, 11, 11, 11, 11, 0, 0, 10, None,
                                error="boom")
    relu = backend.LayerCheck("relu", "relu", [1], None, 0, 0, 0, 0, 0, 0, 0, None)
    bad = backend.Verification("t", "cpu", (broken, relu), 11, 11, [1], None, 11, 11, 0, 0,
                               10, None)
    assert view.summary_lines(bad)[:2] == ["✗ 2 of 2 layers disagree with PyTorch",
                                           "  fc: boom"]
    relu_ok = backend.LayerCheck("relu", "relu", [1], [1], 0, 0, 0, 0, 0, 0, 0, 0)
    bad = backend.Verification("t", "cpu", (broken, relu_ok), 11, 11, [1], None, 11, 11, 0, 0,
                               10, None)
    assert view.summary_lines(bad)[0] == "✗ 1 of 2 layers disagrees with PyTorch"


def test_totals_that_disagree_under_agreeing_layers_are_named():
    from cnncalc.render import verify as view

    fc = backend.LayerCheck("fc", "fc", [1], [1], 11, 11, 11, 11, 0, 0, 10, 10)
    # a module outside every leaf would add counts only the whole net shows
    v = backend.Verification("t", "cpu", (fc,), 11, 11, [1], [1], 11, 11, 0, 4, 10, 12)
    assert not v.ok and fc.ok
    assert view.summary_lines(v)[:2] == [
        "✗ every layer agrees with PyTorch, but the whole net does not",
        "  total: buffers 0 ≠ 4; MACs 10 ≠ 12"]


# --- the counts PyTorch confirms, worked out by hand ----------------------------------------

def test_readme_names_every_module_whose_macs_are_not_compared():
    readme = (SPEC_DIR.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What verify compares", 1)[1].split("\n### ", 1)[0]
    for cls in backend.UNCOUNTED:
        assert f"`{cls.__name__}`" in section, cls
    for kind in UNCOUNTED_KINDS:
        assert f"- `{kind}`" in section, kind



def test_lenet_1998_json_carries_every_count(cli):
    r = cli("verify", "zoo:lenet5_1998", "--iters", "0", "--format", "json", "--device", "cpu")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    rows = {d["name"]: d for d in doc["layers"]}
    c1, s2, c3, s4, c5, f6, out = (rows[n] for n in ("C1", "S2", "C3", "S4", "C5", "F6",
                                                     "OUTPUT"))
    # C1: 6 filters of 5·5·1 at 28·28 positions, 2·MACs = FlopCounterMode's FLOPs
    assert c1["macs"] == c1["torch_macs"] == 28 * 28 * 6 * 25 == 117_600
    assert c1["macs_compared"] is True and "macs_note" not in c1
    # C3: the table's 60 kernels of 5·5 at 10·10; PyTorch runs the dense 16·6 kernel
    assert c3["macs"] == c3["torch_macs"] == 60 * 25 * 10 * 10 == 150_000
    assert "dense 16×6 kernel" in c3["macs_note"] and "240,000·60/96" in c3["macs_note"]
    assert (c5["torch_macs"], f6["torch_macs"]) == (120 * 16 * 25, 120 * 84)
    # S2, S4, OUTPUT: multiplies the counter cannot see, so not compared (and not faked)
    for row, macs in ((s2, 6 * 14 * 14), (s4, 16 * 5 * 5), (out, 84 * 10)):
        assert row["macs"] == macs and row["ok"] is True
        assert row["torch_macs"] is None and row["macs_compared"] is False
        assert row["macs_note"].startswith("not comparable: ")
    # OUTPUT is frozen: 840 weights, none trainable, in cnncalc and in PyTorch
    assert (out["params"], out["torch_params"]) == (840, 840)
    assert (out["trainable_params"], out["torch_trainable_params"]) == (0, 0)
    # S2: one coefficient and one bias per map; the index tensors of C3 are no buffers
    assert s2["trainable_params"] == s2["torch_trainable_params"] == 12
    assert c3["buffers"] == c3["torch_buffers"] == 0
    unchecked = 6 * 14 * 14 + 16 * 5 * 5 + 84 * 10
    assert doc["macs_unchecked"] == unchecked == 2_416
    assert doc["macs"] == 117_600 + 150_000 + 48_000 + 10_080 + unchecked == 328_096
    assert doc["torch_macs"] == doc["macs"] - unchecked
    assert (doc["trainable_params"], doc["torch_trainable_params"]) == (60_000, 60_000)
    assert (doc["buffers"], doc["torch_buffers"]) == (0, 0)
    table = cli("verify", "zoo:lenet5_1998", "--iters", "0", "--device", "cpu").stdout
    assert "325,680 + 2,416 n/c" in table and "1,176 n/c" in table
    assert "  S2, S4 (n/c): an elementwise multiply per output" in table


def test_bn_buffers_are_running_mean_and_variance():
    spec = cnncalc.load("name: t\ninput: 5x5x3\nlayers: [{conv: {filters: 7, size: 3}}, bn, "
                        "flatten, {fc: 4}, bn]\n")
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok, result.layers
    bn2d, bn1d = (c for c in result.layers if c.kind == "bn")
    assert (bn2d.buffers, bn2d.torch_buffers) == (2 * 7, 2 * 7)
    assert (bn1d.buffers, bn1d.torch_buffers) == (2 * 4, 2 * 4)
    assert (result.buffers, result.torch_buffers) == (22, 22)
    # PyTorch holds one more element per BN, the step counter, which is left out
    model, _, _ = backend.build(spec)
    assert sum(b.numel() for b in model.buffers()) == 22 + 2
    # and the connection table's index tensors are derived, not saved: left out too
    conv = ConnectionConv2d(6, TABLE, (5, 5))
    assert sum(b.numel() for b in conv.buffers()) == 2 * 60
    assert backend.count_buffers(conv) == 0 and conv.state_dict().keys() == {"weight", "bias"}


def test_macs_of_grouped_depthwise_and_transposed_convs():
    spec = cnncalc.load("""name: t
input: 8x6x4
layers:
  - conv: {filters: 8, size: 3, pad: 1, groups: 2}
  - conv: {size: 3, pad: 1, depthwise: true, bias: false}
  - deconv: {filters: 6, size: 3, stride: 2, pad: 1, groups: 2}
  - global_pool: avg
  - flatten
  - fc: {units: 5, bias: false}
""")
    for batch in (1, 3):  # the counter counts the whole batch; the checks are per image
        result = backend.verify(spec, device="cpu", batch=batch, iters=0)
        assert result.ok, result.layers
        # grouped: 8 filters of 3·3·(4/2) at 6·8 positions; depthwise: 8 of 3·3·1;
        # transposed: every input pixel (6·8·8 values) meets 3·3·(6/2) weights
        assert [c.torch_macs for c in result.layers] == [
            48 * 8 * 18, 48 * 8 * 9, 48 * 8 * 3 * 9, 0, 0, 6 * 5]
        assert result.torch_macs == 6912 + 3456 + 10368 + 30 == result.macs


def test_torch_missing_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from cnncalc.cli import main\n"
            "main(['verify', 'zoo:lenet5'])\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "pip install 'cnncalc[torch]'" in r.stderr and "torch==2.13.0" in r.stderr
    assert "Traceback" not in r.stderr


def test_bf16_channels_last_on_cpu():
    result = backend.verify(cnncalc.load("zoo:lenet5"), device="cpu", dtype="bf16",
                            channels_last=True, iters=2, warmup=1)
    assert result.ok and result.timing.dtype == "bf16"


# --- on a GPU (skipped cleanly without one) -------------------------------------------------

@CUDA
@pytest.mark.parametrize("dtype,channels_last", [("fp16", False), ("bf16", True)])
def test_lenet_verifies_on_cuda(dtype, channels_last):
    result = backend.verify(cnncalc.load("zoo:lenet5_1998"), device="cuda", batch=8,
                            dtype=dtype, channels_last=channels_last, iters=5, warmup=2)
    assert result.ok and result.device.startswith("cuda")
    assert result.timing.peak_memory_bytes > 0


@CUDA
def test_resnet_mini_json_on_cuda(cli):
    r = cli("verify", SPEC_DIR / "resnet_mini.yaml", "--device", "cuda", "--format", "json",
            "--iters", "5", "--per-layer")
    doc = json.loads(r.stdout)
    assert r.exit_code == 0 and doc["device"].startswith("cuda")
    assert doc["timing"]["peak_memory_bytes"] > 0


def test_the_kinds_no_zoo_spec_uses():
    spec = cnncalc.load("""name: t
input: 9x7x4
layers:
  - deconv: {filters: 6, size: 3, stride: 2, pad: 1, output_pad: 1}
  - upsample: {scale: 2, mode: bilinear}
  - upsample: 3
  - lrn: 3
  - adaptive_pool: {size: [3, 5], mode: max}
  - flatten
  - bn
  - rbf: 7
""")
    result = backend.verify(spec, device="cpu", iters=0)
    assert result.ok, [c for c in result.layers if not c.ok]
    # ConvTranspose2d: (7 − 1)·2 − 2 + 3 + 1 = 14 by (9 − 1)·2 − 2 + 3 + 1 = 18; 4·6·9 + 6 params
    assert result.layers[0].torch_shape == [6, 14, 18] and result.layers[0].torch_params == 222
    assert result.layers[-1].torch_params == 6 * 3 * 5 * 7  # RBF: no bias
    # MACs: the deconv meets every input pixel with 3·3·6 weights; upsampling, LRN, pooling
    # and BN count none, in cnncalc and in the counter; RBF's are not comparable
    assert [c.torch_macs for c in result.layers] == [7 * 9 * 4 * 6 * 9, 0, 0, 0, 0, 0, 0, None]
    assert not result.layers[-1].macs_compared and result.macs_unchecked == 90 * 7


def test_a_wide_timing_spread_is_flagged_and_flops_keep_their_digits():
    from cnncalc.render.verify import flops_rate

    # 20 runs, one a 200 ms outlier: p90 (numpy's interpolation, rank 17.1) is still 1 ms …
    quiet = backend.Timing(1, "fp32", 3, 20, (1.0,) * 19 + (200.0,), 7_500_000)
    assert (quiet.spread, quiet.noisy) == (1.0, False)
    # … but half of them slow is not: p10 = 1, p90 = 200
    noisy = backend.Timing(1, "fp32", 3, 10, (1.0,) * 5 + (200.0,) * 5, 7_500_000)
    assert noisy.noisy and noisy.spread == pytest.approx(200.0)
    # 2·7.5 M FLOPs in the median of 1 ms = 15 GFLOP/s, not "0.015 TFLOP/s"
    assert flops_rate(quiet.tflops) == "15 GFLOP/s"
    assert flops_rate(3.21) == "3.21 TFLOP/s" and flops_rate(0.4) == "400 GFLOP/s"
