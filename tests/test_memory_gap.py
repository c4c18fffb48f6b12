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


def test_the_workspace_rule_gives_the_h200s_bf16_figure_to_the_byte():
    # Issue 15's H200 measurement: ResNet-50, batch 256, bf16 inference, 1,566,983,680 B by
    # torch.cuda.max_memory_allocated.  Without cuDNN's workspace the tensors alive peak at
    # 1,464,222,720 B (the tracker's figure too), at layer1.0's downsample batch norm.  The
    # workspace of a half-precision conv, an NHWC copy of its input and output + 512 B
    # (cnncalc.memory.WORKSPACE; none for a pointwise conv), puts the peak at layer2.0's
    # strided 1×1 downsample conv: its input 256×256×56×56 (4 U, U = 256×64×56×56×2 B) and
    # output 256×512×28×28 (2 U) copied, beside the image (0.75 U), the weights, the block's
    # input (4 U), the main path's output (2 U) and the conv's own output (2 U).
    import cnncalc
    from cnncalc.memory import estimate

    h200, u = 1_566_983_680, 256 * 64 * 56 * 56 * 2
    e = estimate(cnncalc.load("zoo:resnet50"), batch=256, dtype="bf16")
    assert e.inference_peak == h200
    assert e.inference_peak_layer == "layer2.0.shortcut.conv1"
    curve = dict(e.inference_curve)
    # its batch norm next: the conv's output (2 U) and its own (2 U), no workspace
    assert curve["layer2.0.shortcut.conv1"] - curve["layer2.0.shortcut.bn1"] == 4 * u + 512
    # layer1's 1×1 64→256 convs are pointwise: no copies, their tensors only
    assert curve["layer1.1.conv3"] - curve["layer1.1.bn2"] == 4 * u - u  # out 4 U, bn2's in
    # fp32: no workspace, so the peak is the tensors' (the H200 measured 2,929,436,160 B)
    fp32 = estimate(cnncalc.load("zoo:resnet50"), batch=256, dtype="fp32")
    assert fp32.inference_peak_layer == "layer1.0.shortcut.bn1"
    assert abs(fp32.inference_peak - 2_929_436_160) / 2_929_436_160 < 0.001


def test_depthwise_and_pointwise_convs_take_no_workspace_in_bf16_grouped_and_strided_do():
    # PyTorch runs a bf16 depthwise conv (groups = D > 1) in its own conv_depthwise2d
    # (ConvParams::use_cudnn_depthwise takes fp16 only): no cuDNN workspace.  A grouped conv
    # (1 < groups < D) goes to cuDNN.  One conv on a 2×8×8×8 bf16 input (2 × 1,024 B).
    import cnncalc
    from cnncalc.memory import estimate

    def peak(conv: str, dtype: str) -> int:
        spec = cnncalc.load(f"input: 8x8x8\nlayers:\n  - conv: {conv}\n")
        return estimate(spec, batch=2, dtype=dtype).inference_peak

    pointwise = "{filters: 8, size: 1, bias: false}"
    strided = "{filters: 8, size: 1, stride: 2, bias: false}"
    plain = "{filters: 8, size: 3, pad: 1, bias: false}"
    grouped = "{filters: 8, size: 3, pad: 1, groups: 2, bias: false}"
    depthwise = "{size: 3, pad: 1, depthwise: true, bias: false}"
    # weights 8·8·9 = 576 elements → 1,152 B, rounded to 1,536 (plain); 8·4·9 → 576 B → 1,024
    # (grouped); 8·1·9 → 144 B → 512 (depthwise); the input and the output 2,048 B each; the
    # workspace 2,048 + 2,048 + 512
    assert peak(plain, "bf16") == 1536 + 2048 * 2 + 4608
    assert peak(grouped, "bf16") == 1024 + 2048 * 2 + 4608
    assert peak(depthwise, "bf16") == 512 + 2048 * 2
    assert peak(plain, "fp32") == 2560 + 4096 * 2  # 2,304 B of weights; no workspace
    # a pointwise conv (1×1, stride 1, no padding) is a plain product on NCHW: no copies;
    # at stride 2 it is not: 2,048 B in, 2×8×4×4×2 = 512 B out, weights 128 B → 512
    assert peak(pointwise, "bf16") == 512 + 2048 * 2
    assert peak(strided, "bf16") == 512 + 2048 + 512 + (2048 + 512 + 512)
