"""A layer kind lives in one place: everything else derives from the registry.

These tests add kinds the way CONTRIBUTING.md says a contributor would, and check that every
consumer (lint, hints, the torch plan, export) picks them up with nothing else edited.
"""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import hints, lint
from cnncalc.backends import recipes as planmod
from cnncalc.layers import REGISTRY, register
from cnncalc.layers.activation import elementwise
from cnncalc.layers.base import Field, Formula, Layer, pos_int
from cnncalc.network import COMBINATORS, leaves, walk, Visitor
from cnncalc.formulas import Shape


@pytest.fixture
def scratch_registry():
    """Kinds registered inside a test are gone after it."""
    before = dict(REGISTRY)
    yield
    REGISTRY.clear()
    REGISTRY.update(before)


def net(text: str):
    return cnncalc.load(text)


def test_an_elementwise_kind_is_its_class_and_nothing_else(scratch_registry):
    # One line, as activation.py writes its kinds: lint, the plan and the engine know it.
    elementwise("mish_t", "x·tanh(softplus(x))", "nn.Mish")
    spec = net("input: 16x16x3\nlayers:\n  - conv: {filters: 8, size: 3, pad: 1}\n  - mish_t\n"
               "  - dropout: 0.2\n  - conv: {filters: 8, size: 3, pad: 1}\n")
    result = lint.lint(spec)
    assert [d.code for d in result.notes] == ["CN203"]  # dropout between two convs, past mish
    report = cnncalc.analyze(spec)
    row = report.layers[1]
    assert (row.kind, row.counts.params, row.counts.macs, row.counts.connections) == \
        ("mish_t", 0, 0, 0)
    assert row.shape == Shape(8, 16, 16)
    the_plan = planmod.plan(spec, report)
    assert [(name, recipe.cls) for name, _, recipe in the_plan.leaves][1] == ("mish_t1", "nn.Mish")


def test_a_kind_with_weights_must_state_its_macs(scratch_registry):
    class Scale(Layer):  # per-channel scale: D weights, and no macs method
        key = "scale_t"
        fields = ()

        def params(self, x):
            return x.c

    with pytest.raises(ValueError, match="does not state its MACs"):
        register(Scale)
    assert "scale_t" not in REGISTRY


def test_a_kind_with_weights_is_one_class(scratch_registry):
    @register
    class Bilinear(Layer):
        """A 1×1 conv without bias, written from scratch as a contributor would."""

        key = "pointwise_t"
        fields = (Field("filters", pos_int, doc="K"),)
        primary = "filters"
        needs_volume = True

        def output_shape(self, x):
            self.check_input(x)
            return Shape(self.hp["filters"], x.h, x.w)

        def params(self, x):
            return x.c * self.hp["filters"]

        def macs(self, x, y):
            return self.params(x) * y.h * y.w

        def explain(self, x, y):
            return Formula(f"1×1 over {x.c} maps", f"{y.w}×{y.h}×{y.c}")

        def params_slips(self, x, y):
            return [(self.params(x) + self.hp["filters"], "counted a bias; this layer has none")]

    spec = net("input: 7x7x4\nlayers:\n  - pointwise_t: 5\n    expect: {params: 25}\n")
    report = cnncalc.analyze(spec)
    row = report.layers[0]
    assert (row.counts.params, row.counts.macs) == (20, 20 * 49)  # 4·5 weights at 7·7 places
    claims = hints.annotate(spec, report)
    assert claims[0].hint == "counted a bias; this layer has none"


def test_secondary_tables_cover_the_registry():
    # builders: one per kind, or the module the class names (never both, never a stray one)
    for key, cls in REGISTRY.items():
        assert (key in planmod.BUILDERS) != (cls.module is not None), key
    assert set(planmod.BUILDERS) <= set(REGISTRY)
    # slips: every field a kind lists slips for is a checkable claim field
    from cnncalc.spec import CLAIM_FIELDS
    for key, cls in REGISTRY.items():
        for attr in dir(cls):
            if attr.endswith("_slips"):
                assert attr[: -len("_slips")] in CLAIM_FIELDS, (key, attr)
    # the kinds and combinators share one namespace
    assert not set(REGISTRY) & set(COMBINATORS)


def test_export_inlines_exactly_the_custom_modules_it_uses():
    from cnncalc.backends.export import to_python

    source = to_python(cnncalc.load("zoo:lenet5_1998"))
    for cls in ("ConnectionConv2d", "Subsampling", "RBF"):
        assert f"class {cls}(nn.Module)" in source
    assert "class Residual(nn.Module)" not in source


class _Count(Visitor[int]):
    """Counts leaves (a merge adds what each arm added) and records their dotted names."""

    def __init__(self):
        self.names = []

    def leaf(self, at, leaf, x):
        self.names.append(at.name)
        return x + 1

    def merge(self, at, node, x, outs):
        return x + sum(y - x for _, y in outs)


def test_one_walker_names_and_orders_leaves_as_the_report_does():
    spec = cnncalc.load("zoo:resnet18")
    report = cnncalc.analyze(spec)
    visitor = _Count()
    # torchvision's resnet18: stem 4, 8 basic blocks of 6, 3 projections of 2, head 3
    assert walk(spec.layers, visitor, 0) == len(report.layers) == 4 + 8 * 6 + 3 * 2 + 3
    assert visitor.names == [r.name for r in report.layers]
    assert [at.index for at, _ in leaves(spec.layers)] == list(range(61))
    assert [r.index for r in report.layers] == list(range(61))


def test_lint_asks_a_kind_what_it_is_never_its_name(scratch_registry):
    # Four kinds a contributor might add, each saying only what it is: lint's network rules
    # find them by those attributes (test_no_kind_lists.py checks lint names no kind).  Each
    # also states what autograd saves, as every kind must (lint weighs the memory, CN205).
    elementwise("channel_drop_t", "zeroes activations at random", None, dropout=True,
                activation=False)

    @register
    class Dense(Layer):
        """An fc without the name: 8 inputs × 10 units + 10 biases = 90 params."""

        key = "dense_t"
        fields = (Field("units", pos_int, doc="units"),)
        primary = "units"
        needs_vector = True
        fully_connected = True
        saves = ("input",)

        def output_shape(self, x):
            self.check_input(x)
            return Shape(self.hp["units"])

        def params(self, x):
            return (x.c + 1) * self.hp["units"]

        def macs(self, x, y):
            return x.c * y.c

    @register
    class InstanceNorm(Layer):
        key = "instance_norm_t"
        keeps_features = True
        cancels_bias = True
        saves = ("input", "stats")

    @register
    class Dilated(Layer):
        """A 3×3 conv with pad 1 by another name: it keeps H, W and D; 9·D·D + D params."""

        key = "dilated_t"
        fields = (Field("bias", lambda v: v, True, "one bias per map"),)
        needs_volume = True
        convolution = True
        saves = ("input",)

        def params(self, x):
            return 9 * x.c * x.c + (x.c if self.hp["bias"] else 0)

        def macs(self, x, y):
            return 9 * x.c * y.numel

    spec = net("input: 8x8x2\nlayers:\n  - dilated_t\n  - instance_norm_t\n  - relu\n"
               "  - channel_drop_t\n  - dilated_t: {bias: false}\n  - flatten\n"
               "  - dense_t: 10\n")
    result = lint.lint(spec)
    # dilated_t1 (bias) before instance_norm_t1; channel_drop_t1 between two convolutions;
    # dense_t1's (8·8·2 + 1)·10 = 1,290 of (9·2·2 + 2) + 9·2·2 + 1,290 = 1,364 params
    assert [(d.code, d.layer) for d in result.notes] == [
        ("CN201", "dense_t1"), ("CN202", "dilated_t1"), ("CN203", "channel_drop_t1")]
    assert cnncalc.analyze(spec).totals.params == 38 + 36 + 1290


def test_a_trainable_pool_has_a_bias_that_batch_norm_cancels():
    # LeNet's subsampling: a coefficient and a bias per map (2·D params); BN after it subtracts
    # each map's mean, bias included.
    spec = net("input: 8x8x3\nlayers:\n  - pool: {size: 2, trainable: true}\n  - bn\n")
    notes = lint.lint(spec).notes
    assert [(d.code, d.layer) for d in notes] == [("CN202", "pool1")]
    assert "3 biases learn nothing" in notes[0].message
    assert not lint.lint(net("input: 8x8x3\nlayers:\n  - pool: 2\n  - bn\n")).notes
