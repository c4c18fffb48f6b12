"""One-off calculators: a single conv, pool, deconv or fc on a given input, and padding.

No file needed: each builds a one-layer spec from the layer registry's own hyperparameter
parsers and runs the engine on it, so the numbers and the formula text are the ones
``inspect`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .engine import analyze
from .errors import AnalysisError, Location, Param, UsageError
from .layers import REGISTRY
from .layers.base import PAD_WORDS
from .network import Leaf, Spec
from .report import Report
from .shapes import (DOT, MINUS, effective_kernel, parse_volume, keep_pad_total, split_pad,
                     window_out_len)

WHERE = "<command line>"


def input_volume(text: str) -> Any:
    try:
        return parse_volume(text)
    except ValueError as e:
        raise UsageError(str(e), param="volume") from None


def one_layer(kind: str, volume: str, settings: dict[str, Any]) -> Report:
    """Analyze one layer of ``kind`` with ``settings`` (None = default) on ``volume``; a kind
    that reads a vector (fc) given a volume gets the ``flatten`` it needs before it.

    Raises :class:`UsageError` naming the parameter at fault (``stride``, ``volume``)."""
    x = input_volume(volume)
    cls = REGISTRY[kind]
    if cls.needs_volume and not x.spatial:
        raise UsageError(f"{kind} needs a W×H×D volume such as 32x32x3, got {volume!r}",
                         param="volume")
    hp = {}
    for f in cls.fields:
        raw = settings.get(f.name)
        if raw is None:
            if f.required:
                raise UsageError("missing ", Param(f.name), f" ({f.doc})")
            raw = f.default
        try:
            hp[f.name] = f.parse(raw)
        except ValueError as e:
            raise UsageError(str(e), param=f.name) from None
    for name, message in cls.validate(hp):
        raise UsageError(message, param=name)
    leaves = (Leaf(cls(hp), kind, Location(WHERE)),)
    if cls.needs_vector and x.spatial:
        leaves = (Leaf(REGISTRY["flatten"]({}), "flatten", Location(WHERE)),) + leaves
    try:
        return analyze(Spec(f"{kind} on {volume}", x, leaves, (), WHERE))
    except AnalysisError as e:  # one layer: the trail would only repeat its kind
        raise UsageError(e.issues[0].message) from None


def pad_value(text: str | None) -> Any:
    """``pad``: an integer, ``h,w``, or a word of the spec's ``pad:`` (same, valid, keep)."""
    if text is None:
        return None
    t = text.strip().lower()
    if t in PAD_WORDS:
        return t
    try:
        return int_pair(t, "pad")
    except UsageError:
        words = ", ".join(f"'{w}'" for w in PAD_WORDS)
        raise UsageError(f"expected an integer, 'h,w', {words}, got {text!r}",
                         param="pad") from None


def int_pair(text: str | None, param: str) -> Any:
    """An integer or ``h,w`` (``x`` also separates); UsageError naming ``param`` otherwise."""
    if text is None:
        return None
    parts = [p.strip() for p in str(text).replace("x", ",").split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise UsageError(f"expected an integer or 'h,w', got {text!r}", param=param) from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values
    raise UsageError(f"expected an integer or 'h,w', got {text!r}", param=param)


# --- 'same' padding -----------------------------------------------------------------------

@dataclass(frozen=True)
class PadChoice:
    pad: int
    output: int
    exact: bool  # (N − F + 2P)/S is whole


@dataclass(frozen=True)
class SamePad:
    """The notes' ``p = (N(s − 1) + F − s)/2``: the padding that keeps ``n``."""

    n: int
    f: int
    s: int
    d: int
    total: int  # 2p
    formula: str
    nearest: tuple[PadChoice, ...]

    @property
    def pad(self) -> int | None:
        return self.total // 2 if self.total % 2 == 0 else None

    @property
    def value(self) -> Fraction:
        return Fraction(self.total, 2)


def choice(n: int, f: int, s: int, d: int, p: int) -> PadChoice:
    a = window_out_len(n, f, s, (p, p), d)
    return PadChoice(p, a.out, a.exact)


def same_pad(n: int, f: int, s: int = 1, d: int = 1) -> SamePad:
    for value, param in ((n, "n"), (f, "size"), (s, "stride"), (d, "dilation")):
        if value < 1:
            raise UsageError(f"must be at least 1, got {value}", param=param)
    total = keep_pad_total(n, f, s, d)
    fe = effective_kernel(f, d)
    fname = "F" if d == 1 else "F'"
    if s == 1:
        formula = (f"p = ({fname} {MINUS} 1)/2 = ({fe} {MINUS} 1)/2")
    else:
        formula = (f"p = (N(s {MINUS} 1) + {fname} {MINUS} s)/2 = "
                   f"({n}{DOT}({s} {MINUS} 1) + {fe} {MINUS} {s})/2")
    value = Fraction(total, 2)
    formula += f" = {total}/2 = " + (str(value.numerator) if value.denominator == 1
                                     else f"{float(value):g}")
    if d != 1:
        formula = f"F' = d{DOT}(F {MINUS} 1) + 1 = {d}{DOT}({f} {MINUS} 1) + 1 = {fe}; " + formula
    nearest: tuple[PadChoice, ...] = ()
    if total % 2:
        nearest = tuple(choice(n, f, s, d, p) for p in split_pad(total))
    return SamePad(n, f, s, d, total, formula, nearest)
