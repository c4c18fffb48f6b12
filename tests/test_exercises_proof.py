"""Every answer a sheet gives, proven: 1,000 exercises from random seeds across all topics and
levels, each recomputed without cnncalc.

Layers by PyTorch (torch.nn modules built from the question's numbers; sizes on the meta
device, so a 224×224×96 layer costs nothing; the receptive field from real gradients), the
matrix exercises by numpy.  The key must equal the recomputation in every case.
"""

from __future__ import annotations

import random

import pytest

from cnncalc.exercises.generate import make_sheet
from cnncalc.exercises.topics import LEVELS, TOPICS

np = pytest.importorskip("numpy")  # both come with the torch extra
torch = pytest.importorskip("torch")
nn = torch.nn
torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a shared machine

COUNT = 1000


def modules(given: dict) -> list:
    """The question's layers as torch modules (input depth threaded through)."""
    w, h, c = given["input"]
    out = []
    for layer in given["layers"]:
        kind, hp = next((k, v) for k, v in layer.items() if k != "name")
        if kind == "conv":
            groups = c if hp.get("depthwise") else 1
            k = c if hp.get("depthwise") else hp["filters"]
            m = nn.Conv2d(c, k, hp["size"], hp.get("stride", 1), hp.get("pad", 0), groups=groups,
                          bias=hp.get("bias", True), device="meta")
            c = k
        elif kind == "pool":
            cls = nn.AvgPool2d if hp.get("mode") == "avg" else nn.MaxPool2d
            m = cls(hp["size"], hp["stride"])
        elif kind == "flatten":
            m = nn.Flatten()
        else:
            m = ("fc", hp)  # fc: built once the width before it is known
        out.append(m)
    return out


def run_layers(given: dict):
    """Per layer: (output shape, params, MACs), on the meta device."""
    w, h, c = given["input"]
    x = torch.empty(1, c, h, w, device="meta")
    rows = []
    for m in modules(given):
        if isinstance(m, tuple):
            m = nn.Linear(x.shape[1], m[1], device="meta")
            y = torch.empty(1, m.out_features, device="meta")  # meta linear is slow to run
        else:
            y = m(x)
        params = sum(p.numel() for p in m.parameters())
        if isinstance(m, nn.Conv2d):
            macs = y.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs = m.in_features * m.out_features
        else:
            macs = 0
        rows.append((tuple(y.shape), params, macs))
        x = y
    return rows


def receptive_field(given: dict) -> int:
    """Width of the input pixels one output of the last layer depends on: real gradients
    through weights of ones (max pools as average pools: the same windows, every input
    gets gradient)."""
    w, h, c = given["input"]
    x = torch.ones(1, 1, h, w, requires_grad=True)  # depth does not change the field
    y = x
    for layer in given["layers"]:
        kind, hp = next((k, v) for k, v in layer.items() if k != "name")
        if kind == "conv":
            # one filter: the field does not depend on how many there are
            conv = nn.Conv2d(y.shape[1], 1, hp["size"], hp.get("stride", 1), bias=False)
            nn.init.ones_(conv.weight)
            y = conv(y)
        else:
            y = nn.functional.avg_pool2d(y, hp["size"], hp["stride"])
    y[0, 0, 0, 0].backward()
    cols = (x.grad[0, 0] != 0).any(dim=0).nonzero().flatten()
    return int(cols.max()) + 1


def layer_answer(given: dict):
    rows = run_layers(given)
    ask = given["ask"]
    if ask == "total-params":
        return sum(r[1] for r in rows)
    if ask == "total-macs":
        return sum(r[2] for r in rows)
    if ask == "rf":
        return receptive_field(given)
    shape, params, macs = rows[given["index"]]
    if ask == "output":
        _, c, h, w = shape
        return f"{w}×{h}×{c}"
    return params if ask == "params" else macs


def conv_numpy(x, k, bias, stride, act):
    x, k = np.array(x), np.array(k)
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape)[::stride, ::stride]
    y = (win * k).sum(axis=(2, 3)) + bias
    if act == "relu":
        y = np.maximum(y, 0)
    return y.tolist()


def meta_out(n: int, f: int, s: int, p: int) -> int:
    conv = nn.Conv2d(1, 1, f, s, p, bias=False, device="meta")
    return conv(torch.empty(1, 1, n, n, device="meta")).shape[-1]


def recompute(topic: str, given: dict):
    if "layers" in given:
        return layer_answer(given)
    if topic == "keep-padding":
        n, f, s = given["n"], given["f"], given["s"]
        found = []
        for p in range(0, n * s + f):  # the output grows with P: stop once it passes N
            out = meta_out(n, f, s, p)
            if out > n:
                break
            if out == n and (n - f + 2 * p) % s == 0:
                found.append(p)
        assert len(found) == 1, (given, found)  # exactly one right answer
        return found[0]
    if topic == "strides":
        n, f, p = given["n"], given["f"], given["p"]
        return [s for s in given["candidates"] if (meta_out(n, f, s, p) - 1) * s + f == n + 2 * p]
    return conv_numpy(given["input"], given["kernel"], given["bias"], given["stride"],
                      given["act"])


def exercises():
    master = random.Random(20261204)
    names = list(TOPICS)
    for i in range(COUNT):
        seed = master.randrange(2 ** 32)
        level = LEVELS[master.randrange(3)]
        topic = names[i % len(names)]
        q, = make_sheet(seed, f"s{i}", [topic], 1, level).questions
        yield seed, level, q


def test_every_answer_matches_an_independent_computation():
    seen, floors, wrong = set(), 0, []
    for seed, level, q in exercises():
        seen.add((q.topic, level))
        want = recompute(q.topic, q.given)
        if q.answer != want:
            wrong.append((seed, level, q.topic, q.answer, want))
        if "floor" in q.formula:
            floors += 1
        assert all(value != q.answer for value, _ in q.slips), q  # a slip is a wrong answer
    assert not wrong, wrong[:5]
    assert len(seen) == len(TOPICS) * len(LEVELS)  # every topic at every level
    assert floors >= 20  # some questions test flooring on purpose
