"""The worksheets in a real browser (chromium-headless-shell, driven by playwright as in
test_picture_browser.py): no two pieces of text overlap, nothing runs off the page, printing
to PDF on A4 splits no question across pages, and the Chinese sheet is drawn in a CJK font.

Printing: each question gets a tiny link at its top and one at its end; Chromium's own
``page.pdf(format="A4")`` writes every link as an annotation on the page it lands on, so the
PDF says on which page each question starts and ends: the same page, for every question.
Without ``break-inside: avoid`` the same check finds split questions (it can fail).
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cnncalc.cli import main

pytestmark = pytest.mark.xdist_group("browser")  # one Chromium, shared with the pictures' tests

OVERLAPS = """() => {
  const rects = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node, id = 0;
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const b of range.getClientRects())
      if (b.width > 0 && b.height > 0)
        rects.push([b.left, b.top, b.right, b.bottom, id, node.textContent.slice(0, 40)]);
    id++;
  }
  const overlaps = [];
  for (let i = 0; i < rects.length; i++)
    for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i], b = rects[j];
      if (a[4] === b[4]) continue;
      const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
      const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
      if (w > 0.5 && h > 0.5) overlaps.push([a[5], b[5]]);
    }
  const body = document.body.getBoundingClientRect();
  const outside = rects.filter(r => r[0] < body.left - 0.5 || r[2] > body.right + 0.5)
                       .map(r => r[5]);
  return {texts: rects.length, overlaps: overlaps.slice(0, 5), outside: outside.slice(0, 5)};
}"""


@pytest.fixture(scope="module")
def sheets(tmp_path_factory):
    """A class of three, every topic twice (hard: the longest texts), in both languages."""
    folder = tmp_path_factory.mktemp("sheets")
    roster = folder / "class.txt"
    roster.write_text("ada\nbo\n陈\n")
    for lang in ("en", "zh"):
        r = CliRunner().invoke(main, ["exercises", "--students", str(roster), "--level", "hard",
                                      "--count", "24", "--seed", "5", "--lang", lang,
                                      "-o", str(folder / f"{lang}.html")])
        assert r.exit_code == 0, r.output
    return folder


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
    yield page
    page.close()


@pytest.mark.parametrize("name", ["en.html", "zh.html", "en.key.html", "zh.key.html"])
def test_no_text_overlaps_or_leaves_the_page(page, sheets, name):
    page.goto((sheets / name).as_uri())
    for media in ("screen", "print"):
        page.emulate_media(media=media)
        found = page.evaluate(OVERLAPS)
        assert found["texts"] > 100
        assert not found["overlaps"], f"{name} ({media}): text overlaps: {found['overlaps']}"
        assert not found["outside"], f"{name} ({media}): text off the page: {found['outside']}"


def pages_of_questions(pdf: bytes) -> dict[int, set[int]]:
    """Question → the PDF pages its two marks (a link at its top, one at its end) print on.

    Chromium writes each link as an annotation object on its page; the pages are the leaves
    of the /Pages tree (the catalog's /Pages, then each node's /Kids in order)."""
    objects = {int(n): body for n, body in re.findall(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, re.S)}

    def leaves(ref: int) -> list[int]:
        kids = re.search(rb"/Kids \[([^\]]*)\]", objects[ref])
        if not re.search(rb"/Type /Pages\b", objects[ref]) or kids is None:
            return [ref]
        return [p for k in re.findall(rb"(\d+) 0 R", kids.group(1)) for p in leaves(int(k))]

    root = next(body for body in objects.values() if re.search(rb"/Type /Catalog\b", body))
    order = leaves(int(re.search(rb"/Pages (\d+) 0 R", root).group(1)))
    found: dict[int, set[int]] = {}
    for number, page_id in enumerate(order, 1):
        annots = re.search(rb"/Annots \[([^\]]*)\]", objects[page_id])
        for ref in re.findall(rb"(\d+) 0 R", annots.group(1)) if annots else ():
            uri = re.search(rb"/URI \(https://q\.invalid/(\d+)/", objects[int(ref)])
            if uri:
                found.setdefault(int(uri.group(1)), set()).add(number)
    return found


MARK = """() => document.querySelectorAll('.q').forEach((q, i) => {
  for (const where of ['top', 'end']) {
    const a = document.createElement('a');
    a.href = `https://q.invalid/${i}/${where}`;
    a.textContent = '.';
    a.style.fontSize = '1px';
    where === 'top' ? q.prepend(a) : q.append(a);
  }})"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_printing_on_a4_splits_no_question(page, sheets, lang):
    page.goto((sheets / f"{lang}.html").as_uri())
    page.emulate_media(media="print")
    styles = page.evaluate("() => [...document.querySelectorAll('.q')]"
                           ".map(q => getComputedStyle(q).breakInside)")
    assert styles == ["avoid"] * 72  # three students, 24 questions each
    page.evaluate(MARK)
    pdf = page.pdf(format="A4")
    pages = pages_of_questions(pdf)
    assert sorted(pages) == list(range(72))
    split = {q: p for q, p in pages.items() if len(p) != 1}
    assert not split, f"questions printed across two pages: {split}"
    assert len(set().union(*pages.values())) >= 6  # more than a page per student
    # the check can fail: without break-inside: avoid, Chromium splits some question
    page.add_style_tag(content=".q { break-inside: auto !important; }")
    loose = pages_of_questions(page.pdf(format="A4"))
    assert any(len(p) != 1 for p in loose.values())


def test_the_chinese_sheet_is_drawn_in_a_cjk_font(page, sheets):
    page.goto((sheets / "zh.html").as_uri())
    text = page.inner_text("body")
    for term in ("卷积层", "步长", "填充", "池化", "感受野"):
        assert term in text
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": ".q p"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cjk = [f for f in fonts if "CJK" in f["familyName"] or "Han" in f["familyName"]]
    assert cjk and cjk[0]["glyphCount"] > 10, fonts
