"""Pooling: ``pool`` (max/avg, ceil mode, LeNet's trainable subsampling), ``global_pool`` and
``adaptive_pool``.

The notes: a pool takes W2×H2×K and gives ``((W2 − F)/S + 1) × ((H2 − F)/S + 1) × K`` with
0 weights.  LeNet-5's subsampling maps are trainable: each map multiplies its pooled sum by
one coefficient and adds one bias (2 parameters per map).
"""

from __future__ import annotations

from ..formulas import (DOT, Shape, adaptive_window, axis_formula, volume_text, window_need,
                      window_out_len)
from ..closed_forms import exceeds
from . import register
from .base import (Torch, AxisWindow, Choice, Field, Finding, Formula, Layer, LayerError, Window, axes_text,
                   boolean, choice, n, nonneg_pair, optional, pos_pair, window_findings)
from .slips import Slip, order_slips, window_shape_slips


class PoolMode(Choice):
    MAX = "max"
    AVG = "avg"


@register
class Pool(Layer):
    key = "pool"
    # Subsampling: LeNet's trainable pool (``trainable: true``), as the export writes it
    torch = Torch(("torch.nn.MaxPool2d", "torch.nn.AvgPool2d",
                   "cnncalc.backends.extra_modules.Subsampling"),
                  ("max_pool2d", "max_pool2d_with_indices", "avg_pool2d"))
    sliding_window = True
    family = "pool"
    summary = "max/avg pooling: ((N − F + 2P)/S + 1)², depth kept; 0 weights unless trainable"
    needs_volume = True
    keeps_features = True
    primary = "size"
    fields = (
        Field("size", pos_pair, doc="F: int or [h, w]"),
        Field("stride", optional(pos_pair), None, "S (default: F)"),
        Field("pad", nonneg_pair, 0, "P (at most F/2, PyTorch's rule)"),
        Field("mode", choice(PoolMode), "max", "max or avg"),
        Field("ceil", boolean, False, "round the output size up (ceil_mode)"),
        Field("trainable", boolean, False, "LeNet subsampling: a coefficient and a bias per map"),
    )

    @classmethod
    def validate(cls, hp):
        for p, f in zip(hp["pad"], hp["size"]):
            if 2 * p > f:
                return [("pad", f"must be at most half the kernel (PyTorch's rule): "
                                f"pad {p} with size {f}")]
        return []

    def stride(self) -> tuple[int, int]:
        return self.hp["stride"] or self.hp["size"]

    def axes(self, x: Shape):
        return self.remembered(x, self._axes)

    def _axes(self, x: Shape):
        (fh, fw), (sh, sw), (ph, pw) = self.hp["size"], self.stride(), self.hp["pad"]
        ceil = self.hp["ceil"]
        return (window_out_len(x.h, fh, sh, (ph, ph), 1, ceil),
                window_out_len(x.w, fw, sw, (pw, pw), 1, ceil))

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        ah, aw = self.axes(x)
        ceil = self.hp["ceil"]
        for axis, a in (("H", ah), ("W", aw)):
            need = window_need(a, ceil)
            if exceeds(need, a.n + 2 * a.pad[0]):
                if need == a.f:
                    raise LayerError(f"the pooling window ({a.f} along {axis}) is larger than "
                                     f"the padded input {a.n} + 2{DOT}{a.pad[0]}; use a smaller "
                                     f"size")
                raise LayerError(f"the pooling window ({a.f} along {axis}, stride {a.s}) leaves "
                                 f"no output even in ceil mode, which needs a padded input of "
                                 f"at least F − S + 1 = {need}, not {a.n} + 2{DOT}{a.pad[0]}; "
                                 f"use a smaller size")
        return Shape(x.c, ah.out, aw.out)

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.hp["trainable"] else 0

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        return (x.c, x.c) if self.hp["trainable"] else ()

    # max_pool2d_with_indices_backward(grad, self, …, result1): the input and the int64
    # indices (CUDA computes the indices even without grad); avg_pool2d_backward(grad, self, …)
    # the input.  LeNet's subsampling then multiplies by its coefficient (mul keeps the pooled
    # map for the coefficient's gradient: a "temp" of the output's size).
    saves = ("input", "indices")

    @property
    def autocast(self) -> str:
        # LeNet's subsampling: the pooled map (the input's type) times fp32 coefficients, an
        # op on no autocast list, is promoted to fp32
        return "promote" if self.hp["trainable"] else "keep"

    def saved(self, x: Shape, y: Shape) -> tuple[str, ...]:
        kept = ("input", "indices") if self.hp["mode"] == "max" else ("input",)
        return kept + ("temp",) if self.hp["trainable"] else kept

    @property
    def scratch(self) -> tuple[str, ...]:
        return (("indices",) if self.hp["mode"] == "max" else ()) + \
            (("temp",) if self.hp["trainable"] else ())
    def has_bias(self) -> bool:
        return self.hp["trainable"]  # LeNet's subsampling: a coefficient and a bias per map

    def macs(self, x: Shape, y: Shape) -> int:
        # Trainable subsampling multiplies each pooled value by its map's coefficient.
        return y.numel if self.hp["trainable"] else 0

    def connections(self, x: Shape, y: Shape) -> int:
        fh, fw = self.hp["size"]
        return y.numel * (fh * fw + (1 if self.hp["trainable"] else 0))

    def window(self, x: Shape) -> Window:
        ah, aw = self.axes(x)
        return Window(AxisWindow(ah.f, ah.s, ah.pad[0]), AxisWindow(aw.f, aw.s, aw.pad[0]))

    def explain(self, x: Shape, y: Shape) -> Formula:
        ah, aw = self.axes(x)
        ceil = self.hp["ceil"]
        parts = ()
        if self.hp["trainable"]:
            parts = (("params", f"2{DOT}{x.c} = {n(self.params(x))} (a coefficient and a bias "
                                f"per map)"),)
        return Formula(f"{self.hp['mode']} pool: "
                       f"{axes_text(axis_formula(ah, ceil), axis_formula(aw, ceil))}",
                       volume_text(y), parts)

    def diagnose(self, x: Shape, y: Shape):
        ah, aw = self.axes(x)
        found = window_findings("pool", ah, aw, self.hp["size"], self.hp["ceil"])
        if any(self.hp["pad"]):
            found.append(Finding("CN103", "padding on a pooling layer: the notes say it is not "
                                          "common; check that it is intended"))
        return found

    def output_slips(self, x: Shape, y: Shape) -> list[Slip]:
        ah, aw = self.axes(x)
        slips = window_shape_slips(ah, aw, self.hp["size"], x.c, y)
        if x.c != 1:
            slips.append((Shape(1, y.h, y.w), f"pooling works on each map separately and keeps "
                                              f"the depth D = {x.c}"))
        return slips + order_slips(y)

    def params_slips(self, x: Shape, y: Shape) -> list[Slip]:
        fh, fw = self.hp["size"]
        if self.hp["trainable"]:
            return [(x.c, f"LeNet's trainable subsampling has a coefficient and a bias per map: "
                          f"2{DOT}{x.c}")]
        text = "pooling has no weights to learn (the notes: number of weights 0)"
        return [(v, text) for v in (fh * fw, fh * fw * x.c, fh * fw * x.c + x.c, x.c, 2 * x.c)]



@register
class GlobalPool(Layer):
    key = "global_pool"
    torch = Torch((), ("mean",))
    # avg: adaptive_avg_pool2d to 1×1 is a mean over H and W, whose backward keeps only sizes
    # (mean_backward); max: adaptive_max_pool2d_backward(grad, self, result1), the input and
    # the indices.
    saves = ()

    def saved(self, x: Shape, y: Shape) -> tuple[str, ...]:
        return ("input", "indices") if self.hp["mode"] == "max" else ()

    @property
    def scratch(self) -> tuple[str, ...]:
        return ("indices",) if self.hp["mode"] == "max" else ()
    family = "pool"
    summary = "global max/avg pooling: W×H×D → 1×1×D"
    needs_volume = True
    primary = "mode"
    fields = (Field("mode", choice(PoolMode), "avg", "avg or max"),)

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        return Shape(x.c, 1, 1)

    def connections(self, x: Shape, y: Shape) -> int:
        return x.numel

    def window(self, x: Shape) -> Window:
        return Window(AxisWindow(x.h, 1, 0), AxisWindow(x.w, 1, 0))

    def explain(self, x: Shape, y: Shape) -> Formula:
        return Formula(f"global {self.hp['mode']} pool over {x.w}×{x.h}: {volume_text(x)}",
                       volume_text(y))


@register
class AdaptivePool(Layer):
    key = "adaptive_pool"
    torch = Torch(("torch.nn.AdaptiveAvgPool2d", "torch.nn.AdaptiveMaxPool2d"),
                  ("adaptive_avg_pool2d", "adaptive_max_pool2d"))
    # as global_pool; an avg to a size other than 1×1: _adaptive_avg_pool2d_backward(grad, self)
    saves = ("input",)

    def saved(self, x: Shape, y: Shape) -> tuple[str, ...]:
        if self.hp["mode"] == "max":
            return ("input", "indices")
        return () if tuple(self.hp["size"]) == (1, 1) else ("input",)

    @property
    def scratch(self) -> tuple[str, ...]:
        return ("indices",) if self.hp["mode"] == "max" else ()
    family = "pool"
    summary = "adaptive max/avg pooling to a fixed output H×W (PyTorch's windows)"
    needs_volume = True
    primary = "size"
    fields = (
        Field("size", pos_pair, doc="the output size: int or [h, w]"),
        Field("mode", choice(PoolMode), "avg", "avg or max"),
    )

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        oh, ow = self.hp["size"]
        return Shape(x.c, oh, ow)

    def connections(self, x: Shape, y: Shape) -> int:
        (kh, _), (kw, _) = adaptive_window(x.h, y.h), adaptive_window(x.w, y.w)
        return y.numel * kh * kw

    def window(self, x: Shape) -> Window:
        oh, ow = self.hp["size"]
        (kh, sh), (kw, sw) = adaptive_window(x.h, oh), adaptive_window(x.w, ow)
        return Window(AxisWindow(kh, sh, 0), AxisWindow(kw, sw, 0))

    def explain(self, x: Shape, y: Shape) -> Formula:
        (kh, _), (kw, _) = adaptive_window(x.h, y.h), adaptive_window(x.w, y.w)
        return Formula(f"adaptive {self.hp['mode']} pool {x.w}×{x.h} → {y.w}×{y.h} "
                       f"(windows of up to {kw}×{kh}): {volume_text(x)}", volume_text(y))
