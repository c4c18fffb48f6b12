"""cnncalc sweep (issue 18 items 3–6): every point's figures equal the integer engine's at
that point (``inspect --set``, in process), impossible points by cause, the Pareto front equal
to a brute force, the outputs, --jobs, and one clear error per bad input."""

from __future__ import annotations

import collections

import csv
import io
import json
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("numpy")

from cnncalc import sweep  # noqa: E402
from cnncalc.engine import analyze  # noqa: E402
from cnncalc.errors import AnalysisError, SpecError, UsageError  # noqa: E402
from cnncalc.memory import estimate  # noqa: E402
from cnncalc.spec import load, parse  # noqa: E402


def at_point(source: str, params: dict, text: str | None = None, spec_too: bool = False):
    """The integer engine's figures at one point, as ``inspect --set`` works them out (its
    checks aside: test_engine_reuse.py holds the figures equal without them)."""
    spec = parse(text, "<t>", params) if text is not None else load(source, params=params)
    report = analyze(spec, explain=False, checks=False)
    return (spec, report) if spec_too else report


def point_params(result, i):
    return {a.name: a.values[int(result.grid[i, k])] for k, a in enumerate(result.axes)}


def expected_figures(report, spec=None, **memory):
    """The figures of a point; with ``spec``, the memory ones by cnncalc.memory.estimate on
    the spec loaded at that point (``memory``: its batch, dtype, amp, optimizer), given the
    engine's report at that point as the engine itself gives it (not analysed twice)."""
    figures = sweep.figures_of(report)
    if spec is not None:
        mem = estimate(spec, report=report, **memory)
        figures.update({name: getattr(mem, name) for name in sweep.MEMORY})
    figures["flops"] = 2 * figures["macs"]
    figures["rf"] = max(figures["rf_h"], figures["rf_w"])
    figures["non_trainable"] = figures["params"] - figures["trainable"]
    return figures


WIDE = ("width=0.25..2.0/0.01", "depth=0.25..2.0/0.05", "res=32..640/1", "aspect=0.5..2.0/0.01")


def test_500_random_points_equal_inspect():
    """The parametric ResNet-50 at 500 points drawn from wide ranges: every figure equal to
    the integer engine's at the same point, and the memory figures (the peaks included) equal
    to cnncalc.memory.estimate on the spec loaded at that point.  Nearly every point is a
    network of its own, which the sweep works out point by point (a trace costs more)."""
    assert_equal_inspect(500)


def test_random_networks_traced_equal_inspect(monkeypatch):
    """The same draw with every network traced, one point each: the closed forms and the
    peaks' replay of 120 random ResNet-50s, each figure equal to the integer engine's."""
    monkeypatch.setattr(sweep._Evaluator, "trace_from", 1)
    forms = []
    traced = sweep._Evaluator.traced
    monkeypatch.setattr(sweep._Evaluator, "traced",
                        lambda self, spec, key: forms.append(key) or traced(self, spec, key))
    result = assert_equal_inspect(120)
    assert len(forms) == len({tuple(row[:2]) for row in result.grid.tolist()}) > 100


def assert_equal_inspect(points: int):
    axes = tuple(sweep.parse_vary(a) for a in WIDE)
    result = sweep.run("zoo:resnet50_scaled", axes, sample=points, seed=18, batch=3,
                       dtype="fp16", figures=sweep.PEAKS)
    assert result.evaluated == points and result.possible.all()
    columns = {name: result.field(name) for name in sweep.FIELDS}
    for i in range(result.evaluated):
        spec, report = at_point("zoo:resnet50_scaled", point_params(result, i), spec_too=True)
        want = expected_figures(report, spec, batch=3, dtype="fp16")
        got = {name: columns[name][i] for name in sweep.FIELDS}
        assert {k: int(v) for k, v in got.items()} == want, point_params(result, i)
    return result


def test_efficientnet_points_by_sweep():
    axes = (sweep.parse_vary("width=1.0,1.1,1.2"), sweep.parse_vary("depth=1.0,1.1,1.2,1.4"),
            sweep.parse_vary("res=224,240,288,300"))
    result = sweep.run("zoo:efficientnet", axes)
    want = {("1", "1", 224): (5_288_548, 385_814_752), ("1", "1.1", 240): (7_794_184, 686_802_832),
            ("1.1", "1.2", 288): (9_109_994, 1_087_529_456),
            ("1.2", "1.4", 300): (12_233_232, 1_827_141_392)}
    found = {}
    for i in range(result.evaluated):
        p = point_params(result, i)
        key = (str(float(p["width"])).rstrip("0").rstrip("."),
               str(float(p["depth"])).rstrip("0").rstrip("."), p["res"])
        found[key] = (int(result.values["params"][i]), int(result.values["macs"][i]))
    for key, figures in want.items():
        assert found[key] == figures, key


IMPOSSIBLE = """\
params: {k: 3, res: 16, c: 4}
input: $res x $res x 3
layers:
  - conv: {filters: $c, size: $k}
  - pool: {size: 2, stride: 2}
  - conv: {filters: 8, size: 3, groups: 2}
  - flatten
  - fc: 10
"""


def test_impossible_points_are_counted_by_cause(write):
    """res below what the kernels need, and an odd c that groups=2 cannot split: each point
    is impossible for one cause, named once, and the sweep finishes."""
    path = str(write(IMPOSSIBLE))
    axes = (sweep.parse_vary("k=1..7/2"), sweep.parse_vary("res=1..20"),
            sweep.parse_vary("c=3,4"))
    result = sweep.run(path, axes)
    assert result.evaluated == 4 * 20 * 2
    for i in range(result.evaluated):
        p = point_params(result, i)
        try:
            report = at_point(path, p)
        except (AnalysisError, SpecError) as e:
            assert not result.possible[i], p
            assert sweep.cause_key(result.causes[result.cause[i]]) == \
                sweep.cause_key(sweep._cause(e)), p
            continue
        assert result.possible[i], p
        assert int(result.values["macs"][i]) == report.totals.macs
    causes = result.cause_counts()
    assert sum(n for _, n in causes) == result.impossible > 0
    assert len({c for c, _ in causes}) == len(causes)
    assert any("groups=2 must divide" in c for c, _ in causes)


@st.composite
def small_specs(draw):
    """A random small net whose params (k, s, c, res) reach kernels, strides, channels and
    the input; some points cannot work."""
    layers = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "pool", "convc", "relu", "bn"]))
        if kind == "conv":
            layers.append(f"  - conv: {{filters: {draw(st.integers(1, 6))}, size: $k, "
                          f"stride: {draw(st.integers(1, 2))}, pad: {draw(st.integers(0, 1))}}}")
        elif kind == "convc":
            layers.append("  - conv: {filters: ceil($c * 1.5), size: 3, stride: $s}")
        elif kind == "pool":
            layers.append(f"  - pool: {{size: {draw(st.integers(2, 3))}, stride: $s}}")
        else:
            layers.append(f"  - {kind}")
    if draw(st.booleans()):
        layers += ["  - flatten", "  - fc: 7"]
    return ("params: {k: 3, s: 1, c: 2, res: 8}\ninput: $res x ($res + 1) x $c\nlayers:\n"
            + "\n".join(layers) + "\n")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(small_specs(), st.booleans())
def test_random_specs_equal_the_engine_at_every_point(tmp_path_factory, text, sampled):
    path = tmp_path_factory.mktemp("sweep") / "net.yaml"
    path.write_text(text)
    axes = (sweep.parse_vary("k=1..5"), sweep.parse_vary("s=1,2"), sweep.parse_vary("c=1,3"),
            sweep.parse_vary("res=1..24"))
    result = sweep.run(str(path), axes, sample=60 if sampled else None, seed=1, batch=2,
                       amp="bf16", optimizer="sgd", figures=sweep.PEAKS)
    columns = {name: result.field(name) for name in sweep.FIELDS}
    for i in range(result.evaluated):
        p = point_params(result, i)
        try:
            spec, report = at_point(str(path), p, spec_too=True)
        except (AnalysisError, SpecError) as e:
            assert not result.possible[i], (p, text)
            assert sweep.cause_key(result.causes[result.cause[i]]) == \
                sweep.cause_key(sweep._cause(e))
            continue
        assert result.possible[i], (p, text)
        want = expected_figures(report, spec, batch=2, amp="bf16", optimizer="sgd")
        assert {k: int(columns[k][i]) for k in want} == want, (p, text)


def brute_front(values: list[tuple], candidates: list[int]) -> set[int]:
    front = set()
    for i in candidates:
        p = values[i]
        if not any(all(a <= b for a, b in zip(values[j], p)) and values[j] != p
                   for j in candidates):
            front.add(i)
    return front


@pytest.mark.parametrize("objectives", ["macs,params", "macs,max:params", "params,macs,max:rf",
                                        "max:activations,max:in_h"])
def test_pareto_front_equals_a_brute_force(objectives):
    axes = (sweep.parse_vary("width=0.5..1.5/0.25"), sweep.parse_vary("depth=0.5,1"),
            sweep.parse_vary("res=64..160/16"), sweep.parse_vary("aspect=1,1.5"))
    pareto = sweep.parse_pareto(objectives)
    result = sweep.run("zoo:resnet50_scaled", axes, pareto=pareto,
                       where="macs <= 3e9 or params < 5e6")
    cols = [result.field(o.field) for o in pareto]
    values = [tuple((-int(c[i]) if o.maximise else int(c[i])) for c, o in zip(cols, pareto))
              for i in range(result.evaluated)]
    candidates = [i for i in range(result.evaluated) if result.passed[i]]
    assert 0 < len(candidates) < result.evaluated
    assert set(int(i) for i in result.front) == brute_front(values, candidates)


def test_pareto_front_on_ties_and_random_values():
    import numpy as np

    rng = np.random.default_rng(3)
    for _ in range(30):
        k = int(rng.integers(2, 4))
        cols = [rng.integers(0, 6, size=40) for _ in range(k)]
        cand = np.nonzero(rng.random(40) < 0.8)[0]
        got = sweep.pareto_front(cand, cols, [False] * k)
        values = [tuple(int(c[i]) for c in cols) for i in range(40)]
        assert set(int(i) for i in got) == brute_front(values, list(cand))


def test_where_reads_params_and_exact_figures():
    axes = (sweep.parse_vary("width=0.5,1"), sweep.parse_vary("depth=1"),
            sweep.parse_vary("res=224"), sweep.parse_vary("aspect=1"))
    result = sweep.run("zoo:resnet50_scaled", axes,
                       where="width == 1 and params == 25557032 and macs / 2 == 2044592128")
    assert result.passed.tolist() == [False, True]


def test_jobs_give_the_same_answer():
    axes = (sweep.parse_vary("width=0.5..1.0/0.25"), sweep.parse_vary("depth=0.5,1"),
            sweep.parse_vary("res=64..128/32"))
    one = sweep.run("zoo:resnet50_scaled", axes, pareto=sweep.parse_pareto("macs,max:params"))
    two = sweep.run("zoo:resnet50_scaled", axes, pareto=sweep.parse_pareto("macs,max:params"),
                    jobs=2)
    for name in sweep.BASE:
        assert one.values[name].tolist() == two.values[name].tolist()
    assert one.front.tolist() == two.front.tolist()


def test_jobs_give_the_same_memory_peaks():
    axes = (sweep.parse_vary("width=0.5,1"), sweep.parse_vary("depth=0.5,1"),
            sweep.parse_vary("res=64..128/32"))
    one = sweep.run("zoo:resnet50_scaled", axes, where="training_peak < 1e12", batch=4)
    two = sweep.run("zoo:resnet50_scaled", axes, where="training_peak < 1e12", batch=4,
                    jobs=2)
    assert one.values["training_peak"].tolist() == two.values["training_peak"].tolist()
    assert one.values["inference_peak"].tolist() == two.values["inference_peak"].tolist()
    assert (one.values["inference_peak"] > 0).all()


def test_memory_peaks_by_cli_at_batch_amp_and_optimizer(cli):
    """--where on training_peak at --batch 8 --amp bf16 --optimizer adamw: each variant's
    peaks are cnncalc.memory.estimate's on the spec at that point, and the points filtered
    out are those above the budget."""
    budget = 150 * 2 ** 20
    args = ("sweep", "zoo:resnet50_scaled", "--vary", "width=0.25..0.75/0.25", "--vary",
            "res=64..160/48", "--where", f"training_peak < {budget}", "--batch", "8",
            "--amp", "bf16", "--optimizer", "adamw", "--format", "json", "--limit", "100")
    doc = json.loads(cli(*args).stdout)
    assert doc["evaluated"] == 9 and doc["amp"] == "bf16" and doc["optimizer"] == "adamw"
    assert 0 < doc["passed"] < 9, doc  # the budget cuts the grid
    seen = 0
    for w in ("0.25", "0.5", "0.75"):
        for res in (64, 112, 160):
            spec = load("zoo:resnet50_scaled", params={"width": Fraction(w), "res": res})
            e = estimate(spec, batch=8, amp="bf16", optimizer="adamw")
            match = [v for v in doc["variants"] if Fraction(str(v["width"])) == Fraction(w)
                     and v["res"] == res]
            assert bool(match) == (e.training_peak < budget), (w, res)
            if match:
                seen += 1
                assert match[0]["training_peak"] == e.training_peak
    assert seen == doc["passed"]


@pytest.mark.parametrize("peaks", [False, True])
def test_a_network_is_traced_only_at_enough_points(monkeypatch, tmp_path, peaks):
    """A network met at fewer points than a trace is worth (4; 8 with the peaks, which are
    replayed one size at a time below that) is analysed at each point; from there on it is
    traced once.  The figures are the integer engine's either way."""
    traced = []
    real = sweep._Evaluator.traced
    monkeypatch.setattr(sweep._Evaluator, "traced",
                        lambda self, spec, key: traced.append(key) or real(self, spec, key))
    path = tmp_path / "net.yaml"
    path.write_text("params: {res: 32, c: 4}\ninput: $res x $res x 3\nlayers:\n"
                    "  - conv: {filters: $c, size: 3, stride: 2}\n  - pool: 2\n  - flatten\n"
                    "  - fc: 10\n")
    least = 8 if peaks else 4
    for count in (least - 1, least):
        traced.clear()
        axes = (sweep.parse_vary("c=4,8"), sweep.parse_vary(f"res=16..{15 + count}"))
        result = sweep.run(str(path), axes, figures=sweep.PEAKS if peaks else ())
        assert len(traced) == (2 if count == least else 0)
        for i in range(result.evaluated):
            report = at_point(str(path), point_params(result, i))
            want = expected_figures(report)
            assert {k: int(result.field(k)[i]) for k in want} == want


def test_a_network_made_by_many_groups_is_traced_once(monkeypatch):
    """Depths that round to the same block counts make one network from many groups of three
    points each: it is analysed point by point the first time, then traced, once, and every
    later group reads its closed forms."""
    traces, groups = [], []
    real = sweep._Evaluator.traced

    def spy(self, spec, key):
        groups.append(key)
        if key not in self.forms:
            traces.append(key)
        return real(self, spec, key)

    monkeypatch.setattr(sweep._Evaluator, "traced", spy)
    axes = (sweep.parse_vary("depth=0.5..0.7/0.01"), sweep.parse_vary("res=224,256,288"))
    result = sweep.run("zoo:resnet50_scaled", axes)
    params = result.field("params").tolist()
    by_depth = {}
    for i in range(result.evaluated):
        by_depth.setdefault(point_params(result, i)["depth"], params[i])
    made = collections.Counter(by_depth.values())  # a network (by its params) → its groups
    assert len(by_depth) == 21 and max(made.values()) >= 5
    again = [n for n in made.values() if n > 1]
    assert len(traces) == len(set(traces)) == len(again)  # traced once, when met again
    assert len(groups) == sum(n - 1 for n in again)  # every group but a network's first
    for i in range(0, result.evaluated, 5):
        want = expected_figures(at_point("zoo:resnet50_scaled", point_params(result, i)))
        assert {k: int(result.field(k)[i]) for k in want} == want


def test_memory_peaks_of_a_group_in_one_replay(monkeypatch):
    """Two networks (width) at 38 sizes each (res, aspect): each network's peaks come from one
    replay over arrays (cnncalc.sweep_memory), equal to cnncalc.memory.estimate at every
    point; a group whose points disagree on a branch falls back to one replay per size."""
    from cnncalc import sweep_memory

    runs = []
    real = sweep_memory.peaks

    def spy(*args, **kw):
        runs.append(args[3])
        return real(*args, **kw)

    monkeypatch.setattr(sweep_memory, "peaks", spy)
    axes = (sweep.parse_vary("width=0.5,1"), sweep.parse_vary("res=32..320/16"),
            sweep.parse_vary("aspect=1,1.5"))
    settings_ = dict(batch=5, amp="fp16", optimizer="momentum")
    result = sweep.run("zoo:resnet50_scaled", axes, figures=sweep.PEAKS, **settings_)
    assert runs == [38, 38]  # one replay per network
    for i in range(result.evaluated):
        e = estimate(load("zoo:resnet50_scaled", params=point_params(result, i)), **settings_)
        assert result.values["inference_peak"][i] == e.inference_peak
        assert result.values["training_peak"][i] == e.training_peak

    def mixed(*args, **kw):
        raise sweep_memory.Mixed("the points disagree")

    monkeypatch.setattr(sweep_memory, "peaks", mixed)
    again = sweep.run("zoo:resnet50_scaled", axes, figures=sweep.PEAKS, **settings_)
    for name in sweep.PEAKS:
        assert again.values[name].tolist() == result.values[name].tolist()


def test_memory_peaks_where_a_group_disagrees(monkeypatch):
    """EfficientNet from res 16: up to res 32 its last stages are 1×1, where a squeeze-excite
    product's two factors have one size and its backward takes another branch.  The group is
    halved until each half agrees (res 88..160 in one replay) and the rest replayed one size
    at a time: every point equal to cnncalc.memory.estimate."""
    from cnncalc import sweep_memory

    runs = []
    real = sweep_memory.peaks

    def spy(*args, **kw):
        try:
            found = real(*args, **kw)
        except sweep_memory.Mixed:
            runs.append((args[3], "mixed"))
            raise
        runs.append((args[3], "ok"))
        return found

    monkeypatch.setattr(sweep_memory, "peaks", spy)
    axes = (sweep.parse_vary("width=1.0"), sweep.parse_vary("depth=1.0"),
            sweep.parse_vary("res=16..160/8"))
    result = sweep.run("zoo:efficientnet", axes, figures=sweep.PEAKS, batch=2)
    assert runs == [(19, "mixed"), (9, "mixed"), (10, "ok")]
    for i in range(result.evaluated):
        e = estimate(load("zoo:efficientnet", params=point_params(result, i)), batch=2)
        assert result.values["inference_peak"][i] == e.inference_peak
        assert result.values["training_peak"][i] == e.training_peak


def test_vec_answers_only_when_every_point_agrees():
    from cnncalc.sweep_memory import Mixed, Vec

    np = pytest.importorskip("numpy")
    v = Vec(np.array([3, 700, 1024]))
    assert (-(-v // 512) * 512).a.tolist() == [512, 1024, 1024]
    assert v > 0 and not v <= 0 and (v + 1 - 1 == v)
    for compare in (lambda: v < 512, lambda: v == 700, lambda: bool(v - 3)):
        with pytest.raises(Mixed):
            compare()
    with pytest.raises(Mixed):
        v * (1 << 60)


def test_memory_peaks_only_on_demand():
    """The peaks cost a replay per point: a sweep that names none does not work them out,
    and asking for them afterwards is a clear error."""
    axes = (sweep.parse_vary("width=0.5,1"), sweep.parse_vary("res=64"))
    result = sweep.run("zoo:resnet50_scaled", axes, where="params_bytes < 1e9")
    assert "training_peak" not in result.values
    with pytest.raises(sweep.SweepError, match="training_peak was not worked out"):
        result.field("training_peak")
    assert result.field("params_bytes").tolist() == [4 * p for p in result.values["params"]]


def test_cli_json_csv_and_table(cli, tmp_path):
    args = ("sweep", "zoo:resnet50_scaled", "--vary", "width=0.5..1/0.25", "--vary",
            "res=64,128", "--where", "params < 20e6", "--pareto", "macs,max:params")
    doc = json.loads(cli(*args, "--format", "json").stdout)
    assert doc["evaluated"] == 6 and doc["impossible"]["points"] == 0
    assert doc["passed"] + doc["filtered"] == 6 and len(doc["variants"]) == doc["passed"]
    assert doc["pareto"] == ["macs", "max:params"]
    for v in doc["variants"]:
        report = at_point("zoo:resnet50_scaled",
                          {"width": Fraction(str(v["width"])), "res": v["res"]})
        assert v["params"] == report.totals.params and v["macs"] == report.totals.macs
    rows = list(csv.DictReader(io.StringIO(cli(*args, "--format", "csv").stdout)))
    assert len(rows) == doc["passed"]
    assert sum(r["front"] == "yes" for r in rows) == len(doc["front"])
    plot = tmp_path / "front.svg"
    table = cli(*args, "--plot", plot)
    assert table.exit_code == 0, table.output
    assert "6 points on the grid (width 3 × res 2)" in table.stdout
    assert "Pareto front (macs, max:params)" in table.stdout
    import xml.etree.ElementTree as ET

    svg = ET.fromstring(plot.read_text())
    circles = [e for e in svg.iter() if e.tag.endswith("circle")]
    assert len(circles) == len(doc["front"])


def test_set_fixes_a_param_the_sweep_does_not_vary(cli):
    doc = json.loads(cli("sweep", "zoo:resnet50_scaled", "--vary", "res=224", "--set",
                         "width=0.5", "--format", "json").stdout)
    want = at_point("zoo:resnet50_scaled", {"width": Fraction(1, 2), "res": 224})
    assert doc["variants"][0]["params"] == want.totals.params


BAD = {
    "unknown-vary": (("--vary", "widht=1..2/0.5"), "has no parameter 'widht': did you mean "
                                                   "'width'?"),
    "empty-range": (("--vary", "width=2..1/0.5"), "width=2..1/0.5 is empty"),
    "zero-step": (("--vary", "width=1..2/0"), "the step must be above 0"),
    "not-a-number": (("--vary", "width=a..b"), "values are numbers"),
    "bad-where": (("--vary", "width=1", "--where", "params <="), "cannot read 'params <='"),
    "unknown-figure": (("--vary", "width=1", "--where", "parms < 5"),
                       "'parms' in 'parms < 5' is not a figure of a point: did you mean "
                       "'params'?"),
    "too-many": (("--vary", "width=1..1000000/1", "--vary", "res=1..1000000/1"),
                 "1,000,000,000,000 points; cnncalc sweeps at most 100,000,000 at once: "
                 "--sample N"),
    "pareto-one": (("--vary", "width=1", "--pareto", "macs"), "two or more different"),
    "pareto-unknown": (("--vary", "width=1", "--pareto", "macs,parms"), "did you mean"),
    "no-vary": ((), "give at least one --vary"),
    "set-unknown": (("--vary", "width=1", "--set", "dpth=2"), "no parameter 'dpth'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_error(cli, case):
    args, fragment = BAD[case]
    result = cli("sweep", "zoo:resnet50_scaled", *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_spec_without_params(cli):
    result = cli("sweep", "zoo:lenet5", "--vary", "width=1")
    assert result.exit_code == 2
    assert "has no params: to vary" in result.stderr


def test_parse_vary():
    assert sweep.parse_vary("w=0.5..1/0.25").values == (Fraction(1, 2), Fraction(3, 4), 1)
    assert sweep.parse_vary("r=1..3").values == (1, 2, 3)
    assert sweep.parse_vary("r=224,240").values == (224, 240)
    assert sweep.parse_vary("w=1..1.3/0.2").values == (1, Fraction(6, 5))  # HI not reached
    with pytest.raises(UsageError):
        sweep.parse_vary("w=1,1")
    # integer bounds and step: the numbers LO + i·STEP as exact ints, made at once
    for lo, hi, step in ((-6, 7, 1), (-5, 7, 3), (0, 10, 4), (32, 640, 1), (3, 3, 5)):
        want = tuple(lo + i * step for i in range(int((Fraction(hi) - lo) // step) + 1))
        got = sweep.parse_vary(f"r={lo}..{hi}/{step}").values
        assert got == want and all(type(v) is int for v in got)


def test_scaled_resnet_at_its_own_params_is_zoo_resnet50():
    scaled = analyze(load("zoo:resnet50_scaled"))
    plain = analyze(load("zoo:resnet50"))
    assert scaled.totals == plain.totals
    assert [r.shape for r in scaled.layers] == [r.shape for r in plain.layers]


def test_dask_local_cluster_gives_the_same_answer():
    """--backend dask on a LocalCluster (the dask extra; skipped where it is not installed)."""
    pytest.importorskip("dask.distributed")
    axes = (sweep.parse_vary("width=0.5..1.0/0.25"), sweep.parse_vary("depth=0.5,1"),
            sweep.parse_vary("res=64..128/32"))
    one = sweep.run("zoo:resnet50_scaled", axes, pareto=sweep.parse_pareto("macs,max:params"))
    dask = sweep.run("zoo:resnet50_scaled", axes, pareto=sweep.parse_pareto("macs,max:params"),
                     jobs=2, backend="dask")
    for name in sweep.BASE:
        assert one.values[name].tolist() == dask.values[name].tolist()
    assert one.front.tolist() == dask.front.tolist()
    assert one.causes == dask.causes


def test_dask_backend_without_dask(cli, monkeypatch):
    import builtins

    real = builtins.__import__

    def hide(name, *args, **kwargs):
        if name.startswith("dask"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", hide)
    result = cli("sweep", "zoo:resnet50_scaled", "--vary", "width=1", "--backend", "dask")
    assert result.exit_code == 2
    assert "pip install 'cnncalc[dask]'" in result.stderr


def test_progress_bar_on_a_terminal_only():
    from rich.console import Console

    from cnncalc.render.sweep import progress_bar

    with progress_bar(None) as progress:
        assert progress is None
    buf = io.StringIO()
    seen = []
    axes = (sweep.parse_vary("width=0.5,1"), sweep.parse_vary("res=64,128"))
    with progress_bar(Console(file=buf, force_terminal=True, width=80)) as progress:
        sweep.run("zoo:resnet50_scaled", axes,
                  progress=lambda done, total: (seen.append((done, total)), progress(done, total)))
    assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert "4/4" in buf.getvalue()
