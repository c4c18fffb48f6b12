"""The engine's output size and "runs / fails" equal PyTorch's at every edge: every pooling and
conv mode (ceil on and off, padding, dilation, ``pad: same``, ``pad: keep``, deconv with
output_pad), at every input from 1 to 64, for a grid of kernels, strides and pads.

PyTorch is the oracle: each case runs the op itself on a zero tensor (no formula of ours on
that side), in one dimension (``max_pool1d``, ``conv1d``, …: the 2-D ops compute each axis with
the same shape function, and 1-D keeps the grid to a few CPU seconds) against the engine on an
N×N input.  An empty output (a deconv whose padding crops everything gives 0 rows without an
error) counts as a failure: no later layer can read it, and the engine refuses it.  The grid
is exhaustive, not sampled."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from cnncalc.layers import REGISTRY, LayerError  # noqa: E402
from cnncalc.formulas import Shape, split_pad, window_out_len  # noqa: E402

SIZES = range(1, 65)


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """PyTorch on one thread for these tiny ops (conftest.py's one_torch_thread)."""


def layer(kind: str, **settings):
    """A layer as the spec loader makes it, or the validation message that refuses it."""
    cls = REGISTRY[kind]
    hp = {f.name: f.parse(settings.get(f.name, f.default)) for f in cls.fields}
    refused = cls.validate(hp)
    return (None, refused[0][1]) if refused else (cls(hp), None)


def engine(kind: str, n: int, **settings) -> int | None:
    """The engine's output height on an n×n×1 input, or None when it refuses."""
    return engine_of(layer(kind, **settings), n)


def engine_of(made, n: int) -> int | None:
    made, refused = made
    if refused:
        return None
    try:
        out = made.output_shape(Shape(1, n, n))
    except LayerError:
        return None
    assert out.h == out.w
    return out.h


def torch_out(fn, n: int) -> int | None:
    with torch.no_grad():
        try:
            out = fn(torch.zeros(1, 1, n)).shape[2]
        except RuntimeError:
            return None
    return out or None  # an empty output: nothing can follow it


def disagreements(kind: str, settings: dict, fn) -> list:
    made = layer(kind, **settings)
    out = []
    for n in SIZES:
        ours, theirs = engine_of(made, n), torch_out(fn, n)
        if ours != theirs:
            out.append((n, ours, theirs))
    return out


POOLS = [(f, s, p, ceil) for f, s, p, ceil in itertools.product(
    range(1, 6), range(1, 4), range(0, 3), (False, True))]


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool_every_mode_agrees_with_pytorch_from_1_to_64(mode):
    op = F.max_pool1d if mode == "max" else F.avg_pool1d
    bad = {}
    for f, s, p, ceil in POOLS:
        # pad above F/2 too: PyTorch refuses it, and so must the engine
        found = disagreements("pool", {"size": f, "stride": s, "pad": p, "mode": mode,
                                       "ceil": ceil},
                              lambda x: op(x, f, s, p, ceil_mode=ceil))
        if found:
            bad[(f, s, p, ceil)] = found[:3]
    assert bad == {}


def test_ceil_mode_keeps_a_window_that_starts_inside_the_input():
    # PyTorch's pooling_output_shape: ⌈(N + 2P − F)/S⌉ + 1, less a last window starting at or
    # beyond N + P.  By hand: N = 2, F = 3, S = 2: ⌈−1/2⌉ + 1 = 1 window, starting at 0.
    assert window_out_len(2, 3, 2, (0, 0), ceil=True).out == 1
    assert window_out_len(1, 3, 2, (0, 0), ceil=True).out == 0  # ⌈−2/2⌉ + 1 = 0
    assert window_out_len(2, 3, 2, (0, 0), ceil=False).out == 0
    # N = 5, F = 2, S = 2, P = 1: ⌈5/2⌉ + 1 = 4, but the 4th window starts at 6 = N + P
    assert window_out_len(5, 2, 2, (1, 1), ceil=True).out == 3
    # GoogLeNet's maxpool4 (2×2, stride 2, ceil) on 1×1 runs: one window
    assert engine("pool", 1, size=2, stride=2, ceil=True) == 1


CONVS = [(f, s, p, d) for f, s, p, d in itertools.product(
    range(1, 5), range(1, 4), range(0, 3), (1, 2))]


def test_conv_numeric_pad_and_dilation_agree_with_pytorch_from_1_to_64():
    bad = {}
    for f, s, p, d in CONVS:
        wf = torch.zeros(1, 1, f)
        found = disagreements("conv", {"filters": 1, "size": f, "stride": s, "pad": p,
                                       "dilation": d},
                              lambda x: F.conv1d(x, wf, None, s, p, d))
        if found:
            bad[(f, s, p, d)] = found[:3]
    assert bad == {}


@pytest.mark.parametrize("pad", ["same", "keep", "valid"])
def test_conv_named_pads_agree_with_pytorch_from_1_to_64(pad):
    """``same`` at stride 1 is PyTorch's own padding='same'; at a stride (PyTorch refuses it)
    the output is TensorFlow's ⌈N/S⌉, run in PyTorch with the pads split as TensorFlow does
    (the extra pixel after); ``keep`` keeps N at any stride (the notes' 2p = N(s − 1) + F − s)."""
    bad = {}
    for f, s, d in itertools.product(range(1, 5), range(1, 4), (1, 2)):
        wf = torch.zeros(1, 1, f)
        made = layer("conv", filters=1, size=f, stride=s, pad=pad, dilation=d)
        fe = d * (f - 1) + 1
        for n in SIZES:
            ours = engine_of(made, n)
            if pad == "same" and s == 1:
                theirs = torch_out(lambda x: F.conv1d(x, wf, None, 1, "same", d), n)
            else:
                if pad == "same":
                    total, want = max((-(-n // s) - 1) * s + fe - n, 0), -(-n // s)
                elif pad == "keep":
                    total, want = n * (s - 1) + fe - s, n
                else:
                    total, want = 0, (n - fe) // s + 1 if n >= fe else None
                if total < 0:  # keep with S > F' at n = 1 cannot pad negatively: refused
                    theirs = None
                else:
                    a, b = split_pad(total)
                    theirs = torch_out(lambda x: F.conv1d(F.pad(x, (a, b)), wf, None, s, 0, d),
                                       n)
                    assert theirs == want, (f, s, d, n)
            if ours != theirs:
                bad.setdefault((f, s, d), []).append((n, ours, theirs))
    assert bad == {}


def test_deconv_with_output_pad_agrees_with_pytorch_from_1_to_64():
    bad = {}
    for f, s, p, d in itertools.product(range(1, 5), range(1, 4), range(0, 3), (1, 2)):
        wf = torch.zeros(1, 1, f)
        for op in range(0, max(s, d) + 1):  # one past PyTorch's limit: both must refuse it
            found = disagreements("deconv", {"filters": 1, "size": f, "stride": s, "pad": p,
                                             "dilation": d, "output_pad": op},
                                  lambda x: F.conv_transpose1d(x, wf, None, s, p, op, 1, d))
            if found:
                bad[(f, s, p, d, op)] = found[:3]
    assert bad == {}


# --- random small nets with ceil pools: sizes' sets = the engine = PyTorch -----------------

from dataclasses import replace  # noqa: E402

from hypothesis import HealthCheck, given, reject, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.errors import AnalysisError, SpecError  # noqa: E402
from cnncalc.input_sizes import find_sizes  # noqa: E402

TOP = 40
conv_ = st.builds(lambda k, s, p, d: f"conv: {{filters: 2, size: {k}, stride: {s}, pad: {p}, "
                                     f"dilation: {d}}}",
                  st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2))
pool_ = st.builds(lambda k, s, p, mode: f"pool: {{size: {k}, stride: {s}, pad: {min(p, k // 2)}, "
                                        f"ceil: true, mode: {mode}}}",
                  st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
                  st.sampled_from(["max", "avg"]))
floor_pool = st.builds(lambda k, s: f"pool: {{size: {k}, stride: {s}}}", st.integers(1, 3),
                       st.integers(1, 3))
# no residual here: PyTorch would broadcast a 1×1 shortcut onto a larger main path, which the
# engine rightly refuses (tests/test_sizes.py holds merges' sets to the engine)
step = st.one_of(pool_, pool_, conv_, floor_pool)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(body=st.lists(step, min_size=1, max_size=4))
def test_random_nets_with_ceil_pools_run_where_sizes_says_and_pytorch_agrees(body):
    from cnncalc.backends import torch as backend

    text = "input: 16x16x1\nlayers:\n" + "".join(f"  - {x}\n" for x in body)
    spec = cnncalc.load(text)
    try:
        runs = find_sizes(spec).axes[0].runs
    except (AnalysisError, SpecError):
        reject()  # merged paths that never agree
    if runs.minimum is None or runs.minimum > TOP:
        reject()
    at = lambda x: replace(spec, input_shape=Shape(1, x, x))  # noqa: E731
    model, _, _ = backend.build(at(runs.minimum))
    model.eval()
    for x in range(1, TOP + 1):
        try:
            cnncalc.analyze(at(x), explain=False)
            engine_runs = True
        except AnalysisError:
            engine_runs = False
        with torch.no_grad():
            try:
                torch_runs = model(torch.zeros(1, 1, x, x)).numel() > 0
            except RuntimeError:
                torch_runs = False
        assert (x in runs, engine_runs, torch_runs) in ((True, True, True),
                                                       (False, False, False)), (x, text)


def test_solve_in_ceil_mode_finds_windows_past_the_input(cli):
    # N = 2, S = 2, ceil: F = 1, 2, 3 give one window (F = 3 starts at 0 and runs 1 past the
    # end); F = 4 gives none; max_pool1d agrees (PyTorch: 1, 1, 1, error)
    r = cli("solve", "F", "-N", 2, "-O", 1, "-S", 2, "--ceil")
    assert "every F from 1 to 3 that gives output 1" in r.stdout
    assert "F = 3: (2 − 3 + 2·0)/2 + 1 = 0.5 → ceil 1 (not whole: ceil mode rounds it up)" in \
        r.stdout
    for f in (1, 2, 3):
        assert torch_out(lambda x: F.max_pool1d(x, f, 2, ceil_mode=True), 2) == 1
    assert torch_out(lambda x: F.max_pool1d(x, 4, 2, ceil_mode=True), 2) is None
