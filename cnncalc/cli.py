"""The command line: click commands only.  Each parses options, calls one core function and
hands the result to :mod:`cnncalc.render`.

Exit codes are :mod:`cnncalc.policy`'s: 0 all good; 1 a check failed (a wrong ``expect``, a
verify mismatch, a warning under ``--strict``); 2 bad input or usage.  A traceback only with
``--debug``.  Over several files, the worst.
"""

from __future__ import annotations

import functools
import os
import sys

import click

from . import __version__
from .errors import (EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, AnalysisError, CnncalcError,
                     UsageError)
from .numeric import ACTIVATIONS
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


def option_name(name: str) -> str:
    """How the running command spells the core's parameter ``name``: its long option
    (``--size`` for ``pool_size``, whose option says so) or its argument (``VOLUME``); a name
    the command has no parameter for (a label such as ``--input``) is left as it is."""
    ctx = click.get_current_context(silent=True)
    for p in ctx.command.params if ctx is not None else ():
        if p.name == name:
            if isinstance(p, click.Argument):
                return p.human_readable_name
            return max((o for o in p.opts if o.startswith("--")), key=len, default=p.opts[0])
    return name


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
            message = e.text(option_name)
            if e.param:
                raise click.BadParameter(message,
                                         param_hint=f"'{option_name(e.param)}'") from None
            raise click.UsageError(message) from None
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


def parse_codes(ctx, param, value: str | None) -> frozenset[str]:
    """``--ignore CN101,CN104``: known diagnostic codes, any case; a near miss is suggested."""
    from .layers import closest
    from .report import CODES

    codes = set()
    for word in (value or "").replace(" ", ",").split(","):
        if not word:
            continue
        code = word.upper()
        if code not in CODES:
            near = closest(code.lower(), [c.lower() for c in CODES])
            raise click.BadParameter(f"unknown diagnostic code {word!r}"
                                     + (f"; did you mean {near.upper()}?" if near else ""))
        codes.add(code)
    return frozenset(codes)


def ignore_option(fn):
    return click.option("--ignore", callback=parse_codes, metavar="CODES",
                        help="Silence these diagnostic codes, e.g. CN101,CN104 (listed as "
                             "silenced in the JSON).")(fn)


def output_path(out: str, force: bool):
    """The file ``-o OUT`` names, checked before any work: not empty, and not an existing file
    unless ``--force`` (nothing the user had is overwritten)."""
    from pathlib import Path

    from .errors import Issue, Location, SpecError

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
    return path


def write_output(path, text: str) -> None:
    from .errors import Issue, Location, SpecError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise SpecError(Issue(Location(str(path)), f"cannot write: {e.strerror or e}",
                              hint="check that its folder exists and is writable")) from None


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
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32",
              show_default=True, help="Element type for the memory estimates.")
@click.option("--strict", is_flag=True,
              help="Non-whole output sizes are errors (exit 2); other warnings exit 1.")
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="Fold nested blocks below this depth in the table.")
@click.option("--expand", is_flag=True, help="Show every nested row (same as a large --depth).")
@click.option("--at", "at", help="Input sizes to evaluate every count at, e.g. 224,320,512 "
                                 "(or 224x320: W×H); H and W become symbols.")
@ignore_option
@guarded
def inspect(files, fmt, formulas, batch, dtype, strict, depth, expand, at, ignore):
    """Every layer's output volume, params, MACs and receptive field, then totals and memory.

    FILE is a spec path, zoo:NAME (see `cnncalc zoo`), or - for standard input.  With
    input: HxWx3 (letters for the height and width) sizes are closed forms in H and W.
    """
    from . import render
    from .engine import analyze
    from .policy import inspect_status
    from .shapes import symbolic_shape
    load = load_source  # a spec, or a model to import (issue 12)

    depth = None if expand else depth
    sizes = parse_at(at) if at is not None else None
    worst = EXIT_OK
    documents = []
    for source in files:
        error = None
        try:
            spec = load(source)
            if sizes is not None or symbolic_shape(spec.input_shape):
                code, document = inspect_symbolic(spec, sizes, fmt, formulas, batch, dtype,
                                                  depth, ignore)
                worst = max(worst, code)
                if document is not None:
                    documents.append(document)
                continue
            report = analyze(spec, strict=strict, batch=batch, dtype=dtype, ignore=ignore)
        except AnalysisError as e:
            report, error = e.report, e
        except CnncalcError as e:
            worst = max(worst, echo_error(e))
            continue
        if fmt == "json":
            documents.append(render.to_json_stream(report, error=str(error) if error else None))
        elif fmt == "csv":
            click.echo(render.to_csv(report), nl=False)
        elif fmt == "markdown":
            click.echo(render.to_markdown(report, formulas=formulas, depth=depth))
        else:
            console().print(render.table(report, formulas=formulas, depth=depth))
        if error is not None:
            echo_error(error)
        worst = max(worst, inspect_status(report, strict=strict, error=error))
    if documents:  # written as it is made: a 100,000-layer document is never held whole
        for piece in render.iter_dumps(documents[0] if len(files) == 1 else documents):
            click.echo(piece, nl=False)
        click.echo()
    sys.exit(worst)


def parse_at(text: str) -> list[tuple[int, int]]:
    """``--at 224,320`` (square) or ``224x320`` (W×H): the sizes as (height, width)."""
    from .errors import UsageError

    out = []
    for item in text.split(","):
        parts = item.strip().lower().replace("×", "x").split("x")
        try:
            values = [int(p) for p in parts]
        except ValueError:
            raise UsageError(f"expected sizes such as 224,320 or 224x320, got {item.strip()!r}",
                             param="at") from None
        if len(values) not in (1, 2) or min(values) < 1 or max(values) > 10 ** 9:
            raise UsageError(f"expected sizes from 1 to 1,000,000,000 such as 224,320 or "
                             f"224x320, got {item.strip()!r}", param="at")
        w, h = values if len(values) == 2 else values * 2
        out.append((h, w))
    return out


def inspect_symbolic(spec, sizes, fmt, formulas, batch, dtype, depth, ignore=()):
    """inspect with H and W as symbols: the closed forms, and every count at ``sizes``.

    Returns (exit code, the JSON document or None)."""
    from .render import sizes as render_sizes
    from .sizes import inspect_symbolic as run

    if fmt in ("csv", "markdown"):  # one number a cell: no closed forms, no row per size
        raise UsageError(f"{fmt} writes one number a cell: with symbols or --at, use table "
                         f"or json, or give the input in numbers", param="--format")
    result = run(spec, sizes, batch=batch, dtype=dtype, ignore=ignore)
    report, runs, entries, error = result.report, result.runs, result.entries, result.error
    if fmt == "json":
        document = render_sizes.symbolic_json(report, runs, entries,
                                              error=str(error) if error else None)
    else:
        document = None
        out = console()
        out.print(render_sizes.symbolic_table(report, runs, formulas=formulas, depth=depth))
        if entries:
            out.print(render_sizes.at_table(report.name, entries))
    code = EXIT_OK
    if error is not None:
        code = echo_error(error)
    return code, document


# --- layers -------------------------------------------------------------------------------

@main.command()
@format_option(("table", "json"))
@guarded
def layers(fmt):
    """List every layer kind with its hyperparameters and defaults (from the registry)."""
    from .layers import REGISTRY
    from .network import COMBINATORS
    from .render import layers as view
    from .render.document import dumps

    if fmt == "json":
        click.echo(dumps(view.layers_json(REGISTRY, COMBINATORS)))
    else:
        console().print(view.layers_table(REGISTRY, COMBINATORS))


# --- zoo commands ---

@main.command()
@format_option(("table", "json"))
@guarded
def zoo(fmt):
    """List the bundled specs with their params and MACs; inspect one with zoo:NAME."""
    from .render import zoo as view
    from .render.document import dumps
    from .zoo import catalog

    entries = catalog()
    if fmt == "json":
        click.echo(dumps(view.zoo_json(entries)))
    else:
        console().print(view.zoo_table(entries))


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
              help="Timed passes (0: the checks only, no timing).")
@click.option("--per-layer", is_flag=True, help="Add each layer's share of the time.")
@format_option(("table", "json"))
@guarded
def verify_cmd(file, device, batch, dtype, channels_last, compile_, warmup, iters, per_layer,
               fmt):
    """Build FILE in PyTorch, check every layer's shape and counts ✓/✗, then time it.

    Needs the torch extra.  Exits 1 on any mismatch.  FILE is a spec path or zoo:NAME.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .render import verify as view
    from .policy import verify_status
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
        from .render.document import dumps

        click.echo(dumps(view.to_json(result)))
    else:
        out = console()
        out.print(view.checks_table(result))
        if result.timing is not None and result.timing.per_layer_ms:
            out.print(view.per_layer_table(result.timing))
        for line in view.summary_lines(result):
            out.print(line)
    sys.exit(verify_status(result))


@main.command("export")
@click.argument("file")
@click.option("--to", "target", type=click.Choice(["pytorch"]), default="pytorch",
              show_default=True,
              help="The framework of the generated code.")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@guarded
def export_cmd(file, target, out, force):
    """Write FILE as a standalone Python file defining `class Net(nn.Module)` (torch only)."""

    from .backends.export import to_python
    from .spec import load

    path = output_path(out, force) if out is not None else None
    code = to_python(load(file), file)
    if path is None:
        click.echo(code, nl=False)
        return
    write_output(path, code)
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
    from .engine import analyze
    from .hints import annotate
    from .policy import check_status
    from .render import check as view
    from .render.document import dumps
    load = load_source  # a spec, or a model to import (issue 12)

    results, errors = [], []
    for source in files:
        try:
            spec = load(source)
            claims = annotate(spec, analyze(spec))
        except AnalysisError as e:
            claims = annotate(spec, e.report)
            echo_error(e)
            errors.append(e)
        except CnncalcError as e:
            echo_error(e)
            errors.append(e)
            continue
        results += [(source, c) for c in claims]
        if fmt == "table" and not claims:
            click.echo(f"no expect: claims in {source}; add expect: {{params: …}} to a layer "
                       f"to have it graded")
        elif fmt == "table":
            console().print(view.check_view(source, claims))
    if fmt == "json":
        click.echo(dumps(view.check_json(results, len(files), errors)))
    sys.exit(check_status((c for _, c in results), errors))


def _calc_out(report, fmt) -> None:
    from .render import calc as view
    from .render.document import dumps

    if fmt == "json":
        click.echo(dumps(view.calc_json(report)))
    else:
        console().print(view.calc_view(report))


@main.command()
@click.argument("volume")
@click.option("-K", "--filters", type=int, help="K, the number of filters (depthwise: D).")
@click.option("-F", "--size", help="F, the kernel size: N or h,w.")
@click.option("-S", "--stride", help="S (1): N or h,w.")
@click.option("-P", "--pad", help="P (0): N, h,w, same (⌈N/S⌉), valid or keep (N).")
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
        "filters": filters, "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": pad_value(pad), "dilation": int_pair(dilation, "dilation"), "groups": groups,
        "depthwise": depthwise, "bias": bias}), fmt)


@main.command()
@click.argument("volume")
@click.option("-F", "--size", help="F, the window: N or h,w.")
@click.option("-S", "--stride", help="S (= F): N or h,w.")
@click.option("-P", "--pad", help="P (0): N or h,w.")
@click.option("--mode", type=click.Choice(["max", "avg"]), default=None,
              help="max (default) or avg.")
@click.option("--ceil", is_flag=True, default=None, help="Round the output size up (ceil_mode).")
@format_option(("table", "json"))
@guarded
def pool(volume, size, stride, pad, mode, ceil, fmt):
    """One pooling layer on a volume: output and the formula.

    VOLUME is W×H×D as in the notes, for example 28x28x6."""
    from .calc import int_pair, one_layer

    _calc_out(one_layer("pool", volume, {
        "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": int_pair(pad, "pad"), "mode": mode, "ceil": ceil}), fmt)


@main.command()
@click.argument("volume")
@click.option("-K", "--filters", type=int, help="K, the number of output maps.")
@click.option("-F", "--size", help="F, the kernel size: N or h,w.")
@click.option("-S", "--stride", help="S (1): N or h,w.")
@click.option("-P", "--pad", help="P (0), cropped from each side: N or h,w.")
@click.option("--output-pad", help="Extra rows/columns on one side (0; < S): N or h,w.")
@click.option("--dilation", help="d (1).")
@click.option("--groups", type=int, help="g (1).")
@click.option("--bias/--no-bias", default=None, help="One bias per output map (on).")
@format_option(("table", "json"))
@guarded
def deconv(volume, filters, size, stride, pad, output_pad, dilation, groups, bias, fmt):
    """One transposed conv on a volume: (N − 1)·S − 2P + d·(F − 1) + output_pad + 1.

    VOLUME is W×H×D as in the notes, for example 16x16x64."""
    from .calc import int_pair, one_layer

    _calc_out(one_layer("deconv", volume, {
        "filters": filters, "size": int_pair(size, "size"), "stride": int_pair(stride, "stride"),
        "pad": int_pair(pad, "pad"), "output_pad": int_pair(output_pad, "output_pad"),
        "dilation": int_pair(dilation, "dilation"), "groups": groups, "bias": bias}), fmt)


@main.command()
@click.argument("input_", metavar="INPUT")
@click.option("-U", "--units", type=int, help="The number of output neurons.")
@click.option("--bias/--no-bias", default=None, help="One bias per unit (on).")
@format_option(("table", "json"))
@guarded
def fc(input_, units, bias, fmt):
    """One fully connected layer: (in + 1)·units params, in·units MACs.

    INPUT is a vector length (400) or a W×H×D volume (5x5x16), flattened first."""
    from .calc import one_layer

    _calc_out(one_layer("fc", input_, {"units": units, "bias": bias}), fmt)


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
    from .calc import same_pad
    from .render import calc as view
    from .render.document import dumps

    sp = same_pad(n, size, stride, dilation)
    if fmt == "json":
        click.echo(dumps(view.pad_json(sp)))
    else:
        for line in view.pad_lines(sp):
            click.echo(line)


@main.command("solve")
@click.argument("unknown")
@click.option("-N", "--input", "input", type=int, help="N, the input size along one axis.")
@click.option("-O", "--output", "output", type=int,
              help="The output size wanted (none: the values that make it whole).")
@click.option("-F", "--size", type=int, help="F, the kernel size.")
@click.option("-S", "--stride", type=int, help="S (1).")
@click.option("-P", "--pad", type=int, help="P (0), on each side.")
@click.option("--dilation", type=int, help="d (1).")
@click.option("--ceil", is_flag=True, help="Pooling's ceil mode: round the output up.")
@click.option("--range", "span", help="LO..HI: the values of the unknown to try.")
@format_option(("table", "json"))
@guarded
def solve_cmd(unknown, input, output, size, stride, pad, dilation, ceil, span, fmt):  # noqa: A002
    """Every whole-number value of one unknown of a conv or pool layer: UNKNOWN is N (input),
    F (size), S (stride), P (pad) or d (dilation); give the others.

    With --output, the values that give it (PyTorch floors (N − F + 2P)/S + 1); without,
    those that make it whole.  Example: cnncalc solve P -N 224 -O 112 -F 7 -S 2
    """
    from .render import sizes as render_sizes
    from .render.document import dumps
    from .calc import parse_range, solve

    sol = solve(unknown, {"input": input, "size": size, "stride": stride, "pad": pad,
                          "dilation": dilation}, output, parse_range(span), ceil)
    if fmt == "json":
        click.echo(dumps(render_sizes.solve_json(sol)))
    else:
        for line in render_sizes.solve_lines(sol):
            click.echo(line)


@main.command("sizes")
@click.argument("file")
@click.option("--exact", is_flag=True,
              help="Also the sizes where no layer floors: (N − F + 2P)/S + 1 whole everywhere.")
@click.option("--want-output", "want", type=click.IntRange(min=1),
              help="The inputs that give this output size (the nearest when none does).")
@format_option(("table", "json"))
@guarded
def sizes_cmd(file, exact, want, fmt):
    """Which input sizes FILE works for, along each spatial axis: where it runs, where no layer
    floors (--exact), the output as a function of the input, and why the others fail.

    The input's height and width become symbols H and W; the answer is exact (it repeats
    with the product of the strides) and confirmed by the engine.  FILE is a spec or zoo:NAME.
    """
    from .render import sizes as render_sizes
    from .render.document import dumps
    from .sizes import find_sizes
    from .spec import load

    result = find_sizes(load(file), want=want, exact=exact)
    if fmt == "json":
        click.echo(dumps(render_sizes.sizes_json(result, exact)))
    else:
        console().print(render_sizes.sizes_view(result, exact))


@main.command()
@click.option("--input", "input_", required=True, help="Matrix file, or inline \"1 2; 3 4\".")
@click.option("--kernel", "kernels", multiple=True,
              help="Kernel matrix (file or inline); repeat for several filters.")
@click.option("--bias", "biases", type=float, multiple=True,
              help="Bias: one for all kernels, or one per kernel.")
@click.option("--stride", type=click.IntRange(min=1), help="S (conv: 1; pool only: = F).")
@click.option("--pad", type=click.IntRange(min=0), help="P, zero padding (0).")
@click.option("--act", type=click.Choice(list(ACTIVATIONS)), help="Activation.")
@click.option("--pool", type=click.Choice(["max", "avg"]), help="Pool after the conv.")
@click.option("--size", "pool_size", type=click.IntRange(min=1), help="F, the pooling window.")
@click.option("--pool-stride", type=click.IntRange(min=1), help="Pooling stride (= --size).")
@click.option("--steps", is_flag=True, help="Show one output element's sum term by term.")
@click.option("--at", "at", default="1,1", show_default=True,
              help="With --steps: the element (row,column, from 1).")
@format_option(("table", "json"))
@guarded
def apply(input_, kernels, biases, stride, pad, act, pool, pool_size, pool_stride, steps, at,
          fmt):
    """Convolve (and/or pool) a small matrix numerically, as in the notes' exercises."""
    from .matrix import read_matrix
    from .numeric import apply as run_apply, tidy
    from .render import apply as view
    from .render.document import dumps

    x, _ = read_matrix(input_, "--input")
    ks = [read_matrix(k, "--kernel")[0] for k in kernels]
    try:
        r, c = (int(v) - 1 for v in at.split(","))
    except ValueError:
        raise UsageError(f"expected row,column such as 1,1, got {at!r}", param="at") from None
    applied = run_apply(x, ks or None, [tidy(b) for b in biases], stride, pad, act, pool,
                        pool_size, pool_stride, (r, c) if steps else None)
    if fmt == "json":
        click.echo(dumps(view.apply_json(applied)))
    else:
        console().print(view.apply_view(applied))


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Exit 1 when there is any note.")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for the memory rule (CN205).")
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32",
              show_default=True, help="Element type for the memory rule (CN205).")
@ignore_option
@format_option(("table", "json"))
@guarded
def lint(files, strict, batch, dtype, ignore, fmt):
    """Design notes with stable codes (CN1xx per layer, CN2xx network), tied to the notes."""
    from .lint import lint as run_lint
    from .policy import lint_status
    from .render import lint as view
    from .render.document import dumps
    load = load_source  # a spec, or a model to import (issue 12)

    worst, documents = EXIT_OK, []
    for source in files:
        try:
            result = run_lint(load(source), batch=batch, dtype=dtype, ignore=ignore)
        except CnncalcError as e:
            worst = max(worst, echo_error(e))
            continue
        if fmt == "json":
            documents.append(view.lint_json(source, result, strict))
        else:
            console().print(view.lint_view(source, result))
        if result.error is not None:
            echo_error(result.error)
        worst = max(worst, lint_status(result, strict=strict))
    if documents:
        click.echo(dumps(documents[0] if len(files) == 1 else documents))
    sys.exit(worst)


@main.command("schema")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False),
              help="Write here instead of standard output.")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@guarded
def schema_cmd(out, force):
    """The JSON Schema of specs, for editors with the YAML language server: completion, each
    setting's doc and default on hover, and checks as you type."""
    import json

    from .schema import build_schema

    text = json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    write_output(output_path(out, force), text)
    click.echo(f"wrote {out}: JSON Schema (draft-07) of cnncalc specs", err=True)


# --- pictures -----------------------------------------------------------------------------

def picture_path(file: str, out: str | None, suffix: str) -> str:
    """``-o``, or the spec's name with ``suffix`` in the current folder, as Keras' plot_model
    writes model.png: ``zoo:resnet50`` → ``resnet50.svg``, ``specs/lenet5.yaml`` →
    ``lenet5.svg``, standard input → ``net.svg``."""
    from pathlib import Path

    if out is not None:
        if not out.strip():
            raise UsageError("the path is empty", param="--output")
        return out
    if file == "-":
        stem = "net"
    elif file.startswith("zoo:"):
        stem = Path(file[4:]).name or "net"
    else:
        stem = Path(file).stem or "net"
    return stem + suffix


def write_picture(file: str, out: str | None, force: bool, suffix: str, make, *,
                  batch: int = 1, dtype: str = "fp32") -> None:
    """Load, analyse, draw with ``make(spec, report, error)`` and write, never over a file
    without ``--force``; a spec that fails at a layer is drawn up to it, then exits 2."""
    import tempfile
    from pathlib import Path

    from .engine import analyze
    from .spec import load

    out = picture_path(file, out, suffix)
    path = Path(out)
    if out != "-":
        try:
            exists = path.exists() or path.is_symlink()
        except OSError as e:
            fail([f"cnncalc: error: cannot write {out[:80]}: {e.strerror or e}"])
        if exists and not force:
            fail([f"cnncalc: error: {out} exists; nothing was written (--force overwrites it)"])
    spec = load(file)
    from .shapes import symbolic_shape, volume_text

    if symbolic_shape(spec.input_shape):  # a drawing has sizes: numbers, not closed forms
        from .errors import Issue, Location, SpecError

        raise SpecError(Issue(Location(spec.source), f"the input {volume_text(spec.input_shape)} "
                                                     f"has symbols: a picture needs numbers",
                              hint="give the input in numbers (inspect --at evaluates the "
                                   "closed forms)"))
    error = None
    try:
        report = analyze(spec, batch=batch, dtype=dtype)
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
    sys.exit(EXIT_OK if report.claims_ok else EXIT_CHECK_FAILED)


STYLES = ("auto", "volumes", "graph")


@main.command("draw")
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
@guarded
def draw_cmd(file, out, style, depth, force):
    """Draw FILE as an SVG: every volume, kernel, branch and shortcut, with its counts.

    FILE is a spec path, zoo:NAME or - for standard input.  A spec that fails at a layer is
    drawn up to it with the failure in red, and exits 2.
    """
    from .picture import draw

    write_picture(file, out, force, ".svg",
                  lambda spec, report, error: draw(spec, report, style=style, depth=depth,
                                                   error=error))


@main.command("report")
@click.argument("file")
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, allow_dash=True),
              help="The HTML file (default: the spec's name .html here; - for standard output).")
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
              help="Batch size for the memory estimates.")
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32",
              show_default=True, help="Element type for the memory estimates.")
@click.option("--style", type=click.Choice(STYLES), default="auto", show_default=True,
              help="The picture's style (see cnncalc draw).")
@click.option("--depth", type=click.IntRange(min=0), default=None,
              help="Fold the picture's blocks below this depth.  [default: every layer]")
@click.option("--force", is_flag=True, help="Overwrite an existing OUTPUT.")
@guarded
def report_cmd(file, out, batch, dtype, style, depth, force):
    """Write FILE's report as one HTML page that needs no network: the picture, the layer
    table with formulas, totals, memory, receptive fields, design notes and graded expect:
    answers.  Click a box to find its row, or a row to find its box.

    Exits 1 when an expect: claim is wrong, 2 when the spec fails (the page shows the layers
    up to the failure).
    """
    from .picture import page

    write_picture(file, out, force, ".html",
                  lambda spec, report, error: page(spec, report, style=style, depth=depth,
                                                   error=error),
                  batch=batch, dtype=dtype)



# --- import (issue 12) -----------------------------------------------------------------------

def load_source(source):
    """A spec (path, zoo:NAME, -) or a model imported in memory (torchvision:NAME,
    file.py:Name, package.module:Name); the import's notes go to stderr."""
    from .sources import is_model_source
    from .spec import load

    if not is_model_source(source):  # told from the text: a spec never loads the importer
        return load(source)
    from .backends.importer import load_model

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

    from .backends.importer import import_model, parse_args
    from .engine import analyze
    from .spec import parse

    path = output_path(out, force) if out is not None else None
    imported = import_model(source, input_volume=input_, args=parse_args(args))
    report = analyze(parse(imported.text, source), explain=False)
    for note in imported.notes:
        click.echo(f"cnncalc: note: {note}", err=True)
    if path is None:
        click.echo(imported.text, nl=False)
    else:
        write_output(path, imported.text)
    t = report.totals
    where = f"wrote {out}: " if path is not None else ""
    click.echo(f"{where}{report.name}: {len(report.layers)} layers, {t.params:,} params, "
               f"{t.macs:,} MACs; " + ("PyTorch's totals (expect:) hold" if report.claims_ok
                                       else "a PyTorch total differs: cnncalc check shows it"),
               err=True)
    sys.exit(EXIT_OK if report.claims_ok else EXIT_CHECK_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
