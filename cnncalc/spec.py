"""YAML → network tree, with a location on every node, blocks expanded and names given.

YAML is read with PyYAML's safe composer only (no Python tags), converted into located maps
and lists, then validated in one pass: independent problems are all reported together,
each as ``FILE:LINE:COL: error: <trail> → message; hint``.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from . import expr
from .errors import Issue, Location, SpecError
from .layers import REGISTRY, closest
from .network import (COMBINATORS, MAX_LAYERS, Branches, Claim, Group, Leaf, Merge, Node,
                      Repeat, Residual, Spec, count_leaves)
from .shapes import Shape, parse_volume

TOP_KEYS = ("name", "input", "layers", "blocks", "expect", "description")
SIBLINGS = ("name", "expect", "frozen")
CLAIM_FIELDS = ("output", "params", "trainable_params", "buffers", "macs", "connections",
                "activations", "rf")
MAX_ALIAS_NODES = 100_000  # nodes that aliases may add on top of the text's own
MAX_YAML_DEPTH = 200  # nesting levels of YAML lists and mappings
MAX_BLOCK_DEPTH = 50  # blocks used inside blocks used inside …
MAX_FILE_BYTES = 20 * 1024 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- located YAML ---------------------------------------------------------------------------

class YMap(dict):
    """A YAML mapping that remembers where it, each key and each value start."""

    loc: Location
    key_locs: dict
    value_locs: dict


class YList(list):
    loc: Location
    item_locs: list


def _loc(file: str, node: yaml.Node) -> Location:
    return Location(file, node.start_mark.line + 1, node.start_mark.column + 1)


def compose(text: str, file: str) -> Any:
    """Parse YAML text into located values; raises SpecError on syntax errors and bombs."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        raise SpecError(_syntax_issue(e, file)) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        code = e.character if isinstance(e.character, int) else ord(e.character)
        raise SpecError(Issue(Location(file, line, col),
                              f"the character U+{code:04X} cannot appear in YAML: {e.reason}",
                              hint="a spec is plain text; is this the right file?")) from None
    except yaml.YAMLError as e:
        raise SpecError(Issue(Location(file), f"YAML: {str(e).splitlines()[0]}")) from None
    except RecursionError:
        raise SpecError(Issue(Location(file), "the YAML nests too deeply")) from None
    finally:
        loader.dispose()
    if root is None:
        raise SpecError(Issue(Location(file, 1, 1), "the file is empty",
                              hint="a spec needs at least 'input:' and 'layers:'"))
    # Aliases may repeat a node many times (an alias bomb: 9 aliases of 9 aliases of …):
    # the text's own nodes are always allowed, and at most MAX_ALIAS_NODES more.
    budget = [_count_nodes(root) + MAX_ALIAS_NODES]
    constructor = yaml.SafeLoader("")
    return _convert(root, file, budget, set(), constructor, 0)


def _syntax_issue(e: yaml.MarkedYAMLError, file: str) -> Issue:
    mark = e.problem_mark or e.context_mark
    where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
    problem = e.problem or e.context
    if e.context and e.context_mark and mark is not e.context_mark:
        problem += f" ({e.context} that starts at {e.context_mark.line + 1}:" \
                   f"{e.context_mark.column + 1})"
    hint = "check the indentation and the ':' after each key"
    if "mapping values are not allowed" in (e.problem or ""):
        hint = ("a bare word cannot take settings: write '- relu:' (with a colon), then "
                "'name: …' indented under it; or put a space after each ':'")
    elif "found character '\\t'" in (e.problem or "") or "\t" in (e.problem or ""):
        hint = "indent with spaces, not tabs"
    return Issue(where, f"YAML syntax: {problem}", hint=hint)


def _count_nodes(root: yaml.Node) -> int:
    """The distinct nodes of the document (each alias target counted once)."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
    return len(seen)


def _convert(node: yaml.Node, file: str, budget: list[int], active: set[int], constructor,
             depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(Issue(_loc(file, node), f"YAML aliases repeat more than "
                                                f"{MAX_ALIAS_NODES:,} nodes (an alias bomb?)",
                              hint="write blocks and repeat instead of nested aliases"))
    if depth > MAX_YAML_DEPTH:
        raise SpecError(Issue(_loc(file, node), f"the YAML nests more than {MAX_YAML_DEPTH} "
                                                f"levels deep", hint="use blocks to structure it"))
    if isinstance(node, yaml.ScalarNode):
        try:
            return constructor.construct_object(node)
        except yaml.YAMLError as e:
            raise SpecError(Issue(_loc(file, node), f"YAML: {str(e).splitlines()[0]}")) from None
        except ValueError:  # Python refuses to read an integer of more than 4,300 digits
            raise SpecError(Issue(_loc(file, node), f"the number {node.value[:20]}… has "
                                                    f"{len(node.value):,} digits",
                                  hint="no layer size is that large")) from None
    if id(node) in active:
        raise SpecError(Issue(_loc(file, node), "a YAML alias refers to itself"))
    active.add(id(node))
    try:
        if isinstance(node, yaml.SequenceNode):
            out = YList()
            out.loc, out.item_locs = _loc(file, node), []
            for item in node.value:
                out.append(_convert(item, file, budget, active, constructor, depth + 1))
                out.item_locs.append(_loc(file, item))
            return out
        out = YMap()
        out.loc, out.key_locs, out.value_locs = _loc(file, node), {}, {}
        for k, v in node.value:
            key = _convert(k, file, budget, active, constructor, depth + 1)
            if isinstance(key, (YMap, YList)):
                raise SpecError(Issue(_loc(file, k), "a key must be a plain word"))
            if key in out:
                raise SpecError(Issue(_loc(file, k), f"the key '{key}' appears twice in this "
                                                     f"mapping", hint="keep one"))
            out[key] = _convert(v, file, budget, active, constructor, depth + 1)
            out.key_locs[key], out.value_locs[key] = _loc(file, k), _loc(file, v)
        return out
    finally:
        active.discard(id(node))


# --- reading files --------------------------------------------------------------------------

def read_source(source: str | os.PathLike) -> tuple[str, str]:
    """Return ``(text, display name)`` for a path, ``zoo:NAME`` or ``-`` (standard input);
    errors are SpecErrors."""
    src = str(source)
    if src == "-":
        import sys

        return sys.stdin.read(), "<stdin>"
    if src.startswith("zoo:"):
        from . import zoo

        path = zoo.path(src[4:])
        return path.read_text(encoding="utf-8"), src
    if not src.strip():
        raise SpecError(Issue(Location("''"), "the path is empty",
                              hint="give a spec file, zoo:NAME, or - for standard input"))
    path = Path(src)
    try:
        if path.is_dir():
            raise SpecError(Issue(Location(src), "is a directory, not a spec file",
                                  hint=f"give a .yaml file inside it, e.g. {src}/net.yaml"))
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(Issue(Location(src), f"is {size:,} bytes; a spec is at most "
                                                 f"{MAX_FILE_BYTES:,}"))
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(Issue(Location(src), "no such file",
                              hint="check the path, or use zoo:NAME for a bundled spec "
                                   "(cnncalc zoo lists them)")) from None
    except PermissionError:
        raise SpecError(Issue(Location(src), "permission denied")) from None
    except OSError as e:
        raise SpecError(Issue(Location(src), f"cannot read: {e.strerror or e}")) from None
    try:
        return data.decode("utf-8"), src
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise SpecError(Issue(Location(src, line, col),
                              f"the file is not UTF-8 text (byte 0x{data[e.start]:02x})",
                              hint="save it as UTF-8")) from None


def load(source: str | os.PathLike, *, text: str | None = None) -> Spec:
    """Load a spec from a path, ``zoo:NAME``, or YAML text.

    A string with a newline, or one that starts with '{' (a flow mapping), is read as the spec
    itself.
    """
    if text is not None:
        return parse(text, str(source))
    src = str(source)
    if isinstance(source, str) and ("\n" in src or src.lstrip().startswith("{")):
        return parse(src, "<text>")
    body, name = read_source(source)
    return parse(body, name)


def parse(text: str, file: str = "<text>") -> Spec:
    # Parsing makes many small objects and no cycles that matter: the collector's passes
    # over them cost half the time of a 10,000-layer spec, so it waits until we are done.
    enabled = gc.isenabled()
    gc.disable()
    try:
        data = compose(text, file)
        return _Builder(file).build(data)
    finally:
        if enabled:
            gc.enable()


# --- the builder ----------------------------------------------------------------------------

@dataclass
class _Level:
    """One naming level: counts per kind, and the names already taken."""

    counts: dict[str, int] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def auto(self, base: str, numbered: bool = True) -> str:
        while True:
            k = self.counts.get(base, 0) + 1
            self.counts[base] = k
            name = f"{base}{k}" if numbered or k > 1 else base
            if name not in self.taken:
                self.taken.add(name)
                return name


@dataclass
class _Ctx:
    env: dict[str, Any]
    trail: str
    uses: tuple[str, ...] = ()  # the block names being expanded, outermost first


class _Builder:
    def __init__(self, file: str):
        self.file = file
        self.issues: list[Issue] = []
        self.blocks: dict[str, YMap | YList] = {}
        self.block_locs: dict[str, Location] = {}
        self.used: set[str] = set()

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
        if "input" not in data:
            self.err(data.loc, "", "missing 'input:'", "give the input volume, e.g. input: 32x32x3")
            shape = None
        else:
            shape = self.input_shape(data["input"], data.value_locs["input"])
        blocks = data.get("blocks")
        if blocks is not None:
            self.read_blocks(blocks, data.value_locs["blocks"])
        layers: tuple[Node, ...] = ()
        if "layers" not in data:
            self.err(data.loc, "", "missing 'layers:'", "list the layers, e.g. layers: [{conv: "
                                                       "{filters: 6, size: 5}}, relu]")
        else:
            layers = self.sequence(data["layers"], data.value_locs["layers"],
                                   _Ctx({}, "layers"), _Level(), required=True)
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

    def input_shape(self, value: Any, loc: Location) -> Shape | None:
        if isinstance(value, YMap):
            keys = {"width", "height", "channels"}
            extra = set(value) - keys
            if extra or not {"width", "height"} <= set(value):
                self.err(loc, "input", "give {width: W, height: H, channels: D}",
                         f"unknown key(s) {sorted(map(str, extra))}" if extra else "")
                return None
            try:
                w, h, d = (value["width"], value["height"], value.get("channels", 1))
                return parse_volume(f"{w}x{h}x{d}")
            except ValueError as e:
                self.err(loc, "input", str(e))
                return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.err(loc, "input", f"expected a volume like 32x32x3, got {value!r}")
            return None
        try:
            return parse_volume(str(value))
        except ValueError as e:
            hint = ""
            if any(ch.isalpha() and ch not in "xX" for ch in str(value)):
                hint = "symbolic input sizes are not supported yet; give numbers"
            self.err(loc, "input", str(e), hint)
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
        self.sequence(layers, loc, _Ctx(defaults, f"blocks.{bname}", (bname,)), _Level(),
                      required=True)

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

    def node(self, item: Any, loc: Location, ctx: _Ctx, level: _Level,
             in_repeat: bool = False) -> Node | None:
        if isinstance(item, str):
            kind, body, siblings = item.strip(), None, YMap()
            siblings.loc, siblings.key_locs, siblings.value_locs = loc, {}, {}
        elif isinstance(item, YMap):
            kinds = [k for k in item if k not in SIBLINGS and k != "with"]
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
        name = self.name_of(siblings, ctx, level)
        frozen = self.frozen_of(siblings, ctx)
        expect = ()
        if "expect" in siblings:
            expect = self.claims(siblings["expect"], siblings.value_locs["expect"],
                                 f"{ctx.trail}.expect")
        kloc = siblings.key_locs.get(kind, loc)
        sub = _Ctx(ctx.env, trail, ctx.uses)
        combinator = {"residual": self.residual, "branches": self.branches,
                      "repeat": self.repeat}.get(kind)
        if combinator is not None or kind == "use":
            node = (combinator(body, kloc, sub, level, name, frozen) if combinator else
                    self.use(body, siblings, kloc, sub, level, name, frozen, in_repeat))
            return replace(node, expect=expect) if node is not None and expect else node
        cls = REGISTRY.get(kind)
        if cls is None:
            near = closest(kind, list(REGISTRY) + list(COMBINATORS))
            self.err(kloc, ctx.trail, f"unknown layer kind '{kind}'",
                     f"did you mean '{near}'?" if near else "`cnncalc layers` lists the kinds")
            return None
        hp = self.hyperparameters(cls, body, siblings.value_locs.get(kind, loc), sub)
        if hp is None:
            return None
        return Leaf(cls(hp), name or level.auto(kind), kloc, expect, frozen)

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
                if key not in fields:
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
                hp[fname] = f.parse(self.value(value, ctx))
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
            times = self.value(times, ctx)
        except ValueError as e:
            self.err(tloc, ctx.trail + ".times", str(e))
            return None
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            self.err(tloc, ctx.trail + ".times", f"must be a positive integer, got {times!r}")
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
        nodes = self.sequence(layers, lloc, _Ctx(env, f"blocks.{bname}.layers", uses), _Level(),
                              required=True)
        if in_repeat and name is None:
            return Group("", bname, nodes, loc, frozen)
        return Group(name or level.auto(bname), bname, nodes, loc, frozen)
