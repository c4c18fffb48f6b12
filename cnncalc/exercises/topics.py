"""The notes' questions, one function per topic: ``make(rng, level) -> Question``.

Each function draws its numbers from ``rng`` (a ``random.Random``; nothing else is random),
asks the engine (:func:`cnncalc.analyze` on a small spec), the padding calculator
(:func:`cnncalc.calc.same_pad`) or :mod:`cnncalc.numeric` for the answer and its worked
formula, and lists the wrong answers each slip gives.  Numbers are drawn so that each question
has exactly one right answer: sizes are W×H×D with square inputs, a size that does not divide
is floored (the sheet says so; some questions are drawn to test it on purpose), the padding
question asks for the P that makes ``(N − F + 2P)/S + 1`` exactly N.

``Question.given`` holds the numbers in a plain form (the spec's layers, the matrices) so a
test can recompute every answer without cnncalc (PyTorch, numpy).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import numeric
from ..calc import same_pad, solve
from ..engine import analyze
from ..hints import leaf_rows
from ..layers.conv import Conv
from ..layers.dense import Flatten
from ..layers.pool import Pool
from ..formulas import DOT, MINUS, window_out_len
from ..spec import parse
from .answers import Kind, key_value
from .slips import (engine_slips, one_side_pad_slips, rf_stack_slips, rounded_up_slip,
                    stride_slips, total_slips)

LEVELS = ("easy", "medium", "hard")


@dataclass(frozen=True)
class Question:
    topic: str
    kind: Kind
    text: dict[str, str]  # "en", "zh": the question, numbers in it
    answer: Any  # in the key's form (answers.key_value)
    formula: str  # the worked arithmetic, numbers substituted
    slips: tuple[tuple[Any, str], ...]  # (wrong answer in the key's form, what went wrong)
    given: dict[str, Any]  # the numbers, plainly, for an independent recomputation
    matrices: tuple[tuple[str, list], ...] = field(default=())  # (label, rows) shown as tables


# --- the engine on a small spec ---------------------------------------------------------------

def spec_text(volume: tuple[int, int, int], layers: list[dict]) -> str:
    lines = [f"input: {volume[0]}x{volume[1]}x{volume[2]}", "layers:"]
    for layer in layers:
        (kind, hp), = ((k, v) for k, v in layer.items() if k != "name")
        body = kind if hp is None else (f"{kind}: {hp}" if not isinstance(hp, dict) else
                                        f"{kind}: {{" + ", ".join(f"{k}: {str(v).lower()}"
                                                                   for k, v in hp.items()) + "}")
        lines.append(f"  - {body}")
        if "name" in layer:
            lines.append(f"    name: {layer['name']}")
    return "\n".join(lines) + "\n"


def run(volume: tuple[int, int, int], layers: list[dict]):
    spec = parse(spec_text(volume, layers), "<exercise>")
    report = analyze(spec)
    return report, leaf_rows(spec, report)


def distinct(right: Any, slips: list[tuple[Any, str]]) -> tuple[tuple[Any, str], ...]:
    """Slips whose wrong answer differs from the right one and from earlier slips."""
    seen, out = [right], []
    for value, text in slips:
        if value not in seen:
            seen.append(value)
            out.append((value, text))
    return tuple(out)


def layer_answer(topic: str, text: dict[str, str], volume, layers: list[dict], index: int,
                 ask: str, extra: list = ()) -> Question:
    """``ask`` (output, params, macs, rf) of layer ``index`` (-1: the last)."""
    report, pairs = run(volume, layers)
    row, leaf = pairs[index]
    if ask == "output":
        actual: Any = row.shape
        kind = Kind.VOLUME
    elif ask == "rf":
        actual, kind = row.rf.h.size, Kind.NUMBER
    else:
        actual, kind = getattr(row.counts, ask), Kind.NUMBER
    slips = list(extra) + engine_slips(leaf.layer, row, ask, actual)
    answer = key_value(kind, actual)
    return Question(topic, kind, text, answer, str(row.formula),
                    distinct(answer, [(key_value(kind, v), t) for v, t in slips]),
                    {"input": list(volume), "layers": layers, "ask": ask, "index": index})


def wanted_floor(rng: random.Random, level: str) -> bool:
    return rng.random() < {"easy": 0.0, "medium": 0.3, "hard": 0.5}[level]


def vol(n: int, d: int) -> str:
    return f"{n}×{n}×{d}"


# --- the topics -------------------------------------------------------------------------------

def conv_output(rng: random.Random, level: str) -> Question:
    floor = wanted_floor(rng, level)
    while True:
        n = rng.choice({"easy": range(8, 33), "medium": range(12, 65),
                        "hard": range(20, 228)}[level])
        f = rng.choice({"easy": (3, 5), "medium": (3, 5, 7), "hard": (3, 5, 7, 11)}[level])
        s = 1 if level == "easy" else rng.choice((1, 2) if level == "medium" else (2, 3, 4))
        p = rng.choice((0, (f - 1) // 2)) if level == "easy" else rng.randint(0, 3)
        a = window_out_len(n, f, s, (p, p))
        if a.out >= 2 and (not a.exact) == floor:
            break
    d, k = rng.choice((1, 3)), rng.choice((4, 6, 8, 10, 12, 16, 32))
    text = {"en": f"A conv layer has {k} filters of {f}×{f}, stride S = {s}, zero padding "
                  f"P = {p}; its input is {vol(n, d)}. What is the output volume?",
            "zh": f"卷积层：输入 {vol(n, d)}，{k} 个 {f}×{f} 过滤器，步长 S = {s}，填充 P = {p}。"
                  f"输出的尺寸是多少？"}
    return layer_answer("conv-output", text, (n, n, d),
                        [{"conv": {"filters": k, "size": f, "stride": s, "pad": p}}], 0,
                        "output", rounded_up_slip(a, k))


def conv_params(rng: random.Random, level: str) -> Question:
    n = rng.choice((28, 32, 64, 224))
    d = rng.choice({"easy": (1, 3), "medium": (3, 6, 16), "hard": (16, 32, 64, 96)}[level])
    f = rng.choice((3, 5) if level == "easy" else (1, 3, 5, 7))
    k = rng.choice((4, 6, 8, 10, 16, 20, 32, 64))
    bias = level != "hard" or rng.random() < 0.5
    with_bias = {"en": "each filter has one shared bias", "zh": "每个过滤器一个共享偏置"}
    without = {"en": "no bias", "zh": "无偏置"}
    b = with_bias if bias else without
    text = {"en": f"A conv layer has {k} filters of {f}×{f}, stride 1, padding "
                  f"{(f - 1) // 2} ({b['en']}); its input is {vol(n, d)}. How many parameters "
                  f"(weights and biases) does it have?",
            "zh": f"卷积层：输入 {vol(n, d)}，{k} 个 {f}×{f} 过滤器，步长 1，填充 {(f - 1) // 2}"
                  f"（{b['zh']}）。共有多少个参数（权重和偏置）？"}
    return layer_answer("conv-params", text, (n, n, d),
                        [{"conv": {"filters": k, "size": f, "pad": (f - 1) // 2,
                                   "bias": bias}}], 0, "params")


def pool_output(rng: random.Random, level: str) -> Question:
    floor = wanted_floor(rng, level)
    while True:
        n = rng.choice({"easy": range(4, 33, 2), "medium": range(5, 57),
                        "hard": range(7, 113)}[level])
        f = rng.choice((2, 3))
        s = rng.choice((2,) if level == "easy" else (1, 2, 3) if level == "hard" else (2, 3))
        a = window_out_len(n, f, s)
        if a.out >= 2 and (not a.exact) == floor and f <= n:
            break
    d = rng.choice((6, 16, 32, 64))
    mode = rng.choice(("max", "avg"))
    word = {"max": ("max", "最大"), "avg": ("average", "平均")}[mode]
    article = "An" if mode == "avg" else "A"
    text = {"en": f"{article} {word[0]} pooling layer has a {f}×{f} window and stride S = {s}; "
                  f"its input is {vol(n, d)}. What is the output volume?",
            "zh": f"池化层（{word[1]}池化）：池化核 {f}×{f}，步长 S = {s}，输入 {vol(n, d)}。"
                  f"输出的尺寸是多少？"}
    return layer_answer("pool-output", text, (n, n, d),
                        [{"pool": {"size": f, "stride": s, "mode": mode}}], 0, "output",
                        rounded_up_slip(a, d))


def keep_padding(rng: random.Random, level: str) -> Question:
    while True:
        n = rng.randint(6, 64)
        f = rng.choice({"easy": (3, 5, 7), "medium": (3, 5, 7, 9, 11),
                        "hard": (3, 4, 5, 6, 7)}[level])
        s = 2 if level == "hard" else 1
        if (n * (s - 1) + f - s) % 2 == 0 and f <= n:
            break
    sp = same_pad(n, f, s)
    p = sp.pad
    text = {"en": f"A conv layer has {f}×{f} filters and stride S = {s}; its input is "
                  f"{n}×{n}. Which zero padding P keeps the size, (N {MINUS} F + 2P)/S + 1 = N "
                  f"exactly?",
            "zh": f"卷积层：过滤器 {f}×{f}，步长 S = {s}，输入 {n}×{n}。填充 P 取多少，才能"
                  f"保证卷积前后的维度不变，即 (N {MINUS} F + 2P)/S + 1 = N？"}
    check = window_out_len(n, f, s, (p, p))
    formula = (f"{sp.formula}; check: ({n} {MINUS} {f} + 2{DOT}{p})/{s} + 1 = {check.out}")
    return Question("keep-padding", Kind.NUMBER, text, p, formula,
                    distinct(p, one_side_pad_slips(n, f, s, p)), {"n": n, "f": f, "s": s})


def strides_fit(rng: random.Random, level: str) -> Question:
    top = 6 if level == "hard" else 5
    candidates = list(range(1, top + 1))
    while True:
        n = rng.randint(7, 64)
        f = rng.choice((3, 5, 7))
        p = 0 if level == "easy" else rng.randint(0, 3)
        span = n - f + 2 * p
        if span <= 0:
            continue
        # `cnncalc solve S`: every stride that makes (N − F + 2P)/S whole
        found = solve("stride", {"input": n, "size": f, "pad": p}).found
        fit = [c.value for c in found if c.value in candidates]
        if 2 <= len(fit) < len(candidates):
            break
    text = {"en": f"The input is {n}×{n}, the filters {f}×{f}, zero padding P = {p}. Which "
                  f"strides S from {', '.join(map(str, candidates))} fit, i.e. make "
                  f"(N {MINUS} F + 2P)/S a whole number?",
            "zh": f"输入 {n}×{n}，过滤器 {f}×{f}，填充 P = {p}。步长 S 取 "
                  f"{', '.join(map(str, candidates))} 中哪些值时，(N {MINUS} F + 2P)/S 是整数"
                  f"（过滤器刚好卷积到边）？"}
    parts = [f"{span}/{s} = {span // s}" if span % s == 0 else f"{span}/{s} = {span / s:.3g} ✗"
             for s in candidates]
    formula = f"N {MINUS} F + 2P = {n} {MINUS} {f} + 2{DOT}{p} = {span}; " + ", ".join(parts)
    return Question("strides", Kind.STRIDES, text, fit, formula,
                    distinct(fit, stride_slips(n, f, p, candidates)),
                    {"n": n, "f": f, "p": p, "candidates": candidates})


def one_by_one(rng: random.Random, level: str) -> Question:
    n = rng.choice((7, 14, 28, 56))
    d = rng.choice((16, 32, 64, 128, 256))
    k = rng.choice((8, 16, 32, 64))
    ask = "params" if level == "easy" else "macs"
    what = {"params": ("How many parameters (weights and biases) does it have?",
                       "共有多少个参数（权重和偏置）？"),
            "macs": ("How many MACs (multiply-accumulates, bias adds not counted) does it do "
                     "per image?", "每张图像需要多少次乘加运算（MACs，不含偏置加法）？")}[ask]
    text = {"en": f"A 1×1 conv layer (stride 1, one bias per filter) maps a {vol(n, d)} input "
                  f"to {k} channels. {what[0]}",
            "zh": f"1×1 卷积（步长 1，每个过滤器一个偏置）：输入 {vol(n, d)}，输出 {k} 个通道。"
                  f"{what[1]}"}
    return layer_answer("1x1", text, (n, n, d), [{"conv": {"filters": k, "size": 1}}], 0, ask)


def depthwise(rng: random.Random, level: str) -> Question:
    n = rng.choice((14, 28, 56, 112))
    d = rng.choice((16, 24, 32, 64, 96, 128))
    f = rng.choice((3, 5) if level != "easy" else (3,))
    bias = level != "easy"
    b = ({"en": "one bias per filter", "zh": "每个过滤器一个偏置"} if bias
         else {"en": "no bias", "zh": "无偏置"})
    text = {"en": f"A depthwise {f}×{f} convolution (one {f}×{f} filter for each input channel, "
                  f"{b['en']}) has {d} input and {d} output channels, on a {vol(n, d)} input. "
                  f"How many parameters does it have? (A standard conv would have many more.)",
            "zh": f"Depthwise {f}×{f} 卷积（每个输入通道单独一个 {f}×{f} 过滤器，{b['zh']}）："
                  f"输入和输出都是 {d} 个通道，输入 {vol(n, d)}。这个卷积层有多少个参数？"
                  f"（普通卷积的参数要多得多。）"}
    return layer_answer("depthwise", text, (n, n, d),
                        [{"conv": {"size": f, "pad": (f - 1) // 2, "depthwise": True,
                                   "bias": bias}}], 0, "params")


def receptive_field(rng: random.Random, level: str) -> Question:
    count = {"easy": 2, "medium": 3, "hard": rng.choice((3, 4))}[level]
    layers, names_en, names_zh = [], [], []
    for i in range(count):
        if level != "easy" and i and rng.random() < 0.3:
            layers.append({"pool": {"size": 2, "stride": 2}})
            names_en.append("2×2 max pool, stride 2")
            names_zh.append("2×2 最大池化，步长 2")
            continue
        f = 3 if level == "easy" else rng.choice((3, 5, 7) if i == 0 else (3, 5))
        s = 1 if level != "hard" else rng.choice((1, 2))
        layers.append({"conv": {"filters": 8, "size": f, "stride": s}})
        names_en.append(f"{f}×{f} conv, stride {s}")
        names_zh.append(f"{f}×{f} 卷积，步长 {s}")
    kernels = [next(iter(v.values()))["size"] for v in layers]
    strides = [next(iter(v.values())).get("stride", 1) for v in layers]
    text = {"en": f"These layers are stacked, without padding: {'; '.join(names_en)}. How many "
                  f"input pixels wide is the receptive field of one output of the last layer?",
            "zh": f"下列各层依次堆叠（无填充）：{'；'.join(names_zh)}。最后一层的一个输出，"
                  f"其感受野在输入上的宽度是多少个像素？"}
    n = 96  # large enough for every stack drawn here
    q = layer_answer("receptive-field", text, (n, n, 1), layers, -1, "rf")
    steps, r, j = [], 1, 1
    for k, s in zip(kernels, strides):
        steps.append(f"{r} + ({k} {MINUS} 1)·{j} = {r + (k - 1) * j}")
        r, j = r + (k - 1) * j, j * s
    formula = "r' = r + (F − 1)·j, j = product of the earlier strides: " + "; ".join(steps)
    slips = rf_stack_slips(kernels, strides, q.answer) + list(q.slips)
    return Question(q.topic, q.kind, q.text, q.answer, formula, distinct(q.answer, slips),
                    q.given)


LENET_ASK = (("C1", "output"), ("C1", "params"), ("S2", "output"), ("C3", "output"),
             ("C3", "params"), ("S4", "output"), ("C5", "params"), ("F6", "params"))


def lenet_layer(rng: random.Random, level: str) -> Question:
    d = rng.choice((1, 3))
    k1, k2 = rng.choice((4, 6, 8)), rng.choice((12, 16, 20))
    u1, u2 = rng.choice((100, 120)), rng.choice((64, 84))
    name, ask = rng.choice(LENET_ASK[:6] if level == "easy" else LENET_ASK)
    layers = [{"conv": {"filters": k1, "size": 5}, "name": "C1"},
              {"pool": {"size": 2, "stride": 2, "mode": "avg"}, "name": "S2"},
              {"conv": {"filters": k2, "size": 5}, "name": "C3"},
              {"pool": {"size": 2, "stride": 2, "mode": "avg"}, "name": "S4"},
              {"flatten": None},
              {"fc": u1, "name": "C5"}, {"fc": u2, "name": "F6"}, {"fc": 10, "name": "OUT"}]
    index = next(i for i, v in enumerate(layers) if v.get("name") == name)
    arch_en = (f"input 32×32×{d}; C1: {k1} filters 5×5, stride 1, no padding; S2: 2×2 average "
               f"pooling, stride 2; C3: {k2} filters 5×5; S4: 2×2 average pooling, stride 2; "
               f"flatten; C5: fully connected, {u1} units; F6: fully connected, {u2}; output: 10")
    arch_zh = (f"输入 32×32×{d}；C1：{k1} 个 5×5 过滤器，步长 1，无填充；S2：2×2 平均池化，"
               f"步长 2；C3：{k2} 个 5×5 过滤器；S4：2×2 平均池化，步长 2；展平；"
               f"C5：全连接 {u1}；F6：全连接 {u2}；输出 10")
    what = {"output": ("What is the output volume of", "的输出尺寸是多少？"),
            "params": ("How many parameters (weights and biases) has", "共有多少个参数？")}[ask]
    text = {"en": f"A LeNet-5 style network: {arch_en}. {what[0]} {name}?",
            "zh": f"LeNet-5 式的网络：{arch_zh}。{name} {what[1]}"}
    return layer_answer("lenet5", text, (32, 32, d), layers, index, ask)


def network_total(rng: random.Random, level: str) -> Question:
    d, n = rng.choice(((1, 28), (3, 32), (3, 16), (1, 20)))
    k1, k2 = rng.choice((4, 6, 8)), rng.choice((8, 12, 16))
    f1, f2 = rng.choice((3, 5)), 3
    units = rng.choice((10, 32, 64))
    layers = [{"conv": {"filters": k1, "size": f1, "pad": (f1 - 1) // 2}, "name": "conv1"},
              {"pool": {"size": 2, "stride": 2}, "name": "pool1"}]
    if level != "easy":
        layers.append({"conv": {"filters": k2, "size": f2}, "name": "conv2"})
    layers += [{"flatten": None}, {"fc": units, "name": "fc"}]
    ask = "macs" if level == "hard" else "params"
    report, pairs = run((n, n, d), layers)
    t = report.totals
    actual = getattr(t, ask)
    biases = k1 + (k2 if level != "easy" else 0) + units
    bias_macs = sum(row.shape.c * (row.shape.h or 1) * (row.shape.w or 1)
                    for row, leaf in pairs if leaf.layer.has_bias())
    parts = [f"{row.name} {getattr(row.counts, ask):,}" for row, _ in pairs
             if getattr(row.counts, ask)]
    formula = " + ".join(parts) + f" = {actual:,}; " + "; ".join(
        f"{row.name}: {row.formula}" for row, _ in pairs if getattr(row.counts, ask))
    desc_en = "; ".join(_describe(v, "en") for v in layers)
    desc_zh = "；".join(_describe(v, "zh") for v in layers)
    what = {"params": ("How many parameters (weights and biases) does the whole network have?",
                       "整个网络共有多少个参数（权重和偏置）？"),
            "macs": ("How many MACs (multiply-accumulates, bias adds not counted) does it do "
                     "per image, in all?", "整个网络每张图像共需多少次乘加运算（MACs，不含偏置"
                                          "加法）？")}[ask]
    text = {"en": f"A small network, input {vol(n, d)}: {desc_en}. {what[0]}",
            "zh": f"一个小网络，输入 {vol(n, d)}：{desc_zh}。{what[1]}"}
    answer = key_value(Kind.NUMBER, actual)
    slips = total_slips(t.params, biases, t.macs, bias_macs, ask)
    return Question("network-total", Kind.NUMBER, text, answer, formula, distinct(answer, slips),
                    {"input": [n, n, d], "layers": layers, "ask": "total-" + ask})


def _describe(layer: dict, lang: str) -> str:
    kind, hp = next((k, v) for k, v in layer.items() if k != "name")
    if kind == Conv.key:
        p = hp.get("pad", 0)
        return (f"conv, {hp['filters']} filters {hp['size']}×{hp['size']}, padding {p}"
                if lang == "en" else
                f"卷积层，{hp['filters']} 个 {hp['size']}×{hp['size']} 过滤器，填充 {p}")
    if kind == Pool.key:
        return (f"{hp['size']}×{hp['size']} max pool, stride {hp['stride']}" if lang == "en"
                else f"{hp['size']}×{hp['size']} 最大池化，步长 {hp['stride']}")
    if kind == Flatten.key:
        return "flatten" if lang == "en" else "展平"
    return f"fully connected, {hp} units" if lang == "en" else f"全连接层 {hp}"


# --- the numeric exercises ------------------------------------------------------------------

def flipped(k: list[list[int]]) -> list[list[int]]:
    return [row[::-1] for row in k[::-1]]


def conv_matrix(x, k, bias, stride=1, pad=0, act=None):
    return numeric.apply([x], [[k]], [bias], stride=stride, pad=pad, act=act).output[0]


def numeric_conv(rng: random.Random, level: str) -> Question:
    n, s = {"easy": (5, 1), "medium": (5, 1), "hard": (7, 2)}[level]
    high = 3 if level == "easy" else 9
    while True:
        x = [[rng.randint(0, high) for _ in range(n)] for _ in range(n)]
        k = [[rng.randint(-1, 1) if level == "easy" else rng.randint(-2, 2) for _ in range(3)]
             for _ in range(3)]
        z = sorted(v for row in conv_matrix(x, k, 0, s) for v in row)
        bias = -z[len(z) // 2]
        y = conv_matrix(x, k, bias, s, act="relu")
        values = [v for row in y for v in row]
        if bias < 0 and sum(v > 0 for v in values) >= 2 and sum(v == 0 for v in values) >= 2 \
                and flipped(k) != k and any(v < 0 for v in z):
            break
    steps = numeric.conv_steps([x], [k], bias, 0, 0, s, 0, "relu")
    before = conv_matrix(x, k, bias, s)
    formula = ("output[1,1]: " + "; ".join(steps) + "; before ReLU: "
               + "; ".join(" ".join(str(v) for v in row) for row in before))
    text = {"en": f"Convolve the {n}×{n} input X with the 3×3 kernel W (stride {s}, no "
                  f"padding), add the bias b = {bias}, then apply ReLU. Write the output matrix.",
            "zh": f"输入矩阵 X（{n}×{n}）与 3×3 卷积核 W 做卷积（步长 {s}，无填充），加上偏置 "
                  f"b = {bias}，再经过激活函数 ReLU。写出输出矩阵。"}
    slips = [
        (before, "forgot the ReLU: negative values become 0"),
        (conv_matrix(x, k, 0, s, act="relu"), f"forgot the bias: add b = {bias} to every "
                                               f"dot product before the ReLU"),
        (conv_matrix(x, flipped(k), bias, s, act="relu"),
         "flipped the kernel: a CNN's convolution slides W as it is (no flip), element-wise "
         "multiplication then sum"),
        ([[max(v, 0) + bias for v in row] for row in conv_matrix(x, k, 0, s)],
         "applied the ReLU before adding the bias: the bias comes first, w·x + b, then ReLU"),
    ]
    return Question("numeric-conv", Kind.MATRIX, text, y, formula, distinct(y, slips),
                    {"input": x, "kernel": k, "bias": bias, "stride": s, "act": "relu"},
                    (("X", x), ("W", k)))


def edge_detection(rng: random.Random, level: str) -> Question:
    vertical = level == "easy" or rng.random() < 0.5
    left = rng.randint(2, 4)
    light, dark = (10, 0) if level == "easy" else rng.choice(((10, 0), (0, 10), (5, 1), (9, 3)))
    base = [[1, 0, -1]] * 3 if level != "hard" else [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    img = [[light if c < left else dark for c in range(6)] for _ in range(6)]
    k = [list(r) for r in base]
    if not vertical:
        img = [list(r) for r in zip(*img)]
        k = [list(r) for r in zip(*k)]
    y = conv_matrix(img, k, 0)
    edge = {"en": "vertical" if vertical else "horizontal", "zh": "垂直" if vertical else "水平"}
    text = {"en": f"Edge detection: convolve the 6×6 image X with the {edge['en']} edge filter "
                  f"W (stride 1, no padding, no bias, no activation). Write the output matrix.",
            "zh": f"边缘检测：6×6 图像 X 与{edge['zh']}边缘过滤器 W 做卷积（步长 1，无填充，"
                  f"无偏置，无激活函数）。写出输出矩阵。"}
    at = (0, left - 2) if vertical else (left - 2, 0)
    steps = numeric.conv_steps([img], [k], 0, *at)
    where = f"[1,{left - 1}]" if vertical else f"[{left - 1},1]"
    formula = f"output{where}: " + "; ".join(steps)
    slips = [(conv_matrix(img, flipped(k), 0), "flipped the kernel: a CNN's convolution "
                                               "slides W as it is (no flip)"),
             (conv_matrix(img, k, 0, pad=1), "padded the image; here there is no padding, "
                                             "so the output is (6 − 3)/1 + 1 = 4 wide")]
    return Question("edge-detection", Kind.MATRIX, text, y, formula, distinct(y, slips),
                    {"input": img, "kernel": k, "bias": 0, "stride": 1, "act": None},
                    (("X", img), ("W", k)))


TOPICS: dict[str, Callable[[random.Random, str], Question]] = {
    "conv-output": conv_output,
    "conv-params": conv_params,
    "pool-output": pool_output,
    "keep-padding": keep_padding,
    "strides": strides_fit,
    "1x1": one_by_one,
    "depthwise": depthwise,
    "receptive-field": receptive_field,
    "lenet5": lenet_layer,
    "network-total": network_total,
    "numeric-conv": numeric_conv,
    "edge-detection": edge_detection,
}

TITLES = {
    "conv-output": ("Conv output size", "卷积层输出尺寸"),
    "conv-params": ("Weights and biases of a conv layer", "卷积层的权重和偏置"),
    "pool-output": ("Pooling output", "池化层输出尺寸"),
    "keep-padding": ("Padding that keeps the size", "保持尺寸的填充"),
    "strides": ("Which strides fit", "合适的步长"),
    "1x1": ("1×1 convolution", "1×1 卷积"),
    "depthwise": ("Depthwise against standard", "Depthwise 卷积的参数"),
    "receptive-field": ("Receptive field of a stack", "堆叠卷积的感受野"),
    "lenet5": ("A LeNet-5 layer", "LeNet-5 的一层"),
    "network-total": ("A small network's total", "小网络的总数"),
    "numeric-conv": ("Convolution by hand: bias and ReLU", "手算卷积：偏置和 ReLU"),
    "edge-detection": ("Edge detection", "边缘检测"),
}
