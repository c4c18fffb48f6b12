"""The pictures: ``draw`` (SVG) and ``report`` (HTML) (:mod:`cnncalc.cli` registers them)."""

from __future__ import annotations

import os
import sys

import click

from .cli_common import (fail, echo_error, guarded, set_option, memory_options, source_options,
                         load_source)
from .errors import EXIT_CHECK_FAILED, EXIT_OK, AnalysisError, UsageError


def picture_path(file: str, out: str | None, suffix: str) -> str:
    """``-o``, or the spec's name with ``suffix`` in the current folder, as Keras' plot_model
    writes model.png: ``zoo:resnet50`` → ``resnet50.svg``, ``specs/lenet5.yaml`` →
    ``lenet5.svg``, standard input → ``net.svg``."""
    from pathlib import Path

    from .backends.importer import is_model_source

    if out is not None:
        if not out.strip():
            raise UsageError("the path is empty", param="--output")
        return out
    if file == "-":
        stem = "net"
    elif file.startswith("zoo:"):
        stem = Path(file[4:]).name or "net"
    elif is_model_source(file):  # torchvision:resnet18 → resnet18, net.py:Net → Net
        stem = file.rsplit(":", 1)[1].rsplit(".", 1)[-1] or "net"
    else:
        stem = Path(file).stem or "net"
    return stem + suffix


def write_picture(file: str, out: str | None, force: bool, suffix: str, make, *,
                  batch: int = 1, dtype: str = "fp32", amp: str | None = None,
                  optimizer: str = "adam") -> None:
    """Load, analyse, draw with ``make(spec, report, error)`` and write, never over a file
    without ``--force``; a spec that fails at a layer is drawn up to it, then exits 2."""
    import tempfile
    from pathlib import Path

    from .engine import analyze

    out = picture_path(file, out, suffix)
    path = Path(out)
    if out != "-":
        try:
            exists = path.exists() or path.is_symlink()
        except OSError as e:
            fail([f"cnncalc: error: cannot write {out[:80]}: {e.strerror or e}"])
        if exists and not force:
            fail([f"cnncalc: error: {out} exists; nothing was written (--force overwrites it)"])
    spec = load_source(file)
    from .formulas import symbolic_shape, volume_text

    if symbolic_shape(spec.input_shape):  # a drawing has sizes: numbers, not closed forms
        from .errors import Issue, Location, SpecError

        raise SpecError(Issue(Location(spec.source), f"the input {volume_text(spec.input_shape)} "
                                                     f"has symbols: a picture needs numbers",
                              hint="give the input in numbers (inspect --at evaluates the "
                                   "closed forms)"))
    error = None
    try:
        report = analyze(spec, batch=batch, dtype=dtype, amp=amp, optimizer=optimizer)
    except AnalysisError as e:
        report, error = e.report, e
    text = make(spec, report, error.issues[0].message if error is not None else "")
    if out == "-":
        click.echo(text, nl=False)
    else:
        folder = path.parent
        try:
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder,
                                             prefix=f".{path.name}.", suffix=".tmp",
                                             delete=False) as tmp:
                tmp.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp.name, 0o666 & ~umask)  # a temporary file is private; this one is not
            os.replace(tmp.name, path)
        except OSError as e:
            try:
                os.unlink(tmp.name)
            except (OSError, UnboundLocalError):
                pass
            fail([f"cnncalc: error: cannot write {out}: {e.strerror or e}; check that its "
                  f"folder exists and is writable"])
        click.echo(f"wrote {out}", err=True)
    if error is not None:
        sys.exit(echo_error(error))
    if not report.claims_ok:  # the picture is written; say which claim fails, as check does
        from .hints import annotate
        from .render.check import wrong_claim_lines

        fail(wrong_claim_lines(annotate(spec, report)), EXIT_CHECK_FAILED)
    sys.exit(EXIT_OK)


STYLES = ("auto", "volumes", "graph")


@click.command("draw")
@click.argument("file")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, allow_dash=True),
              help="The SVG file (default: the spec's name .svg here; - for standard output).")
@click.option("--style", type=click.Choice(STYLES), default="auto", show_default=True,
              help="volumes: 3-D boxes as the notes draw them; graph: compact boxes for "
                   "deep nets; auto: volumes when they fit 2,400 px across.")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="Fold blocks below this depth into one box, as inspect --depth does; a "
                   "repeat whose iterations fold is drawn once, ×N.  [default: every layer]")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@source_options
@set_option
@guarded
def draw_cmd(file, out, style, depth, force):
    """Draw FILE as an SVG: every volume, kernel, branch and shortcut, with its counts.

    FILE is a spec path, zoo:NAME, - for standard input, or a PyTorch model (see import).
    A spec that fails at a layer is drawn up to it with the failure in red, and exits 2.
    Exits 1 when an expect: claim is wrong (the picture is written; each wrong claim is named
    on stderr).
    """
    from .picture import draw

    write_picture(file, out, force, ".svg",
                  lambda spec, report, error: draw(spec, report, style=style, depth=depth,
                                                   error=error))


@click.command("report")
@click.argument("file")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, allow_dash=True),
              help="The HTML file (default: the spec's name .html here; - for standard output).")
@memory_options
@click.option("--style", type=click.Choice(STYLES), default="auto", show_default=True,
              help="The picture's style (see cnncalc draw).")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="Fold the picture's blocks below this depth.  [default: every layer]")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@source_options
@set_option
@guarded
def report_cmd(file, out, batch, dtype, amp, optimizer, style, depth, force):
    """Write FILE's report as one HTML page that needs no network: the picture, the layer
    table with formulas, totals, memory, receptive fields, design notes and graded expect:
    answers.  Click a box to find its row, or a row to find its box.

    Exits 1 when an expect: claim is wrong (the page is written and grades it; each wrong
    claim is named on stderr), 2 when the spec fails (the page shows the layers up to the
    failure).
    """
    from .picture import page

    write_picture(file, out, force, ".html",
                  lambda spec, report, error: page(spec, report, style=style, depth=depth,
                                                   error=error),
                  batch=batch, dtype=dtype, amp=amp, optimizer=optimizer)
