"""The graph of ops → a tree of sequences, residuals and branches (by dominators)."""

from __future__ import annotations

from dataclasses import dataclass

from .convert import _Op
from .sources import ImportFailure

@dataclass(eq=False)
class _TLeaf:
    op: _Op


@dataclass(eq=False)
class _TTap:
    """``from: NAME``: the path continues from ``op``'s output, placed earlier in the tree."""

    op: _Op


@dataclass(eq=False)
class _TMerge:
    merge: str  # add (a residual), concat, mul, first
    paths: list  # lists of tree nodes; [] is the identity


@dataclass(eq=False)
class _TGroup:
    path: str  # the module's qualified name
    items: list


@dataclass(eq=False)
class _TUse:
    block: str
    path: str
    values: list  # every number inside it, in order (see _Writer.skeleton)


@dataclass(eq=False)
class _TRepeat:
    path: str  # the container: iterations are PATH.start, PATH.start + 1, …
    times: int
    start: int
    use: _TUse


class _Tree:
    def __init__(self, ops: list[_Op], out: _Op, side: list[_Op]):
        self.ops = [op for op in ops]
        self.out = out
        self.side = side

    def build(self) -> list:
        source = self.ops[0]
        out = self.attach_side_outputs(source)
        self.idom = _dominators(self.ops, source)
        tree = _sequence(source, out, self.idom, {})
        _taps_after_their_targets(tree)
        return tree

    def attach_side_outputs(self, source: _Op) -> _Op:
        """Each side output hangs off the op that dominates it: ``first(a, side)`` takes that
        op's place on the main path; or a later op's, where the main path goes on from there
        as one chain computed before the side path (a ``merge: first`` block's first path,
        whose side path the model runs after it)."""
        out = self.out
        made = {op: i for i, op in enumerate(self.ops)}  # the trace's order
        for s in self.side:
            idom = _dominators(self.ops, source)
            on_main = _ancestors(out)
            a = s
            while a not in on_main:
                a = idom[a]
            a = _chain_end(a, _ancestors(s) - on_main, on_main, self.ops, made)
            merge = _Op(None, {}, "", "", [a, s], "first", 0)
            for op in self.ops:
                if op is not merge and op in on_main:
                    op.inputs = [merge if i is a else i for i in op.inputs]
            self.ops.append(merge)
            if out is a:
                out = merge
            self.ops = _topological(self.ops, source)
        return out


def build_tree(ops: list[_Op], out: _Op, side: list[_Op], source: str) -> list:
    """:meth:`_Tree.build`, its refusal naming ``source``."""
    try:
        return _Tree(ops, out, side).build()
    except Copied as e:  # the same refusal, naming the source (the fallback reads e.op)
        raise Copied(e.op, source) from None
    except ImportFailure as e:
        raise ImportFailure(f"{source}: {e}") from None


def _chain_end(a: _Op, side: set, on_main: set, ops: list, made: dict) -> _Op:
    """The last op of the chain that goes on from ``a`` on the main path (each op read by one
    layer only) while the trace computes it before the first op of ``side``."""
    start = min((made.get(o, len(made)) for o in side), default=len(made))
    while True:
        readers = [o for o in ops if o in on_main and a in o.inputs]
        if len(readers) != 1 or readers[0].inputs != [a] or readers[0].merge is not None or \
                made.get(readers[0], len(made)) > start:
            return a
        a = readers[0]


def _ancestors(*ops: _Op) -> set:
    """The ops given and every op they read, transitively."""
    seen, stack = set(), list(ops)
    while stack:
        o = stack.pop()
        if o in seen:
            continue
        seen.add(o)
        stack.extend(o.inputs)
    return seen


def _topological(ops: list[_Op], source: _Op) -> list[_Op]:
    order, seen = [], set()

    def visit(o):
        stack = [(o, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs))

    for op in ops:
        visit(op)
    for i, op in enumerate(order):
        op.index = i
    return order


def _dominators(ops: list[_Op], source: _Op) -> dict:
    """Immediate dominators on the DAG from ``source`` (ops in topological order)."""
    for i, op in enumerate(ops):
        op.index = i
    idom = {source: source}
    for op in ops:
        if op is source or not op.inputs:
            continue
        preds = [p for p in op.inputs if p in idom]
        if not preds:
            continue
        d = preds[0]
        for p in preds[1:]:
            d = _intersect(d, p, idom)
        idom[op] = d
    return idom


def _intersect(a, b, idom):
    while a is not b:
        while a.index > b.index:
            a = idom[a]
        while b.index > a.index:
            b = idom[b]
    return a


class Copied(ImportFailure):
    """A tensor that feeds several later layers which do not merge where it forks (DLA's and
    HRNet's fuse layers, a map that feeds both an add and a concat): the spec's residual and
    branches compute a tensor where one path forks, so it would be computed, and its params
    counted, once per path.  Refused, rather than a spec whose counts are PyTorch's no more."""

    def __init__(self, op: _Op, source: str = ""):
        self.op = op  # the tensor read twice (the fallback makes a traced layer of a merge's)
        name = op.name or f"a {op.merge} of {len(op.inputs)} tensors"
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{name} feeds several later layers that merge in different "
                         f"places, which a spec cannot say yet (it would compute it once per "
                         f"path)")


def _sequence(start: _Op, end: _Op, idom: dict, seen: dict) -> list:
    """The nodes from just after ``start`` up to ``end``, as a tree.  ``seen``: the ops
    placed so far, each at most once (see :class:`Copied`)."""
    items = []
    op = end
    while op is not start:
        if id(op) in seen:
            # computed in a path placed already: read it there (a tap), when it is a named
            # layer; a merge's output has no name to read it by
            if op.merge is not None or op.kind is None or not op.name:
                raise Copied(op)
            items.append(_TTap(op))
            break
        seen[id(op)] = op
        if op.merge is None:
            if op.kind is None:
                raise ImportFailure("the model's graph has a second input")
            items.append(_TLeaf(op))
            op = op.inputs[0]
            continue
        fork = idom[op]
        paths = [_sequence(fork, i, idom, seen) for i in op.inputs]
        if op.merge == "mul":  # x · gate(x): the identity first, as one writes it
            paths.sort(key=lambda p: len(p) > 0)
        if op.merge == "add" and len(paths) == 2 and not _tapped(paths) and \
                len(_leaves(paths[1])) > len(_leaves(paths[0])):
            paths.reverse()  # a residual: the longer path is main, the other the shortcut
        items.append(_TMerge(op.merge, paths))
        op = fork
    items.reverse()
    return items



def _tapped(paths) -> bool:
    return any(p and isinstance(p[0], _TTap) for p in paths)


def _taps_after_their_targets(tree: list) -> None:
    """A tap reads an output computed before it, in the spec's order (a sequence in order,
    paths one after the other); where the walk from the output placed a layer in a path
    that runs after one that reads it, the graph is refused (:class:`Copied`)."""
    done: set = set()

    def visit(items):
        for it in items:
            if isinstance(it, _TLeaf):
                done.add(id(it.op))
            elif isinstance(it, _TTap):
                if id(it.op) not in done:
                    raise Copied(it.op)
            elif isinstance(it, _TMerge):
                for path in it.paths:
                    visit(path)

    visit(tree)


def _leaves(items) -> list[_Op]:
    out = []
    for it in items:
        if isinstance(it, _TLeaf):
            out.append(it.op)
        elif isinstance(it, _TMerge):
            for p in it.paths:
                out.extend(_leaves(p))
        elif isinstance(it, _TGroup):
            out.extend(_leaves(it.items))
    return out
