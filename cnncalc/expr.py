"""Parameters: ``$width`` and exact arithmetic on them, without ``eval``.

Grammar::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '//' | '/' | '%') factor)*
    factor := NUMBER | '$' NAME | '${' NAME '}' | '$in.' ('c' | 'h' | 'w') | '(' expr ')'
            | '-' factor | FUNC '(' expr (',' expr)* ')'

NUMBER is an integer or a decimal (``1.1``, ``2e-3``), read as the exact fraction it
writes (1.1 is 11/10, not the nearest binary float), and every operation is exact: ``/``
is a fraction, ``//`` floors.  A size must come out whole: a fractional result where a
whole number is needed is refused by :func:`whole`, which says how to round it.

FUNC: ``ceil``, ``floor``, ``round`` (Python's: halves to even), ``int`` (towards zero),
``min``, ``max``, and ``make_divisible(v, divisor=8, min_value=divisor)``, torchvision's
``_make_divisible`` (``max(min_value, int(v + divisor/2) // divisor · divisor)``, plus one
divisor where that rounded down by more than 10 %: ``new_v < 0.9 v``), worked exactly.

A value that is exactly ``$name`` yields the parameter as it is (a string, a list, …).
``$in.c``, ``$in.h`` and ``$in.w`` are the depth, height and width of the volume the block
receives where it is used (the spec loader binds them when the engine reaches the block).

:func:`compile_condition` reads the same language with bare names (``params``, ``macs``),
comparisons and ``and``/``or``/``not``: ``cnncalc sweep --where``.  A compiled expression is
a function of its environment; it works on numbers, and element by element on numpy arrays
of Python numbers (dtype object), so that a sweep evaluates it over many points at once and
still exactly.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Mapping

from .closed_forms import is_symbolic

# Patterns are compiled when first used (re caches them): a spec without $ never pays.
_TOKEN = (r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
          r"|\$\{\s*([A-Za-z_]\w*)\s*\}|\$([A-Za-z_]\w*(?:\.\w+)?)"
          r"|([A-Za-z_]\w*)|(//|<=|>=|==|!=|[-+*/%(),<>]))")
_WHOLE = r"^\s*\$(?:([A-Za-z_]\w*(?:\.\w+)?)|\{\s*([A-Za-z_]\w*)\s*\})\s*$"
INPUT = {"in.c": "depth", "in.h": "height", "in.w": "width"}  # what $in.X names
MAX_MAGNITUDE = 10 ** 15
MAX_NESTING = 50  # parentheses and signs inside each other
SPEC_SCOPE = "__spec__"  # env key: the names that are the spec's own params (for messages)


def make_divisible(v, divisor=8, min_value=None):
    """torchvision's ``_make_divisible``, exact on fractions."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + Fraction(divisor, 2)) // divisor * divisor)
    if new_v < Fraction(9, 10) * v:
        new_v += divisor
    return new_v


def _round(v, ndigits=None):
    return round(v) if ndigits is None else _tidy(round(Fraction(v), int(ndigits)))


FUNCTIONS: dict[str, tuple[Callable, int, int]] = {  # name → (function, least, most args)
    "ceil": (math.ceil, 1, 1),
    "floor": (math.floor, 1, 1),
    "round": (_round, 1, 2),
    "int": (int, 1, 1),
    "min": (min, 2, 16),
    "max": (max, 2, 16),
    "make_divisible": (make_divisible, 1, 3),
}


def _tidy(v):
    if isinstance(v, Fraction) and v.denominator == 1:
        return v.numerator
    return v


def number(text: str):
    """A literal's exact value: ``1.1`` → 11/10, ``224`` → 224."""
    if re.fullmatch(r"\d+", text):
        return int(text)
    return _tidy(Fraction(text))


def exact(v):
    """A YAML or Python number as the decimal it was written as (1.1 → 11/10)."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v} is not a finite number")
        return _tidy(Fraction(repr(v)))
    return v


def show(v) -> str:
    """A value as the user would write it: 11/10 as 1.1 where it is a short decimal."""
    if isinstance(v, Fraction):
        d = v.denominator
        while d % 2 == 0:
            d //= 2
        while d % 5 == 0:
            d //= 5
        if d == 1 and v.denominator <= 10 ** 12:
            text = f"{float(v):.12f}".rstrip("0")
            if Fraction(text) == v:
                return text
        return f"{v.numerator}/{v.denominator}"
    return str(v)


def whole(v, text: str = "") -> int:
    """``v`` as an integer where a size is needed; a fraction is refused with the fix."""
    if isinstance(v, bool):
        raise ValueError(f"'{text}' is {v}, not a number" if text else f"{v} is not a number")
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return v.numerator
        where = f"'{text}' is {show(v)}" if text else f"{show(v)} is"
        raise ValueError(f"{where}, not a whole number, where a size is needed: round it "
                         f"with floor(), ceil(), round(), make_divisible() or //")
    return v


def substitute(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate a string that holds ``$`` references; raises ValueError for the user.
    A whole-number result is an ``int``, any other a ``Fraction``."""
    m = re.match(_WHOLE, text)
    if m:
        return lookup(m.group(1) or m.group(2), env)
    return compiled(text)(env)


def references(text: str) -> set[str]:
    """The ``$names`` a string mentions (``$in.…`` left out)."""
    out = set()
    for m in re.finditer(r"\$\{\s*([A-Za-z_]\w*)\s*\}|\$([A-Za-z_]\w*(?:\.\w+)?)", text):
        name = m.group(1) or m.group(2)
        if not name.startswith("in."):
            out.add(name)
    return out


def mentions_input(value: Any) -> bool:
    """Whether a raw YAML value (strings, lists, mappings) refers to ``$in.…`` anywhere."""
    if isinstance(value, str):
        return "$in." in value
    if isinstance(value, dict):
        return any(mentions_input(v) for v in value.values())
    if isinstance(value, list):
        return any(mentions_input(v) for v in value)
    return False


def lookup(name: str, env: Mapping[str, Any]) -> Any:
    if name.startswith("in.") and name not in env:
        if name not in INPUT:
            raise ValueError(f"${name} is not defined: the block's input is $in.c (depth), "
                             f"$in.h (height) and $in.w (width)")
        if "in.c" in env:  # a block on a vector: it has a depth but no height or width
            raise ValueError(f"${name}: the block's input is a vector of {env['in.c']}, "
                             f"which has no {INPUT[name]}")
        raise ValueError(f"${name} is the {INPUT[name]} of a block's input: it exists only "
                         f"inside a block")
    if name not in env or name == SPEC_SCOPE:
        names = [k for k in env if k != SPEC_SCOPE and not k.startswith("in.")]
        spec_names = env.get(SPEC_SCOPE, ())
        if not names:
            raise ValueError(f"${name} is not defined: declare it under the top-level params: "
                             f"(params: {{{name}: …}}), or under blocks.NAME.params inside "
                             f"a block")
        if spec_names and set(names) <= set(spec_names):
            raise ValueError(f"${name} is not a parameter of this spec; its parameters: "
                             f"{', '.join('$' + k for k in names)}")
        raise ValueError(f"${name} is not a parameter of this block; it has "
                         f"{', '.join('$' + k for k in names)}")
    value = env[name]
    if is_symbolic(value):
        raise ValueError(f"${name} is the symbolic size {value.text} here: a block that reads "
                         f"$in.h or $in.w needs the input in numbers ($in.c works with symbols)")
    return value


# --- compiling ------------------------------------------------------------------------------

Compiled = Callable[[Mapping[str, Any]], Any]


@lru_cache(maxsize=4096)
def compiled(text: str) -> Compiled:
    """``text`` as a function of its environment (``$`` names); cached by text."""
    return _Parser(text, bare=False).parse()


def compile_condition(text: str, names: set[str] | None = None) -> Compiled:
    """A ``--where`` condition over bare names; ``names``: those allowed (others are refused
    now, with the closest)."""
    parser = _Parser(text, bare=True, names=names)
    return parser.parse()


def _np():
    import numpy
    return numpy


def _is_array(v) -> bool:
    return type(v).__module__ == "numpy" and hasattr(v, "shape")


def _apply(fn, *args):
    if any(_is_array(a) for a in args):
        np = _np()
        return np.frompyfunc(lambda *xs: _tidy(fn(*xs)), len(args), 1)(*args)
    return _tidy(fn(*args))


class _Parser:
    def __init__(self, text: str, bare: bool, names: set[str] | None = None):
        self.text, self.bare, self.names = text, bare, names
        self.tokens = self._tokenize(text)
        self.i = 0
        self.depth = 0

    def _tokenize(self, text: str) -> list[tuple[str, Any]]:
        tokens, pos, token = [], 0, re.compile(_TOKEN)
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = token.match(text, pos)
            if not m:
                raise ValueError(f"cannot read '{text[pos:].strip()}' in '{text}': use numbers, "
                                 f"{'names' if self.bare else '$parameters'}, + − * / // %, "
                                 f"parentheses and {', '.join(FUNCTIONS)}")
            if m.group(1):
                tokens.append(("num", number(m.group(1))))
            elif m.group(2) or m.group(3):
                tokens.append(("name", m.group(2) or m.group(3)))
            elif m.group(4):
                word = m.group(4)
                if word in ("and", "or", "not", "true", "false") and self.bare:
                    tokens.append(("op", word))
                elif word in FUNCTIONS:
                    tokens.append(("func", word))
                elif self.bare:
                    tokens.append(("name", word))
                else:
                    raise ValueError(f"'{word}' in '{text}' is neither a function "
                                     f"({', '.join(FUNCTIONS)}) nor a parameter: write "
                                     f"${word} for a parameter")
            else:
                op = m.group(5)
                if op in ("<", ">", "<=", ">=", "==", "!=") and not self.bare:
                    raise ValueError(f"'{op}' in '{text}': a spec's value is a number, not a "
                                     f"comparison")
                tokens.append(("op", op))
            pos = m.end()
        return tokens

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise ValueError(f"'{self.text}' ends too early")
        self.i += 1
        return tok

    def parse(self) -> Compiled:
        if not self.tokens:
            raise ValueError("the expression is empty")
        fn = self.disjunction() if self.bare else self.expr()
        if self.peek() is not None:
            raise ValueError(f"unexpected '{self.peek()[1]}' in '{self.text}'")
        return fn

    # -- conditions (bare mode only)
    def disjunction(self) -> Compiled:
        fn = self.conjunction()
        while self.peek() == ("op", "or"):
            self.take()
            a, b = fn, self.conjunction()
            fn = lambda env, a=a, b=b: _logic(a(env), b(env), "or")
        return fn

    def conjunction(self) -> Compiled:
        fn = self.negation()
        while self.peek() == ("op", "and"):
            self.take()
            a, b = fn, self.negation()
            fn = lambda env, a=a, b=b: _logic(a(env), b(env), "and")
        return fn

    def negation(self) -> Compiled:
        if self.peek() == ("op", "not"):
            self.take()
            inner = self.negation()
            return lambda env: _not(inner(env))
        return self.comparison()

    def comparison(self) -> Compiled:
        fn = self.expr()
        ops = ("<", ">", "<=", ">=", "==", "!=")
        chain = []
        while self.peek() is not None and self.peek()[0] == "op" and self.peek()[1] in ops:
            chain.append((self.take()[1], self.expr()))
        if not chain:
            return fn
        left = fn

        def compare(env, left=left, chain=tuple(chain)):
            a = left(env)
            result = None
            for op, right in chain:
                b = right(env)
                r = _COMPARE[op](a, b)
                result = r if result is None else _logic(result, r, "and")
                a = b
            return result
        return compare

    # -- arithmetic
    def expr(self) -> Compiled:
        fn = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            a, b = fn, self.term()
            if op == "+":
                fn = lambda env, a=a, b=b: self.bound(a(env) + b(env))
            else:
                fn = lambda env, a=a, b=b: self.bound(a(env) - b(env))
        return fn

    def term(self) -> Compiled:
        fn = self.factor()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "//"), ("op", "%")):
            op = self.take()[1]
            a, b = fn, self.factor()
            fn = (lambda env, a=a, b=b, op=op: self.bound(self.divide(a(env), b(env), op))) \
                if op != "*" else (lambda env, a=a, b=b: self.bound(a(env) * b(env)))
        return fn

    def divide(self, x, y, op: str):
        if _is_array(y):
            if (y == 0).any():
                raise ValueError(f"division by zero in '{self.text}'")
        elif y == 0:
            raise ValueError(f"division by zero in '{self.text}'")
        if op == "/":
            if _is_array(x) or _is_array(y):
                return _apply(lambda p, q: Fraction(p) / q, x, y)
            return _tidy(Fraction(x) / y)
        if op == "//":
            return _tidy(x // y)
        return _tidy(x % y)

    def factor(self) -> Compiled:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ValueError(f"'{self.text[:30]}…' nests more than {MAX_NESTING} levels deep")
        try:
            return self._factor()
        finally:
            self.depth -= 1

    def _factor(self) -> Compiled:
        kind, value = self.take()
        if kind == "num":
            return lambda env, v=value: v
        if kind == "name":
            return self.name(value)
        if kind == "func":
            return self.call(value)
        if value == "(":
            inner = self.disjunction() if self.bare else self.expr()
            if self.take() != ("op", ")"):
                raise ValueError(f"missing ')' in '{self.text}'")
            return inner
        if value == "-":
            inner = self.factor()
            return lambda env: -inner(env)
        if value in ("true", "false"):
            return lambda env, v=(value == "true"): v
        raise ValueError(f"unexpected '{value}' in '{self.text}'")

    def name(self, name: str) -> Compiled:
        if self.bare:
            if self.names is not None and name not in self.names:
                from .layers import closest
                near = closest(name, self.names)
                raise ValueError(f"'{name}' in '{self.text}' is not a figure of a point"
                                 + (f": did you mean '{near}'?" if near else
                                    f"; the figures: {', '.join(sorted(self.names))}"))
            return lambda env: env[name]
        text = self.text

        def get(env):
            v = lookup(name, env)
            v = exact(v)
            if isinstance(v, bool) or not isinstance(v, (int, Fraction)):
                raise ValueError(f"${name} is {v!r}, not a number, in '{text}'")
            return v
        return get

    def call(self, fname: str) -> Compiled:
        fn, least, most = FUNCTIONS[fname]
        if self.take() != ("op", "("):
            raise ValueError(f"{fname} takes its arguments in parentheses: {fname}(…) in "
                             f"'{self.text}'")
        args = [self.expr()]
        while self.peek() == ("op", ","):
            self.take()
            args.append(self.expr())
        if self.take() != ("op", ")"):
            raise ValueError(f"missing ')' after {fname}'s arguments in '{self.text}'")
        if not least <= len(args) <= most:
            want = str(least) if least == most else f"{least} to {most}"
            raise ValueError(f"{fname} takes {want} argument{'s' if most > 1 else ''}, got "
                             f"{len(args)} in '{self.text}'")
        text = self.text

        def run(env, args=tuple(args)):
            values = [a(env) for a in args]
            if fname == "make_divisible" and not any(_is_array(v) for v in values):
                for v in values[1:]:
                    if not isinstance(v, int) or v < 1:
                        raise ValueError(f"make_divisible's divisor and least value are whole "
                                         f"numbers ≥ 1, got {show(v)} in '{text}'")
            return self.bound(_apply(fn, *values))
        return run

    def bound(self, value):
        if _is_array(value):
            return value
        if not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"'{self.text}' grows past {MAX_MAGNITUDE:.0e}")
        return value


def _logic(a, b, op: str):
    if _is_array(a) or _is_array(b):
        np = _np()
        return (np.logical_and if op == "and" else np.logical_or)(a, b)
    return (bool(a) and bool(b)) if op == "and" else (bool(a) or bool(b))


def _not(a):
    if _is_array(a):
        return _np().logical_not(a)
    return not a


_COMPARE = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
