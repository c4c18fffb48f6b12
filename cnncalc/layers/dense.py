"""Vector layers: ``flatten``, ``fc`` (fully connected) and ``rbf`` (LeNet-5's output)."""

from __future__ import annotations

from ..formulas import DOT, Shape
from . import register
from .base import Torch, AxisWindow, Field, Formula, Layer, Window, boolean, n, pos_int
from .slips import Slip


@register
class Flatten(Layer):
    key = "flatten"
    torch = Torch(("torch.nn.Flatten",), ("flatten",))
    family = "dense"
    summary = "W×H×D → a vector of W·H·D"
    saves = ()  # a view: its backward reshapes the gradient
    view = True

    def output_shape(self, x: Shape) -> Shape:
        return Shape(x.numel)

    def connections(self, x: Shape, y: Shape) -> int:
        return 0  # a reshape: no unit reads anything new

    def window(self, x: Shape) -> Window | None:
        # From here on every unit may mix the whole map: the receptive field spans it.
        if not x.spatial:
            return None
        return Window(AxisWindow(x.h, 1, 0), AxisWindow(x.w, 1, 0))

    def explain(self, x: Shape, y: Shape) -> Formula:
        if not x.spatial:
            return Formula(f"flatten: already a vector of {x.c}")
        return Formula(f"flatten: {x.w}{DOT}{x.h}{DOT}{x.c} = {n(y.c)}")


class _Dense(Layer):
    __slots__ = ()
    primary = "units"
    needs_vector = True
    # linear is addmm(bias, input, weight.t()): mm_mat2_backward reads the input (the weight
    # is a parameter); autocast runs linear in bf16/fp16.  RBF: (x − w)² keeps x − w.
    saves = ("input",)
    autocast = "low"

    def param_tensors(self, x: Shape) -> tuple[int, ...]:
        p, u = self.params(x), self.hp["units"]
        return (p - u, u) if self.hp.get("bias") else (p,)
    fully_connected = True

    def output_shape(self, x: Shape) -> Shape:
        self.check_input(x)
        return Shape(self.hp["units"])

    def macs(self, x: Shape, y: Shape) -> int:
        return x.c * y.c


@register
class FullyConnected(_Dense):
    __slots__ = ()
    key = "fc"
    torch = Torch(("torch.nn.Linear",), ("linear",), (("out_features", "units"),))
    family = "dense"
    summary = "fully connected: (in + 1)·units weights"
    fields = (
        Field("units", pos_int, doc="the number of output neurons"),
        Field("bias", boolean, True, "one bias per unit"),
    )

    def params(self, x: Shape) -> int:
        return (x.c + (1 if self.hp["bias"] else 0)) * self.hp["units"]

    def connections(self, x: Shape, y: Shape) -> int:
        return self.params(x)

    def explain(self, x: Shape, y: Shape) -> Formula:
        u = self.hp["units"]
        w = f"({x.c} + 1){DOT}{u}" if self.hp["bias"] else f"{x.c}{DOT}{u}"
        return Formula(f"fc {x.c} → {u}", parts=(("params", f"{w} = {n(self.params(x))}"),
                                                  ("MACs", f"{x.c}{DOT}{u} = {n(x.c * u)}")),
                       sep=": ")

    def params_slips(self, x: Shape, y: Shape) -> list[Slip]:
        n_in, u, bias = x.c, self.hp["units"], self.hp["bias"]
        if not bias:
            return [((n_in + 1) * u, f"counted a bias, but this fc has bias: false: "
                                     f"{n_in}{DOT}{u} = {n_in * u:,}")]
        return [
            (n_in * u, f"forgot the bias: {'the unit' if u == 1 else f'each of the {u} units'} "
                       f"has one, (in + 1){DOT}units = "
                       f"({n_in} + 1){DOT}{u} = {(n_in + 1) * u:,}"),
            (n_in * u + 1, f"one bias per unit, not one in total: ({n_in} + 1){DOT}{u}"),
        ]

    def macs_slips(self, x: Shape, y: Shape) -> list[Slip]:
        macs = x.c * y.c
        return [(2 * macs, f"that is FLOPs = 2{DOT}MACs"),
                ((x.c + 1) * y.c, f"counted the bias adds; MACs are in{DOT}units = {macs:,}")]



@register
class RBF(_Dense):
    __slots__ = ()
    key = "rbf"
    torch = Torch(("cnncalc.backends.extra_modules.RBF",), (), (("out_features", "units"),))
    family = "dense"
    autocast = "keep"  # sub, pow and sum: no autocast list names them
    summary = "LeNet-5's Euclidean RBF output: in·units weights, no bias; y_i = Σ(x_j − w_ij)²"
    fields = (Field("units", pos_int, doc="the number of classes"),)

    def params(self, x: Shape) -> int:
        return x.c * self.hp["units"]

    def connections(self, x: Shape, y: Shape) -> int:
        return self.params(x)

    def explain(self, x: Shape, y: Shape) -> Formula:
        u = self.hp["units"]
        return Formula(f"RBF {x.c} → {u}",
                       parts=(("params", f"{x.c}{DOT}{u} = {n(self.params(x))} (no bias)"),),
                       sep=": ")
