"""The network as a tree: leaves (one layer each) and combinators, and the one walk over it.

The spec loader builds the tree.  A node's ``name`` is its own segment of the dotted layer
name; ``None`` means the node adds no level (an unnamed ``residual`` or ``branches``: their
layers are named as if they stood in the enclosing sequence).

Every consumer of the tree (the engine, the torch plan, hints, lint) walks it with
:func:`walk`, which alone knows the combinators: it names each node, tracks depth and
``frozen``, expands repeats and numbers the leaves in execution order.  A consumer is a
:class:`Visitor`; a new combinator is taught to :func:`walk` and nowhere else.
"""

from __future__ import annotations

from dataclasses import field, replace
from enum import Enum
from typing import Callable, Generic, Iterator, TypeVar, Union

from .records import record
from .errors import Location
from .layers.base import Layer
from .formulas import Shape

MAX_LAYERS = 1_000_000  # more leaves than this is refused before any work is done


@record
class Claim:
    """An ``expect:`` entry: a field, the claimed value, where it was written."""

    field: str
    value: object
    loc: Location


class Merge(str, Enum):
    CONCAT = "concat"
    ADD = "add"
    # A gate (squeeze-and-excitation): paths multiplied elementwise, a 1×1×D path broadcast
    # over W×H×D.  The product is elementwise, not a weight: it counts no MACs.
    MUL = "mul"
    # Side outputs (an auxiliary head): the first path's output goes on; the others' layers
    # count (params, MACs) but their outputs are dropped.
    FIRST = "first"

    def __str__(self) -> str:
        return self.value


def _size(nodes) -> int:
    return sum(node.size for node in nodes)


@record
class Leaf:
    layer: Layer
    name: str
    loc: Location
    expect: tuple[Claim, ...] = ()
    frozen: bool = False
    allow: tuple[str, ...] = ()  # diagnostic codes silenced here and below
    # ``share: NAME``: this layer runs with the weights (and buffers) of the earlier leaf
    # NAME, resolved as a tap's name is; its row counts 0 params, its MACs as usual
    share: str | None = None
    share_loc: Location | None = None

    @property
    def kind(self) -> str:
        return self.layer.key

    @property
    def size(self) -> int:
        """Leaves under this node once repeats are expanded."""
        return 1


@record
class Residual:
    """``main`` and ``shortcut`` (identity when empty) see the same input; outputs are added."""

    name: str | None
    main: tuple["Node", ...]
    shortcut: tuple["Node", ...]
    shortcut_name: str
    loc: Location
    frozen: bool = False
    allow: tuple[str, ...] = ()  # diagnostic codes silenced here and below
    expect: tuple[Claim, ...] = ()
    size: int = field(init=False, default=0)

    def __post_init__(self):
        object.__setattr__(self, "size", _size(self.main) + _size(self.shortcut))


@record
class Branches:
    """Parallel paths on one input, merged by ``concat`` (channels) or ``add``."""

    name: str | None
    paths: tuple[tuple[str, tuple["Node", ...]], ...]
    merge: Merge
    loc: Location
    frozen: bool = False
    allow: tuple[str, ...] = ()  # diagnostic codes silenced here and below
    expect: tuple[Claim, ...] = ()
    size: int = field(init=False, default=0)

    def __post_init__(self):
        object.__setattr__(self, "size", sum(_size(p) for _, p in self.paths))


@record
class Repeat:
    name: str
    times: int
    body: tuple["Node", ...]
    loc: Location
    frozen: bool = False
    allow: tuple[str, ...] = ()  # diagnostic codes silenced here and below
    expect: tuple[Claim, ...] = ()
    label: str = ""  # the block name when the body is one unnamed ``use``
    start: int = 0  # the first iteration's name: a stage whose block 0 differs starts at 1
    size: int = field(init=False, default=0)

    def __post_init__(self):
        object.__setattr__(self, "size", self.times * _size(self.body))


@record
class Group:
    """A block used by name: its layers under one level.

    A block that reads its input (``$in.c``) cannot be expanded before the engine knows that
    input: its ``body`` is then a provisional expansion (for counting), ``expand(shape)``
    gives the real one, and ``expansions`` keeps each, by the dotted name of the place it is
    used (a repeat's iterations may receive different inputs), so that every later walk of
    the analysed tree sees what the engine saw.
    """

    name: str
    block: str
    body: tuple["Node", ...]
    loc: Location
    frozen: bool = False
    allow: tuple[str, ...] = ()  # diagnostic codes silenced here and below
    expect: tuple[Claim, ...] = ()
    size: int = field(init=False, default=0)
    expand: "Callable[[Shape], tuple[Node, ...]] | None" = field(default=None, compare=False)
    expansions: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "size", _size(self.body))


@record
class Tap:
    """``- from: NAME``: what follows reads the output of the earlier layer (or named block,
    residual, branches, repeat) NAME instead of the previous item's.  A tensor that feeds
    several later layers (an add and a concat: DLA, HRNet) is so computed once, where paths
    that fork from one input would each compute it again.  NAME is looked up as written
    inside the enclosing named levels first, innermost first, then as a full name (as a
    block's own names are relative to its use).  0 params, 0 MACs, no row."""

    source: str
    loc: Location
    name: None = None
    frozen: bool = False
    allow: tuple[str, ...] = ()
    expect: tuple[Claim, ...] = ()
    size: int = 0


Node = Union[Leaf, Residual, Branches, Repeat, Group, Tap]

# The combinator keys, for `cnncalc layers` and the loader's suggestions.
COMBINATORS = {
    "residual": "main: [layers], shortcut: [layers] (identity); outputs added, shapes must "
                "match; flat: true names the shortcut's layers without a 'shortcut' level",
    "branches": "paths: [[layers], …], merge: concat | add | mul (a gate) | first (side "
                "outputs); [] is an identity path; flat: true adds no level per path",
    "repeat": "times: n, layers: [layers], start: 0; named NAME.0, NAME.1, …",
    "use": "a block from `blocks:`, with: {param: value}",
    "from": "NAME: continue from the output of the earlier layer or named level NAME (a tap: "
            "a tensor that feeds several later paths, computed once)",
}


@record(slots=False)
class Spec:
    name: str
    input_shape: Shape
    layers: tuple[Node, ...]
    expect: tuple[Claim, ...] = ()
    source: str = "<spec>"
    description: str = ""


def count_leaves(nodes) -> int:
    """Leaves once repeats are expanded: each node knows its own size, so nothing is walked."""
    return _size(nodes)


# --- the walk -------------------------------------------------------------------------------

def join(prefix: str, segment: str | None) -> str:
    if not segment:
        return prefix
    return f"{prefix}.{segment}" if prefix else segment


@record
class At:
    """Where a node stands: its dotted name (the enclosing prefix when it adds no level), the
    depth of its row in a summary, whether it is frozen (itself or an ancestor), and for a
    leaf its index in execution order (``report.layers[index]`` is its row)."""

    name: str
    depth: int
    frozen: bool
    index: int = -1
    allow: frozenset[str] = frozenset()  # codes silenced by ``allow:`` here or above
    share: str = ""  # a leaf's ``share: NAME``, resolved to NAME's full name


@record
class Arm:
    """One input-to-output path inside a combinator: a residual's ``main`` or ``shortcut``, a
    branch, or one iteration of a repeat.  An empty arm is the identity."""

    role: str  # "main", "shortcut", "path" or "iteration"
    segment: str | None  # what it adds to the dotted name
    nodes: tuple["Node", ...]


X = TypeVar("X")


class Visitor(Generic[X]):
    """A consumer of the tree.  ``X`` is what flows along it (a shape, a module list, …).

    ``enter``/``leave`` bracket every combinator that adds a level (a named residual or
    branches, a repeat, a named block use) and every :class:`Arm` inside a residual,
    branches or repeat; ``merge`` joins a residual's or a branches' arms.
    """

    # ``share: NAME`` that names no earlier leaf raises :class:`ShareError` for a visitor that
    # checks (the engine); others (a partial report's readers) see the leaf unshared
    checks_shares: bool = False

    def leaf(self, at: At, leaf: Leaf, x: X) -> X:
        raise NotImplementedError

    def enter(self, at: At, node: "Node | Arm", x: X) -> None:
        pass

    def leave(self, at: At, node: "Node | Arm", x: X, y: X) -> None:
        pass

    def merge(self, at: At, node: "Residual | Branches", x: X,
              outs: list[tuple[At, X]]) -> X:
        return outs[0][1]

    def tap(self, at: At, node: Tap, source: str, x: X, y: X) -> X:
        """``from: NAME``: the flow continues from ``y``, the output of ``source`` (NAME's
        full name); ``x`` is what reached the tap."""
        return y

    def expand(self, at: At, node: "Group", x: X) -> tuple["Node", ...]:
        """The body of a block that reads its input, which only the engine can give."""
        raise LookupError(f"{at.name or node.block}: the block reads its input ($in); "
                          f"analyse the spec before walking it")


def arms(node: "Node") -> tuple[Arm, ...]:
    """The arms of a residual, branches or repeat, in execution order."""
    if isinstance(node, Residual):
        return (Arm("main", None, node.main), Arm("shortcut", node.shortcut_name, node.shortcut))
    if isinstance(node, Branches):
        return tuple(Arm("path", name, path) for name, path in node.paths)
    if isinstance(node, Repeat):
        return tuple(Arm("iteration", str(i), node.body)
                     for i in range(node.start, node.start + node.times))
    return ()


def has_row(node: "Node | Arm") -> bool:
    """Whether a summary gives this node a row of its own (its layers' sums): a repeat and
    each of its iterations, a named block, a named residual or branches."""
    if isinstance(node, Arm):
        return node.role == "iteration"
    return isinstance(node, (Repeat, Group, Residual, Branches)) and bool(node.name)


class TapError(LookupError):
    """``from: NAME`` names no earlier output."""

    def __init__(self, tap: Tap, at: At, known: list[str]):
        self.tap, self.at = tap, at
        near = [k for k in known if k.rsplit(".", 1)[-1] == tap.source.rsplit(".", 1)[-1]]
        hint = f"; did you mean {near[-1]}?" if near else ""
        super().__init__(f"from: {tap.source}: no earlier layer or named level has that name "
                         f"here (a tap reads an output computed before it){hint}")


class ShareError(LookupError):
    """``share: NAME`` names no earlier layer."""

    def __init__(self, leaf: Leaf, name: str, known: list[str], level: bool = False):
        self.leaf, self.name = leaf, name
        near = [k for k in known if k.rsplit(".", 1)[-1] == leaf.share.rsplit(".", 1)[-1]]
        if level:
            what = (f"'{leaf.share}' is a block or level, not a layer: a layer shares the "
                    f"weights of one earlier layer")
        else:
            what = (f"no earlier layer has that name here (a layer shares the weights of a "
                    f"layer computed before it)" + (f"; did you mean {near[-1]}?" if near else ""))
        super().__init__(f"share: {leaf.share}: {what}")


class _Walker(Generic[X]):
    def __init__(self, visitor: Visitor[X]):
        self.visitor = visitor
        self.index = 0
        self.outputs: dict[str, X] = {}  # every named output so far, for ``from:``
        self.leaf_names: set[str] = set()  # every leaf so far, for ``share:``

    def tap(self, node: Tap, scope: At, x: X) -> X:
        full = visible(node.source, scope.name, self.outputs)
        if full is None:
            raise TapError(node, scope, list(self.outputs))
        return self.visitor.tap(scope, node, full, x, self.outputs[full])

    def share(self, node: Leaf, scope: At) -> str:
        """The full name of the earlier leaf ``share: NAME`` means: NAME inside the enclosing
        levels, innermost first, then as a full name (as a tap's)."""
        full = visible(node.share, scope.name, self.leaf_names)
        if full is not None:
            return full
        if not self.visitor.checks_shares:
            return ""
        level = visible(node.share, scope.name, self.outputs) is not None
        raise ShareError(node, join(scope.name, node.name), sorted(self.leaf_names), level)

    def sequence(self, nodes, x: X, scope: At) -> X:
        """``scope``: the dotted prefix, depth, and what the enclosing nodes pass down."""
        v = self.visitor
        for node in nodes:
            frozen = scope.frozen or node.frozen
            allow = scope.allow | frozenset(node.allow) if node.allow else scope.allow
            if isinstance(node, Tap):
                x = self.tap(node, scope, x)
            elif isinstance(node, Leaf):
                name = join(scope.name, node.name)
                shared = self.share(node, scope) if node.share else ""
                x = v.leaf(At(name, scope.depth, frozen, self.index, allow, shared), node, x)
                self.outputs[name] = x
                self.leaf_names.add(name)
                self.index += 1
            elif isinstance(node, Group) and not node.name:  # a repeat's body: transparent
                at = At(scope.name, scope.depth, frozen, -1, allow)
                x = self.sequence(self.body(node, at, x), x, at)
            elif isinstance(node, Group):
                at = At(join(scope.name, node.name), scope.depth, frozen, -1, allow)
                v.enter(at, node, x)
                y = self.sequence(self.body(node, at, x), x,
                                  At(at.name, at.depth + 1, frozen, -1, allow))
                v.leave(at, node, x, y)
                x = y
                self.outputs[at.name] = x
            else:
                at = At(join(scope.name, node.name), scope.depth, frozen, -1, allow)
                x = self.combinator(node, x, at)
                if node.name:
                    self.outputs[at.name] = x
        return x

    def body(self, node: Group, at: At, x: X) -> tuple["Node", ...]:
        if node.expand is None:
            return node.body
        found = node.expansions.get(at.name)
        return found if found is not None else self.visitor.expand(at, node, x)

    def combinator(self, node, x: X, at: At) -> X:
        v = self.visitor
        inner = at.depth + 1 if node.name else at.depth
        v.enter(at, node, x)
        if isinstance(node, Repeat):
            y = x
            for arm in arms(node):
                arm_at = At(join(at.name, arm.segment), inner, at.frozen, -1, at.allow)
                v.enter(arm_at, arm, y)
                out = self.sequence(arm.nodes, y, At(arm_at.name, inner + 1, at.frozen, -1,
                                                     at.allow))
                v.leave(arm_at, arm, y, out)
                y = out
        else:
            outs = []
            for arm in arms(node):
                arm_at = At(join(at.name, arm.segment), inner, at.frozen, -1, at.allow)
                v.enter(arm_at, arm, x)
                out = self.sequence(arm.nodes, x, arm_at)
                v.leave(arm_at, arm, x, out)
                outs.append((arm_at, out))
            y = v.merge(at, node, x, outs)
        v.leave(at, node, x, y)
        return y


def visible(name: str, scope: str, known) -> str | None:
    """The full name ``name`` means at ``scope``: inside the enclosing levels, innermost first,
    then as a full name (``from:`` and ``share:`` both read names so); None if none is known."""
    for prefix in _prefixes(scope):
        full = join(prefix, name)
        if full in known:
            return full
    return None


def _prefixes(name: str) -> list[str]:
    """``a.b.c`` → ``a.b.c``, ``a.b``, ``a``, ``""``."""
    out = [name]
    while name:
        name = name.rpartition(".")[0]
        out.append(name)
    return out


def walk(nodes, visitor: Visitor[X], x: X, prefix: str = "") -> X:
    """Fold ``visitor`` over the tree in execution order, from ``x``; returns the output.

    The second walk of the same tree replays its program (:class:`_Compiler`): the names,
    ``At`` records and arms made once, where the first walk makes them as it goes."""
    program = _program(nodes, prefix)
    if program is None:
        return _Walker(visitor).sequence(nodes, x, At(prefix, 0, False))
    return _replay(program, visitor, x, {})


# --- the walk, compiled -----------------------------------------------------------------------
# Which calls a walk makes, and with what ``At``, depends on the tree alone, not on what flows:
# an analysis walks a tree several times (the engine, the pixels read, the memory), and a
# brute force or a sweep analyses one tree at many inputs.  From its second walk a tree is
# replayed from a program: a tuple of steps, each with its ``At`` made once.  A tree that only
# the walk can resolve (a block that reads its input, a ``from:`` or ``share:`` that names
# nothing, which raises at its place) keeps the plain walk.
#
# Each block use, repeat, residual and branches step also carries a dict (``memo``) where a
# visitor that defines ``recall(memo, x)`` and ``remember(memo, mark, x, y)`` (the engine) may
# keep what the step gave for an input, and give it again without walking it (``mark()`` is
# taken before the step is walked).  None where what the step gives could depend on more than
# its input: a tree with a ``from:`` or a ``share:`` anywhere.

_LEAF, _TAP, _BODY, _GROUP, _REPEAT, _MERGE = range(6)
_PROGRAMS: dict[tuple[int, str], list] = {}  # (id(nodes), prefix) → [nodes, walks, program]
_PROGRAMS_KEPT = 16


class _Uncompiled(Exception):
    """The tree has a part only the walk itself can resolve."""


def _program(nodes, prefix: str):
    key = (id(nodes), prefix)
    entry = _PROGRAMS.get(key)
    if entry is None or entry[0] is not nodes:
        if len(_PROGRAMS) >= _PROGRAMS_KEPT:
            del _PROGRAMS[next(iter(_PROGRAMS))]
        _PROGRAMS[key] = [nodes, False, None]  # the first walk: plain
        return None
    if not entry[1]:
        entry[1] = True
        try:
            entry[2] = _Compiler(_plain(nodes)).sequence(nodes, At(prefix, 0, False))
        except _Uncompiled:
            entry[2] = None
    return entry[2]


def _plain(nodes) -> bool:
    """Whether no ``from:`` and no ``share:`` is anywhere in the tree (block bodies as
    written: one that reads its input is not compiled)."""
    for node in nodes:
        if isinstance(node, Tap) or (isinstance(node, Leaf) and node.share):
            return False
        inner = (node.main + node.shortcut if isinstance(node, Residual) else
                 tuple(n for _, p in node.paths for n in p) if isinstance(node, Branches) else
                 node.body if isinstance(node, (Repeat, Group)) else ())
        if inner and not _plain(inner):
            return False
    return True


class _Compiler:
    """:class:`_Walker`'s naming, numbering and lookups, done once into steps."""

    def __init__(self, plain: bool):
        self.plain = plain  # steps get a memo
        self.index = 0
        self.outputs: set[str] = set()
        self.leaf_names: set[str] = set()

    def sequence(self, nodes, scope: At) -> tuple:
        steps = []
        for node in nodes:
            frozen = scope.frozen or node.frozen
            allow = scope.allow | frozenset(node.allow) if node.allow else scope.allow
            if isinstance(node, Tap):
                steps.append((_TAP, scope, node, self.tap(node, scope)))
            elif isinstance(node, Leaf):
                name = join(scope.name, node.name)
                shared = self.share(node, scope) if node.share else ""
                steps.append((_LEAF, At(name, scope.depth, frozen, self.index, allow, shared),
                              node, name))
                self.outputs.add(name)
                self.leaf_names.add(name)
                self.index += 1
            elif isinstance(node, Group):
                if node.expand is not None:
                    raise _Uncompiled
                if not node.name:  # a repeat's body: transparent
                    at = At(scope.name, scope.depth, frozen, -1, allow)
                    steps.append((_BODY, self.sequence(node.body, at)))
                    continue
                at = At(join(scope.name, node.name), scope.depth, frozen, -1, allow)
                body = self.sequence(node.body, At(at.name, at.depth + 1, frozen, -1, allow))
                steps.append((_GROUP, at, node, body, {} if self.plain else None))
                self.outputs.add(at.name)
            else:
                at = At(join(scope.name, node.name), scope.depth, frozen, -1, allow)
                steps.append(self.combinator(node, at))
                if node.name:
                    self.outputs.add(at.name)
        return tuple(steps)

    def combinator(self, node, at: At) -> tuple:
        inner = at.depth + 1 if node.name else at.depth
        compiled = []
        for arm in arms(node):
            arm_at = At(join(at.name, arm.segment), inner, at.frozen, -1, at.allow)
            scope = (At(arm_at.name, inner + 1, at.frozen, -1, at.allow)
                     if isinstance(node, Repeat) else arm_at)
            compiled.append((arm_at, arm, self.sequence(arm.nodes, scope)))
        return (_REPEAT if isinstance(node, Repeat) else _MERGE, at, node, tuple(compiled),
                at.name if node.name else None, {} if self.plain else None)

    def tap(self, node: Tap, scope: At) -> str:
        full = visible(node.source, scope.name, self.outputs)
        if full is None:
            raise _Uncompiled
        return full

    def share(self, node: Leaf, scope: At) -> str:
        full = visible(node.share, scope.name, self.leaf_names)
        if full is None:
            raise _Uncompiled
        return full


def _replay(steps, v, x, outputs: dict):
    """Run a program: the calls :class:`_Walker` would make, in its order."""
    recall = getattr(v, "recall", None)
    for step in steps:
        op = step[0]
        if op == _LEAF:
            x = v.leaf(step[1], step[2], x)
            outputs[step[3]] = x
            continue
        if op == _BODY:
            x = _replay(step[1], v, x, outputs)
            continue
        if op == _TAP:
            _, scope, node, full = step
            x = v.tap(scope, node, full, x, outputs[full])
            continue
        memo = step[-1]
        if memo is not None and recall is not None:
            y = recall(memo, x)
            if y is not None:
                x = y
                store = step[1].name if op == _GROUP else step[4]
                if store is not None:
                    outputs[store] = x
                continue
            mark = v.mark()
        y = _replay_step(step, v, x, outputs)
        if memo is not None and recall is not None:
            v.remember(memo, mark, x, y)
        x = y
    return x


def _replay_step(step, v, x, outputs: dict):
    """A block use, repeat, residual or branches, walked."""
    op = step[0]
    if op == _MERGE:
        _, at, node, compiled, store, _ = step
        v.enter(at, node, x)
        outs = []
        for arm_at, arm, body in compiled:
            v.enter(arm_at, arm, x)
            out = _replay(body, v, x, outputs)
            v.leave(arm_at, arm, x, out)
            outs.append((arm_at, out))
        y = v.merge(at, node, x, outs)
        v.leave(at, node, x, y)
        x = y
        if store is not None:
            outputs[store] = x
    elif op == _REPEAT:
        _, at, node, compiled, store, _ = step
        v.enter(at, node, x)
        y = x
        for arm_at, arm, body in compiled:
            v.enter(arm_at, arm, y)
            out = _replay(body, v, y, outputs)
            v.leave(arm_at, arm, y, out)
            y = out
        v.leave(at, node, x, y)
        x = y
        if store is not None:
            outputs[store] = x
    else:  # _GROUP
        _, at, node, body, _ = step
        v.enter(at, node, x)
        y = _replay(body, v, x, outputs)
        v.leave(at, node, x, y)
        x = y
        outputs[at.name] = x
    return x


class _Leaves(Visitor[None]):
    def __init__(self):
        self.found: list[tuple[At, Leaf]] = []

    def leaf(self, at: At, leaf: Leaf, x: None) -> None:
        self.found.append((at, leaf))


def leaves(nodes) -> list[tuple[At, Leaf]]:
    """Every leaf with where it stands, in execution order (``report.layers``' order)."""
    collect = _Leaves()
    walk(nodes, collect, None)
    return collect.found


def iter_leaves(nodes) -> Iterator[Leaf]:
    return (leaf for _, leaf in leaves(nodes))


def without_side_outputs(nodes) -> tuple["Node", ...]:
    """The tree in eval mode: each ``merge: first`` keeps only its first path.  Its other
    paths are side outputs (an auxiliary head), which torchvision runs only in training; a
    block that reads its input is rewritten as it expands."""
    out = []
    for node in nodes:
        if isinstance(node, Residual):
            node = replace(node, main=without_side_outputs(node.main),
                           shortcut=without_side_outputs(node.shortcut))
        elif isinstance(node, Branches):
            paths = node.paths[:1] if node.merge == Merge.FIRST else node.paths
            node = replace(node, paths=tuple((name, without_side_outputs(p))
                                             for name, p in paths))
        elif isinstance(node, Repeat):
            node = replace(node, body=without_side_outputs(node.body))
        elif isinstance(node, Group):
            grow = node.expand
            node = replace(node, body=without_side_outputs(node.body), expansions={},
                           expand=None if grow is None else
                           (lambda shape, grow=grow: without_side_outputs(grow(shape))))
        out.append(node)
    return tuple(out)


def has_side_outputs(nodes) -> bool:
    """Whether a ``merge: first`` with more than one path is anywhere in the tree."""
    for node in nodes:
        if isinstance(node, Branches) and node.merge == Merge.FIRST and len(node.paths) > 1:
            return True
        inner = (node.main + node.shortcut if isinstance(node, Residual) else
                 tuple(n for _, p in node.paths for n in p) if isinstance(node, Branches) else
                 node.body if isinstance(node, (Repeat, Group)) else ())
        if inner and has_side_outputs(inner):
            return True
    return False
