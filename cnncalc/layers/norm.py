"""Normalisation: ``bn`` (batch norm) and ``lrn`` (AlexNet's local response normalisation)."""

from __future__ import annotations

from ..shapes import DOT, Shape, volume_text
from . import register
from .base import Field, Layer, boolean, number, pos_int, pos_number
from .conv import n


@register
class BatchNorm(Layer):
    key = "bn"
    family = "norm"
    summary = "batch norm: 2·D params (γ, β) and 2·D buffers (running mean, variance)"
    fields = (
        Field("eps", pos_number, 1e-5, "added to the variance"),
        Field("affine", boolean, True, "learn γ and β"),
    )

    def params(self, x: Shape) -> int:
        return 2 * x.c if self.hp["affine"] else 0

    def buffers(self, x: Shape) -> int:
        return 2 * x.c

    def explain(self, x: Shape, y: Shape) -> str:
        learn = f"params 2{DOT}{x.c} = {n(self.params(x))} (γ, β); " if self.hp["affine"] else ""
        return (f"batch norm over D={x.c}: {volume_text(y)} unchanged; {learn}"
                f"buffers 2{DOT}{x.c} = {n(self.buffers(x))} (running mean, variance)")


@register
class LocalResponseNorm(Layer):
    key = "lrn"
    family = "norm"
    summary = "local response normalisation across `size` neighbouring maps (AlexNet); 0 weights"
    needs_volume = True
    primary = "size"
    fields = (
        Field("size", pos_int, 5, "n, the neighbouring maps summed"),
        Field("alpha", number, 1e-4, "α"),
        Field("beta", number, 0.75, "β"),
        Field("k", number, 1.0, "k (the AlexNet paper uses 2)"),
    )

    def connections(self, x: Shape, y: Shape) -> int:
        return y.numel * min(self.hp["size"], x.c)

    def explain(self, x: Shape, y: Shape) -> str:
        return f"LRN over {self.hp['size']} maps: {volume_text(y)} unchanged; 0 weights"
