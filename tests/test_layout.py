"""The README's layout table is the package's tree, and no module outgrows a newcomer's reading.

The table (its header cell is `` `cnncalc/` ``) has one row per module and package of
``cnncalc/``; a package's row names each of its own modules and sub-packages in backquotes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnncalc"
MAX_LINES = 1_000  # STYLE.md: no module over 1,000 lines


def layout_rows() -> dict[str, str]:
    """The layout table's rows, ``{path: what lives there}``, from the README or the guide in
    docs/ it moved to."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        lines = doc.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^\|\s*`cnncalc/`\s*\|", line):
                rows = {}
                for row in lines[i + 2:]:
                    if not row.startswith("|"):
                        break
                    cells = [c.strip() for c in row.strip("|").split("|")]
                    rows[cells[0].strip("`")] = cells[1]
                return rows
    raise AssertionError("no layout table (a header cell `cnncalc/`) in README.md or docs/")


def children(folder: Path) -> set[str]:
    """A folder's modules (``x.py``) and packages (``x/``), and data folders (``specs/``)."""
    found = {p.name for p in folder.glob("*.py")}
    found |= {f"{p.name}/" for p in folder.iterdir() if p.is_dir()
              and p.name != "__pycache__" and not p.name.startswith(".")}
    return found


def test_every_module_and_package_has_its_row_and_every_row_its_module():
    rows = layout_rows()
    assert set(rows) == children(PACKAGE), (
        f"missing rows: {sorted(children(PACKAGE) - set(rows))}; "
        f"rows without a module: {sorted(set(rows) - children(PACKAGE))}")
    assert all(rows.values()), "a row says nothing"


@pytest.mark.parametrize("package", sorted(p.name for p in PACKAGE.iterdir()
                                           if (p / "__init__.py").is_file()))
def test_a_packages_row_names_its_modules(package):
    row = layout_rows()[f"{package}/"]
    named = set(re.findall(r"`([\w.]+)/?`", row))
    inside = {Path(name).stem.rstrip("/") for name in children(PACKAGE / package)
              if name not in ("__init__.py", "__main__.py")}
    assert inside <= named, f"{package}/: not named in its row: {sorted(inside - named)}"


def test_a_folders_children_are_its_modules_and_packages_not_caches(tmp_path):
    (tmp_path / "one.py").write_text("")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "__pycache__").mkdir()
    assert children(tmp_path) == {"one.py", "pkg/"}


def test_no_module_is_over_a_thousand_lines():
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, long


def test_the_importer_is_under_a_thousand_lines():
    module = PACKAGE / "backends" / "importer.py"
    paths = [module] if module.is_file() else sorted((PACKAGE / "backends" / "importer")
                                                      .glob("**/*.py"))
    assert paths, "no importer found"
    assert all(len(p.read_text(encoding="utf-8").splitlines()) <= MAX_LINES for p in paths)
