"""Hypothesis: random valid specs, and PyTorch agrees with the engine on every layer's output
shape, params, trainable params (some layers frozen), buffers and MACs (PyTorch is the oracle;
its FlopCounterMode counts the MACs)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.errors import AnalysisError  # noqa: E402

from cnncalc.layers import REGISTRY  # noqa: E402

# Every elementwise kind (relu … hardsigmoid, softmax, dropout, …), read from the registry so a
# new one is drawn too; their settings keep their defaults (dropout is the identity in eval).
ACTIVATIONS = sorted(key for key, cls in REGISTRY.items() if cls.family == "activation")


def flow(d: dict) -> str:
    return json.dumps(d)  # JSON is YAML flow syntax


def pair_or_int(draw, lo, hi):
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return [draw(st.integers(lo, hi)), draw(st.integers(lo, hi))]


@st.composite
def conv(draw, c: int):
    hp = {"size": pair_or_int(draw, 1, 4)}
    if draw(st.integers(0, 3)) == 0:
        hp["stride"] = pair_or_int(draw, 1, 3)
    hp["pad"] = draw(st.one_of(st.integers(0, 2), st.just([0, 1]), st.just([2, 1]),
                               st.sampled_from(["same", "valid", "keep"])))
    if draw(st.integers(0, 3)) == 0:
        hp["dilation"] = pair_or_int(draw, 1, 2)
    style = draw(st.sampled_from(["plain", "plain", "groups", "depthwise"]))
    if style == "depthwise":
        hp["depthwise"] = True
        mult = draw(st.integers(1, 2))
        if mult > 1 or draw(st.booleans()):
            hp["filters"] = c * mult
        out = c * mult
    elif style == "groups":
        g = draw(st.sampled_from([d for d in range(1, c + 1) if c % d == 0]))
        hp["groups"] = g
        out = g * draw(st.integers(1, 3))
        hp["filters"] = out
    else:
        out = draw(st.integers(1, 8))
        hp["filters"] = out
    if draw(st.booleans()):
        hp["bias"] = False
    return f"- conv: {flow(hp)}", out


@st.composite
def pool(draw):
    size = draw(st.integers(1, 3))
    hp = {"size": size, "mode": draw(st.sampled_from(["max", "avg"])),
          "ceil": draw(st.booleans())}
    if draw(st.booleans()):
        hp["stride"] = draw(st.integers(1, 3))
    if size >= 2 and draw(st.booleans()):
        hp["pad"] = draw(st.integers(0, size // 2))
    if draw(st.integers(0, 5)) == 0:
        hp["trainable"] = True
    return f"- pool: {flow(hp)}"


@st.composite
def frozen(draw) -> list[str]:
    """Sometimes a ``frozen: true`` sibling for the layer just drawn."""
    return ["  frozen: true"] if draw(st.integers(0, 4)) == 0 else []


def indent(lines: list[str], by: int) -> list[str]:
    return [" " * by + line for line in lines]


@st.composite
def channels(draw, c: int):
    """A slice of the depth, or split attention's radix sum or softmax where r divides it."""
    radices = [r for r in (2, 3, 4) if c % r == 0]
    kind = draw(st.sampled_from(["slice"] + (["radix_sum", "radix_softmax"] if radices else [])))
    if kind == "slice":
        start = draw(st.integers(0, c - 1))
        end = draw(st.integers(start + 1, c))
        return [f"- slice: {flow({'start': start, 'end': end})}"], end - start
    r = draw(st.sampled_from(radices))
    return [f"- {kind}: {r}"], c // r if kind == "radix_sum" else c


@st.composite
def layer(draw, c: int, depth: int = 0):
    """One layer (or combinator) on an input of ``c`` channels: (YAML lines, output channels)."""
    kinds = ["conv", "conv", "pool", "bn", "act", "channels"] + \
        (["residual", "branches"] if depth < 1 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "channels":
        return draw(channels(c))
    if kind == "conv":
        text, out = draw(conv(c))
        return [text] + draw(frozen()), out
    if kind == "pool":
        return [draw(pool())] + draw(frozen()), c
    if kind == "bn":
        lock = draw(frozen())
        return (["- bn: {}"] + lock if lock else ["- bn"]), c  # a bare word takes no siblings
    if kind == "act":
        return [f"- {draw(st.sampled_from(ACTIVATIONS))}"], c
    if kind == "residual":
        width = draw(st.integers(1, 8))
        stride = draw(st.integers(1, 2))
        main = [f"- conv: {flow({'filters': width, 'size': 3, 'stride': stride, 'pad': 1})}",
                "- bn"]
        inner, w2 = draw(layer(width, depth + 1))
        if w2 == width and draw(st.booleans()):
            main += inner  # may break the shapes: rejected below when it does
        lines = ["- residual:", "    main:"] + indent(main, 6)
        if width != c or stride != 1 or draw(st.booleans()):
            lines += ["    shortcut:"] + indent(
                [f"- conv: {flow({'filters': width, 'size': 1, 'stride': stride})}", "- bn"], 6)
        return lines, width
    merge = draw(st.sampled_from(["concat", "add"]))
    lines = ["- branches:", f"    merge: {merge}", "    paths:"]
    total = 0
    for _ in range(draw(st.integers(1, 3))):
        choice = draw(st.sampled_from(["conv", "pool", "identity"]))
        k = c if merge == "add" else draw(st.integers(1, 6))
        if choice == "identity":
            lines.append("      - []")
            k = c
        elif choice == "pool":
            lines.append(f"      - [{{pool: {flow({'size': 3, 'stride': 1, 'pad': 1})}}}]")
            k = c
        else:
            f = draw(st.sampled_from([1, 3, 5]))
            lines.append(f"      - [{{conv: {flow({'filters': k, 'size': f, 'pad': 'same'})}}}]")
        total += k
    return lines, (c if merge == "add" else total)


@st.composite
def specs(draw) -> str:
    c = draw(st.integers(1, 6))
    h, w = draw(st.integers(8, 24)), draw(st.integers(8, 24))
    lines = ["name: random", f"input: {w}x{h}x{c}", "layers:"]
    for _ in range(draw(st.integers(1, 5))):
        more, c = draw(layer(c))
        lines += indent(more, 2)
    tail = draw(st.sampled_from(["none", "fc", "global"]))
    if tail == "global":
        lines += ["  - global_pool: " + draw(st.sampled_from(["avg", "max"]))]
    if tail != "none":
        lines += ["  - flatten", f"  - fc: {flow({'units': draw(st.integers(1, 10)), 'bias': draw(st.booleans())})}"]
        if draw(st.booleans()):
            lines += ["  - " + draw(st.sampled_from(["bn", "relu", "softmax", "dropout"]))]
    return "\n".join(lines) + "\n"


@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])  # count: profile
@given(specs())
def test_engine_and_pytorch_agree_on_random_specs(text):
    spec = cnncalc.load(text)
    try:
        result = backend.verify(spec, device="cpu", iters=0)
    except AnalysisError:
        reject()  # a shape that cannot work (kernel larger than the input, a residual mismatch)
    bad = [c for c in result.layers if not c.ok]
    assert not bad, f"{text}\n{bad}"
    assert result.ok
    for c in result.layers:
        assert c.torch_trainable_params == c.trainable_params, c
        assert c.torch_buffers == c.buffers, c
        if c.macs_compared:
            assert c.torch_macs == c.macs, c
        else:  # only LeNet's trainable pooling multiplies where the counter cannot see
            assert c.kind == "pool" and c.macs == math.prod(c.shape), c
    assert result.torch_macs == result.macs - result.macs_unchecked
    assert result.torch_buffers == result.buffers
    assert result.torch_trainable_params == result.trainable_params
