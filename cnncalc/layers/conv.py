"""Convolutions: ``conv`` (standard, grouped, depthwise, LeNet's connection table) and
``deconv`` (transposed).

The notes: a conv takes W1×H1×D1 and K filters of F×F×D1, and gives
``((W1 − F + 2P)/S + 1) × ((H1 − F + 2P)/S + 1) × K`` with ``(F·F·D1)·K + K`` weights.
Groups split D1 into g slices (``(F·F·D1/g)·K + K``); depthwise is g = D1.
"""

from __future__ import annotations

from fractions import Fraction

from ..formulas import (DOT, AxisOut, Shape, axis_formula, effective_kernel, keep_pad_total,
                      same_pad_total,
                      split_pad, transposed_out_len, volume_text, window_out_len)
from ..closed_forms import exceeds, is_symbolic
from . import register
from .base import (Torch, AxisWindow, Field, Finding, Formula, Layer, LayerError, Window, axes_text,
                   boolean, connection_table, n, nonneg_int, nonneg_pair, optional, padding, pos_int,
                   pos_pair, window_findings)
from ..formatting import plural
from .slips import Slip, order_slips, window_shape_slips

@register
class Conv(Layer):
    key = "conv"
    # ConnectionConv2d: LeNet-5's C3 (``connections:``), as the export writes it
    torch = Torch(("torch.nn.Conv2d", "cnncalc.backends.extra_modules.ConnectionConv2d"),
                  ("conv2d",))
    # convolution_backward(grad, input, weight, …): the input (the weight is a parameter);
    # autocast runs conv2d in bf16/fp16.
    saves = ("input",)
    autocast = "low"
    family = "conv"
    convolution = True
    sliding_window = True
    summary = "convolution: (F·F·D/g)·K + K weights; depthwise, grouped, LeNet connection table"
    needs_volume = True
    fields = (
        Field("filters", optional(pos_int), None, "K, the number of filters (depthwise: D)"),
        Field("size", pos_pair, doc="F, the kernel size: int or [h, w]"),
        Field("stride", pos_pair, 1, "S"),
        Field("pad", padding, 0, "P: int, [h, w], same (output ⌈N/S⌉), valid (0) or keep "
                                 "(the notes' p = (N(s − 1) + F − s)/2: output N)"),
        Field("dilation", pos_pair, 1, "d: the kernel spans d·(F − 1) + 1"),
        Field("groups", pos_int, 1, "g: D and K split into g independent slices"),
        Field("depthwise", boolean, False, "one filter per input map (g = D)"),
        Field("bias", boolean, True, "one shared bias per filter"),
        Field("connections", optional(connection_table), None,
              "per filter, the input maps it reads (LeNet-5 C3)"),
    )

    @classmethod
    def validate(cls, hp):
        errors = []
        if hp["filters"] is None and not hp["depthwise"]:
            errors.append(("filters", "is required: how many filters (K) does this conv have?"))
        if hp["connections"] is not None:
            if hp["groups"] != 1 or hp["depthwise"]:
                errors.append(("connections", "cannot be combined with groups or depthwise"))
            if hp["filters"] is not None and len(hp["connections"]) != hp["filters"]:
                errors.append(("connections", f"has {len(hp['connections'])} entries but the "
                                              f"conv has {hp['filters']} filters; give one per filter"))
        if hp["depthwise"] and hp["groups"] != 1:
            errors.append(("groups", "depthwise already sets groups to the input depth; drop one"))
        return errors

    # -- the pieces every method shares
    def groups(self, x: Shape) -> int:
        return x.c if self.hp["depthwise"] else self.hp["groups"]

    def scratched(self, x: Shape, y: Shape) -> tuple[str, ...]:
        # A half-precision conv runs in cuDNN with a workspace (cnncalc.memory, WORKSPACE),
        # except a pointwise one (1×1, stride 1, no padding: a plain product on NCHW) and a
        # depthwise one (groups = D > 1: ConvParams::is_depthwise), which runs PyTorch's own
        # conv_depthwise2d in bf16 (use_cudnn_depthwise takes fp16 only).
        g = self.groups(x)
        if g > 1 and g == x.c or self.pointwise(x):
            return ()
        return ("workspace",)

    def pointwise(self, x: Shape) -> bool:
        """A 1×1 kernel at stride 1 with no padding."""
        return (self.hp["size"] == (1, 1) and self.hp["stride"] == (1, 1)
                and self.pads(x) == ((0, 0), (0, 0)))

    def filters(self, x: Shape) -> int:
        return self.hp["filters"] if self.hp["filters"] is not None else x.c

    def pads(self, x: Shape) -> tuple[tuple[int, int], tuple[int, int]]:
        pad, (fh, fw), (sh, sw), (dh, dw) = (self.hp["pad"], self.hp["size"], self.hp["stride"],
                                             self.hp["dilation"])
        if pad == "valid":
            return (0, 0), (0, 0)
        if pad in ("same", "keep"):
            total = same_pad_total if pad == "same" else keep_pad_total
            return (split_pad(total(x.h, fh, sh, dh)), split_pad(total(x.w, fw, sw, dw)))
        return (pad[0], pad[0]), (pad[1], pad[1])

    def axes(self, x: Shape) -> tuple[AxisOut, AxisOut]:
        return self.remembered(x, self._axes)

    def _axes(self, x: Shape) -> tuple[AxisOut, AxisOut]:
        (fh, fw), (sh, sw), (dh, dw) = self.hp["size"], self.hp["stride"], self.hp["dilation"]
        ph, pw = self.pads(x)
        return window_out_len(x.h, fh, sh, ph, dh), window_out_len(x.w, fw, sw, pw, dw)

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        g, k = self.groups(x), self.filters(x)
        if x.c % g:
            raise LayerError(f"groups={g} must divide the input depth D={x.c}")
        if k % g:
            raise LayerError(f"groups={g} must divide the number of filters K={k}"
                             + (" (depthwise: K must be a multiple of D)" if self.hp["depthwise"] else ""))
        table = self.hp["connections"]
        if table is not None:
            bad = sorted({i for row in table for i in row if i >= x.c})
            if bad:
                raise LayerError(f"the connection table reads input map(s) {bad} but the input "
                                 f"has only {x.c} maps (0 to {x.c - 1})")
        ah, aw = self.axes(x)
        for axis, a in (("H", ah), ("W", aw)):
            if exceeds(a.f, a.n + a.pad[0] + a.pad[1]):
                raise LayerError(
                    f"the kernel ({a.f} along {axis}) is larger than the padded input: "
                    f"{a.n} + {a.pad[0]} + {a.pad[1]} = {a.n + a.pad[0] + a.pad[1]}; "
                    f"use a smaller kernel or more padding")
        return Shape(k, ah.out, aw.out)

    def weights_per_filter(self, x: Shape) -> int:
        fh, fw = self.hp["size"]
        return fh * fw * (x.c // self.groups(x))

    def params(self, x: Shape) -> int:
        k = self.filters(x)
        bias = k if self.hp["bias"] else 0
        table = self.hp["connections"]
        if table is not None:
            fh, fw = self.hp["size"]
            return sum(len(row) for row in table) * fh * fw + bias
        return self.weights_per_filter(x) * k + bias

    def macs(self, x: Shape, y: Shape) -> int:
        return (self.params(x) - (y.c if self.hp["bias"] else 0)) * y.h * y.w

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        k = self.filters(x)
        return (self.params(x) - k, k) if self.hp["bias"] else (self.params(x),)

    def buffer_tensors(self, x: Shape) -> tuple[tuple[int, int], ...]:
        table = self.hp["connections"]
        if table is None:
            return ()
        links = sum(len(row) for row in table)  # ConnectionConv2d's two int64 index buffers
        return ((links, 8), (links, 8))

    def connections(self, x: Shape, y: Shape) -> int:
        return self.macs(x, y) + (y.numel if self.hp["bias"] else 0)

    def window(self, x: Shape) -> Window:
        ah, aw = self.axes(x)
        return Window(AxisWindow(ah.f, ah.s, ah.pad[0]), AxisWindow(aw.f, aw.s, aw.pad[0]))

    def explain(self, x: Shape, y: Shape) -> Formula:
        ah, aw = self.axes(x)
        (fh, fw), (dh, dw) = self.hp["size"], self.hp["dilation"]
        shape = axes_text(axis_formula(ah), axis_formula(aw))
        dil = ""
        if (dh, dw) != (1, 1):
            dil = f"F' = d{DOT}(F − 1) + 1 = {axes_text(str(ah.f), str(aw.f))}; "
        k, g = self.filters(x), self.groups(x)
        f = f"{fh}{DOT}{fw}"
        bias = f" + {k}" if self.hp["bias"] else ""
        table = self.hp["connections"]
        if table is not None:
            reads = sum(len(row) for row in table)
            params = f"Σ|maps|{DOT}F{DOT}F + K = {reads}{DOT}{fh * fw}{bias}"
            mac = f"{y.h}{DOT}{y.w}{DOT}{reads}{DOT}{fh * fw}"
        elif g == x.c == k:
            # depthwise, the notes' form: one F×F filter per map, F·F·D + D
            params = f"{f}{DOT}{k}{bias}"
            mac = f"{y.h}{DOT}{y.w}{DOT}({f}{DOT}{k})"
        else:
            depth = str(x.c) if g == 1 else f"{x.c}/{g}"
            params = f"({f}{DOT}{depth}){DOT}{k}{bias}"
            mac = f"{y.h}{DOT}{y.w}{DOT}{k}{DOT}({f}{DOT}{depth})"
        macs = self.macs(x, y)
        return Formula(f"{dil}{shape}", volume_text(y), (("params", f"{params} = {n(self.params(x))}"),
                                                          ("MACs", f"{mac} = {n(macs)}")))

    def diagnose(self, x: Shape, y: Shape):
        ah, aw = self.axes(x)
        found = window_findings("conv", ah, aw, self.hp["size"])
        pad = self.hp["pad"]
        if pad in ("same", "keep"):
            uneven = {axis: a for axis, a in (("H", ah), ("W", aw))
                      if not is_symbolic(a.pad[0] + a.pad[1]) and a.pad[0] != a.pad[1]}
            texts = {axis: (a.pad[0] + a.pad[1], a.s, a.n) for axis, a in uneven.items()}
            if uneven:
                axes = "H and W" if len(set(texts.values())) == 1 and len(texts) == 2 else \
                    " and ".join(uneven)
                total, s, size = next(iter(texts.values()))
                why = ("an even kernel" if s == 1 else f"at stride {s}")
                torch = ("as PyTorch's padding='same' does" if s == 1 else
                         "cnncalc's export pads explicitly; PyTorch's padding='same' exists only "
                         "at stride 1")
                rule = (f"the notes' p = (N(s − 1) + F − s)/2 = {Fraction(total, 2)}"
                        if pad == "keep" or s == 1 else
                        f"output ⌈{size}/{s}⌉ = {-(-size // s)}: 2p = "
                        f"(⌈N/S⌉ − 1)·S + F − N = {total}")
                found.append(Finding(
                    "CN102", f"{axes}: '{pad}' needs {plural(total, 'pixel')} of padding ({rule}), which "
                             f"cannot be split evenly ({why}); the extra pixel goes after "
                             f"(right/bottom): {torch}"))
        return found

    def output_slips(self, x: Shape, y: Shape) -> list[Slip]:
        ah, aw = self.axes(x)
        k = self.filters(x)
        slips = window_shape_slips(ah, aw, self.hp["size"], k, y)
        if x.c != k:
            slips.append((Shape(x.c, y.h, y.w), f"kept the input depth D1 = {x.c}; the output "
                                                f"depth is the number of filters K = {k}"))
        if k != 1:
            slips.append((Shape(1, y.h, y.w), f"one filter gives one map; {k} filters stack "
                                              f"into depth K = {k}"))
        return slips + order_slips(y)

    def params_slips(self, x: Shape, y: Shape) -> list[Slip]:
        if self.hp["connections"] is not None:
            return []
        (fh, fw), k, g, bias = self.hp["size"], self.filters(x), self.groups(x), self.hp["bias"]
        ff = f"{fh}{DOT}{fw}"
        b = k if bias else 0
        d = x.c // g
        per = fh * fw * d
        slips = []
        if bias:
            slips.append((per * k, f"forgot the bias: ({ff}{DOT}{d}){DOT}{k} = {per * k:,}, plus "
                                   f"one shared bias per filter, + {k} = {per * k + k:,}"))
        else:
            slips.append((per * k + k, f"counted a bias, but this conv has bias: false: "
                                       f"({ff}{DOT}{d}){DOT}{k} = {per * k:,}"))
        if d != 1:
            slips.append((fh * fw * k + b, f"forgot the input depth: each filter spans the full "
                                           f"depth, F{DOT}F{DOT}D1 = {ff}{DOT}{d} weights, not "
                                           f"F{DOT}F{DOT}K + K"))
            slips.append((fh * fw * k, f"forgot the input depth and the bias: (F{DOT}F{DOT}D1)"
                                       f"{DOT}K + K = ({ff}{DOT}{d}){DOT}{k}"
                                       f"{' + ' + str(k) if bias else ''}"))
        if g != 1:
            what = ("a depthwise filter sees one input map" if self.hp["depthwise"]
                    else f"with groups = {g} each filter sees D1/g = {x.c}/{g} = {d} "
                         f"map{'' if d == 1 else 's'}")
            slips.append((fh * fw * x.c * k + b, f"counted a standard conv; {what}: "
                                                 f"({ff}{DOT}{d}){DOT}{k}"
                                                 f"{' + ' + str(k) if bias else ''}"))
            if bias:
                slips.append((fh * fw * x.c * k, f"counted a standard conv without bias; {what}"))
        if k != 1:
            slips.append((per + (1 if bias else 0), f"counted one filter; there are K = {k}: "
                                                     f"({ff}{DOT}{d}){DOT}{k}"
                                                     f"{' + ' + str(k) if bias else ''}"))
        if fh == fw and fh != 1:
            slips.append((fh * d * k + b, f"used F instead of F{DOT}F: a filter is {fh}×{fw}×{d}"))
        return slips

    def macs_slips(self, x: Shape, y: Shape) -> list[Slip]:
        k = self.filters(x)
        weights = self.params(x) - (k if self.hp["bias"] else 0)
        pos = y.h * y.w
        macs = weights * pos
        slips = [
            (2 * macs, f"that is FLOPs = 2{DOT}MACs; one MAC is one multiply-accumulate"),
            ((weights + k) * pos, "counted the bias adds; MACs count the weight multiplies only"),
            (weights, f"counted the weights once; each is used at every output position: "
                      f"{weights:,}{DOT}{y.w}{DOT}{y.h}"),
            (weights * x.h * x.w, f"multiplied by the input size; multiply by the output size "
                                  f"W2{DOT}H2 = {y.w}{DOT}{y.h}"),
        ]
        if k != 1:
            slips.append((weights // k * pos, f"counted one filter; multiply by K = {k}"))
        return slips



@register
class Deconv(Layer):
    key = "deconv"
    torch = Torch(("torch.nn.ConvTranspose2d",), ("conv_transpose2d",))
    saves = ("input",)  # convolution_backward(grad, input, weight, …, transposed=True)
    scratch = ("workspace",)  # cudnn_convolution_transpose: as a conv's (cnncalc.memory)
    autocast = "low"
    family = "conv"
    convolution = True
    sliding_window = True
    summary = "transposed convolution: (N − 1)·S − 2P + d·(F − 1) + output_pad + 1"
    needs_volume = True
    fields = (
        Field("filters", pos_int, doc="K, the number of output maps"),
        Field("size", pos_pair, doc="F: int or [h, w]"),
        Field("stride", pos_pair, 1, "S"),
        Field("pad", nonneg_pair, 0, "P, cropped from each side"),
        Field("output_pad", nonneg_pair, 0, "extra rows/cols on one side (< S)"),
        Field("dilation", pos_pair, 1, "d"),
        Field("groups", pos_int, 1, "g"),
        Field("bias", boolean, True, "one bias per output map"),
    )

    @classmethod
    def validate(cls, hp):
        for op, s, d in zip(hp["output_pad"], hp["stride"], hp["dilation"]):
            if op >= s and op >= d:
                return [("output_pad", f"must be smaller than the stride or the dilation "
                                       f"(PyTorch's rule), got {op} with stride {s}")]
        return []

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        g, k = self.hp["groups"], self.hp["filters"]
        if x.c % g or k % g:
            raise LayerError(f"groups={g} must divide both D={x.c} and K={k}")
        dims = [transposed_out_len(nn, f, s, p, d, op) for nn, f, s, p, d, op in zip(
            (x.h, x.w), self.hp["size"], self.hp["stride"], self.hp["pad"], self.hp["dilation"],
            self.hp["output_pad"])]
        if exceeds(1, dims[0]) or exceeds(1, dims[1]):
            raise LayerError(f"the output would be {dims[1]}×{dims[0]}: the padding "
                             f"{self.hp['pad']} crops more than the layer produces")
        return Shape(k, dims[0], dims[1])

    def params(self, x: Shape) -> int:
        fh, fw = self.hp["size"]
        k, g = self.hp["filters"], self.hp["groups"]
        return x.c * (k // g) * fh * fw + (k if self.hp["bias"] else 0)

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        k = self.hp["filters"]
        return (self.params(x) - k, k) if self.hp["bias"] else (self.params(x),)

    def macs(self, x: Shape, y: Shape) -> int:
        # Every input pixel is multiplied by every weight that touches it (fvcore's rule).
        fh, fw = self.hp["size"]
        return x.h * x.w * x.c * (self.hp["filters"] // self.hp["groups"]) * fh * fw

    def connections(self, x: Shape, y: Shape) -> int:
        return self.macs(x, y) + (y.numel if self.hp["bias"] else 0)

    def window(self, x: Shape) -> Window:
        wins = []
        for f, s, d in zip(self.hp["size"], self.hp["stride"], self.hp["dilation"]):
            span = effective_kernel(f, d)
            wins.append(AxisWindow(-(-span // s), Fraction(1, s), 0))
        return Window(*wins)

    def explain(self, x: Shape, y: Shape) -> Formula:
        texts = []
        for nn, out, f, s, p, d, op in zip((x.h, x.w), (y.h, y.w), self.hp["size"],
                                           self.hp["stride"], self.hp["pad"], self.hp["dilation"],
                                           self.hp["output_pad"]):
            texts.append(f"({nn} − 1){DOT}{s} − 2{DOT}{p} + {d}{DOT}({f} − 1) + {op} + 1 = {out}")
        fh, fw = self.hp["size"]
        k, g = self.hp["filters"], self.hp["groups"]
        bias = f" + {k}" if self.hp["bias"] else ""
        kg = str(k) if g == 1 else f"{k}/{g}"
        return Formula(axes_text(*texts), volume_text(y), (
            ("params", f"{x.c}{DOT}{kg}{DOT}{fh}{DOT}{fw}{bias} = {n(self.params(x))}"),
            ("MACs", f"{x.h}{DOT}{x.w}{DOT}{x.c}{DOT}{kg}{DOT}{fh}{DOT}{fw} = "
                     f"{n(self.macs(x, y))}")))




@register
class ChannelConv(Layer):
    """ECA's attention (ECA-Net; timm's ``EcaModule``): a 1-D convolution of size k sliding
    along the D channels at each position, one filter shared by every channel."""

    key = "channel_conv"
    # cnncalc's own module (cnncalc/backends/extra_modules.py, what build and export write) first:
    # its forward is not Conv1d's, and the importer maps it back rather than tracing it.
    torch = Torch(("cnncalc.backends.extra_modules.ChannelConv", "torch.nn.Conv1d"), ("conv1d",),
                  (("kernel_size", "size"), ("padding", "pad")))
    # conv1d's convolution_backward(grad, input, weight, …) keeps its input: on a vector, a
    # view of x (unsqueeze); on a map, the channels-last copy the module makes of x (a view
    # only when D = 1 or H·W = 1), as torch's saved_tensors_hooks report (test_memory's RULES).
    saves = ("input",)
    autocast = "low"
    family = "conv"
    summary = "a 1-D conv of size k along the channels at each position (ECA): k (+1) weights"
    primary = "size"
    fields = (
        Field("size", pos_int, doc="k, the channels each output reads"),
        Field("pad", nonneg_int, 0, "P, zero channels added at each end"),
        Field("bias", boolean, True, "one bias"),
    )

    def output_shape(self, x: Shape) -> Shape:
        k, p = self.hp["size"], self.hp["pad"]
        if exceeds(k, x.c + 2 * p):
            raise LayerError(f"the kernel ({k} channels) is longer than the padded depth: "
                             f"{x.c} + 2·{p} = {x.c + 2 * p}; use a smaller size or more pad")
        c = x.c + 2 * p - k + 1
        return Shape(c, x.h, x.w) if x.spatial else Shape(c)

    def copies(self, x: Shape) -> bool:
        """Whether the module copies x channels-last (a map of D > 1 and H·W > 1)."""
        return x.spatial and x.c != 1 and x.h * x.w != 1

    def saved(self, x: Shape, y: Shape) -> tuple[str, ...]:
        return ("copy",) if self.copies(x) else self.saves

    def scratched(self, x: Shape, y: Shape) -> tuple[str, ...]:
        return ("copy",) if self.copies(x) else ()  # made even without autograd

    def params(self, x: Shape) -> int:
        return self.hp["size"] + (1 if self.hp["bias"] else 0)

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        return (self.hp["size"], 1) if self.hp["bias"] else (self.hp["size"],)

    def macs(self, x: Shape, y: Shape) -> int:
        return self.hp["size"] * y.numel

    def connections(self, x: Shape, y: Shape) -> int:
        return self.macs(x, y) + (y.numel if self.hp["bias"] else 0)

    def explain(self, x: Shape, y: Shape) -> Formula:
        k, p = self.hp["size"], self.hp["pad"]
        bias = " + 1" if self.hp["bias"] else ""
        return Formula(f"channel conv: D = {x.c} + 2{DOT}{p} − {k} + 1 = {y.c}", volume_text(y),
                       (("params", f"{k}{bias} = {n(self.params(x))}"),
                        ("MACs", f"{k}{DOT}{n(y.numel)} = {n(self.macs(x, y))}")))
