"""The command line: click commands only.  Each parses options, calls one core function and
hands the result to :mod:`cnncalc.render`.

Exit codes: 0 all good; 1 a check failed (a wrong ``expect``, a verify mismatch, a warning
under ``--strict``); 2 bad input or usage.  A traceback only with ``--debug``.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__
from .errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, AnalysisError, CnncalcError
from .report import DTYPE_BYTES

FORMATS = ("table", "json", "markdown", "csv")


def console(stderr: bool = False):
    """A rich console; 120 columns when the output is not a terminal (files, pipes, tests)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "120"))
    return Console(file=stream, width=width, soft_wrap=False, highlight=False)


def fail(lines: list[str], code: int = EXIT_BAD_INPUT) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def guarded(fn):
    """Turn every cnncalc error into its message and exit code; ``--debug`` shows tracebacks."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        try:
            return fn(*args, **kwargs)
        except CnncalcError as e:
            if ctx.find_root().params.get("debug"):
                raise
            fail(e.lines(), e.exit_code)
        except KeyboardInterrupt:
            fail(["interrupted"], 130)
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
def main(debug: bool) -> None:
    """Layer shapes, parameter counts, MACs, memory and receptive fields of CNNs.

    Start with:  cnncalc inspect specs/lenet5.yaml
    """


def format_option(choices=FORMATS):
    return click.option("--format", "fmt", type=click.Choice(choices), default="table",
                        show_default=True, help="Output format.")


# --- inspect ------------------------------------------------------------------------------

@main.command()
@click.argument("files", nargs=-1, required=True)
@format_option()
@click.option("--formulas", is_flag=True, help="Add the formula column (numbers substituted).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for the memory estimates.")
@click.option("--dtype", type=click.Choice(list(DTYPE_BYTES)), default="fp32", show_default=True,
              help="Element type for the memory estimates.")
@click.option("--strict", is_flag=True,
              help="Non-whole output sizes are errors (exit 2); other warnings exit 1.")
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="Fold nested blocks below this depth in the table.")
@click.option("--expand", is_flag=True, help="Show every nested row (same as a large --depth).")
@guarded
def inspect(files, fmt, formulas, batch, dtype, strict, depth, expand):
    """Every layer's output volume, params, MACs and receptive field, then totals and memory.

    FILE is a spec path or zoo:NAME (see `cnncalc zoo`).
    """
    from . import render
    from .engine import analyze
    from .spec import load

    depth = None if expand else depth
    worst = EXIT_OK
    documents = []
    for source in files:
        error = None
        try:
            report = analyze(load(source), strict=strict, batch=batch, dtype=dtype)
        except AnalysisError as e:
            report, error = e.report, e
        except CnncalcError as e:
            for line in e.lines():
                click.echo(line, err=True)
            worst = max(worst, e.exit_code)
            continue
        if fmt == "json":
            documents.append(render.to_json(report, error=str(error) if error else None))
        elif fmt == "csv":
            click.echo(render.to_csv(report), nl=False)
        elif fmt == "markdown":
            click.echo(render.to_markdown(report, formulas=formulas, depth=depth))
        else:
            console().print(render.table(report, formulas=formulas, depth=depth))
        if error is not None:
            for line in error.lines():
                click.echo(line, err=True)
            worst = max(worst, EXIT_BAD_INPUT)
            continue
        if not report.claims_ok:
            worst = max(worst, EXIT_CHECK_FAILED)
        if strict and any(d.severity != "note" for d in report.diagnostics):
            worst = max(worst, EXIT_CHECK_FAILED)
    if documents:
        click.echo(render.dumps(documents[0] if len(files) == 1 else documents))
    sys.exit(worst)


# --- layers -------------------------------------------------------------------------------

@main.command()
@format_option(("table", "json"))
@guarded
def layers(fmt):
    """List every layer kind with its hyperparameters and defaults (from the registry)."""
    from . import render
    from .layers import REGISTRY
    from .network import COMBINATORS

    if fmt == "json":
        click.echo(render.dumps(render.layers_json(REGISTRY, COMBINATORS)))
    else:
        console().print(render.layers_table(REGISTRY, COMBINATORS))


# --- zoo commands ---


# --- verify commands ---


# --- homework commands ---


if __name__ == "__main__":  # pragma: no cover
    main()
