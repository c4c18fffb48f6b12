"""The JSON Schema of the spec language, generated from the layer registry, for editors.

An editor with the YAML language server (VS Code's YAML extension, and the editors built on
the same server) reads it to complete kinds and settings as they are typed, show each one's
doc line and default on hover, and underline a misspelt setting, an unknown kind or a value
of the wrong type before cnncalc runs.  The server validates JSON Schema draft-07 and below,
so the schema is draft-07.

Every layer kind comes from :data:`cnncalc.layers.REGISTRY`: its settings are its ``Field``
entries, each typed by the ``schema`` fragment its parser carries (see
:mod:`cnncalc.layers.base`).  The combinators, the siblings of a layer, the claims of
``expect:`` and the top-level keys come from the loader's own tables (``COMBINATORS``,
``SIBLINGS``, ``CLAIM_FIELDS``, ``TOP_KEYS``); one of those without a schema here raises
:class:`LookupError` rather than leaving a key undescribed.

The schema checks what one value shows; cnncalc itself still checks what takes more than one:
rules across settings (a conv needs ``filters`` unless it is depthwise), that a block used
exists and has the parameters given, that ``$param`` is defined, and every shape.
"""

from __future__ import annotations

import copy
from typing import Any

from .codes import CODES
from .layers import REGISTRY
from .layers.base import Field, Layer, pos_int
from .network import COMBINATORS, MAX_LAYERS, Merge
from .formulas import _VOLUME
from .spec import CLAIM_FIELDS, SIBLINGS, TOP_KEYS

DIALECT = "http://json-schema.org/draft-07/schema#"

LAYER = {"$ref": "#/definitions/layer"}
PARAM = {"$ref": "#/definitions/param"}
VOLUME = {"$ref": "#/definitions/volume"}


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft-07) of a spec: a fresh dict, ready for ``json.dumps``."""
    top = {
        "name": {"type": ["string", "number"],
                 "description": "the net's name in reports (default: the file's name)"},
        "description": {"type": ["string", "null"], "description": "free text about the net"},
        "params": {"type": "object", "propertyNames": {"pattern": r"^[A-Za-z_]\w*$"},
                   "additionalProperties": {"anyOf": [{"type": "number"}, PARAM]},
                   "description": "the spec's parameters with their values ({width: 1.0, "
                                  "res: 224}), read as $width anywhere a number is and set "
                                  "with --set width=1.1 (cnncalc sweep varies them)"},
        "input": {"description": "the input volume W×H×D, the notes' order: 32x32x3, or "
                                 "{width, height, channels}; a single number is a vector; "
                                 "$res x $res x 3 reads the spec's params",
                  "anyOf": [VOLUME, _input_mapping(), PARAM]},
        "layers": {**_sequence("the layers, in execution order"), "type": "array",
                   "minItems": 1},
        "blocks": {"type": "object", "additionalProperties": {"$ref": "#/definitions/block"},
                   "description": "blocks defined once and used by name (use: NAME); inside "
                                  "a block, $param and integer arithmetic on parameters"},
        "expect": {**_claims(), "description": "claims about the whole net that cnncalc "
                                               "checks: output, params, macs, …"},
    }
    schema = {
        "$schema": DIALECT,
        "title": "cnncalc spec",
        "description": "A CNN described layer by layer for cnncalc: `cnncalc inspect FILE`.",
        "type": "object",
        "properties": _pick(top, TOP_KEYS, "top-level key"),
        "required": ["input", "layers"],
        "additionalProperties": False,
        "definitions": {
            "layer": _layer(),
            "block": _block(),
            "volume": _volume(),
            "param": {"type": "string", "pattern": r"\$\{?[A-Za-z_]",
                      "description": "a parameter, $name (a block's, or the spec's params:), "
                                     "or exact arithmetic on parameters such as "
                                     "make_divisible(32 * $width) or ceil(3 * $depth)"},
        },
    }
    return copy.deepcopy(schema)  # the parsers' fragments are shared: the caller may edit


def _pick(table: dict[str, Any], keys, what: str) -> dict[str, Any]:
    """``table`` restricted to the loader's ``keys``, which must all be described."""
    missing = [k for k in keys if k not in table]
    if missing:
        raise LookupError(f"the spec schema does not describe the {what} "
                          f"{', '.join(map(repr, missing))}: add it to cnncalc/schema.py")
    return {k: table[k] for k in keys}


# --- layers ---------------------------------------------------------------------------------

def _layer() -> dict[str, Any]:
    kinds = {key: _kind(cls) for key, cls in REGISTRY.items()}
    combinators = _pick(_combinators(), COMBINATORS, "combinator")
    siblings = _pick(_siblings(), SIBLINGS, "layer sibling")
    bare = [key for key, cls in REGISTRY.items() if not any(f.required for f in cls.fields)]
    return {
        "description": "a layer: a bare word (relu) or one kind with its settings "
                       "(conv: {filters: 6, size: 5}), with name:, expect: and frozen: beside it",
        # if/then/else rather than anyOf: the language server then reports a misspelt kind
        # as "Property conb is not allowed", not as a word that is not a bare kind.
        "type": ["string", "object"],
        "if": {"type": "string"},
        "then": {"enum": bare, "description": "a layer kind with every setting at its default"},
        "else": {
            "properties": {
                **kinds, **combinators, **siblings,
                "with": {"type": ["object", "null"],
                         "description": "the block's parameters: {param: value}"}},
            "additionalProperties": False,
            # exactly one kind or combinator per item; the siblings ride along
            "oneOf": [{"required": [key]} for key in [*kinds, *combinators]],
            "dependencies": {"with": ["use"]}},
    }


def _kind(cls: type[Layer]) -> dict[str, Any]:
    """One kind's value: its settings as a mapping; a scalar for the primary setting
    (``fc: 84``); nothing (``relu:``) when no setting is required."""
    required = [f.name for f in cls.fields if f.required]
    settings: dict[str, Any] = {
        "type": "object",
        "properties": {f.name: _setting(cls, f) for f in cls.fields},
        "additionalProperties": False,
    }
    if required:
        settings["required"] = required
    forms = [settings]
    doc = f"{cls.key}: {cls.summary}"
    if cls.primary is not None:
        primary = next(f for f in cls.fields if f.name == cls.primary)
        forms.append({**_parametric(parser_schema(cls, primary)),
                      "description": f"{cls.primary}: {primary.doc}"})
        doc += f"; `{cls.key}: x` alone sets {cls.primary}"
    if not required:
        forms.append({"type": "null", "description": "every setting at its default"})
    return {"description": doc, "anyOf": forms} if len(forms) > 1 else {**settings,
                                                                        "description": doc}


def _setting(cls: type[Layer], f: Field) -> dict[str, Any]:
    out = {**_parametric(parser_schema(cls, f)), "description": f.doc}
    if not f.required and f.default is not None:  # None stands for a value derived from others
        out["default"] = f.default
    return out


def parser_schema(cls: type[Layer], f: Field) -> dict[str, Any]:
    """The schema fragment of the values ``f``'s parser accepts."""
    schema = getattr(f.parse, "schema", None)
    if not isinstance(schema, dict):
        raise LookupError(f"layer kind '{cls.key}', setting '{f.name}': its parser "
                          f"{getattr(f.parse, '__name__', f.parse)!r} has no `schema` "
                          f"fragment; set one where the parser is defined "
                          f"(cnncalc/layers/base.py)")
    return schema


def _parametric(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, where a block parameter may stand for the value or any item of a list in
    it: the loader substitutes ``$…`` in both places before the parser sees the value."""
    def walk(node: dict[str, Any]) -> dict[str, Any]:
        node = dict(node)
        if "anyOf" in node:
            node["anyOf"] = [walk(alt) for alt in node["anyOf"]]
        if isinstance(node.get("items"), dict):
            node["items"] = {"anyOf": [walk(node["items"]), PARAM]}
        return node

    node = walk(schema)
    if list(node) == ["anyOf"]:
        return {"anyOf": [*node["anyOf"], PARAM]}
    return {"anyOf": [node, PARAM]}


def _sequence(doc: str) -> dict[str, Any]:
    """A list of layers; the loader reads a missing one (null) as empty where that is allowed."""
    return {"type": ["array", "null"], "items": LAYER, "description": doc}


def _combinators() -> dict[str, dict[str, Any]]:
    def mapping(doc: str, properties: dict[str, Any], required=()) -> dict[str, Any]:
        out = {"type": "object", "properties": properties, "additionalProperties": False,
               "description": doc}
        if required:
            out["required"] = list(required)
        return out

    return {
        "residual": mapping(
            f"residual: {COMBINATORS['residual']}",
            {"main": _sequence("the layers whose output is added to the shortcut's"),
             "shortcut": _sequence("the shortcut's layers; identity when left out"),
             "flat": {"type": "boolean", "default": False,
                      "description": "name the shortcut's layers beside main's, without a "
                                     "'shortcut' level (as an imported model names them)"}},
            ["main"]),
        "branches": mapping(
            f"branches: {COMBINATORS['branches']}",
            {"paths": {"type": "array", "minItems": 1, "items": _sequence("one path"),
                       "description": "parallel paths on the same input, each a list of "
                                      "layers; [] is the identity"},
             "merge": {"enum": [m.value for m in Merge], "default": Merge.CONCAT.value,
                       "description": "concat (channels), add, mul (a gate) or first (side "
                                      "outputs)"},
             "flat": {"type": "boolean", "default": False,
                      "description": "add no 'branchN' level per path"}},
            ["paths"]),
        "repeat": mapping(
            f"repeat: {COMBINATORS['repeat']}",
            {"times": {**_parametric({"type": "integer", "minimum": 1,
                                      "maximum": MAX_LAYERS}),
                       "description": "how many times the layers repeat"},
             "layers": {**_sequence("the layers repeated"), "type": "array", "minItems": 1},
             "start": {**_parametric({"type": "integer", "minimum": 0}), "default": 0,
                       "description": "the first iteration's name (1 after a different "
                                      "block 0)"}},
            ["times", "layers"]),
        "use": {"type": "string", "minLength": 1,
                "description": f"use: {COMBINATORS['use']}"},
        "from": {"type": "string", "pattern": r"^[^.]+(\.[^.]+)*$",
                 "description": f"from: {COMBINATORS['from']}"},
    }


def _siblings() -> dict[str, dict[str, Any]]:
    return {
        "name": {"type": ["string", "integer"], "pattern": r"\S",
                 "description": "this layer's name (default: its kind and count, conv1); "
                                "dotted under its parents in reports"},
        "expect": {**_claims(), "description": "claims about this layer that `cnncalc "
                                               "check` grades: output, params, macs, rf, …"},
        "frozen": {"type": "boolean", "default": False,
                   "description": "its weights are not trained: counted in params, not in "
                                  "trainable_params"},
        "allow": {"anyOf": [{"enum": list(CODES)},
                            {"type": "array", "items": {"enum": list(CODES)}}],
                  "description": "diagnostic codes silenced on this layer and inside it "
                                 "(a deliberate design): CN101, CN106, …"},
        "share": {"type": ["string", "integer"], "pattern": r"^[^.\s]+(\.[^.\s]+)*$",
                  "description": "the name of an earlier layer of the same kind and settings "
                                 "whose weights this one reuses (one module called twice): "
                                 "0 params here, its MACs as usual"},
    }


def _claims() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    special = {
        "output": {"anyOf": [VOLUME, {"type": "array", "minItems": 1, "maxItems": 3,
                                      "items": pos_int.schema}],
                   "description": "the output volume W×H×D (28x28x6), or N after flatten"},
        "rf": {"anyOf": [count, {"type": "array", "minItems": 2, "maxItems": 2,
                                 "items": pos_int.schema}],
               "description": "the receptive field, or [h, w] when it differs"},
    }
    # Every other claim is a whole number ≥ 0, as the loader reads it.
    properties = {f: special.get(f, {**count, "description": f"{f.replace('_', ' ')}, as "
                                                              f"cnncalc counts them"})
                  for f in CLAIM_FIELDS}
    return {"type": "object", "properties": properties, "additionalProperties": False}


# --- input and blocks -----------------------------------------------------------------------

def _volume() -> dict[str, Any]:
    return {"anyOf": [
        {"type": "string", "pattern": _VOLUME.pattern, "description": "W×H×D or W×H, e.g. "
                                                                      "32x32x3"},
        {"type": "string", "pattern": r"^\s*\d+\s*$", "description": "N, a vector"},
        {**pos_int.schema, "description": "N, a vector"},
    ]}


def _input_mapping() -> dict[str, Any]:
    side = {"anyOf": [{**pos_int.schema}, PARAM]}
    return {"type": "object", "required": ["width", "height"], "additionalProperties": False,
            "properties": {"width": {**side, "description": "W"},
                           "height": {**side, "description": "H"},
                           "channels": {**side, "default": 1, "description": "D"}}}


def _block() -> dict[str, Any]:
    layers = {"type": "array", "minItems": 1, "items": LAYER,
              "description": "the block's layers; $param stands for a parameter"}
    params = {"description": "parameters with their defaults ({width: 64}; null: the "
                             "user must give it), or a list of required names",
              "anyOf": [{"type": "object"},
                        {"type": "array", "items": {"type": ["string", "integer"]}},
                        {"type": "null"}]}
    return {"description": "a block: {params: …, layers: […]}, or just its list of layers",
            "anyOf": [layers,
                      {"type": "object", "required": ["layers"], "additionalProperties": False,
                       "properties": {"params": params, "layers": layers,
                                      "description": {"type": ["string", "null"]}}}]}

