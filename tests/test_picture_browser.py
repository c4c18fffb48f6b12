"""The pictures in a real browser: Debian's chromium-headless-shell, driven by playwright.

For the SVG and the HTML report of every bundled spec, Chromium measures every text box
(``getBBox``) and every shape: no two labels intersect, nothing falls outside the viewBox.
On the report, the totals are ``inspect --format json``'s and a click on a box marks its rows
(and a click on a row its box).

No browser is downloaded: the tests use the system's chromium-headless-shell (``.ci/run``
installs it with apt-get; ``CNNCALC_CHROMIUM`` names another binary).  Without it they skip
with the reason, except under ``CI=true``, where a missing browser fails the run.
"""

from __future__ import annotations

import json

import pytest

from cnncalc.zoo import names

BUNDLED = names()
# In a parallel run these tests share a worker, and so one browser (the session fixture's).
pytestmark = pytest.mark.xdist_group("browser")
MEASURE = """() => {
  const svg = document.querySelector('svg');
  const vb = svg.viewBox.baseVal;
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const b = t.getBBox();
    return [b.x, b.y, b.x + b.width, b.y + b.height, t.textContent];
  });
  texts.sort((a, b) => a[0] - b[0]);
  const overlaps = [];
  for (let i = 0; i < texts.length; i++) {
    const a = texts[i];
    for (let j = i + 1; j < texts.length && texts[j][0] < a[2]; j++) {
      const b = texts[j];
      const w = Math.min(a[2], b[2]) - b[0], h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
      if (w > 0.01 && h > 0.01) overlaps.push([a[4], b[4]]);
    }
  }
  const outside = [];
  for (const el of svg.querySelectorAll('text, polygon, rect, path, circle')) {
    if (el.closest('defs')) continue;
    const b = el.getBBox();
    if (b.x < vb.x - 0.01 || b.y < vb.y - 0.01 || b.x + b.width > vb.x + vb.width + 0.01 ||
        b.y + b.height > vb.y + vb.height + 0.01) outside.push(el.outerHTML.slice(0, 160));
  }
  // the layout's prediction: 0.602 em per character at 11 px; a glyph may overhang its
  // advance by a fraction of a pixel at the ends
  const wider = texts.filter(t => t[2] - t[0] > [...t[4]].length * 0.602 * 11 + 0.5)
                     .map(t => [t[4], t[2] - t[0]]);
  return {texts: texts.length, overlaps: overlaps.slice(0, 5), outside: outside.slice(0, 5),
          wider: wider.slice(0, 5)};
}"""


@pytest.fixture(scope="session")
def pictures(tmp_path_factory):
    """The SVG, the report and ``inspect --format json`` of every bundled spec, written by
    the commands."""
    from click.testing import CliRunner

    from cnncalc.cli import main

    folder = tmp_path_factory.mktemp("pictures")
    runner = CliRunner()
    for name in BUNDLED:
        for command, suffix in (("draw", ".svg"), ("report", ".html")):
            out = folder / f"{name}{suffix}"
            result = runner.invoke(main, [command, f"zoo:{name}", "-o", str(out)])
            assert result.exit_code == 0, result.output
        result = runner.invoke(main, ["inspect", f"zoo:{name}", "--format", "json"])
        assert result.exit_code == 0, result.output
        (folder / f"{name}.json").write_text(result.stdout)
    return folder


def inspected(pictures, name: str) -> dict:
    return json.loads((pictures / f"{name}.json").read_text())


# A click on a box's corner (one no label covers) and then on its last row, for the first,
# middle and last box: the element the browser finds at that point (its own hit test) is
# clicked, and what is marked after each click is read back, all in one call.
CLICKS = """() => {
  const boxes = [...document.querySelectorAll('#picture g.layer:not(.input)')];
  const picks = [...new Set([0, Math.floor(boxes.length / 2), boxes.length - 1])];
  function click(x, y) {
    const hit = document.elementFromPoint(x, y);
    hit.dispatchEvent(new MouseEvent('click', {bubbles: true, clientX: x, clientY: y}));
  }
  return picks.map(k => {
    const box = boxes[k];
    const rows = box.dataset.rows.split(' ').filter(w => w);
    const front = box.querySelector('.front');
    front.scrollIntoView({block: 'center', inline: 'center'});
    const f = front.getBoundingClientRect();
    click(f.left + 2, f.bottom - 2);
    const marked = [...document.querySelectorAll('tr.hl')].map(e => e.dataset.row);
    const boxMarked = box.classList.contains('hl');
    const row = document.getElementById('row-' + rows[rows.length - 1]);
    row.scrollIntoView({block: 'center'});
    const r = row.getBoundingClientRect();
    click(r.left + r.width / 2, r.top + r.height / 2);
    return {name: box.dataset.name, rows, marked, boxMarked,
            markedByRow: box.classList.contains('hl'),
            rowsMarkedByRow: document.querySelectorAll('tr.hl').length};
  });
}"""


VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport=VIEWPORT)
    yield page
    page.close()


@pytest.fixture(scope="module")
def tab(browser):
    """One page for the tests that only load a file and read it."""
    page = browser.new_page(viewport=VIEWPORT)
    yield page
    page.close()


@pytest.fixture(scope="module", params=BUNDLED)
def report(request, browser, pictures):
    """(name, a page with its report loaded), shared by the report's tests of that spec
    (pytest runs them one after the other)."""
    page = browser.new_page(viewport=VIEWPORT)
    page.goto((pictures / f"{request.param}.html").as_uri())
    yield request.param, page
    page.close()


def check_layout(page, what: str) -> None:
    found = page.evaluate(MEASURE)
    assert found["texts"] > 0
    assert not found["overlaps"], f"{what}: text boxes intersect: {found['overlaps']}"
    assert not found["outside"], f"{what}: outside the viewBox: {found['outside']}"
    assert not found["wider"], f"{what}: wider than the layout predicted: {found['wider']}"


@pytest.mark.parametrize("name", BUNDLED)
def test_svg_in_the_browser(tab, pictures, name):
    tab.goto((pictures / f"{name}.svg").as_uri())
    check_layout(tab, f"{name}.svg")


def test_report_in_the_browser(report, pictures):
    name, page = report
    check_layout(page, f"{name}.html")

    expected = inspected(pictures, name)["totals"]
    flat = {k: v for k, v in expected.items() if isinstance(v, int)}
    flat.update({f"memory.{k}": v for k, v in expected["memory"].items()})
    shown = page.eval_on_selector_all(
        "[data-total]", "els => els.map(e => [e.dataset.total, Number(e.dataset.value)])")
    assert len(shown) >= 10
    for key, value in shown:
        assert value == flat[key], key
    texts = dict(page.eval_on_selector_all(
        "[data-total]", "els => els.map(e => [e.dataset.total, e.textContent])"))
    assert texts["params"].startswith(f"{expected['params']:,}")

    # a box → its rows; a row → its box
    clicked = page.evaluate(CLICKS)
    assert len(clicked) == min(3, page.locator("#picture g.layer:not(.input)").count())
    for box in clicked:
        assert box["marked"] == box["rows"] and box["boxMarked"], f"{name}: box {box['name']}"
        assert box["markedByRow"] and box["rowsMarkedByRow"] == 1, f"{name}: box {box['name']}"


@pytest.mark.parametrize("name", ["resnet50", "densenet121"])
def test_a_mouse_click_marks_rows(page, pictures, name):
    """The clicks above, by the mouse (playwright: scrolled to, waited for, hit-tested)."""
    page.goto((pictures / f"{name}.html").as_uri())
    boxes = page.locator("#picture g.layer:not(.input)")
    for k in sorted({0, boxes.count() // 2, boxes.count() - 1}):
        box = boxes.nth(k)
        rows = box.get_attribute("data-rows").split()
        front = box.locator(".front").first
        height = front.bounding_box()["height"]
        front.click(position={"x": 2, "y": height - 2})  # a corner no label covers
        marked = page.eval_on_selector_all("tr.hl", "els => els.map(e => e.dataset.row)")
        assert marked == rows, f"{name}: box {box.get_attribute('data-name')}"
        assert "hl" in box.get_attribute("class").split()
        row = page.locator(f"#row-{rows[-1]}")
        row.click()
        assert "hl" in box.get_attribute("class").split()
        assert page.eval_on_selector_all("tr.hl", "els => els.length") == 1


def test_report_prints_on_a4(page, pictures):
    """In print, a picture wider than the paper shrinks to the page's width."""
    page.goto((pictures / "resnet50.html").as_uri())
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 px per inch
    box = page.evaluate("(() => { const s = document.querySelector('#picture svg');"
                        " const r = s.getBoundingClientRect(); const v = s.viewBox.baseVal;"
                        " return [r.left, r.right, r.width, r.height, v.width, v.height,"
                        " document.documentElement.clientWidth]; })()")
    left, right, width, height, view_width, view_height, page_width = box
    assert view_width > page_width  # it needs shrinking
    assert 0 <= left and right <= page_width and width > 0.9 * page_width
    assert height == pytest.approx(width * view_height / view_width, rel=0.01)  # not cropped
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")


MEASURE_MEMORY = MEASURE.replace("document.querySelector('svg')",
                                 "document.querySelector('#memory svg')")


def test_memory_plot_in_the_browser(report, pictures):
    """The report's memory over execution order: no label over another, nothing outside the
    viewBox, both peaks marked and named as inspect's JSON names them."""
    name, page = report
    found = page.evaluate(MEASURE_MEMORY)
    assert found["texts"] >= 4
    assert not found["overlaps"], f"{name}: memory plot labels intersect: {found['overlaps']}"
    assert not found["outside"], f"{name}: outside the memory plot: {found['outside']}"
    assert not found["wider"], f"{name}: wider than predicted: {found['wider']}"
    memory = inspected(pictures, name)["totals"]["memory"]
    assert page.eval_on_selector_all("#memory circle", "els => els.length") == 2
    legend = page.eval_on_selector_all("#memory text", "els => els.map(e => e.textContent)")
    assert any(t.endswith(f"at {memory['inference_peak_layer']}") for t in legend)
    where = {"forward": memory["training_peak_layer"], "step": "the optimizer step",
             "backward": f"{memory['training_peak_layer']} (backward)"}
    assert any(t.endswith(f"at {where[memory['training_peak_phase']]}") for t in legend)


def test_sweep_plot_in_the_browser(page, tmp_path, cli):
    """cnncalc sweep --plot: labels apart and inside, one circle per front point."""
    out = tmp_path / "front.svg"
    result = cli("sweep", "zoo:efficientnet", "--vary", "width=1.0..1.4/0.1", "--vary",
                 "depth=1.0..1.4/0.2", "--vary", "res=224..320/32", "--where",
                 "params <= 10e6", "--pareto", "macs,max:params", "--format", "json",
                 "--plot", out)
    assert result.exit_code == 0, result.output
    front = json.loads(result.stdout)["front"]
    page.goto(out.as_uri())
    check_layout(page, "front.svg")
    assert page.eval_on_selector_all("circle.front", "els => els.length") == len(front) > 1
