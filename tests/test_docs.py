"""The docs cannot drift from the code: README, `cnncalc layers` and CI agree with the registry."""

import json
import re

from conftest import ROOT

from cnncalc.layers import REGISTRY
from cnncalc.network import COMBINATORS

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_starts_with_the_venv_then_two_setup_commands():
    venv, install, tests = readme_commands()[:3]
    assert venv == "python3 -m venv .venv && . .venv/bin/activate"
    assert "cnncalc inspect specs/lenet5.yaml" in install
    assert "pytest" in tests and "torch==2.13.0" in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[2] in ci.splitlines()


def readme_kinds() -> list[str]:
    """The kinds named in the first column of the spec language's table, in order."""
    section = README.split("## The spec language", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\| kind \|", line))
    kinds = []
    for line in lines[start + 2:]:  # past the header and its |---| rule
        if not line.startswith("|"):
            break
        kinds += re.findall(r"`([^`]+)`", line.split("|")[1])
    return kinds


def test_readme_documents_every_layer_kind():
    kinds = readme_kinds()
    assert len(kinds) == len(set(kinds)), "a kind is listed twice"
    assert set(kinds) == set(REGISTRY) | set(COMBINATORS)


def test_layers_command_lists_the_registry(cli):
    listed = json.loads(cli("layers", "--format", "json").stdout)
    assert {k["kind"] for k in listed} == set(REGISTRY) | set(COMBINATORS)
    conv = next(k for k in listed if k["kind"] == "conv")
    assert {f["name"] for f in conv["fields"]} >= {"filters", "size", "stride", "pad", "dilation",
                                                   "groups", "depthwise", "bias", "connections"}
    table = cli("layers").stdout
    assert all(key in table for key in REGISTRY)


def test_every_kind_has_fields_documented():
    for cls in REGISTRY.values():
        assert cls.summary and cls.family
        assert all(f.doc for f in cls.fields), cls.key
        assert cls.primary is None or cls.primary in {f.name for f in cls.fields}


def test_readme_lint_table_lists_every_code():
    from cnncalc.codes import CODES

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (CN\d{3}) \| ([a-z-]+) \|", readme, flags=re.M)
    assert {code: slug for code, slug in rows} == {c: r.slug for c, r in CODES.items()}
