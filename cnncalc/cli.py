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
from .errors import (EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, AnalysisError, CnncalcError,
                     UsageError)
from .report import Dtype

FORMATS = ("table", "json", "markdown", "csv")


def console(stderr: bool = False):
    """A rich console; 120 columns when the output is not a terminal (files, pipes, tests)."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    columns = os.environ.get("COLUMNS", "")
    width = None if stream.isatty() else (int(columns) if columns.isdigit() else 120)
    return Console(file=stream, width=width, soft_wrap=False, highlight=False)


def fail(lines: list[str], code: int = EXIT_BAD_INPUT) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def echo_error(e: CnncalcError) -> int:
    """Print an error's lines to stderr and return its exit code (for commands that go on).

    Under ``--debug`` the error propagates, with its traceback."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().params.get("debug"):
        raise e
    for line in e.lines():
        click.echo(line, err=True)
    return e.exit_code


def guarded(fn):
    """Turn every cnncalc error into its message and exit code; ``--debug`` shows tracebacks."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        try:
            return fn(*args, **kwargs)
        except UsageError as e:
            if ctx.find_root().params.get("debug"):
                raise
            if e.param:
                raise click.BadParameter(str(e), param_hint=f"'{e.param}'") from None
            raise click.UsageError(str(e)) from None
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
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32", show_default=True,
              help="Element type for the memory estimates.")
@click.option("--strict", is_flag=True,
              help="Non-whole output sizes are errors (exit 2); other warnings exit 1.")
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="Fold nested blocks below this depth in the table.")
@click.option("--expand", is_flag=True, help="Show every nested row (same as a large --depth).")
@guarded
def inspect(files, fmt, formulas, batch, dtype, strict, depth, expand):
    """Every layer's output volume, params, MACs and receptive field, then totals and memory.

    FILE is a spec path, zoo:NAME (see `cnncalc zoo`), or - for standard input.
    """
    from . import render
    from .engine import analyze
    load = load_source  # a spec, or a model to import (issue 12)

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
            worst = max(worst, echo_error(e))
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
            worst = max(worst, echo_error(error))
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

@main.command()
@format_option(("table", "json"))
@guarded
def zoo(fmt):
    """List the bundled specs with their params and MACs; inspect one with zoo:NAME."""
    from . import render
    from .zoo import catalog

    entries = catalog()
    if fmt == "json":
        click.echo(render.dumps(render.zoo_json(entries)))
    else:
        console().print(render.zoo_table(entries))


# --- verify commands ---

@main.command("verify")
@click.argument("file")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True, help="Where to run: a CUDA GPU when present (auto), or the CPU.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Images per forward pass.")
@click.option("--dtype", type=click.Choice(["fp32", "fp16", "bf16"]), default="fp32",
              show_default=True, help="Element type of the weights and the input.")
@click.option("--channels-last", is_flag=True, help="NHWC memory layout (faster convs on GPUs).")
@click.option("--compile", "compile_", is_flag=True, help="Time the torch.compile'd model.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True,
              help="Untimed passes first.")
@click.option("--iters", type=click.IntRange(min=0), default=20, show_default=True,
              help="Timed passes (0: check shapes and params only).")
@click.option("--per-layer", is_flag=True, help="Add each layer's share of the time.")
@format_option(("table", "json"))
@guarded
def verify_cmd(file, device, batch, dtype, channels_last, compile_, warmup, iters, per_layer,
               fmt):
    """Build FILE in PyTorch, check every layer's shape and params ✓/✗, then time it.

    Needs the torch extra.  Exits 1 on any mismatch.  FILE is a spec path or zoo:NAME.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .backends import view
    load = load_source  # a spec, or a model to import (issue 12)

    spec = load(file)
    from .backends import torch as backend  # raises a BackendError naming the extra

    err = console(stderr=True)
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  MofNCompleteColumn(), console=err, transient=True,
                  disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(f"timing {spec.name}", total=None)

        def progress(done, total):
            bar.update(task, completed=done, total=total)

        result = backend.verify(spec, device=device, batch=batch, dtype=dtype,
                                channels_last=channels_last, compile=compile_, warmup=warmup,
                                iters=iters, per_layer=per_layer, progress=progress)
    if fmt == "json":
        from .render import dumps

        click.echo(dumps(view.to_json(result)))
    else:
        out = console()
        out.print(view.checks_table(result))
        if result.timing is not None and result.timing.per_layer_ms:
            out.print(view.per_layer_table(result.timing))
        for line in view.summary_lines(result):
            out.print(line)
    sys.exit(EXIT_OK if result.ok else EXIT_CHECK_FAILED)


@main.command("export")
@click.argument("file")
@click.option("--to", "target", type=click.Choice(["pytorch"]), required=True,
              help="The framework of the generated code.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@guarded
def export_cmd(file, target, out, force):
    """Write FILE as a standalone Python file defining `class Net(nn.Module)` (torch only)."""
    from pathlib import Path

    from .backends.export import to_python
    from .errors import Issue, Location, SpecError
    from .spec import load

    code = to_python(load(file), file)
    if out is None:
        click.echo(code, nl=False)
        return
    if not out.strip():
        raise UsageError("the path is empty", param="--output")
    path = Path(out)
    try:
        exists = path.exists()
    except OSError as e:
        raise SpecError(Issue(Location(out[:60]), f"cannot write: {e.strerror or e}")) from None
    if exists and not force:
        raise SpecError(Issue(Location(out), "exists; nothing was written",
                              hint="use --force to overwrite it"))
    try:
        path.write_text(code, encoding="utf-8")
    except OSError as e:
        raise SpecError(Issue(Location(out), f"cannot write: {e.strerror or e}",
                              hint="check that its folder exists and is writable")) from None
    click.echo(f"wrote {out}: class Net, {target}", err=True)



# --- homework commands ---

@main.command()
@click.argument("files", nargs=-1, required=True)
@format_option(("table", "json"))
@guarded
def check(files, fmt):
    """Grade every expect: claim ✓/✗ with the right value, the formula and the likely slip.

    Exits 1 if any claim is wrong.
    """
    from . import render
    from .engine import analyze
    from .hints import annotate
    load = load_source  # a spec, or a model to import (issue 12)

    worst, results, errors = EXIT_OK, [], []
    for source in files:
        try:
            spec = load(source)
            claims = annotate(spec, analyze(spec))
        except AnalysisError as e:
            claims = annotate(spec, e.report)
            worst = max(worst, echo_error(e))
            errors += e.lines()
        except CnncalcError as e:
            worst = max(worst, echo_error(e))
            errors += e.lines()
            continue
        results += [(source, c) for c in claims]
        if fmt == "table" and not claims:
            click.echo(f"no expect: claims in {source}; add expect: {{params: …}} to a layer "
                       f"to have it graded")
        elif fmt == "table":
            console().print(render.check_view(source, claims))
    if fmt == "json":
        click.echo(render.dumps(render.check_json(results, len(files), errors)))
    if not all(c.ok for _, c in results):
        worst = max(worst, EXIT_CHECK_FAILED)
    sys.exit(worst)


def _calc_out(report, fmt) -> None:
    from . import render

    if fmt == "json":
        click.echo(render.dumps(render.calc_json(report)))
    else:
        console().print(render.calc_view(report))


@main.command()
@click.argument("volume")
@click.option("-K", "--filters", type=int, help="K, the number of filters (depthwise: D).")
@click.option("-F", "--size", help="F, the kernel size: N or h,w.")
@click.option("-S", "--stride", help="S (1): N or h,w.")
@click.option("-P", "--pad", help="P (0): N, h,w, same or valid.")
@click.option("--dilation", help="d (1).")
@click.option("--groups", type=int, help="g (1).")
@click.option("--depthwise", is_flag=True, default=None, help="One filter per input map.")
@click.option("--bias/--no-bias", default=None, help="One shared bias per filter (on).")
@format_option(("table", "json"))
@guarded
def conv(volume, filters, size, stride, pad, dilation, groups, depthwise, bias, fmt):
    """One conv layer on a volume: output, params, MACs and the formula.

    VOLUME is W×H×D as in the notes, for example 32x32x3."""
    from .calc import int_pair, one_layer, pad_value

    _calc_out(one_layer("conv", volume, {
        "filters": filters, "size": int_pair(size, "--size"), "stride": int_pair(stride, "--stride"),
        "pad": pad_value(pad), "dilation": int_pair(dilation, "--dilation"), "groups": groups,
        "depthwise": depthwise, "bias": bias}), fmt)


@main.command()
@click.argument("volume")
@click.option("-F", "--size", help="F, the window: N or h,w.")
@click.option("-S", "--stride", help="S (= F): N or h,w.")
@click.option("-P", "--pad", help="P (0): N or h,w.")
@click.option("--mode", type=click.Choice(["max", "avg"]), default=None, help="max (default) or avg.")
@click.option("--ceil", is_flag=True, default=None, help="Round the output size up (ceil_mode).")
@format_option(("table", "json"))
@guarded
def pool(volume, size, stride, pad, mode, ceil, fmt):
    """One pooling layer on a volume: output and the formula.

    VOLUME is W×H×D as in the notes, for example 28x28x6."""
    from .calc import int_pair, one_layer

    _calc_out(one_layer("pool", volume, {
        "size": int_pair(size, "--size"), "stride": int_pair(stride, "--stride"),
        "pad": int_pair(pad, "--pad"), "mode": mode, "ceil": ceil}), fmt)


@main.command()
@click.argument("n", type=click.IntRange(min=1))
@click.option("-F", "--size", type=click.IntRange(min=1), required=True,
              help="F, the kernel size.")
@click.option("-S", "--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="S.")
@click.option("--dilation", type=click.IntRange(min=1), default=1, show_default=True, help="d.")
@format_option(("table", "json"))
@guarded
def pad(n, size, stride, dilation, fmt):
    """The padding that keeps size N ('same'): p = (N(s − 1) + F − s)/2."""
    from . import render
    from .calc import same_pad

    sp = same_pad(n, size, stride, dilation)
    if fmt == "json":
        click.echo(render.dumps(render.pad_json(sp)))
    else:
        for line in render.pad_lines(sp):
            click.echo(line)


@main.command()
@click.option("--input", "input_", required=True, help="Matrix file, or inline \"1 2; 3 4\".")
@click.option("--kernel", "kernels", multiple=True,
              help="Kernel matrix (file or inline); repeat for several filters.")
@click.option("--bias", "biases", type=float, multiple=True,
              help="Bias: one for all kernels, or one per kernel.")
@click.option("--stride", type=click.IntRange(min=1), help="S (conv: 1; pool only: = F).")
@click.option("--pad", type=click.IntRange(min=0), help="P, zero padding (0).")
@click.option("--act", type=click.Choice(["relu", "sigmoid", "tanh"]), help="Activation.")
@click.option("--pool", type=click.Choice(["max", "avg"]), help="Pool after the conv.")
@click.option("--size", type=click.IntRange(min=1), help="F, the pooling window.")
@click.option("--pool-stride", type=click.IntRange(min=1), help="Pooling stride (= --size).")
@click.option("--steps", is_flag=True, help="Show one output element's sum term by term.")
@click.option("--at", "at", default="1,1", show_default=True,
              help="With --steps: the element (row,column, from 1).")
@format_option(("table", "json"))
@guarded
def apply(input_, kernels, biases, stride, pad, act, pool, size, pool_stride, steps, at, fmt):
    """Convolve (and/or pool) a small matrix numerically, as in the notes' exercises."""
    from . import render
    from .errors import UsageError
    from .numeric import apply as run_apply, read_matrix, tidy

    x, _ = read_matrix(input_, "--input")
    ks = [read_matrix(k, "--kernel")[0] for k in kernels]
    try:
        r, c = (int(v) - 1 for v in at.split(","))
    except ValueError:
        raise UsageError(f"expected row,column such as 1,1, got {at!r}", param="--at") from None
    applied = run_apply(x, ks or None, [tidy(b) for b in biases], stride, pad, act, pool, size,
                        pool_stride, (r, c) if steps else None)
    if fmt == "json":
        click.echo(render.dumps(render.apply_json(applied)))
    else:
        console().print(render.apply_view(applied))


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Exit 1 when there is any note.")
@format_option(("table", "json"))
@guarded
def lint(files, strict, fmt):
    """Design notes with stable codes (CN1xx per layer, CN2xx network), tied to the notes."""
    from . import render
    from .lint import lint as run_lint
    load = load_source  # a spec, or a model to import (issue 12)

    worst, documents = EXIT_OK, []
    for source in files:
        try:
            result = run_lint(load(source))
        except CnncalcError as e:
            worst = max(worst, echo_error(e))
            continue
        if fmt == "json":
            documents.append(render.lint_json(source, result, strict))
        else:
            console().print(render.lint_view(source, result))
        if result.error is not None:
            worst = max(worst, echo_error(result.error))
        elif strict and result.notes:
            worst = max(worst, EXIT_CHECK_FAILED)
    if documents:
        click.echo(render.dumps(documents[0] if len(files) == 1 else documents))
    sys.exit(worst)


# --- import (issue 12) -----------------------------------------------------------------------

def load_source(source):
    """A spec (path, zoo:NAME, -) or a model imported in memory (torchvision:NAME,
    file.py:Name, package.module:Name); the import's notes go to stderr."""
    from .backends.importer import is_model_source, load_model
    from .spec import load

    if not is_model_source(source):
        return load(source)
    spec, notes = load_model(source)
    for note in notes:
        click.echo(f"cnncalc: note: {note}", err=True)
    return spec


@main.command("import")
@click.argument("source")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
              help="Write the spec here instead of standard output.")
@click.option("--input", "input_", metavar="WxHxD",
              help="Input volume (torchvision: its weights' crop size, e.g. 299x299x3 for "
                   "inception_v3; otherwise 224x224x3).")
@click.option("--arg", "args", multiple=True, metavar="KEY=VALUE",
              help="An argument for the model's class or factory (repeatable), e.g. "
                   "--arg num_classes=10.")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@guarded
def import_cmd(source, out, input_, args, force):
    """Turn a PyTorch model into a spec: SOURCE is torchvision:NAME (weights=None),
    path/to/file.py:Name or package.module:Name (a class or a factory).

    Needs the torch extra (torchvision for torchvision:NAME).  inspect, check, lint and
    verify take the same SOURCE directly.
    """
    from pathlib import Path

    from .backends.importer import import_model, parse_args
    from .engine import analyze
    from .errors import Issue, Location, SpecError
    from .spec import parse

    path = None
    if out is not None:
        if not out.strip():
            raise UsageError("the path is empty", param="--output")
        path = Path(out)
        if path.exists() and not force:
            raise SpecError(Issue(Location(out), "exists; nothing was written",
                                  hint="use --force to overwrite it"))
    imported = import_model(source, input_volume=input_, args=parse_args(args))
    report = analyze(parse(imported.text, source), explain=False)
    for note in imported.notes:
        click.echo(f"cnncalc: note: {note}", err=True)
    if path is None:
        click.echo(imported.text, nl=False)
    else:
        try:
            path.write_text(imported.text, encoding="utf-8")
        except OSError as e:
            raise SpecError(Issue(Location(out), f"cannot write: {e.strerror or e}",
                                  hint="check that its folder exists and is writable")) from None
    t = report.totals
    where = f"wrote {out}: " if path is not None else ""
    click.echo(f"{where}{report.name}: {len(report.layers)} layers, {t.params:,} params, "
               f"{t.macs:,} MACs; " + ("PyTorch's totals (expect:) hold" if report.claims_ok
                                       else "a PyTorch total differs: cnncalc check shows it"),
               err=True)
    sys.exit(EXIT_OK if report.claims_ok else EXIT_CHECK_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
