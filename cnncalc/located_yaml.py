"""YAML with locations: every mapping, key, value and list item remembers its line and column.

Read with PyYAML's safe loader only (no Python tags), from its event stream, straight into
:class:`YMap` and :class:`YList`; syntax errors, alias bombs and deep nesting are refused as one
located :class:`~cnncalc.errors.SpecError` line each.  :mod:`cnncalc.spec` builds the network
tree from what this returns.

Why events and not PyYAML's node tree: a node keeps two marks and a ``__dict__`` each, so the
tree of a 100,000-layer spec held 350 MB before any conversion, and composing it took longer
than everything else together.  Here each event is dropped once read, positions are kept as
plain integers beside the values, and :class:`~cnncalc.errors.Location` objects are made only
when asked for (an error message, or the one location a layer keeps).  Equal scalars are
resolved and constructed once, and share one object.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import Issue, Location, SpecError

MAX_ALIAS_NODES = 100_000  # nodes that aliases may add on top of the text's own
MAX_YAML_DEPTH = 200  # nesting levels of YAML lists and mappings

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"
_SMALL_MAP = 8  # a map this small finds a key's position by scanning its keys


class YMap(dict):
    """A YAML mapping that remembers where it, each key and each value start.

    ``loc``, ``key_locs[key]`` and ``value_locs[key]`` are :class:`Location`\\ s made on
    demand; the positions themselves are integers in ``_pos``: the map's line and column,
    then per key (in order) the key's line and column and the value's.
    """

    __slots__ = ("file", "_pos", "_index")

    @classmethod
    def at(cls, loc: Location) -> "YMap":
        """An empty mapping placed at ``loc`` (a bare word's settings)."""
        out = cls()
        out.file, out._pos, out._index = loc.file, [loc.line, loc.col], None
        return out

    @property
    def loc(self) -> Location:
        return Location(self.file, self._pos[0], self._pos[1])

    @property
    def key_locs(self) -> "_Places":
        return _Places(self, 2)

    @property
    def value_locs(self) -> "_Places":
        return _Places(self, 4)

    def _slot(self, key: Any) -> int:
        """The position of ``key`` in the map's order; KeyError when it is not a key."""
        if key not in self:
            raise KeyError(key)
        if len(self) <= _SMALL_MAP:
            for i, k in enumerate(self):
                if k is key or k == key:
                    return i
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self)}
        return self._index[key]


class YList(list):
    """A YAML sequence that remembers where it and each item start (``loc``, ``item_locs[i]``)."""

    __slots__ = ("file", "_pos")

    @property
    def loc(self) -> Location:
        return Location(self.file, self._pos[0], self._pos[1])

    @property
    def item_locs(self) -> "_Items":
        return _Items(self)


class _Places:
    """``key → Location`` of a :class:`YMap`'s keys (offset 2) or values (offset 4)."""

    __slots__ = ("_map", "_offset")

    def __init__(self, owner: YMap, offset: int):
        self._map, self._offset = owner, offset

    def __getitem__(self, key: Any) -> Location:
        owner = self._map
        at = 4 * owner._slot(key) + self._offset
        return Location(owner.file, owner._pos[at], owner._pos[at + 1])

    def get(self, key: Any, default: Location | None = None) -> Location | None:
        return self[key] if key in self._map else default

    def __contains__(self, key: Any) -> bool:
        return key in self._map


class _Items:
    """``index → Location`` of a :class:`YList`'s items."""

    __slots__ = ("_list",)

    def __init__(self, owner: YList):
        self._list = owner

    def __getitem__(self, i: int) -> Location:
        owner = self._list
        i = range(len(owner))[i]  # IndexError, and negative indices, as a list has them
        return Location(owner.file, owner._pos[2 + 2 * i], owner._pos[3 + 2 * i])

    def __len__(self) -> int:
        return len(self._list)


def compose(text: str, file: str) -> Any:
    """Parse YAML text into located values; raises SpecError on syntax errors and bombs."""
    loader = _Loader(text)
    try:
        root = _Composer(loader, file, counting="&" in text).document()
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
    finally:
        loader.dispose()
    if root is _EMPTY:
        raise SpecError(Issue(Location(file, 1, 1), "the file is empty",
                              hint="a spec needs at least 'input:' and 'layers:'"))
    return root


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


_EMPTY = object()  # a stream with no document
_NO_KEY = object()  # a mapping waiting for its next key
_MISSING = object()
_OPENS = object()  # a mapping or sequence starts


class _Open:
    """A mapping or sequence being read: its value, positions, pending key and node count."""

    __slots__ = ("value", "pos", "is_list", "key", "key_line", "key_col", "size", "anchor",
                 "line", "col")

    def __init__(self, value, line: int, col: int, anchor: str | None):
        self.value, self.pos, self.is_list, self.key = value, value._pos, type(value) is YList, \
            _NO_KEY
        self.key_line = self.key_col = 0
        self.size, self.anchor, self.line, self.col = 1, anchor, line, col


class _Composer:
    """PyYAML's composer rules (one document, anchors before aliases, no duplicate anchor),
    applied to the event stream.

    An alias shares the value of its anchor (nothing is copied), but counts as the nodes it
    stands for: a text may add at most :data:`MAX_ALIAS_NODES` through aliases, which is what
    stops an alias bomb (9 aliases of 9 aliases of …) before the spec builder walks it.
    """

    def __init__(self, loader, file: str, counting: bool = True):
        self.loader, self.file = loader, file
        self.counting = counting  # count nodes for the alias budget (needless without '&')
        self.constructor = yaml.SafeLoader("")
        self.scalars: dict[tuple, Any] = {}  # (text, implicit) → its value, built once
        self.anchors: dict[str, tuple] = {}  # name → (value, line, col, nodes)
        self.marks: dict[str, Any] = {}  # name → where it was first defined
        self.open_anchors: set[str] = set()
        self.added = 0  # nodes that aliases added

    def document(self) -> Any:
        get = self.loader.get_event
        get()  # the stream's start
        if isinstance(get(), yaml.StreamEndEvent):  # else: the document's start
            return _EMPTY
        root, line, col = self.node()
        get()  # the document's end
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            mark = yaml.Mark(self.file, 0, line - 1, col - 1, None, None)
            raise yaml.composer.ComposerError("expected a single document in the stream", mark,
                                              "but found another document", event.start_mark)
        return root

    def node(self) -> tuple[Any, int, int]:
        """Read one whole node (the document's root): its value, line and column."""
        # One pass over every event of the text, most of the time spent reading a large spec:
        # names are bound locally, and a plain scalar seen before takes the shortest path.
        get, file, scalars = self.loader.get_event, self.file, self.scalars
        scalar_event, map_start = yaml.ScalarEvent, yaml.MappingStartEvent
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        counting = self.counting
        stack: list[_Open] = []
        raw_line, line = -1, 0
        while True:
            event = get()
            kind = type(event)
            if kind in ends:
                done = stack.pop()
                value, at_line, at_col, size = done.value, done.line, done.col, done.size
                if done.anchor is not None:
                    self.open_anchors.discard(done.anchor)
                    self.anchors[done.anchor] = (value, at_line, at_col, size)
            else:
                mark = event.start_mark
                if mark.line != raw_line:  # one int per line, shared by its nodes
                    raw_line, line = mark.line, mark.line + 1
                at_line, at_col, size = line, mark.column + 1, 1
                if len(stack) > MAX_YAML_DEPTH:
                    raise SpecError(Issue(Location(file, at_line, at_col),
                                          f"the YAML nests more than {MAX_YAML_DEPTH} levels "
                                          f"deep", hint="use blocks to structure it"))
                if kind is scalar_event and event.tag is None and event.anchor is None:
                    value = scalars.get((event.value, event.implicit), _MISSING)
                    if value is _MISSING:
                        value = self.scalar(event, at_line, at_col)
                else:
                    value, size, at_line, at_col = self.unusual(event, kind, at_line, at_col)
                    if value is _OPENS:
                        container = YMap() if kind is map_start else YList()
                        if kind is map_start:
                            container._index = None
                        container.file, container._pos = file, [at_line, at_col]
                        stack.append(_Open(container, at_line, at_col, event.anchor))
                        continue
            if not stack:
                return value, at_line, at_col
            parent = stack[-1]
            if counting:
                parent.size += size
            if parent.is_list:
                parent.value.append(value)
                parent.pos += (at_line, at_col)
            elif parent.key is _NO_KEY:
                if isinstance(value, (YMap, YList)):
                    raise SpecError(Issue(Location(file, at_line, at_col),
                                          "a key must be a plain word"))
                if value in parent.value:
                    raise SpecError(Issue(Location(file, at_line, at_col),
                                          f"the key '{value}' appears twice in this mapping",
                                          hint="keep one"))
                parent.key, parent.key_line, parent.key_col = value, at_line, at_col
            else:
                parent.value[parent.key] = value
                parent.pos += (parent.key_line, parent.key_col, at_line, at_col)
                parent.key = _NO_KEY

    def unusual(self, event, kind, line: int, col: int) -> tuple[Any, int, int, int]:
        """An alias, an anchored or tagged scalar, or the start of a mapping or sequence
        (:data:`_OPENS`): its value, how many nodes it stands for, and where it is (an
        alias's value is where its anchor is, as in PyYAML's node tree)."""
        if kind is yaml.AliasEvent:
            value, at_line, at_col, size = self.alias(event, line, col)
            return value, size, at_line, at_col
        anchor = event.anchor
        if anchor is not None:
            if anchor in self.marks:
                raise yaml.composer.ComposerError(
                    f"found duplicate anchor {anchor!r}; first occurrence", self.marks[anchor],
                    "second occurrence", event.start_mark)
            self.marks[anchor] = event.start_mark
        if kind is not yaml.ScalarEvent:
            if anchor is not None:
                self.open_anchors.add(anchor)
            return _OPENS, 1, line, col
        value = self.scalar(event, line, col)
        if anchor is not None:
            self.anchors[anchor] = (value, line, col, 1)
        return value, 1, line, col

    def alias(self, event, line: int, col: int) -> tuple[Any, int, int, int]:
        """The anchored value, the nodes it stands for, and where the anchor is."""
        name = event.anchor
        if name in self.open_anchors:
            raise SpecError(Issue(Location(self.file, line, col),
                                  f"the YAML alias *{name} refers to itself"))
        if name not in self.anchors:
            raise yaml.composer.ComposerError(None, None, f"found undefined alias {name!r}",
                                              event.start_mark)
        value, at_line, at_col, size = self.anchors[name]
        self.added += size
        if self.added > MAX_ALIAS_NODES:
            raise SpecError(Issue(Location(self.file, line, col),
                                  f"YAML aliases repeat more than {MAX_ALIAS_NODES:,} nodes (an "
                                  f"alias bomb?)",
                                  hint="write blocks and repeat instead of nested aliases"))
        return value, at_line, at_col, size

    def scalar(self, event, line: int, col: int) -> Any:
        tag, text = event.tag, event.value
        if tag is not None and tag != "!":
            return self.construct(tag, event, line, col)
        key = (text, event.implicit)
        try:
            return self.scalars[key]
        except KeyError:
            pass
        tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        value = self.scalars[key] = self.construct(tag, event, line, col)
        return value

    def construct(self, tag: str, event, line: int, col: int) -> Any:
        text = event.value
        try:
            if tag == _STR:
                return text
            if tag == _INT and text.isascii() and text.isdigit() and (
                    text[0] != "0" or len(text) == 1):  # a leading 0 is YAML 1.1's octal
                return int(text)
            node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
            return self.constructor.construct_object(node)
        except yaml.YAMLError as e:
            raise SpecError(Issue(Location(self.file, line, col),
                                  f"YAML: {str(e).splitlines()[0]}")) from None
        except ValueError:  # Python refuses to read an integer of more than 4,300 digits
            raise SpecError(Issue(Location(self.file, line, col),
                                  f"the number {text[:20]}… has {len(text):,} digits",
                                  hint="no layer size is that large")) from None
