"""The README stays true: every `cnncalc` command in its examples runs (with the exit status it
states), the output it shows is what the command prints, the first screen holds set-up and first
answers, its links lead somewhere, and the zoo table lists every bundled spec."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

import torchvision_needed
from conftest import ROOT, SPECS

README = (ROOT / "README.md").read_text(encoding="utf-8")

# A fenced block: its language and its body (``` at the start of a line closes it).
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
ELLIPSIS = ("…", "...")


@dataclass(frozen=True)
class Example:
    line: int                    # README line of the command
    commands: tuple[tuple[str, ...], ...]   # argv after `cnncalc`, one per `&&`
    exit: int                    # what the README says it exits with (`# exit N`), else 0
    needs: str                   # "torchvision", "a GPU" or ""
    shown: tuple[str, ...]       # the output lines the README shows under it

    def __str__(self):
        return f"README:{self.line}"


def comment(line: str) -> str:
    """The text after a shell comment's `#` (none inside quotes in the README's commands)."""
    m = re.search(r"(?:^|\s)#\s*(.*)$", line)
    return m.group(1) if m else ""


def parse(text: str, line: int, shown: list[str]) -> Example:
    note = comment(text)
    words = shlex.split(text, comments=True)
    commands, current = [], []
    for word in words + ["&&"]:
        if word == "&&":
            assert current and current[0] == "cnncalc", f"README:{line}: {text}"
            commands.append(tuple(current[1:]))
            current = []
        else:
            current.append(word)
    code = re.search(r"\bexit (\d)\b", note)
    needs = re.search(r"\bneeds (torchvision|a GPU)\b", note)
    return Example(line, tuple(commands), int(code.group(1)) if code else 0,
                   needs.group(1) if needs else "", tuple(shown))


def examples() -> list[Example]:
    """Every `cnncalc …` command of the README's code blocks: `$ cnncalc …` in console (and
    plain) blocks, with the output lines shown under it, and each line of an sh block that
    starts with `cnncalc`."""
    found = []
    for m in BLOCK.finditer(README):
        lang, body = m.group(1), m.group(2)
        first = README.count("\n", 0, m.start(2)) + 1
        lines = body.splitlines()
        for k, text in enumerate(lines):
            if lang == "sh" and text.startswith("cnncalc "):
                found.append(parse(text, first + k, []))
            elif lang in ("console", "") and text.startswith("$ cnncalc "):
                shown = []
                for out in lines[k + 1:]:
                    if out.startswith("$ ") or not out.strip():
                        break
                    shown.append(out)
                found.append(parse(text[2:], first + k, shown))
    return found


EXAMPLES = examples()


def test_the_readme_has_examples_of_every_command():
    used = {command[0] for e in EXAMPLES for command in e.commands}
    assert used >= {"inspect", "check", "conv", "pool", "deconv", "fc", "pad", "solve", "sizes",
                    "apply", "lint", "draw", "report", "import", "verify", "export", "schema"}


def normal(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh folder with the checkout's specs/ and docs/, as a reader's checkout has them."""
    for name in ("specs", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def needs_torch(argv: tuple[str, ...]) -> bool:
    return argv[0] in ("verify", "import") or any(a.startswith("torchvision:") for a in argv)


@pytest.mark.parametrize("example", [
    pytest.param(e, id=str(e), marks=[pytest.mark.torchvision] if e.needs == "torchvision" else [])
    for e in EXAMPLES])
def test_every_readme_command_runs(example, workdir):
    if example.needs == "torchvision":
        torchvision_needed.load()
    if any(needs_torch(argv) for argv in example.commands):
        torch = pytest.importorskip("torch")
        if example.needs == "a GPU" and not torch.cuda.is_available():
            pytest.skip("needs a GPU")
    from cnncalc.cli import main

    runner = CliRunner()
    *before, last = example.commands
    for argv in before:
        r = runner.invoke(main, list(argv), env={"COLUMNS": "120"})
        assert r.exit_code == 0, f"{example}: cnncalc {shlex.join(argv)}\n{r.output}"
    argv, redirect = list(last), None
    if ">" in argv:
        at = argv.index(">")
        argv, redirect = argv[:at], argv[at + 1]
    r = runner.invoke(main, argv, env={"COLUMNS": "120"})
    said = f"{example}: cnncalc {shlex.join(argv)} exited {r.exit_code}\n{r.output}"
    assert r.exception is None or isinstance(r.exception, SystemExit), said
    assert r.exit_code == example.exit, said
    if redirect:
        (workdir / redirect).write_text(r.stdout, encoding="utf-8")
    printed = normal(r.stdout + "\n" + r.stderr)
    for line in example.shown:
        if any(mark in line for mark in ELLIPSIS):
            continue  # an abridged line: the README says it leaves something out
        assert normal(line) in printed, f"{example}: the README shows {line!r}\n{r.output}"


# --- the shape of the README -----------------------------------------------------------------

def setup_commands() -> list[str]:
    setup = README.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_the_first_screen_holds_set_up_and_first_answers():
    screen = "\n".join(README.splitlines()[:60])
    assert "## Set-up" in screen and "## First answers" in screen
    rest = README.split("## First answers", 1)[1]
    assert rest.index("\n## ") < len(screen) - screen.index("## First answers"), \
        "First answers runs past the first 60 lines"
    assert setup_commands()[0] == "python3 -m venv .venv && . .venv/bin/activate"
    answers = screen.split("## First answers", 1)[1]
    for command in ("cnncalc conv", "cnncalc check", "cnncalc inspect", "cnncalc import"):
        assert command in answers, command


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces → hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", re.sub(BLOCK, "", text), flags=re.M)}


@pytest.mark.parametrize("name", ["README.md"] + [f"docs/{p.name}"
                                                  for p in sorted((ROOT / "docs").glob("*.md"))])
def test_every_link_leads_somewhere(name):
    text = (ROOT / name).read_text(encoding="utf-8")
    folder = (ROOT / name).parent
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        file = (folder / path) if path else ROOT / name
        assert file.exists(), f"{name}: {target} does not exist"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file.read_text(encoding="utf-8")), f"{name}: {target}"


# --- the zoo table ---------------------------------------------------------------------------

def zoo_rows() -> dict[str, list[str]]:
    section = README.split("## Model zoo", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \|(.*)$", section, flags=re.M)
    return {name: [cell.strip() for cell in cells.split("|")] for name, cells in rows}


def number(cell: str) -> int:
    return int(cell.split()[0].replace(",", ""))


def test_the_zoo_table_lists_every_bundled_spec_with_its_totals():
    import cnncalc

    rows = zoo_rows()
    assert sorted(rows) == sorted(p.stem for p in SPECS.glob("*.yaml"))
    assert not re.search(r"\b(all|every|the) \d+ (bundled )?specs\b", README), \
        "a count of the specs goes stale: say 'every spec'"
    for name, cells in rows.items():
        totals = cnncalc.analyze(cnncalc.load(f"zoo:{name}")).totals
        assert (number(cells[1]), number(cells[2])) == (totals.params, totals.macs), name


def test_resnet_mini_by_hand():
    # stem 3·3·3·64 = 1,728 + bn 128; layer1: two 3·3·64·64 convs (36,864 each) + 2 bn (256);
    # layer2: 3·3·64·128 = 73,728 + 3·3·128·128 = 147,456 + shortcut 64·128 = 8,192 + 3 bn (768);
    # mixed on 16×16×128: 128·64 + 64, 128·48 + 48, 9·48·64 + 64, 128·32 + 32; fc 160·10 + 10
    params = (1728 + 128 + 2 * 36864 + 256 + 73728 + 147456 + 8192 + 768
              + (128 * 64 + 64) + (128 * 48 + 48) + (9 * 48 * 64 + 64) + (128 * 32 + 32) + 1610)
    macs = (32 * 32 * 64 * 27 + 2 * 32 * 32 * 64 * 576
            + 16 * 16 * 128 * (576 + 1152 + 64)
            + 16 * 16 * (128 * 64 + 128 * 48 + 48 * 9 * 64 + 128 * 32) + 160 * 10)
    assert (params, macs) == (353_882, 147_785_280)
    cells = zoo_rows()["resnet_mini"]
    assert (number(cells[1]), number(cells[2])) == (params, macs)
