"""Shared test helpers: running the CLI, and golden files refreshed by `pytest --overwrite`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "cnncalc" / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser):
    parser.addoption("--overwrite", action="store_true",
                     help="Rewrite the golden files from the current output.")


@pytest.fixture
def cli():
    """Run `cnncalc ARGS…` in-process; returns click's Result (stdout, stderr, exit_code)."""
    from cnncalc.cli import main

    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(main, [str(a) for a in args], input=input,
                             env={"COLUMNS": "120"}, catch_exceptions=False)

    return run


@pytest.fixture
def golden(request):
    """Compare text with tests/golden/NAME, or rewrite it under --overwrite."""
    overwrite = request.config.getoption("--overwrite")

    def check(name: str, text: str):
        path = GOLDEN / name
        if overwrite or not path.exists():
            path.write_text(text, encoding="utf-8")
            if not overwrite:
                pytest.fail(f"golden file {name} was missing and has been written; rerun")
        assert text == path.read_text(encoding="utf-8"), f"output differs from golden/{name}"

    return check


@pytest.fixture
def write(tmp_path):
    """Write a spec file and return its path."""
    def make(text: str, name: str = "net.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make
