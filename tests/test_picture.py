"""`cnncalc draw` and `cnncalc report` without a browser: what the pictures show, checked
against the papers' figures, their bytes, and the command's handling of bad input.

The browser checks (text boxes measured by Chromium, clicks) are in test_picture_browser.py.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cnncalc.engine import analyze
from cnncalc.picture import draw, page
from cnncalc.picture.layout import (ASCENT, DESCENT, Group, Label, Style, lay_out, text_width)
from cnncalc.picture.scene import make_plan
from cnncalc.spec import load
from cnncalc.zoo import names

SVG = "{http://www.w3.org/2000/svg}"
BUNDLED = names()


def svg_of(name: str, **options) -> str:
    spec = load(f"zoo:{name}")
    return draw(spec, analyze(spec), **options)


def tree(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def find(el: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in el.iter(f"{SVG}g") if cls in classes(e)]


def depth_of(volume: str) -> int:
    return int(volume.split("×")[-1])


# --- every bundled spec -------------------------------------------------------------------

@pytest.mark.parametrize("name", BUNDLED)
def test_every_svg_parses_and_repeats_its_bytes(name):
    first = svg_of(name)
    assert first == svg_of(name)
    root = tree(first)
    assert root.tag == f"{SVG}svg"
    assert find(root, "layer"), "no layer drawn"


def assert_labels_apart(picture) -> None:
    boxes = []

    def collect(nodes):
        for node in nodes:
            if isinstance(node, Group):
                collect(node.children)
            elif isinstance(node, Label):
                boxes.append((node.x, node.y - ASCENT, node.x + text_width(node.text),
                              node.y + DESCENT, node.text))

    collect(picture.body)
    for x0, y0, x1, y1, text in boxes:
        assert 0 <= x0 and x1 <= picture.width and 0 <= y0 and y1 <= picture.height, text
    boxes.sort()
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if b[0] >= a[2]:
                break
            assert not (b[1] < a[3] and a[1] < b[3]), f"{a[4]!r} overlaps {b[4]!r}"


@pytest.mark.parametrize("name", BUNDLED)
@pytest.mark.parametrize("style", ["volumes", "graph"])
def test_predicted_labels_never_overlap_and_stay_inside(name, style):
    """The layout's own prediction (0.602 em per character); the browser test measures it."""
    spec = load(f"zoo:{name}")
    assert_labels_apart(lay_out(make_plan(spec, analyze(spec)), Style(style)))


# --- the acceptance figures, from the papers ----------------------------------------------

# GoogLeNet (Szegedy et al. 2015, Table 1): #1×1, #3×3, #5×5, pool proj, and the output depth.
INCEPTION = {
    "inception3a": ((64, 128, 32, 32), 256),
    "inception3b": ((128, 192, 96, 64), 480),
    "inception4a": ((192, 208, 48, 64), 512),
    "inception4b": ((160, 224, 64, 64), 512),
    "inception4c": ((128, 256, 64, 64), 512),
    "inception4d": ((112, 288, 64, 64), 528),
    "inception4e": ((256, 320, 128, 128), 832),
    "inception5a": ((256, 320, 128, 128), 832),
    "inception5b": ((384, 384, 128, 128), 1024),
}


@pytest.mark.parametrize("style", ["auto", "volumes", "graph"])
def test_googlenet_shows_every_inception_path_and_its_concat(style):
    root = tree(svg_of("googlenet", style=style))
    frames = {f.get("data-name"): f for f in find(root, "frame")}
    assert set(INCEPTION) <= set(frames)
    for block, (paths, total) in INCEPTION.items():
        (split,) = find(frames[block], "split")
        arms = [a for a in split if "arm" in classes(a)]
        assert len(arms) == 4, block
        depths = [depth_of(find(arm, "layer")[-1].get("data-volume")) for arm in arms]
        (merge,) = find(split, "merge")
        assert merge.get("data-merge") == "concat"
        assert tuple(depths) == paths, block
        assert sum(depths) == depth_of(merge.get("data-volume")) == total, block


@pytest.mark.parametrize("spec,blocks,projections", [
    ("resnet50", 3 + 4 + 6 + 3, 4),  # He et al. 2016, Table 1: conv2_x … conv5_x
    ("resnet18", 2 + 2 + 2 + 2, 3),
])
@pytest.mark.parametrize("style", ["auto", "volumes"])
def test_resnet_draws_every_shortcut_and_its_projections(spec, blocks, projections, style):
    root = tree(svg_of(spec, style=style))
    shortcuts = find(root, "shortcut")
    assert len(shortcuts) == blocks
    projected = [s for s in shortcuts if find(s, "layer")]
    assert len(projected) == projections
    for s in projected:  # torchvision's downsample: a 1×1 conv, then batch norm
        (box,) = find(s, "layer")
        assert box.get("data-kind") == "conv + bn"
    assert sum(1 for s in shortcuts if s.get("data-projection") == "0") == blocks - projections


def test_resnet50_projection_volumes_are_the_stage_outputs():
    root = tree(svg_of("resnet50"))
    volumes = [find(s, "layer")[0].get("data-volume") for s in find(root, "shortcut")
               if find(s, "layer")]
    assert volumes == ["56×56×256", "28×28×512", "14×14×1024", "7×7×2048"]


def test_densenet121_depth_1_fits_one_screen():
    """Huang et al. 2017, Table 1: dense blocks of 6, 12, 24 and 16 layers, drawn once each."""
    root = tree(svg_of("densenet121", depth=1))
    width, height = float(root.get("width")), float(root.get("height"))
    assert width <= 1920 and height <= 1080
    assert "volumes" in classes(root)
    repeats = [(b.get("data-name"), b.get("data-times"), b.get("data-volume"))
               for b in find(root, "layer") if b.get("data-times")]
    assert repeats == [("denseblock1", "6", "56×56×256"), ("denseblock2", "12", "28×28×512"),
                       ("denseblock3", "24", "14×14×1024"), ("denseblock4", "16", "7×7×1024")]
    assert len(find(root, "layer")) <= 30


def test_lenet5_volumes_and_kernels_are_the_papers():
    """LeCun et al. 1998, Fig. 2: C1 28×28×6, S2 14×14×6, C3 10×10×16, S4 5×5×16, C5 120."""
    root = tree(svg_of("lenet5_1998"))
    assert "volumes" in classes(root)
    boxes = {b.get("data-name"): b for b in find(root, "layer")}
    assert [boxes[n].get("data-volume") for n in ("input", "C1", "S2", "C3", "S4", "C5")] == \
        ["32×32×1", "28×28×6", "14×14×6", "10×10×16", "5×5×16", "1×1×120"]
    kernels = {n: [t.text for t in b.iter(f"{SVG}text") if "kernel" in classes(t)]
               for n, b in boxes.items()}
    assert kernels["C1"] == ["5×5"] and kernels["C3"] == ["5×5"] and kernels["S2"] == ["2×2/2"]
    assert boxes["C1"].get("data-kind") == "conv + tanh"


def test_depth_folds_blocks_as_inspect_does():
    spec = load("zoo:resnet50")
    report = analyze(spec)
    root = tree(draw(spec, report, depth=0))
    folded = [b.get("data-name") for b in find(root, "layer") if b.get("data-name", "")
              .startswith("layer")]
    # torchvision's layout: each stage's first block, then a repeat of the others
    assert folded == ["layer1.0", "layer1", "layer2.0", "layer2", "layer3.0", "layer3",
                      "layer4.0", "layer4"]
    assert not find(root, "shortcut")
    rows = {r.name: i for i, r in enumerate(report.rows)}
    layer1 = next(b for b in find(root, "layer") if b.get("data-name") == "layer1")
    covered = [int(i) for i in layer1.get("data-rows").split()]
    assert covered[0] == rows["layer1"]
    assert len(covered) == sum(1 for r in report.rows if r.name == "layer1" or (
        r.name.startswith("layer1.") and not r.name.startswith("layer1.0")))


def test_every_row_has_its_box():
    """Each leaf row is drawn by exactly one box or merge (clicking a row finds it)."""
    for name in ("googlenet", "resnet50", "densenet121", "lenet5_1998"):
        spec = load(f"zoo:{name}")
        report = analyze(spec)
        root = tree(draw(spec, report))
        seen = []
        for el in root.iter(f"{SVG}g"):
            if classes(el) & {"layer", "merge"}:
                seen += [int(i) for i in el.get("data-rows", "").split()]
        leaves = [i for i, r in enumerate(report.rows) if not r.is_group]
        assert sorted(i for i in seen if not report.rows[i].is_group) == leaves, name


NESTED = """\
name: nested
input: 32x32x8
layers:
  - branches:
      merge: concat
      paths:
        - []
        - - residual:
              main:
                - conv: {filters: 8, size: 3, pad: 1}
                - branches:
                    merge: add
                    paths:
                      - [conv: {filters: 8, size: 1}]
                      - [conv: {filters: 8, size: 3, pad: 1}]
              shortcut: []
        - - repeat: {times: 1, layers: [conv: {filters: 4, size: 1}]}
  - upsample: {scale: 2}
  - deconv: {filters: 4, size: 2, stride: 2}
  - global_pool: avg
  - flatten
  - fc: 3
"""


@pytest.mark.parametrize("style", ["volumes", "graph"])
@pytest.mark.parametrize("depth", [None, 0, 1])
def test_nested_splits_and_vectors(style, depth):
    spec = load(NESTED)
    report = analyze(spec)
    picture = lay_out(make_plan(spec, report, depth), Style(style))
    assert_labels_apart(picture)
    root = tree(draw(spec, report, style=style, depth=depth))
    merges = [(m.get("data-merge"), m.get("data-volume")) for m in find(root, "merge")]
    # the outer concat: 8 (identity) + 8 (the residual) + 4 = 20 maps of 32×32
    assert merges == [("add", "32×32×8"), ("add", "32×32×8"), ("concat", "32×32×20")]
    identity = [a for a in find(root, "arm") if not find(a, "layer")]
    assert len(identity) == 2  # the concat's [] path and the residual's identity shortcut
    deconv = next(b for b in find(root, "layer") if b.get("data-name") == "deconv1")
    assert deconv.get("data-volume") == "128×128×4"
    assert not [t for t in deconv.iter(f"{SVG}text") if "kernel" in classes(t)]


def test_vector_input():
    spec = load("name: mlp\ninput: 784\nlayers:\n  - fc: 128\n  - relu\n  - fc: 10\n")
    root = tree(draw(spec, analyze(spec)))
    assert [(b.get("data-name"), b.get("data-kind"), b.get("data-volume"))
            for b in find(root, "layer")] == [("input", "input", "784"),
                                              ("fc1", "fc + relu", "128"), ("fc2", "fc", "10")]


def test_bytes_do_not_depend_on_the_process(tmp_path):
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"g{seed}.svg"
        subprocess.run([sys.executable, "-m", "cnncalc", "draw", "zoo:googlenet", "-o", str(out)],
                       check=True, env={**os.environ, "PYTHONHASHSEED": seed},
                       capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == svg_of("googlenet").encode("utf-8")


# --- the commands -------------------------------------------------------------------------

def test_draw_writes_the_default_name(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("draw", "zoo:lenet5")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "lenet5.svg").read_text(encoding="utf-8") == svg_of("lenet5")
    result = cli("report", "zoo:lenet5")
    assert result.exit_code == 0
    assert (tmp_path / "lenet5.html").exists()


def test_draw_to_standard_output(cli):
    result = cli("draw", "zoo:lenet5", "-o", "-")
    assert result.exit_code == 0
    assert result.stdout == svg_of("lenet5")


def test_an_existing_file_needs_force(cli, tmp_path):
    out = tmp_path / "net.svg"
    out.write_text("mine", encoding="utf-8")
    result = cli("draw", "zoo:lenet5", "-o", out)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"cnncalc: error: {out} exists; nothing was written (--force overwrites it)"]
    assert out.read_text(encoding="utf-8") == "mine"
    assert cli("draw", "zoo:lenet5", "-o", out, "--force").exit_code == 0
    assert out.read_text(encoding="utf-8") == svg_of("lenet5")


def test_an_unwritable_output_is_one_line(cli, tmp_path):
    out = tmp_path / "missing" / "net.svg"
    result = cli("draw", "zoo:lenet5", "-o", out)
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"cnncalc: error: cannot write {out}: ")
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


BROKEN = """\
name: broken
input: 32x32x3
layers:
  - conv: {filters: 8, size: 3}
    name: c1
  - relu
  - pool: 2
  - conv: {filters: 16, size: 20}
    name: too_big
  - fc: 10
"""

MISMATCH = """\
name: mismatch
input: 32x32x16
layers:
  - conv: {filters: 16, size: 3, pad: 1}
  - residual:
      main:
        - conv: {filters: 32, size: 3, pad: 1, stride: 2}
        - bn
  - relu
  - fc: 10
"""


@pytest.mark.parametrize("command,suffix", [("draw", ".svg"), ("report", ".html")])
def test_a_failing_spec_is_drawn_up_to_the_failure(cli, tmp_path, command, suffix):
    spec = tmp_path / "broken.yaml"
    spec.write_text(BROKEN, encoding="utf-8")
    out = tmp_path / f"broken{suffix}"
    result = cli(command, spec, "-o", out)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"wrote {out}"
    assert lines[1].startswith(f"{spec}:8:5: error: too_big → conv on 15×15×8: the kernel")
    assert len(lines) == 2
    text = out.read_text(encoding="utf-8")
    svg = text if suffix == ".svg" else re.search(r"<svg.*</svg>", text, re.S).group(0)
    root = tree(svg)
    names_drawn = [b.get("data-name") for b in find(root, "layer")]
    assert names_drawn == ["input", "c1", "pool1", "too_big"]
    (failed,) = find(root, "error")
    assert failed.get("data-name") == "too_big"
    assert "layer" in classes(failed)
    # run again: the file is there now, and a failing spec overwrites nothing
    out.write_text("mine", encoding="utf-8")
    assert cli(command, spec, "-o", out).exit_code == 2
    assert out.read_text(encoding="utf-8") == "mine"


FAILS_IN_A_REPEAT = """\
name: failbranch
input: 16x16x8
layers:
  - conv: {filters: 8, size: 3, pad: 1}
  - repeat:
      times: 3
      layers:
        - branches:
            merge: concat
            paths:
              - [conv: {filters: 4, size: 1}]
              - [conv: {filters: 4, size: 3}]
  - fc: 3
"""


@pytest.mark.parametrize("depth", [None, 0, 1])
def test_a_failing_concat_inside_a_repeat(depth):
    spec = load(FAILS_IN_A_REPEAT)
    with pytest.raises(Exception) as caught:
        analyze(spec)
    report, message = caught.value.report, caught.value.issues[0].message
    root = tree(draw(spec, report, depth=depth, error=message))
    assert_labels_apart(lay_out(make_plan(spec, report, depth, message), Style.VOLUMES))
    errors = [t.text for t in root.iter(f"{SVG}text") if "error" in classes(t)]
    assert [t for t in errors if t.startswith("error: concat: repeat1.0.branch1 gives")]
    if depth is not None:  # the folded repeat holds the failure: it is the red box
        (failed,) = find(root, "error")
        assert failed.get("data-name") == "repeat1" and failed.get("data-times") == "3"
    else:
        (merge,) = find(root, "merge")
        assert merge.find(f"{SVG}circle").get("class") == "merge-error"
        assert merge.get("data-volume") is None  # the paths disagree: no merged volume


def test_a_failing_merge_is_marked(cli, tmp_path):
    spec = tmp_path / "mismatch.yaml"
    spec.write_text(MISMATCH, encoding="utf-8")
    result = cli("draw", spec, "-o", "-")
    assert result.exit_code == 2
    root = tree(result.stdout)
    (merge,) = find(root, "merge")
    assert merge.find(f"{SVG}circle").get("class") == "merge-error"
    assert [b.get("data-name") for b in find(root, "layer")] == ["input", "conv1", "conv2"]
    assert "residual add: the main path gives 16×16×32" in result.stderr


def test_a_spec_error_draws_nothing(cli, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ninput: 32x32x3\nlayers:\n  - cnov: 3\n", encoding="utf-8")
    out = tmp_path / "bad.svg"
    result = cli("draw", spec, "-o", out)
    assert result.exit_code == 2
    assert "did you mean" in result.stderr or "unknown" in result.stderr
    assert not out.exists()


# --- the report page ----------------------------------------------------------------------

def test_report_totals_are_inspects(cli, tmp_path):
    out = tmp_path / "r.html"
    assert cli("report", "zoo:resnet18", "-o", out, "--batch", "8", "--dtype", "fp16") \
        .exit_code == 0
    text = out.read_text(encoding="utf-8")
    shown = dict(re.findall(r'data-total="([a-z_.]+)" data-value="(\d+)"', text))
    expected = json.loads(cli("inspect", "zoo:resnet18", "--format", "json", "--batch", "8",
                              "--dtype", "fp16").stdout)["totals"]
    flat = {k: v for k, v in expected.items() if isinstance(v, int)}
    flat.update({f"memory.{k}": v for k, v in expected["memory"].items() if isinstance(v, int)
                 and k != "batch"})
    assert {k: int(v) for k, v in shown.items()} == {k: flat[k] for k in shown}
    assert set(shown) >= {"params", "macs", "buffers", "memory.training_peak_bytes",
                          "memory.params_bytes", "memory.buffers_bytes"}
    assert shown["params"] == "11689512"  # torchvision's resnet18


def test_report_needs_no_network():
    spec = load("zoo:googlenet")
    text = page(spec, analyze(spec))
    links = set(re.findall(r"(?:https?:)?//[\w.-]+", text))
    assert links == {"http://www.w3.org"}  # the SVG namespace, a name and not a fetch
    assert "<script src" not in text and "<link" not in text and "@import" not in text


def test_report_grades_the_homework():
    examples = Path(__file__).resolve().parent.parent / "cnncalc" / "specs" / "examples"
    spec = load(str(examples / "homework.yaml"))
    report = analyze(spec)
    html = page(spec, report)
    assert html.count('<span class="ok">✓</span>') == len(report.claims) == 18
    # (5·5·3)·10 = 750 without the biases; the notes' count is 760
    wrong = load("name: hw\ninput: 32x32x3\nlayers:\n  - conv: {filters: 10, size: 5, pad: 2}\n"
                 "    expect: {params: 750}\n")
    html = page(wrong, analyze(wrong))
    assert '<span class="bad">✗</span>' in html
    assert "likely slip: forgot the bias: (5·5·3)·10 = 750" in html
    assert '<p class="bad">1 of 1 wrong</p>' in html


# --- the README's pictures ----------------------------------------------------------------

def make_pictures():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "tools" / "make_pictures.py"
    spec = importlib.util.spec_from_file_location("make_pictures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_pictures_are_regenerated_not_edited():
    tool = make_pictures()
    readme = (tool.ROOT / "README.md").read_text(encoding="utf-8")
    assert set(tool.PICTURES) == {"lenet5_1998.svg", "alexnet_2012.svg", "googlenet.svg",
                                  "resnet18.svg"}
    for file in tool.PICTURES:
        written = (tool.FOLDER / file).read_text(encoding="utf-8")
        assert written == tool.picture(file), f"run python tools/make_pictures.py ({file})"
        assert f"(docs/pictures/{file})" in readme


def test_a_wrong_claim_still_draws_and_exits_1(cli, tmp_path):
    # (3·3·3)·4 + 4 = 112 params, not 100: the picture is written, the exit status says so
    spec = tmp_path / "wrong.yaml"
    spec.write_text("input: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 3}\n"
                    "    expect: {params: 100}\n")
    r = cli("draw", spec, "-o", tmp_path / "wrong.svg")
    assert r.exit_code == 1 and (tmp_path / "wrong.svg").exists()
