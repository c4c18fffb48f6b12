"""YAML with locations, read from PyYAML's event stream: the same values and positions as
PyYAML's own composer and constructor give, and the same refusals."""

from __future__ import annotations

import pytest
import yaml
from conftest import BUNDLED, SPECS

from cnncalc.errors import Location, SpecError
from cnncalc.located_yaml import MAX_ALIAS_NODES, MAX_YAML_DEPTH, YList, YMap, compose


def reference(node: yaml.Node):
    """PyYAML's value of a node, with each container's and item's start, as (line, col)."""
    at = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return yaml.SafeLoader("").construct_object(node), at
    if isinstance(node, yaml.SequenceNode):
        return [reference(item) for item in node.value], at
    return [(reference(k), reference(v)) for k, v in node.value], at


def ours(value, at: Location):
    here = (at.line, at.col)
    if isinstance(value, YList):
        assert value.loc == at
        return [ours(item, value.item_locs[i]) for i, item in enumerate(value)], here
    if isinstance(value, YMap):
        assert value.loc == at
        return [((k, (value.key_locs[k].line, value.key_locs[k].col)),
                 ours(v, value.value_locs[k])) for k, v in value.items()], here
    return value, here


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_spec_reads_as_pyyaml_reads_it(name):
    path = SPECS / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    root = compose(text, str(path))
    assert ours(root, root.loc) == reference(yaml.compose(text, Loader=yaml.SafeLoader))
    assert root.loc.file == str(path)


SCALARS = """\
a: 16
b: "16"
c: 010
d: 0x1F
e: 1_000
f: -3
g: 2.5
h: true
i: off
j: ~
k:
l: 2001-12-14
m: !!str 7
n: 'x: y'
o: [1, two, 3.0, no]
"""


def test_scalars_are_constructed_as_pyyaml_constructs_them():
    value = compose(SCALARS, "s.yaml")
    assert value == yaml.safe_load(SCALARS)
    expected = yaml.safe_load(SCALARS)
    assert [type(v) for v in value.values()][:-1] == [type(v) for v in expected.values()][:-1]
    assert [type(v) for v in value["o"]] == [type(v) for v in expected["o"]]
    assert value["c"] == 8 and value["b"] == "16" and value["m"] == "7"


def test_positions_are_where_each_node_starts():
    value = compose("top:\n  - conv: {filters: 6, size: 5}\n    name: c1\n  - relu\n", "t")
    layers = value["top"]
    assert (value.key_locs["top"], value.value_locs["top"]) == (Location("t", 1, 1),
                                                                 Location("t", 2, 3))
    assert layers.item_locs[0] == Location("t", 2, 5) and layers.item_locs[-1] == \
        Location("t", 4, 5)
    conv = layers[0]
    assert conv.value_locs["conv"] == Location("t", 2, 11)
    assert conv["conv"].key_locs["size"] == Location("t", 2, 24)
    assert conv.value_locs["name"] == Location("t", 3, 11)
    assert conv.value_locs.get("nope") is None and "name" in conv.value_locs
    with pytest.raises(KeyError):
        conv.key_locs["nope"]
    with pytest.raises(IndexError):
        layers.item_locs[2]


def test_a_large_mapping_finds_its_keys():
    text = "".join(f"k{i}: {i}\n" for i in range(50))
    value = compose(text, "t")
    assert [value.value_locs[f"k{i}"].line for i in (0, 7, 49)] == [1, 8, 50]


def test_an_alias_shares_its_anchor_and_points_to_it():
    value = compose("a: &s {filters: 6, size: 5}\nb: *s\n", "t")
    assert value["a"] is value["b"] and value["b"] == {"filters": 6, "size": 5}
    assert value.value_locs["b"] == Location("t", 1, 4)  # where the anchored value is


@pytest.mark.parametrize("text, where, message", [
    ("a: &x 1\nb: &x 2\n", "2:4", "found duplicate anchor 'x'"),
    ("a: *nope\n", "1:4", "found undefined alias 'nope'"),
    ("a: &x [1, *x]\n", "1:11", "the YAML alias *x refers to itself"),
    ("a: 1\n---\nb: 2\n", "2:1", "expected a single document in the stream"),
    ("a: 1\na: 2\n", "2:1", "the key 'a' appears twice in this mapping"),
    ("? [a, b]\n: 1\n", "1:3", "a key must be a plain word"),
    ("a: " + "[" * (MAX_YAML_DEPTH + 1) + "]" * (MAX_YAML_DEPTH + 1) + "\n", "1:204",
     f"the YAML nests more than {MAX_YAML_DEPTH} levels deep"),
    ("a: [1\n", "2:1", "YAML syntax: "),
    ("", "1:1", "the file is empty"),
    ("# only a comment\n", "1:1", "the file is empty"),
])
def test_refusals_are_one_located_line(text, where, message):
    with pytest.raises(SpecError) as caught:
        compose(text, "f.yaml")
    (issue,) = caught.value.issues
    assert str(issue).startswith(f"f.yaml:{where}: error: ")
    assert message in str(issue)


def test_an_alias_bomb_is_refused_and_plain_repetition_is_not():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + chr(ord(c) - 1)] * 9)}]\n" for c in "bcdefghi")
    with pytest.raises(SpecError, match=f"repeat more than {MAX_ALIAS_NODES:,} nodes"):
        compose(bomb, "bomb.yaml")
    # nine aliases of a ten-node list add 90 nodes: far below the limit, and read
    small = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: [" + ", ".join(["*a"] * 9) + "]\n"
    assert compose(small, "t")["b"][8] == list(range(1, 10))


def test_an_explicit_empty_document_is_none():
    assert compose("---\n", "t") is None
