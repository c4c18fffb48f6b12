"""Properties that hold for every input, checked by hypothesis."""

from hypothesis import example, given, reject, settings
from hypothesis import strategies as st

from conftest import sum_mismatches

import cnncalc
from cnncalc.network import Spec
from cnncalc.report import Counts
from cnncalc.formulas import Shape

sizes = st.integers(min_value=1, max_value=64)
kernels = st.integers(min_value=1, max_value=7)


def net(body: str, volume: str) -> cnncalc.Report:
    return cnncalc.analyze(cnncalc.load(f"input: {volume}\nlayers:\n{body}"))


@given(n=st.integers(8, 80), f=kernels, d=st.integers(1, 3), k=st.integers(1, 16))
def test_same_padding_at_stride_one_keeps_w_and_h(n, f, d, k):
    r = net(f"  - conv: {{filters: {k}, size: {f}, dilation: {d}, pad: same}}\n", f"{n}x{n + 1}x3")
    assert (r.output_shape.h, r.output_shape.w) == (n + 1, n)


@given(n=st.integers(4, 80), f=kernels, s=st.integers(1, 4))
def test_the_notes_keep_padding_keeps_the_size_at_any_stride(n, f, s):
    r = net(f"  - conv: {{filters: 2, size: {f}, stride: {s}, pad: keep}}\n", f"{n}x{n}x1")
    assert (r.output_shape.h, r.output_shape.w) == (n, n)


@given(n=st.integers(1, 80), f=kernels, s=st.integers(1, 4), d=st.integers(1, 3))
def test_same_padding_gives_the_ceiling_at_any_stride(n, f, s, d):
    r = net(f"  - conv: {{filters: 2, size: {f}, stride: {s}, dilation: {d}, pad: same}}\n",
            f"{n}x{n}x1")
    assert (r.output_shape.h, r.output_shape.w) == (-(-n // s), -(-n // s))


@given(n1=st.integers(7, 40), n2=st.integers(7, 40), f=kernels, d=st.integers(1, 8),
       k=st.integers(1, 64), s=st.integers(1, 3))
def test_conv_params_do_not_depend_on_the_input_size(n1, n2, f, d, k, s):
    layer = f"  - conv: {{filters: {k}, size: {f}, stride: {s}}}\n"
    a, b = net(layer, f"{n1}x{n1}x{d}"), net(layer, f"{n2}x{n2}x{d}")
    assert a.totals.params == b.totals.params == (f * f * d) * k + k


@given(widths=st.lists(st.integers(1, 64), min_size=1, max_size=5), n=st.integers(3, 20))
def test_concat_channels_add_up(widths, n):
    paths = "".join(f"        - [conv: {{filters: {w}, size: 3, pad: 1}}]\n" for w in widths)
    r = net(f"  - branches:\n      merge: concat\n      paths:\n{paths}", f"{n}x{n}x4")
    assert r.output_shape == Shape(sum(widths), n, n)


@given(times=st.integers(1, 12), k=st.integers(1, 16), n=st.integers(3, 16))
def test_repeat_of_a_shape_preserving_block_keeps_shape_and_multiplies_params(times, k, n):
    block = (f"      - conv: {{filters: {k}, size: 3, pad: 1}}\n      - bn\n      - relu\n")
    once = net(f"  - repeat:\n      times: 1\n      layers:\n{block}", f"{n}x{n}x{k}")
    many = net(f"  - repeat:\n      times: {times}\n      layers:\n{block}", f"{n}x{n}x{k}")
    assert many.output_shape == once.output_shape == Shape(k, n, n)
    assert many.totals.params == times * once.totals.params
    assert len(many.layers) == 3 * times


# Lines that make group rows (NAME becomes the line's position: names must stay unique).
GROUP_LINES = [
    "  - residual:\n      main:\n        - conv: {filters: 8, size: 3, pad: 1}\n        - bn\n"
    "      shortcut:\n        - conv: {filters: 8, size: 1}\n    name: resNAME\n",
    "  - branches:\n      paths: [[relu], [conv: {filters: 4, size: 1}, bn]]\n"
    "    name: mixNAME\n",
    "  - use: unit\n",
    "  - repeat:\n      times: 2\n      layers: [{use: unit}, relu]\n",
]
layer_lines = st.sampled_from([
    "  - conv: {filters: 8, size: 3, pad: 1}\n", "  - conv: {filters: 4, size: 1}\n",
    "  - conv: {size: 3, pad: 1, depthwise: true}\n", "  - bn\n", "  - relu\n",
    "  - pool: {size: 2, ceil: true}\n", "  - dropout: 0.1\n",
    "  - residual:\n      main:\n        - conv: {filters: 8, size: 3, pad: 1}\n"
    "      shortcut:\n        - conv: {filters: 8, size: 1}\n",
    "  - branches:\n      paths: [[], [conv: {filters: 4, size: 1}]]\n",
    *GROUP_LINES,
])
UNIT = "blocks:\n  unit: [conv: {filters: 8, size: 3, pad: 1}, bn, relu]\n"


@settings(max_examples=60)
@given(lines=st.lists(layer_lines, min_size=1, max_size=8))
@example(lines=GROUP_LINES)
def test_rows_sum_to_totals_and_groups_sum_their_rows(lines):
    body = "".join(line.replace("NAME", str(i)) for i, line in enumerate(lines))
    try:
        r = cnncalc.analyze(cnncalc.load(f"input: 32x32x8\n{UNIT}layers:\n{body}"))
    except cnncalc.AnalysisError:  # six 2×2 pools shrink 32 to 1: a seventh cannot fit
        reject()
    assert sum_mismatches(r) == []
    assert all(x.counts.params >= 0 and x.counts.macs >= 0 for x in r.layers)


def test_the_group_lines_make_every_kind_of_group_row():
    body = "".join(line.replace("NAME", str(i)) for i, line in enumerate(GROUP_LINES))
    r = cnncalc.analyze(cnncalc.load(f"input: 32x32x8\n{UNIT}layers:\n{body}"))
    groups = {row.name: row.kind for row in r.rows if row.is_group}
    assert groups == {"res0": "residual", "mix1": "branches (concat)", "unit1": "use:unit",
                      "repeat1": "repeat ×2", "repeat1.0": "repeat", "repeat1.1": "repeat",
                      "repeat1.0.unit1": "use:unit", "repeat1.1.unit1": "use:unit"}


def test_spec_objects_are_plain_and_frozen():
    spec = cnncalc.load("specs/lenet5.yaml")
    assert isinstance(spec, Spec)
    report = cnncalc.analyze(spec)
    try:
        report.layers[0].counts = Counts()
    except AttributeError:
        pass
    else:
        raise AssertionError("rows must be frozen")
