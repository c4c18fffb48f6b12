"""The editor's JSON Schema agrees with the loader: every bundled spec passes it, mistakes the
loader refuses in one value fail it, and each parser's fragment accepts exactly what the parser
accepts."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml
from conftest import SPECS

from cnncalc import schema as schema_module
from cnncalc.errors import SpecError
from cnncalc.layers import REGISTRY
from cnncalc.layers.base import Field, Layer
from cnncalc.network import COMBINATORS
from cnncalc.schema import build_schema
from cnncalc.formulas import MAX_SIZE
from cnncalc.spec import parse

BUNDLED = sorted(SPECS.glob("*.yaml")) + [SPECS / "examples" / "homework.yaml"]

# Values to try on every parser: each accepted by some parsers and refused by others.
# Not here: 6.0 where an integer is asked (JSON Schema counts it an integer, cnncalc does not)
# and NaN (no JSON number).
VALUES = [0, 1, 2, 7, -1, -0.5, MAX_SIZE, MAX_SIZE + 1, 0.5, 1e-5, 0.999, 1e300, 1e301, -1e301,
          True, False, None, "", "six", "same", "valid", "SAME", "Valid", "keep", "max", "avg",
          "MAX", "nearest", "bilinear", "concat", " max", [1, 2], [0, 0], [2], [1, 2, 3], [0, 1],
          [True, 1], [[0, 1], [1, 2]], [[0, 0]], [[]], [], [[0]], [[-1]], {"h": 1}]

# A value each parser accepts, for the settings around the one under test.
SAMPLES = [1, 0, 0.5, True, [[0]], "max", "nearest", "same"]


@pytest.fixture(scope="module")
def validator():
    return jsonschema.Draft7Validator(build_schema())


def spec_of(*layers, **top) -> dict:
    return {"input": "32x32x3", "layers": list(layers), **top}


def loads(doc: dict) -> bool:
    """Whether cnncalc's loader accepts the spec."""
    try:
        parse(yaml.safe_dump(doc, sort_keys=False), "<test>")
    except SpecError:
        return False
    return True


def parses(f: Field, value) -> bool:
    try:
        f.parse(value)
    except ValueError:
        return False
    return True


def messages(errors) -> list[str]:
    """Every error's message, with those of the alternatives under an anyOf or a oneOf."""
    out = []
    for e in errors:
        out.append(e.message)
        out.extend(messages(e.context))
    return out


def registered_fields():
    return [(cls, f) for cls in REGISTRY.values() for f in cls.fields]


def field_id(pair) -> str:
    cls, f = pair
    return f"{cls.key}.{f.name}"


def sample(f: Field):
    return next(v for v in SAMPLES if parses(f, v))


# --- the schema itself --------------------------------------------------------------------

def test_schema_is_a_valid_draft07_schema():
    schema = build_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    json.dumps(schema)  # plain JSON: no tuples of enums, no infinities


def test_every_registered_kind_and_setting_is_described():
    layer = build_schema()["definitions"]["layer"]
    bare, mapping = layer["then"], layer["else"]
    for key, cls in REGISTRY.items():
        kind = mapping["properties"][key]
        assert cls.summary in kind["description"]
        settings = kind if kind.get("type") == "object" else kind["anyOf"][0]
        assert set(settings["properties"]) == {f.name for f in cls.fields}, key
        for f in cls.fields:
            described = settings["properties"][f.name]
            assert described["description"] == f.doc
            if not f.required and f.default is not None:
                assert described["default"] == f.default
        assert set(settings.get("required", [])) == {f.name for f in cls.fields if f.required}
    assert set(COMBINATORS) <= set(mapping["properties"])
    assert {"required": ["conv"]} in mapping["oneOf"]
    # a bare word is a kind that needs no setting
    assert set(bare["enum"]) == {k for k, cls in REGISTRY.items()
                                 if not any(f.required for f in cls.fields)}
    assert {"relu", "flatten", "bn", "softmax"} <= set(bare["enum"])
    assert not {"conv", "fc", "pool"} & set(bare["enum"])


def test_every_parser_of_a_registered_field_carries_its_fragment():
    for cls, f in registered_fields():
        assert isinstance(getattr(f.parse, "schema", None), dict), field_id((cls, f))


def test_a_kind_whose_parser_has_no_fragment_is_refused(monkeypatch):
    def unknown_parser(v):
        return v

    fake = type("Fake", (Layer,), {"key": "fake", "summary": "a test kind",
                                   "fields": (Field("depth", unknown_parser, 1, "d"),)})
    monkeypatch.setitem(REGISTRY, "fake", fake)
    with pytest.raises(LookupError, match="'fake', setting 'depth'.*unknown_parser"):
        build_schema()


@pytest.mark.parametrize("table, key", [("SIBLINGS", "tags"), ("TOP_KEYS", "version"),
                                        ("CLAIM_FIELDS", None), ("COMBINATORS", "tile")])
def test_a_loader_key_without_a_schema_is_refused(monkeypatch, table, key):
    if key is None:  # a new claim is a whole number, as the loader reads it: no refusal
        monkeypatch.setattr(schema_module, table, schema_module.CLAIM_FIELDS + ("memory",))
        claims = build_schema()["properties"]["expect"]["properties"]
        assert claims["memory"]["type"] == "integer"
        return
    current = getattr(schema_module, table)
    grown = {**current, key: "doc"} if isinstance(current, dict) else (*current, key)
    monkeypatch.setattr(schema_module, table, grown)
    with pytest.raises(LookupError, match=f"'{key}'"):
        build_schema()


# --- each parser's fragment against the parser ----------------------------------------------

@pytest.mark.parametrize("pair", registered_fields(), ids=field_id)
def test_fragment_accepts_exactly_what_the_parser_accepts(pair):
    cls, f = pair
    fragment = jsonschema.Draft7Validator(f.parse.schema)
    disagree = [v for v in VALUES if fragment.is_valid(v) != parses(f, v)]
    assert not disagree, f"{field_id(pair)}: the schema and the parser disagree on {disagree}"


# --- whole specs --------------------------------------------------------------------------

def test_bundled_specs_are_found():
    assert len(BUNDLED) >= 20 and all(p.exists() for p in BUNDLED)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_spec_passes(validator, path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(doc)]
    assert not errors


@pytest.mark.parametrize("cls", REGISTRY.values(), ids=lambda c: c.key)
def test_one_setting_at_a_time_against_the_loader(validator, cls):
    """Every layer the loader accepts passes; every value the setting's parser refuses fails."""
    base = {f.name: sample(f) for f in cls.fields if f.required or f.default is None}
    assert loads(spec_of({cls.key: base})), f"the test's base {cls.key} layer is refused"
    assert validator.is_valid(spec_of({cls.key: base}))
    for f in cls.fields:
        for v in VALUES:
            doc = spec_of({cls.key: {**base, f.name: v}})
            if loads(doc):
                assert validator.is_valid(doc), f"{cls.key}.{f.name}: {v!r} loads but fails"
            if not parses(f, v):
                assert not validator.is_valid(doc), f"{cls.key}.{f.name}: {v!r} passes"


@pytest.mark.parametrize("cls", REGISTRY.values(), ids=lambda c: c.key)
def test_bare_word_null_and_primary_forms_agree_with_the_loader(validator, cls):
    forms = [cls.key, {cls.key: None}, {cls.key: {}}, {cls.key: None, "name": "x"}]
    forms += [{cls.key: v} for v in VALUES if not isinstance(v, dict)]
    for item in forms:
        doc = spec_of(item)
        assert validator.is_valid(doc) == loads(doc), item


def test_a_misspelt_setting_fails(validator):
    doc = spec_of({"conv": {"filter": 6, "size": 5}})
    assert not loads(doc)
    assert not validator.is_valid(doc)
    assert "Additional properties are not allowed ('filter' was unexpected)" in messages(
        validator.iter_errors(doc))


@pytest.mark.parametrize("item", [{"conb": {"filters": 6, "size": 5}}, "relux", {"name": "x"},
                                  {"conv": {"filters": 6, "size": 5}, "relu": None},
                                  {"relu": None, "with": {"width": 2}}, "fc",
                                  {"relu": None, "expect": {"parms": 3}},
                                  {"relu": None, "frozen": "yes"}, {"use": ""}])
def test_an_unknown_kind_or_a_misplaced_key_fails(validator, item):
    assert not loads(spec_of(item))
    assert not validator.is_valid(spec_of(item))


@pytest.mark.parametrize("settings", [{"filters": "six", "size": 5}, {"filters": 6.5, "size": 5},
                                      {"filters": 6, "size": 5, "pad": "full"},
                                      {"filters": 6, "size": [5, 5, 5]},
                                      {"filters": 6, "size": 5, "bias": "no"}])
def test_a_wrong_type_fails(validator, settings):
    assert not loads(spec_of({"conv": settings}))
    assert not validator.is_valid(spec_of({"conv": settings}))


def test_block_parameters_pass_where_a_value_is_read(validator):
    doc = spec_of(
        {"use": "down", "with": {"width": 128}, "name": "layer2"},
        {"repeat": {"times": 2, "layers": [{"use": "down"}]}},
        blocks={"down": {
            "params": {"width": 64, "stride": 2, "size": 3, "mode": "max"},
            "layers": [
                {"conv": {"filters": "$width", "size": ["$size", 3], "stride": "$stride",
                          "pad": "($size - 1) / 2", "bias": False}},
                "relu",
                {"pool": {"size": 2, "mode": "$mode"}},
                {"repeat": {"times": "$stride - 1", "layers": ["bn"]}},
                "flatten",
                {"fc": "$width * 4"}]}})
    assert loads(doc)
    assert validator.is_valid(doc)


@pytest.mark.parametrize("top", [{"input": {"width": 32, "height": 32, "channels": 3}},
                                 {"input": {"width": 32, "height": 32}}, {"input": 784},
                                 {"input": "28 x 28"}, {"input": "32×32×3"},
                                 {"expect": {"output": 1000, "params": 5}},
                                 {"expect": {"output": [1, 1, 3], "rf": [3, 5]}},
                                 {"description": "a net", "name": "net"},
                                 {"blocks": {"b": ["relu"]}}])
def test_other_top_level_forms_agree_with_the_loader(validator, top):
    doc = {**spec_of("relu"), **top}
    assert loads(doc)
    assert validator.is_valid(doc)


@pytest.mark.parametrize("top", [{"input": "32x32x"}, {"input": {"width": 32}},
                                 {"input": {"width": 32, "height": 32, "depth": 3}},
                                 {"expect": {"output": "big"}}, {"expect": {"params": -1}},
                                 {"layers": []}, {"inputs": "32x32x3"},
                                 {"blocks": {"b": {"params": {"w": 1}}}}])
def test_top_level_mistakes_fail(validator, top):
    doc = {**spec_of("relu"), **top}
    assert not loads(doc)
    assert not validator.is_valid(doc)


# --- the command --------------------------------------------------------------------------

def test_schema_command_prints_the_schema(cli):
    result = cli("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == build_schema()


def test_schema_command_writes_a_file_and_keeps_an_existing_one(cli, tmp_path):
    out = tmp_path / "cnncalc.schema.json"
    assert cli("schema", "-o", out).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == build_schema()
    out.write_text("mine", encoding="utf-8")
    refused = cli("schema", "-o", out)
    assert refused.exit_code == 2
    assert refused.stderr.strip() == f"{out}: error: exists; nothing was written; use --force " \
                                     f"to overwrite it"
    assert out.read_text(encoding="utf-8") == "mine"
    assert cli("schema", "-o", out, "--force").exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == build_schema()


def test_readme_names_the_file_the_command_writes():
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "cnncalc schema -o cnncalc.schema.json" in readme
    assert "# yaml-language-server: $schema=./cnncalc.schema.json" in readme
    assert '"yaml.schemas": { "./cnncalc.schema.json"' in readme


def test_allow_takes_known_codes(validator):
    ok = {"input": "8x8x3", "layers": [{"conv": {"filters": 4, "size": 1, "stride": 2},
                                         "allow": ["CN101", "CN106"]}]}
    assert not list(validator.iter_errors(ok))
    bad = {"input": "8x8x3", "layers": [{"conv": {"filters": 4, "size": 1}, "allow": ["CN999"]}]}
    assert list(validator.iter_errors(bad))


def test_spec_params_pass_where_a_number_is(validator):
    """Top-level params: (issue 18) read in input, settings, repeat.times and use: with:."""
    doc = {"params": {"width": 1.0, "depth": 1.5, "res": 32},
           "input": "$res x $res x 3",
           "blocks": {"b": {"params": {"c": 8},
                            "layers": [{"conv": {"filters": "make_divisible($c * $width)",
                                                 "size": 3, "pad": 1}}]}},
           "layers": [{"conv": {"filters": "round(16 * $width)", "size": 3}},
                      {"repeat": {"times": "ceil(2 * $depth)", "layers": [{"use": "b"}]}},
                      {"use": "b", "with": {"c": "$width * 20"}}, "flatten",
                      {"dropout": "$width / 4"}]}
    assert loads(doc)
    assert validator.is_valid(doc)
    mapping = {**doc, "input": {"width": "$res", "height": "$res * 2", "channels": 3}}
    assert loads(mapping)
    assert validator.is_valid(mapping)


@pytest.mark.parametrize("params", [{"width": "wide"}, {"width": True}, [1, 2]])
def test_spec_param_mistakes_fail(validator, params):
    doc = {"params": params, **spec_of("relu")}
    assert not loads(doc)
    assert not validator.is_valid(doc)
