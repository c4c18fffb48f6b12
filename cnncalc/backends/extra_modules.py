"""The few nn.Modules PyTorch does not ship: combinators and LeNet-5's 1998 layers.

This file depends on torch alone (never on cnncalc): ``cnncalc export`` copies the classes a
network uses, as written here, into the generated file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """Modules named as the spec names its layers, run by a small program.

    A residual or a branches without a name of its own adds no level to the spec's names, so
    its layers are children of the enclosing block, and ``program`` says how data flows
    through them.  A step is a child's name; ``("residual", main, shortcut)``, the two
    lists of steps added (an empty list is the identity); or ``(merge, [path, …])`` with
    merge ``concat`` (channels), ``add``, ``mul`` (a gate: a 1×1 path broadcast over the
    others) or ``first`` (the first path's output; the others are side outputs, run and
    dropped), each path a list of steps; ``("save", name)`` keeps the flow's tensor under
    ``name`` and ``("load", name)`` continues from a kept one (the spec's ``from: NAME``, a
    tensor that feeds several later paths; kept in ``Block.saved``, shared by every block of
    the network).
    """

    saved: dict = {}

    def __init__(self, layers: dict, program: list):
        super().__init__()
        for name, module in layers.items():
            self.add_module(name, module)
        self.program = program

    def forward(self, x):
        return self.run(self.program, x)

    def run(self, steps, x):
        for step in steps:
            if isinstance(step, str):  # a child, or a dotted path into a container
                x = self._modules[step](x) if step in self._modules else \
                    self.get_submodule(step)(x)
            elif step[0] == "save":
                Block.saved[step[1]] = x
            elif step[0] == "load":
                x = Block.saved[step[1]]
            elif step[0] == "residual":
                x = self.run(step[1], x) + self.run(step[2], x)
            else:
                outs = [self.run(path, x) for path in step[1]]
                if step[0] == "concat":
                    x = torch.cat(outs, dim=1)
                elif step[0] == "first":  # the others are side outputs: run, then dropped
                    x = outs[0]
                else:
                    x = outs[0]
                    for out in outs[1:]:
                        x = x + out if step[0] == "add" else x * out
        return x

    def extra_repr(self):
        return f"program={self.program!r}"


class ConnectionConv2d(nn.Module):
    """LeNet-5's C3: output map k reads only the input maps ``table[k]``.

    The weights are exactly the table's (one F×F kernel per listed connection), held as one
    parameter; the forward pass scatters them into a full kernel for ``F.conv2d``.
    ``padding`` is ``(left, right, top, bottom)``.
    """

    def __init__(self, in_channels: int, table, kernel_size, stride=(1, 1),
                 padding=(0, 0, 0, 0), dilation=(1, 1), bias: bool = True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, len(table)
        self.table = tuple(tuple(row) for row in table)
        self.kernel_size, self.stride = tuple(kernel_size), tuple(stride)
        self.padding, self.dilation = tuple(padding), tuple(dilation)
        outs = [k for k, row in enumerate(self.table) for _ in row]
        ins = [i for row in self.table for i in row]
        self.register_buffer("out_index", torch.tensor(outs, dtype=torch.long), persistent=False)
        self.register_buffer("in_index", torch.tensor(ins, dtype=torch.long), persistent=False)
        fan_in = len(ins) // len(self.table) * kernel_size[0] * kernel_size[1]
        bound = 1 / fan_in ** 0.5
        self.weight = nn.Parameter(torch.empty(len(ins), *self.kernel_size).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(len(self.table)).uniform_(-bound, bound)) if bias else None

    def forward(self, x):
        full = self.weight.new_zeros(self.out_channels, self.in_channels, *self.kernel_size)
        full = full.index_put((self.out_index, self.in_index), self.weight)
        if any(self.padding):
            x = F.pad(x, self.padding)
        return F.conv2d(x, full, self.bias, self.stride, 0, self.dilation)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, connections={sum(len(r) for r in self.table)}")


class Subsampling(nn.Module):
    """LeNet-5's trainable subsampling: pool each map (``avg``: the window's sum, as in the
    paper; ``max``: its largest value), then times one coefficient plus one bias per map."""

    def __init__(self, channels: int, kernel_size, stride, padding=(0, 0), ceil_mode=False,
                 mode: str = "avg"):
        super().__init__()
        self.kernel_size, self.stride, self.padding = tuple(kernel_size), tuple(stride), tuple(padding)
        self.ceil_mode, self.mode = ceil_mode, mode
        area = kernel_size[0] * kernel_size[1] if mode == "avg" else 1
        self.weight = nn.Parameter(torch.full((channels,), 1.0 / area))  # starts as a mean
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        if self.mode == "avg":
            x = F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             divisor_override=1)
        else:
            x = F.max_pool2d(x, self.kernel_size, self.stride, self.padding, 1, self.ceil_mode)
        return x * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)

    def extra_repr(self):
        return (f"{self.weight.numel()}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"mode={self.mode!r}")


class RBF(nn.Module):
    """LeNet-5's Euclidean RBF output: ``y_i = Σ_j (x_j − w_ij)²``, no bias."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1))

    def forward(self, x):
        return (x.unsqueeze(1) - self.weight).pow(2).sum(-1)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class ChannelSplit(nn.Module):
    """Part ``index`` of ``parts`` equal slices of the channels (``x.chunk(parts, 1)[index]``)."""

    def __init__(self, parts: int, index: int):
        super().__init__()
        self.parts, self.index = parts, index

    def forward(self, x):
        return x.chunk(self.parts, dim=1)[self.index]

    def extra_repr(self):
        return f"parts={self.parts}, index={self.index}"


class ChannelSlice(nn.Module):
    """Channels ``start`` to ``end`` − 1 (``x[:, start:end]``; ``end`` None: to the last)."""

    def __init__(self, start: int = 0, end=None):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x):
        return x[:, self.start:self.end]

    def extra_repr(self):
        return f"start={self.start}, end={self.end}"


class RadixSum(nn.Module):
    """The sum of ``radix`` equal slices of the channels, map by map (split attention's
    ``x.view(N, r, C/r, H, W).sum(1)``)."""

    def __init__(self, radix: int):
        super().__init__()
        self.radix = radix

    def forward(self, x):
        return x.view(x.size(0), self.radix, -1, x.size(2), x.size(3)).sum(1)

    def extra_repr(self):
        return f"radix={self.radix}"


class RadixSoftmax(nn.Module):
    """A softmax across ``radix`` equal slices of the channels, map by map (split attention's
    weights): ``x.view(N, r, C/r, H, W).softmax(1)``, viewed back as N×C×H×W.  With ``groups``
    g > 1 (ResNeSt's cardinality) the channels are read as g × r × C/(g·r) and written
    r × g × C/(g·r), as ResNeSt's rSoftMax does."""

    def __init__(self, radix: int, groups: int = 1):
        super().__init__()
        self.radix, self.groups = radix, groups

    def forward(self, x):
        if self.groups == 1:
            y = x.view(x.size(0), self.radix, -1, x.size(2), x.size(3)).softmax(1)
            return y.view(x.shape)
        y = x.view(x.size(0), self.groups, self.radix, -1).transpose(1, 2).softmax(1)
        return y.reshape(x.shape)

    def extra_repr(self):
        return f"radix={self.radix}, groups={self.groups}"


class ChannelConv(nn.Module):
    """A 1-D conv along the channels at every position (ECA): ``Conv1d(1, 1, k)`` over the
    N·H·W sequences of C channels (a vector: over its C values)."""

    def __init__(self, kernel_size: int, padding: int = 0, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, kernel_size, padding=padding, bias=bias)

    def forward(self, x):
        if x.dim() == 2:
            return self.conv(x.unsqueeze(1)).squeeze(1)
        n, c, h, w = x.shape
        # channels last, made contiguous: a copy unless C = 1 or H·W = 1, whatever the batch
        # (reshape alone would view a batch of 1), so what conv1d saves is the kind's rule
        y = self.conv(x.permute(0, 2, 3, 1).contiguous().view(n * h * w, 1, c))
        return y.reshape(n, h, w, -1).permute(0, 3, 1, 2)


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels of an N×C×H×W tensor at every position (ConvNeXt's
    LayerNorm2d): the channels moved last, normalised, moved back."""

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScale(nn.Module):
    """A learned scale per channel, ``γ·x`` (ConvNeXt's layer scale; γ starts at ``init``)."""

    def __init__(self, channels: int, init: float = 1e-6, spatial: bool = True):
        super().__init__()
        shape = (channels, 1, 1) if spatial else (channels,)
        self.weight = nn.Parameter(torch.full(shape, float(init)))

    def forward(self, x):
        return self.weight * x

    def extra_repr(self):
        return f"{self.weight.shape[0]}"


class StochasticDepth(nn.Module):
    """Drops the whole residual path with probability ``p`` while training, per sample
    (``row``) or for the whole batch (``batch``), scaling the kept ones by 1/(1 − p); the
    identity in eval mode (torchvision.ops.StochasticDepth)."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        keep = x.new_empty(shape).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)

    def extra_repr(self):
        return f"p={self.p}, mode={self.mode!r}"


class Shared(nn.Module):
    """A layer that runs an earlier layer's module again (the spec's ``share: NAME``): the
    same instance, so the same weights, called twice.  The module is held outside this one's
    children, so that ``parameters()`` counts its weights once (where it is first used) and
    the hooks on it see only its own call; ``bind`` gives it once the model is built."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def bind(self, module: nn.Module) -> "Shared":
        self.__dict__["shared"] = module  # not a child: its parameters are counted there
        return self

    def forward(self, x):
        return self.__dict__["shared"].forward(x)

    def extra_repr(self):
        return f"shares {self.name!r}"
