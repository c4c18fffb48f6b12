"""Elementwise layers: activations, softmax and dropout.  0 weights, shape unchanged.

Each kind comes from one small factory, as fvcore builds its handler families.
"""

from __future__ import annotations

from . import register
from .base import Choice, Field, Layer, choice, number, probability


def no_connections(self, x, y) -> int:
    """LeCun counts the squashing as part of the unit before it, not as connections of its own
    (the 1998 paper's 340,908 for LeNet-5 has none for it)."""
    return 0


def elementwise(key: str, summary: str, module: str | None = None,
                fields: tuple[Field, ...] = (), primary: str | None = None,
                keeps_features: bool = True, activation: bool = True,
                dropout: bool = False) -> type[Layer]:
    """An elementwise kind; ``module`` is its PyTorch module when it takes no settings."""
    cls = type(key.title().replace("_", ""), (Layer,), {
        "__slots__": (), "key": key, "family": "activation", "summary": summary,
        "activation": activation, "dropout": dropout,
        "fields": fields, "primary": primary, "__module__": __name__, "module": module,
        "keeps_features": keeps_features, "connections": no_connections})
    return register(cls)


ReLU = elementwise("relu", "max(0, x)", "nn.ReLU")
ReLU6 = elementwise("relu6", "min(max(0, x), 6) (MobileNetV2)", "nn.ReLU6")
Sigmoid = elementwise("sigmoid", "1 / (1 + e^−x)", "nn.Sigmoid")
Tanh = elementwise("tanh", "tanh(x); LeNet-5's squashing is 1.7159·tanh(2x/3)", "nn.Tanh")
LeakyReLU = elementwise("leaky_relu", "max(αx, x)", None,
                        (Field("slope", number, 0.01, "α, the negative slope"),), "slope")
GELU = elementwise("gelu", "x·Φ(x)", "nn.GELU")
SiLU = elementwise("silu", "x·sigmoid(x) (swish)", "nn.SiLU")
Hardswish = elementwise("hardswish", "x·relu6(x + 3)/6 (MobileNetV3)", "nn.Hardswish")
Hardsigmoid = elementwise("hardsigmoid", "relu6(x + 3)/6 (MobileNetV3's gate)", "nn.Hardsigmoid")
# A softmax turns features into class probabilities: lint does not look past it.
Softmax = elementwise("softmax", "e^x / Σe^x over the channels: a probability per class",
                      keeps_features=False)
Dropout = elementwise("dropout", "zeroes a fraction p of the outputs while training", None,
                      (Field("p", probability, 0.5, "the fraction dropped"),), "p",
                      activation=False, dropout=True)


class DropMode(Choice):
    ROW = "row"
    BATCH = "batch"


# Identity in eval mode: while training it drops the whole residual path it ends.
StochasticDepth = elementwise(
    "stochastic_depth", "drops the whole path with probability p while training (identity "
    "in eval)", None, (Field("p", probability, 0.0, "the probability the path is dropped"),
                       Field("mode", choice(DropMode), "row", "row (per sample) or batch")),
    "p", activation=False)
