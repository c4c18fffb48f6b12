"""Input sizes as symbols: a spatial size as a function of the input's H (or W), and the
counts built from such sizes.

A :class:`Size` is a *quasi-linear* function of one integer variable x (the input height H
or width W): there is a period P and a step K with ``f(x + P) = f(x) + K`` for every integer
x.  It is stored exactly as its first period of values, ``f(x) = values[x mod P] + K·⌊x/P⌋``,
which makes every operation the layers use exact and closed:

* ``f + g``, ``f − g``, ``c·f``: on the common period;
* ``⌊f/s⌋`` for a whole s > 0: if ``K·m/s`` is whole then ``⌊(f(x) + K·m)/s⌋ = ⌊f(x)/s⌋ +
  K·m/s``, so the quotient is quasi-linear with period ``P·m`` (m the least such);
* ``f mod s``, ``max(f, 0)`` of a periodic f (K = 0), and the indicator of a periodic
  condition, value by value.

This is the algebra behind the identity ``⌊(⌊(x + a)/s⌋ + k)/t⌋ = ⌊(x + a + k·s)/(s·t)⌋``
(s, t > 0): a chain of convs and pools is again one floor, ``⌊(x + A)/S⌋ + B``, and a
deconv or upsample multiplies it, ``a·⌊(x + A)/S⌋ + B``.  :attr:`Size.text` recognises that
form (``⌊(H − 1)/4⌋ + 1`` after ResNet's stem); the few sizes that have no such form are
written by their period of values.  A size that does not depend on x is a plain number:
every operation returns an ``int`` (or a ``Fraction``) when it can, so numeric specs never
see a symbol.

A :class:`Poly` is a sum of products of sizes (``64·(H − 2)·(W − 2) + 10``): MACs,
activations, connections, and the params of an fc after a flattened map.

A comparison that needs a number (a kernel larger than the padded input) cannot be decided
for a symbol: the layers ask :func:`exceeds`, which records the condition as a
:class:`Requirement` in the collector the engine opens (:func:`collecting`) and lets the walk
go on; ``cnncalc sizes`` turns the requirements into the sets of sizes that work.

No sympy: its import alone costs more than a whole ``inspect``.
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager
from fractions import Fraction
from typing import Iterable

from .records import record
from .errors import CnncalcError

MAX_PERIOD = 1 << 16  # a size repeating over more inputs than this is refused
MINUS = "−"
DOT = "·"
Number = int | Fraction


class SymbolicError(CnncalcError, ValueError):
    """A symbolic size cannot take this operation; the message says what to do.  A
    CnncalcError, so that a command that meets one prints a line (exit 2), not a traceback."""

    def lines(self) -> list[str]:
        return [f"cnncalc: error: {self}"]


def _tidy(v: Number) -> Number:
    if type(v) is Fraction and v.denominator == 1:  # type(): isinstance goes through abc
        return v.numerator
    return v


def _lcm(a: int, b: int) -> int:
    period = a * b // math.gcd(a, b)
    if period > MAX_PERIOD:
        raise SymbolicError(f"the sizes repeat only every {period:,} inputs (the product of the "
                            f"strides); cnncalc handles at most {MAX_PERIOD:,}: give numbers")
    return period


def _is_number(v) -> bool:
    return isinstance(v, (int, Fraction)) and not isinstance(v, bool)


def is_symbolic(v) -> bool:
    return isinstance(v, (Size, Poly))


def _fmt(c: Number, sep: str = "") -> str:
    """A coefficient: ``1,024`` with ``sep=','``, a fraction as ``3/2``."""
    if isinstance(c, Fraction):
        text = f"{c.numerator:{sep}}/{c.denominator:{sep}}"
    else:
        text = f"{c:{sep}}"
    return text.replace("-", MINUS)


_MADE: dict = {}  # Size.make's answers: a sweep traces the same sizes in many networks


class Size:
    """A quasi-linear function of one variable; see the module's docstring.

    Build one with :meth:`variable`; every operation returns a canonical ``Size`` (its
    least period) or a plain number.  Two sizes are equal when they are the same function.
    """

    __slots__ = ("var", "period", "step", "values", "_hash")

    def __init__(self, var: str, period: int, step: Number, values: tuple[Number, ...]):
        self.var, self.period, self.step, self.values = var, period, step, values
        self._hash = hash((var, period, step, values))

    @classmethod
    def variable(cls, var: str) -> "Size":
        return cls(var, 1, 1, (0,))

    @classmethod
    def make(cls, var: str, period: int, step: Number, values) -> "Size | Number":
        """A canonical size (least period), or the number when it is constant."""
        values = tuple(v if type(v) is int else _tidy(v) for v in values)
        step = _tidy(step)
        key = (var, period, step, values)
        made = _MADE.get(key)
        if made is not None:
            return made
        if len(_MADE) > 65536:
            _MADE.clear()
        _MADE[key] = made = cls._canonical(var, period, step, values)
        return made

    @classmethod
    def _canonical(cls, var: str, period: int, step: Number, values) -> "Size | Number":
        for d in _divisors(period):
            if d == period:
                break
            k = Fraction(step * d, period)
            if all(values[r + d] - values[r] == k for r in range(period - d)) and all(
                    values[r + d - period] + step - values[r] == k
                    for r in range(period - d, period)):
                period, step, values = d, _tidy(k), values[:d]
                break
        if step == 0 and period == 1:
            return values[0]
        return cls(var, period, step, values)

    # -- evaluation
    def at(self, x: int) -> Number:
        q, r = divmod(x, self.period)
        return self.values[r] + self.step * q

    def __call__(self, x: int) -> Number:
        return self.at(x)

    @property
    def periodic(self) -> bool:
        """It repeats (no growth): ``f(x + P) = f(x)``."""
        return self.step == 0

    @property
    def slope(self) -> Fraction:
        return Fraction(self.step) / self.period

    # -- arithmetic
    def _extended(self, period: int) -> list[Number]:
        return [self.at(r) for r in range(period)]

    def _pair(self, other: "Size"):
        if other.var != self.var:
            raise SymbolicError(f"{self.text} and {other.text} are sizes of different inputs "
                                f"({self.var} and {other.var}); they cannot be combined")
        period = _lcm(self.period, other.period)
        return period, self._extended(period), other._extended(period)

    def _combine(self, other, op) -> "Size | Number":
        if _is_number(other):
            return Size.make(self.var, self.period, op(self.step, 0),
                             [op(v, other) for v in self.values])
        if isinstance(other, Size):
            period, a, b = self._pair(other)
            step_a = self.step * (period // self.period)
            step_b = other.step * (period // other.period)
            return Size.make(self.var, period, op(step_a, step_b),
                             [op(x, y) for x, y in zip(a, b)])
        return NotImplemented

    def __add__(self, other):
        if isinstance(other, Poly):
            return NotImplemented
        return self._combine(other, lambda x, y: x + y)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Poly):
            return NotImplemented
        return self._combine(other, lambda x, y: x - y)

    def __rsub__(self, other):
        return (-self) + other

    def __neg__(self):
        return Size.make(self.var, self.period, -self.step, [-v for v in self.values])

    def __pos__(self):
        return self

    def __mul__(self, other):
        if _is_number(other):
            if other == 0:
                return 0
            return Size.make(self.var, self.period, self.step * other,
                             [v * other for v in self.values])
        if isinstance(other, Size):
            if other.var == self.var and self.periodic and other.periodic:
                return self._combine(other, lambda x, y: x * y)
            return Poly.of(self) * other
        return NotImplemented

    __rmul__ = __mul__

    def __floordiv__(self, s):
        if isinstance(s, bool) or not isinstance(s, int) or s < 1:
            raise SymbolicError(f"{self.text} can only be divided by a whole number ≥ 1, "
                                f"not {s}")
        m = Fraction(self.step, s).denominator
        period = _lcm(self.period, self.period * m)
        step = Fraction(self.step * m, s)
        return Size.make(self.var, period, step, [v // s for v in self._extended(period)])

    def __mod__(self, s):
        return self - (self // s) * s

    def __truediv__(self, s):
        """Exact division (a receptive field's half-pixel), never a floor."""
        if not _is_number(s) or s == 0:
            raise SymbolicError(f"{self.text} cannot be divided by {s}")
        return self * (Fraction(1) / s)

    def map_values(self, fn, what: str) -> "Size | Number":
        """``fn`` applied value by value: exact only for a periodic size."""
        if not self.periodic:
            raise SymbolicError(f"{what} of {self.text}, which grows with {self.var}, is not "
                                f"a closed form")
        return Size.make(self.var, self.period, 0, [fn(v) for v in self.values])

    # -- what needs a number
    def _refuse(self, *_):
        raise SymbolicError(f"the size {self.text} depends on {self.var}: it cannot be "
                            f"compared with a number here")

    __lt__ = __le__ = __gt__ = __ge__ = _refuse

    def __bool__(self):
        self._refuse()

    def __index__(self):
        raise SymbolicError(f"the size {self.text} depends on {self.var}: a number is needed "
                            f"here")

    __int__ = __index__

    def __eq__(self, other):
        if isinstance(other, Size):
            return (self.var, self.period, self.step, self.values) == \
                (other.var, other.period, other.step, other.values)
        return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return self._hash

    # -- text
    def form(self) -> tuple[Number, int, int, Number] | None:
        """``(a, A, S, B)`` with ``f(x) = a·⌊(x + A)/S⌋ + B`` and −S < A ≤ 0, when f has it."""
        p, k, v = self.period, self.step, self.values
        if p == 1:
            return (k, 0, 1, v[0])
        # a·⌊(r + A)/p⌋ + B over one period: B − a up to r0 = −A, then B
        r0 = next((r for r in range(1, p) if v[r] != v[0]), None)
        if r0 is None:
            return (k, 0, p, v[0])
        if v[r0] - v[0] != k or any(x != v[r0] for x in v[r0:]):
            return None
        return (k, -r0, p, v[r0])

    def _text(self, sep: str = "") -> str:
        x = self.var
        found = self.form()
        if found is None:
            values = ", ".join(_fmt(v, sep) for v in self.values)
            head = f"{_fmt(self.step, sep)}{DOT}⌊{x}/{self.period}⌋ + " if self.step else ""
            return f"{head}[{values}][{x} mod {self.period}]"
        a, A, S, B = found
        inner = x if A == 0 else f"{x} {MINUS} {-A}"
        body = inner if S == 1 else f"⌊({inner})/{S}⌋" if A else f"⌊{x}/{S}⌋"
        head = body if a == 1 else f"{MINUS}{body}" if a == -1 else f"{_fmt(a, sep)}{DOT}{body}"
        if B == 0:
            return head
        sign = " + " if B > 0 else f" {MINUS} "
        return f"{head}{sign}{_fmt(abs(B), sep)}"

    @property
    def text(self) -> str:
        """The closed form without outer parentheses: ``⌊(H − 1)/4⌋ + 1``."""
        return self._text()

    def __str__(self) -> str:
        """In parentheses when it is a sum, so that ``{h}·{w}`` and ``{w}×{h}`` read right."""
        return f"({self.text})" if _outer_sum(self.text) else self.text

    def __format__(self, spec: str) -> str:
        text = self._text("," if "," in spec else "")
        return f"({text})" if _outer_sum(text) else text

    def __repr__(self) -> str:
        return self.text

    def json(self) -> dict:
        out = {"expr": self.text, "var": self.var, "period": self.period,
               "step": _json_number(self.step),
               "values": [_json_number(v) for v in self.values]}
        found = self.form()
        if found is not None:
            out["form"] = dict(zip(("a", "A", "S", "B"), map(_json_number, found)))
        return out


def _outer_sum(text: str) -> bool:
    """Whether ``text`` has a + or − outside every bracket (so it needs parentheses)."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "(⌊[":
            depth += 1
        elif ch in ")⌋]":
            depth -= 1
        elif depth == 0 and ch in "+" + MINUS and i > 0:
            return True
    return False


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _json_number(v):
    if isinstance(v, Fraction):
        return v.numerator if v.denominator == 1 else float(v)
    return v


# --- sums of products ----------------------------------------------------------------------

Factors = tuple[Size, ...]


def _key(s: Size):
    return (s.var, s.period, s.step, s.values)


def _primitive(s: Size) -> tuple[Number, Size]:
    """``s = c·s'`` with s' primitive (its values and step share no factor), for grouping
    ``64·f·g`` and ``128·f·g`` into one term."""
    numbers = [*s.values, s.step]
    if all(isinstance(v, int) for v in numbers):
        c = math.gcd(*numbers)
        if c > 1:
            return c, Size(s.var, s.period, s.step // c, tuple(v // c for v in s.values))
    return 1, s


class Poly:
    """A sum of products of sizes with number coefficients (``terms``: factors → coefficient;
    ``()`` is the constant).  Canonical: equal sums of the same products are equal."""

    __slots__ = ("terms", "_hash")

    def __init__(self, terms: dict[Factors, Number]):
        self.terms = terms
        self._hash = None  # worked out when first asked: most sums are never hashed

    @classmethod
    def of(cls, v) -> "Poly":
        if isinstance(v, Poly):
            return v
        if isinstance(v, Size):
            c, s = _primitive(v)
            return cls({(s,): c})
        return cls({(): v} if v else {})

    @staticmethod
    def _collapse(terms: dict[Factors, Number]):
        terms = {f: c if type(c) is int else _tidy(c) for f, c in terms.items() if c != 0}
        if not terms:
            return 0
        if all(f == () for f in terms):
            return terms[()]
        sizes = [f for f in terms if f != ()]
        if len(sizes) == 1 and len(sizes[0]) == 1:
            return sizes[0][0] * terms[sizes[0]] + terms.get((), 0)
        return Poly(terms)

    def __add__(self, other):
        if not (is_symbolic(other) or _is_number(other)):
            return NotImplemented
        terms = dict(self.terms)
        for f, c in Poly.of(other).terms.items():
            terms[f] = terms.get(f, 0) + c
        return Poly._collapse(terms)

    __radd__ = __add__

    def __neg__(self):
        return Poly._collapse({f: -c for f, c in self.terms.items()})

    def _settled(self) -> bool:
        """Whether adding terms keeps it a Poly (none cancelling): it has two sized terms or
        a product, which ``_collapse`` never turns into a size or a number."""
        sized = [f for f in self.terms if f != ()]
        return len(sized) > 1 or any(len(f) > 1 for f in sized)

    def __sub__(self, other):
        if not (is_symbolic(other) or _is_number(other)):
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if _is_number(other):
            return Poly._collapse({f: c * other for f, c in self.terms.items()})
        if not is_symbolic(other):
            return NotImplemented
        terms: dict[Factors, Number] = {}
        for fa, ca in self.terms.items():
            for fb, cb in Poly.of(other).terms.items():
                f = tuple(sorted(fa + fb, key=_key))
                terms[f] = terms.get(f, 0) + ca * cb
        return Poly._collapse(terms)

    __rmul__ = __mul__

    def _refuse(self, *_):
        raise SymbolicError(f"{self.text} depends on the input size: it cannot be compared "
                            f"with a number here")

    __lt__ = __le__ = __gt__ = __ge__ = __bool__ = __floordiv__ = __mod__ = _refuse

    def __index__(self):
        self._refuse()

    def __eq__(self, other):
        return isinstance(other, Poly) and self.terms == other.terms

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        if self._hash is None:
            self._hash = hash(frozenset((tuple(map(_key, f)), c) for f, c in self.terms.items()))
        return self._hash

    @property
    def vars(self) -> tuple[str, ...]:
        return tuple(sorted({s.var for f in self.terms for s in f}))

    def at(self, env: dict[str, int]) -> Number:
        total: Number = 0
        for f, c in self.terms.items():
            term = c
            for s in f:
                term *= s.at(env[s.var])
            total += term
        return _tidy(total)

    def _text(self, sep: str = "") -> str:
        def order(item):
            f, _ = item
            return (-len(f), [_key(s) for s in f])

        parts = []
        for f, c in sorted(self.terms.items(), key=order):
            counted: list[tuple[Size, int]] = []
            for s in f:
                if counted and counted[-1][0] == s:
                    counted[-1] = (s, counted[-1][1] + 1)
                else:
                    counted.append((s, 1))
            factors = [format(s, sep) + ("" if k == 1 else _superscript(k)) for s, k in counted]
            sign = MINUS if c < 0 else "+"
            mag = abs(c)
            body = DOT.join(factors) if factors else ""
            text = (f"{_fmt(mag, sep)}{DOT}{body}" if body and mag != 1 else
                    body or _fmt(mag, sep))
            parts.append((sign, text))
        first_sign, first = parts[0]
        out = (MINUS if first_sign == MINUS else "") + first
        for sign, text in parts[1:]:
            out += f" {sign} {text}"
        return out

    @property
    def text(self) -> str:
        return self._text()

    def __str__(self) -> str:
        return f"({self.text})" if len(self.terms) > 1 else self.text

    def __format__(self, spec: str) -> str:
        text = self._text("," if "," in spec else "")
        return f"({text})" if len(self.terms) > 1 else text

    def __repr__(self) -> str:
        return self.text

    def json(self) -> dict:
        return {"expr": self.text,
                "terms": [{"coefficient": _json_number(c), "factors": [s.json() for s in f]}
                          for f, c in self.terms.items()]}


def add_all(values):
    """``0 + v1 + v2 + …`` left to right, the same closed form ``+`` gives (its terms in the
    same order), without copying the sum's terms at each step: a group's row adds hundreds of
    layers.  Once the sum is a :class:`Poly` that stays one (two sized terms, or a product),
    the addends' terms go into one dict until one cancels (``+``'s own path then)."""
    acc = 0
    items = iter(values)
    for v in items:
        acc = acc + v
        if type(acc) is Poly and acc._settled():
            acc = _add_terms(acc, items)  # takes addends from items until a term cancels
    return acc


def _add_terms(acc: "Poly", items):
    terms = dict(acc.terms)
    for v in items:
        if type(v) is int or type(v) is Fraction:
            addend = {(): v} if v else {}
        elif isinstance(v, (Size, Poly)):
            addend = Poly.of(v).terms
        else:
            return Poly._collapse(terms) + v  # whatever + says of it
        cancelled = False
        for f, c in addend.items():
            c = terms[f] = terms.get(f, 0) + c
            cancelled = cancelled or c == 0
        if cancelled:  # + drops the term here (a later one comes back at the end)
            return Poly._collapse(terms)
    return Poly._collapse(terms)


_SUPER = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _superscript(k: int) -> str:
    return str(k).translate(_SUPER)


def value_at(v, env: dict[str, int]) -> Number:
    """``v`` with the symbols given numbers (a number stays as it is)."""
    if isinstance(v, Size):
        return v.at(env[v.var])
    if isinstance(v, Poly):
        return v.at(env)
    return v


def text_of(v) -> str:
    """A number or a closed form, without outer parentheses."""
    return v.text if is_symbolic(v) else str(v)


def jsonable(obj):
    """``obj`` (lists, dicts, numbers) with every symbolic value as its JSON object."""
    if is_symbolic(obj):
        return obj.json()
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


# --- helpers for the size arithmetic (cnncalc.formulas) ---------------------------------------

def at_least(v, low: Number):
    """``max(v, low)``; for a size, value by value (it must be periodic)."""
    if isinstance(v, Size):
        return v.map_values(lambda t: max(t, low), "the larger of 0 and")
    return max(v, low)


def flag(v, condition) -> Number | Size:
    """1 where ``condition(value)`` holds, else 0; for a size, value by value (periodic)."""
    if isinstance(v, Size):
        return v.map_values(lambda t: 1 if condition(t) else 0, "a condition on")
    return 1 if condition(v) else 0


def largest(values: Iterable):
    """The largest of sizes that grow alike (their differences repeat), value by value."""
    values = list(values)
    if not any(isinstance(v, Size) for v in values):
        return max(values)
    best = values[0]
    for v in values[1:]:
        diff = v - best
        if _is_number(diff):
            best = v if diff > 0 else best
            continue
        if not isinstance(best, Size):
            best, v = v, best
        take = flag(diff, lambda t: t > 0)
        best = best + take * diff
    return best


def ratio(n, d: int):
    """``n/d`` exactly (a Fraction, or a size times 1/d)."""
    if isinstance(n, Size):
        return n * Fraction(1, d)
    return Fraction(n, d)


# --- conditions on the input ---------------------------------------------------------------

@record(slots=False)
class Requirement:
    """A condition on one input size under which a layer works: ``fits`` holds where
    ``expr ≥ 0`` (a kernel within the padded input, an output of at least one pixel),
    ``agree`` where ``expr = 0`` (merged paths of the same size)."""

    kind: str
    expr: Size
    layer: str = ""

    @property
    def var(self) -> str:
        return self.expr.var

    def holds(self, x: int) -> bool:
        v = self.expr.at(x)
        return v >= 0 if self.kind == "fits" else v == 0

    def threshold(self) -> int:
        """An input from which on, in each residue class mod the period, the condition no
        longer changes: it is periodic above it."""
        p, k = self.expr.period, self.expr.step
        if k == 0:
            return 1
        last = 1
        for r in range(p):
            v = self.expr.values[r]
            if self.kind == "fits":
                # v + j·k ≥ 0 changes once, at j = ⌈−v/k⌉
                j = math.ceil(Fraction(-v) / k)
            else:
                j = Fraction(-v) / k
                if j.denominator != 1:
                    continue
                j = int(j) + 1
            last = max(last, r + j * p)
        return last


_COLLECTORS: list[list[Requirement]] = []  # innermost last; the engine opens one per layer


@contextmanager
def collecting():
    """Open a collector for the requirements the layers state; yields the list."""
    found: list[Requirement] = []
    _COLLECTORS.append(found)
    try:
        yield found
    finally:
        _COLLECTORS.pop()


def collected(requirements) -> None:
    """State again requirements stated before (a layer met again at the same input)."""
    if requirements:
        _COLLECTORS[-1].extend(requirements)


def exceeds(a, b) -> bool:
    """``a > b``, which makes a layer fail.  Between numbers it is decided; when it depends
    on a symbol it is recorded as the requirement ``b − a ≥ 0`` and taken as false, so the
    walk goes on (``cnncalc sizes`` finds where it holds)."""
    diff = b - a
    if not is_symbolic(diff):
        return diff < 0
    if not isinstance(diff, Size):
        raise SymbolicError(f"the condition {text_of(a)} ≤ {text_of(b)} mixes H and W")
    if not _COLLECTORS:
        raise SymbolicError(f"{text_of(a)} > {text_of(b)} depends on {diff.var}: a number is "
                            f"needed here")
    _COLLECTORS[-1].append(Requirement("fits", diff))
    return False


def require_equal(a, b) -> bool:
    """Whether ``a = b`` can hold: numbers are compared; sizes that are not the same function
    record the requirement ``a − b = 0`` (true only for some inputs) and return True."""
    if a == b:
        return True
    diff = a - b
    if not is_symbolic(diff):
        return False
    if not isinstance(diff, Size):
        raise SymbolicError(f"merging {text_of(a)} with {text_of(b)}: sizes that mix H and W "
                            f"cannot be compared")
    if not _COLLECTORS:
        raise SymbolicError(f"{text_of(a)} = {text_of(b)} depends on {diff.var}")
    _COLLECTORS[-1].append(Requirement("agree", diff))
    return True


# --- symbolic input volumes ----------------------------------------------------------------

# Compiled when first used (re caches them): a numeric input never pays.
_LETTER = r"^[A-Za-z]$"
_PARTS = r"\s*[x×X*]\s*"


def parse_dims(text: str, by_name: bool = True) -> tuple[object, object, int] | None:
    """``(w, h, d)`` of a volume with a letter for a spatial size (``HxWx3``, ``WxHx3``,
    ``NxNx1``), or None when it holds no letter (a numeric volume).

    A letter is that axis's symbol; the depth must be a number.  With ``by_name``, the
    letters H and W name the height and the width wherever they stand (``HxWx3`` is an
    input of height H and width W); other letters follow the notes' W×H×D order.  Raises
    ValueError with a message fit for a user.
    """
    text = str(text).strip()
    if not any(ch.isalpha() and ch not in "xX" for ch in text):
        return None
    parts = re.split(_PARTS, text)
    if len(parts) == 1 or len(parts) > 3:
        raise ValueError(f"'{text}' is not a volume; a symbolic input is W×H×D with a letter "
                         f"for a spatial size, e.g. HxWx3")
    if len(parts) == 2:
        parts.append("1")
    w, h, d = parts
    if w.isdigit() and h.isdigit():
        return None  # letters in the depth only: not a symbolic input
    for part in (w, h):
        if not (re.match(_LETTER, part) or part.isdigit()):
            raise ValueError(f"'{part}' is not a size: write a number or one letter per spatial "
                             f"size (HxWx3); a symbol takes no arithmetic")
    if not d.isdigit():
        raise ValueError(f"the depth '{d}' must be a number: only the height and the width may "
                         f"be letters, e.g. HxWx3")
    if by_name and {w.upper(), h.upper()} == {"H", "W"}:
        w, h = "W", "H"

    def dim(part: str):
        return Size.variable(part.upper()) if part.isalpha() else int(part)

    return dim(w), dim(h), int(d)


def variables(*values) -> list[str]:
    """The symbols the values depend on, in order of first appearance."""
    out: list[str] = []
    for v in values:
        names = (v.var,) if isinstance(v, Size) else v.vars if isinstance(v, Poly) else ()
        out += [n for n in names if n not in out]
    return out
