"""Converting, continued: what cnncalc's own export writes, read back as the kinds it came from.

A spec exported (``cnncalc export --to pytorch``) and imported again is the same spec: every
module class the export writes is declared on its kind (:class:`cnncalc.layers.base.Torch`),
so the importer keeps it whole (a leaf of the trace, :mod:`.kinds`), and what its settings
need beyond the kind's declared attributes is read here:

- ``nn.ZeroPad2d`` with negative pads is a ``crop``; with positive ones it is zeros around the
  image before a conv, held on the value like ``F.pad``'s (the conv's ``pad: same``);
- LeNet's trainable subsampling is a ``pool`` with ``trainable: true`` (a pool with weights);
- a product with a parameter that its module holds alone (a layer-scale module, timm's
  ``LayerScale2d``) is named after that module, as a module call is;
- layers whose output no later op reads (a ``merge: first`` block's side path, run and
  dropped) are side outputs: PyTorch runs them, so their params and MACs stay counted;
- where a module's MACs are operations FlopCounterMode does not count (LeNet's RBF and
  trainable subsampling: verify's ``UNCOUNTED``), the ``expect: macs`` adds cnncalc's MACs
  of that layer to the counter's total, and a note says so: the claim then compares the
  rest, as verify does.

:class:`_Exported` is a mixin of :class:`.convert._Converter`; it reads that module's values
(``_Val``, ``_Unsupported``) when called, as the two modules import each other.
"""

from __future__ import annotations

from ...formulas import split_pad


class _Exported:
    """Converters for the modules cnncalc's export writes (mixed into ``_Converter``)."""

    def module_crop(self, n, m, x, shape):
        """``nn.ZeroPad2d((left, right, top, bottom))``: a centre crop when no pad is positive
        (the export's ``crop``: the extra pixel of an odd total after, as :func:`split_pad`
        puts it); zeros before a conv when none is negative."""
        from .convert import _short, _Unsupported, _Val

        left, right, top, bottom = (int(p) for p in m.padding)
        pads = (left, right, top, bottom)
        if all(p <= 0 for p in pads):
            total = (-(top + bottom), -(left + right))
            if split_pad(total[0]) != (-top, -bottom) or split_pad(total[1]) != (-left, -right):
                raise _Unsupported(f"{n.target} is a ZeroPad2d cropping {-top}, {-bottom} "
                                   f"rows and {-left}, {-right} columns (not centred, the "
                                   f"extra one after), which", "crop")
            self.expect_nchw(n, x, "ZeroPad2d")
            return self.leaf(n, "crop", {"total": _short(total)} if any(total) else None, x)
        if all(p >= 0 for p in pads) and x.pad is None and \
                split_pad(top + bottom) == (top, bottom) and \
                split_pad(left + right) == (left, right):
            self.expect_nchw(n, x, "ZeroPad2d")
            return _Val(x.op, x.layout, pad=(top + bottom, left + right))
        raise _Unsupported(f"{n.target} is a ZeroPad2d by {pads} (left, right, top, bottom; "
                           f"neither a centre crop nor a conv's 'same' padding), which",
                           "crop or conv (pad: same)")

    def subsampling(self, n, m, x):
        """LeNet-5's trainable subsampling (a pool module with weights: one coefficient and
        one bias per map, :class:`cnncalc.backends.extra_modules.Subsampling`)."""
        from .convert import _Unsupported

        c = self.channels_of(self.shape(n.args[0]), x)
        sizes = sorted(tuple(p.shape) for p in m.parameters())
        if sizes != [(c,), (c,)] or getattr(m, "mode", None) not in ("max", "avg"):
            raise _Unsupported(f"{n.target} is a {type(m).__name__} with parameters of shapes "
                               f"{sizes} (not a coefficient and a bias per map), which", "pool")
        y = self.pool(n, x, m.mode, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode)
        hp = y.op.hp if isinstance(y.op.hp, dict) else {"size": y.op.hp}
        y.op.hp = {**hp, "trainable": True}
        return y

    def scale_name(self, param: str) -> str:
        """A layer scale's name: its module's when the module holds that parameter and nothing
        else (so it is the layer, as a module call is), else the parameter's."""
        owner, _, _ = param.rpartition(".")
        module = self.modules.get(owner) if owner else None
        if module is None or any(True for _ in module.children()) or \
                [name for name, _ in module.named_parameters()] != [param[len(owner) + 1:]] or \
                any(op.name == owner for op in self.ops):
            return param
        return owner

    def finish(self, out, side: list) -> list:
        """After the last node: the side outputs with the unread layers added
        (:meth:`unused`), and the MACs FlopCounterMode missed added to the traced total
        (:meth:`uncounted`)."""
        self.uncounted()
        return side + self.unused(out, side)

    def uncounted(self) -> None:
        """Each call of a module whose MACs FlopCounterMode cannot see (verify's
        ``UNCOUNTED``): cnncalc's MACs for its layer, worked out by the engine on the
        layer alone at its traced input, added to ``traced.macs`` with a note."""
        import json

        from ... import analyze, load
        from ..torch import UNCOUNTED
        from .kinds import module_kind

        for n in self.traced.nodes:
            if n.op != "call_module":
                continue
            declared = module_kind(self.traced.model.get_submodule(n.target))[1]
            v = self.vals.get(n.name)
            shape = self.shape(n.args[0])
            if declared not in UNCOUNTED or v is None or v.op is None or v.op.kind is None \
                    or shape is None:
                continue
            volume = "x".join(str(d) for d in (*reversed(shape[2:]), shape[1]))
            layer = v.op.kind if v.op.hp is None else {v.op.kind: v.op.hp}
            macs = analyze(load(json.dumps({"name": "one", "input": volume,
                                            "layers": [layer]}))).totals.macs
            self.traced.macs += macs
            self.traced.notes.append(
                f"{n.target}'s MACs are {UNCOUNTED[declared]}: the expect: macs adds "
                f"cnncalc's {macs:,} for it to the counter's total (verify leaves that layer "
                f"out of its comparison too)")

    def unused(self, out, side: list) -> list:
        """The layers no later op reads and the model does not return (a ``merge: first``
        block's side path): PyTorch runs them, so each is a side output of the spec, counted.
        Only a node nothing in the graph reads; a layer whose node was read as something
        else (a flatten undone by a view back) is not one."""
        read: set = set()

        def mark(value):
            if isinstance(value, (tuple, list)):
                for v in value:
                    mark(v)
            elif isinstance(value, dict):
                for v in value.values():
                    mark(v)
            elif hasattr(value, "name"):
                read.add(value.name)

        for node in self.traced.nodes:
            mark(node.args)
            mark(node.kwargs)
        live = _ancestors([out, *side])
        found = []
        for node in self.traced.nodes:
            v = self.vals.get(node.name)
            if node.name in read or v is None or v.op is None or v.op in live:
                continue
            found.append(v.op)
            live |= _ancestors([v.op])
        return found


def _ancestors(ops) -> set:
    seen, stack = set(), list(ops)
    while stack:
        o = stack.pop()
        if o in seen:
            continue
        seen.add(o)
        stack.extend(o.inputs)
    return seen
