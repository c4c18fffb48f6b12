"""``traced``: an operation cnncalc has no kind for, its numbers taken from a PyTorch trace.

``cnncalc import`` writes one where a model runs something no kind stands for (a vision
transformer's attention, a ``torch.cumsum``, a module of the model's own): rather than give
up, it records what ran and what PyTorch measured at the traced input, so every traceable
CNN still gives a spec and a table.  Its settings are the trace's numbers, not a
formula's: the input volume it was traced at, its output volume there, its params and
buffers (counted from the modules and tensors it uses) and its MACs per sample
(``FlopCounterMode``'s FLOPs over its ops, halved).

So it knows one input only.  The engine checks that the input it receives is the traced one
(a located error otherwise: re-import at the new input); ``cnncalc sizes`` and a symbolic
input (``input: HxWx3``) cannot reason through it and say so; ``verify`` and ``export``
cannot rebuild it and refuse the spec, naming its traced layers.  What it saves for the
backward pass is not known: the memory estimate counts its output and says it leaves that
out; the receptive field after it is unknown.
"""

from __future__ import annotations

import re
from typing import Any

from ..formulas import MAX_SIZE, Shape, parse_volume, symbolic_shape, volume_text
from . import register
from .base import Field, Formula, Layer, LayerError, n

MAX_COUNT = 10 ** 18  # params or MACs: far above any model's
MAX_TEXT = 200


def op_text(v: Any) -> str:
    """What ran, as text: a module class, a function, or a few of them."""
    if not isinstance(v, str) or not v or len(v) > MAX_TEXT:
        raise ValueError(f"must be a text of 1 to {MAX_TEXT} characters naming what ran "
                         f"(e.g. torch.nn.MultiheadAttention), got {v!r}")
    return v


op_text.schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}

_VOLUME_TEXT = r"^\s*\d+\s*(?:[x×X*]\s*\d+\s*(?:[x×X*]\s*\d+\s*)?)?$"


def volume(v: Any) -> Shape:
    """A volume in numbers: ``W×H×D`` text (``14x14x768``) or a vector's length."""
    if isinstance(v, int) and not isinstance(v, bool):
        if not 1 <= v <= MAX_SIZE:
            raise ValueError(f"must be a volume W×H×D or a length from 1 to {MAX_SIZE:,}, "
                             f"got {v}")
        return Shape(v)
    if not isinstance(v, str) or not re.match(_VOLUME_TEXT, v):
        raise ValueError(f"must be a volume in numbers, W×H×D (e.g. 14x14x768) or a length, "
                         f"got {v!r}")
    return parse_volume(v)


volume.schema = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": MAX_SIZE},
                           {"type": "string", "pattern": _VOLUME_TEXT}]}


def count(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNT:
        raise ValueError(f"must be a whole count ≥ 0, got {v!r}")
    return v


count.schema = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}


@register
class Traced(Layer):
    __slots__ = ()
    key = "traced"
    family = "traced"
    summary = ("an op with no kind, its numbers taken from a PyTorch trace at one input "
               "(written by cnncalc import)")
    from_trace = True
    # What autograd keeps of an unknown op is unknown: nothing is counted, and the memory
    # estimate says it leaves that out (cnncalc.render.common.traced_note).
    saves = ()
    fields = (
        Field("op", op_text, doc="what ran: the PyTorch module class or functions, as text"),
        Field("input", volume, doc="the input volume it was traced at (W×H×D, or a length)"),
        Field("output", volume, doc="its output volume in that trace"),
        Field("params", count, 0, "its learnable weights, counted from what it uses"),
        Field("buffers", count, 0, "its non-learnable state (running statistics)"),
        Field("macs", count, 0, "multiply-accumulates per sample: FlopCounterMode's FLOPs / 2"),
    )

    def output_shape(self, x: Shape) -> Shape:
        traced = self.hp["input"]
        where = f"its numbers were taken from a PyTorch trace of {self.hp['op']} at " \
                f"{volume_text(traced)}"
        if symbolic_shape(x):
            raise LayerError(f"{where}, not from a formula: sizes and a symbolic input cannot "
                             f"reason through a traced layer; give the input in numbers")
        if x != traced:
            again = f"{x.w}x{x.h}x{x.c}" if x.spatial else "…"
            raise LayerError(f"{where}: a traced layer only knows the input it was traced at; "
                             f"import the model again at this input (cnncalc import SOURCE "
                             f"--input {again})")
        return self.hp["output"]

    def params(self, x: Shape) -> int:
        return self.hp["params"]

    def buffers(self, x: Shape) -> int:
        return self.hp["buffers"]

    def macs(self, x: Shape, y: Shape) -> int:
        return self.hp["macs"]

    def connections(self, x: Shape, y: Shape) -> int:
        return 0  # not known: LeCun's count needs the op's wiring

    def explain(self, x: Shape, y: Shape) -> Formula:
        return Formula(f"traced {self.hp['op']}: taken from the PyTorch trace at "
                       f"{volume_text(x)}", volume_text(y),
                       (("params", f"{n(self.hp['params'])} (from the trace)"),
                        ("MACs", f"{n(self.hp['macs'])} (FlopCounterMode / 2, from the trace)")))
