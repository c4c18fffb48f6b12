"""Every registered kind and every combinator, end to end: nothing here lists kind names.

The cases come from the registry itself (:data:`cnncalc.layers.REGISTRY`,
:data:`cnncalc.network.COMBINATORS`, :class:`cnncalc.network.Merge`): for each kind a small
spec with its defaults, then one per other word of a closed setting (a pool's ``mode``, a
conv's ``pad: same``) and one per boolean turned over.  A required setting gets a small value
read from its parser's schema; a kind whose settings cannot be made that way must be given
one in ``HAND_PICKED``, and the test of that says so, so a new kind cannot slip past.

Each spec is then
1. verified against PyTorch (``cnncalc.verify``: every layer's shape and counts, by the built
   module's own ``parameters()``, buffers and forward hooks),
2. exported (``cnncalc export --to pytorch``: a file defining ``class Net``),
3. imported back from that file (``cnncalc import file.py:Net``), and the imported spec
   compared with the original: the same leaves (kind and every setting), the same row names,
   shapes and counts, and PyTorch's own totals (the ``expect:`` the importer writes) holding.

Where today's importer cannot bring a case back, the case is an ``xfail(strict=True)`` naming
the reason: it fails loudly once the importer learns it, so the mark is removed then.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import cnncalc
from cnncalc.backends.recipes import plan
from cnncalc.layers import REGISTRY, register
from cnncalc.layers.activation import DropMode, elementwise
from cnncalc.layers.base import Field, Layer, choice
from cnncalc.network import COMBINATORS, Merge

torch = pytest.importorskip("torch")

from cnncalc.backends.export import to_python  # noqa: E402
from cnncalc.backends.importer import ImportFailure, import_model  # noqa: E402
from cnncalc.backends.torch import count_buffers  # noqa: E402

VOLUME = "8x8x4"  # small enough to be quick, deep enough to split and shuffle in two
# Settings where a default cannot run and a parser's schema cannot suggest one: KEY: {field:
# value}.  A conv's filters default to none (a depthwise conv needs none), but a plain one
# needs them.
HAND_PICKED: dict[str, dict] = {"conv": {"filters": 4}}

# Where today's importer cannot bring a case back: the case id's start → (what it raises, why).
# Each is a strict xfail, so it fails (and must be removed here) once the importer handles it.
IMPORT_GAPS: dict = {}


# A kind whose numbers are a trace's (``from_trace``: the layers import writes where an op has
# no kind) stands for code cnncalc cannot rebuild: there is no module to verify, export or
# import back, by design.  Such kinds get no case here; instead
# test_a_traced_kind_is_refused_by_verify_and_export holds them to refusing, with one line.
TRACED = {key for key, cls in REGISTRY.items() if cls.from_trace}


def sample(schema: dict):
    """A small value the schema accepts: 3 for an integer (≥ 1 allowed), else None."""
    if schema.get("type") == "integer":
        return max(3, schema.get("minimum", 3))
    for option in schema.get("anyOf", ()):
        value = sample(option)
        if value is not None:
            return value
    return None


def words(schema: dict) -> list:
    """The closed words (and booleans) a parser's schema accepts."""
    if schema.get("type") == "boolean":
        return [False, True]
    found = list(schema.get("enum", ()))
    for option in schema.get("anyOf", ()):
        found += [w for w in words(option) if w not in found]
    return found


@dataclass(frozen=True)
class Case:
    id: str
    text: str  # the spec's YAML


def required_settings(key: str, cls) -> dict:
    settings = dict(HAND_PICKED.get(key, {}))
    for field in cls.fields:
        if not field.required or field.name in settings:
            continue
        value = sample(getattr(field.parse, "schema", {}))
        if value is None:
            raise AssertionError(f"kind {key!r}: no small value can be read from the schema of "
                                 f"its required setting {field.name!r}; add one to HAND_PICKED")
        settings[field.name] = value
    return settings


def spec_text(key: str, cls, settings: dict) -> str:
    layer = {key: settings} if settings else key
    # A kind that reads a vector gets one from a flattened volume (import takes a volume).
    body = ["flatten", layer] if cls.needs_vector else [layer]
    return yaml.safe_dump({"name": f"every_{key}", "input": VOLUME, "layers": body},
                          sort_keys=False)


def kind_cases() -> list[Case]:
    cases = []
    for key, cls in REGISTRY.items():
        if cls.from_trace:
            continue
        base = required_settings(key, cls)
        cases.append(Case(key, spec_text(key, cls, base)))
        for field in cls.fields:
            for word in words(getattr(field.parse, "schema", {})):
                if word == field.default or field.required:
                    continue
                setting = word.value if hasattr(word, "value") else word
                cases.append(Case(f"{key}-{field.name}={str(setting).lower()}",
                                  spec_text(key, cls, {**base, field.name: setting})))
    return cases


# One spec per combinator and per merge, written by hand (a combinator's shape is its own);
# test_every_combinator_and_merge_has_a_case holds these to network.COMBINATORS and Merge.
CONV = "{conv: {filters: 4, size: 3, pad: 1}}"
COMBINATOR_CASES = {
    "residual": f"layers:\n  - residual: {{main: [{CONV}, relu, {CONV}]}}\n",
    "branches-concat": f"layers:\n  - branches: {{paths: [[{CONV}], [{CONV}, relu]], "
                       f"merge: concat}}\n",
    "branches-add": f"layers:\n  - branches: {{paths: [[{CONV}], []], merge: add}}\n",
    "branches-mul": "layers:\n  - branches: {paths: [[], [global_pool, {conv: {filters: 4, "
                    "size: 1}}, sigmoid]], merge: mul}\n",
    "branches-first": f"layers:\n  - branches: {{paths: [[{CONV}], [global_pool, flatten, "
                      f"{{fc: 3}}]], merge: first}}\n",
    "repeat": f"layers:\n  - repeat: {{times: 2, layers: [{CONV}, relu]}}\n    name: stage\n",
    # a tap: the concat reads a's output again (docs/import.md, "Taps"), computed once
    "from": "layers:\n  - conv: {filters: 4, size: 1}\n    name: a\n  - residual: {main: "
            f"[{CONV}]}}\n  - branches: {{paths: [[], [from: a]], merge: concat}}\n",
    "use": "blocks:\n  unit:\n    params: [k]\n    layers:\n      - conv: {filters: $k, size: 3, "
           "pad: 1}\n      - relu\nlayers:\n  - use: unit\n    name: first\n    with: {k: 4}\n"
           "  - use: unit\n    name: second\n    with: {k: 8}\n",
}


def combinator_cases() -> list[Case]:
    return [Case(name, f"name: every_{name.replace('-', '_')}\ninput: {VOLUME}\n{body}")
            for name, body in COMBINATOR_CASES.items()]


def marked(case: Case):
    gap = next((gap for start, gap in IMPORT_GAPS.items()
                if case.id == start or case.id.startswith(start + "-")), None)
    marks = [pytest.mark.xfail(strict=True, raises=gap[0], reason=f"import: {gap[1]}")] \
        if gap else []
    return pytest.param(case, id=case.id, marks=marks)


CASES = kind_cases() + combinator_cases()


def test_every_kind_and_every_closed_setting_has_a_case():
    ids = {c.id for c in CASES}
    assert set(REGISTRY) - TRACED <= ids
    # e.g. pool's mode=avg, conv's pad=same and bias=false: the parsers' words, not a list
    assert {"pool-mode=avg", "conv-pad=same", "conv-bias=false", "upsample-mode=bilinear"} <= ids
    assert all(start in ids for start in IMPORT_GAPS), "a gap names no case"


def test_every_combinator_and_merge_has_a_case():
    heads = {name.split("-")[0] for name in COMBINATOR_CASES}
    assert heads == set(COMBINATORS)
    assert {name.split("-")[1] for name in COMBINATOR_CASES if name.startswith("branches-")} == \
        {m.value for m in Merge}


def test_a_new_kind_gets_its_cases_and_one_with_unguessable_settings_is_named():
    before = dict(REGISTRY)
    try:
        elementwise("mish_t", "x·tanh(softplus(x))", "nn.Mish",
                    (Field("mode", choice(DropMode), "row", "a closed word"),))
        assert {"mish_t", "mish_t-mode=batch"} <= {c.id for c in kind_cases()}

        @register
        class Odd(Layer):
            key = "odd_t"
            fields = (Field("table", lambda v: v, doc="no schema to read a value from"),)

        with pytest.raises(AssertionError, match="kind 'odd_t'.*'table'.*HAND_PICKED"):
            kind_cases()
    finally:
        REGISTRY.clear()
        REGISTRY.update(before)


def exported(spec, folder: Path) -> Path:
    path = folder / "net.py"
    path.write_text(to_python(spec), encoding="utf-8")
    return path


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def modules(spec, report) -> list[tuple]:
    """Each leaf as PyTorch is given it: its name, kind and module call (class, arguments).
    ``pad: same`` and the ``pad: 1`` it means give the same call; containers are left out
    (the importer may nest a block's layers differently, under the same dotted names)."""
    return [(name, kind, r.cls, r.args, sorted(r.kwargs), r.frozen)
            for name, kind, r in plan(spec, report).leaves]


def rows(report) -> list[tuple]:
    return [(r.name, r.kind, r.shape.dims(), r.counts.params, r.counts.trainable_params,
             r.counts.buffers, r.counts.macs) for r in report.layers]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_verified_against_pytorch_and_exported(case, tmp_path):
    spec = cnncalc.load(case.text)
    checked = cnncalc.verify(spec, device="cpu", iters=0)
    assert checked.ok, [c for c in checked.layers if not c.ok]
    report = checked.report
    assert report.layers and all(c.ok for c in checked.layers)

    net = load_module(exported(spec, tmp_path)).Net().eval()
    assert sum(p.numel() for p in net.parameters()) == report.totals.params
    assert count_buffers(net) == report.totals.buffers  # verify's rule: BN's step counter out
    with torch.no_grad():
        y = net(torch.zeros(1, *net.input_shape))
    assert list(y.shape[1:]) == report.output_shape.dims()


@pytest.mark.parametrize("case", [marked(c) for c in CASES])
def test_the_export_imports_as_the_same_spec(case, tmp_path):
    spec = cnncalc.load(case.text)
    report = cnncalc.analyze(spec)
    # exactly: no traced layer stands in for an op (import --exact)
    imported = import_model(f"{exported(spec, tmp_path)}:Net", input_volume=VOLUME,
                            traced=False)
    back = cnncalc.load(imported.text)
    again = cnncalc.analyze(back)
    assert again.claims_ok  # PyTorch's params, MACs and output shape, written by the importer
    assert rows(again) == rows(report)  # names, kinds, shapes and counts, layer by layer
    assert again.totals == report.totals
    assert modules(back, again) == modules(spec, report)  # every setting, as PyTorch takes it


@pytest.mark.parametrize("key", sorted(TRACED))
def test_a_traced_kind_is_refused_by_verify_and_export(key, tmp_path):
    from cnncalc.errors import SpecError

    cls = REGISTRY[key]
    text = (f"name: every_{key}\ninput: {VOLUME}\nlayers:\n  - conv: {{filters: 4, size: 1}}\n"
            f"  - {key}: {{op: torch.cumsum, input: {VOLUME}, output: {VOLUME}}}\n"
            f"    name: t\n  - relu\n")
    spec = cnncalc.load(text)
    report = cnncalc.analyze(spec)
    assert [r.kind for r in report.layers] == ["conv", cls.key, "relu"]
    for action in (lambda: cnncalc.verify(spec, device="cpu", iters=0),
                   lambda: to_python(spec)):
        with pytest.raises(SpecError, match=r"1 traced layer \(t\): its numbers were taken from "
                                            r"a PyTorch trace") as e:
            action()
        assert e.value.issues[0].loc.line == 5


@pytest.mark.parametrize("case", [c for c in CASES if any(
    (c.id == start or c.id.startswith(start + "-")) and gap[0] is ImportFailure
    for start, gap in IMPORT_GAPS.items())], ids=lambda c: c.id)
def test_a_gap_imports_with_pytorchs_totals_all_the_same(case, tmp_path):
    # Where the exact import refuses an op, the import with traced layers (the default) still
    # gives a spec whose totals and output are PyTorch's own: the expect: line it writes holds.
    spec = cnncalc.load(case.text)
    imported = import_model(f"{exported(spec, tmp_path)}:Net", input_volume=VOLUME)
    again = cnncalc.analyze(cnncalc.load(imported.text))
    assert again.claims_ok
    assert again.totals.params == cnncalc.analyze(spec).totals.params
