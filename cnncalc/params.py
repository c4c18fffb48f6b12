"""A spec's own parameters: ``params: {width: 1.0, depth: 1.0, res: 224}`` at the top, read
wherever a number is (``input``, ``filters``, ``repeat.times``, block arguments) as
``$width`` with :mod:`cnncalc.expr`'s exact arithmetic, and ``--set width=1.1,depth=1.2``
on the command line.

A value is kept exact: ``1.1`` is 11/10 (:func:`cnncalc.expr.exact`), so ``ceil(10 · 1.1)``
is 11, never 12 from a binary float.  A size must come out whole (:func:`size`).
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Callable

from . import expr
from .errors import Location, UsageError
from .located_yaml import YMap

# Patterns are compiled when first used (re caches them): a spec without params never pays.
_NAME = r"[A-Za-z_]\w*$"
_ASSIGN = r"\s*([A-Za-z_]\w*)\s*=\s*([^,=]*?)\s*(?:,|$)"
# An 'x' between the input's sizes, not one inside a name: '$res x $res x 3', '${r}x${r}x3'
_CROSS = r"(?<=[\d\s})])[x×](?=[\s\d$({])"


def read(data: YMap, overrides: dict[str, Any], err: Callable) -> dict[str, Any]:
    """The spec's ``params:`` with ``overrides`` (``--set``) applied; problems go to ``err``
    (location, trail, message, hint) and the bad names are left out."""
    found: dict[str, Any] = {}
    raw = data.get("params")
    loc = data.value_locs.get("params", data.loc)
    if raw is not None and not isinstance(raw, YMap):
        err(loc, "params", "must map parameter names to values, e.g. params: {width: 1.0, "
                           "res: 224}")
        raw = None
    for key, value in (raw.items() if raw is not None else ()):
        vloc = raw.value_locs[key]
        if not isinstance(key, str) or not re.match(_NAME, key) or key == "in":
            err(raw.key_locs[key], "params", f"'{key}' cannot name a parameter",
                "a name is a word such as width (not in, which names a block's input)")
            continue
        try:
            found[key] = value_of(value, found)
        except ValueError as e:
            err(vloc, f"params.{key}", str(e))
    for key, value in overrides.items():
        if key not in found and (raw is None or key not in raw):
            if raw is None:
                err(Location(loc.file, 1, 1), "", f"--set {key}=…: this spec has no params:",
                    "declare them at the top, e.g. params: {width: 1.0}, and read them as "
                    "$width")
                continue
            from .layers import closest
            near = closest(key, list(raw))
            err(loc, "params", f"--set {key}=…: the spec has no parameter '{key}'",
                f"did you mean '{near}'?" if near else f"its parameters: {', '.join(raw)}")
            continue
        found[key] = value
    return found


def value_of(value: Any, env: dict[str, Any]) -> Any:
    """A ``params:`` value: a number, or an expression over the params before it."""
    if isinstance(value, bool):
        raise ValueError(f"must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        return expr.exact(value)
    if isinstance(value, str) and "$" in value:
        return expr.substitute(value, env)
    if isinstance(value, str):
        try:
            return expr.number(value.strip())
        except ValueError:
            pass
    raise ValueError(f"must be a number (or an expression over the params above it), "
                     f"got {value!r}")


def size(v: Any, text: Any = "") -> Any:
    """``v`` where a whole number is needed: a whole fraction becomes an int; any other is
    refused with how to round it.  Anything else is left to its own check."""
    if isinstance(v, Fraction):
        return expr.whole(v, str(text))
    return v


def setting(v: Any, parse: Callable, text: Any = "") -> Any:
    """``v`` for a layer's setting: whole fractions are ints; a fractional value goes to a
    setting that takes one (dropout's p) as a float, and is refused by any other."""
    if isinstance(v, list):
        raw = text if isinstance(text, list) and len(text) == len(v) else [text] * len(v)
        return [expr.whole(x, str(t)) if isinstance(x, Fraction) else x for x, t in zip(v, raw)]
    if not isinstance(v, Fraction):
        return v
    if v.denominator == 1:
        return v.numerator
    try:
        parse(float(v))
    except (ValueError, TypeError):
        return expr.whole(v, str(text))
    return float(v)


def input_text(text: str, env: dict[str, Any]) -> str:
    """An ``input:`` that reads params (``$res x $res x 3``) with its sizes worked out."""
    parts = re.split(_CROSS, text)
    out = []
    for part in parts:
        part = part.strip()
        if "$" in part:
            out.append(str(expr.whole(expr.substitute(part, env), part)))
        else:
            out.append(part)
    return "x".join(out)


def parse_assignments(items: tuple[str, ...] | list[str], option: str = "--set") -> dict[str, Any]:
    """``('width=1.1,depth=1.2', 'res=240')`` → exact values; a UsageError otherwise."""
    found: dict[str, Any] = {}
    for item in items:
        text = item.strip()
        pos, assign = 0, re.compile(_ASSIGN)
        while pos < len(text):
            m = assign.match(text, pos)
            if not m or m.end() == pos:
                raise UsageError(f"cannot read '{text[pos:]}': write NAME=VALUE[,NAME=VALUE…], "
                                 f"e.g. width=1.1,res=240", param=option.lstrip("-"))
            name, value = m.group(1), m.group(2)
            try:
                found[name] = signed_number(value)
            except ValueError:
                raise UsageError(f"{name}={value}: the value must be a number such as 1.1 or "
                                 f"240", param=option.lstrip("-")) from None
            pos = m.end()
    return found


def signed_number(text: str):
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    body = text[1:] if text[:1] in "+-" else text
    if not re.fullmatch(r"(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", body):
        raise ValueError(text)
    return sign * expr.number(body)
