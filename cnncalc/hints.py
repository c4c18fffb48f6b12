"""Name the likely slip behind a wrong ``expect:`` claim.

Each rule is a pure function of a layer (its hyperparameters), its input shape and its
output shape that returns *candidate slips*: ``(wrong value, what went wrong)``.  A claim
that equals a candidate's wrong value gets that candidate's text as its hint.  The first
matching candidate wins, so each list starts with the commonest slip.

The slips come from the notes' formulas::

    output  (N − F + 2P)/S + 1  per axis, depth K (conv) or D (pool)
    params  (F·F·D1)·K + K      (conv; D1/g with groups, 1 with depthwise)
    macs    weights × W2·H2     (one multiply-accumulate per weight per output position)
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator

from .layers.base import Layer
from .network import Branches, Group, Leaf, Repeat, Residual
from .report import ClaimResult, Report, Row
from .shapes import DOT, MINUS, AxisOut, Shape, volume_text

Slip = tuple[Any, str]
SlipRule = Callable[[Layer, Shape, Shape], list[Slip]]

RULES: dict[tuple[str, str], SlipRule] = {}


def rule(kind: str, field: str):
    """Register the slip candidates of one (layer kind, claim field); refuses duplicates."""
    def deco(fn: SlipRule) -> SlipRule:
        if (kind, field) in RULES:
            raise ValueError(f"slip rule for {kind}.{field} registered twice")
        RULES[(kind, field)] = fn
        return fn
    return deco


def first_match(candidates: Iterable[Slip], claimed: Any, actual: Any) -> str:
    for value, text in candidates:
        if value == claimed and value != actual:
            return text
    return ""


# --- output sizes -----------------------------------------------------------------------

def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def axis_slips(a: AxisOut, f_plain: int) -> dict[str, int]:
    """One axis's output length under each slip (the notes' formula done wrong).

    ``a.f`` is the effective (dilated) kernel, ``f_plain`` the kernel as written.
    Results are floored as a student (or PyTorch) would.
    """
    n, f, s, p = a.n, a.f, a.s, a.pad[0] + a.pad[1]
    out = {
        "no_pad": _floor(Fraction(n - f, s)) + 1,
        "one_pad": _floor(Fraction(n - f + p // 2, s)) + 1,
        "no_plus_one": _floor(Fraction(n - f + p, s)),
        "stride_first": _floor(Fraction(n + p, s)) - f + 1,
        "stride_first_n": _floor(Fraction(n, s)) - f + p + 1,
        "no_stride": n - f + p + 1,
        "no_dilation": _floor(Fraction(n - f_plain + p, s)) + 1,
    }
    return out


SPATIAL_TEXT = {
    "no_pad": "used N instead of N + 2P: the padding adds P pixels on each side before the "
              "filter slides ({right})",
    "one_pad": "added P once: the padding is on both sides, so it is 2P ({right})",
    "no_plus_one": "forgot the +1: the first position of the window counts too ({right})",
    "stride_first": "divided by the stride before subtracting F: subtract F (and add 2P) "
                    "first, then divide by S, then add 1 ({right})",
    "stride_first_n": "divided by the stride before subtracting F: subtract F (and add 2P) "
                      "first, then divide by S, then add 1 ({right})",
    "no_stride": "forgot to divide by the stride S ({right})",
    "no_dilation": "used F instead of the dilated span d·(F − 1) + 1 ({right})",
}


def right_text(a: AxisOut) -> str:
    p = a.pad[0] + a.pad[1]
    pad = f" + 2{DOT}{a.pad[0]}" if a.pad[0] == a.pad[1] else f" + {p}"
    return f"({a.n} {MINUS} {a.f}{pad})/{a.s} + 1 = {a.out}"


def window_shape_slips(ah: AxisOut, aw: AxisOut, f_plain: tuple[int, int], depth: int,
                       y: Shape) -> list[Slip]:
    sh, sw = axis_slips(ah, f_plain[0]), axis_slips(aw, f_plain[1])
    right = right_text(ah) if (ah.n, ah.f, ah.s, ah.pad) == (aw.n, aw.f, aw.s, aw.pad) \
        else f"H: {right_text(ah)}; W: {right_text(aw)}"
    return [(Shape(depth, sh[k], sw[k]), SPATIAL_TEXT[k].format(right=right)) for k in sh]


def order_slips(y: Shape) -> list[Slip]:
    """A right volume written in the wrong order."""
    if not y.spatial:
        return []
    right = volume_text(y)
    return [
        (Shape(y.w, y.h, y.c), f"wrote PyTorch's C×H×W order; the notes write W×H×D, depth "
                               f"last: {right}"),
        (Shape(y.c, y.w, y.h), f"swapped width and height; the notes write W×H×D: {right}"),
    ]


@rule("conv", "output")
def conv_output(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    ah, aw = layer.axes(x)
    k = layer.filters(x)
    slips = window_shape_slips(ah, aw, layer.hp["size"], k, y)
    if x.c != k:
        slips.append((Shape(x.c, y.h, y.w), f"kept the input depth D1 = {x.c}; the output "
                                            f"depth is the number of filters K = {k}"))
    if k != 1:
        slips.append((Shape(1, y.h, y.w), f"one filter gives one map; {k} filters stack "
                                          f"into depth K = {k}"))
    return slips + order_slips(y)


@rule("pool", "output")
def pool_output(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    ah, aw = layer.axes(x)
    slips = window_shape_slips(ah, aw, layer.hp["size"], x.c, y)
    if x.c != 1:
        slips.append((Shape(1, y.h, y.w), f"pooling works on each map separately and keeps "
                                          f"the depth D = {x.c}"))
    return slips + order_slips(y)


# --- parameter counts ---------------------------------------------------------------------

@rule("conv", "params")
def conv_params(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    if layer.hp["connections"] is not None:
        return []
    (fh, fw), k, g, bias = layer.hp["size"], layer.filters(x), layer.groups(x), layer.hp["bias"]
    ff = f"{fh}{DOT}{fw}"
    b = k if bias else 0
    d = x.c // g
    per = fh * fw * d
    slips = []
    if bias:
        slips.append((per * k, f"forgot the bias: ({ff}{DOT}{d}){DOT}{k} = {per * k:,}, plus "
                               f"one shared bias per filter, + {k} = {per * k + k:,}"))
    else:
        slips.append((per * k + k, f"counted a bias, but this conv has bias: false: "
                                   f"({ff}{DOT}{d}){DOT}{k} = {per * k:,}"))
    if d != 1:
        slips.append((fh * fw * k + b, f"forgot the input depth: each filter spans the full "
                                       f"depth, F{DOT}F{DOT}D1 = {ff}{DOT}{d} weights, not "
                                       f"F{DOT}F{DOT}K + K"))
        slips.append((fh * fw * k, f"forgot the input depth and the bias: (F{DOT}F{DOT}D1)"
                                   f"{DOT}K + K = ({ff}{DOT}{d}){DOT}{k}"
                                   f"{' + ' + str(k) if bias else ''}"))
    if g != 1:
        what = ("a depthwise filter sees one input map" if layer.hp["depthwise"]
                else f"with groups = {g} each filter sees D1/g = {x.c}/{g} = {d} "
                     f"map{'' if d == 1 else 's'}")
        slips.append((fh * fw * x.c * k + b, f"counted a standard conv; {what}: "
                                             f"({ff}{DOT}{d}){DOT}{k}"
                                             f"{' + ' + str(k) if bias else ''}"))
        if bias:
            slips.append((fh * fw * x.c * k, f"counted a standard conv without bias; {what}"))
    if k != 1:
        slips.append((per + (1 if bias else 0), f"counted one filter; there are K = {k}: "
                                                 f"({ff}{DOT}{d}){DOT}{k}"
                                                 f"{' + ' + str(k) if bias else ''}"))
    if fh == fw and fh != 1:
        slips.append((fh * d * k + b, f"used F instead of F{DOT}F: a filter is {fh}×{fw}×{d}"))
    return slips


@rule("fc", "params")
def fc_params(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    n_in, u, bias = x.c, layer.hp["units"], layer.hp["bias"]
    if not bias:
        return [((n_in + 1) * u, f"counted a bias, but this fc has bias: false: "
                                 f"{n_in}{DOT}{u} = {n_in * u:,}")]
    return [
        (n_in * u, f"forgot the bias: {'the unit' if u == 1 else f'each of the {u} units'} "
                   f"has one, (in + 1){DOT}units = "
                   f"({n_in} + 1){DOT}{u} = {(n_in + 1) * u:,}"),
        (n_in * u + 1, f"one bias per unit, not one in total: ({n_in} + 1){DOT}{u}"),
    ]


@rule("pool", "params")
def pool_params(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    fh, fw = layer.hp["size"]
    if layer.hp["trainable"]:
        return [(x.c, f"LeNet's trainable subsampling has a coefficient and a bias per map: "
                      f"2{DOT}{x.c}")]
    text = "pooling has no weights to learn (the notes: number of weights 0)"
    return [(v, text) for v in (fh * fw, fh * fw * x.c, fh * fw * x.c + x.c, x.c, 2 * x.c)]


@rule("bn", "params")
def bn_params(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    return [
        (4 * x.c, f"counted the running mean and variance; they are buffers, not params: "
                  f"γ and β, 2{DOT}{x.c}"),
        (x.c, f"batch norm learns two numbers per map (γ and β): 2{DOT}{x.c}"),
    ]


# --- MACs -------------------------------------------------------------------------------

@rule("conv", "macs")
def conv_macs(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    k = layer.filters(x)
    weights = layer.params(x) - (k if layer.hp["bias"] else 0)
    pos = y.h * y.w
    macs = weights * pos
    slips = [
        (2 * macs, f"that is FLOPs = 2{DOT}MACs; one MAC is one multiply-accumulate"),
        ((weights + k) * pos, "counted the bias adds; MACs count the weight multiplies only"),
        (weights, f"counted the weights once; each is used at every output position: "
                  f"{weights:,}{DOT}{y.w}{DOT}{y.h}"),
        (weights * x.h * x.w, f"multiplied by the input size; multiply by the output size "
                              f"W2{DOT}H2 = {y.w}{DOT}{y.h}"),
    ]
    if k != 1:
        slips.append((weights // k * pos, f"counted one filter; multiply by K = {k}"))
    return slips


@rule("fc", "macs")
def fc_macs(layer: Layer, x: Shape, y: Shape) -> list[Slip]:
    macs = x.c * y.c
    return [(2 * macs, f"that is FLOPs = 2{DOT}MACs"),
            ((x.c + 1) * y.c, f"counted the bias adds; MACs are in{DOT}units = {macs:,}")]


def generic_slips(field: str, actual: Any, row: Row | None) -> list[Slip]:
    """Slips any layer (or the whole net) can show."""
    slips: list[Slip] = []
    if field == "macs" and isinstance(actual, int):
        slips.append((2 * actual, f"that is FLOPs = 2{DOT}MACs; one MAC is one "
                                  f"multiply-accumulate"))
    if field == "params" and row is not None and row.buffers:
        slips.append((row.params + row.buffers, "counted batch norm's running mean and "
                                                "variance; they are buffers, not params"))
    if field == "output" and isinstance(actual, Shape):
        slips += order_slips(actual)
    return slips


def rf_slips(layer: Layer, x: Shape, actual: Any) -> list[Slip]:
    win = layer.window(x)
    if win is None:
        return []
    own = max(win.h.k, win.w.k)
    return [(own, "that is this layer's own kernel; the receptive field grows through the "
                  "earlier layers: r' = r + (F − 1)·j, with j the product of earlier strides")]


def hint_for(layer: Layer, row: Row, field: str, claimed: Any, actual: Any) -> str:
    """The likely slip behind ``claimed`` for one layer's field, or ''."""
    x, y = row.input_shape, row.shape
    found = ""
    fn = RULES.get((layer.key, field))
    if fn is not None:
        found = first_match(fn(layer, x, y), claimed, actual)
    if not found and field == "rf":
        found = first_match(rf_slips(layer, x, actual), claimed, actual)
    if not found:
        found = first_match(generic_slips(field, actual, row), claimed, actual)
    return found


def total_hint(report: Report, field: str, claimed: Any, actual: Any) -> str:
    """The likely slip behind a top-level claim."""
    t = report.totals
    slips = generic_slips(field, actual, None)
    if field == "params" and t.buffers:
        slips.append((t.params + t.buffers, "counted batch norm's running mean and variance; "
                                            "they are buffers, not params"))
    if field == "params" and t.trainable_params != t.params:
        slips.append((t.trainable_params, "counted only the trainable params; frozen layers' "
                                          "weights are params too (trainable_params checks "
                                          "the other)"))
    return first_match(slips, claimed, actual)


# --- pairing report rows with the spec's leaves -------------------------------------------

def iter_leaves(nodes) -> Iterator[Leaf]:
    """The spec's leaves in the engine's execution order (the order of ``report.layers``)."""
    for node in nodes:
        if isinstance(node, Leaf):
            yield node
        elif isinstance(node, Residual):
            yield from iter_leaves(node.main)
            yield from iter_leaves(node.shortcut)
        elif isinstance(node, Branches):
            for _, path in node.paths:
                yield from iter_leaves(path)
        elif isinstance(node, Repeat):
            for _ in range(node.times):
                yield from iter_leaves(node.body)
        elif isinstance(node, Group):
            yield from iter_leaves(node.body)


def leaf_rows(spec, report: Report) -> list[tuple[Row, Leaf]]:
    """Each report row with the leaf that made it (up to a layer that failed)."""
    pairs = []
    for row, leaf in zip(report.layers, iter_leaves(spec.layers)):
        if row.kind != leaf.kind:  # the orders diverged: pair nothing rather than wrongly
            return []
        pairs.append((row, leaf))
    return pairs


def annotate(spec, report: Report) -> tuple[ClaimResult, ...]:
    """``report.claims`` with ``hint`` filled in for each wrong claim a slip explains."""
    by_name = {row.name: (row, leaf) for row, leaf in leaf_rows(spec, report)}
    out = []
    for c in report.claims:
        hint = ""
        if not c.ok and c.actual is not None:
            if c.layer and c.layer in by_name:
                row, leaf = by_name[c.layer]
                hint = hint_for(leaf.layer, row, c.field, c.expected, c.actual)
            elif not c.layer:
                hint = total_hint(report, c.field, c.expected, c.actual)
        out.append(replace(c, hint=hint) if hint else c)
    return tuple(out)
