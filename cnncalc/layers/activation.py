"""Elementwise layers: activations, softmax and dropout.  0 weights, shape unchanged.

Each kind comes from one small factory, as fvcore builds its handler families.

What autograd keeps is the kind's derivative in PyTorch's ``tools/autograd/derivatives.yaml``
(``reads``): ``result`` where the formula reads the output (``relu: threshold_backward(grad,
result, 0)``, ``sigmoid_backward(grad, result)``, ``tanh_backward``, ``_softmax_backward_data``),
``self`` where it reads the input (``hardtanh_backward(grad, self, …)`` for relu6,
``silu_backward(grad, self)``, ``hardswish_backward``, ``hardsigmoid_backward``,
``gelu_backward``, ``leaky_relu_backward(grad, self, …)``).  Run in place (``inplace: true``),
an op whose formula reads ``result`` keeps its input's storage (``relu_``; ``leaky_relu_`` has
its own entry reading ``result``); one that reads ``self`` makes autograd keep a copy of the
input before it is overwritten (``relu6_``, ``silu_``, ``hardswish_``, ``hardsigmoid_``:
measured with ``torch.autograd.graph.saved_tensors_hooks``, tests/test_memory.py).
"""

from __future__ import annotations

from . import register
from .base import Choice, Field, Layer, Torch, boolean, choice, number, probability


def no_connections(self, x, y) -> int:
    """LeCun counts the squashing as part of the unit before it, not as connections of its own
    (the 1998 paper's 340,908 for LeNet-5 has none for it)."""
    return 0


INPLACE = Field("inplace", boolean, False,
                "overwrite the input (nn.ReLU(inplace=True)): no new output tensor")


def saved_by_activation(self, x, y) -> tuple[str, ...]:
    """The derivative's reads (module docstring); in place, the input is the output."""
    if not self.in_place:
        return ("output",) if self.reads == "result" else ("input",)
    return ("output",) if self.inplace_reads == "result" else ("copy",)


def elementwise(key: str, summary: str, module: str | None = None,
                fields: tuple[Field, ...] = (), primary: str | None = None,
                keeps_features: bool = True, activation: bool = True, reads: str = "self",
                inplace_reads: str | None = None, torch: Torch | None = None,
                dropout: bool = False, **more) -> type[Layer]:
    """An elementwise kind; ``module`` is its PyTorch module when it takes no settings.
    ``reads``: what its derivative reads (module docstring); ``inplace_reads``: given for a
    kind PyTorch can run in place, which then takes ``inplace: true``.  Its PyTorch forms
    default to that module and the function named as the kind (``nn.ReLU``, ``F.relu``)."""
    if inplace_reads is not None:
        fields = fields + (INPLACE,)
    if torch is None:
        torch = Torch((f"torch.{module}",) if module else (), (key,))
    cls = type(key.title().replace("_", ""), (Layer,), {
        "torch": torch,
        "__slots__": (), "key": key, "family": "activation", "summary": summary,
        "activation": activation, "dropout": dropout,
        "fields": fields, "primary": primary, "__module__": __name__, "module": module,
        "keeps_features": keeps_features, "connections": no_connections,
        "reads": reads, "inplace_reads": inplace_reads, "saved": saved_by_activation,
        "saves": ("output",) if reads == "result" else ("input",), **more})
    return register(cls)


ReLU = elementwise("relu", "max(0, x)", "nn.ReLU", reads="result", inplace_reads="result")
ReLU6 = elementwise("relu6", "min(max(0, x), 6) (MobileNetV2)", "nn.ReLU6", reads="self",
                    inplace_reads="self")
Sigmoid = elementwise("sigmoid", "1 / (1 + e^−x)", "nn.Sigmoid", reads="result")
Tanh = elementwise("tanh", "tanh(x); LeNet-5's squashing is 1.7159·tanh(2x/3)", "nn.Tanh",
                   reads="result")
LeakyReLU = elementwise("leaky_relu", "max(αx, x)", None,
                        (Field("slope", number, 0.01, "α, the negative slope"),), "slope",
                        reads="self", inplace_reads="result",
                        torch=Torch(("torch.nn.LeakyReLU",), ("leaky_relu",),
                                    (("negative_slope", "slope"),)))
GELU = elementwise("gelu", "x·Φ(x)", "nn.GELU", reads="self")
SiLU = elementwise("silu", "x·sigmoid(x) (swish)", "nn.SiLU", reads="self",
                   inplace_reads="self")
Hardswish = elementwise("hardswish", "x·relu6(x + 3)/6 (MobileNetV3)", "nn.Hardswish",
                        reads="self", inplace_reads="self")
Hardsigmoid = elementwise("hardsigmoid", "relu6(x + 3)/6 (MobileNetV3's gate)",
                          "nn.Hardsigmoid", reads="self", inplace_reads="self")
# A softmax turns features into class probabilities: lint does not look past it.  Autocast
# runs it in fp32 (softmax is on autocast's fp32 list).
Softmax = elementwise("softmax", "e^x / Σe^x over the channels: a probability per class",
                      keeps_features=False, reads="result", autocast="fp32",
                      torch=Torch(("torch.nn.Softmax",), ("softmax",)))


def saved_by_dropout(self, x, y) -> tuple[str, ...]:
    """``native_dropout_backward(grad, result1, scale)``: the mask (one bool per element on
    CUDA); p = 0 keeps nothing (``F.dropout`` then returns its input)."""
    return ("mask",) if self.hp["p"] > 0 else ()


# In eval mode (inference) dropout and stochastic depth return their input: no memory.
Dropout = elementwise("dropout", "zeroes a fraction p of the outputs while training", None,
                      (Field("p", probability, 0.5, "the fraction dropped"),), "p",
                      activation=False, saved=saved_by_dropout, saves=("mask",),
                      identity_in_eval=True, dropout=True,
                      torch=Torch(("torch.nn.Dropout", "torch.nn.Dropout2d"),
                                  ("dropout", "dropout2d"), (("p", "p"),)))


class DropMode(Choice):
    ROW = "row"
    BATCH = "batch"


# Identity in eval mode: while training it drops the whole residual path it ends.
def saved_by_stochastic_depth(self, x, y) -> tuple[str, ...]:
    """``x * keep / (1 − p)``: ``mul`` saves only ``keep`` (a value per sample, which does not
    need a gradient: nothing the size of x), ``div`` by a number nothing; p = 0 is the
    identity."""
    return ()


StochasticDepth = elementwise(
    "stochastic_depth", "drops the whole path with probability p while training (identity "
    "in eval)", None, (Field("p", probability, 0.0, "the probability the path is dropped"),
                       Field("mode", choice(DropMode), "row", "row (per sample) or batch")),
    "p", activation=False, saved=saved_by_stochastic_depth, saves=(), identity_in_eval=True,
    scratch=("temp",),
    # torchvision's module, and cnncalc's own (cnncalc/backends/extra_modules.py, what export
    # writes: its forward is not torchvision's, so it is named too, and the importer knows
    # the copy export puts in its file)
    torch=Torch(("torchvision.ops.StochasticDepth", "cnncalc.backends.extra_modules.StochasticDepth"),
                ("stochastic_depth",),
                (("p", "p"), ("mode", "mode"))))
