"""Channel rearrangements: ``split`` (one of equal slices of the depth, ShuffleNet v2's
``x.chunk(2, dim=1)``) and ``shuffle`` (ShuffleNet's channel shuffle).  0 weights, 0 MACs:
both only move values, so they count no connections either (like ``flatten``)."""

from __future__ import annotations

from ..formulas import DOT, Shape, volume_text
from . import register
from .base import Torch, Field, Formula, Layer, LayerError, nonneg_int, pos_int


@register
class Split(Layer):
    key = "split"
    torch = Torch((), ("chunk", "split", "split_with_sizes"))
    family = "channels"
    summary = "slice `index` of `parts` equal slices of the depth: D/parts maps (x.chunk)"
    saves = ()  # a view (split_backward needs sizes)
    view = True
    primary = "parts"
    fields = (
        Field("parts", pos_int, 2, "how many equal slices the depth is cut into"),
        Field("index", nonneg_int, 0, "which slice is kept, from 0"),
    )

    @classmethod
    def validate(cls, hp):
        if hp["index"] >= hp["parts"]:
            return [("index", f"must be below parts ({hp['parts']}): slices are numbered "
                              f"0 to {hp['parts'] - 1}")]
        return []

    def output_shape(self, x: Shape) -> Shape:
        parts = self.hp["parts"]
        if x.c % parts:
            raise LayerError(f"the depth D={x.c} does not split into {parts} equal slices; "
                             f"give a depth that is a multiple of {parts}")
        return Shape(x.c // parts, x.h, x.w)

    def connections(self, x: Shape, y: Shape) -> int:
        return 0

    def explain(self, x: Shape, y: Shape) -> Formula:
        parts, index = self.hp["parts"], self.hp["index"]
        size = x.c // parts
        return Formula(f"split: D = {x.c}/{parts} = {size}, maps {index * size} to "
                       f"{(index + 1) * size - 1}", volume_text(y))


@register
class Shuffle(Layer):
    key = "shuffle"
    torch = Torch(("torch.nn.ChannelShuffle",), ("channel_shuffle",), (("groups", "groups"),))
    family = "channels"
    summary = "channel shuffle: D = g·(D/g) maps regrouped so each group reads every other"
    needs_volume = True
    primary = "groups"
    saves = ()  # channel_shuffle: view, permute, contiguous copy; the backward needs none
    fields = (Field("groups", pos_int, 2, "g, the groups the depth is interleaved from"),)

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        g = self.hp["groups"]
        if x.c % g:
            raise LayerError(f"groups={g} must divide the depth D={x.c}")
        return x

    def connections(self, x: Shape, y: Shape) -> int:
        return 0

    def explain(self, x: Shape, y: Shape) -> Formula:
        g = self.hp["groups"]
        return Formula(f"channel shuffle: D = {g}{DOT}{x.c // g} viewed as {g}×{x.c // g}, "
                       f"transposed to {x.c // g}×{g}: {volume_text(y)} unchanged")
