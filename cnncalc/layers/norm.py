"""Normalisation: ``bn`` (batch norm) and ``lrn`` (AlexNet's local response normalisation)."""

from __future__ import annotations

from ..shapes import DOT, Shape, volume_text
from . import register
from .base import Field, Formula, Layer, boolean, n, number, pos_int, pos_number
from .slips import Slip


@register
class BatchNorm(Layer):
    key = "bn"
    family = "norm"
    summary = "batch norm: 2·D params (γ, β) and 2·D buffers (running mean, variance)"
    fields = (
        Field("eps", pos_number, 1e-5, "added to the variance"),
        Field("affine", boolean, True, "learn γ and β"),
    )

    keeps_features = True

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.hp["affine"] else 0

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
    family = "norm"
    summary = "local response normalisation across `size` neighbouring maps (AlexNet); 0 weights"
    needs_volume = True
    keeps_features = True
    primary = "size"
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
