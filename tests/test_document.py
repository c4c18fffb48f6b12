"""The JSON text: the contract's content in cnncalc's layout (one layer a line), written by
the C encoder, and streamed by `inspect` without holding the document."""

from __future__ import annotations

import json

import pytest
from conftest import BUNDLED

import cnncalc
from cnncalc.render.document import _CHUNK, dumps, iter_dumps, to_json, to_json_stream


def test_the_layout():
    doc = {"name": "n", "input": {"shape": [1, 2, 2], "volume": "2×2×1"},
           "layers": [{"name": "a", "shape": [3], "rf": {"size": 1}}, {"name": "b"}],
           "warnings": [], "memory": None, "totals": {"params": 1, "memory": {"batch": 1}}}
    assert dumps(doc) == """\
{
  "name": "n",
  "input": {
    "shape": [1, 2, 2],
    "volume": "2×2×1"
  },
  "layers": [
    {"name": "a", "shape": [3], "rf": {"size": 1}},
    {"name": "b"}
  ],
  "warnings": [],
  "memory": null,
  "totals": {
    "params": 1,
    "memory": {
      "batch": 1
    }
  }
}"""
    # several documents: each spread over lines, its layers one a line
    assert dumps([{"layers": [{"a": 1}]}, {"layers": []}]) == (
        '[\n  {\n    "layers": [\n      {"a": 1}\n    ]\n  },\n  {\n    "layers": []\n  }\n]')
    assert dumps([]) == "[]" and dumps({}) == "{}" and dumps("x") == '"x"'


@pytest.mark.parametrize("name", BUNDLED)
def test_the_content_is_the_document(name):
    report = cnncalc.analyze(cnncalc.load(f"zoo:{name}"))
    doc = to_json(report)
    text = dumps(doc)
    assert json.loads(text) == doc
    assert "".join(iter_dumps(to_json_stream(report))) == text
    layer_lines = [line for line in text.splitlines() if line.startswith('    {"name": ')]
    assert len(layer_lines) == len(report.layers) == len(doc["layers"])


def test_a_large_report_is_written_in_pieces():
    text = "input: 8x8x4\nlayers:\n" + "  - conv: {filters: 4, size: 3, pad: 1}\n" * 3000
    report = cnncalc.analyze(cnncalc.load(text))
    pieces = list(iter_dumps(to_json_stream(report)))
    row = max(len(line) for line in pieces[0].splitlines())
    assert len(pieces) > 10 and max(map(len, pieces)) < _CHUNK + 2 * row
    assert json.loads("".join(pieces)) == to_json(report)


def test_inspect_writes_one_document_or_a_list(cli):
    one = json.loads(cli("inspect", "specs/lenet5.yaml", "--format", "json").stdout)
    both = cli("inspect", "specs/lenet5.yaml", "zoo:alexnet", "--format", "json")
    docs = json.loads(both.stdout)
    assert [d["name"] for d in docs] == ["LeNet-5", docs[1]["name"]] and docs[0] == one
    assert both.stdout.endswith("]\n")
