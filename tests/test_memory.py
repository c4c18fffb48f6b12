"""The memory model (cnncalc/memory.py) on small nets worked by hand from PyTorch's rules.

Every figure below is added up by hand, tensor by tensor, in the comments: a tensor's bytes are
batch·C·H·W·4 (fp32) rounded up to a multiple of 512, as the CUDA caching allocator hands
them out; what autograd keeps is derivatives.yaml's rule for each op (conv and batch norm keep
their input, relu its output, max pool its input and int64 indices, add and concat nothing).
The rules themselves are checked against torch's own ``saved_tensors_hooks`` at the end.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import SAVED
from cnncalc.memory import ALIGN, estimate, rounded


def spec(text: str):
    return cnncalc.load(text)


CBR = """
name: cbr
input: 8x8x3
layers:
  - conv: {filters: 4, size: 3, pad: 1, bias: false}
  - bn
  - relu%s
"""


def test_rounding_is_the_allocators():
    assert [rounded(n) for n in (0, 1, 511, 512, 513, 1536)] == [0, 512, 512, 512, 1024, 1536]
    assert ALIGN == 512


def test_conv_bn_relu_by_hand():
    # batch 2, fp32.  input 2·3·8·8·4 = 1,536 B; each map 2·4·8·8·4 = 2,048 B.
    # weights: conv 4·3·3·3·4 = 432 → 512; bn γ, β 16 B → 512 each; buffers: running mean,
    # running var 512 each, num_batches_tracked (int64) 512: weights + buffers = 3,072.
    e = estimate(spec(CBR % ""), batch=2)
    # inference: at bn, the input (held by the caller), the conv's output and bn's: 5,632
    assert e.inference_peak == 3_072 + 1_536 + 2_048 + 2_048
    assert e.inference_peak_layer == "bn1"
    # saved: the input (conv), the conv output + 2 stats vectors of 4 floats → 512 each (bn),
    # relu's output (relu)
    assert e.saved_bytes == 1_536 + 2_048 + 2 * 512 + 2_048
    # training (adam, later step): fixed = weights 1,536 + buffers 1,536 + 2 moments 3,072.
    # bn's backward is the peak: input 1,536 + conv out 2,048 + stats 1,024 + loss 512 + the
    # loss's gradient 512 + relu's grad 2,048 (bn out's) + bn's grad_input 2,048 + bn's γ, β
    # grads 1,024 (relu's output, `out`, was deleted and freed after relu's backward)
    fixed = 1_536 + 1_536 + 3_072
    assert e.training_peak == fixed + 1_536 + 2_048 + 1_024 + 512 + 512 + 2_048 + 2_048 + 1_024
    assert (e.training_peak_layer, e.training_peak_phase) == ("bn1", "backward")
    assert e.training_peak_at == "bn1 (backward)"
    assert [r.saved_bytes for r in e.rows] == [1_536, 2_048 + 1_024, 2_048]


def test_in_place_relu_saves_the_same_and_allocates_nothing():
    inplace = estimate(spec(CBR % ": {inplace: true}"), batch=2)
    plain = estimate(spec(CBR % ""), batch=2)
    # relu_ keeps its result, which is bn's output: one storage either way
    assert inplace.saved_bytes == plain.saved_bytes
    assert inplace.training_peak == plain.training_peak
    # after relu_: input + bn out; after relu: input + relu out (bn out freed)
    assert inplace.rows[2].live_bytes == plain.rows[2].live_bytes == 3_072 + 1_536 + 2_048


CONV_RELU = """
name: cr
input: 8x8x3
layers:
  - conv: {filters: 4, size: 3, pad: 1}
  - relu%s
"""


def test_in_place_lowers_the_inference_peak():
    # weights: conv weight 432 → 512, bias 16 → 512.  relu: input + conv out + relu out
    plain = estimate(spec(CONV_RELU % ""), batch=2)
    assert plain.inference_peak == 1_024 + 1_536 + 2_048 + 2_048
    assert plain.inference_peak_layer == "relu1"
    inplace = estimate(spec(CONV_RELU % ": {inplace: true}"), batch=2)
    assert inplace.inference_peak == 1_024 + 1_536 + 2_048
    assert inplace.inference_peak_layer == "conv1"


def test_in_place_relu6_saves_a_copy():
    text = ("name: r6\ninput: 8x8x3\nlayers:\n  - conv: {filters: 4, size: 1, bias: false}\n"
            "  - relu6%s\n")
    plain = estimate(spec(text % ""), batch=2)
    inplace = estimate(spec(text % ": {inplace: true}"), batch=2)
    # relu6 keeps its input (hardtanh_backward reads self); relu6_ a copy of it: the same bytes
    assert plain.rows[1].saved_bytes == 2_048  # the conv's output, first kept by relu6
    assert plain.saved_bytes == 1_536 + 2_048  # input (conv), conv out (relu6)
    assert inplace.saved_bytes == 1_536 + 2_048  # input, the copy
    assert inplace.rows[1].saved_bytes == 2_048
    # inference: relu6_ writes over the conv output; relu6 allocates its own
    assert plain.inference_peak - inplace.inference_peak == 2_048


RESIDUAL = """
name: res
input: 8x8x4
layers:
  - residual:
      main:
        - conv: {filters: 4, size: 3, pad: 1, bias: false}
"""


def test_residual_keeps_the_shortcut_alive():
    # batch 1: each map 1·4·8·8·4 = 1,024 B; conv weight 4·4·9·4 = 576 → 1,024.
    # the add: the input (the shortcut), the main path's output and the sum
    e = estimate(spec(RESIDUAL), batch=1)
    assert e.inference_peak == 1_024 + 3 * 1_024
    assert e.inference_peak_layer == "add"


CONCAT = """
name: cat
input: 8x8x4
layers:
  - branches:
      merge: concat
      paths:
        - [{conv: {filters: 2, size: 1}}]
        - [{conv: {filters: 2, size: 1}}]
"""


def test_concat_allocates_while_its_branches_live():
    # batch 1: input 1,024; each branch 1·2·8·8·4 = 512; the concat 1,024.
    # weights: per conv 8 weights and 2 biases, two tensors of 512: 2,048.
    e = estimate(spec(CONCAT), batch=1)
    assert e.inference_peak == 2_048 + 1_024 + 512 + 512 + 1_024
    assert e.inference_peak_layer == "concat"
    # concat and its branches' convs keep only the input (once): cat saves nothing
    assert e.saved_bytes == 1_024


POOL = """
name: mp
input: 8x8x4
layers:
  - conv: {filters: 4, size: 1, bias: false}
  - pool: 2
"""


def test_max_pool_keeps_int64_indices():
    # batch 1: input 1,024, conv out 1,024, pool out 1·4·4·4·4 = 256 → 512, indices 64·8 = 512
    e = estimate(spec(POOL), batch=1)
    assert e.saved_bytes == 1_024 + 1_024 + 512  # input (conv), conv out and indices (pool)
    assert e.rows[1].saved_bytes == 1_024 + 512
    # inference: CUDA computes the indices anyway: input + conv out + pool out + indices
    weights = 512  # 4·4·4 B → 512
    assert e.inference_peak == weights + 1_024 + 1_024 + 512 + 512


def test_bf16_halves_the_tensors():
    big = "name: big\ninput: 64x64x8\nlayers:\n  - conv: {filters: 8, size: 3, pad: 1}\n"
    fp32 = estimate(spec(big), batch=4)
    bf16 = estimate(spec(big), batch=4, dtype="bf16")
    # 4·8·64·64 elements: 524,288 B in fp32, 262,144 in bf16 (both multiples of 512)
    assert fp32.saved_bytes == 524_288 and bf16.saved_bytes == 262_144


def test_amp_keeps_fp32_weights_and_makes_low_copies():
    big = "name: big\ninput: 64x64x8\nlayers:\n  - conv: {filters: 8, size: 3, pad: 1}\n"
    amp = estimate(spec(big), batch=4, amp="bf16")
    assert amp.params_bytes == (8 * 8 * 9 + 8) * 4  # fp32 master weights
    # the conv reads a bf16 copy of the fp32 input and keeps it: 262,144 B
    assert amp.saved_bytes == 262_144


def test_optimizers_state():
    net = spec(CBR % "")
    adam, sgd = estimate(net, batch=2), estimate(net, batch=2, optimizer="sgd")
    momentum = estimate(net, batch=2, optimizer="momentum")
    params = (108 + 8) * 4
    assert (adam.optimizer_bytes, momentum.optimizer_bytes, sgd.optimizer_bytes) == \
        (2 * params, params, 0)
    assert adam.training_peak - sgd.training_peak == 3 * 512 * 2  # 2 moments of 3 tensors


def test_every_kind_states_what_autograd_saves():
    """A kind added without its rule fails here, not silently in the memory figures."""
    for key, cls in REGISTRY.items():
        assert cls.saves is not None, key
        assert set(cls.saves) | set(cls.backward_scratch) <= set(SAVED) | {"temp", "others"}, key


def test_zoo_estimates_against_the_gpu():
    """The H200 figures of issue 15 (torchvision's models, torch 2.11): within 1% where the
    difference is rounding; the bf16 inference gap is a cuDNN workspace the model leaves out."""
    r50 = cnncalc.load("zoo:resnet50")
    fp32 = estimate(r50, batch=256)
    assert abs(fp32.inference_peak / 2_929_436_160 - 1) < 0.01
    assert abs(fp32.training_peak / 22_517_351_936 - 1) < 0.01
    bf16 = estimate(r50, batch=256, dtype="bf16")
    assert abs(bf16.training_peak / 11_477_817_344 - 1) < 0.01
    mb2 = estimate(cnncalc.load("zoo:mobilenet_v2"), batch=64)
    assert abs(mb2.inference_peak / 720_715_264 - 1) < 0.01
    assert abs(mb2.training_peak / 5_104_152_064 - 1) < 0.01


# --- the rules against torch --------------------------------------------------------------

RULES = [  # (spec layers, the kinds' saved storages as torch reports them)
    "conv: {filters: 4, size: 3}", "bn", "relu", "relu: {inplace: true}", "relu6",
    "relu6: {inplace: true}", "silu", "silu: {inplace: true}", "hardswish: {inplace: true}",
    "leaky_relu: {slope: 0.1, inplace: true}", "sigmoid", "tanh", "gelu", "pool: 2",
    "pool: {size: 2, mode: avg}", "global_pool: avg", "global_pool: max", "upsample: 2",
    "shuffle: 2", "adaptive_pool: 3", "channel_conv: 3", "channel_conv: {size: 3, pad: 1}",
]


@pytest.mark.parametrize("layer", RULES)
def test_saved_storages_match_torch(layer):
    """A 1×1 conv (so that the layer's input needs grad), then the layer: the bytes of the new
    storages autograd keeps, by torch's saved_tensors_hooks, equal the model's saved bytes."""
    torch = pytest.importorskip("torch")
    from cnncalc.backends.torch import build

    text = f"name: one\ninput: 12x12x4\nlayers:\n  - conv: {{filters: 4, size: 1}}\n  - {layer}\n"
    net = spec(text)
    model = build(net)[0].train()
    x = torch.randn(2, 4, 12, 12)
    seen: dict[int, int] = {}
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    params |= {b.untyped_storage().data_ptr() for b in model.buffers()}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            seen[s.data_ptr()] = rounded(s.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    assert estimate(net, batch=2).saved_bytes == sum(seen.values()), layer


def test_params_size_means_params_only_everywhere(cli, tmp_path):
    """Issue 17: inspect said "Params size (fp16) 66.86 KiB" (params and BN buffers) where
    the report said 66.18 KiB and "Buffers size 704 B".  Now both say params × 2 bytes for
    the params and buffers × 2 for the buffers."""
    from cnncalc.formatting import size_bytes

    report = cnncalc.analyze(cnncalc.load("zoo:resnet_mini"))
    params, buffers = report.totals.params, report.totals.buffers
    assert buffers > 0
    text = cli("inspect", "zoo:resnet_mini", "--dtype", "fp16", "--format", "markdown").stdout
    assert f"- Params size (fp16): {size_bytes(params * 2)}\n" in text
    assert f"- Buffers size (fp16): {size_bytes(buffers * 2)}\n" in text
    out = tmp_path / "r.html"
    cli("report", "zoo:resnet_mini", "--dtype", "fp16", "-o", str(out))
    page = out.read_text(encoding="utf-8")
    assert f'data-total="memory.params_bytes" data-value="{params * 2}"' in page
    assert f'data-total="memory.buffers_bytes" data-value="{buffers * 2}"' in page
    assert f">{size_bytes(params * 2)}<" in page


def test_channel_conv_saves_its_channels_last_copy():
    """ECA's conv1d along D: on a map the module makes x channels-last and contiguous, a copy
    (2·4·8·8·4 = 2,048 bytes, already a multiple of 512) that conv1d keeps; on a vector it
    keeps x itself (a view), nothing new: the input needs no grad, so a 1×1 conv feeds it."""
    net = spec("name: eca\ninput: 8x8x4\nlayers:\n  - channel_conv: 3\n")
    assert estimate(net, batch=2).saved_bytes == 2 * 4 * 8 * 8 * 4
    vec = spec("name: eca\ninput: 8x8x4\nlayers:\n  - conv: {filters: 4, size: 1}\n"
               "  - global_pool: avg\n  - channel_conv: {size: 3, pad: 1}\n")
    without = spec("name: eca\ninput: 8x8x4\nlayers:\n  - conv: {filters: 4, size: 1}\n"
                   "  - global_pool: avg\n")
    # the pooled vector (2·4 fp32 = 32 bytes, one 512-byte block), which average pooling
    # does not keep, is what the channel conv keeps: nothing new is made for it
    assert estimate(vec, batch=2).saved_bytes == estimate(without, batch=2).saved_bytes + 512


@pytest.mark.parametrize("layers", [
    "conv: {filters: 16, size: 3, pad: 1}\n  - channel_conv: {size: 3, pad: 1}\n  - relu",
    "conv: {filters: 16, size: 1}\n  - global_pool: avg\n  - channel_conv: {size: 3, pad: 1}\n"
    "  - sigmoid"])
def test_channel_conv_against_the_tracker(layers):
    """The tracker (torch's own allocations, emulated) agrees: on a map the channels-last copy
    is made in inference too (a scratch the size of x) and kept in training."""
    pytest.importorskip("torch")
    from cnncalc.backends.memtrack import track_spec

    net = spec(f"name: eca\ninput: 8x8x16\nlayers:\n  - {layers}\n")
    e = estimate(net, batch=4, optimizer="sgd")
    t = track_spec(net, batch=4, optimizer="sgd")
    assert (e.saved_bytes, e.inference_peak, e.training_peak) == \
        (t.saved, t.inference_peak, t.training_peak)
