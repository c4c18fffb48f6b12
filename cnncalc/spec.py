"""YAML → network tree, with a location on every node, blocks expanded and names given.

The text comes from :mod:`cnncalc.sources` (a path, ``zoo:NAME`` or standard input), is read
into located maps and lists by :mod:`cnncalc.located_yaml`, then validated in one pass:
independent problems are all reported together, each as
``FILE:LINE:COL: error: <trail> → message; hint``.

Naming: an unnamed leaf is called after its kind and its count in its level (``conv1``,
``bn1``, ``relu1``, ``conv2``), as torchvision names BasicBlock's layers.  An unnamed
``residual`` or ``branches`` adds no level; a shortcut adds ``shortcut``, each path
``branch1``, ``branch2``…; a ``repeat`` adds its name and the iteration (``layer1.0``); an
unnamed ``use`` adds the block's name and count, unless it is the whole body of a ``repeat``
(then the iteration is its name).
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import expr
from . import params as toplevel
from .errors import Issue, Location, SpecError
from .layers import REGISTRY, closest
from .located_yaml import YList, YMap, compose
from .network import (COMBINATORS, MAX_LAYERS, Branches, Claim, Group, Leaf, Merge, Node,
                      Repeat, Residual, Spec, Tap, count_leaves)
from .codes import CODES
from .formulas import Shape, parse_input, parse_volume
from .sources import read_source

TOP_KEYS = ("name", "params", "input", "layers", "blocks", "expect", "description")
SIBLINGS = ("name", "expect", "frozen", "allow", "share")
CLAIM_FIELDS = ("output", "params", "trainable_params", "buffers", "macs", "connections",
                "activations", "rf")
MAX_BLOCK_DEPTH = 50  # blocks used inside blocks used inside …


def load(source: str | os.PathLike, *, text: str | None = None,
         params: dict[str, Any] | None = None) -> Spec:
    """Load a spec from a path, ``zoo:NAME``, or YAML text.

    A string with a newline, or one that starts with '{' (a flow mapping), is read as the spec
    itself.  ``params`` overrides the spec's top-level ``params:`` (``--set``).
    """
    if text is not None:
        return parse(text, str(source), params)
    src = str(source)
    if isinstance(source, str) and ("\n" in src or src.lstrip().startswith("{")):
        return parse(src, "<text>", params)
    body, name = read_source(source)
    return parse(body, name, params)


def parse(text: str, file: str = "<text>", params: dict[str, Any] | None = None) -> Spec:
    # Parsing makes many small objects and no cycles that matter: the collector's passes
    # over them cost half the time of a 10,000-layer spec, so it waits until we are done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        data = compose(text, file)
        return _Builder(file, params).build(data)
    finally:
        if enabled:
            gc.enable()


def _settings_key(cls, body: Any) -> tuple | None:
    """What makes two layers of ``cls`` equal: their raw settings, types included (1, 1.0 and
    true differ).  None where a setting reads a block's ``$parameter`` (its value depends on
    the use) or is not a plain scalar or list of them."""
    if body is None:
        return (cls,)
    if isinstance(body, YMap):
        items = body.items()
    else:
        items = ((None, body),)
    key: list = [cls]
    for name, value in items:
        if isinstance(value, list):
            if not all(type(v) in _PLAIN for v in value):
                return None
            value = tuple((type(v), v) for v in value)
            if any(isinstance(v, str) and "$" in v for _, v in value):
                return None
        elif type(value) not in _PLAIN or (type(value) is str and "$" in value):
            return None
        key.append((name, type(value), value))
    return tuple(key)


_PLAIN = frozenset({int, str, bool, float, type(None)})


# --- the builder ----------------------------------------------------------------------------

@dataclass(slots=True)
class _Level:
    """One naming level: counts per kind, and the names already taken."""

    counts: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def auto(self, base: str, numbered: bool = True) -> str:
        while True:
            k = self.counts.get(base, 0) + 1
            self.counts[base] = k
            # relu6's first is relu6_1, not relu61 ("relu number 61")
            sep = "_" if base[-1:].isdigit() else ""
            name = f"{base}{sep}{k}" if numbered or k > 1 else base
            if name not in self.taken:
                self.taken.add(name)
                return name


@dataclass(slots=True)
class _Ctx:
    env: dict[str, Any]
    trail: str
    uses: tuple[str, ...] = ()  # the block names being expanded, outermost first


class _Builder:
    def __init__(self, file: str, overrides: dict[str, Any] | None = None):
        self.file = file
        self.overrides = overrides or {}
        self.globals: dict[str, Any] = {}  # the spec's params: (--set applied)
        self.issues: list[Issue] = []
        self.blocks: dict[str, YMap | YList] = {}
        self.block_locs: dict[str, Location] = {}
        self.used: set[str] = set()
        self.layers: dict[tuple, Any] = {}  # settings → the one layer made from them

    # -- issues
    def err(self, loc: Location, trail: str, message: str, hint: str = "") -> None:
        issue = Issue(loc, message, trail, hint)
        if issue not in self.issues:
            self.issues.append(issue)

    def fail(self) -> None:
        if self.issues:
            raise SpecError(self.issues)

    # -- top level
    def build(self, data: Any) -> Spec:
        root = Location(self.file, 1, 1)
        if not isinstance(data, YMap):
            raise SpecError(Issue(getattr(data, "loc", root), "a spec is a mapping with "
                                  "'input:' and 'layers:'", hint="see `cnncalc layers` and the "
                                                                 "README for an example"))
        for key in data:
            if key not in TOP_KEYS:
                near = closest(key, TOP_KEYS)
                self.err(data.key_locs[key], "", f"unknown top-level key '{key}'",
                         f"did you mean '{near}'?" if near else f"the keys are {', '.join(TOP_KEYS)}")
        name = data.get("name", Path(self.file).stem if not self.file.startswith("<") else "net")
        self.globals = toplevel.read(data, self.overrides, self.err)
        top = _Ctx(self.scope({}), "layers")
        if "input" not in data:
            self.err(data.loc, "", "missing 'input:'", "give the input volume, e.g. input: 32x32x3")
            shape = None
        else:
            shape = self.input_shape(data["input"], data.value_locs["input"], top)
        blocks = data.get("blocks")
        if blocks is not None:
            self.read_blocks(blocks, data.value_locs["blocks"])
        layers: tuple[Node, ...] = ()
        if "layers" not in data:
            self.err(data.loc, "", "missing 'layers:'", "list the layers, e.g. layers: [{conv: "
                                                       "{filters: 6, size: 5}}, relu]")
        else:
            layers = self.sequence(data["layers"], data.value_locs["layers"], top, _Level(),
                                   required=True)
        expect = self.claims(data["expect"], data.value_locs["expect"],
                             "expect") if "expect" in data else ()
        for bname in self.blocks:
            if bname not in self.used:
                self.check_unused_block(bname)
        self.fail()
        if count_leaves(layers) > MAX_LAYERS:
            raise SpecError(Issue(data.value_locs["layers"], f"the net has "
                                  f"{count_leaves(layers):,} layers; cnncalc handles at most "
                                  f"{MAX_LAYERS:,}"))
        return Spec(str(name), shape, layers, expect, self.file,
                    str(data.get("description", "") or ""))

    def scope(self, env: dict[str, Any]) -> dict[str, Any]:
        """``env`` (a block's parameters) over the spec's own params."""
        if not self.globals:
            return env
        return {**self.globals, expr.SPEC_SCOPE: tuple(self.globals), **env}

    def input_shape(self, value: Any, loc: Location, ctx: _Ctx) -> Shape | None:
        if isinstance(value, str) and "$" in value:
            try:
                value = toplevel.input_text(value, ctx.env)
            except ValueError as e:
                self.err(loc, "input", str(e))
                return None
        if isinstance(value, YMap):
            keys = {"width", "height", "channels"}
            extra = set(value) - keys
            if extra or not {"width", "height"} <= set(value):
                self.err(loc, "input", "give {width: W, height: H, channels: D}",
                         f"unknown key(s) {sorted(map(str, extra))}" if extra else "")
                return None
            try:
                w, h, d = (toplevel.size(self.value(value[k], ctx), k) if k in value else 1
                           for k in ("width", "height", "channels"))
                return parse_input(f"{w}x{h}x{d}", by_name=False)
            except ValueError as e:
                self.err(loc, "input", str(e))
                return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.err(loc, "input", f"expected a volume like 32x32x3, got {value!r}")
            return None
        try:
            return parse_input(str(value))
        except ValueError as e:
            self.err(loc, "input", str(e))
            return None

    def read_blocks(self, blocks: Any, loc: Location) -> None:
        if not isinstance(blocks, YMap):
            self.err(loc, "blocks", "must map block names to {params: …, layers: […]}")
            return
        for bname, body in blocks.items():
            bloc = blocks.value_locs[bname]
            trail = f"blocks.{bname}"
            if isinstance(body, YMap):
                for key in body:
                    if key not in ("params", "layers", "description"):
                        near = closest(key, ("params", "layers"))
                        self.err(body.key_locs[key], trail, f"unknown key '{key}'",
                                 f"did you mean '{near}'?" if near else
                                 "a block has params: and layers:")
                if "layers" not in body:
                    self.err(bloc, trail, "missing 'layers:'")
                    continue
                params = body.get("params", {})
                if params is None:
                    params = {}
                if not isinstance(params, (YMap, YList, dict)):
                    self.err(body.value_locs.get("params", bloc), trail + ".params",
                             "must map parameter names to defaults, or list required names")
                    continue
            elif not isinstance(body, YList):
                self.err(bloc, trail, "must be a list of layers or {params: …, layers: […]}")
                continue
            self.blocks[str(bname)] = body
            self.block_locs[str(bname)] = bloc

    def block_params(self, body: Any) -> tuple[dict[str, Any], set[str]]:
        """Defaults, and the names that have none."""
        if not isinstance(body, YMap):
            return {}, set()
        params = body.get("params") or {}
        if isinstance(params, YList):
            return {}, {str(p) for p in params}
        return {str(k): v for k, v in params.items() if v is not None}, \
            {str(k) for k, v in params.items() if v is None}

    def check_unused_block(self, bname: str) -> None:
        """Validate a block nobody uses, with its defaults, so that its mistakes still show."""
        body = self.blocks[bname]
        defaults, required = self.block_params(body)
        if required:
            return
        layers = body["layers"] if isinstance(body, YMap) else body
        loc = body.value_locs["layers"] if isinstance(body, YMap) else self.block_locs[bname]
        self.used.add(bname)
        self.sequence(layers, loc, _Ctx(self.scope(defaults), f"blocks.{bname}", (bname,)),
                      _Level(), required=True)

    # -- values
    def value(self, raw: Any, ctx: _Ctx) -> Any:
        """Substitute ``$params`` anywhere inside a value; raises ValueError."""
        if isinstance(raw, str) and "$" in raw:
            return expr.substitute(raw, ctx.env)
        if isinstance(raw, list):
            return [self.value(v, ctx) for v in raw]
        return raw

    # -- sequences and nodes
    def sequence(self, items: Any, loc: Location, ctx: _Ctx, level: _Level,
                 required: bool = False) -> tuple[Node, ...]:
        """A list of layers; ``required``: it may not be empty (layers:, a block, a repeat)."""
        if required and not items:
            self.err(loc, ctx.trail, "is empty: list at least one layer",
                     "e.g. - conv: {filters: 6, size: 5}")
            return ()
        if items is None:
            return ()
        if not isinstance(items, YList):
            self.err(loc, ctx.trail, "must be a list of layers (each line starting with '- ')")
            return ()
        nodes = []
        for i, item in enumerate(items):
            node = self.node(item, items.item_locs[i], _Ctx(ctx.env, f"{ctx.trail}[{i}]",
                                                            ctx.uses), level)
            if node is not None:
                nodes.append(node)
        return tuple(nodes)

    def settings_beside(self, item: YMap, keys: list, ctx: _Ctx) -> bool:
        """The commonest indentation slip: ``- conv:`` with its settings on the next lines but
        not indented under it, so they stand beside the kind.  Reported at the first of them
        (True) when exactly one key is a kind and every other is one of its settings (or
        near one: a misspelt setting is named too)."""
        kinds = [k for k in keys if str(k) in REGISTRY or str(k) in COMBINATORS]
        if len(kinds) != 1 or item[kinds[0]] not in (None, ""):
            return False
        kind = str(kinds[0])
        fields = ({f.name for f in REGISTRY[kind].fields} if kind in REGISTRY
                  else set(re.findall(r"(\w+): ", COMBINATORS[kind])))
        beside = [k for k in keys if k != kinds[0]]
        misspelt = {k: closest(str(k), fields) for k in beside if str(k) not in fields}
        if len(misspelt) == len(beside) or not all(misspelt.values()):
            return False  # not one of its settings, nor near one: two layers in one item
        names = " and ".join(f"'{k}'" for k in beside) if len(beside) <= 2 else \
            ", ".join(f"'{k}'" for k in beside[:-1]) + f" and '{beside[-1]}'"
        flow = ", ".join(f"{misspelt.get(k, k)}: {item[k]}"
                         if isinstance(item[k], (int, float, str)) else
                         f"{misspelt.get(k, k)}: …" for k in beside)
        self.err(item.key_locs[beside[0]], ctx.trail,
                 f"{names} {'is a setting' if len(beside) == 1 else 'are settings'} of {kind}, but "
                 f"{'it stands' if len(beside) == 1 else 'they stand'} beside '{kind}:', "
                 f"not under it",
                 f"indent {'it' if len(beside) == 1 else 'them'} under '{kind}:' (two spaces "
                 f"further in than '{kind}'), or write {kind}: {{{flow}}}"
                 + "".join(f"; '{k}' is not a setting of {kind}: did you mean '{near}'?"
                           for k, near in misspelt.items()))
        return True

    def node(self, item: Any, loc: Location, ctx: _Ctx, level: _Level,
             in_repeat: bool = False) -> Node | None:
        if isinstance(item, str):
            kind, body, siblings = item.strip(), None, YMap.at(loc)
        elif isinstance(item, YMap):
            kinds = [k for k in item if k not in SIBLINGS and k != "with"]
            if len(kinds) != 1 and self.settings_beside(item, kinds, ctx):
                return None
            if len(kinds) != 1:
                what = "no layer kind" if not kinds else f"{len(kinds)} kinds ({', '.join(map(str, kinds))})"
                hint = "split it into one list item per layer"
                for k in kinds:
                    near = closest(str(k), SIBLINGS + ("with",))
                    if str(k) not in REGISTRY and str(k) not in COMBINATORS and near:
                        hint = f"'{k}' is not a kind: did you mean '{near}'?"
                        break
                self.err(loc, ctx.trail, f"a layer is one kind with its settings, but this has "
                                         f"{what}", hint)
                return None
            kind = kinds[0]
            body, siblings = item[kind], item
            if "with" in item and kind != "use":
                self.err(item.key_locs["with"], ctx.trail, "'with:' belongs to 'use:'")
        else:
            self.err(loc, ctx.trail, f"a layer is a word (relu) or a one-key mapping "
                                     f"(conv: {{filters: 6, size: 5}}), got {item!r}")
            return None
        kind = str(kind)
        trail = f"{ctx.trail}.{kind}"
        if kind == "from":
            return self.tap(body, siblings, siblings.key_locs.get(kind, loc), trail)
        name, frozen, allow, expect, share = None, False, (), (), None
        if len(siblings) > 1:  # beside the kind: name, frozen, allow, expect (or mistakes)
            name = self.name_of(siblings, ctx, level)
            frozen = self.frozen_of(siblings, ctx)
            allow = self.allow_of(siblings, ctx)
            share = self.share_of(siblings, ctx, kind)
            if "expect" in siblings:
                expect = self.claims(siblings["expect"], siblings.value_locs["expect"],
                                     f"{ctx.trail}.expect")
        kloc = siblings.key_locs.get(kind, loc)
        sub = _Ctx(ctx.env, trail, ctx.uses)
        if kind in COMBINATORS:
            if kind == "use":
                node = self.use(body, siblings, kloc, sub, level, name, frozen, in_repeat)
            else:  # the builder's method of the same name: residual, branches, repeat
                node = getattr(self, kind)(body, kloc, sub, level, name, frozen)
            if node is not None and (expect or allow):
                node = replace(node, expect=expect, allow=allow)
            return node
        cls = REGISTRY.get(kind)
        if cls is None:
            near = closest(kind, list(REGISTRY) + list(COMBINATORS))
            self.err(kloc, ctx.trail, f"unknown layer kind '{kind}'",
                     f"did you mean '{near}'?" if near else "`cnncalc layers` lists the kinds")
            return None
        layer = self.layer(cls, body, siblings, kind, loc, sub)
        if layer is None:
            return None
        return Leaf(layer, name or level.auto(kind), kloc, expect, frozen, allow, share,
                    siblings.value_locs["share"] if share else None)

    def share_of(self, siblings: YMap, ctx: _Ctx, kind: str) -> str | None:
        """``share: NAME``: the earlier layer whose weights this one uses (resolved by the
        walk, checked by the engine)."""
        if "share" not in siblings:
            return None
        raw, loc = siblings["share"], siblings.value_locs["share"]
        if kind in COMBINATORS:
            self.err(siblings.key_locs["share"], ctx.trail + ".share",
                     f"'share:' belongs to a layer, not to a {kind}",
                     "put share: NAME beside each layer that reuses an earlier layer's weights")
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not str(raw).strip() \
                or any(not part for part in str(raw).strip().split(".")):
            self.err(loc, ctx.trail + ".share", f"must name an earlier layer, e.g. "
                                                f"'share: conv1', got {raw!r}")
            return None
        return str(raw).strip()

    def tap(self, body: Any, siblings: YMap, loc: Location, trail: str) -> Tap | None:
        """``- from: NAME``: the name of an earlier output (see :class:`Tap`)."""
        if len(siblings) > 1:
            self.err(loc, trail, "'from:' stands alone: it names an earlier output and has "
                                 "no name, frozen, allow or expect of its own")
            return None
        if not isinstance(body, str) or not body.strip() or any(
                not part for part in str(body).split(".")):
            self.err(loc, trail, f"must name an earlier layer or named level, e.g. "
                                 f"'from: layer1.relu', got {body!r}")
            return None
        return Tap(str(body).strip(), loc)

    def layer(self, cls, body: Any, siblings: YMap, kind: str, loc: Location, ctx: _Ctx):
        """The layer these settings make; equal settings share one (valid) layer object.

        A 100,000-layer stack repeats a handful of settings: validating each once, and
        holding one layer for all its copies, saved a third of the parse and 30 MB.  Layers
        are read-only after construction, so sharing them is safe.
        """
        key = _settings_key(cls, body)
        layer = self.layers.get(key) if key is not None else None
        if layer is None:
            hp = self.hyperparameters(cls, body, siblings.value_locs.get(kind, loc), ctx)
            if hp is None:
                return None
            layer = cls(hp)
            if key is not None:
                self.layers[key] = layer
        return layer

    def allow_of(self, siblings: YMap, ctx: _Ctx) -> tuple[str, ...]:
        """``allow: [CN106]``: diagnostic codes silenced on this layer (and inside it)."""
        if "allow" not in siblings:
            return ()
        raw, loc = siblings["allow"], siblings.value_locs["allow"]
        items = raw if isinstance(raw, list) else [raw]
        codes = []
        for item in items:
            code = str(item).strip().upper()
            if code not in CODES:
                near = closest(code.lower(), [c.lower() for c in CODES])
                self.err(loc, ctx.trail + ".allow", f"unknown diagnostic code {item!r}",
                         f"did you mean '{near.upper()}'?" if near else
                         "`cnncalc lint` and the README list the codes")
                continue
            codes.append(code)
        return tuple(codes)

    def name_of(self, siblings: YMap, ctx: _Ctx, level: _Level) -> str | None:
        if "name" not in siblings:
            return None
        raw = siblings["name"]
        loc = siblings.value_locs["name"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or str(raw).strip() == "":
            self.err(loc, ctx.trail + ".name", f"a name is a word, got {raw!r}")
            return None
        name = str(raw)
        if name in level.taken:
            self.err(loc, ctx.trail + ".name", f"the name '{name}' is used twice at this level",
                     "give each layer its own name")
        level.taken.add(name)
        return name

    def flat_of(self, body: YMap, ctx: _Ctx) -> bool:
        v = body.get("flat", False)
        if not isinstance(v, bool):
            self.err(body.value_locs["flat"], ctx.trail + ".flat", f"must be true or false, got {v!r}")
            return False
        return v

    def frozen_of(self, siblings: YMap, ctx: _Ctx) -> bool:
        if "frozen" not in siblings:
            return False
        v = siblings["frozen"]
        if not isinstance(v, bool):
            self.err(siblings.value_locs["frozen"], ctx.trail + ".frozen",
                     f"must be true or false, got {v!r}")
            return False
        return v

    def hyperparameters(self, cls, body: Any, loc: Location, ctx: _Ctx) -> dict | None:
        fields = {f.name: f for f in cls.fields}
        raw: dict[str, tuple[Any, Location]] = {}
        if isinstance(body, YMap):
            for key, v in body.items():
                raw[str(key)] = (v, body.value_locs[key])
                if key in SIBLINGS and key not in fields:
                    self.err(body.key_locs[key], ctx.trail, f"{cls.key} has no setting '{key}'",
                             f"'{key}:' belongs beside '{cls.key}:', not inside its settings: "
                             f"write it on its own line, indented like '{cls.key}:'")
                elif key not in fields:
                    near = closest(str(key), fields)
                    known = ", ".join(fields) if fields else "none"
                    self.err(body.key_locs[key], ctx.trail, f"{cls.key} has no setting '{key}'",
                             f"did you mean '{near}'?" if near else f"its settings: {known}")
        elif body is not None:
            if cls.primary is None:
                self.err(loc, ctx.trail, f"{cls.key} takes settings as a mapping, got {body!r}",
                         f"write {cls.key}: {{{', '.join(fields)}: …}}" if fields
                         else f"write it as a bare word: - {cls.key}")
                return None
            raw[cls.primary] = (body, loc)
        hp, ok = {}, True
        for fname, f in fields.items():
            if fname not in raw:
                if f.required:
                    self.err(loc, ctx.trail, f"missing '{fname}' ({f.doc})",
                             f"add {fname}: … to the {cls.key}")
                    ok = False
                else:
                    hp[fname] = f.parse(f.default)
                continue
            value, vloc = raw[fname]
            try:
                hp[fname] = f.parse(toplevel.setting(self.value(value, ctx), f.parse, value))
            except ValueError as e:
                self.err(vloc, f"{ctx.trail}.{fname}", str(e))
                ok = False
        if not ok or any(k not in fields for k in raw):
            return None
        problems = cls.validate(hp)
        for fname, message in problems:
            vloc = raw[fname][1] if fname in raw else loc
            self.err(vloc, f"{ctx.trail}.{fname}", message)
        return None if problems else hp

    def claims(self, body: Any, loc: Location, trail: str) -> tuple[Claim, ...]:
        if not isinstance(body, YMap):
            self.err(loc, trail, "must be a mapping like {output: 28x28x6, params: 156}")
            return ()
        out = []
        for key, v in body.items():
            vloc = body.value_locs[key]
            if key not in CLAIM_FIELDS:
                near = closest(str(key), CLAIM_FIELDS)
                self.err(body.key_locs[key], trail, f"cannot check '{key}'",
                         f"did you mean '{near}'?" if near else f"checkable: {', '.join(CLAIM_FIELDS)}")
                continue
            if key == "output":
                try:
                    v = v if isinstance(v, Shape) else parse_volume(
                        "x".join(map(str, v)) if isinstance(v, list) else str(v))
                except ValueError as e:
                    self.err(vloc, f"{trail}.output", str(e))
                    continue
            elif key == "rf" and isinstance(v, list) and len(v) == 2 and all(
                    isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v):
                v = tuple(v) if v[0] != v[1] else v[0]  # [h, w], as the JSON writes it
            elif isinstance(v, bool) or not isinstance(v, int) or v < 0:
                self.err(vloc, f"{trail}.{key}", f"must be a whole number ≥ 0, got {v!r}"
                         + (" (or [h, w] for a receptive field)" if key == "rf" else ""))
                continue
            out.append(Claim(str(key), v, vloc))
        return tuple(out)

    # -- combinators
    def mapping(self, body: Any, loc: Location, ctx: _Ctx, allowed: tuple[str, ...],
                example: str) -> YMap | None:
        if not isinstance(body, YMap):
            self.err(loc, ctx.trail, f"expected a mapping: {example}")
            return None
        for key in body:
            if key not in allowed:
                near = closest(str(key), allowed)
                self.err(body.key_locs[key], ctx.trail, f"unknown key '{key}'",
                         f"did you mean '{near}'?" if near else f"allowed: {', '.join(allowed)}")
        return body

    def residual(self, body, loc, ctx, level, name, frozen) -> Node | None:
        body = self.mapping(body, loc, ctx, ("main", "shortcut", "flat"),
                            "residual: {main: [layers], shortcut: [layers]}")
        if body is None:
            return None
        if "main" not in body:
            self.err(loc, ctx.trail, "missing 'main:' (the layers whose output is added to the "
                                     "shortcut)")
            return None
        inner = level if name is None else _Level()
        main = self.sequence(body["main"], body.value_locs["main"],
                             _Ctx(ctx.env, ctx.trail + ".main", ctx.uses), inner)
        # flat: the shortcut adds no level; its layers are named beside main's (an import
        # names them as the model does, e.g. downsample.0)
        flat = self.flat_of(body, ctx)
        shortcut_name = "" if flat else inner.auto("shortcut", numbered=False)
        shortcut = self.sequence(body.get("shortcut"), body.value_locs.get("shortcut", loc),
                                 _Ctx(ctx.env, ctx.trail + ".shortcut", ctx.uses),
                                 inner if flat else _Level())
        return Residual(name, main, shortcut, shortcut_name, loc, frozen)

    def branches(self, body, loc, ctx, level, name, frozen) -> Node | None:
        body = self.mapping(body, loc, ctx, ("paths", "merge", "flat"),
                            "branches: {paths: [[layers], [layers]], merge: concat}")
        if body is None:
            return None
        merge = body.get("merge", "concat")
        modes = [m.value for m in Merge]
        if merge in modes:
            merge = Merge(merge)
        else:
            self.err(body.value_locs.get("merge", loc), ctx.trail + ".merge",
                     f"must be {', '.join(modes[:-1])} or {modes[-1]}, got {merge!r}")
        paths_raw = body.get("paths")
        ploc = body.value_locs.get("paths", loc)
        if not isinstance(paths_raw, YList) or len(paths_raw) < 1:
            self.err(ploc, ctx.trail + ".paths", "must be a list of paths, each a list of "
                                                 "layers ([] for identity)")
            return None
        inner = level if name is None else _Level()
        flat = self.flat_of(body, ctx)
        paths = []
        for i, p in enumerate(paths_raw):
            pname = None if flat else inner.auto("branch")
            paths.append((pname, self.sequence(p, paths_raw.item_locs[i],
                                               _Ctx(ctx.env, f"{ctx.trail}.paths[{i}]",
                                                    ctx.uses), inner if flat else _Level())))
        return Branches(name, tuple(paths), merge, loc, frozen)

    def repeat(self, body, loc, ctx, level, name, frozen) -> Node | None:
        body = self.mapping(body, loc, ctx, ("times", "layers", "start"),
                            "repeat: {times: 3, layers: [layers]}")
        if body is None:
            return None
        times = body.get("times")
        tloc = body.value_locs.get("times", loc)
        try:
            times = toplevel.size(self.value(times, ctx), times)
        except ValueError as e:
            self.err(tloc, ctx.trail + ".times", str(e))
            return None
        if times == 0 and isinstance(body.get("times"), str) and "$" in body["times"]:
            return None  # worked out from params (ceil($n·$depth) − 1): the repeat is left out
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            self.err(tloc, ctx.trail + ".times", f"must be a positive integer, got {times!r}"
                     + (" (an expression over params may give 0: the repeat is then left out)"
                        if times == 0 else ""))
            return None
        start = body.get("start", 0)
        if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= MAX_LAYERS:
            self.err(body.value_locs.get("start", loc), ctx.trail + ".start",
                     f"must be an integer ≥ 0 (the first iteration's name), got {start!r}")
            return None
        layers = body.get("layers")
        lloc = body.value_locs.get("layers", loc)
        if not isinstance(layers, YList) or not layers:
            self.err(lloc, ctx.trail + ".layers", "must be a non-empty list of layers")
            return None
        # Refuse a huge repeat before expanding anything under it.
        if times > MAX_LAYERS:
            self.err(tloc, ctx.trail + ".times", f"repeating {times:,} times exceeds the "
                                                 f"{MAX_LAYERS:,} layers cnncalc handles")
            return None
        label = ""
        inner_ctx = _Ctx(ctx.env, ctx.trail + ".layers", ctx.uses)
        if len(layers) == 1 and isinstance(layers[0], YMap) and "use" in layers[0] \
                and "name" not in layers[0]:
            node = self.node(layers[0], layers.item_locs[0], _Ctx(ctx.env, inner_ctx.trail + "[0]",
                                                                  ctx.uses), _Level(),
                             in_repeat=True)
            nodes = (node,) if node is not None else ()
            label = str(layers[0]["use"])
        else:
            nodes = self.sequence(layers, lloc, inner_ctx, _Level())
        if times * count_leaves(nodes) > MAX_LAYERS:
            self.err(tloc, ctx.trail + ".times",
                     f"{times:,} × {count_leaves(nodes):,} layers = "
                     f"{times * count_leaves(nodes):,} layers; cnncalc handles at most "
                     f"{MAX_LAYERS:,}")
            return None
        return Repeat(name or level.auto("repeat"), times, nodes, loc, frozen, label=label,
                      start=start)

    def use(self, body, siblings, loc, ctx, level, name, frozen, in_repeat) -> Node | None:
        bname = body
        if not isinstance(bname, str) or bname not in self.blocks:
            near = closest(str(bname), self.blocks) if self.blocks else None
            known = (f"the blocks are {', '.join(self.blocks)}" if self.blocks else
                     "no blocks are defined: define it under the top-level 'blocks:'")
            self.err(siblings.value_locs.get("use", loc), ctx.trail, f"unknown block {bname!r}",
                     f"did you mean '{near}'?" if near else known)
            return None
        if bname in ctx.uses:
            chain = " → ".join(ctx.uses[ctx.uses.index(bname):] + (bname,))
            self.err(siblings.value_locs.get("use", loc), ctx.trail,
                     f"block '{bname}' uses itself ({chain})",
                     "a block cannot contain itself; use repeat for a stack")
            return None
        self.used.add(bname)
        block = self.blocks[bname]
        defaults, required = self.block_params(block)
        env = dict(defaults)
        for key, raw in defaults.items():  # a default may read the spec's params
            if isinstance(raw, str) and "$" in raw:
                try:
                    env[key] = self.value(raw, _Ctx(self.scope({}), ctx.trail, ctx.uses))
                except ValueError as e:
                    self.err(block.value_locs.get("params", loc), f"blocks.{bname}.params.{key}",
                             str(e))
                    return None
        with_ = siblings.get("with", {}) or {}
        wloc = siblings.value_locs.get("with", loc)
        if not isinstance(with_, YMap) and with_ != {}:
            self.err(wloc, ctx.trail + ".with", "must be a mapping {param: value}")
            return None
        known = set(defaults) | required
        for key, raw in with_.items():
            vloc = with_.value_locs[key]
            if key not in known:
                near = closest(str(key), known)
                self.err(with_.key_locs[key], ctx.trail + ".with",
                         f"block '{bname}' has no parameter '{key}'",
                         f"did you mean '{near}'?" if near else
                         f"its parameters: {', '.join(sorted(known)) or 'none'}")
                continue
            try:
                env[str(key)] = self.value(raw, ctx)
            except ValueError as e:
                self.err(vloc, f"{ctx.trail}.with.{key}", str(e))
        missing = sorted(required - set(env))
        if missing:
            self.err(loc, ctx.trail, f"block '{bname}' needs {', '.join(missing)}",
                     f"add with: {{{missing[0]}: …}}")
            return None
        layers = block["layers"] if isinstance(block, YMap) else block
        lloc = block.value_locs["layers"] if isinstance(block, YMap) else self.block_locs[bname]
        uses = ctx.uses + (bname,)
        if len(uses) > MAX_BLOCK_DEPTH:
            self.err(siblings.value_locs.get("use", loc), ctx.trail,
                     f"blocks are used inside blocks more than {MAX_BLOCK_DEPTH} deep "
                     f"({' → '.join(uses[:3])} → …)", "flatten the chain, or use repeat")
            return None
        env = self.scope(env)
        inner = _Ctx(env, f"blocks.{bname}.layers", uses)
        gname = "" if in_repeat and name is None else name or level.auto(bname)
        if not expr.mentions_input(layers):
            nodes = self.sequence(layers, lloc, inner, _Level(), required=True)
            return Group(gname, bname, nodes, loc, frozen)

        def expand(shape: Shape) -> tuple[Node, ...]:
            """The block's layers with ``$in`` bound to the volume it receives."""
            bound = dict(env, **{"in.c": shape.c})
            if shape.spatial:
                bound.update({"in.h": shape.h, "in.w": shape.w})
            found, self.issues = self.issues, []
            try:
                nodes = self.sequence(layers, lloc, _Ctx(bound, inner.trail, uses), _Level(),
                                      required=True)
                if self.issues:
                    raise SpecError(self.issues)
                return nodes
            finally:
                self.issues = found

        # Counted (and bounded) with a provisional 1×1×1 input; its mistakes show when the
        # engine expands it for real.
        try:
            provisional = expand(Shape(1, 1, 1))
        except SpecError:
            provisional = ()
        return Group(gname, bname, provisional, loc, frozen, expand=expand)
