"""The fake-tensor memory tracker (cnncalc/backends/memtrack.py) proven on its own: tiny nets
worked by hand storage by storage, PyTorch's own MemTracker on the same step, what autograd
saves per op, and the CUDA behaviours it emulates on the CPU."""

from __future__ import annotations

from contextlib import nullcontext

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import cnncalc  # noqa: E402
from cnncalc.backends import BackendError  # noqa: E402
from cnncalc.backends.memtrack import rounded, track, track_spec  # noqa: E402

B512 = 512


def test_rounding_is_the_caching_allocators():
    assert [rounded(n) for n in (0, 1, 511, 512, 513, 4_000_000)] == \
        [0, 512, 512, 512, 1024, 4_000_256]


def test_one_conv_inference_is_weights_input_and_output_exactly():
    # Conv2d(3→8, 3×3) on 2×3×10×10 fp32: weight 8·3·3·3·4 = 864 B, bias 32 B, input
    # 2·3·10·10·4 = 2,400 B, output 2·8·8·8·4 = 4,096 B; nothing else is alive.
    r = track(lambda: nn.Conv2d(3, 8, 3), (3, 10, 10), batch=2)
    assert r.inference_peak_raw == 864 + 32 + 2400 + 4096
    assert r.inference_peak == 1024 + 512 + 2560 + 4096
    assert r.weights == 1024 + 512 and r.input == 2560
    assert r.training_peak is None


def test_in_place_and_views_allocate_nothing():
    conv = lambda: nn.Conv2d(3, 8, 3)  # noqa: E731
    alone = track(conv, (3, 10, 10), batch=2).inference_peak
    inplace = track(lambda: nn.Sequential(conv(), nn.ReLU(inplace=True), nn.Flatten()),
                    (3, 10, 10), batch=2).inference_peak
    fresh = track(lambda: nn.Sequential(conv(), nn.ReLU()), (3, 10, 10), batch=2).inference_peak
    assert inplace == alone
    assert fresh == alone + 4096  # a new output beside the conv's, both alive in the ReLU


def test_linear_sgd_step_by_hand():
    # Linear(4→2, no bias), batch 1, SGD (no state), step 2 after zero_grad(set_to_none):
    # W (32 B), x (16 B); forward: out (8 B) is not saved (mm saves x alone: x needs no
    # gradient, so W is not needed) and is dropped,
    # loss (4 B) stays; backward: the seed ones_like(loss) (4 B) and W's gradient (32 B).
    # At most 5 storages at once: W, x, loss, seed, grad = 5 × 512 rounded, 88 B raw.
    r = track(lambda: nn.Linear(4, 2, bias=False), (4,), batch=1, optimizer="sgd",
              device="cpu")
    assert r.inference_peak == 3 * B512  # W, x, out
    assert r.training_peak == 5 * B512
    assert r.training_peak_raw == 32 + 16 + 4 + 4 + 32
    assert r.gradients == B512 and r.optimizer_state == 0
    assert r.saved == B512  # x (weights are never counted as saved)
    assert r.training_peak_phase == "backward"


def test_linear_adam_step_by_hand():
    # Adam adds exp_avg and exp_avg_sq (2 × 512); its step counters are host memory on a GPU.
    # Backward: W, x, exp_avg, exp_avg_sq, loss, seed, grad = 7 storages.
    r = track(lambda: nn.Linear(4, 2, bias=False), (4,), batch=1, optimizer="adam")
    assert r.optimizer_state == 2 * B512
    assert r.training_peak == 7 * B512


def test_foreach_adam_temporary_is_one_copy_of_the_parameters():
    # A 1000×1000 linear at batch 1: the step is the peak.  CUDA's foreach Adam holds params,
    # grads, exp_avg, exp_avg_sq and sqrt(exp_avg_sq) (one list the size of all parameters)
    # at once, beside the input: 5 × (W + b) + x, each rounded.
    W, b, x = rounded(4_000_000), rounded(4_000), rounded(4_000)
    r = track(lambda: nn.Linear(1000, 1000), (1000,), batch=1, optimizer="adam")
    assert r.training_peak_phase == "step"
    assert r.training_peak == 5 * (W + b) + x


def test_sgd_momentum_state_is_one_copy():
    r = track(lambda: nn.Linear(1000, 1000), (1000,), batch=1, optimizer="momentum")
    assert r.optimizer_state == rounded(4_000_000) + rounded(4_000)


def test_max_pool_indices_on_cuda_inference():
    # CUDA's max_pool2d computes int64 indices even without grad: output numel × 8 B beside
    # the input and the output; the CPU kernel does without them.
    shape = (4, 16, 16)
    x, out, idx = 2 * 4 * 16 * 16 * 4, 2 * 4 * 8 * 8 * 4, 2 * 4 * 8 * 8 * 8
    cpu = track(lambda: nn.MaxPool2d(2), shape, batch=2, device="cpu")
    gpu = track(lambda: nn.MaxPool2d(2), shape, batch=2, device="cuda")
    assert cpu.inference_peak == rounded(x) + rounded(out)
    assert gpu.inference_peak == rounded(x) + rounded(out) + rounded(idx)


def test_cudnn_workspace_of_a_half_precision_conv_on_cuda():
    # a bf16 NCHW conv on a GPU: cuDNN's workspace holds NHWC copies of the input and the
    # output + 512 B for the call (cnncalc.memory.WORKSPACE); fp32 and the CPU take none, nor
    # does a depthwise conv (PyTorch's own kernel in bf16).  Conv2d(8→8, 3×3, pad 1, no
    # bias) on 2×8×8×8: input and output 2,048 B each in bf16.
    def peak(groups, dtype, device="cuda", net=None):
        net = net or (lambda: nn.Conv2d(8, 8, 3, padding=1, groups=groups, bias=False))
        return track(net, (8, 8, 8), batch=2, dtype=dtype, device=device).inference_peak

    workspace = 2048 + 2048 + 512
    assert peak(1, "bf16") == rounded(8 * 8 * 9 * 2) + 2 * 2048 + workspace
    assert peak(1, "bf16", "cpu") == rounded(8 * 8 * 9 * 2) + 2 * 2048
    assert peak(2, "fp16") == rounded(8 * 4 * 9 * 2) + 2 * 2048 + workspace
    assert peak(8, "bf16") == rounded(8 * 9 * 2) + 2 * 2048
    assert peak(1, "fp32") == rounded(8 * 8 * 9 * 4) + 2 * 4096
    # a transposed conv (cudnn_convolution_transpose) takes the same: 2×8×8×8 in (2,048 B)
    # → 2×8×16×16 out (8,192 B), weight 8·8·2·2·2 = 512 B
    up = peak(1, "bf16", net=lambda: nn.ConvTranspose2d(8, 8, 2, stride=2, bias=False))
    assert up == 512 + 2048 + 8192 + (2048 + 8192 + 512)
    # a pointwise conv (1×1, stride 1, no padding: a plain product on NCHW) takes none; at
    # stride 2 it does: 2,048 B in, 2×8×4×4×2 = 512 B out
    pw = peak(1, "bf16", net=lambda: nn.Conv2d(8, 8, 1, bias=False))
    assert pw == 512 + 2048 + 2048
    strided = peak(1, "bf16", net=lambda: nn.Conv2d(8, 8, 1, stride=2, bias=False))
    assert strided == 512 + 2048 + 512 + (2048 + 512 + 512)
    # and in a training step's forward (aten.convolution below autograd), the same transient
    train = track(lambda: nn.Conv2d(8, 8, 3, padding=1, bias=False), (8, 8, 8), batch=2,
                  dtype="bf16", optimizer="sgd", device="cuda")
    assert train.training_peak >= rounded(8 * 8 * 9 * 2) + 2 * 2048 + workspace


def test_dropout_saves_a_bool_mask_on_cuda():
    # training dropout on 64×1000: CUDA's fused kernel saves a 1-byte mask, the CPU a float one
    def net():
        return nn.Sequential(nn.Linear(1000, 1000), nn.Dropout(0.5))

    gpu = track(net, (1000,), batch=64, optimizer="sgd", device="cuda")
    cpu = track(net, (1000,), batch=64, optimizer="sgd", device="cpu")
    assert gpu.training_layers[1].saved == rounded(64 * 1000)
    assert cpu.training_layers[1].saved == rounded(64 * 1000 * 4)


def test_amp_casts_input_and_weights_to_the_low_type():
    # under amp bf16 the conv runs on bf16 copies of x, W and b; its output is bf16; on the
    # CPU no cuDNN workspace, on CUDA the bf16 conv's NHWC copies: 1,200 + 2,048 + 512 B
    fp32 = 1024 + 512 + 2560
    copies = rounded(1200) + rounded(432) + rounded(16)
    cpu = track(lambda: nn.Conv2d(3, 8, 3), (3, 10, 10), batch=2, amp="bf16", device="cpu")
    assert cpu.inference_peak == fp32 + copies + rounded(2 * 8 * 8 * 8 * 2)
    r = track(lambda: nn.Conv2d(3, 8, 3), (3, 10, 10), batch=2, amp="bf16")
    assert r.inference_peak == fp32 + copies + rounded(2 * 8 * 8 * 8 * 2) + rounded(3760)


def test_layer_norm_runs_in_fp32_under_amp():
    class LN(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(64)

        def forward(self, x):
            return self.norm(x.bfloat16() * 1)

    r = track(LN, (64,), batch=1000, amp="bf16", optimizer="sgd")
    # a layer norm saves its fp32 input copy under amp (CUDA's fp32 list)
    rows = {row.name: row.saved for row in r.training_layers}
    assert rows["norm"] >= rounded(1000 * 64 * 4)


# --- what autograd saves ---------------------------------------------------------------------

def _saved_kinds(module, shape):
    """What ``module`` saves for backward, each as input/output/param/new (real CPU tensors)."""
    module.train()
    x = torch.randn(shape, requires_grad=True) * 1
    got = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: got.append(t) or t, lambda t: t):
        out = module(x)
    params = {p.untyped_storage()._cdata for p in [*module.parameters(), *module.buffers()]}

    def kind(t):
        s = t.untyped_storage()._cdata
        if s == x.untyped_storage()._cdata:
            return "input"
        if s == out.untyped_storage()._cdata:
            return "output"
        return "param" if s in params else f"new {t.dtype}"
    return sorted(kind(t) for t in got)


@pytest.mark.parametrize("module, saved", [
    (nn.Conv2d(4, 4, 3), ["input", "param"]),
    (nn.ReLU(), ["output"]),
    (nn.ReLU(inplace=True), ["input"]),  # its input is its output: the storage it overwrote
    (nn.ReLU6(inplace=True), ["new torch.float32"]),  # a copy
    (nn.SiLU(), ["input"]),
    (nn.Sigmoid(), ["output"]),
    (nn.MaxPool2d(2), ["input", "new torch.int64"]),
    (nn.AdaptiveAvgPool2d(1), []),
    (nn.Flatten(), []),
    (nn.Upsample(scale_factor=2), []),
    (nn.BatchNorm2d(4), ["input", "new torch.float32", "new torch.float32", "param", "param",
                         "param"]),
])
def test_what_autograd_saves(module, saved):
    assert _saved_kinds(module, (2, 4, 6, 6)) == saved


# --- against PyTorch's own tracker -----------------------------------------------------------

def test_equals_pytorchs_memtracker_on_a_small_cnn():
    mem_tracker = pytest.importorskip("torch.distributed._tools.mem_tracker")
    from torch._subclasses.fake_tensor import FakeTensorMode

    def net():
        return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16),
                             nn.ReLU(inplace=True), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))

    ours = track(net, (3, 32, 32), batch=8, optimizer="adam", device="cpu")
    with FakeTensorMode():
        m, x = net(), torch.empty(8, 3, 32, 32)
        opt = torch.optim.Adam(m.parameters())
        m(x).float().sum().backward()
        opt.step()
        mt = mem_tracker.MemTracker()
        mt.track_external(m, opt)
        with mt:
            opt.zero_grad(set_to_none=True)
            out = m(x)
            loss = out.float().sum()
            del out
            loss.backward()
            del loss
            opt.step()
        theirs = mt.get_tracker_snapshot("peak")[torch.device("cpu")]["Total"]
    # MemTracker counts the model and the optimizer, not the input, and raw bytes on a CPU
    assert ours.training_peak_raw == theirs + 8 * 3 * 32 * 32 * 4


# --- from a spec -----------------------------------------------------------------------------

def test_track_spec_names_rows_as_the_report_does():
    spec = cnncalc.load("zoo:lenet5")
    r = track_spec(spec, batch=4, optimizer="adam")
    report = cnncalc.analyze(spec)
    assert [row.name for row in r.inference_layers] == [row.name for row in report.layers]
    params = [row.counts.params for row in report.layers]
    assert r.weights >= sum(params) * 4  # every tensor rounded up
    assert r.inference_peak_layer in {row.name for row in report.layers}


def test_bad_options_are_usage_errors():
    with pytest.raises(BackendError, match="--dtype"):
        track(lambda: nn.Linear(2, 2), (2,), dtype="fp8")
    with pytest.raises(BackendError, match="--optimizer"):
        track(lambda: nn.Linear(2, 2), (2,), optimizer="lion")
    with pytest.raises(BackendError, match="--amp"):
        track(lambda: nn.Linear(2, 2), (2,), amp="bf16", dtype="bf16")


@pytest.mark.parametrize("dtype, amp, optimizer", [("fp32", None, "adam"),
                                                    ("bf16", None, "adamw"),
                                                    ("fp32", "bf16", "adam")])
def test_the_first_step_made_state_only_changes_no_figure(monkeypatch, dtype, amp, optimizer):
    """memtrack.state_only skips Adam's first update (its state exists before it): every
    figure, row and curve the same as with the whole first step, which it really skips."""
    import torch.optim.adam as adam_module

    from cnncalc.backends import memtrack

    calls = []
    real = adam_module.adam
    monkeypatch.setattr(adam_module, "adam", lambda *a, **k: (calls.append(1), real(*a, **k)))
    spec = cnncalc.load("zoo:resnet_mini")  # convs, batch norms, residuals, pooling, fc
    args = dict(batch=4, dtype=dtype, amp=amp, optimizer=optimizer, device="cuda")
    short = track_spec(spec, **args)
    assert len(calls) == 1  # the measured step's update only
    monkeypatch.setattr(memtrack, "state_only", lambda optimizer: nullcontext())
    whole = track_spec(spec, **args)
    assert len(calls) == 3
    assert short == whole  # every field, the per-layer rows and the curves included
    assert short.optimizer_state > 0


# --- meta tensors, held to fake tensors ------------------------------------------------------

# batch norm (its saved statistics' type), a layer norm over channels (its statistics' type,
# and a channels-last map into the next conv, whose output keeps that format on the CPU),
# eval dropout (a clone), upsampling (a composite run as torch._decomp's decomposition), a
# transposed conv, max pooling, in place and not
_ODD_LAYERS = ("input: 12x12x4\nlayers:\n  - conv: {filters: 8, size: 3, pad: 1}\n  - bn\n"
               "  - relu\n  - layer_norm\n  - conv: {filters: 8, size: 1}\n"
               "  - pool: {size: 2, stride: 2}\n  - upsample: 2\n"
               "  - deconv: {filters: 4, size: 2, stride: 2}\n  - bn\n  - relu6\n"
               "  - global_pool: avg\n  - flatten\n  - dropout: 0.5\n  - fc: 10\n"
               "  - dropout: 0.2\n  - fc: 3\n")


@pytest.mark.parametrize("spec, args", [
    ("zoo:resnet_mini", dict(dtype="bf16", optimizer="adam")),
    ("zoo:resnet_mini", dict(amp="fp16", optimizer="adamw", checkpoint=True)),
    (_ODD_LAYERS, dict(dtype="fp32", optimizer="adam")),
    (_ODD_LAYERS, dict(dtype="bf16", optimizer="momentum", device="cpu")),
    (_ODD_LAYERS, dict(amp="bf16", optimizer="adam")),
], ids=["resnet_mini-bf16", "resnet_mini-amp-checkpoint", "odd-fp32",
        "odd-bf16-cpu", "odd-amp"])
def test_meta_tensors_give_every_figure_fake_cpu_tensors_give(monkeypatch, spec, args):
    """The tracker runs on meta tensors standing for the CPU's (memtrack._as_fake_cpu); its
    first implementation, FakeTensorMode's CPU tensors (3 to 4 times slower), is the reference:
    every figure, per-layer row and memory curve the same, in inference and in a step."""
    from cnncalc.backends import memtrack

    spec = cnncalc.load(spec)
    meta = track_spec(spec, batch=4, **args)
    monkeypatch.setattr(memtrack, "CPU_TENSORS", "fake")
    fake = track_spec(spec, batch=4, **args)
    assert meta == fake
    assert meta.training_curve and meta.inference_curve


def _layout(t):
    return None if t is None else (tuple(t.shape), t.stride(), t.dtype, t.storage_offset(),
                                   t.untyped_storage().nbytes())


@pytest.mark.parametrize("dims", [2, 4, 5])
def test_batch_norm_rules_give_what_fake_cpu_tensors_give(dims):
    """memtrack._BY_RULE makes batch norm's outputs without its decomposition (half of a
    tracking): sizes, strides, types and storage bytes as FakeTensorMode's CPU kernels make
    them, in training and eval, channels-last or not, bf16 maps with fp32 weights, every
    gradient mask."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    from cnncalc.backends import memtrack

    aten = torch.ops.aten
    shape = (4, 6, 5, 3, 2)[:dims]
    formats = [torch.contiguous_format] + \
        {4: [torch.channels_last], 5: [torch.channels_last_3d]}.get(dims, [])
    fake = FakeTensorMode()
    checked = 0
    for fmt in formats:
        for dtype, wtype in ((torch.float32, None), (torch.bfloat16, None),
                             (torch.bfloat16, torch.float32)):
            for training in (True, False):
                def run(device, mode):
                    with mode:
                        x = torch.empty(shape, dtype=dtype, device=device).contiguous(
                            memory_format=fmt)
                        w = torch.empty(6, dtype=wtype or dtype, device=device)
                        grad = torch.empty(shape, dtype=dtype, device=device)
                        stats = torch.empty(6 if training else 0, dtype=dtype, device=device)
                        out = [aten.native_batch_norm.default(x, w, w, w, w, training, .1, 1e-5),
                               [aten.batch_norm.default(x, w, w, w, w, training, .1, 1e-5, True)]]
                        for mask in ([True, True, True], [True, False, False],
                                     [False, True, True]):
                            out.append(aten.native_batch_norm_backward.default(
                                grad, x, w, w, w, stats, stats, training, 1e-5, mask))
                    return [[_layout(t) for t in group] for group in out]

                with memtrack._Live(meta_as_cpu=True):
                    ours = run("meta", nullcontext())
                assert ours == run("cpu", fake), (fmt, dtype, wtype, training)
                checked += 1
    assert checked == 6 * len(formats)


def test_the_tracker_runs_on_meta_tensors():
    from torch._subclasses.fake_tensor import FakeTensor

    from cnncalc.backends import memtrack

    seen = []
    real = memtrack._Live.adopt
    try:
        memtrack._Live.adopt = lambda self, ts: (seen.extend(ts), real(self, ts))[1]
        track(lambda: nn.Linear(4, 2), (4,), batch=2)
    finally:
        memtrack._Live.adopt = real
    assert seen and all(t.device.type == "meta" and not isinstance(t, FakeTensor) for t in seen)


# --- against a real GPU ------------------------------------------------------------------------

# Measured on an NVIDIA H200 (torch 2.11, torchvision's models at 224×224,
# torch.cuda.max_memory_allocated; issue 15): (net, batch, dtype) → (inference, Adam step).
H200 = {("resnet50", 256, "fp32"): (2_929_436_160, 22_517_351_936),
        ("resnet50", 256, "bf16"): (1_566_983_680, 11_477_817_344),
        ("mobilenet_v2", 64, "fp32"): (720_715_264, 5_104_152_064)}


@pytest.mark.torchvision
@pytest.mark.parametrize("net, batch, dtype", sorted(H200))
def test_torchvision_nets_against_the_h200(net, batch, dtype):
    from torchvision_needed import load

    models = load("torchvision.models")
    r = track(getattr(models, net), (3, 224, 224), batch=batch, dtype=dtype, optimizer="adam")
    inference, step = H200[net, batch, dtype]
    # What the tracker cannot see (cuDNN workspaces) can only add on the GPU.
    assert r.training_peak <= step and r.training_peak == pytest.approx(step, rel=0.005)
    assert r.inference_peak <= inference
    if dtype == "fp32":
        assert r.inference_peak == pytest.approx(inference, rel=0.001)
    else:
        # bf16: cuDNN's NHWC copies of a conv's input and output (+ 512 B), emulated, make
        # the peak at layer2.0's strided 1×1 downsample conv: the H200's figure to the byte
        # (with copies at layer1's pointwise 64→256 convs too it would be one 256×64×56×56
        # bf16 tensor above it, at layer1.1.conv3, where torchvision's ResNet still holds
        # layer1's input)
        assert r.inference_peak == inference
