"""Regenerate the README's pictures in docs/pictures/ from the bundled specs.

    python tools/make_pictures.py

Each picture is exactly what `cnncalc draw` writes (the commands are listed below);
tests/test_picture.py fails when a file there differs from what this script would write, so
the pictures are regenerated, never edited by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "docs" / "pictures"

# file name → the spec and the draw options (as on the command line)
PICTURES = {
    "lenet5_1998.svg": ("zoo:lenet5_1998", {}),
    "alexnet_2012.svg": ("zoo:alexnet_2012", {}),
    "googlenet.svg": ("zoo:googlenet", {"style": "volumes"}),
    "resnet18.svg": ("zoo:resnet18", {}),
}


def command(file: str) -> str:
    source, options = PICTURES[file]
    flags = "".join(f" --{k} {v}" for k, v in options.items())
    return f"cnncalc draw {source}{flags} -o docs/pictures/{file}"


def picture(file: str) -> str:
    sys.path.insert(0, str(ROOT))
    from cnncalc.engine import analyze
    from cnncalc.picture import draw
    from cnncalc.spec import load

    source, options = PICTURES[file]
    spec = load(source)
    return draw(spec, analyze(spec), **options)


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for file in PICTURES:
        (FOLDER / file).write_text(picture(file), encoding="utf-8")
        print(command(file))


if __name__ == "__main__":
    main()
