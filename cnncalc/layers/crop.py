"""Cropping: ``crop`` keeps the centre of each map, as U-Net's "copy and crop" does before it
concatenates a contracting-path map with an upsampled one (Ronneberger et al. 2015).

By a ``total``: ``N − t`` (t pixels off each axis, split around the centre); to a ``size``:
the output is that size.  An odd total leaves the extra pixel after (bottom/right), as
``pad: same`` puts its extra pixel.  0 weights; in PyTorch a slice ``x[..., a:N − b, c:M − d]``.
"""

from __future__ import annotations

from ..formulas import MINUS, Shape, split_pad, volume_text
from ..closed_forms import exceeds, text_of
from . import register
from .base import Torch, AxisWindow, Field, Formula, Layer, LayerError, Window, axes_text, \
    nonneg_pair, optional, pos_pair


@register
class Crop(Layer):
    key = "crop"
    # what the export writes: ZeroPad2d with negative pads (positive ones, zeros before a
    # conv, are read as that conv's padding)
    torch = Torch(("torch.nn.ZeroPad2d",))
    family = "crop"
    summary = "centre crop by a total (N − t) or to a size; U-Net's copy and crop; 0 weights"
    needs_volume = True
    saves = ()  # ZeroPad2d with negative pads: constant_pad_nd, whose backward needs the pads
    fields = (
        Field("total", nonneg_pair, 0,
              "t, the pixels cut off each axis (int or [h, w]), split around the centre; the "
              "extra one of an odd total after"),
        Field("size", optional(pos_pair), None, "the output size instead: int or [h, w]"),
    )

    @classmethod
    def validate(cls, hp):
        if hp["size"] is not None and hp["total"] != (0, 0):
            return [("total", "give total (the pixels to cut) or size (the output size), not "
                              "both")]
        return []

    def totals(self, x: Shape) -> tuple:
        """The pixels cut along H and W."""
        if self.hp["size"] is None:
            return self.hp["total"]
        return (x.h - self.hp["size"][0], x.w - self.hp["size"][1])

    def margins(self, x: Shape) -> tuple[tuple, tuple]:
        """``((top, bottom), (left, right))``: what is cut before and after on each axis."""
        th, tw = self.totals(x)
        return split_pad(th), split_pad(tw)

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        th, tw = self.totals(x)
        for axis, n, t in (("H", x.h, th), ("W", x.w, tw)):
            if self.hp["size"] is not None and exceeds(0, t):
                want = self.hp["size"][0 if axis == "H" else 1]
                raise LayerError(f"cannot crop {n} to {want} along {axis}: the input is smaller; "
                                 f"crop to at most {n}")
            if self.hp["size"] is None and exceeds(t + 1, n):
                raise LayerError(f"cutting {t} of {n} along {axis} leaves {n - t}: a crop must "
                                 f"leave at least 1; cut at most {n - 1}")
        return Shape(x.c, x.h - th, x.w - tw)

    def connections(self, x: Shape, y: Shape) -> int:
        return 0  # a slice: no unit reads anything new

    def window(self, x: Shape) -> Window:
        (top, _), (left, _) = self.margins(x)
        return Window(AxisWindow(1, 1, -top), AxisWindow(1, 1, -left))

    def explain(self, x: Shape, y: Shape) -> Formula:
        texts = []
        for n, out, (before, after) in zip((x.h, x.w), (y.h, y.w), self.margins(x)):
            texts.append(f"{n} {MINUS} {before} {MINUS} {after} = {text_of(out)}")
        return Formula(f"centre crop: {axes_text(*texts)}", volume_text(y))
