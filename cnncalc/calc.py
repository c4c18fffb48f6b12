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
from .layers.slips import chw_order_text
from .network import Leaf, Spec
from .report import Report
from .formulas import (DOT, MINUS, axis_formula, effective_kernel, keep_pad_total, parse_volume,
                     same_pad_total, split_pad, window_out_len)


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
        hint = chw_order_text(x) if cls.sliding_window else ""
        raise UsageError(e.issues[0].message + (f". Perhaps: {hint}" if hint else "")) from None


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
    keeping: tuple[PadChoice, ...] = ()  # every P that gives n, once PyTorch floors
    same_total: int = 0  # 2p of `pad: same` (output ⌈N/S⌉), which differs at a stride

    @property
    def same_output(self) -> int:
        return -(-self.n // self.s)

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
    keeping: tuple[PadChoice, ...] = ()
    if total % 2:
        nearest = tuple(choice(n, f, s, d, p) for p in split_pad(total))
        keeping = tuple(PadChoice(c.value, c.output, c.exact) for c in
                        solve("pad", {"input": n, "size": f, "stride": s, "dilation": d},
                              output=n).found)
    return SamePad(n, f, s, d, total, formula, nearest, keeping, same_pad_total(n, f, s, d))


# --- the one-layer solver -------------------------------------------------------------------

# The unknowns `cnncalc solve` takes, by the notes' letter and by name.
UNKNOWNS = {"N": "input", "F": "size", "S": "stride", "P": "pad", "d": "dilation"}
MAX_RANGE = 1_000_000  # values tried for one unknown


@dataclass(frozen=True)
class Candidate:
    """One value of the unknown: the output it gives and the notes' arithmetic."""

    value: int
    output: int
    exact: bool  # (N − F + 2P)/S is whole
    formula: str


@dataclass(frozen=True)
class Solution:
    """Every whole-number value of ``unknown`` in ``[low, high]`` that gives ``output`` (or,
    with no output given, that makes ``(N − F + 2P)/S + 1`` whole)."""

    unknown: str  # "pad", "input", …
    letter: str  # "P", "N", …
    given: dict[str, int]  # the known values, by name ("input", "size", …)
    output: int | None
    low: int
    high: int
    ceil: bool
    found: tuple[Candidate, ...]
    nearest: tuple[Candidate, ...]  # the closest outputs below and above, when none is found
    note: str = ""  # what lies beyond the range, when it can be said


def parse_range(text: str | None) -> tuple[int, int] | None:
    """``LO..HI`` (both included); a range that is empty is an error."""
    if text is None:
        return None
    parts = str(text).replace("…", "..").split("..")
    try:
        low, high = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"expected LO..HI such as 0..10, got {text!r}", param="span") from None
    if low > high:
        raise UsageError(f"the range {low}..{high} is empty; write LO..HI with LO ≤ HI",
                         param="span")
    if high - low >= MAX_RANGE:
        raise UsageError(f"the range {low}..{high} holds more than {MAX_RANGE:,} values",
                         param="span")
    return low, high


def _default_range(unknown: str, v: dict[str, int], out: int | None,
                   ceil: bool = False) -> tuple[int, int, str]:
    """The values worth trying, and what can be said of the others."""
    n, f, s, p, d = (v.get(k) for k in ("input", "size", "stride", "pad", "dilation"))
    if unknown == "pad":
        fe = effective_kernel(f, d)
        if out is None:  # beyond F' − 1 a window reads only zeros
            return 0, fe - 1, f"a pad of F' = {fe} or more adds windows of zeros only"
        return 0, max(0, -(-(s * out - n + fe) // 2)), ""
    if unknown == "input":
        fe = effective_kernel(f, d)
        least = max(fe - 2 * p, 1)
        if out is None:
            r = (fe - 2 * p) % s
            return 1, least + 5 * s - 1, (f"every N ≡ {r} (mod {s}) from {least} on"
                                          if s > 1 else f"every N ≥ {least}")
        return 1, max(s * out + fe, 1), ""
    if unknown == "size":  # ceil mode: a window may run S − 1 past the padded input
        return 1, n + 2 * p + (s - 1 if ceil else 0), ""
    if unknown == "stride":
        span = n + 2 * p - effective_kernel(f, d)
        if span < 0:
            return 1, 1, ""
        return 1, span + 1, (f"every S > {span} gives 1" if out in (None, 1) and span else "")
    # dilation
    if f == 1:
        return 1, 1, "a 1×1 kernel spans 1 at any dilation"
    return 1, max((n + 2 * p - 1) // (f - 1), 1), ""


def solve(unknown: str, given: dict[str, int | None], output: int | None = None,
          span: tuple[int, int] | None = None, ceil: bool = False) -> Solution:
    """Every value of one unknown of a conv or pool layer, from the notes' output size
    ``(N − F + 2P)/S + 1`` (floored as PyTorch does; ``ceil``: pooling's ceil mode).

    ``unknown`` is a letter (N, F, S, P, d) or a name (input, size, stride, pad, dilation);
    ``given`` holds the others by name (stride 1, pad 0, dilation 1 when left out).
    """
    name = UNKNOWNS.get(unknown, unknown if unknown in UNKNOWNS.values() else None)
    if name is None:
        raise UsageError(f"cannot solve for {unknown!r}: give one of "
                         f"{', '.join(f'{k} ({v})' for k, v in UNKNOWNS.items())}",
                         param="unknown")
    letter = next(k for k, v in UNKNOWNS.items() if v == name)
    if given.get(name) is not None:
        raise UsageError(f"{name} is the unknown: leave it out", param=name)
    values = {"stride": 1, "pad": 0, "dilation": 1}
    values.update({k: v for k, v in given.items() if v is not None})
    values.pop(name, None)
    for key in ("input", "size"):
        if key != name and key not in values:
            raise UsageError("missing ", Param(key), f" ({'N' if key == 'input' else 'F'})")
    for key, value in values.items():
        if value < (0 if key == "pad" else 1):
            raise UsageError(f"must be at least {0 if key == 'pad' else 1}, got {value}",
                             param=key)
    if output is not None and output < 1:
        raise UsageError(f"must be at least 1, got {output}", param="output")
    low, high, note = _default_range(name, values, output, ceil)
    if span is not None:
        low, high = span
        note = ""
        least = 0 if name == "pad" else 1
        if low < least:
            raise UsageError(f"{name} starts at {least}, got {low}..{high}", param="span")
    found, others = [], []
    for value in range(low, high + 1):
        v = dict(values, **{name: value})
        n, f, s, p, d = (v[k] for k in ("input", "size", "stride", "pad", "dilation"))
        a = window_out_len(n, f, s, (p, p), d, ceil)
        if a.out < 1:
            continue  # the kernel does not fit (ceil mode: F − S + 1 does not): no output
        c = Candidate(value, a.out, a.exact, axis_formula(a, ceil))
        if (c.output == output) if output is not None else c.exact:
            found.append(c)
        else:
            others.append(c)
    if name == "pad" and output is None and not found and values["stride"] % 2 == 0 and \
            (values["input"] - effective_kernel(values["size"], values["dilation"])) % 2:
        fe = effective_kernel(values["size"], values["dilation"])
        note = (f"N − F' = {values['input']} − {fe} is odd and 2P is even, so N − F' + 2P is "
                f"never a multiple of S = {values['stride']}: no P makes it whole")
    nearest: tuple[Candidate, ...] = ()
    if output is not None and not found:
        below = [c for c in others if c.output < output]
        above = [c for c in others if c.output > output]
        best = [max(below, key=lambda c: c.output)] if below else []
        best += [min(above, key=lambda c: c.output)] if above else []
        nearest = tuple(c for b in best for c in others if c.output == b.output)
    return Solution(name, letter, values, output, low, high, ceil, tuple(found), nearest, note)
