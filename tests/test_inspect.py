"""`cnncalc inspect`: golden outputs, the JSON contract, memory figures, and no torch."""

import json

import pytest

import cnncalc
import cnncalc.memory

LENET = "specs/lenet5.yaml"


# The table and JSON of every bundled spec are pinned in test_golden.py.
@pytest.mark.parametrize("fmt, name", [("markdown", "lenet5.md"), ("csv", "lenet5.csv")])
def test_lenet5_golden(fmt, name, cli, golden):
    result = cli("inspect", LENET, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    golden(name, result.stdout)


def test_formulas_and_folding_golden(cli, golden):
    result = cli("inspect", "specs/resnet_mini.yaml", "--formulas", "--expand")
    assert result.exit_code == 0
    golden("resnet_mini.formulas.out", result.stdout)


def test_error_golden(cli, golden, write, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    path = "broken.yaml"
    write("input: 28x28x64\nlayers:\n  - conv: {filters: 64, size: 3, pad: 1}\n"
                 "    name: stem\n  - use: block\n    name: layer2.0\nblocks:\n  block:\n"
                 "    layers:\n      - residual:\n          main:\n"
                 "            - conv: {filters: 64, size: 3, stride: 2, pad: 1}\n"
                 "            - relu\n", "broken.yaml")
    result = cli("inspect", path)
    assert result.exit_code == 2
    golden("broken.out", result.stdout)
    assert result.stderr == (
        f"{path}:10:9: error: layer2.0 → residual add: the main path gives 14×14×64 but the "
        f"shortcut gives 28×28×64; the 14 comes from (28 − 3 + 2·1)/2 + 1 = 14.5 → floor 14 at "
        f"layer2.0.conv1; the shapes must match (an identity shortcut: give it a 1×1 conv with "
        f"the main path's stride and filters)\n")


def test_json_contract(cli):
    doc = json.loads(cli("inspect", LENET, "--format", "json").stdout)
    assert {"schema_version", "name", "input", "output", "layers", "totals",
            "warnings"} <= set(doc)
    assert doc["input"] == {"shape": [1, 32, 32], "volume": "32×32×1"}
    assert doc["output"] == {"shape": [10], "volume": "10"}
    required = {"name", "kind", "shape", "volume", "params", "trainable_params", "buffers", "macs",
                "connections", "activations", "receptive_field", "formula"}
    assert all(required <= set(layer) for layer in doc["layers"])
    c1 = doc["layers"][0]
    assert (c1["name"], c1["kind"], c1["shape"], c1["volume"]) == ("C1", "conv", [6, 28, 28],
                                                                   "28×28×6")
    assert (c1["params"], c1["macs"], c1["connections"]) == (156, 28 * 28 * 6 * 25, 122_304)
    assert c1["receptive_field"] == {"size": 5, "jump": 1, "start": 2}
    assert c1["formula"].startswith("(32 − 5 + 2·0)/1 + 1 = 28")
    t = doc["totals"]
    # LeNet-5 as built today: 156 + 2,416 + 48,120 + 10,164 + 850
    assert t["params"] == 61_706 == t["trainable_params"]
    assert t["macs"] == 117_600 + 240_000 + 48_000 + 10_080 + 840
    assert t["flops"] == 2 * t["macs"]
    assert {"params", "trainable_params", "buffers", "macs", "activations", "memory"} <= set(t)


def test_memory_figures_by_hand(cli):
    doc = json.loads(cli("inspect", LENET, "--format", "json", "--batch", "64",
                         "--dtype", "fp16").stdout)
    m = doc["totals"]["memory"]
    # output elements: C1 4,704 ×2 (conv, relu); S2 1,176; C3 1,600 ×2; S4 400; flatten 400;
    # C5 120 ×2; F6 84 ×2; output 10
    activations = 2 * 4704 + 1176 + 2 * 1600 + 400 + 400 + 2 * 120 + 2 * 84 + 10
    assert doc["totals"]["activations"] == activations == 15_002
    # the counts' figures: params × 2 bytes; grads the same; Adam's two moments twice that
    assert m["params_bytes"] == m["grads_bytes"] == 61_706 * 2
    assert m["optimizer_bytes"] == 2 * 61_706 * 2 and m["buffers_bytes"] == 0
    assert m["input_bytes"] == 32 * 32 * 2 * 64  # 131,072: a multiple of 512
    assert (m["dtype"], m["amp"], m["optimizer"], m["batch"]) == ("fp16", None, "adam", 64)
    # the peaks are cnncalc.memory's (tests/test_memory.py works them out on small nets)
    e = cnncalc.memory.estimate(cnncalc.load(LENET), batch=64, dtype="fp16")
    assert (m["inference_peak_bytes"], m["inference_peak_layer"]) == \
        (e.inference_peak, e.inference_peak_layer)
    assert (m["training_peak_bytes"], m["training_peak_layer"], m["training_peak_phase"]) == \
        (e.training_peak, e.training_peak_layer, e.training_peak_phase)
    # rows: what each layer first saves sums to what autograd keeps (no merges here)
    assert sum(r["saved_bytes"] for r in doc["layers"]) == m["saved_bytes"]
    assert m["reserve_bytes"] == 2 ** 30 and len(m["left_out"]) == 3


def test_frozen_layers_are_not_trainable():
    report = cnncalc.analyze(cnncalc.load(
        "input: 84\nlayers:\n  - fc: 10\n  - rbf: 10\n    frozen: true\n"))
    assert report.totals.params == 850 + 100
    assert report.totals.trainable_params == 850


def test_bn_buffers_are_not_params():
    report = cnncalc.analyze(cnncalc.load(
        "input: 8x8x3\nlayers:\n  - conv: {filters: 16, size: 3, bias: false}\n  - bn\n"))
    # torch: Conv2d(3, 16, 3, bias=False) has 432 params; BatchNorm2d(16) 32 params, 32 buffers
    assert (report.totals.params, report.totals.buffers) == (432 + 32, 32)


def test_expect_failure_exits_one(cli, write):
    path = write("input: 32x32x3\nlayers:\n  - conv: {filters: 10, size: 5, pad: 2}\n"
                 "    expect: {params: 750}\n")
    result = cli("inspect", path)
    assert result.exit_code == 1
    assert "1 of 1 claims wrong" in result.stdout


def test_strict_warning_exits_one(cli, write):
    path = write("input: 32x32x3\nlayers:\n  - conv: {filters: 8, size: 4, pad: same}\n")
    assert cli("inspect", path).exit_code == 0
    assert cli("inspect", "--strict", path).exit_code == 1


def test_several_files_give_a_json_list(cli):
    docs = json.loads(cli("inspect", LENET, "specs/resnet_mini.yaml", "--format", "json").stdout)
    assert [d["name"] for d in docs] == ["LeNet-5", "resnet-mini"]


def test_depth_folds_nested_rows(cli):
    top = cli("inspect", "specs/resnet_mini.yaml", "--depth", "0").stdout
    expanded = cli("inspect", "specs/resnet_mini.yaml", "--expand").stdout
    assert "layer1.conv1" in expanded and "layer1.conv1" not in top
    assert "layer1 " in top and "19 nested rows folded" in top


def test_inspect_reads_yaml_text_through_the_api():
    report = cnncalc.analyze(cnncalc.load("input: 8x8x3\nlayers: [relu]\n"))
    assert report.output_shape.dims() == [3, 8, 8]


def test_inspect_never_imports_torch(python):
    proc = python("from cnncalc.cli import main\n"
                  "main(['inspect', 'zoo:lenet5', '--format', 'json'])\n",
                  forbid=("torch",))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "LeNet-5"


def test_inspect_of_a_spec_loads_only_what_it_uses(python):
    # A spec is told from a model by its text (sources.is_model_source): the importer, the
    # other formats' writers, the table, rich, the other commands and the matrix parser of
    # `apply` stay unloaded (issue 16).
    unused = ("cnncalc.backends.importer", "cnncalc.render.csv_rows", "cnncalc.render.markdown",
              "cnncalc.render.table", "rich", "cnncalc.cli_calc", "cnncalc.cli_picture",
              "cnncalc.cli_exercises", "cnncalc.numeric", "cnncalc.matrix", "csv", "difflib")
    proc = python("from cnncalc.cli import main\n"
                  "main(['inspect', 'zoo:lenet5', '--format', 'json'])\n", forbid=unused)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["totals"]["params"] == 61_706


def test_a_source_is_told_from_its_text_as_the_importer_tells_it():
    from cnncalc.sources import is_model_source

    models = ("torchvision:resnet18", "net.py:Net", "dir/net.py:Net", "pkg.mod:Net",
              "mod:make_net", "C:/nets/net.py:Net")
    specs = ("net.yaml", "zoo:resnet18", "specs/lenet5.yaml", "-", "a:b.yaml", "pkg.mod:b.yml",
             "input: 8x8x3\nlayers: [relu]\n", "net.py", "mod:1net", "")
    assert [is_model_source(s) for s in models] == [True] * len(models)
    assert [is_model_source(s) for s in specs] == [False] * len(specs)
    importer = pytest.importorskip("cnncalc.backends.importer")
    for source in models + specs:
        assert importer.is_model_source(source) == is_model_source(source), source


def test_the_import_check_can_fail(python):
    # main() ends in SystemExit(0): the check must still run and fail
    proc = python("import json\nraise SystemExit(0)\n", forbid=("json",))
    assert (proc.returncode, proc.stderr) == (97, "imported: json\n")


def test_expect_on_blocks_repeats_and_merges_is_checked():
    report = cnncalc.analyze(cnncalc.load(
        "input: 8x8x4\nblocks:\n  b: [conv: {filters: 4, size: 3, pad: 1}]\nlayers:\n"
        "  - residual:\n      main: [conv: {filters: 4, size: 3, pad: 1}]\n"
        "    expect: {output: 8x8x4, params: 148}\n"
        "  - use: b\n    expect: {params: 100}\n"
        "  - repeat: {times: 2, layers: [relu]}\n    expect: {activations: 512}\n"))
    # (3·3·4)·4 + 4 = 148 per conv; two relus on 8·8·4 = 256 elements each
    got = {(c.layer, c.field): (c.actual, c.ok) for c in report.claims}
    assert got == {("residual", "output"): (report.output_shape, True),
                   ("residual", "params"): (148, True), ("b1", "params"): (148, False),
                   ("repeat1", "activations"): (512, True)}


def test_inspect_reads_standard_input(cli):
    result = cli("inspect", "-", "--format", "json", input="input: 8x8x3\nlayers: [relu]\n")
    assert json.loads(result.stdout)["output"]["shape"] == [3, 8, 8]
    bad = cli("inspect", "-", input="input: 8x8x3\nlayers: [relu, convv]\n")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("<stdin>:2:16: error:")


def test_csv_names_its_orders_and_ends_with_the_totals(cli):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(cli("inspect", "specs/lenet5.yaml", "--format",
                                               "csv").stdout)))
    first, total = rows[0], rows[-1]
    assert (first["volume_whd"], first["shape_chw"]) == ("28×28×6", "6x28x28")
    leaves = rows[:-1]
    assert total["name"] == "total" and total["volume_whd"] == "10"
    for field in ("params", "macs", "activations"):
        assert int(total[field]) == sum(int(r[field]) for r in leaves)
    assert int(total["params"]) == 61_706  # the paper's LeNet-5 with a plain fc output (test_check)


def test_layers_explains_its_star(cli):
    out = cli("layers").stdout
    assert "units * (required)" in out
    assert "* the setting a bare value sets: fc: 84 is fc: {units: 84}" in out


def test_export_defaults_to_pytorch(cli, tmp_path):
    r = cli("export", "specs/lenet5.yaml", "-o", tmp_path / "net.py")
    assert r.exit_code == 0 and "class Net(nn.Module)" in (tmp_path / "net.py").read_text()
