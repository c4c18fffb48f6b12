"""Writing: the tree regrouped by module, blocks and repeats found, printed as YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .kinds import module_kind
from .trace import _Traced
from .tree import _TGroup, _TLeaf, _TMerge, _TRepeat, _TTap, _TUse, _leaves

def _ratio(column, vec, pname: str) -> str | None:
    """``$p * k`` or ``$p / k`` when ``column`` is ``vec`` times or over one integer k."""
    if not all(type(a) is int and type(b) is int and a > 0 and b > 0
               for a, b in zip(column, vec)):
        return None
    for big, small, op in ((column, vec, "*"), (vec, column, "/")):
        if all(a % b == 0 for a, b in zip(big, small)):
            ratios = {a // b for a, b in zip(big, small)}
            if len(ratios) == 1 and next(iter(ratios)) > 1:
                return f"${pname} {op} {next(iter(ratios))}"
    return None


def _is_container(module) -> bool:
    return type(module).__name__ in ("Sequential", "ModuleList", "ModuleDict")


def _snake(name: str) -> str:
    name = name.strip("_")
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    name = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", name)
    return re.sub(r"\W+", "_", name).lower() or "block"


class _Writer:
    """The tree regrouped by module, blocks found, and printed as YAML."""

    def __init__(self, traced: _Traced, tree: list, source: str, title: str, shape,
                 notes: list[str]):
        self.traced = traced
        self.modules = traced.modules
        self.tree = tree
        self.source = source
        self.title = title
        self.shape = shape
        self.notes = notes
        self.blocks: dict[str, dict] = {}  # name → items, instances, params, …
        self.skeletons: dict[Any, str] = {}
        self.repeating: set[str] = set()  # blocks with a run of 2 or more somewhere
        self.found_repeating: set[str] = set()
        self.grouped: set[str] = set()  # modules made a group (a level) already

    # -- regrouping by module
    def owner(self, item) -> str:
        if isinstance(item, _TLeaf):
            return item.op.module
        names = [op.module for op in _leaves([item])]
        if not names:
            return ""
        common = names[0].split(".")
        for other in names[1:]:
            parts = other.split(".")
            k = 0
            while k < min(len(common), len(parts)) and common[k] == parts[k]:
                k += 1
            common = common[:k]
        return ".".join(common)

    def child(self, prefix: str, path: str) -> str | None:
        """The shallowest module below ``prefix`` that holds ``path``."""
        if path == prefix or not path:
            return None
        if prefix and not path.startswith(prefix + "."):
            return None
        rest = path[len(prefix) + 1:] if prefix else path
        parts = rest.split(".")
        for k in range(1, len(parts) + 1):
            candidate = ".".join(([prefix] if prefix else []) + parts[:k])
            if candidate in self.modules:
                return candidate
        return None

    def regroup(self, items: list, prefix: str) -> list:
        out: list = []
        run: list = []
        run_key = None
        # a module met again, anywhere in the tree (DLA's bottleneck adds a shortcut given by
        # its caller, so its relu follows the caller's residual): its layers stand inline
        used = self.grouped

        def flush():
            nonlocal run, run_key
            if not run:
                return
            module = self.modules.get(run_key)
            # a module without children (a leaf, or one a function stands for) is no group,
            # nor is a kind's module that holds others (ChannelConv's Conv1d): one layer
            bare = module is not None and (not any(True for _ in module.children())
                                           or module_kind(module)[0] is not None)
            if run_key is None or bare or run_key in used:
                out.extend(self.regroup_inside(it, prefix) for it in run)
            else:
                used.add(run_key)
                out.append(_TGroup(run_key, self.regroup(run, run_key)))
            run, run_key = [], None

        for item in items:
            key = self.child(prefix, self.owner(item))
            if key != run_key or key is None:
                flush()
            run.append(item)
            run_key = key
        flush()
        return out

    def regroup_inside(self, item, prefix: str):
        if isinstance(item, _TMerge):
            return _TMerge(item.merge, [self.regroup(p, prefix) for p in item.paths])
        return item

    # -- blocks
    def blockify(self, items: list, prefix: str) -> list:
        """Bottom-up: groups become uses of blocks (or are inlined), runs become repeats."""
        out = []
        for item in items:
            if isinstance(item, _TGroup):
                inner = self.blockify(item.items, item.path)
                module = self.modules.get(item.path)
                if module is None or _is_container(module):
                    out.extend(inner)  # a plain container: its layers, named with dots
                else:
                    out.append(self.use(item.path, inner, type(module).__name__))
            elif isinstance(item, _TMerge):
                out.append(_TMerge(item.merge, [self.blockify(p, prefix) for p in item.paths]))
            else:
                out.append(item)
        return self.repeats(out, prefix)

    def use(self, path: str, items: list, cls: str) -> _TUse:
        """A use of the block with these items' structure (made on first sight)."""
        values: list = []
        slots: list = []
        skeleton = self.skeleton(items, path, values, slots)
        key = (cls, skeleton)
        name = self.skeletons.get(key)
        if name is None:
            base = _snake(cls)
            name, k = base, 1
            while name in self.blocks:
                k += 1
                name = f"{base}_{k}"
            self.skeletons[key] = name
            self.blocks[name] = {"items": items, "path": path, "class": cls, "instances": [],
                                 "slots": slots}
        self.blocks[name]["instances"].append(values)
        return _TUse(name, path, values)

    def skeleton(self, items: list, prefix: str, values: list, slots: list):
        """The items' structure with their numbers taken out, in order, into ``values``
        (``slots`` says where each comes from: a setting, or a column of a used block);
        names relative to ``prefix``."""
        def rel(name: str) -> str:
            return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name

        def hp_skel(hp, key):
            if isinstance(hp, dict):
                return tuple((k, hp_skel(v, k)) for k, v in hp.items())
            if isinstance(hp, (bool, str)) or hp is None:
                return hp
            if isinstance(hp, (int, float)):
                values.append(hp)
                slots.append(("setting", key))
                return "#"
            if isinstance(hp, list):
                return ("list", tuple(hp))
            return repr(hp)

        def use_skel(use: _TUse):
            values.extend(use.values)
            slots.extend(("use", use.block, k) for k in range(len(use.values)))

        out = []
        for it in items:
            if isinstance(it, _TLeaf):
                from ...layers import REGISTRY

                key = REGISTRY[it.op.kind].primary or it.op.kind
                out.append(("leaf", it.op.kind, rel(it.op.name), hp_skel(it.op.hp, key),
                            rel(it.op.share) if it.op.share else "", it.op.frozen))
            elif isinstance(it, _TTap):
                out.append(("tap", rel(it.op.name)))
            elif isinstance(it, _TMerge):
                out.append(("merge", it.merge, tuple(self.skeleton(p, prefix, values, slots)
                                                     for p in it.paths)))
            elif isinstance(it, _TUse):
                use_skel(it)
                out.append(("use", it.block, rel(it.path), len(it.values)))
            elif isinstance(it, _TRepeat):
                use_skel(it.use)
                out.append(("repeat", rel(it.path), it.times, it.start, it.use.block,
                            rel(it.use.path), len(it.use.values)))
        return tuple(out)

    def repeats(self, items: list, prefix: str) -> list:
        """Consecutive uses ``C.k``, ``C.k+1``, … of one block with the same numbers →
        ``repeat`` named C from k (a stage's tail, after its different block 0)."""
        out: list = []
        taken = {it.path for it in items if isinstance(it, _TRepeat)}  # made a level below
        i = 0
        while i < len(items):
            it = items[i]
            m = re.match(r"^(.*)\.(\d+)$", it.path) if isinstance(it, _TUse) else None
            if m is None:
                out.append(it)
                i += 1
                continue
            container, start = m.group(1), int(m.group(2))
            j = i + 1
            while j < len(items) and isinstance(items[j], _TUse) and \
                    items[j].block == it.block and items[j].values == it.values and \
                    items[j].path == f"{container}.{start + j - i}":
                j += 1
            times = j - i
            previous = out[-1] if out else None
            following = items[j] if j < len(items) else None
            ends = not (isinstance(following, _TUse)
                        and following.path.startswith(container + "."))
            # a stage's tail: block 0 differs, the rest (to the stage's end) repeat a block
            # that repeats elsewhere too (ResNet-18's layer2.1 as its layer1.0 and layer1.1)
            tail = (start > 0 and ends and isinstance(previous, _TUse)
                    and previous.path == f"{container}.{start - 1}"
                    and it.block in self.repeating)
            if container not in taken and container != prefix and (times >= 2 or tail):
                if times >= 2:
                    self.found_repeating.add(it.block)
                taken.add(container)
                out.append(_TRepeat(container, times, start, it))
            else:
                out.extend(items[i:j])
            i = j
        return out

    def finish_blocks(self) -> None:
        """Each block's numbers that differ between its uses become its parameters; the same
        column twice is one parameter, an integer multiple of one is ``$p * k``.  Blocks are
        made innermost first, so a used block's parameters are known when its user's are."""
        for block in self.blocks.values():
            kept = [k for k, slot in enumerate(block["slots"])
                    if slot[0] == "setting" or slot[2] in self.blocks[slot[1]]["columns"]]
            block["kept"] = kept
            rows = [[values[k] for k in kept] for values in block["instances"]]
            columns = list(zip(*rows)) if rows and rows[0] else []
            exprs: dict[int, str] = {}
            defaults: dict[str, Any] = {}
            owners: dict[str, int] = {}
            vectors: dict[tuple, str] = {}
            for k, column in enumerate(columns):
                if len(set(map(repr, column))) == 1:
                    continue
                if column in vectors:
                    exprs[k] = f"${vectors[column]}"
                    continue
                expr = None
                for vec, pname in vectors.items():
                    expr = _ratio(column, vec, pname)
                    if expr is not None:
                        break
                if expr is not None:
                    exprs[k] = expr
                    continue
                pname = self.slot_name(block["slots"][kept[k]])
                base, j = pname, 1
                while pname in defaults:
                    j += 1
                    pname = f"{base}{j}"
                defaults[pname] = column[0]
                owners[pname] = kept[k]
                vectors[column] = pname
                exprs[k] = f"${pname}"
            block["params"] = defaults
            block["exprs"] = exprs
            block["columns"] = set(owners.values())
            block["owners"] = owners  # parameter → its column among all the block's numbers

    def slot_name(self, slot) -> str:
        if slot[0] == "setting":
            return str(slot[1])
        inner = self.blocks[slot[1]]
        return next(p for p, col in inner["owners"].items() if col == slot[2])

    # -- text
    def text(self) -> str:
        grouped = self.regroup(self.tree, "")
        # twice: the first pass finds the blocks that repeat, which the second lets end a stage
        self.blockify(grouped, "")
        self.repeating = set(self.found_repeating)
        self.blocks, self.skeletons = {}, {}
        layers = self.blockify(grouped, "")
        self.finish_blocks()
        lines = self.header()
        if self.blocks:
            lines.append("blocks:")
            for name, block in self.blocks.items():
                lines += self.block_lines(name, block)
        lines.append("layers:")
        lines += self.items_lines(layers, "", "  ", None, _Level())
        lines.append(f"expect: {{params: {self.traced.params}, macs: {self.traced.macs}, "
                     f"output: {self.volume(self.traced.output_shape)}}}")
        return "\n".join(lines) + "\n"

    def header(self) -> list[str]:
        import torch

        version = f"torch {torch.__version__}"
        try:
            import torchvision

            version += f", torchvision {torchvision.__version__}"
        except ImportError:
            pass
        s = self.shape
        lines = [f"# Imported by `cnncalc import {self.source}` ({version}, traced with "
                 f"{self.traced.by}).",
                 "# Layer names are the model's qualified module names; the expect: totals "
                 "are PyTorch's",
                 "# own: sum(p.numel() for p in model.parameters()), FlopCounterMode's FLOPs / "
                 "2, the output shape."]
        lines += [f"# note: {n}" for n in self.notes]
        lines += [f"name: {_scalar(self.title)}",
                  f"description: {_scalar(f'imported from {self.source}')}",
                  f"input: {s.w}x{s.h}x{s.c}"]
        return lines

    @staticmethod
    def volume(shape: tuple) -> str:
        if len(shape) == 3:
            return f"{shape[2]}x{shape[1]}x{shape[0]}"
        return str(shape[0]) if len(shape) == 1 else "x".join(map(str, shape))

    def block_lines(self, name: str, block) -> list[str]:
        uses = len(block["instances"])
        lines = [f"  {name}:  # {block['class']}, {uses} use{'s' if uses != 1 else ''}"]
        if block["params"]:
            params = ", ".join(f"{k}: {_scalar(v)}" for k, v in block["params"].items())
            lines.append(f"    params: {{{params}}}")
        lines.append("    layers:")
        slots = _Slots(block["exprs"])
        lines += self.items_lines(block["items"], block["path"], "      ", slots, _Level())
        return lines

    def items_lines(self, items, prefix: str, indent: str, slots, level: "_Level") -> list[str]:
        lines: list[str] = []
        for it in items:
            lines += self.item_lines(it, prefix, indent, slots, level)
        return lines

    def rel(self, name: str, prefix: str) -> str:
        return name[len(prefix) + 1:] if prefix and name.startswith(prefix + ".") else name

    def item_lines(self, it, prefix, indent, slots, level) -> list[str]:
        if isinstance(it, _TLeaf):
            op = it.op
            settings = _settings(op.hp, slots)
            name = self.rel(op.name, prefix)
            auto = level.auto_for(op.kind)
            head = f"{indent}- {op.kind}" + (f": {settings}" if settings is not None else "")
            share = [f"{indent}  share: {_scalar(self.rel(op.share, prefix))}"] if op.share \
                else []
            share += [f"{indent}  frozen: true"] if op.frozen else []
            if settings is None and share:
                head += ":"
            if name == auto:
                level.take_auto(op.kind)
                return [head] + share
            level.taken.add(name)
            if settings is None and not share:
                head += ":"
            return [head, f"{indent}  name: {_scalar(name)}"] + share
        if isinstance(it, _TTap):  # read where it was computed: names are looked up inside out
            return [f"{indent}- from: {_scalar(self.rel(it.op.name, prefix))}"]
        if isinstance(it, _TMerge):
            return self.merge_lines(it, prefix, indent, slots, level)
        if isinstance(it, _TUse):
            name = self.rel(it.path, prefix)
            level.taken.add(name)
            lines = [f"{indent}- use: {it.block}"]
            with_ = self.with_text(it, slots)
            if with_:
                lines.append(f"{indent}  with: {{{with_}}}")
            lines.append(f"{indent}  name: {_scalar(name)}")
            return lines
        if isinstance(it, _TRepeat):
            name = self.rel(it.path, prefix)
            level.taken.add(name)
            with_ = self.with_text(it.use, slots)
            use = f"{{use: {it.use.block}" + (f", with: {{{with_}}}" if with_ else "") + "}"
            start = f", start: {it.start}" if it.start else ""
            return [f"{indent}- repeat: {{times: {it.times}{start}, layers: [{use}]}}",
                    f"{indent}  name: {_scalar(name)}"]
        raise TypeError(it)

    def with_text(self, use: _TUse, slots) -> str:
        """``with:`` of a use: each parameter of the block whose value differs from its
        default (inside a block: taken from that block's own parameters where it has one)."""
        block = self.blocks[use.block]
        parts = []
        for pname, default in block["params"].items():
            value = use.values[block["owners"][pname]]
            if slots is not None:
                value = slots.take_value(value)
            if isinstance(value, _Expr) or value != default:
                parts.append(f"{pname}: {value if isinstance(value, _Expr) else _scalar(value)}")
        return ", ".join(parts)

    def merge_lines(self, it: _TMerge, prefix, indent, slots, level) -> list[str]:
        if it.merge == "add" and len(it.paths) == 2:
            main, short = it.paths
            lines = [f"{indent}- residual:"]
            if short:
                lines.append(f"{indent}    flat: true")
            lines.append(f"{indent}    main:")
            lines += self.items_lines(main, prefix, indent + "      ", slots, level)
            if short:
                lines.append(f"{indent}    shortcut:")
                lines += self.items_lines(short, prefix, indent + "      ", slots, level)
            return lines
        lines = [f"{indent}- branches:", f"{indent}    merge: {it.merge}",
                 f"{indent}    flat: true", f"{indent}    paths:"]
        for path in it.paths:
            if not path:
                lines.append(f"{indent}      - []")
                continue
            inner = self.items_lines(path, prefix, indent + "        ", slots, level)
            inner[0] = f"{indent}      - " + inner[0][len(indent) + 8:]
            lines += inner
        return lines


@dataclass(frozen=True)
class _Expr:
    text: str

    def __str__(self) -> str:
        return self.text


class _Slots:
    """Hands out a block's numbers in order (those it kept: a used block's numbers that are
    not its parameters are not written): its parameter expression, or the number."""

    def __init__(self, exprs: dict[int, str]):
        self.exprs = exprs
        self.k = 0

    def take_value(self, value):
        k = self.k
        self.k += 1
        return _Expr(self.exprs[k]) if k in self.exprs else value


class _Level:
    """The spec loader's automatic names in one level (``conv1``, ``bn1``, …), to leave out
    the ``name:`` of a layer whose name the loader would give anyway."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.taken: set[str] = set()

    def auto_for(self, kind: str) -> str:
        k = self.counts.get(kind, 0)
        while True:
            k += 1
            if f"{kind}{k}" not in self.taken:
                return f"{kind}{k}"

    def take_auto(self, kind: str) -> None:
        name = self.auto_for(kind)
        self.counts[kind] = int(name[len(kind):])
        self.taken.add(name)


def _settings(hp, slots) -> str | None:
    """A layer's settings as YAML flow text (``{filters: 64, size: 3}``, ``84``), numbers
    replaced by the block's parameters where it has them."""
    if hp is None:
        return None
    if isinstance(hp, dict):
        if not hp:
            return None
        parts = []
        for k, v in hp.items():
            value = slots.take_value(v) if slots is not None and isinstance(v, (int, float)) \
                and not isinstance(v, bool) else v
            parts.append(f"{k}: {value if isinstance(value, _Expr) else _scalar(value)}")
        return "{" + ", ".join(parts) + "}"
    if slots is not None and isinstance(hp, (int, float)) and not isinstance(hp, bool):
        value = slots.take_value(hp)
        return str(value) if isinstance(value, _Expr) else _scalar(value)
    return _scalar(hp)


def _scalar(v) -> str:
    """One YAML scalar, quoted only where YAML would read it as something else."""
    import yaml

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        text = yaml.safe_dump(v, default_flow_style=True).strip()
        return text[:-4].strip() if text.endswith("...") else text
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    text = str(v)
    try:
        back = yaml.safe_load(text)
    except yaml.YAMLError:
        back = None
    if back == text or (isinstance(back, int) and not isinstance(back, bool)
                        and str(back) == text):
        if not any(c in text for c in ",[]{}#") and not text.startswith(("&", "*", "!", "'")):
            return text
    return "'" + text.replace("'", "''") + "'"
