"""Block parameters: ``$width`` and simple integer arithmetic on them, without ``eval``.

Grammar (integers only)::

    expr   := term (('+' | '-') term)*
    term   := factor (('*' | '//' | '/' | '%') factor)*
    factor := INT | '$' NAME | '$in.' ('c' | 'h' | 'w') | '(' expr ')' | '-' factor

``/`` must divide exactly (a layer size is a whole number); ``//`` floors.
A value that is exactly ``$name`` yields the parameter as it is (a string, a list, …).
``$in.c``, ``$in.h`` and ``$in.w`` are the depth, height and width of the volume the block
receives where it is used (the spec loader binds them when the engine reaches the block).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .symbolic import is_symbolic

_TOKEN = re.compile(r"\s*(?:(\d+)|\$([A-Za-z_]\w*(?:\.\w+)?)|(//|[-+*/%()]))")
_WHOLE = re.compile(r"^\s*\$([A-Za-z_]\w*(?:\.\w+)?)\s*$")
INPUT = {"in.c": "depth", "in.h": "height", "in.w": "width"}  # what $in.X names
MAX_MAGNITUDE = 10 ** 15
MAX_NESTING = 50  # parentheses and signs inside each other


def substitute(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate a string that holds ``$`` references; raises ValueError for the user."""
    m = _WHOLE.match(text)
    if m:
        return lookup(m.group(1), env)
    return _Parser(text, env).parse()


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
    if name not in env:
        if not env:
            raise ValueError(f"${name} is not defined: $parameters exist only inside a block "
                             f"(declare it under blocks.NAME.params)")
        raise ValueError(f"${name} is not a parameter of this block; it has "
                         f"{', '.join('$' + k for k in env)}")
    value = env[name]
    if is_symbolic(value):
        raise ValueError(f"${name} is the symbolic size {value.text} here: a block that reads "
                         f"$in.h or $in.w needs the input in numbers ($in.c works with symbols)")
    return value


class _Parser:
    def __init__(self, text: str, env: Mapping[str, Any]):
        self.text, self.env = text, env
        self.tokens = self._tokenize(text)
        self.i = 0
        self.depth = 0

    def _tokenize(self, text: str) -> list[tuple[str, Any]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"cannot read '{text[pos:].strip()}' in '{text}': use integers, "
                                 f"$parameters, + − * / // % and parentheses")
            if m.group(1):
                tokens.append(("int", int(m.group(1))))
            elif m.group(2):
                tokens.append(("name", m.group(2)))
            else:
                tokens.append(("op", m.group(3)))
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

    def parse(self) -> int:
        value = self.expr()
        if self.peek() is not None:
            raise ValueError(f"unexpected '{self.peek()[1]}' in '{self.text}'")
        return value

    def expr(self) -> int:
        value = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            value = value + self.term() if op == "+" else value - self.term()
            self.bound(value)
        return value

    def term(self) -> int:
        value = self.factor()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "//"), ("op", "%")):
            op = self.take()[1]
            rhs = self.factor()
            if op == "*":
                value *= rhs
            elif rhs == 0:
                raise ValueError(f"division by zero in '{self.text}'")
            elif op == "/":
                if value % rhs:
                    raise ValueError(f"{value}/{rhs} is not a whole number in '{self.text}'; "
                                     f"use // to round down")
                value //= rhs
            elif op == "//":
                value //= rhs
            else:
                value %= rhs
            self.bound(value)
        return value

    def factor(self) -> int:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ValueError(f"'{self.text[:30]}…' nests more than {MAX_NESTING} levels deep")
        try:
            return self._factor()
        finally:
            self.depth -= 1

    def _factor(self) -> int:
        kind, value = self.take()
        if kind == "int":
            return value
        if kind == "name":
            v = lookup(value, self.env)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"${value} is {v!r}, not an integer, in '{self.text}'")
            return v
        if value == "(":
            inner = self.expr()  # recursion bounded by factor()'s depth count
            if self.take() != ("op", ")"):
                raise ValueError(f"missing ')' in '{self.text}'")
            return inner
        if value == "-":
            return -self.factor()
        raise ValueError(f"unexpected '{value}' in '{self.text}'")

    def bound(self, value: int) -> None:
        if abs(value) > MAX_MAGNITUDE:
            raise ValueError(f"'{self.text}' grows past {MAX_MAGNITUDE:.0e}")
