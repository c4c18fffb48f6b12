"""Shared test helpers: running the CLI or a fresh interpreter, golden files (rewritten on
purpose by `pytest --update-golden`), and the sums every report must keep."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

from cnncalc.report import Counts

# In a parallel run (pytest-xdist) each worker gets one core's worth of PyTorch threads: two
# workers of two threads each on two cores would only wait for each other.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# Python's collector runs a young collection every 700 new containers, and a test process
# holds millions (torch's, the engine's memos): 10,000 collections per worker, 24 CPU s of a
# 190 s suite.  Every 50,000 it runs a hundred times, for 5 s; what is garbage is the same.
gc.set_threshold(50_000, 20, 20)

# The interpreters the suite starts (its workers, a user's program, `python -m cnncalc`) keep
# compiled modules where Python keeps them (__pycache__, git-ignored), as an installed package
# has them: under PYTHONDONTWRITEBYTECODE each would compile cnncalc again (a third of an
# `inspect`'s start) and each worker rewrite every test module.  This process is as it began.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "cnncalc" / "specs"
GOLDEN = Path(__file__).resolve().parent / "golden"

# Every bundled spec by its zoo name, read from the directory so that a new spec is pinned too.
BUNDLED = ([p.stem for p in sorted(SPECS.glob("*.yaml"))]
           + [f"examples/{p.stem}" for p in sorted((SPECS / "examples").glob("*.yaml"))])


# Hypothesis: `ci` (the default) draws 100 examples, Hypothesis' own default, for the property
# tests that take their count from the profile, and half as many (costly_examples()) for the
# one whose example is a brute force over 512 input sizes (test_sizes.py's random nets: 0.1 s
# each); `thorough` draws 1,000 for both, for a change to the engine or the torch backend:
# HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_sizes.py
# tests/test_verify_properties.py (or --hypothesis-profile thorough).  No deadline: a loaded
# machine is not a slow test.
CI_EXAMPLES = 100
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=1_000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def costly_examples() -> int:
    """The example count of a costly property test under the profile loaded now (the
    ``--hypothesis-profile`` option's too, which is loaded before the tests are imported)."""
    n = settings().max_examples
    return n // 2 if n == CI_EXAMPLES else n


def pytest_addoption(parser):
    parser.addoption("--update-golden", "--overwrite", action="store_true",
                     dest="update_golden",
                     help="Rewrite the golden files in tests/golden from the current output.")


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
    """Compare text with tests/golden/NAME, or rewrite it under --update-golden."""
    update = request.config.getoption("update_golden")

    def check(name: str, text: str):
        path = GOLDEN / name
        if update or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            if not update:
                pytest.fail(f"golden file {name} was missing and has been written; rerun")
        assert text == path.read_text(encoding="utf-8"), (
            f"output differs from golden/{name} (pytest --update-golden rewrites it, on purpose)")

    return check


# Checked at exit, after SystemExit too; os._exit so the status says a module was imported.
FORBID = """
import atexit, os
def _check_forbidden(names={names!r}):
    seen = [m for m in names if sys.modules.get(m)]
    if seen:
        sys.stdout.flush()
        sys.stderr.write('imported: ' + ', '.join(seen) + '\\n')
        sys.stderr.flush()
        os._exit(97)
atexit.register(_check_forbidden)
"""


@pytest.fixture
def python():
    """Run Python source in a fresh interpreter, as a user's program would start.

    ``hide``: modules made unimportable (``import`` raises ImportError), as on a machine without
    them.  ``forbid``: modules that must not have been imported when the program ends, however
    it ends; one that was is named on stderr and the exit status is 97.
    """
    def run(code: str, *, hide=(), forbid=(), cwd=None) -> subprocess.CompletedProcess:
        prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in hide)
        if forbid:
            prelude += FORBID.format(names=tuple(forbid))
        return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                              text=True, cwd=cwd)

    return run


@pytest.fixture
def write(tmp_path):
    """Write a spec file and return its path."""
    def make(text: str, name: str = "net.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def verify_on_meta(spec, **options):
    """``cnncalc verify``'s checks run on PyTorch's meta device: every shape comes from the
    forward hooks and every count from the built modules and FlopCounterMode, as on the CPU,
    but no arithmetic is done and no weight is initialised, so a 15-GMAC net takes a moment.
    None of the checks depends on the values; the CPU kernels of every kind and merge run in
    test_every_kind.py and test_verify_properties.py."""
    import torch

    from cnncalc.backends import torch as backend

    with torch.device("meta"):
        return backend.verify(spec, device="meta", iters=0, **options)


def sum_mismatches(report) -> list[str]:
    """Where a report's sums disagree with its leaf rows; empty when they all agree.

    The totals must be the sum of the leaf rows, and each group row (block, repeat, iteration,
    named residual or branches) the sum of the leaf rows under it: those that follow it with a
    greater depth, up to the next row at its depth or shallower.  A row may only be deeper than
    the one before it by one level, under a group, or "under it" would mean nothing.
    """
    rows = report.rows
    wrong = []
    leaves = sum((r.counts for r in rows if not r.is_group), Counts())
    if leaves != report.totals:
        wrong.append(f"totals {report.totals} ≠ the leaf rows' sum {leaves}")
    for before, row in zip((None, *rows), rows):
        deepest = 0 if before is None else before.depth + before.is_group
        if row.depth > deepest:
            wrong.append(f"{row.name} at depth {row.depth} has no group above it")
    for i, group in enumerate(rows):
        if not group.is_group:
            continue
        under = Counts()
        for row in rows[i + 1:]:
            if row.depth <= group.depth:
                break
            if not row.is_group:
                under = under + row.counts
        if under != group.counts:
            wrong.append(f"group {group.name}: {group.counts} ≠ its leaf rows' sum {under}")
    return wrong


# --- a real browser for the pictures and the worksheets: Debian's chromium-headless-shell,
# driven by playwright (no browser is downloaded; CNNCALC_CHROMIUM names another binary) -------

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium() -> str | None:
    found = os.environ.get("CNNCALC_CHROMIUM") or shutil.which("chromium-headless-shell")
    return found if found and os.access(found, os.X_OK) else None


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    named = os.environ.get("CNNCALC_CHROMIUM")
    if named and chromium() is None:
        return f"CNNCALC_CHROMIUM={named} is not an executable file"
    if chromium() is None:
        return ("chromium-headless-shell is not installed "
                "(apt-get install -y chromium-headless-shell, or set CNNCALC_CHROMIUM)")
    return None


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session; without one the tests skip with the reason, except under
    CI=true, where a missing browser fails the run."""
    why = browser_unavailable()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the browser tests cannot run: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def one_torch_thread():
    """PyTorch on one thread while a test runs: for tiny ops a thread pool costs 100× the op on
    a busy machine (0.7 ms against 5 µs)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
