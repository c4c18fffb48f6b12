"""Resampling: ``upsample`` (nearest or bilinear, by an integer factor)."""

from __future__ import annotations

from fractions import Fraction

from ..formulas import DOT, Shape, volume_text
from . import register
from .base import Torch, AxisWindow, Choice, Field, Formula, Layer, Window, choice, pos_int


class UpsampleMode(Choice):
    NEAREST = "nearest"
    BILINEAR = "bilinear"


@register
class Upsample(Layer):
    key = "upsample"
    torch = Torch(("torch.nn.Upsample",), ("interpolate", "upsample"))
    family = "resample"
    summary = "W×H×D → (s·W)×(s·H)×D; 0 weights"
    saves = ()  # upsample_nearest2d_backward / upsample_bilinear2d_backward need only sizes
    needs_volume = True
    primary = "scale"
    fields = (
        Field("scale", pos_int, 2, "s, the integer factor"),
        Field("mode", choice(UpsampleMode), "nearest", "nearest or bilinear"),
    )

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        s = self.hp["scale"]
        return Shape(x.c, x.h * s, x.w * s)

    def window(self, x: Shape) -> Window:
        s = self.hp["scale"]
        k = 2 if self.hp["mode"] == "bilinear" and s > 1 else 1
        return Window(AxisWindow(k, Fraction(1, s), 0), AxisWindow(k, Fraction(1, s), 0))

    def explain(self, x: Shape, y: Shape) -> Formula:
        s = self.hp["scale"]
        return Formula(f"{self.hp['mode']} upsample ×{s}: {x.w}{DOT}{s} = {y.w}", volume_text(y))
