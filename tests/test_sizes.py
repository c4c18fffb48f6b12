"""`cnncalc sizes` and symbolic inspect (issue 10), against the integer engine input by input.

The oracle everywhere is the engine on numbers: for each spec, every input from 1 to 512 is
analysed once (``brute``, cached per spec) and compared with the closed forms evaluated at
that input (every layer's shapes, counts and receptive field) and with the sets `sizes`
reports.  The figures the issue names (U-Net's tiles, the zoo's smallest inputs) are asserted
as the issue states them.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass, replace

import pytest
from conftest import BUNDLED, costly_examples, verify_on_meta
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.engine import trace
from cnncalc.errors import AnalysisError, SpecError
from cnncalc.network import has_side_outputs, leaves, without_side_outputs
from cnncalc.input_sizes import evaluate, find_sizes, symbolize
from cnncalc.formulas import Shape, parse_input
from cnncalc.closed_forms import Poly, Size

TOP = 512
H, W = Size.variable("H"), Size.variable("W")


# --- the integer engine at every input, once per spec ----------------------------------------

@dataclass
class Brute:
    runs: dict[int, bool]  # x → the net runs on an x×x input
    exact: dict[int, bool]  # x → it runs and no window floors
    bad_rows: list[str]  # closed forms that disagree with the engine
    sets: object  # what find_sizes says


XS = range(1, TOP + 1)


def flat(row) -> tuple:
    """A row's numbers in one tuple: input and output shapes, counts, receptive field."""
    i, o, c = row.input_shape, row.shape, row.counts
    rf = () if row.rf is None else (row.rf.h.size, row.rf.h.jump, row.rf.h.start,
                                    row.rf.w.size, row.rf.w.jump, row.rf.w.start)
    return (i.c, i.h, i.w, o.c, o.h, o.w, c.params, c.trainable_params, c.buffers, c.macs,
            c.connections, c.activations) + rf


class Columns:
    """Each closed form evaluated at every x in XS at once (an x×x input: H = W = x), each
    distinct one once: a row's numbers at x are then a lookup."""

    def __init__(self):
        self.cache: dict = {}

    def of(self, v):
        if isinstance(v, Size):
            if v not in self.cache:
                p, k, vals = v.period, v.step, v.values
                self.cache[v] = [vals[x % p] + k * (x // p) for x in XS]
            return self.cache[v]
        if isinstance(v, Poly):
            if v not in self.cache:
                total = [0] * TOP
                for factors, c in v.terms.items():
                    term = [c] * TOP
                    for f in factors:
                        term = [a * b for a, b in zip(term, self.of(f))]
                    total = [a + b for a, b in zip(total, term)]
                self.cache[v] = total
            return self.cache[v]
        return None

    def rows(self, report):
        """Per row: its name and its numbers at every x in XS, one tuple per x."""
        return [(r.name, list(zip(*(self.of(v) or itertools.repeat(v, TOP) for v in flat(r)))))
                for r in report.rows]


def brute_force(spec) -> Brute:
    sym = symbolize(spec)
    report, _ = trace(sym, explain=False)
    sizes = find_sizes(spec)
    columns = Columns()
    rows = columns.rows(report)
    leaf_rows = [r for r, row in zip(rows, report.rows) if not row.is_group]
    windows = [(at_.index, leaf.layer) for at_, leaf in leaves(sym.layers)
               if leaf.layer.axes(sym.input_shape) is not None]
    runs, exact, bad = {}, {}, []
    for x in XS:
        try:
            concrete = cnncalc.analyze(replace(sym, input_shape=Shape(sym.input_shape.c, x, x)),
                                       explain=False, checks=False)  # the figures alone
            ok = True
        except AnalysisError as e:
            concrete, ok = e.report, False
        runs[x] = ok
        mine = rows if ok else leaf_rows
        theirs = concrete.rows if ok else concrete.layers
        for (name, expected), row in zip(mine, theirs):
            assert name == row.name
            got, want = flat(row), expected[x - 1]
            if len(want) < len(got):  # a field no closed form follows: compare the rest
                got = got[:len(want)]
            if got != want:
                bad.append(f"{name} at {x}: {want} ≠ {got}")
        layers = concrete.layers if ok else None  # a tuple made per read: read once
        exact[x] = ok and not any(a.remainder for i, layer in windows
                                  for a in layer.axes(layers[i].input_shape))
    return Brute(runs, exact, bad[:5], sizes)


@functools.lru_cache(maxsize=None)
def brute(name: str) -> Brute:
    return brute_force(cnncalc.load(f"zoo:{name}"))


def specs(*names):
    """The tests that read one spec's brute force are one xdist group: when the suite runs in
    parallel they share a worker, and the brute force is done once."""
    return [pytest.param(n, marks=pytest.mark.xdist_group(f"brute-{n}")) for n in names]


def members(sizes, which: str) -> dict[int, bool]:
    """x → x is in every axis's set (an x×x input)."""
    return {x: all(x in getattr(a, which) for a in sizes.axes) for x in range(1, TOP + 1)}


@pytest.mark.parametrize("name", specs(*BUNDLED))
def test_every_closed_form_equals_the_engine_from_1_to_512(name):
    found = brute(name)
    assert found.bad_rows == []


@pytest.mark.parametrize("name", specs(*BUNDLED))
def test_the_sets_equal_brute_force_from_1_to_512(name):
    found = brute(name)
    spec = cnncalc.load(f"zoo:{name}")
    if has_side_outputs(spec.layers):
        # sizes answers for eval mode (the aux head left out), training's beside it
        evals = brute_force(replace(spec, layers=without_side_outputs(spec.layers)))
        assert found.sets.mode == "eval"
        assert members(found.sets, "runs") == evals.runs
        assert members(found.sets, "exact") == evals.exact
        assert {x: all(x in (a.training or a.runs) for a in found.sets.axes)
                for x in range(1, TOP + 1)} == found.runs
        return
    assert members(found.sets, "runs") == found.runs
    assert members(found.sets, "exact") == found.exact


# --- the figures the issue names ----------------------------------------------------------

LEAST = {"alexnet": 63, "alexnet_2012": 67, "vgg16": 32, "googlenet": 15, "densenet121": 29,
         "squeezenet1_0": 21, "lenet5": 16, "resnet34": 1, "resnet50": 1, "mobilenet_v2": 1}
# googlenet 15 and squeezenet1_0 21: PyTorch's ceil-mode pools keep a last window that starts
# inside the input (torchvision's nets run there and not one below: test_sizes_torchvision.py)


@pytest.mark.parametrize("name", specs(*LEAST))
def test_smallest_inputs_of_the_zoo(name):
    least = LEAST[name]
    found = brute(name)
    assert [a.runs.minimum for a in found.sets.axes] == [least, least]
    # and from there on every size runs (the engine tried each one up to 512)
    assert [x for x in range(1, TOP + 1) if found.runs[x]] == list(range(least, TOP + 1))
    assert all(a.runs.text() == (f"every {a.var}" if least == 1 else
                                 f"every {a.var} ≥ {least}") for a in found.sets.axes)


def test_unet_tiles(cli):
    # Ronneberger et al.: 572 → 388; four 2×2 pools need each level's size even after its two
    # valid convs: 572 − 4 = 568, 284 − 4 = 280, 140 − 4 = 136, 68 − 4 = 64: H ≡ 12 (mod 16).
    # The smallest: 188 − 4 = 184 → 92 − 4 = 88 → 44 − 4 = 40 → 20 − 4 = 16 → 8 − 4 = 4 → up 8,
    # and 172 would leave 168 − 176 < 1 to the first crop.
    result = cli("sizes", "zoo:unet", "--exact")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "H ≡ 12 (mod 16), H ≥ 188: 188, 204, 220, 236, 252, …" in text
    assert "no layer floors      H ≡ 12 (mod 16), H ≥ 188" in text
    assert "H − 184; 572 → 388" in text
    assert "W: the same as H" not in text and "H and W (shown for H)" in text
    doc = json.loads(cli("sizes", "zoo:unet", "--exact", "--want-output", 388,
                         "--format", "json").stdout)
    for axis in doc["axes"]:
        assert axis["runs"]["period"] == 16 and axis["runs"]["residues"] == [12]
        assert axis["runs"]["minimum"] == axis["exact"]["minimum"] == 188
        assert axis["output"]["where_runs"] == f"{axis['var']} − 184"
        assert axis["output"]["at_given"] == {"input": 572, "output": 388}
        assert axis["want_output"]["inputs"]["finite"] == [572]
    want = cli("sizes", "zoo:unet", "--want-output", 388).stdout
    assert "output 388           from H = 572" in want


@pytest.mark.xdist_group("brute-unet")
def test_unet_sets_and_output_against_the_engine():
    found = brute("unet")
    assert [x for x in range(1, TOP + 1) if found.runs[x]] == list(range(188, TOP + 1, 16))
    axis = found.sets.axes[0]
    assert all(axis.output.at(x) == x - 184 for x in range(188, TOP + 1, 16))


def test_a_failing_input_names_the_layer_and_the_floor(cli):
    doc = json.loads(cli("sizes", "zoo:unet", "--format", "json").stdout)
    failures = {f["inputs"]: f for f in doc["axes"][0]["failures"]}
    below = failures["H < 188"]
    # 172: 168 rows reach the first crop, which cuts 176
    assert below["example"] == 172 and below["layer"] == "skip1.branch1.crop1"
    assert "cutting 176 of 168 along H" in below["message"]
    odd = failures["H ≡ 13 (mod 16)"]
    # 189 − 4 = 185 rows reach pool1: (185 − 2)/2 + 1 = 92.5 → 92; the crop keeps 9 rows
    assert odd["layer"] == "skip1" and "gives 392×9×64 but skip1.branch2 gives 392×8×64" in \
        odd["message"]
    assert "skip1.branch2.pool1 floors: max pool: H: (185 − 2 + 2·0)/2 + 1 = 92.5 → floor 92" \
        in odd["message"]


def test_want_output_lists_every_input_or_the_nearest(cli):
    # ResNet-50's last map, ⌊(H − 1)/32⌋ + 1, is 7 for H = 193 … 224 (without the pool head)
    spec = cnncalc.load("zoo:resnet50")
    trunk = replace(spec, layers=spec.layers[:-3])
    found = find_sizes(trunk, want=7)
    inputs = found.axes[0].wanted.inputs
    assert inputs.finite == tuple(range(193, 225))
    assert found.axes[0].output.text == "⌊(H − 1)/32⌋ + 1"
    # U-Net gives H − 184 only for H ≡ 12 (mod 16): 390 is between 388 (572) and 404 (588)
    near = find_sizes(cnncalc.load("zoo:unet"), want=390).axes[0].wanted
    assert near.inputs.empty
    assert (near.below, near.above) == ((388, (572,)), (404, (588,)))
    text = cli("sizes", "zoo:unet", "--want-output", 390).stdout
    assert "no H gives 390; the nearest: 388 from H = 572; 404 from H = 588" in text


def test_a_classifier_output_does_not_depend_on_the_input(cli):
    text = cli("sizes", "zoo:resnet50").stdout
    assert "a vector of 1000: it does not depend on H" in text
    result = cli("sizes", "zoo:resnet50", "--want-output", 7)
    assert result.exit_code == 2 and "the output is a vector of 1000, not a map" in result.stderr


# --- symbolic inspect ---------------------------------------------------------------------

def test_symbolic_resnet50_at_224_equals_the_numeric_report_field_by_field():
    spec = cnncalc.load("zoo:resnet50")
    numeric = cnncalc.analyze(spec)
    symbolic = cnncalc.analyze(replace(spec, input_shape=parse_input("HxWx3")))
    assert symbolic.layers[3].shape == Shape(64, (H - 1) // 4 + 1, (W - 1) // 4 + 1)
    at = evaluate(symbolic, {"H": 224, "W": 224})
    assert len(at.rows) == len(numeric.rows)
    for mine, theirs in zip(at.rows, numeric.rows):
        assert replace(mine, formula=None) == replace(theirs, formula=None), mine.name
    assert at.totals == numeric.totals
    # the memory model replays the net at numbers: evaluate leaves it to with_memory
    from cnncalc.input_sizes import with_memory
    assert at.memory is None
    sym = replace(spec, input_shape=parse_input("HxWx3"))
    assert with_memory(at, sym, {"H": 224, "W": 224}, 1, "fp32").memory == numeric.memory
    assert (at.input_shape, at.output_shape) == (numeric.input_shape, numeric.output_shape)
    assert [replace(c, formula="") for c in at.claims] == \
        [replace(c, formula="") for c in numeric.claims]
    # the findings that hold at every size are the same; whether a layer floors (CN101) or
    # shrinks too fast (CN104) depends on the size: `cnncalc sizes --exact` answers that.  At
    # 224 no image pixel goes unread (the projection shortcuts skip rows the main path reads),
    # so the numeric report has no CN101 either
    assert set(at.diagnostics) == set(numeric.diagnostics)
    assert {d.code for d in at.diagnostics} == {"CN103", "CN106"}


def test_inspect_at_tabulates_every_count(cli):
    doc = json.loads(cli("inspect", "zoo:resnet50", "--at", "224,320x256", "--format",
                         "json").stdout)
    numeric = json.loads(cli("inspect", "zoo:resnet50", "--format", "json").stdout)
    first, second = doc["at"]
    assert first["sizes"] == {"H": 224, "W": 224} and first["runs"]
    totals = dict(numeric["totals"])
    totals.pop("non_trainable_params")
    assert first["totals"] == totals
    # 320 wide, 256 high: the last map is ⌊255/32⌋ + 1 = 8 by ⌊319/32⌋ + 1 = 10
    assert second["sizes"] == {"H": 256, "W": 320}
    wide = cnncalc.analyze(replace(cnncalc.load("zoo:resnet50"),
                                   input_shape=Shape(3, 256, 320)))
    assert second["totals"]["macs"] == wide.totals.macs
    assert wide.rows[-5].shape == Shape(2048, 8, 10)
    assert doc["symbols"] == {"H": {"runs": "every H"}, "W": {"runs": "every W"}}
    conv1 = doc["layers"][0]
    assert conv1["shape"][1]["expr"] == "⌊(H − 1)/2⌋ + 1"
    assert conv1["macs"]["expr"] == "9408·(⌊(H − 1)/2⌋ + 1)·(⌊(W − 1)/2⌋ + 1)"
    assert conv1["params"] == 9408  # params that do not depend on the size stay numbers


def test_inspect_of_a_symbolic_spec(cli, write):
    path = write("input: HxWx3\nlayers:\n  - conv: {filters: 8, size: 3, stride: 2, pad: 1}\n"
                 "  - pool: 2\n  - flatten\n  - fc: 10\n")
    result = cli("inspect", path, "--at", "32,33")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    # conv: ⌊(H − 3 + 2)/2⌋ + 1 = ⌊(H − 1)/2⌋ + 1; pool 2: ⌊(⌊(H − 1)/2⌋ + 1)/2⌋ = ⌊(H + 1)/4⌋,
    # written ⌊(H − 3)/4⌋ + 1 (the floor's offset kept between −S and 0)
    # fc after flatten: (8·(⌊(H − 3)/4⌋ + 1)·(⌊(W − 3)/4⌋ + 1) + 1)·10 params
    assert "(⌊(W − 3)/4⌋ + 1)×(⌊(H − 3)/4⌋ + 1)×8" in text
    assert "80·(⌊(H − 3)/4⌋ + 1)·(⌊(W − 3)/4⌋ + 1) + 234" in text  # 224 (conv) + 10 (fc bias)
    assert "every H ≥ 3; every W ≥ 3" in text
    # H = 32: 16 → 8; fc (8·8·8 + 1)·10 = 5,130; + 224 = 5,354.  H = 33: 17 → 8: the same
    assert text.count("5,354") == 2


# --- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("spec, where, message", [
    ("input: HxWxC\nlayers: [relu]\n", "1:8", "the depth 'C' must be a number"),
    ("input: 2HxWx3\nlayers: [relu]\n", "1:8", "'2H' is not a size"),
    ("input: HxWx3\nlayers:\n  - conv: {filters: K, size: 3}\n", "3:21",
     "filters → must be a positive integer, got 'K'"),
    ("input: {width: W, height: H, channels: C}\nlayers: [relu]\n", "1:8",
     "the depth 'C' must be a number"),
    ("input: HxWx3\nblocks:\n  half: [pool: {size: $in.h}]\nlayers:\n  - use: half\n", "3:23",
     "$in.h is the symbolic size H here"),
])
def test_bad_symbolic_input_is_one_line(cli, write, spec, where, message):
    path = write(spec)
    result = cli("inspect", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{path}:{where}: error:"), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (("inspect", "zoo:lenet5", "--at", "big"), "expected sizes such as 224,320"),
    (("inspect", "zoo:lenet5", "--at", "0"), "from 1 to 1,000,000,000"),
    (("sizes", "zoo:lenet5", "--want-output", 0), "0 is not in the range x>=1"),
    (("solve", "P", "-N", 32, "-F", 3, "--range", "5..3"), "the range 5..3 is empty"),
])
def test_bad_options_are_one_clear_error(cli, args, message):
    result = cli(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_commands_that_need_numbers_say_so(cli, write):
    path = write("input: HxWx3\nlayers:\n  - conv: {filters: 8, size: 3}\n")
    for args in (("verify", path), ("export", path, "--to", "pytorch"), ("lint", path),
                 ("draw", path, "-o", "-"), ("report", path, "-o", "-")):
        result = cli(*args)
        assert result.exit_code == 2
        assert result.stderr.strip().splitlines() == [
            next(line for line in result.stderr.splitlines() if "has symbols" in line)]
    vector = write("input: 100\nlayers:\n  - fc: 10\n", "vector.yaml")
    result = cli("sizes", vector)
    assert result.exit_code == 2 and "the input is a vector" in result.stderr


def test_a_net_that_never_runs(cli, write):
    # channels 8 and 4 cannot be added at any size: sizes says so, in one line
    path = write("input: HxWx3\nlayers:\n  - residual:\n      main: [conv: {filters: 8, "
                 "size: 3, pad: 1}]\n      shortcut: [conv: {filters: 4, size: 1}]\n")
    result = cli("sizes", path)
    assert result.exit_code == 2
    assert "residual add: the main path gives W×H×8 but the shortcut gives W×H×4" in \
        result.stderr


# --- random nets --------------------------------------------------------------------------

conv = st.builds(lambda k, s, p, d: f"conv: {{filters: 4, size: {k}, stride: {s}, pad: {p}, "
                                    f"dilation: {d}}}",
                 st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))
same = st.builds(lambda k, s, w: f"conv: {{filters: 4, size: {k}, stride: {s}, pad: {w}}}",
                 st.integers(1, 4), st.integers(1, 3), st.sampled_from(["same", "keep"]))
pool = st.builds(lambda k, s, c, mode: f"pool: {{size: {k}, stride: {s}, pad: {k // 2}, "
                                       f"ceil: {str(c).lower()}, mode: {mode}}}",
                 st.integers(1, 3), st.integers(1, 3), st.booleans(),
                 st.sampled_from(["max", "avg"]))
deconv = st.builds(lambda k, s, p: f"deconv: {{filters: 4, size: {k}, stride: {s}, "
                                   f"pad: {min(p, k - 1)}}}",
                   st.integers(1, 3), st.integers(1, 3), st.integers(0, 1))
simple = st.one_of(conv, same, pool, deconv, st.just("upsample: 2"), st.just("relu"),
                   st.just("bn"), st.builds(lambda t: f"crop: {{total: {t}}}",
                                            st.integers(0, 4)))
# U-Net's shape: a cropped copy beside a path down and up again (equal only for some sizes)
down_up = st.builds(lambda t, k, s: f"branches: {{merge: concat, paths: [[crop: {{total: {t}}}],"
                                    f" [pool: {s}, conv: {{filters: 4, size: {k}}}, deconv: "
                                    f"{{filters: 4, size: {s}, stride: {s}}}]]}}",
                    st.integers(0, 6), st.integers(1, 3), st.integers(2, 3))
merged = st.one_of(
    st.builds(lambda a, b: f"residual: {{main: [{a}], shortcut: [{b}]}}", conv, conv),
    st.builds(lambda a, b: f"branches: {{merge: concat, paths: [[{a}], [{b}, crop: "
                           f"{{total: 2}}]]}}", simple, conv),
    st.builds(lambda s: f"residual: {{main: [pool: {s}, upsample: {s}]}}", st.integers(2, 3)),
    down_up)
layer = st.one_of(simple, simple, merged)
head = st.sampled_from(["", "global_pool", "adaptive_pool: 2", "flatten"])


@settings(max_examples=costly_examples(), derandomize=True,  # see tests/conftest.py
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(body=st.lists(layer, min_size=1, max_size=5), end=head)
def test_random_nets_closed_forms_and_sets_equal_brute_force(body, end):
    lines = [f"  - conv: {{filters: 4, size: 1}}"] + [f"  - {x}" for x in body]
    if end:
        lines.append(f"  - {end}")
    spec = cnncalc.load("input: 64x64x3\nlayers:\n" + "\n".join(lines) + "\n")
    try:
        found = brute_force(spec)
    except (AnalysisError, SpecError):
        reject()  # channels that never agree, or an answer too large to tabulate
    assert found.bad_rows == []
    assert members(found.sets, "runs") == found.runs
    assert members(found.sets, "exact") == found.exact


# --- verify at sizes from the sets -----------------------------------------------------------

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name", ["unet", "alexnet", "vgg16", "googlenet", "densenet121",
                                  "squeezenet1_0", "lenet5", "resnet50", "mobilenet_v2"])
def test_pytorch_agrees_at_sizes_from_each_set(name):
    from cnncalc.backends import torch as backend

    spec = symbolize(cnncalc.load(f"zoo:{name}"))
    axis = find_sizes(spec).axes[0]
    smallest = axis.runs.minimum
    picks = axis.runs.first(2) + axis.runs.first(1, above=smallest + 2 * axis.runs.period + 1)
    for x in picks:
        at = replace(spec, input_shape=Shape(spec.input_shape.c, x, x))
        result = verify_on_meta(at)  # the meta device checks every shape as the CPU does
        assert result.ok, (x, [c for c in result.checks if not c.ok][:2])
    # and PyTorch refuses the largest size below the smallest that runs (ceil-mode pools
    # included: GoogLeNet's and SqueezeNet's keep a window that starts inside the input)
    below = axis.failures[0] if axis.failures else None
    if below is not None:
        with torch.device("meta"):
            model, _, _ = backend.build(replace(spec, input_shape=Shape(spec.input_shape.c,
                                                                         smallest, smallest)))
            x = torch.zeros(1, spec.input_shape.c, below.example, below.example)
        with pytest.raises(RuntimeError), torch.no_grad():
            model.eval()(x)


def test_the_readme_documents_the_sizes_json(cli):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    doc = json.loads(cli("sizes", "zoo:unet", "--exact", "--want-output", 388,
                         "--format", "json").stdout)
    assert set(doc) == {"name", "input", "given", "exact", "axes"}
    assert set(doc["axes"][0]) == {"var", "runs", "exact", "output", "want_output",
                                   "failures", "proof"}
    assert set(doc["axes"][0]["runs"]) == {"text", "minimum", "first", "finite", "from",
                                           "period", "residues"}
    for key in ("runs", "output", "want_output", "failures", "proof", "residues", "where_runs",
                "at_given", "closed_form", "threshold", "checked"):
        assert f'"{key}"' in readme, key
    for key in ("expr", "period", "step", "values", "form", "terms", "coefficient", "factors",
                "symbols", "fails_at"):
        assert f'"{key}"' in readme, key


def test_csv_and_markdown_refuse_symbols_rather_than_print_a_table(cli, tmp_path):
    spec = tmp_path / "sym.yaml"
    spec.write_text("input: HxWx3\nlayers:\n  - conv: {filters: 4, size: 3, pad: 1}\n")
    for fmt in ("csv", "markdown"):
        r = cli("inspect", spec, "--format", fmt)
        assert r.exit_code == 2 and r.stdout == ""
        assert f"--format: {fmt} writes one number a cell" in r.stderr
    r = cli("inspect", "zoo:lenet5", "--at", "32", "--format", "csv")
    assert r.exit_code == 2
