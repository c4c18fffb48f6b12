"""Make docs/pictures/worksheet.png: the top of one student's sheet, as headless Chromium
draws it (the picture in docs/worksheets.md).

    python tools/make_worksheet_picture.py

The sheet is `cnncalc exercises --seed 2026 --students (ada) --topics conv-output,
conv-params,strides,numeric-conv`; the browser is the system's chromium-headless-shell (or
CNNCALC_CHROMIUM), as in the browser tests.  A PNG depends on the fonts installed, so no test
compares it byte for byte; rerun this script when the sheet's look changes.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "pictures" / "worksheet.png"
TOPICS = "conv-output,conv-params,strides,numeric-conv"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from click.testing import CliRunner
    from playwright.sync_api import sync_playwright

    from cnncalc.cli import main as cnncalc

    browser = os.environ.get("CNNCALC_CHROMIUM") or shutil.which("chromium-headless-shell")
    with tempfile.TemporaryDirectory() as tmp:
        roster = Path(tmp) / "class.txt"
        roster.write_text("ada\n")
        sheet = Path(tmp) / "sheet.html"
        r = CliRunner().invoke(cnncalc, ["exercises", "--seed", "2026", "--students", str(roster),
                                         "--topics", TOPICS, "-o", str(sheet)])
        assert r.exit_code == 0, r.output
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=browser, args=["--no-sandbox", "--disable-gpu"])
            page = b.new_page(viewport={"width": 794, "height": 1123})
            page.goto(sheet.as_uri())
            height = page.evaluate("() => document.querySelector('.sheet').scrollHeight")
            page.screenshot(path=str(OUT), clip={"x": 40, "y": 0, "width": 714,
                                                 "height": min(height + 10, 1123)})
            b.close()
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
