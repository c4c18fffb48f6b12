"""Channel rearrangements: ``split`` (one of equal slices of the depth, ShuffleNet v2's
``x.chunk(2, dim=1)``), ``slice`` (any run of maps, DPN's ``x[:, :a]`` and ``x[:, a:]``) and
``shuffle`` (ShuffleNet's channel shuffle).  0 weights, 0 MACs: they only move values, so they
count no connections either (like ``flatten``).

And the two steps of split attention (ResNeSt, SKNet), which read the depth as ``r`` equal
slices, one per branch (the *radix*): ``radix_sum`` adds the slices map by map and
``radix_softmax`` turns the attention logits into weights that sum to 1 across the slices.
A split-attention unit is then plain spec::

    - conv: {filters: 128, size: 3, pad: 1, groups: 2}   # r = 2 branches of 64 maps
    - bn
    - relu
    - branches:                                          # weigh each branch ...
        merge: mul
        paths:
          - []
          - [{radix_sum: 2}, global_pool, {conv: {filters: 32, size: 1}}, bn, relu,
             {conv: {filters: 128, size: 1}}, {radix_softmax: 2}]
    - radix_sum: 2                                       # ... and add them: 64 maps

0 weights and 0 MACs each (additions and exponentials are not multiply-accumulates, and
PyTorch's FlopCounterMode counts none)."""

from __future__ import annotations

from ..formulas import DOT, Shape, volume_text
from ..closed_forms import exceeds
from . import register
from .base import Torch, Field, Formula, Layer, LayerError, nonneg_int, optional, pos_int


@register
class Split(Layer):
    key = "split"
    torch = Torch((), ("chunk", "split", "split_with_sizes"))
    family = "channels"
    summary = "slice `index` of `parts` equal slices of the depth: D/parts maps (x.chunk)"
    saves = ()  # a view (split_backward needs sizes)
    view = True
    # split_backward (derivatives.yaml: split.Tensor) fills each slice that got no gradient
    # with zeros of its size, then cats them all: the other slices, alive in its backward
    backward_scratch = ("others",)
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


@register
class Slice(Layer):
    key = "slice"
    # x[:, start:end]: a getitem, which the importer reads as a slice of the channels
    torch = Torch(("cnncalc.backends.extra_modules.ChannelSlice",))
    family = "channels"
    summary = "maps start to end − 1 of the depth (x[:, start:end]): D = end − start (DPN)"
    saves = ()  # a view; slice_backward needs only the sizes (derivatives.yaml: slice.Tensor)
    view = True
    fields = (
        Field("start", nonneg_int, 0, "the first map kept, from 0"),
        Field("end", optional(pos_int), None,
              "one past the last map kept; none: to the end of the depth"),
    )

    @classmethod
    def validate(cls, hp):
        if hp["end"] is not None and hp["end"] <= hp["start"]:
            return [("end", f"must be above start ({hp['start']}): the slice keeps maps "
                            f"start to end − 1")]
        return []

    def end(self, x: Shape):
        return x.c if self.hp["end"] is None else self.hp["end"]

    def output_shape(self, x: Shape) -> Shape:
        start, end = self.hp["start"], self.end(x)
        if exceeds(end, x.c) or exceeds(start + 1, x.c):
            raise LayerError(f"maps {start} to {end - 1} are past the depth D={x.c}; keep "
                             f"maps below {x.c}")
        return Shape(end - start, x.h, x.w)

    def connections(self, x: Shape, y: Shape) -> int:
        return 0

    def explain(self, x: Shape, y: Shape) -> Formula:
        start, end = self.hp["start"], self.end(x)
        return Formula(f"slice: maps {start} to {end - 1} of {x.c}: D = {end} − {start} = "
                       f"{y.c}", volume_text(y))


def radix_depth(layer: Layer, x: Shape) -> None:
    """The depth must be r equal slices."""
    layer.check_input(x)
    r = layer.hp["radix"]
    if x.c % r:
        raise LayerError(f"the depth D={x.c} does not split into radix={r} equal slices; "
                         f"give a depth that is a multiple of {r}")


@register
class RadixSum(Layer):
    key = "radix_sum"
    # x.view(N, r, D/r, H, W).sum(1); cnncalc's module is what export writes
    torch = Torch(("cnncalc.backends.extra_modules.RadixSum",), ("sum",))
    family = "channels"
    summary = "adds the r equal slices of the depth map by map: D/r maps (split attention)"
    needs_volume = True
    primary = "radix"
    saves = ()  # sum.dim_IntList's backward needs only the sizes
    fields = (Field("radix", pos_int, 2, "r, the equal slices (branches) that are added"),)

    def output_shape(self, x: Shape) -> Shape:
        radix_depth(self, x)
        return Shape(x.c // self.hp["radix"], x.h, x.w)

    def connections(self, x: Shape, y: Shape) -> int:
        return y.numel * self.hp["radix"]  # each output reads one map of every slice

    def explain(self, x: Shape, y: Shape) -> Formula:
        r, d = self.hp["radix"], y.c
        last = f"{(r - 1) * d} + i" if r > 2 else f"{d} + i"
        return Formula(f"radix sum: D = {x.c}/{r} = {d}; map i = map i + … + map {last}",
                       volume_text(y))


@register
class RadixSoftmax(Layer):
    key = "radix_softmax"
    # x.view(N, r, D/r, H, W).softmax(1): the function is softmax's, over a radix view
    torch = Torch(("cnncalc.backends.extra_modules.RadixSoftmax",))
    family = "channels"
    summary = "softmax across the r equal slices of the depth, map by map: split attention's " \
              "weights (shape unchanged)"
    needs_volume = True
    activation = True
    primary = "radix"
    saves = ("output",)  # _softmax_backward_data(grad, result, dim, …)
    autocast = "fp32"  # softmax is on autocast's fp32 list
    fields = (Field("radix", pos_int, 2, "r, the equal slices (branches) weighed against "
                                         "each other"),
              Field("groups", pos_int, 1,
                    "g, the cardinality (ResNeSt's rSoftMax): the depth read as g groups of "
                    "r slices and written slice by slice, r × g × D/(g·r)"))

    def output_shape(self, x: Shape) -> Shape:
        radix_depth(self, x)
        g, r = self.hp["groups"], self.hp["radix"]
        if x.c % (g * r):
            raise LayerError(f"the depth D={x.c} does not split into groups={g} × radix={r} "
                             f"equal slices; give a depth that is a multiple of {g * r}")
        return x

    def connections(self, x: Shape, y: Shape) -> int:
        return y.numel * self.hp["radix"]  # each weight reads its map in every slice

    def explain(self, x: Shape, y: Shape) -> Formula:
        g, r = self.hp["groups"], self.hp["radix"]
        if g == 1:
            d = x.c // r
            return Formula(f"radix softmax: D = {r}·{d}; maps i, {d} + i, … weigh to 1",
                           volume_text(y))
        d = x.c // (g * r)
        return Formula(f"radix softmax: D = {g}·{r}·{d} read as {g} groups of {r} slices, "
                       f"written as {r}·{g}·{d}; each map's {r} values weigh to 1",
                       volume_text(y))
