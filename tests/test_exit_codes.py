"""The exit-status policy (cnncalc/exit_codes.py): the Python API and the CLI give the same codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import cnncalc
from cnncalc.errors import AnalysisError, UsageError
from cnncalc.lint import lint
from cnncalc.numeric import apply
from cnncalc.exit_codes import check_status, lint_status

# conv 5×5×3 ×6 on 32×32×3: (5·5·3 + 1)·6 = 456 params
CLAIM = """input: 32x32x3
layers:
  - conv: {{filters: 6, size: 5}}
    expect: {{params: {params}}}
"""
# an even kernel with pad: same needs 3 pixels of padding per axis: CN102, a warning
WARNING = """input: 8x8x1
layers:
  - conv: {filters: 2, size: 4, pad: same}
"""
# a padded pooling layer: CN103, a note
NOTE = """input: 8x8x1
layers:
  - pool: {size: 2, pad: 1}
"""


def status_of(text: str, strict: bool) -> int:
    spec = cnncalc.load(text)
    try:
        return cnncalc.exit_status(cnncalc.analyze(spec, strict=strict), strict=strict)
    except AnalysisError as e:
        return cnncalc.exit_status(e.report, strict=strict, error=e)


@pytest.mark.parametrize("text, strict, code", [
    (CLAIM.format(params=456), False, 0),
    (CLAIM.format(params=450), False, 1),  # a wrong claim fails
    (WARNING, False, 0),
    (WARNING, True, 1),  # a warning fails only under --strict
    (NOTE, True, 0),  # a note never fails inspect
    ("input: 7x7x1\nlayers:\n  - conv: {filters: 1, size: 2, stride: 2}\n", True, 2),  # 3.5
])
def test_api_and_cli_agree(cli, write, text, strict, code):
    assert status_of(text, strict) == code
    args = ["inspect", write(text), "--format", "json"] + (["--strict"] if strict else [])
    assert cli(*args).exit_code == code


def test_lint_notes_fail_only_under_strict(cli, write):
    result = lint(cnncalc.load(NOTE))
    assert [d.code for d in result.notes] == ["CN103"]
    assert lint_status(result) == 0 and lint_status(result, strict=True) == 1
    path = write(NOTE)
    assert cli("lint", path).exit_code == 0
    assert cli("lint", path, "--strict").exit_code == 1


def test_check_takes_the_worst_of_claims_and_errors():
    wrong = cnncalc.analyze(cnncalc.load(CLAIM.format(params=450))).claims
    assert check_status(wrong) == 1
    assert check_status(wrong, [UsageError("bad")]) == 2
    assert check_status(()) == 0


def test_core_errors_name_parameters_and_the_cli_its_options(cli):
    with pytest.raises(UsageError) as e:
        apply([[[1, 2], [3, 4]]], pool="max")
    assert str(e.value) == "pool needs pool_size F (the pooling window)"
    r = cli("apply", "--input", "1 2; 3 4", "--pool", "max")
    assert r.exit_code == 2
    assert "Error: --pool needs --size F (the pooling window)" in r.stderr


def test_spec_does_not_import_zoo():
    code = "import sys, cnncalc.spec; sys.exit('cnncalc.zoo' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
