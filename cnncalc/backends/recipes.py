"""Spec → a plan of PyTorch modules, without importing torch.

A :class:`Recipe` names a module class and its constructor arguments.  One builder per layer
kind (registered under its YAML key in :data:`BUILDERS`) turns a leaf and its input shape
into a recipe (a kind with a ``module`` attribute, such as ``relu``, needs none); :func:`plan`
walks the network tree with the engine's walker and nests the leaves in containers that mirror
the spec (sequence, residual, branches, repeat, block use).  The torch
backend instantiates a plan; the exporter prints the same plan as Python source, so a
verified network and an exported one cannot drift apart.

Module names are the spec's names, so ``named_modules()`` lists what ``inspect`` lists: each
name segment (a named block, repeat, residual or branches; a shortcut, a branch, an
iteration) is a module level, and a level that holds an unnamed residual or branches is a
``Block`` that runs its children by a program.  A dotted name (a ``use`` named ``layer2.0``,
a shortcut layer ``downsample.0``) nests in a container, as torchvision's Sequentials do; only
an attribute name such as ``train`` is made safe (``train_``).  The plan keeps, for every leaf, its engine name (the report
row it is compared with) and the recipe object that builds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..layers.base import Layer
from ..layers.traced import Traced
from ..network import Arm, At, Branches, Leaf, Repeat, Residual, Spec, Tap, Visitor, walk
from ..errors import Issue, Location, SpecError
from ..report import Report
from ..formulas import Shape, symbolic_shape, volume_text


@dataclass(frozen=True, eq=False)
class Recipe:
    """``cls(*args, **kwargs)``: ``cls`` is ``nn.Name`` or a class of :mod:`.modules`.

    Argument values are plain Python values, recipes, or :class:`Named` children.
    Recipes compare by identity: each one stands for one module instance.
    """

    cls: str
    args: tuple = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    frozen: bool = False  # requires_grad off (``frozen: true`` in the spec)


@dataclass(frozen=True)
class Named:
    """Ordered named children: an ``OrderedDict`` for ``nn.Sequential``, a dict elsewhere."""

    items: tuple[tuple[str, Recipe], ...]


@dataclass(frozen=True)
class Plan:
    name: str
    input_shape: Shape
    root: Recipe  # an nn.Sequential of the top-level layers
    leaves: tuple[tuple[str, str, Recipe], ...]  # (engine name, kind, recipe), execution order


def call(cls: str, *args, frozen: bool = False, **kwargs) -> Recipe:
    return Recipe(cls, args, tuple(kwargs.items()), frozen)


def _short(v):
    """``(3, 3)`` → ``3``, as one would write it by hand."""
    if isinstance(v, tuple) and len(v) == 2 and v[0] == v[1] and isinstance(v[0], int):
        return v[0]
    return v


def lean(cls: str, *args, defaults: dict, short: bool = True, **kwargs) -> Recipe:
    """A call without the keyword arguments that equal their defaults: readable output.
    ``short`` writes a square pair as one int (PyTorch's modules accept both)."""
    shorten = _short if short else (lambda v: v)
    args = tuple(shorten(a) for a in args)
    kept = {k: shorten(v) for k, v in kwargs.items() if _short(v) != defaults.get(k, object())}
    return call(cls, *args, **kept)


_CONV = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True}
_POOL = {"padding": 0, "ceil_mode": False}


# --- one builder per layer kind -------------------------------------------------------------

Builder = Callable[[Layer, Shape], Recipe]
BUILDERS: dict[str, Builder] = {}


def builder(*keys: str):
    """Register a builder under one or more YAML keys; refuses duplicates."""
    def register(fn: Builder) -> Builder:
        for key in keys:
            if key in BUILDERS:
                raise ValueError(f"layer kind '{key}' has two builders")
            BUILDERS[key] = fn
        return fn
    return register


@builder("conv")
def build_conv(layer, x: Shape) -> Recipe:
    hp = layer.hp
    (top, bottom), (left, right) = layer.pads(x)
    if hp["connections"] is not None:
        return lean("ConnectionConv2d", x.c, hp["connections"], hp["size"], stride=hp["stride"],
                    padding=(left, right, top, bottom), dilation=hp["dilation"], bias=hp["bias"],
                    defaults=dict(_CONV, padding=(0, 0, 0, 0)), short=False)
    common = dict(kernel_size=hp["size"], stride=hp["stride"], dilation=hp["dilation"])
    conv = dict(groups=layer.groups(x), bias=hp["bias"], **common)
    if top == bottom and left == right:
        return lean("nn.Conv2d", x.c, layer.filters(x), padding=(top, left), defaults=_CONV,
                    **conv)
    # 'same' with an odd total: the extra pixel goes after, which Conv2d's padding cannot say.
    return call("nn.Sequential", Named((
        ("pad", call("nn.ZeroPad2d", (left, right, top, bottom))),
        ("conv", lean("nn.Conv2d", x.c, layer.filters(x), defaults=_CONV, **conv)))))


@builder("deconv")
def build_deconv(layer, x: Shape) -> Recipe:
    hp = layer.hp
    return lean("nn.ConvTranspose2d", x.c, hp["filters"], kernel_size=hp["size"],
                stride=hp["stride"], padding=hp["pad"], output_padding=hp["output_pad"],
                groups=hp["groups"], bias=hp["bias"], dilation=hp["dilation"],
                defaults=dict(_CONV, output_padding=0))


@builder("pool")
def build_pool(layer, x: Shape) -> Recipe:
    hp = layer.hp
    stride = layer.stride()
    if hp["trainable"]:
        return lean("Subsampling", x.c, hp["size"], stride, padding=hp["pad"],
                    ceil_mode=hp["ceil"], mode=str(hp["mode"]), defaults=dict(_POOL, mode="avg"),
                    short=False)
    cls = "nn.MaxPool2d" if hp["mode"] == "max" else "nn.AvgPool2d"
    return lean(cls, hp["size"], stride=stride, padding=hp["pad"], ceil_mode=hp["ceil"],
                defaults=_POOL)


@builder("global_pool")
def build_global_pool(layer, x: Shape) -> Recipe:
    return call("nn.AdaptiveMaxPool2d" if layer.hp["mode"] == "max" else "nn.AdaptiveAvgPool2d", 1)


@builder("adaptive_pool")
def build_adaptive_pool(layer, x: Shape) -> Recipe:
    cls = "nn.AdaptiveMaxPool2d" if layer.hp["mode"] == "max" else "nn.AdaptiveAvgPool2d"
    return lean(cls, layer.hp["size"], defaults={})


@builder("crop")
def build_crop(layer, x: Shape) -> Recipe:
    # A negative pad is a slice: ZeroPad2d((−left, −right, −top, −bottom)) is x[..., t:H−b, l:W−r].
    (top, bottom), (left, right) = layer.margins(x)
    return call("nn.ZeroPad2d", (-left, -right, -top, -bottom))


@builder("bn")
def build_bn(layer, x: Shape) -> Recipe:
    return lean("nn.BatchNorm2d" if x.spatial else "nn.BatchNorm1d", x.c, eps=layer.hp["eps"],
                affine=layer.hp["affine"], defaults={"eps": 1e-5, "affine": True})


@builder("lrn")
def build_lrn(layer, x: Shape) -> Recipe:
    hp = layer.hp
    return lean("nn.LocalResponseNorm", hp["size"], alpha=hp["alpha"], beta=hp["beta"],
                k=hp["k"], defaults={"alpha": 1e-4, "beta": 0.75, "k": 1.0})


def builder_for(layer: Layer) -> Builder:
    """The kind's builder, or the plain module its class names."""
    found = BUILDERS.get(layer.key)
    if found is not None:
        return found
    if layer.module is not None:
        return build_module
    raise KeyError(f"layer kind '{layer.key}' has no builder and no module")


def build_module(layer: Layer, x: Shape) -> Recipe:
    """The kind's plain module, its fields that differ from their defaults passed as the
    constructor arguments its class's ``torch.settings`` name (``inplace=True``)."""
    cls = type(layer)
    kwargs = {cls.torch.attribute(f.name): _plain(layer.hp[f.name]) for f in cls.fields
              if layer.hp[f.name] != f.default}
    return call(layer.module, **kwargs)


def _plain(value):
    return value.value if hasattr(value, "value") and isinstance(value, str) else value


@builder("leaky_relu")
def build_leaky_relu(layer, x: Shape) -> Recipe:
    if layer.in_place:
        return call("nn.LeakyReLU", layer.hp["slope"], inplace=True)
    return call("nn.LeakyReLU", layer.hp["slope"])


@builder("softmax")
def build_softmax(layer, x: Shape) -> Recipe:
    return call("nn.Softmax", dim=1)  # over the channels (dim 0 is the batch)


@builder("dropout")
def build_dropout(layer, x: Shape) -> Recipe:
    return call("nn.Dropout", layer.hp["p"])


@builder("flatten")
def build_flatten(layer, x: Shape) -> Recipe:
    return call("nn.Flatten")


@builder("fc")
def build_fc(layer, x: Shape) -> Recipe:
    return lean("nn.Linear", x.c, layer.hp["units"], bias=layer.hp["bias"],
                defaults={"bias": True})


@builder("rbf")
def build_rbf(layer, x: Shape) -> Recipe:
    return call("RBF", x.c, layer.hp["units"])


@builder("upsample")
def build_upsample(layer, x: Shape) -> Recipe:
    return call("nn.Upsample", scale_factor=layer.hp["scale"], mode=str(layer.hp["mode"]))


# --- kinds the torchvision CNNs need (issue 12) ---------------------------------------------

@builder("split")
def build_split(layer, x: Shape) -> Recipe:
    return call("ChannelSplit", layer.hp["parts"], layer.hp["index"])


@builder("slice")
def build_slice(layer, x: Shape) -> Recipe:
    return lean("ChannelSlice", start=layer.hp["start"], end=layer.hp["end"],
                defaults={"start": 0, "end": None})


@builder("radix_sum")
def build_radix_sum(layer, x: Shape) -> Recipe:
    return call("RadixSum", layer.hp["radix"])


@builder("radix_softmax")
def build_radix_softmax(layer, x: Shape) -> Recipe:
    return lean("RadixSoftmax", layer.hp["radix"], groups=layer.hp["groups"],
                defaults={"groups": 1})


@builder("shuffle")
def build_shuffle(layer, x: Shape) -> Recipe:
    return call("nn.ChannelShuffle", layer.hp["groups"])


@builder("channel_conv")
def build_channel_conv(layer, x: Shape) -> Recipe:
    return lean("ChannelConv", layer.hp["size"], padding=layer.hp["pad"], bias=layer.hp["bias"],
                defaults={"padding": 0, "bias": True})


@builder("layer_norm")
def build_layer_norm(layer, x: Shape) -> Recipe:
    return lean("ChannelLayerNorm" if x.spatial else "nn.LayerNorm", x.c, eps=layer.hp["eps"],
                elementwise_affine=layer.hp["affine"],
                defaults={"eps": 1e-5, "elementwise_affine": True})


@builder("layer_scale")
def build_layer_scale(layer, x: Shape) -> Recipe:
    return lean("LayerScale", x.c, init=layer.hp["init"], spatial=x.spatial,
                defaults={"init": 1e-6, "spatial": True})


@builder("stochastic_depth")
def build_stochastic_depth(layer, x: Shape) -> Recipe:
    return lean("StochasticDepth", layer.hp["p"], mode=str(layer.hp["mode"]),
                defaults={"mode": "row"})


# --- the tree -------------------------------------------------------------------------------

# nn.Module attributes a child name must not shadow (add_module refuses them).
RESERVED = frozenset("""T_destination add_module apply bfloat16 buffers call_super_init children
compile cpu cuda double dump_patches eval extra_repr float forward get_buffer get_extra_state
get_parameter get_submodule half ipu load_state_dict modules mtia named_buffers named_children
named_modules named_parameters parameters register_backward_hook register_buffer
register_forward_hook register_forward_pre_hook register_full_backward_hook
register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train training type xpu zero_grad""".split())


class _Level:
    """One module level: the children under their spec names, and the program of steps that
    runs them (see ``modules.Block``).  A dotted name (``downsample.0``, as torchvision names
    a Sequential's children) nests: a container ``downsample`` holds ``0``."""

    def __init__(self):
        self.children: list[tuple[str, "Recipe | _Level"]] = []
        self.taken: set[str] = set()

    def add(self, wanted: str, recipe: Recipe) -> list[str]:
        """Place ``recipe`` under ``wanted`` (made unique); returns the steps that run it.

        A sequence added under the name of a container that dotted names made (a repeat
        ``layer1`` with ``start: 1`` after a block named ``layer1.0``) joins that container:
        its steps are then each of its children's, in order."""
        head, dot, rest = wanted.partition(".")
        existing = next((c for n, c in self.children if n == wanted), None)
        if isinstance(existing, _Level) and recipe.cls == "nn.Sequential" and recipe.args:
            return [step for name, child in recipe.args[0].items
                    for step in (f"{wanted}.{s}" for s in existing.add(name, child))]
        if dot and head and rest and safe_name(head) == head:
            container = next((c for n, c in self.children if n == head), None)
            if container is None and head not in self.taken:
                container = _Level()
                self.taken.add(head)
                self.children.append((head, container))
            if isinstance(container, _Level):
                return [f"{head}.{s}" for s in container.add(rest, recipe)]
        name = safe_name(wanted)
        base, k = name, 1
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.children.append((name, recipe))
        return [name]

    def named(self) -> Named:
        return Named(tuple((name, call("nn.ModuleDict", child.named())
                            if isinstance(child, _Level) else child)
                           for name, child in self.children))

    def module(self, program: list) -> Recipe:
        """An ``nn.Sequential`` when the program just runs the children in order, else a
        ``Block`` that runs the program."""
        if program == [name for name, _ in self.children]:
            return call("nn.Sequential", self.named())
        return call("Block", self.named(), program=program)


def safe_name(wanted: str) -> str:
    """A child name nn.Module accepts: no '.', not empty, not an attribute of nn.Module."""
    base = wanted.replace(".", "_")
    if base in RESERVED or base.startswith("_") or not base:
        base = f"{base}_"
    return base


class _Planner(Visitor[None]):
    """Builds the module tree with the spec's names: a level per name segment (a named block,
    repeat, residual or branches; a shortcut; a branch; an iteration), a program per level."""

    def __init__(self, report: Report, taps: frozenset[str] = frozenset()):
        self.taps = taps  # the outputs a ``from:`` reads: saved where they are made
        self.rows = report.layers
        self.leaves: list[tuple[str, str, Recipe]] = []
        self.levels = [_Level()]
        self.programs: list[list] = [[]]  # the steps being written, innermost last
        self.arms: list[list] = []  # per combinator being built, its arms' steps
        self.recipes: dict[str, Recipe] = {}  # each leaf's module recipe, for ``share:``

    def leaf(self, at: At, node: Leaf, x: None) -> None:
        row = self.rows[at.index]
        recipe = builder_for(node.layer)(node.layer, row.input_shape)
        if at.frozen:
            recipe = Recipe(recipe.cls, recipe.args, recipe.kwargs, True)
        if at.share:  # the module of the layer it shares, called again
            target = self.recipes[at.share]
            self.recipes[at.name] = target
            recipe = call("Shared", at.share, target=target)
        else:
            self.recipes[at.name] = recipe
        self.leaves.append((at.name, node.kind, recipe))
        self.programs[-1].extend(self.levels[-1].add(node.name, recipe))
        if at.name in self.taps:
            self.programs[-1].append(("save", at.name))

    def tap(self, at: At, node: Tap, source: str, x: None, y: None) -> None:
        self.programs[-1].append(("load", source))

    def enter(self, at: At, node, x: None) -> None:
        if isinstance(node, Arm):
            if node.segment:  # a shortcut, a branch, an iteration (unless flat): a level
                self.levels.append(_Level())
            self.programs.append([])
            return
        if node.name:
            self.levels.append(_Level())
            self.programs.append([])
        if isinstance(node, (Residual, Branches, Repeat)):
            self.arms.append([])

    def leave(self, at: At, node, x: None, y: None) -> None:
        if isinstance(node, Arm):
            steps = self.programs.pop()
            if node.segment:
                level = self.levels.pop()
                # an empty shortcut or branch is the identity: no module, no step
                steps = self.levels[-1].add(node.segment, level.module(steps)) \
                    if level.children else steps  # [], or a from: alone
            self.arms[-1].append(steps)
            return
        if isinstance(node, (Residual, Branches, Repeat)):
            arms = self.arms.pop()
            if isinstance(node, Residual):
                main, shortcut = arms
                self.programs[-1].append(("residual", main, shortcut))
            elif isinstance(node, Branches):
                self.programs[-1].append((str(node.merge), arms))
            else:
                self.programs[-1].extend(step for arm in arms for step in arm)
        if node.name:
            steps, level = self.programs.pop(), self.levels.pop()
            self.programs[-1].extend(self.levels[-1].add(node.name, level.module(steps)))
        if node.name and at.name in self.taps:
            self.programs[-1].append(("save", at.name))


class _Taps(Visitor[None]):
    """The full names of the outputs that a ``from:`` reads."""

    def __init__(self):
        self.found: set[str] = set()

    def leaf(self, at: At, node: Leaf, x: None) -> None:
        return None

    def tap(self, at: At, node: Tap, source: str, x: None, y: None) -> None:
        self.found.add(source)


def refuse_traced(spec: Spec) -> None:
    """A ``traced`` layer (from import) stands for code cnncalc has no kind for: no module can
    be built for it, so verify and export refuse the spec, naming every traced layer."""
    from ..network import leaves

    traced = [(at.name, leaf) for at, leaf in leaves(spec.layers) if leaf.layer.from_trace]
    if not traced:
        return
    names = [name for name, _ in traced]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    raise SpecError(Issue(traced[0][1].loc, f"{len(names)} traced layer"
                                            f"{'s' if len(names) != 1 else ''} ({shown}): "
                                            f"{'its' if len(names) == 1 else 'their'} numbers "
                                            f"were taken from a PyTorch trace of "
                                            f"code cnncalc has no kind for, so no module can be "
                                            f"built for them",
                          hint="check the model itself instead: its import's expect: totals "
                               "are PyTorch's own (cnncalc check); docs/import.md#traced-layers"))


@builder(Traced.key)
def build_traced(layer: Layer, x: Shape) -> Recipe:
    """Never reached: :func:`plan` refuses a spec with a traced layer first."""
    raise SpecError(Issue(Location("<spec>"), f"a traced layer ({layer.hp['op']}) cannot be "
                                              f"rebuilt in PyTorch"))


def plan(spec: Spec, report: Report) -> Plan:
    """The module plan of ``spec``; ``report`` (the engine's) gives each leaf's input shape."""
    if symbolic_shape(spec.input_shape):
        raise SpecError(Issue(Location(spec.source), f"the input {volume_text(spec.input_shape)} "
                                                     f"has symbols: PyTorch needs numbers",
                              hint="give the input in numbers (cnncalc sizes lists the sizes "
                                   "that work)"))
    refuse_traced(spec)
    taps = _Taps()
    walk(spec.layers, taps, None)
    planner = _Planner(report, frozenset(taps.found))
    walk(spec.layers, planner, None)
    root = planner.levels[0].module(planner.programs[0])
    return Plan(spec.name, spec.input_shape, root, tuple(planner.leaves))


def module_paths(recipe: Recipe, prefix: str = "", found: dict | None = None) -> dict:
    """Each recipe's dotted module path in the built model (``get_submodule``'s), by id."""
    found = {} if found is None else found
    found[id(recipe)] = prefix
    for value in recipe.args:
        if isinstance(value, Named):
            for name, child in value.items:
                module_paths(child, f"{prefix}.{name}" if prefix else name, found)
    return found


def used_classes(recipe: Recipe, found: set[str] | None = None) -> set[str]:
    """Every class name a recipe tree instantiates."""
    found = set() if found is None else found
    found.add(recipe.cls)
    if recipe.cls == "Shared":
        return found  # its target is built where it stands
    for value in (*recipe.args, *(v for _, v in recipe.kwargs)):
        if isinstance(value, Recipe):
            used_classes(value, found)
        elif isinstance(value, Named):
            for _, child in value.items:
                used_classes(child, found)
    return found
