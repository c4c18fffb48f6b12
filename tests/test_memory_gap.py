"""benchmarks/gpu_memory_gap.py, the one-run measurement that settles the bf16 gap on a GPU
(docs/memory.md, "The bf16 gap"): its bookkeeping checked here on records made by hand, since
this machine has no CUDA allocator to read."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_memory_gap.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_memory_gap", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gpu_memory_gap", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_convs_workspace_is_found_and_sized_against_its_input_and_output():
    g = _module()
    MiB = 2 ** 20
    # a conv: 4 MiB in, 16 MiB out, and a 20 MiB workspace taken and given back inside it;
    # then a batch norm that allocates its 16 MiB output and nothing else
    conv = g.OpRecord("layer1.0.conv3", "convolution", 4 * MiB, 16 * MiB,
                      before=100 * MiB, peak=136 * MiB, after=116 * MiB)
    bn = g.OpRecord("layer1.0.bn3", "native_batch_norm", 16 * MiB, 16 * MiB,
                    before=116 * MiB, peak=132 * MiB, after=132 * MiB)
    s = g.summarize([conv, bn], estimate=132 * MiB)
    assert s["peak"] == 136 * MiB and s["peak_without_hidden"] == 132 * MiB
    assert s["at"] == {"layer": "layer1.0.conv3", "op": "convolution", "before": 100 * MiB,
                       "after": 116 * MiB, "hidden": 20 * MiB}
    assert [(h["layer"], h["hidden"], h["over_input"], h["over_output"])
            for h in s["hidden_ops"]] == [("layer1.0.conv3", 20 * MiB, 5.0, 1.25)]
    assert s["peak_minus_estimate"] == 4 * MiB and s["visible_minus_estimate"] == 0


def test_without_cuda_it_measures_nothing_and_says_so(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: the script would measure it")
    assert _module().main([str(tmp_path / "gap.json")]) == 0
    assert "no CUDA device; nothing measured" in capsys.readouterr().out


def test_the_candidate_rule_is_the_arithmetic_docs_memory_md_states():
    # docs/memory.md, "The bf16 gap": the H200's 1,566,983,680 B is the estimate + one
    # 256×64×56×56 bf16 tensor (U) + 512 B, and "a half-precision NCHW conv takes a workspace
    # of its input + its output + 512 B" gives exactly that figure at four 1×1 convs and at
    # no other op.  Arithmetic on the estimate's curve, not a model term (not in the figure).
    import cnncalc
    from cnncalc.engine import analyze
    from cnncalc.memory import estimate

    h200, u = 1_566_983_680, 256 * 64 * 56 * 56 * 2
    spec = cnncalc.load("zoo:resnet50")
    report = analyze(spec, explain=False)
    e = estimate(spec, batch=256, dtype="bf16", report=report)
    assert h200 - e.inference_peak == u + 512 == 102_760_960
    rows = {r.name: r for r in report.layers}
    with_workspace = {name: live + (rows[name].input_shape.numel + rows[name].shape.numel)
                      * 256 * 2 + 512
                      for name, live in e.inference_curve
                      if name in rows and rows[name].kind == "conv"}
    top = max(with_workspace.values())
    assert top == h200
    assert sorted(n for n, v in with_workspace.items() if v == top) == [
        "layer1.0.shortcut.conv1", "layer1.1.conv3", "layer1.2.conv3", "layer2.0.shortcut.conv1"]
