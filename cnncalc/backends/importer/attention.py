"""Converting split attention (ResNeSt's ``SplitAttn``, SKNet's ``SelectiveKernel``): the
views, sums and softmaxes over the *radix*, the r branches a split-attention unit weighs; and
the runs of channels that are not equal slices (DPN's ``x[:, :a]``, FasterNet's
``torch.split(x, [a, b], 1)``), a ``slice`` each.

Both read a tensor of N×(r·C)×H×W as r equal slices of the channels, one per branch, through
a view that puts the radix in dim 1:

* ``x.view(N, r, C, H, W)`` (or ``torch.stack(branches, 1)``): a *grouped* value, the layout
  the channel shuffle's view already has (``("grouped", r)``);
* ResNeSt's ``RadixSoftmax``: ``x.view(N, g, r, -1).transpose(1, 2)`` of a pooled map (g is
  the cardinality), layouts ``("cardinal", r, H, W, g)`` and then ``("radix", r, H, W, g)``,
  viewed back by ``reshape(N, -1)`` (``"flat"``: a 1×1×D map held as N×D) and
  ``view(N, -1, 1, 1)``.

On such a value ``sum(dim=1)`` is a ``radix_sum``, ``softmax(dim=1)`` a ``radix_softmax``, and
a product of two is the ``mul`` merge (the gate) it already is; a view back to N×(r·C)×H×W
ends the radix view.  The methods here are :class:`~.convert._Converter`'s (a mixin).
"""

from __future__ import annotations

from math import prod

from . import convert  # the converter's types, read when a method runs (convert imports us)

RADIX_LAYOUTS = ("grouped", "radix")


def radix_of(x: "convert._Val") -> int | None:
    """r when ``x`` holds its channels as r slices in dim 1, else None."""
    layout = x.layout
    if isinstance(layout, tuple) and layout[0] in RADIX_LAYOUTS:
        return layout[1]
    return None


def spatial_of(x: "convert._Val", shape) -> tuple | None:
    """(H, W) of the map a radix view holds."""
    if isinstance(x.layout, tuple) and x.layout[0] == "grouped" and shape is not None \
            and len(shape) == 5:
        return tuple(shape[3:])
    if isinstance(x.layout, tuple) and x.layout[0] in ("radix", "cardinal"):
        return tuple(x.layout[2:4])
    return None


def _dims(dim) -> tuple:
    return tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)


class RadixConversions:
    """``_Converter``'s methods for split attention."""

    def function_radix_sum(self, n):
        """``x.sum(dim=1)`` / ``torch.sum(x, 1)`` on a radix view: the r slices added."""
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        dim = self.arg(n, 1, "dim")
        keep = self.arg(n, 2, "keepdim", False)
        radix = radix_of(x)
        dims = _dims(dim)
        if radix is None or shape is None or keep or len(dims) != 1 or dims[0] is None or \
                dims[0] % len(shape) != 1:
            raise convert._Unsupported(f"a sum over dims {dim} (not across the radix of a "
                                       f"split-attention view N×r×C×H×W), which",
                                       "radix_sum")
        return self.leaf(n, "radix_sum", radix, x, layout="nchw")

    def function_softmax(self, n):
        """``F.softmax(x, dim=1)``: across the radix on a radix view, else the softmax over
        the channels."""
        x = self.tensor(n.args[0])
        radix = radix_of(x)
        if radix is None:
            return self.f_settings(n, "softmax")
        shape = self.shape(n.args[0])
        dim = self.arg(n, 1, "dim")
        if shape is None or dim is None or dim % len(shape) != 1:
            raise convert._Unsupported(f"a softmax over dim {dim} of a split-attention view "
                                       f"(not across its radix, dim 1), which",
                                       "radix_softmax")
        groups = x.layout[4] if len(x.layout) > 4 else 1
        return self.leaf(n, "radix_softmax", {"radix": radix, "groups": groups}
                         if groups > 1 else radix, x)

    def f_stack(self, n):
        """``torch.stack(branches, dim=1)``: the branches' channels side by side (a concat),
        held as a radix view N×r×C×H×W."""
        tensors = self.arg(n, 0, "tensors")
        dim = self.arg(n, 1, "dim", 0)
        vals = [self.tensor(t) for t in tensors]
        shapes = [self.shape(t) for t in tensors]
        if any(s is None or len(s) != 4 or s != shapes[0] for s in shapes) or \
                dim % 5 != 1 or any(v.layout != "nchw" for v in vals):
            raise convert._Unsupported(f"a stack along dim {dim} (not branches of one shape "
                                       f"along dim 1), which", "branches")
        out = self.merge("concat", vals)
        return convert._Val(out.op, ("grouped", len(vals)))

    def radix_view(self, n, x: "convert._Val", before, after) -> "convert._Val | None":
        """A view into, out of or between radix views; None when it is none of them."""
        if before is None or after is None:
            return None
        radix = radix_of(x)
        if radix is not None:
            spatial = spatial_of(x, before)
            if spatial is None:
                return None
            if len(after) == 4 and tuple(after[2:]) == spatial and \
                    after[1] * prod(spatial) == prod(before[1:]):
                return convert._Val(x.op, "nchw")  # viewed back: N×(r·C)×H×W
            if len(after) == 2 and spatial == (1, 1) and after[1] == prod(before[1:]):
                return convert._Val(x.op, "flat")
            return None
        if x.layout == "flat" and len(before) == 2:
            if tuple(after) == (before[0], before[1], 1, 1):
                return convert._Val(x.op, "nchw")
            if len(after) == 5 and after[1] * after[2] == before[1] and after[3:] == (1, 1):
                return convert._Val(x.op, ("grouped", after[1]))
            return None
        if x.layout == "nchw" and len(before) == 4 and len(after) == 4 and after[2] > 1 and \
                before[1] % (after[1] * after[2]) == 0 and prod(after[1:]) == prod(before[1:]):
            # ResNeSt's RadixSoftmax: N×(g·r·C)×H×W as N×g×r×(C·H·W), g the cardinality
            return convert._Val(x.op, ("cardinal", after[2], before[2], before[3], after[1]))
        return None

    def radix_transpose(self, x: "convert._Val", dims: list) -> "convert._Val | None":
        """``transpose(1, 2)`` of RadixSoftmax's N×g×r×(C·H·W) view: the radix in dim 1."""
        if isinstance(x.layout, tuple) and x.layout[0] == "cardinal" and dims == [1, 2]:
            return convert._Val(x.op, ("radix",) + x.layout[1:])
        return None

    # -- runs of channels

    def channel_run(self, n, x: "convert._Val", start: int, stop: int, c: int):
        """Channels ``start`` to ``stop`` − 1 of ``c``: the whole tensor, one of equal slices
        (``split``), or any other run (``slice``)."""
        width = stop - start
        if width == c:
            return x
        if c % width == 0 and start % width == 0:
            return self.leaf(n, "split", {"parts": c // width, "index": start // width}, x)
        hp = {"start": start} if start else {}
        if stop != c:
            hp["end"] = stop
        return self.leaf(n, "slice", hp, x)

    def piece(self, n, x: "convert._Val", sizes: tuple, index):
        """Piece ``index`` of ``torch.split(x, sizes, 1)`` with unequal ``sizes``."""
        if not isinstance(index, int) or not -len(sizes) <= index < len(sizes):
            raise convert._Unsupported(f"piece {index!r} of a split into {list(sizes)}, which",
                                       "slice")
        index %= len(sizes)
        start = sum(sizes[:index])
        return self.channel_run(n, x, start, start + sizes[index], sum(sizes))
