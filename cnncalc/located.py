"""YAML with locations: every mapping, key, value and list item remembers its line and column.

Read with PyYAML's safe composer only (no Python tags), then converted into :class:`YMap` and
:class:`YList`; syntax errors, alias bombs and deep nesting are refused as one located
:class:`~cnncalc.errors.SpecError` line each.  :mod:`cnncalc.spec` builds the network tree from
what this returns.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import Issue, Location, SpecError

MAX_ALIAS_NODES = 100_000  # nodes that aliases may add on top of the text's own
MAX_YAML_DEPTH = 200  # nesting levels of YAML lists and mappings

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YMap(dict):
    """A YAML mapping that remembers where it, each key and each value start."""

    loc: Location
    key_locs: dict
    value_locs: dict


class YList(list):
    """A YAML sequence that remembers where it and each item start."""

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
        raise SpecError(_syntax_issue(e, file, text)) from None
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


def _syntax_issue(e: yaml.MarkedYAMLError, file: str, text: str = "") -> Issue:
    mark = e.problem_mark or e.context_mark
    where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:  # PyYAML says "found character that cannot start any token"
            tab = Location(file, mark.line + 1, indent.index("\t") + 1)
            return Issue(tab, "a tab in the indentation: YAML indents with spaces only",
                         hint="replace the tab with spaces (2 per level, as the examples do)")
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
