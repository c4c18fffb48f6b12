"""Converting: traced nodes → ops, each a layer of a registered kind or a merge of its inputs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .attention import RadixConversions
from .exported import _Exported
from .kinds import function_kind, module_kind, nearest_kind
from .sources import ImportFailure
from .trace import _FxTracer, _Node, _Traced

@dataclass(eq=False)
class _Op:
    """A layer (``kind`` with settings ``hp``) or a merge of its inputs, on the import's graph."""

    kind: str | None  # a layer kind; None for the input and for merges
    hp: dict
    name: str  # the layer's qualified name (set for layers)
    module: str  # the module it belongs to (its own name for a module call)
    inputs: list
    merge: str | None = None  # add, concat, mul, first
    index: int = 0  # creation order: a topological order
    functional: bool = False  # named after its scope and kind, not after a module
    share: str = ""  # a module with weights called again: the first call's name (share:)
    frozen: bool = False  # a module whose weights all have requires_grad off (frozen: true)


@dataclass
class _Val:
    """What a node gives: a tensor made by ``op`` (in ``layout``), a parameter, a constant,
    or the pieces of a chunk."""

    op: _Op | None = None
    # nchw, nhwc, ("grouped", g), ("swapped", g), channels (a pooled 1×1×C map viewed as
    # one sequence of C for a Conv1d)
    layout: Any = "nchw"
    param: str | None = None
    const: Any = None
    chunks: tuple | None = None  # (source value, parts)
    pad: tuple | None = None  # F.pad's zeros still to be added: (H total, W total)


class _Unsupported(Exception):
    """A node with no cnncalc kind: ``what`` it is, ``nearest`` kind."""

    def __init__(self, what: str, nearest: str = ""):
        super().__init__(what)
        self.what, self.nearest = what, nearest


_NONE = object()  # an attribute or argument the module or call does not have


def _plain(value):
    """A module attribute as a spec value: tuples as lists, tensors' numbers as numbers."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


def _feeds(a: _Op, b: _Op) -> bool:
    """Whether ``b`` is computed from ``a`` (``a`` is one of its ancestors)."""
    seen, stack = set(), [b]
    while stack:
        o = stack.pop()
        if o is a:
            return True
        if id(o) in seen or o.index < a.index:
            continue
        seen.add(id(o))
        stack.extend(o.inputs)
    return False


def _is_identity(m) -> bool:
    import torch

    return isinstance(m, torch.nn.Identity)


def _pair(v):
    if isinstance(v, (tuple, list)):
        return tuple(int(x) for x in v) if len(v) == 2 else tuple(v)
    return (int(v), int(v))


def _short(pair):
    """``(3, 3)`` → ``3``; ``(1, 3)`` → ``[1, 3]``."""
    return pair[0] if pair[0] == pair[1] else list(pair)


class _Converter(RadixConversions, _Exported):
    def __init__(self, traced: _Traced, source: str):
        self.traced = traced
        self.source = source
        self.modules = traced.modules
        self.ops: list[_Op] = []
        self.vals: dict[str, _Val] = {}
        self.cats: dict[tuple, _Op] = {}
        self.calls: dict[str, int] = {}  # module → times called
        self.nodes = {n.name: n for n in traced.nodes}

    def run(self):
        # A module class with no kind is the clearest thing to say about a model (a vision
        # transformer's attention), before any op its forward does around it.
        for n in self.traced.nodes:
            if n.op == "call_module":
                m = self.traced.model.get_submodule(n.target)
                if module_kind(m)[0] is None and not _is_identity(m):
                    cls = type(m).__name__
                    raise self.failure(n, _Unsupported(f"{n.target} is a {cls}, which",
                                                       nearest_kind(cls)))
        out = side = None
        for n in self.traced.nodes:
            try:
                if n.op == "output":
                    out, side = self.output(n)
                else:
                    self.vals[n.name] = self.node(n)
            except _Unsupported as e:
                raise self.failure(n, e) from None
        side = self.finish(out, side)  # unread layers kept; MACs the counter cannot see
        self.name_functional()
        return self.ops, out, side

    def failure(self, n: _Node, e: _Unsupported) -> ImportFailure:
        where = self.source_line(n)
        nearest = f"; the nearest kind is {e.nearest}" if e.nearest else ""
        module = f"{n.scope}: " if n.scope and n.op != "call_module" else ""
        return ImportFailure(f"{self.source}: {module}{e.what} has no cnncalc kind{nearest}"
                             f"{where}")

    def source_line(self, n: _Node) -> str:
        """Where the model does this, from a second trace that records stack traces."""
        if self.traced.by != "torch.fx":
            return ""
        try:
            tracer = _FxTracer(record=True)
            was = self.traced.model.training
            graph = tracer.trace(self.traced.model)
            self.traced.model.train(was)
        except Exception:  # noqa: BLE001
            return ""
        for g in graph.nodes:
            if g.name == n.name and g.stack_trace:
                lines = [ln.strip() for ln in g.stack_trace.strip().splitlines()]
                for i in range(len(lines) - 1, -1, -1):
                    m = re.match(r'File "([^"]+)", line (\d+)', lines[i])
                    if m and "/torch/" not in m.group(1):
                        code = lines[i + 1] if i + 1 < len(lines) else ""
                        return f" (at {m.group(1)}:{m.group(2)}: {code})"
        return ""

    # -- values
    def val(self, a) -> _Val:
        key = a.name if hasattr(a, "name") else None
        if key is None or key not in self.vals:
            return _Val(const=a)
        return self.vals[key]

    def shape(self, a) -> tuple | None:
        node = self.nodes.get(getattr(a, "name", None))
        return node.shape if node is not None else None

    def tensor(self, a) -> _Val:
        v = self.val(a)
        if v.op is None:
            raise _Unsupported("an operation on a value that is not an activation")
        return v

    def new(self, kind, hp, inputs, *, name="", module="", merge=None,
            functional=False) -> _Op:
        op = _Op(kind, hp, name, module, list(inputs), merge, len(self.ops), functional)
        self.ops.append(op)
        return op

    def leaf(self, n: _Node, kind: str, hp: dict, x: _Val, layout=None) -> _Val:
        if x.pad is not None:
            raise _Unsupported(f"a pad by {x.pad[0]}×{x.pad[1]} before a {kind} (not TF's "
                               f"'same' before a conv), which", "conv (pad: same)")
        if n.op == "call_module":
            count = self.calls.get(n.target, 0) + 1
            self.calls[n.target] = count
            name = n.target if count == 1 else f"{n.target}@{count}"
            op = self.new(kind, hp, [x.op], name=name, module=n.target)
            m = self.traced.model.get_submodule(n.target)
            if count > 1 and (any(True for _ in m.parameters()) or any(True for _ in m.buffers())):
                op.share = n.target  # the same weights again: share: NAME (counted once)
            op.frozen = self.frozen(m)
        else:
            op = self.new(kind, hp, [x.op], module=n.scope, functional=True)
        return _Val(op, layout or x.layout)

    # -- one node
    def node(self, n: _Node) -> _Val:
        if n.op == "placeholder":
            if self.ops:
                raise _Unsupported("a second input")
            return _Val(self.new(None, {}, [], name="input"))
        if n.op == "get_attr":
            return _Val(param=str(n.target))
        if n.op == "call_module":
            return self.module(n, self.traced.model.get_submodule(n.target))
        return self.function(n)

    def module(self, n: _Node, m) -> _Val:
        """A module call: the kind its class hierarchy declares (:mod:`.kinds`), converted by
        this class's ``module_KIND`` where the settings need arithmetic, else by the kind's
        declared settings (:meth:`settings_of`)."""
        cls = type(m).__name__
        x = self.tensor(n.args[0]) if n.args else None
        if x is None:
            raise _Unsupported(f"a {cls} call without an input")
        shape = self.shape(n.args[0])
        kind, _ = module_kind(m)
        if kind is None:
            if _is_identity(m):
                return x
            raise _Unsupported(f"{n.target} is a {cls}, which", nearest_kind(cls))
        convert = getattr(self, f"module_{kind}", None)
        if convert is not None:
            return convert(n, m, x, shape)
        return self.leaf(n, kind, self.settings_of(kind, lambda attr: getattr(m, attr, _NONE)),
                         x)

    @staticmethod
    def settings_of(kind: str, read) -> Any:
        """The kind's fields from a module's attributes (or a call's arguments): ``read(attr)``
        gives the value or ``_NONE``.  Each field comes from the attributes the kind's
        ``torch.settings`` map to it, or the attribute of its own name (``inplace``).  Written
        as the layer's settings: the primary field always (``dropout: 0.5``), the others where
        they differ from their defaults; ``None`` when there are none."""
        from ...layers import REGISTRY

        cls = REGISTRY[kind]
        hp: dict = {}
        for field in cls.fields:
            attrs = [a for a, f in cls.torch.settings if f == field.name] or [field.name]
            value = next((v for v in map(read, attrs) if v is not _NONE), _NONE)
            if value is _NONE:
                continue
            value = _plain(value)
            if field.name == cls.primary or value != field.default:
                hp[field.name] = value
        if not hp:
            return None
        if list(hp) == [cls.primary]:
            return hp[cls.primary]
        return hp

    # nn modules → kinds
    def module_conv(self, n, m, x, shape):
        import torch

        if not isinstance(m, torch.nn.Conv2d):  # the conv kind's other module: LeNet's C3
            return self.connection_conv(n, m, x, shape)
        if m.padding_mode != "zeros":
            raise _Unsupported(f"{n.target} is a Conv2d with padding_mode={m.padding_mode!r}, "
                               f"which", "conv (zero padding only)")
        self.expect_nchw(n, x, "Conv2d")
        hp = self.conv_hp(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                          m.dilation, m.groups, m.bias is not None)
        hp, x = self.same_pad(n, x, hp, shape)
        return self.leaf(n, "conv", hp, x)

    @staticmethod
    def conv_hp(cin, cout, size, stride, padding, dilation, groups, bias) -> dict:
        hp: dict = {}
        if groups == cin and groups > 1:
            if cout != cin:
                hp["filters"] = cout
        else:
            hp["filters"] = cout
        hp["size"] = _short(_pair(size))
        if _pair(stride) != (1, 1):
            hp["stride"] = _short(_pair(stride))
        if isinstance(padding, str):
            if padding == "same":
                hp["pad"] = "same"
        elif _pair(padding) != (0, 0):
            hp["pad"] = _short(_pair(padding))
        if _pair(dilation) != (1, 1):
            hp["dilation"] = _short(_pair(dilation))
        if groups == cin and groups > 1:
            hp["depthwise"] = True
        elif groups != 1:
            hp["groups"] = groups
        if not bias:
            hp["bias"] = False
        return hp

    def module_deconv(self, n, m, x, shape):
        self.expect_nchw(n, x, "ConvTranspose2d")
        hp = {"filters": m.out_channels, "size": _short(_pair(m.kernel_size))}
        for key, value, default in (("stride", m.stride, (1, 1)), ("pad", m.padding, (0, 0)),
                                    ("output_pad", m.output_padding, (0, 0)),
                                    ("dilation", m.dilation, (1, 1))):
            if _pair(value) != default:
                hp[key] = _short(_pair(value))
        if m.groups != 1:
            hp["groups"] = m.groups
        if m.bias is None:
            hp["bias"] = False
        return self.leaf(n, "deconv", hp, x)

    def module_bn(self, n, m, x, shape):
        if shape is None or len(shape) not in (2, 4):
            raise _Unsupported(f"{n.target} is a {type(m).__name__} on a sequence, which",
                               "bn")
        if len(shape) == 4:
            self.expect_nchw(n, x, type(m).__name__)
        return self.leaf(n, "bn", self.norm_hp(m.eps, m.affine, 1e-5), x)

    @staticmethod
    def norm_hp(eps, affine, default_eps) -> dict:
        hp = {}
        if abs(eps - default_eps) > 1e-12:
            hp["eps"] = float(eps)
        if not affine:
            hp["affine"] = False
        return hp

    def module_layer_norm(self, n, m, x, shape):
        c = self.channels_of(shape, x)
        if tuple(m.normalized_shape) != (c,):
            raise _Unsupported(f"{n.target} is a LayerNorm over {tuple(m.normalized_shape)} "
                               f"(not over the {c} channels), which", "layer_norm")
        return self.leaf(n, "layer_norm", self.norm_hp(m.eps, m.elementwise_affine, 1e-5), x)

    def module_channel_conv(self, n, m, x, shape):
        """``nn.Conv1d(1, 1, k)`` over the channels of a pooled map (ECA's attention), or
        cnncalc's own ``ChannelConv`` (what the export writes), whose ``conv`` is that Conv1d
        and whose input is the map itself."""
        inner = getattr(m, "conv", None)
        if inner is not None and not hasattr(m, "in_channels"):
            m, layout = inner, "nchw"
        else:
            layout = "channels"
        if x.layout != layout or m.in_channels != 1 or m.out_channels != 1 or \
                m.groups != 1 or m.stride != (1,) or m.dilation != (1,) or \
                isinstance(m.padding, str) or m.padding_mode != "zeros":
            raise _Unsupported(f"{n.target} is a Conv1d that is not one filter along the "
                               f"channels of a pooled map (ECA), which", "channel_conv")
        hp = {"size": m.kernel_size[0]}
        if m.padding[0]:
            hp["pad"] = m.padding[0]
        if m.bias is None:
            hp["bias"] = False
        return self.leaf(n, "channel_conv", hp if len(hp) > 1 else hp["size"], x)

    def module_fc(self, n, m, x, shape):
        return self.linear(n, x, shape, m.out_features, m.bias is not None)

    def function_fc(self, n):
        """``F.linear(x, weight, bias)`` (timm's ``Linear``): the weight's rows are the units."""
        x = self.tensor(n.args[0])
        weight = self.parameter(self.arg(n, 1, "weight"), "F.linear's weight")
        bias = self.val(self.arg(n, 2, "bias"))
        return self.linear(n, x, self.shape(n.args[0]), weight.shape[0], bias.param is not None)

    def linear(self, n, x, shape, units: int, bias: bool) -> _Val:
        if shape is not None and len(shape) == 2:
            hp = {"units": units}
            if not bias:
                hp["bias"] = False
            return self.leaf(n, "fc", hp if len(hp) > 1 else units, x)
        if shape is not None and len(shape) == 4 and x.layout == "nhwc":
            # A Linear on channels-last positions is a 1×1 conv (ConvNeXt's pointwise layers):
            # the same weights and the same MACs.
            hp = {"filters": units, "size": 1}
            if not bias:
                hp["bias"] = False
            return self.leaf(n, "conv", hp, x)
        raise _Unsupported(f"a Linear on a tensor of shape {shape}, which", "fc")

    def parameter(self, a, what: str):
        """The model's parameter that argument ``a`` reads (a ``get_attr``)."""
        v = self.val(a)
        if v.param is None:
            raise _Unsupported(f"{what} that is not one of the model's parameters, which")
        try:
            return self.traced.model.get_parameter(v.param)
        except AttributeError:  # a buffer (TResNet's blur filter): fixed weights, no kind
            raise _Unsupported(f"{what} that is a buffer ({v.param}), not a parameter, "
                               f"which") from None

    def function_bn(self, n):
        """``F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum,
        eps)`` (timm's ``BatchNormAct2d``): affine when it has a weight."""
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        if shape is None or len(shape) not in (2, 4):
            raise _Unsupported("a batch norm on a sequence, which", "bn")
        weight = self.val(self.arg(n, 3, "weight"))
        eps = self.arg(n, 7, "eps", 1e-5)
        return self.leaf(n, "bn", self.norm_hp(eps, weight.param is not None, 1e-5), x)

    def f_pad(self, n):
        """``F.pad`` (TF-style 'same' padding, timm's ``Conv2dSame``): its zeros are held on
        the value and become the next conv's ``pad: same`` (see :meth:`same_pad`)."""
        x = self.tensor(n.args[0])
        before, after = self.shape(n.args[0]), n.shape
        mode = self.arg(n, 2, "mode", "constant")
        value = self.arg(n, 3, "value", None)
        if before is None or after is None or len(before) != 4 or mode != "constant" or \
                value not in (None, 0, 0.0) or before[:2] != after[:2] or x.pad is not None:
            raise _Unsupported("a pad that is not zeros around the image, which",
                               "conv (pad: same)")
        return _Val(x.op, x.layout, pad=(after[2] - before[2], after[3] - before[3]))

    def same_pad(self, n, x: _Val, hp: dict, shape) -> tuple[dict, _Val]:
        """A conv without padding after ``F.pad``: ``pad: same`` when the zeros are exactly
        TF's 'same' (⌈N/S⌉ outputs, the odd pixel after) at the traced size."""
        if x.pad is None:
            return hp, x
        from ...formulas import same_pad_total

        size = hp["size"] if isinstance(hp["size"], list) else [hp["size"]] * 2
        stride = hp.get("stride", 1)
        stride = stride if isinstance(stride, list) else [stride] * 2
        dilation = hp.get("dilation", 1)
        dilation = dilation if isinstance(dilation, list) else [dilation] * 2
        same = tuple(same_pad_total(shape[2 + k] - x.pad[k], size[k], stride[k], dilation[k])
                     for k in range(2))
        if "pad" in hp or same != x.pad:
            raise _Unsupported(f"a pad by {x.pad[0]}×{x.pad[1]} before a conv, not its "
                               f"'same' padding {same[0]}×{same[1]}, which", "conv")
        out = {}
        for key, value in hp.items():
            out[key] = value
            if key == "stride" or (key == "size" and "stride" not in hp):
                out["pad"] = "same"
        return out, _Val(x.op, x.layout)

    def function_conv(self, n):
        """``F.conv2d(x, weight, bias, stride, padding, dilation, groups)``: a subclass of
        Conv2d with its own forward (timm's ``StdConv2d``, ``Conv2dSame``)."""
        x = self.tensor(n.args[0])
        self.expect_nchw(n, x, "conv2d")
        weight = self.parameter(self.arg(n, 1, "weight"), "conv2d's weight")
        bias = self.val(self.arg(n, 2, "bias"))
        groups = self.arg(n, 6, "groups", 1)
        cout, per_group, kh, kw = weight.shape
        hp = self.conv_hp(per_group * groups, cout, (kh, kw), self.arg(n, 3, "stride", 1),
                          self.arg(n, 4, "padding", 0), self.arg(n, 5, "dilation", 1), groups,
                          bias.param is not None)
        hp, x = self.same_pad(n, x, hp, self.shape(n.args[0]))
        return self.leaf(n, "conv", hp, x)

    def module_flatten(self, n, m, x, shape):
        if m.start_dim != 1 or m.end_dim != -1:
            raise _Unsupported(f"{n.target} flattens dims {m.start_dim}..{m.end_dim}, which",
                               "flatten")
        return self.flatten(n, x, shape)

    def module_pool(self, n, m, x, shape):
        if any(True for _ in m.parameters()):
            return self.subsampling(n, m, x)  # LeNet's trainable subsampling
        mode = "max" if hasattr(m, "dilation") else "avg"  # MaxPool2d has one, AvgPool2d not
        return self.pool(n, x, mode, m.kernel_size, m.stride, m.padding,
                         getattr(m, "dilation", 1), m.ceil_mode)

    def module_adaptive_pool(self, n, m, x, shape):
        mode = "max" if hasattr(m, "return_indices") else "avg"
        return self.adaptive(n, x, mode, m.output_size)

    def module_upsample(self, n, m, x, shape):
        scale = m.scale_factor
        if m.size is not None or scale is None or float(scale) != int(scale) or \
                m.mode not in ("nearest", "bilinear"):
            raise _Unsupported(f"{n.target} is an Upsample that is not an integer "
                               f"nearest/bilinear factor, which", "upsample")
        hp = {"scale": int(scale)}
        if m.mode != "nearest":
            hp["mode"] = m.mode
        return self.leaf(n, "upsample", hp, x)

    def module_softmax(self, n, m, x, shape):
        if m.dim not in (1, -1 if shape and len(shape) == 2 else 1):
            raise _Unsupported(f"{n.target} is a softmax over dim {m.dim}, which", "softmax")
        return self.leaf(n, "softmax", None, x)

    # shared by modules and functions
    def expect_nchw(self, n, x: _Val, what: str) -> None:
        if x.layout != "nchw":
            raise _Unsupported(f"a {what} on a tensor whose channels are not in dim 1 "
                               f"(after a permute), which", "conv")

    def channels_of(self, shape, x: _Val) -> int | None:
        if shape is None:
            return None
        if len(shape) == 2:
            return shape[1]
        if len(shape) == 4:
            return shape[3] if x.layout == "nhwc" else shape[1]
        return None

    def pool(self, n, x, mode, size, stride, padding, dilation, ceil) -> _Val:
        self.expect_nchw(n, x, "pool")
        if _pair(dilation) != (1, 1):
            raise _Unsupported("a dilated pool, which", "pool")
        size = _pair(size)
        stride = _pair(stride) if stride not in (None, (), []) else size
        hp: dict = {"size": _short(size)}
        if stride != size:
            hp["stride"] = _short(stride)
        if _pair(padding) != (0, 0):
            hp["pad"] = _short(_pair(padding))
        if mode != "max":
            hp["mode"] = mode
        if ceil:
            hp["ceil"] = True
        return self.leaf(n, "pool", hp if len(hp) > 1 else hp["size"], x)

    def adaptive(self, n, x, mode, size) -> _Val:
        self.expect_nchw(n, x, "adaptive pool")
        size = _pair(size) if not isinstance(size, (tuple, list)) else tuple(size)
        if any(s is None for s in size):
            raise _Unsupported("an adaptive pool that keeps one side, which", "adaptive_pool")
        if size == (1, 1):
            return self.leaf(n, "global_pool", None if mode == "avg" else mode, x)
        hp = {"size": _short(size)}
        if mode != "avg":
            hp["mode"] = mode
        return self.leaf(n, "adaptive_pool", hp if len(hp) > 1 else hp["size"], x)

    def flatten(self, n, x, shape) -> _Val:
        if shape is not None and len(shape) == 2:
            return x  # already a vector
        if x.layout != "nchw":
            raise _Unsupported("a flatten of channels-last positions, which", "flatten")
        return self.leaf(n, "flatten", None, x)

    # functions and methods → kinds
    def function(self, n: _Node) -> _Val:
        if isinstance(n.target, type) and issubclass(n.target, tuple):
            return _Val(const=None)  # a namedtuple of outputs: read by output()
        name = _function_name(n.target)
        convert = _FUNCTIONS.get(name)  # the graph's own operations: merges, views, sizes
        if convert is not None:
            return convert(self, n)
        kind = function_kind(name)  # the functional forms the kinds declare
        if kind is not None:
            convert = getattr(self, f"function_{kind}", None)
            if convert is not None:
                return convert(n)
            return self.f_settings(n, kind)
        args = [self.val(a) for a in n.args]
        if not any(a.op is not None for a in args):
            return _Val(const=None)  # arithmetic on sizes and settings: not a layer
        raise _Unsupported(f"{_describe(n)}, which", nearest_kind(name))

    def arg(self, n: _Node, index: int, key: str, default=None):
        if len(n.args) > index:
            return n.args[index]
        return n.kwargs.get(key, default)

    def f_settings(self, n, kind):
        """A functional form whose settings are its arguments: the kind's ``torch.settings``
        attributes in order after the input (``F.leaky_relu(x, 0.2)``), or by keyword."""
        from ...layers import REGISTRY

        x = self.tensor(n.args[0])
        order = [a for a, _ in REGISTRY[kind].torch.settings]

        def read(attr):
            if attr in n.kwargs:
                return n.kwargs[attr]
            k = order.index(attr) + 1 if attr in order else None
            return n.args[k] if k is not None and k < len(n.args) else _NONE

        return self.leaf(n, kind, self.settings_of(kind, read), x)

    def f_add(self, n):
        a, b = self.val(n.args[0]), self.val(self.arg(n, 1, "other"))
        if a.op is None and b.op is None and a.param is None and b.param is None:
            return _Val(const=None)  # arithmetic on sizes
        if a.op is None or b.op is None:
            # x + 0 and 0 + x (MobileOne's ``out = 0; out += branch(x)``) are x
            x, k = (a, b) if a.op is not None else (b, a)
            if (k.const is None or k.const == 0) and k.param is None:
                return x
            raise _Unsupported("an add of a constant or a parameter, which")
        return self.merge("add", [a, b])

    def f_mul(self, n):
        a, b = self.val(n.args[0]), self.val(self.arg(n, 1, "other"))
        if a.op is None and b.op is None and a.param is None and b.param is None:
            return _Val(const=None)  # arithmetic on sizes
        if a.param is not None or b.param is not None:
            param, x = (a, b) if a.param is not None else (b, a)
            if x.op is None:
                raise _Unsupported("a product of parameters, which", "layer_scale")
            return self.layer_scale(n, param.param, x)
        if a.op is None or b.op is None:
            x = a if a.op is not None else b
            k = b.const if a.op is not None else a.const
            if k == 1:
                return x
            raise _Unsupported(f"a product with the constant {k!r}, which", "layer_scale")
        return self.merge("mul", [a, b])

    def layer_scale(self, n, param: str, x: _Val) -> _Val:
        owner, _, attr = param.rpartition(".")
        p = self.traced.model.get_parameter(param)
        if p.dim() not in (1, 3) or any(s != 1 for s in p.shape[1:]):
            raise _Unsupported(f"a product with the parameter {param} of shape "
                               f"{tuple(p.shape)}, which", "layer_scale (one per channel)")
        op = self.new("layer_scale", None, [x.op], name=self.scale_name(param), module=owner)
        return _Val(op, x.layout)

    def f_cat(self, n):
        tensors = self.arg(n, 0, "tensors")
        dim = self.arg(n, 1, "dim", 0)
        vals = [self.tensor(t) for t in tensors]
        shape = self.shape(tensors[0])
        if shape is not None and dim % len(shape) != 1 or any(v.layout != "nchw" for v in vals):
            raise _Unsupported(f"a cat along dim {dim} (not the channels), which", "branches")
        return self.merge("concat", vals)

    def merge(self, mode: str, vals: list[_Val]) -> _Val:
        if any(v.pad is not None for v in vals):
            raise _Unsupported(f"a pad before a {mode} (not TF's 'same' before a conv), which",
                               "conv (pad: same)")
        ops = [v.op for v in vals]
        if mode == "concat":
            key = tuple(id(o) for o in ops)
            if len(ops) == 1:
                return vals[0]
            if key in self.cats:
                return _Val(self.cats[key])
            # DenseNet concatenates every earlier output again: cat(x, f1, f2) is
            # cat(cat(x, f1), f2), a chain of two-way branches as the zoo writes it.
            for cut in range(len(ops) - 1, 1, -1):
                if tuple(id(o) for o in ops[:cut]) in self.cats:
                    ops = [self.cats[tuple(id(o) for o in ops[:cut])]] + ops[cut:]
                    break
            op = self.nested_cat(ops)
            self.cats[key] = op
            return _Val(op)
        return _Val(self.new(None, {}, ops, merge=mode), vals[0].layout)

    def nested_cat(self, ops: list[_Op]) -> _Op:
        """A concat whose inputs from some point on are each computed from the one before
        (VoVNet's ``cat([x, f1(x), f2(f1(x)), …])``) is, concat being associative,
        ``cat(x, cat(f1, cat(f2, …)))``: nested two-way branches in which every tensor is
        computed once, where one flat concat would repeat f1 in the paths of f2, f3, …"""
        start = len(ops) - 1
        while start > 0 and _feeds(ops[start - 1], ops[start]):
            start -= 1
        if len(ops) - start < 3:
            return self.new(None, {}, ops, merge="concat")
        inner = ops[-1]
        for a in reversed(ops[start:-1]):
            inner = self.new(None, {}, [a, inner], merge="concat")
        if start == 0:
            return inner
        return self.new(None, {}, ops[:start] + [inner], merge="concat")

    def function_flatten(self, n):
        x = self.tensor(n.args[0])
        start = self.arg(n, 1, "start_dim", 0)
        end = self.arg(n, 2, "end_dim", -1)
        if start != 1 or end != -1:
            raise _Unsupported(f"a flatten of dims {start}..{end} (not 1..-1), which",
                               "flatten")
        return self.flatten(n, x, self.shape(n.args[0]))

    def f_view(self, n):
        v = self.val(n.args[0])
        if v.param is not None:  # a parameter reshaped to broadcast (ConvNeXt's gamma)
            return v
        x = self.tensor(n.args[0])
        before, after = self.shape(n.args[0]), n.shape
        if before == after:
            return x
        radix = self.radix_view(n, x, before, after)  # split attention (.attention)
        if radix is not None:
            return radix
        # ECA: the pooled vector viewed as one sequence of C channels for a Conv1d, and back
        from ...layers.dense import Flatten

        if before is not None and after is not None and len(before) == 2 and \
                tuple(after) == (before[0], 1, before[1]) and x.op.kind == Flatten.key:
            return _Val(x.op.inputs[0], "channels")  # the flatten is undone: 1×1×C again
        if x.layout == "channels" and after is not None and len(after) == 4 and \
                before is not None and tuple(after) == (before[0], before[2], 1, 1):
            return _Val(x.op, "nchw")
        if after is not None and len(after) == 2 and before is not None and len(before) > 2:
            return self.flatten(n, x, before)
        # ShuffleNet's channel shuffle: view N×C×H×W as N×g×(C/g)×H×W, transpose 1 and 2,
        # view back.
        if before is not None and after is not None and len(before) == 4 and len(after) == 5 \
                and x.layout == "nchw" and after[1] * after[2] == before[1] \
                and after[3:] == before[2:]:
            return _Val(x.op, ("grouped", after[1]))
        if len(after or ()) == 4 and isinstance(x.layout, tuple) and x.layout[0] == "swapped":
            return self.leaf(n, "shuffle", x.layout[1], x, layout="nchw")
        raise _Unsupported(f"a view from {before} to {after}, which", "flatten or shuffle")

    def f_transpose(self, n):
        x = self.tensor(n.args[0])
        dims = sorted(d % 5 for d in (self.arg(n, 1, "dim0"), self.arg(n, 2, "dim1")))
        radix = self.radix_transpose(x, dims)  # split attention (.attention)
        if radix is not None:
            return radix
        if isinstance(x.layout, tuple) and x.layout[0] == "grouped" and dims == [1, 2]:
            return _Val(x.op, ("swapped", x.layout[1]))
        raise _Unsupported("a transpose outside a channel shuffle, which", "shuffle")

    def f_contiguous(self, n):
        return self.tensor(n.args[0])

    def f_permute(self, n):
        x = self.tensor(n.args[0])
        dims = n.args[1:] if len(n.args) > 2 else self.arg(n, 1, "dims")
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if x.layout == "nchw" and dims == (0, 2, 3, 1):
            return _Val(x.op, "nhwc")
        if x.layout == "nhwc" and dims == (0, 3, 1, 2):
            return _Val(x.op, "nchw")
        raise _Unsupported(f"a permute {dims}, which", "conv (channels in dim 1)")

    def function_layer_norm(self, n):
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        normalized = tuple(self.arg(n, 1, "normalized_shape"))
        c = self.channels_of(shape, x)
        if normalized != (c,):
            raise _Unsupported(f"a layer norm over {normalized} (not the {c} channels), which",
                               "layer_norm")
        weight = self.arg(n, 2, "weight")
        eps = self.arg(n, 4, "eps", 1e-5)
        return self.leaf(n, "layer_norm", self.norm_hp(eps, weight is not None, 1e-5), x)

    def function_pool(self, n):
        mode = "avg" if "avg" in _function_name(n.target) else "max"
        x = self.tensor(n.args[0])
        size = self.arg(n, 1, "kernel_size")
        stride = self.arg(n, 2, "stride", None)
        padding = self.arg(n, 3, "padding", 0)
        if mode == "max":
            dilation = self.arg(n, 4, "dilation", 1)
            ceil = self.arg(n, 5, "ceil_mode", False)
        else:
            dilation, ceil = 1, self.arg(n, 4, "ceil_mode", False)
        return self.pool(n, x, mode, size, stride, padding, dilation, ceil)

    def function_adaptive_pool(self, n):
        mode = "avg" if "avg" in _function_name(n.target) else "max"
        return self.adaptive(n, self.tensor(n.args[0]), mode, self.arg(n, 1, "output_size"))

    def function_global_pool(self, n):
        x = self.tensor(n.args[0])
        shape = self.shape(n.args[0])
        dims = self.arg(n, 1, "dim")
        keep = self.arg(n, 2, "keepdim", False)
        dims = tuple(d % 4 for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
        if shape is None or len(shape) != 4 or x.layout != "nchw" or sorted(dims) != [2, 3]:
            raise _Unsupported(f"a mean over dims {dims}, which", "global_pool")
        y = self.leaf(n, "global_pool", None, x)
        return y if keep else self.leaf(n, "flatten", None, y)

    def function_split(self, n):
        if _function_name(n.target) == "chunk":
            return self.f_chunk(n)
        return self.f_split(n)

    def f_chunk(self, n):
        x = self.tensor(n.args[0])
        parts = self.arg(n, 1, "chunks")
        dim = self.arg(n, 2, "dim", 0)
        return self.chunks(n, x, parts, dim)

    def f_split(self, n):
        x = self.tensor(n.args[0])
        size = self.arg(n, 1, "split_size_or_sections", self.arg(n, 1, "split_size"))
        dim = self.arg(n, 2, "dim", 0)
        shape = self.shape(n.args[0])
        c = shape[dim] if shape else None
        sizes = list(size) if isinstance(size, (tuple, list)) else None
        if not isinstance(size, int) and isinstance(n.shape, tuple) and \
                all(isinstance(s, tuple) for s in n.shape):
            sizes = [s[dim] for s in n.shape]  # sizes computed from a traced shape: as run
        if sizes is not None and len(set(sizes)) == 1:
            size = sizes[0]
        if sizes is not None and len(set(sizes)) > 1 and sum(sizes) == c:
            self.chunks(n, x, 1, dim)  # along the channels, or refused
            return _Val(chunks=(x, tuple(sizes)), const=n.name)  # unequal: runs (.attention)
        if sizes is not None and len(set(sizes)) > 1 or c is None or c % size:
            raise _Unsupported("a split into unequal parts, which", "split (equal parts)")
        return self.chunks(n, x, c // size, dim)

    def chunks(self, n, x, parts, dim) -> _Val:
        shape = self.shape(n.args[0])
        if x.layout != "nchw" or shape is None or dim % len(shape) != 1:
            raise _Unsupported(f"a chunk along dim {dim} (not the channels), which", "split")
        return _Val(chunks=(x, int(parts)), const=n.name)

    def f_getitem(self, n):
        source = self.val(n.args[0])
        if source.chunks is not None:
            x, parts = source.chunks
            index = n.args[1]
            if isinstance(parts, tuple):  # pieces of unequal sizes (.attention)
                return self.piece(n, x, parts, index)
            if not isinstance(index, int) or not -parts <= index < parts:
                raise _Unsupported(f"piece {index!r} of a split into {parts}, which", "split")
            hp = {"parts": parts, "index": index % parts}  # [-1] is the last piece
            return self.leaf(n, "split", hp, x)
        if source.op is not None:
            return self.channel_slice(n, source)
        return _Val(const=None)

    def channel_slice(self, n, x: _Val) -> _Val:
        """``x[:, a:b]``: one of equal slices of the channels (``split``) when b − a divides
        the depth and a is a multiple of it, else a ``slice``."""
        key = n.args[1]
        shape = self.shape(n.args[0])
        full = slice(None, None, None)
        if isinstance(key, tuple) and len(key) >= 2 and key[0] == full and \
                isinstance(key[1], slice) and all(k == full or k is Ellipsis for k in key[2:]) \
                and x.layout == "nchw" and shape is not None and len(shape) == 4:
            c = shape[1]
            start, stop, step = key[1].indices(c)
            width = stop - start
            if step == 1 and width > 0 and c % width == 0 and start % width == 0:
                if width == c:
                    return x
                return self.leaf(n, "split", {"parts": c // width, "index": start // width}, x)
            if step == 1 and width > 0:  # any other run of maps (DPN's two paths)
                return self.channel_run(n, x, start, stop, c)
            how = f"in steps of {step}" if step != 1 else "(empty)"
            raise _Unsupported(f"a slice of channels {start} to {stop} of {c} {how}, which",
                               "slice")
        raise _Unsupported("indexing into an activation, which", "split")

    def f_identity(self, n):
        return self.tensor(n.args[0])

    def f_ignore(self, n):
        return _Val(const=None)

    # -- outputs
    def output(self, n: _Node):
        value = n.args[0]
        items = self.output_items(value)
        vals = [self.val(v) for v in items]
        tensors = [v for v in vals if v.op is not None]
        if not tensors:
            raise _Unsupported("a model that returns no activation")
        return tensors[0].op, [v.op for v in tensors[1:]]

    def output_items(self, value) -> list:
        if isinstance(value, (tuple, list)):
            return [x for v in value for x in self.output_items(v)]
        if isinstance(value, dict):
            return [x for v in value.values() for x in self.output_items(v)]
        node = self.nodes.get(getattr(value, "name", None))
        if node is not None and node.op == "call_function" and isinstance(node.target, type):
            # a namedtuple of outputs (GoogLeNetOutputs, InceptionOutputs)
            return [x for v in node.args for x in self.output_items(v)] + \
                [x for v in node.kwargs.values() for x in self.output_items(v)]
        return [value]

    # -- names of functional layers
    def name_functional(self) -> None:
        """A layer made by a function is named after the module that calls it: the module's
        own name when it holds nothing else (torchvision's LayerNorm2d), else
        ``SCOPE.KIND`` (``conv1.relu``), ``SCOPE.KIND@2`` for a second one."""
        taken = set(self.modules) | {op.name for op in self.ops if op.name}
        per_scope: dict[str, list[_Op]] = {}
        for op in self.ops:
            if op.functional:
                per_scope.setdefault(op.module, []).append(op)
        for scope, ops in per_scope.items():
            module = self.modules.get(scope)
            alone = (len(ops) == 1 and scope and module is not None and
                     not any(True for _ in module.children()) and
                     not any(o.name == scope for o in self.ops))
            for op in ops:
                if alone:
                    op.name = scope
                    continue
                base = f"{scope}.{op.kind}" if scope else op.kind
                name, k = base, 1
                while name in taken:
                    k += 1
                    name = f"{base}@{k}"
                op.name = name
                taken.add(name)


def _function_name(target) -> str:
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", None) or str(target)
    overload = getattr(target, "_overloadpacket", None)
    if overload is not None:  # an aten op from torch.export: aten.add.Tensor → add
        name = getattr(overload, "__name__", name)
    return name.rstrip("_") if name not in ("__getitem__",) else "getitem"


def _describe(n: _Node) -> str:
    name = _function_name(n.target)
    return f"the call {name}()" if n.op == "call_method" else f"the function {name}()"


# The graph's own operations (merges, views, sizes), which no kind stands for; a kind's
# functional forms are declared on its class (see :mod:`.kinds`).
_FUNCTIONS = {
    "add": _Converter.f_add, "iadd": _Converter.f_add, "__add__": _Converter.f_add,
    "__iadd__": _Converter.f_add, "__radd__": _Converter.f_add,
    "mul": _Converter.f_mul, "imul": _Converter.f_mul, "__mul__": _Converter.f_mul,
    "__rmul__": _Converter.f_mul,
    "cat": _Converter.f_cat, "concat": _Converter.f_cat, "concatenate": _Converter.f_cat,
    "view": _Converter.f_view, "reshape": _Converter.f_view, "_unsafe_view": _Converter.f_view,
    "transpose": _Converter.f_transpose,
    "contiguous": _Converter.f_contiguous, "clone": _Converter.f_contiguous,
    "permute": _Converter.f_permute, "stack": _Converter.f_stack,
    "getitem": _Converter.f_getitem, "pad": _Converter.f_pad,
    "size": _Converter.f_ignore, "dim": _Converter.f_ignore, "floordiv": _Converter.f_ignore,
    "_assert": _Converter.f_ignore, "getattr": _Converter.f_ignore,
    "expand_as": _Converter.f_identity, "expand": _Converter.f_identity,
    "detach": _Converter.f_identity, "alias": _Converter.f_identity,
}
