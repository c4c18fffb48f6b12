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
- where FlopCounterMode's MACs for one of cnncalc's modules are not cnncalc's, the
  ``expect: macs`` is set right as verify does it (:func:`cnncalc.backends.torch.counted_macs`),
  with a note: LeNet's C3 is counted with its dense kernel, zeros too (scaled to the
  table's kernels); the RBF's and the trainable subsampling's elementwise arithmetic is not
  counted at all (cnncalc's MACs of that layer are taken: the claim compares the rest).

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

    def connection_conv(self, n, m, x, shape):
        """LeNet-5's C3, a conv whose output maps read only the input maps of its connection
        table (:class:`cnncalc.backends.extra_modules.ConnectionConv2d`); its padding is
        ``(left, right, top, bottom)``, an odd 'same' total with the extra pixel after."""
        from .convert import _pair, _short, _Unsupported, _Val

        self.expect_nchw(n, x, type(m).__name__)
        hp = self.conv_hp(m.in_channels, m.out_channels, m.kernel_size, m.stride, 0,
                          m.dilation, 1, m.bias is not None)
        hp = {**{k: v for k, v in hp.items() if k != "bias"},
              "connections": [list(row) for row in m.table], **{k: v for k, v in hp.items()
                                                                 if k == "bias"}}
        left, right, top, bottom = (int(p) for p in m.padding)
        if (left, top) == (right, bottom):
            if (top, left) != (0, 0):
                hp = {**{k: v for k, v in hp.items() if k in ("filters", "size", "stride")},
                      "pad": _short(_pair((top, left))), **hp}
            return self.leaf(n, "conv", hp, x)
        if split_pad(top + bottom) != (top, bottom) or split_pad(left + right) != (left, right):
            raise _Unsupported(f"{n.target} is a {type(m).__name__} padded by "
                               f"{(left, right, top, bottom)} (neither even nor 'same'), which",
                               "conv")
        padded = (*shape[:2], shape[2] + top + bottom, shape[3] + left + right)
        hp, x = self.same_pad(n, _Val(x.op, x.layout, pad=(top + bottom, left + right)), hp,
                              padded)
        return self.leaf(n, "conv", hp, x)

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

    @staticmethod
    def frozen(m) -> bool:
        """Whether module ``m`` has weights and none is trained (``requires_grad`` off: the
        export's ``frozen: true``, LeNet's hand-chosen RBF vectors)."""
        params = list(m.parameters())
        return bool(params) and not any(p.requires_grad for p in params)

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
        """Where FlopCounterMode's figure for one of cnncalc's own modules is not cnncalc's
        MACs, the traced total is set right as verify sets it (:func:`counted_macs`): the
        counter counts the dense kernel of LeNet's C3, zeros too (scaled to the table's
        kernels), and nothing of the RBF's Σ(x − w)² or the subsampling's coefficient (then
        cnncalc's MACs for that layer, worked out by the engine on the layer alone at its
        traced input, are taken), each with a note."""
        from .kinds import CNNCALC_MODULES, module_kind

        for n in self.traced.nodes:
            if n.op != "call_module":
                continue
            m = self.traced.model.get_submodule(n.target)
            declared = module_kind(m)[1]
            v, shape = self.vals.get(n.name), self.shape(n.args[0])
            if declared is None or declared.__module__ != CNNCALC_MODULES or v is None or \
                    v.op is None or v.op.kind is None or shape is None:
                continue
            from ..torch import counted_macs  # verify's rules: loaded only where they apply

            flops = _flops(m, shape)
            figure, compared, note = counted_macs(m, flops, 1, declared)
            if compared and figure == flops // 2:
                continue
            if not compared:
                figure, note = _engine_macs(v.op, shape), note.removeprefix("not comparable: ")
                note = f"{note}: cnncalc's {figure:,} MACs are taken for it"
            self.traced.macs += int(figure) - flops // 2
            self.traced.notes.append(f"expect: macs, {n.target}: {note}")

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
        from .tree import _ancestors  # tree reads convert, which this module is part of

        live = _ancestors(out, *side)
        found = []
        for node in self.traced.nodes:
            v = self.vals.get(node.name)
            if node.name in read or v is None or v.op is None or v.op in live:
                continue
            found.append(v.op)
            live |= _ancestors(v.op)
        return found


def _flops(m, shape) -> int:
    """FlopCounterMode's FLOPs for module ``m`` alone on zeros of ``shape``."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    device = next((p.device for p in m.parameters()), torch.device("cpu"))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        m(torch.zeros(shape, device=device))
    return counter.get_total_flops()


def _engine_macs(op, shape) -> int:
    """cnncalc's MACs for ``op``'s layer alone at input ``shape`` (N×C×H×W or N×C)."""
    import json

    from ... import analyze, load

    volume = "x".join(str(d) for d in (*reversed(shape[2:]), shape[1]))
    layer = op.kind if op.hp is None else {op.kind: op.hp}
    return analyze(load(json.dumps({"name": op.name or op.kind, "input": volume,
                                    "layers": [layer]}))).totals.macs

