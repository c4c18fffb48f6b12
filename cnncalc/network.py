"""The network as a tree: leaves (one layer each) and combinators.

The spec loader builds it; the engine walks it once.  A node's ``name`` is its own segment of
the dotted layer name; ``None`` means the node adds no level (an unnamed ``residual`` or
``branches``: their layers are named as if they stood in the enclosing sequence).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .errors import Location
from .layers.base import Layer
from .shapes import Shape

MAX_LAYERS = 1_000_000  # more leaves than this is refused before any work is done


@dataclass(frozen=True, slots=True)
class Claim:
    """An ``expect:`` entry: a field, the claimed value, where it was written."""

    field: str
    value: object
    loc: Location


@dataclass(frozen=True, slots=True)
class Leaf:
    layer: Layer
    name: str
    loc: Location
    expect: tuple[Claim, ...] = ()
    frozen: bool = False

    @property
    def kind(self) -> str:
        return self.layer.key


@dataclass(frozen=True, slots=True)
class Residual:
    """``main`` and ``shortcut`` (identity when empty) see the same input; outputs are added."""

    name: str | None
    main: tuple["Node", ...]
    shortcut: tuple["Node", ...]
    shortcut_name: str
    loc: Location
    frozen: bool = False
    expect: tuple[Claim, ...] = ()


@dataclass(frozen=True, slots=True)
class Branches:
    """Parallel paths on one input, merged by ``concat`` (channels) or ``add``."""

    name: str | None
    paths: tuple[tuple[str, tuple["Node", ...]], ...]
    merge: str
    loc: Location
    frozen: bool = False
    expect: tuple[Claim, ...] = ()


@dataclass(frozen=True, slots=True)
class Repeat:
    name: str
    times: int
    body: tuple["Node", ...]
    loc: Location
    frozen: bool = False
    expect: tuple[Claim, ...] = ()
    label: str = ""  # the block name when the body is one unnamed ``use``


@dataclass(frozen=True, slots=True)
class Group:
    """A block used by name: its layers under one level."""

    name: str
    block: str
    body: tuple["Node", ...]
    loc: Location
    frozen: bool = False
    expect: tuple[Claim, ...] = ()


Node = Union[Leaf, Residual, Branches, Repeat, Group]

# The combinator keys, for `cnncalc layers` and the loader's suggestions.
COMBINATORS = {
    "residual": "main: [layers], shortcut: [layers] (identity); outputs added, shapes must match",
    "branches": "paths: [[layers], …], merge: concat | add; [] is an identity path",
    "repeat": "times: n, layers: [layers]; named NAME.0, NAME.1, …",
    "use": "a block from `blocks:`, with: {param: value}",
}


@dataclass(frozen=True)
class Spec:
    name: str
    input_shape: Shape
    layers: tuple[Node, ...]
    expect: tuple[Claim, ...] = ()
    source: str = "<spec>"
    description: str = ""


def count_leaves(nodes) -> int:
    total = 0
    for node in nodes:
        if isinstance(node, Leaf):
            total += 1
        elif isinstance(node, Residual):
            total += count_leaves(node.main) + count_leaves(node.shortcut)
        elif isinstance(node, Branches):
            total += sum(count_leaves(p) for _, p in node.paths)
        elif isinstance(node, Repeat):
            total += node.times * count_leaves(node.body)
        else:
            total += count_leaves(node.body)
    return total
