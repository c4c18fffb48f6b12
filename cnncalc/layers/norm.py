"""Normalisation: ``bn`` (batch norm) and ``lrn`` (AlexNet's local response normalisation)."""

from __future__ import annotations

from ..formulas import DOT, Shape, volume_text
from . import register
from .base import Torch, Field, Formula, Layer, boolean, n, number, pos_int, pos_number
from .slips import Slip


@register
class BatchNorm(Layer):
    key = "bn"
    torch = Torch(("torch.nn.BatchNorm2d", "torch.nn.BatchNorm1d"), ("batch_norm",),
                  (("eps", "eps"), ("affine", "affine")))
    family = "norm"
    summary = "batch norm: 2·D params (γ, β) and 2·D buffers (running mean, variance)"
    fields = (
        Field("eps", pos_number, 1e-5, "added to the variance"),
        Field("affine", boolean, True, "learn γ and β"),
    )

    keeps_features = True
    # native_batch_norm_backward(grad, input, weight, running_mean, running_var, save_mean,
    # save_invstd, …): the input and two fp32 vectors of D (the running statistics and γ
    # are buffers and parameters already).
    saves = ("input", "stats")
    cancels_bias = True  # it subtracts each map's batch mean

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.hp["affine"] else 0

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        return (x.c, x.c) if self.hp["affine"] else ()

    def buffer_tensors(self, x: Shape) -> tuple[tuple[int, int], ...]:
        # running_mean, running_var, and num_batches_tracked (an int64 scalar that the
        # counts leave out but the GPU holds)
        return ((x.c, 0), (x.c, 0), (1, 8))

    def macs(self, x: Shape, y: Shape) -> int:
        return 0  # normalisation counts no weight MACs (the convention in report.py)

    def buffers(self, x: Shape) -> int:
        return 2 * x.c

    def explain(self, x: Shape, y: Shape) -> Formula:
        learn = ((("params", f"2{DOT}{x.c} = {n(self.params(x))} (γ, β)"),)
                 if self.hp["affine"] else ())
        return Formula(f"batch norm over D={x.c}: {volume_text(y)} unchanged", parts=learn + (
            ("buffers", f"2{DOT}{x.c} = {n(self.buffers(x))} (running mean, variance)"),))

    def params_slips(self, x: Shape, y: Shape) -> list[Slip]:
        return [
            (4 * x.c, f"counted the running mean and variance; they are buffers, not params: "
                      f"γ and β, 2{DOT}{x.c}"),
            (x.c, f"batch norm learns two numbers per map (γ and β): 2{DOT}{x.c}"),
        ]



@register
class LocalResponseNorm(Layer):
    key = "lrn"
    torch = Torch(("torch.nn.LocalResponseNorm",), ("local_response_norm",),
                  (("size", "size"), ("alpha", "alpha"), ("beta", "beta"), ("k", "k")))
    family = "norm"
    summary = "local response normalisation across `size` neighbouring maps (AlexNet); 0 weights"
    needs_volume = True
    keeps_features = True
    primary = "size"
    # F.local_response_norm is a chain of ops (mul, pad, avg_pool3d, mul, add, pow, div):
    # autograd keeps the input, the padded squares (avg_pool3d's input) and two maps of the
    # input's size (pow's input, div's divisor); its backward runs the chain back, with two
    # maps and the padded squares alive at once (measured with mem-oracle's tracker).
    saves = ("input", "padded", "copy", "copy")
    scratch = ("copy", "copy")
    backward_scratch = ("copy", "copy", "padded")
    fields = (
        Field("size", pos_int, 5, "n, the neighbouring maps summed"),
        Field("alpha", number, 1e-4, "α"),
        Field("beta", number, 0.75, "β"),
        Field("k", number, 1.0, "k (the AlexNet paper uses 2)"),
    )

    def connections(self, x: Shape, y: Shape) -> int:
        return y.numel * min(self.hp["size"], x.c)

    def explain(self, x: Shape, y: Shape) -> Formula:
        return Formula(f"LRN over {self.hp['size']} maps: {volume_text(y)} unchanged; 0 weights")


@register
class LayerNorm(Layer):
    key = "layer_norm"
    torch = Torch(("torch.nn.LayerNorm",), ("layer_norm",),
                  (("eps", "eps"), ("elementwise_affine", "affine")))
    family = "norm"
    summary = "layer norm over the D channels at each position (ConvNeXt): 2·D params (γ, β)"
    keeps_features = True
    # native_layer_norm_backward(grad, input, …, result1, result2, weight, bias): the input
    # and the mean and rstd of each position; on a W×H×D map the channels are moved last, a
    # view the kernel first copies (scratch).  Autocast runs layer_norm in fp32.
    saves = ("input", "rows")
    autocast = "fp32"
    fields = (
        Field("eps", pos_number, 1e-5, "added to the variance (ConvNeXt: 1e-6)"),
        Field("affine", boolean, True, "learn γ and β"),
    )

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.hp["affine"] else 0

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        return (x.c, x.c) if self.hp["affine"] else ()

    @property
    def scratch(self) -> tuple[str, ...]:
        return ("copy",)

    def macs(self, x: Shape, y: Shape) -> int:
        return 0  # normalisation counts no weight MACs, as batch norm

    def explain(self, x: Shape, y: Shape) -> Formula:
        where = "at each of the W·H positions" if x.spatial else "of the vector"
        learn = ((("params", f"2{DOT}{x.c} = {n(self.params(x))} (γ, β)"),)
                 if self.hp["affine"] else ())
        return Formula(f"layer norm over the D={x.c} channels {where}: {volume_text(y)} "
                       f"unchanged", parts=learn)


@register
class LayerScale(Layer):
    key = "layer_scale"
    torch = Torch(("cnncalc.backends.extra_modules.LayerScale",))
    family = "norm"
    summary = "a learned scale per channel, γ·x (ConvNeXt): D params, 0 MACs"
    keeps_features = True
    saves = ("input",)  # γ·x: mul keeps x for γ's gradient (γ is a parameter)
    # under autocast mul is on no list: a bf16/fp16 x times the fp32 γ is promoted to fp32
    autocast = "promote"
    fields = (Field("init", number, 1e-6, "γ's starting value (ConvNeXt: 1e-6)"),)

    def params(self, x: Shape) -> int:
        return x.c

    def macs(self, x: Shape, y: Shape) -> int:
        # γ multiplies each value once, like batch norm's γ: an elementwise product, not a
        # conv/fc weight MAC (torchvision's GFLOPS leave it out too).
        return 0

    def explain(self, x: Shape, y: Shape) -> Formula:
        return Formula(f"layer scale: γ (one per channel) times each value: {volume_text(y)} "
                       f"unchanged", parts=(("params", f"D = {n(x.c)}"),))
