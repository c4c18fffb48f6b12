"""The fallback: where an op has no kind, a ``traced`` layer with the trace's own numbers.

The converter (:mod:`.convert`) refuses an op no kind stands for.  Rather than give up,
the import marks that op *opaque* and converts again; the opaque ops are grouped into
regions, and each region is handed to the converter as one stand-in node that becomes one
``traced`` layer (:class:`cnncalc.layers.traced.Traced`): its input and output volumes,
params, buffers and MACs read from the trace.  A region grows until the spec can hold it:

* whatever reads a value no volume can say (a sequence of tokens ``N×L×D``, a tuple, a
  size) from inside the region joins it, so a vision transformer's tokens stay inside;
* it is convex: an op on a path from the region back into it joins it;
* it reads one activation: with several, everything between their common dominator and
  the region joins (so does what reads a region that reads only weights);
* it gives one activation: with several, everything up to their common post-dominator
  joins.

A merge whose output is read by layers that merge in different places (NASNet's cells: a
sum read by a later sum and by the cell's concat) cannot be written as a tree: a tap
(``from: NAME``) reads a named layer, and a merge has no name.  The tree's refusal
(:class:`.tree.Copied`) marks that merge opaque like an op with no kind, so the region that
holds it (from its inputs' common dominator) becomes a named traced layer the later reader
taps.

Every parameter is counted once: a region counts the parameters and buffers of the modules
it calls and the tensors it reads, less those a converted layer counts (a module called
outside the region too) or an earlier region counted.  Its MACs are the FLOPs
``FlopCounterMode`` recorded for its ops, halved, so the spec's totals stay PyTorch's: a
torch.fx trace records them as it runs (:class:`.trace._ShapeRecorder`); a torch.export
trace runs its exported graph once more, node by node under the counter
(:func:`.trace._export_flops`), and the ops folded into one module call add up.  Where
those per-op FLOPs do not add up to the model's own total, or an op the model's input or
output itself would have to be part of has no kind, the import still refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...layers.traced import Traced
from .convert import _Converter, _function_name, _is_identity, _Unsupported, _Val
from .kinds import module_kind
from .trace import _Node, _Traced
from .tree import Copied, build_tree

MAX_TEXT = 120  # the op text of a region of many ops: its first names, then a count


class _Seed(Exception):
    """The converter refused node ``node`` (``error``): it, or a region's input, turns opaque."""

    def __init__(self, node: _Node, error: _Unsupported):
        super().__init__(error.what)
        self.node, self.error = node, error


class _GiveUp(Exception):
    """No region the spec can hold covers the op: the import refuses it as before."""


@dataclass(eq=False)
class _Region:
    """A stand-in node's target: what its ``traced`` layer is called and what it counts."""

    name: str
    module: str
    hp: dict
    input: str  # the node whose value it reads

    def convert(self, conv: _Converter, n: _Node) -> _Val:
        x = conv.tensor(n.args[0])
        if x.layout != "nchw" or x.pad is not None:
            raise _Unsupported("a traced layer's input whose channels are not in dim 1, which")
        op = conv.new(Traced.key, self.hp, [x.op], name=self.name, module=self.module)
        return _Val(op, "nchw")


class _FallbackConverter(_Converter):
    """The converter, with stand-in nodes, and its refusals handed back as :class:`_Seed`."""

    def failure(self, n, e):
        raise _Seed(n, e)

    def node(self, n):
        if isinstance(n.target, _Region):
            return n.target.convert(self, n)
        return super().node(n)


def convert(traced: _Traced, source: str):
    """``_Converter(traced, source).run()`` and its tree (:func:`.tree.build_tree`), with
    ``traced`` layers where no kind stands for an op, or where a merge's output is read by
    layers that merge in different places (a tap reads a named layer; a merge has no name):
    ``(ops, tree)``; an :class:`ImportFailure` where none can."""
    if not any(n.flops is not None for n in traced.nodes):  # no FLOPs per op: no MACs
        return _exact(traced, source)
    graph = _Graph(traced)
    opaque = {n.name for n in traced.nodes if n.op == "call_module" and
              module_kind(traced.model.get_submodule(n.target))[0] is None and
              not _is_identity(traced.model.get_submodule(n.target))}
    for _ in range(len(traced.nodes) + 1):
        copied = None
        try:
            nodes = graph.substitute(opaque) if opaque else traced.nodes
            conv = _FallbackConverter(replace(traced, nodes=nodes), source)
            ops, out, side = conv.run()
            tree = build_tree(ops, out, side, source)
            traced.macs = conv.traced.macs  # the MACs the counter cannot see, set right
            return ops, tree
        except _GiveUp:
            break
        except _Seed as seed:
            n = seed.node
            grow = n.target.input if isinstance(n.target, _Region) else n.name
        except Copied as e:
            copied = e
            grow = next((name for name, v in conv.vals.items()
                         if v.op is e.op and e.op.merge is not None), None)
        if grow is None or grow in opaque or not graph.absorbable(grow):
            break
        opaque.add(grow)
    if copied is not None:  # every op converts: the tree's refusal is what there is to say
        raise copied
    return _exact(traced, source)  # refuses, naming the op as it always has


def _exact(traced: _Traced, source: str):
    ops, out, side = _Converter(traced, source).run()
    return ops, build_tree(ops, out, side, source)


def _refs(value, found: list) -> list:
    """The node names an argument refers to (fx nodes or the export's references)."""
    if isinstance(value, (tuple, list)):
        for v in value:
            _refs(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _refs(v, found)
    elif isinstance(value, slice):
        _refs((value.start, value.stop, value.step), found)
    elif hasattr(value, "name") and isinstance(getattr(value, "name"), str):
        found.append(value.name)
    return found


def _tensor(shape) -> bool:
    return isinstance(shape, tuple) and bool(shape) and all(isinstance(d, int) for d in shape)


def _expressible(shape) -> bool:
    """A value a spec can carry: a batch of volumes ``N×C×H×W`` or of vectors ``N×C``."""
    return _tensor(shape) and len(shape) in (2, 4)


def _volume(shape):
    """A torch shape with its batch → a traced layer's volume: ``WxHxD`` text or a length."""
    if len(shape) == 4:
        return f"{shape[3]}x{shape[2]}x{shape[1]}"
    return shape[1]


class _Graph:
    """The traced nodes as a graph of names: inputs, users, dominators."""

    def __init__(self, traced: _Traced):
        self.traced = traced
        self.nodes = traced.nodes
        self.by_name = {n.name: n for n in self.nodes}
        self.order = {n.name: i for i, n in enumerate(self.nodes)}
        self.inputs: dict[str, list[str]] = {}
        self.users: dict[str, list[str]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            refs = [r for r in dict.fromkeys(_refs((n.args, n.kwargs), []))
                    if r in self.by_name and r != n.name]
            self.inputs[n.name] = refs
            for r in refs:
                self.users[r].append(n.name)
        # activations: tensors computed from the model's input (not from weights and sizes)
        live: set[str] = set()
        for n in self.nodes:
            if n.op == "placeholder" or (n.op != "get_attr" and
                                         any(r in live for r in self.inputs[n.name])):
                live.add(n.name)
        self.derived = live  # with sizes and tuples: the graph the dominators are taken on
        self.live = {name for name in live if _tensor(self.by_name[name].shape)}
        self.read_by: dict[str, set[str]] = {}  # weight → the ops that read it (consumers)
        self.output = next((n.name for n in self.nodes if n.op == "output"), None)
        self.idom = self.dominators(self.nodes, lambda name: self.inputs[name])
        self.ipdom = self.dominators(list(reversed(self.nodes)), lambda name: self.users[name])

    def dominators(self, nodes, preds) -> dict[str, str]:
        """Immediate dominators of the activations, visited in ``nodes``' order from its first
        activation (the input, or the output for post-dominators)."""
        rank = {n.name: i for i, n in enumerate(nodes)}
        idom: dict[str, str] = {}
        for n in nodes:
            name = n.name
            if name not in self.derived and n.op != "output":
                continue
            if not idom:
                idom[name] = name
                continue
            ps = [p for p in preds(name) if p in idom]
            if not ps:
                continue
            d = ps[0]
            for p in ps[1:]:
                d = self._meet(d, p, idom, rank)
            idom[name] = d
        return idom

    @staticmethod
    def _meet(a: str, b: str, idom: dict, rank: dict) -> str:
        while a != b:
            while rank[a] > rank[b]:
                a = idom[a]
            while rank[b] > rank[a]:
                b = idom[b]
        return a

    def absorbable(self, name: str) -> bool:
        n = self.by_name.get(name)
        return n is not None and n.op not in ("placeholder", "output", "get_attr")

    # -- regions
    def components(self, members: set[str], links=frozenset()) -> list[set[str]]:
        """The regions: members joined (:meth:`joined`) or linked (what one region had to take
        in that another held already), in the graph's order."""
        parent = {m: m for m in members}

        def root(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def union(a, b):
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb, key=self.order.get)] = min(ra, rb, key=self.order.get)

        for m in members:
            for u in self.users[m]:
                if u in members and self.joined(m, u):
                    union(m, u)
        for a, b in links:
            union(a, b)
        groups: dict[str, set[str]] = {}
        for m in sorted(members, key=self.order.get):
            groups.setdefault(root(m), set()).add(m)
        return list(groups.values())

    def joined(self, a: str, b: str) -> bool:
        """Whether opaque ``a`` and its reader ``b`` are one region: when the value between
        them is no volume, or both are ops of one module (an unknown module's ops stay one
        layer; an unknown op after it, in another module, is a layer of its own)."""
        na, nb = self.by_name[a], self.by_name[b]
        return not _expressible(na.shape) or (na.scope or "") == (nb.scope or "")

    def reach(self, start: set[str], step) -> set[str]:
        seen: set[str] = set()
        stack = list(start)
        while stack:
            for r in step(stack.pop()):
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return seen

    def exposed(self, comp: set[str]) -> list[str]:
        """The values of ``comp`` read outside it (tensors: a size read outside is a number)."""
        return [m for m in sorted(comp, key=self.order.get)
                if self.by_name[m].shape is not None and any(
                    u not in comp and (self.by_name[u].shape is not None or
                                       self.by_name[u].op == "output") for u in self.users[m])]

    def external(self, comp: set[str]) -> list[str]:
        return [r for r in dict.fromkeys(r for m in sorted(comp, key=self.order.get)
                                         for r in self.inputs[m])
                if r not in comp and r in self.live]

    def grow(self, comp: set[str]) -> set[str]:
        """What must join ``comp`` for one traced layer to stand for it (empty: nothing)."""
        add: set[str] = set()
        # what reads a value no volume can say
        for m in comp:  # (a size, x.dim(), is read as a number outside: no tensor)
            if self.by_name[m].shape is not None and not _expressible(self.by_name[m].shape):
                add |= {u for u in self.users[m]
                        if u not in comp and self.by_name[u].shape is not None}
        # convex: an op on a path from the region back into it
        down = self.reach(comp, lambda name: self.users[name])
        up = self.reach(comp, lambda name: self.inputs[name])
        add |= (down & up) - comp
        ext = self.external(comp)
        if not ext:
            add |= {u for m in comp for u in self.users[m] if u not in comp}
        elif len(ext) > 1:
            d = ext[0]
            for e in ext[1:]:
                d = self._meet(d, e, self.idom, self.order)
            after = self.reach({d}, lambda name: self.users[name])
            add |= (after & up) - comp
        elif not _expressible(self.by_name[ext[0]].shape):
            add.add(ext[0])
        out = self.exposed(comp)
        if len(out) > 1:
            back = {n.name: i for i, n in enumerate(reversed(self.nodes))}
            p = out[0]
            for o in out[1:]:
                if o not in self.ipdom or p not in self.ipdom:
                    raise _GiveUp()
                p = self._meet(p, o, self.ipdom, back)
            before = self.reach({p}, lambda name: self.inputs[name])
            between = (down & before) - comp
            add |= between if between else {p}
        add -= comp
        if any(not self.absorbable(a) for a in add):
            raise _GiveUp()
        return add

    def regions(self, opaque: set[str]) -> list[set[str]]:
        members, links = set(opaque), set()
        while True:
            comps = self.components(members, links)
            extra: set[str] = set()
            new: set[tuple[str, str]] = set()
            for comp in comps:
                add = self.grow(comp)
                anchor = min(comp, key=self.order.get)
                new |= {(anchor, a) for a in add}
                extra |= add
            if extra <= members and new <= links:
                return comps
            members |= extra
            links |= new

    def substitute(self, opaque: set[str]) -> list[_Node]:
        """The nodes with each region replaced by one stand-in node (named as the value it
        gives, so what reads that value reads the stand-in)."""
        regions = self.regions(opaque)
        member_of = {m: k for k, comp in enumerate(regions) for m in comp}
        claimed = self.claimed(set(member_of))
        given: set[int] = set()
        names: set[str] = set()
        stand_ins: dict[str, _Node] = {}
        for comp in regions:
            out = self.exposed(comp)
            if not out:
                continue  # read by nothing: dead code
            ext = self.external(comp)
            node = self.by_name[out[0]]
            if not _expressible(node.shape) or len(ext) != 1:
                raise _GiveUp()
            region = self.region(comp, ext[0], node, claimed, given, names, set(member_of))
            stand_ins[node.name] = _Node("call_function", region, (self.by_name[ext[0]],), {},
                                         node.name, node.shape, region.module)
        return [stand_ins.get(n.name, n) for n in self.nodes
                if n.name not in member_of or n.name in stand_ins]

    # -- what a region counts
    def tensors_of(self, name: str) -> list:
        """``(tensor, numel, is a parameter)`` for what node ``name`` calls or reads."""
        model = self.traced.model
        n = self.by_name[name]
        out = []
        if n.op == "call_module":
            m = model.get_submodule(n.target)
            out += [(p, p.numel(), True) for p in m.parameters()]
            out += [(b, b.numel(), False) for b in _persistent_buffers(m)]
        elif n.op == "get_attr":
            owner, _, attr = str(n.target).rpartition(".")
            try:
                m = model.get_submodule(owner)
            except AttributeError:
                return out
            if attr in m._parameters and m._parameters[attr] is not None:
                out.append((m._parameters[attr], m._parameters[attr].numel(), True))
            elif attr in m._buffers and m._buffers[attr] is not None and \
                    attr not in m._non_persistent_buffers_set and attr != "num_batches_tracked":
                out.append((m._buffers[attr], m._buffers[attr].numel(), False))
        return out

    def claimed(self, members: set[str]) -> set[int]:
        """The tensors a converted layer counts: those of a module it calls, and those an op
        outside every region reads."""
        found: set[int] = set()
        for n in self.nodes:
            if n.name in members:
                continue
            if n.op == "call_module":
                found |= {id(t) for t, _, _ in self.tensors_of(n.name)}
            elif n.op == "get_attr" and any(u not in members for u in self.consumers(n.name)):
                found |= {id(t) for t, _, _ in self.tensors_of(n.name)}
        return found

    def consumers(self, name: str) -> set[str]:
        """The ops on activations that read weight ``name``, through what only reshapes or
        combines weights (``self.bias.view(1, -1, 1, 1)``)."""
        if name in self.read_by:
            return self.read_by[name]
        found: set[str] = set()
        self.read_by[name] = found
        stack, seen = [name], {name}
        while stack:
            for u in self.users[stack.pop()]:
                if u in seen:
                    continue
                seen.add(u)
                if u in self.derived or self.by_name[u].op == "output":
                    found.add(u)
                else:
                    stack.append(u)
        return found

    def region(self, comp: set[str], source: str, out: _Node, claimed: set[int],
               given: set[int], names: set[str], members_all: set[str]) -> _Region:
        members = sorted(comp, key=self.order.get)
        params = buffers = flops = 0
        reads = set(members) | {n.name for n in self.nodes if n.op == "get_attr" and
                                self.consumers(n.name) & comp}
        for name in sorted(reads, key=self.order.get):
            for t, numel, is_param in self.tensors_of(name):
                if id(t) in claimed or id(t) in given:
                    continue
                given.add(id(t))
                if is_param:
                    params += numel
                else:
                    buffers += numel
        for m in members:
            flops += self.by_name[m].flops or 0
        scope, whole = self.scope(comp, members_all)
        if whole:
            name, module = scope, scope.rpartition(".")[0]
        else:
            name, module = (f"{scope}.traced" if scope else "traced"), scope
        base, k = name, 1
        while name in names or (not whole and name in self.traced.modules):
            k += 1
            name = f"{base}@{k}"
        names.add(name)
        hp = {"op": self.op_text(members, scope if whole else ""),
              "input": _volume(self.by_name[source].shape), "output": _volume(out.shape),
              "params": params}
        if buffers:
            hp["buffers"] = buffers
        hp["macs"] = flops // 2
        return _Region(name, module, hp, source)

    def scope(self, comp: set[str], opaque: set[str]) -> tuple[str, bool]:
        """The innermost module holding every op of ``comp``, and whether it is the whole of
        what that module computes (no op of it is converted: then the traced layer takes the
        module's name; a module called twice gives two such regions)."""
        scopes = [self.by_name[m].scope or "" for m in comp]
        common = scopes[0].split(".") if scopes[0] else []
        for s in scopes[1:]:
            parts = s.split(".") if s else []
            k = 0
            while k < min(len(common), len(parts)) and common[k] == parts[k]:
                k += 1
            common = common[:k]
        while common and ".".join(common) not in self.traced.modules:
            common.pop()
        scope = ".".join(common)
        if not scope:
            return "", False
        # its ops on activations (a reshape of its weight is no layer of its own)
        inside = [n for n in self.nodes if n.op in ("call_module", "call_function", "call_method")
                  and _tensor(n.shape) and n.name in self.derived and
                  ((n.scope or "") == scope or (n.scope or "").startswith(scope + "."))]
        return scope, all(n.name in opaque for n in inside)

    def op_text(self, members: list[str], whole: str) -> str:
        """What ran: the module's class, or the ops' names (the first few, then a count)."""
        def cls_name(m) -> str:
            cls = type(m)
            package = cls.__module__
            if package.startswith("torch.nn."):
                package = "torch.nn"
            if package.startswith("cnncalc_import_"):  # a file the import loaded
                return cls.__qualname__
            return f"{package}.{cls.__qualname__}"

        model = self.traced.model
        if whole:
            return cls_name(model.get_submodule(whole))
        words: list[str] = []
        for name in members:
            n = self.by_name[name]
            if n.op == "call_module":
                words.append(cls_name(model.get_submodule(n.target)))
            elif n.op in ("call_function", "call_method") and _tensor(n.shape):
                words.append(_function_name(n.target))
        words = list(dict.fromkeys(words)) or ["ops"]
        text = ", ".join(words)
        if len(text) > MAX_TEXT:
            kept = []
            for w in words:
                if len(", ".join(kept + [w])) > MAX_TEXT - 20:
                    break
                kept.append(w)
            text = f"{', '.join(kept)} and {len(words) - len(kept)} more"
        return text


def _persistent_buffers(module):
    """The buffers cnncalc counts (verify's rule): ``state_dict``'s, less BN's step counter."""
    for owner in module.modules():
        for attr, b in owner._buffers.items():
            if b is None or attr in owner._non_persistent_buffers_set or \
                    attr == "num_batches_tracked":
                continue
            yield b
