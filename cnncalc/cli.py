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
    """A rich console for standard output (or error): :func:`cnncalc.render.terminal.console`."""
    from .render.terminal import console as make

    return make(stderr)


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


def set_option(fn):
    """``--set NAME=VALUE,…``: values for the spec's top-level ``params:`` (cnncalc.params)."""
    def remember(ctx, param, value):
        from .params import parse_assignments
        try:
            ctx.meta["cnncalc.set"] = parse_assignments(value)
        except UsageError as e:
            raise click.BadParameter(str(e)) from None

    return click.option("--set", "set_", multiple=True, metavar="NAME=VALUE[,…]",
                        expose_value=False, callback=remember,
                        help="Values for the spec's params: (repeatable), e.g. --set "
                             "width=1.1,res=240.")(fn)


def given_params() -> dict | None:
    """What ``--set`` gave the running command, if it has the option."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get("cnncalc.set") if ctx is not None else None


def format_option(choices=FORMATS):
    return click.option("--format", "fmt", type=click.Choice(choices), default="table",
                        show_default=True, help="Output format.")


# --- memory options (cnncalc.memory) --------------------------------------------------------

def memory_options(fn):
    """``--batch``, ``--dtype``, ``--amp`` and ``--optimizer``: what the memory figures assume."""
    fn = click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
                      default="adam", show_default=True,
                      help="The optimizer of the training step (its state and temporaries).")(fn)
    fn = click.option("--amp", type=click.Choice(["bf16", "fp16"]), default=None,
                      help="Mixed precision (torch.autocast): fp32 weights, grads and state; "
                           "conv/linear in this type.")(fn)
    fn = click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32",
                      show_default=True, help="Element type of the model, input and "
                                              "optimizer state.")(fn)
    return click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Batch size for the memory estimates.")(fn)


# --- inspect ------------------------------------------------------------------------------

MODEL_OPTIONS = "cnncalc.model_options"  # where source_options leaves --input and --arg


def source_options(fn):
    """``--input`` and ``--arg`` for a command whose SOURCE may be a PyTorch model, as
    ``cnncalc import`` takes them; :func:`load_source` reads them."""
    @functools.wraps(fn)
    def wrapper(*args, model_input=None, model_args=(), **kwargs):
        click.get_current_context().meta[MODEL_OPTIONS] = (model_input, tuple(model_args))
        return fn(*args, **kwargs)

    wrapper = click.option("--arg", "model_args", multiple=True, metavar="KEY=VALUE",
                           help="For a PyTorch model SOURCE: an argument for its class or "
                                "factory (repeatable), as cnncalc import takes it.")(wrapper)
    return click.option("--input", "model_input", metavar="WxHxD",
                        help="For a PyTorch model SOURCE: the input volume to trace it at, "
                             "as cnncalc import takes it.")(wrapper)


@main.command()
@click.argument("files", nargs=-1, required=True)
@format_option()
@click.option("--formulas", is_flag=True, help="Add the formula column (numbers substituted).")
@memory_options
@click.option("--memory", "memory_columns", is_flag=True,
              help="Add each layer's bytes kept for backward (Saved) and alive after it in "
                   "inference (Live) to the table and Markdown.")
@click.option("--strict", is_flag=True,
              help="Non-whole output sizes are errors (exit 2); other warnings exit 1.")
@click.option("--depth", type=click.IntRange(min=0), default=1, show_default=True,
              help="Fold nested blocks below this depth in the table.")
@click.option("--expand", is_flag=True, help="Show every nested row (same as a large --depth).")
@click.option("--at", "at", help="Input sizes to evaluate every count at, e.g. 224,320,512 "
                                 "(or 224x320: W×H); H and W become symbols.")
@ignore_option
@source_options
@set_option
@guarded
def inspect(files, fmt, formulas, batch, dtype, amp, optimizer, memory_columns, strict, depth,
            expand, at, ignore):
    """Every layer's output volume, params, MACs and receptive field, then totals and memory.

    FILE is a spec path, zoo:NAME (see `cnncalc zoo`), - for standard input, or a PyTorch
    model (torchvision:NAME, file.py:Name: see import; --input, --arg).  With
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
            report = analyze(spec, strict=strict, batch=batch, dtype=dtype, ignore=ignore,
                             amp=amp, optimizer=optimizer)
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
            click.echo(render.to_markdown(report, formulas=formulas, depth=depth,
                                          memory=memory_columns))
        else:
            console().print(render.table(report, formulas=formulas, depth=depth,
                                         memory=memory_columns))
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


# --- fit ---

@main.command("fit")
@click.argument("source")
@click.option("--memory", "memory", help="The card's memory: 24GiB, 80GB, 512MiB.")
@click.option("--gpu", help="A card from cnncalc's table (t4, v100-16, v100-32, rtx3090, "
                            "rtx4090, l4, a100-40, a100-80, h100, h200).")
@click.option("--train", is_flag=True, help="Fit one training step (default: inference).")
@click.option("--dtype", type=click.Choice([d.value for d in Dtype]), default="fp32",
              show_default=True, help="Element type of the model, input and optimizer state.")
@click.option("--amp", type=click.Choice(["bf16", "fp16"]), default=None,
              help="Mixed precision (torch.autocast).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
              default="adam", show_default=True, help="The training step's optimizer.")
@click.option("--checkpoint", is_flag=True,
              help="Checkpoint each top-level block (with --train): the memory saved and the "
                   "MACs run again.")
@format_option(("table", "json"))
@guarded
def fit_cmd(source, memory, gpu, train, dtype, amp, optimizer, checkpoint, fmt):
    """The largest batch whose memory peak fits a card (--memory or --gpu), the peak at that
    batch and at one more, beside a stated reserve for the CUDA context."""
    from .fit import fit, gpu_memory, parse_memory
    from .memory import estimate
    from .render import fit as view
    from .render.document import dumps
    from .wording import size_bytes

    if (memory is None) == (gpu is None):
        raise UsageError("give the card's memory (--memory 24GiB) or a card (--gpu a100-80)",
                         param="--memory")
    if checkpoint and not train:
        raise UsageError("--checkpoint is about training: add --train", param="--checkpoint")
    if gpu is not None:
        name, size, source_of = gpu_memory(gpu)
        card = f"{name}: {size_bytes(size)} ({source_of})"
    else:
        size = parse_memory(memory)
        card = f"{size_bytes(size)} (--memory {memory})"
    spec = load_source(source)
    result = fit(spec, size, train=train, dtype=dtype, amp=amp, optimizer=optimizer,
                 checkpoint=checkpoint)
    baseline = None
    if checkpoint and result.batch:
        baseline = estimate(spec, batch=result.batch, dtype=dtype, amp=amp, optimizer=optimizer)
    if fmt == "json":
        click.echo(dumps(view.fit_json(result, card, baseline)))
    else:
        for label, text in view.fit_lines(result, card, baseline):
            click.echo(f"{label:<16}{text}")
    sys.exit(0 if result.batch else 1)


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
@click.option("--memory/--no-memory", default=True, show_default=True,
              help="Measure the forward pass's peak memory on its own, beside the estimate "
                   "(on the CPU: the fake-tensor tracker's figure for a GPU).")
@click.option("--train", is_flag=True, help="Also measure one training step (the second, so "
                                            "the optimizer's state exists).")
@click.option("--optimizer", type=click.Choice(["sgd", "momentum", "adam", "adamw"]),
              default="adam", show_default=True, help="The optimizer of --train.")
@click.option("--amp", type=click.Choice(["bf16", "fp16"]), default=None,
              help="Mixed precision for the memory figures: fp32 weights, autocast forward.")
@format_option(("table", "json"))
@source_options
@set_option
@guarded
def verify_cmd(file, device, batch, dtype, channels_last, compile_, warmup, iters, per_layer,
               memory, train, optimizer, amp, fmt):
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
                                iters=iters, per_layer=per_layer, progress=progress,
                                memory=memory, train=train, optimizer=optimizer, amp=amp)
    if fmt == "json":
        from .render.document import dumps

        click.echo(dumps(view.to_json(result)))
    else:
        out = console()
        out.print(view.checks_table(result, out.width))
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
@set_option
@guarded
def export_cmd(file, target, out, force):
    """Write FILE as a standalone Python file defining `class Net(nn.Module)` (torch only)."""

    from .backends.export import to_python
    from .spec import load

    path = output_path(out, force) if out is not None else None
    code = to_python(load(file, params=given_params()), file)
    if path is None:
        click.echo(code, nl=False)
        return
    write_output(path, code)
    click.echo(f"wrote {out}: class Net, {target}", err=True)


# --- homework commands ---

@main.command()
@click.argument("files", nargs=-1, required=True)
@format_option(("table", "json"))
@source_options
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
@source_options
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
    from .shapes import symbolic_shape, volume_text

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


@main.command("report")
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



# --- sweep (issue 18) ------------------------------------------------------------------------

@main.command("sweep")
@click.argument("file")
@click.option("--vary", "vary", multiple=True, metavar="NAME=LO..HI/STEP|a,b,c",
              help="A param's values (repeatable: every combination is a point).")
@click.option("--sample", type=int, metavar="N", help="N points drawn from the ranges "
                                                       "instead of every combination.")
@click.option("--seed", type=int, default=0, show_default=True, help="--sample's seed.")
@click.option("--where", metavar="CONDITION",
              help="Keep the points where it holds, e.g. 'params <= 5e6 and macs < 6e8'.")
@click.option("--pareto", metavar="FIELD,FIELD[,…]",
              help="The front over these figures, each minimised (max:FIELD maximises).")
@memory_options
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes (concurrent.futures), or a Dask LocalCluster's workers.")
@click.option("--backend", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="dask: a Dask cluster (the dask extra).")
@click.option("--scheduler", metavar="ADDRESS",
              help="--backend dask: the scheduler's address (default: a LocalCluster).")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Rows in the table.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False),
              help="Draw every evaluated point and the front into this SVG file.")
@format_option(("table", "json", "csv"))
@set_option
@guarded
def sweep_cmd(file, vary, sample, seed, where, pareto, batch, dtype, amp, optimizer, jobs,
              backend, scheduler, limit, plot, fmt):
    """Every combination of the spec's params (or a sample), its counts, which meet a budget
    (--where) and which no other beats (--pareto).  FILE is a spec with params:."""
    from . import sweep
    from .render import sweep as view

    axes = tuple(sweep.parse_vary(v) for v in vary)
    objectives = sweep.parse_pareto(pareto) if pareto else ()
    with view.progress_bar(console(stderr=True) if sys.stderr.isatty() else None) as progress:
        result = sweep.run(file, axes, where=where, pareto=objectives, sample=sample, seed=seed,
                           batch=batch, dtype=dtype, amp=amp, optimizer=optimizer,
                           jobs=jobs, progress=progress,
                           fixed=given_params(), backend=backend, scheduler=scheduler)
    if plot is not None:
        from .picture.sweep_plot import plot_svg

        write_output(output_path(plot, True), plot_svg(result))
    view.write(result, fmt, limit, console(), click.echo)


# --- import (issue 12) -----------------------------------------------------------------------

def load_source(source):
    """A spec (path, zoo:NAME, -) or a model imported in memory (torchvision:NAME,
    file.py:Name, package.module:Name) with the command's ``--input`` and ``--arg``; the
    import's notes go to stderr."""
    from .sources import is_model_source
    from .spec import load

    ctx = click.get_current_context(silent=True)
    model_input, model_args = ctx.meta.get(MODEL_OPTIONS, (None, ())) if ctx else (None, ())
    if not is_model_source(source):
        if model_input is not None or model_args:
            given = "--input" if model_input is not None else "--arg"
            raise UsageError(f"{given} is for a PyTorch model SOURCE (torchvision:NAME, "
                             f"file.py:Name, package.module:Name); {source} is a spec, whose "
                             f"input is its input: line")
        return load(source, params=given_params())  # a spec never loads the importer
    from .backends.importer import load_model, parse_args

    spec, notes = load_model(source, input_volume=model_input, args=parse_args(model_args))
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

# --- class worksheets (cnncalc/exercises) ----------------------------------------------------

def read_text(file: str) -> str:
    from .errors import Issue, Location, SpecError

    try:
        with open(file, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(Issue(Location(file), f"cannot read: {getattr(e, 'strerror', None) or e}"))


@main.command("exercises")
@click.option("--topics", default="all", show_default=True,
              help="Comma-separated topics, in order (cnncalc exercises --list names them).")
@click.option("--count", type=click.IntRange(1, 200), default=None,
              help="Questions per sheet (default: one per topic).")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True,
              help="With the student id, fixes every number: the same seed gives the same sheets.")
@click.option("--students", "students_file", metavar="FILE",
              help="One student id a line: one sheet each, with its own numbers.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--out", "-o", "out", metavar="DIR|FILE.html",
              help="A folder (a sheet per student, key.html, key.json) or FILE.html (all "
                   "sheets in one document, FILE.key.html, FILE.key.json).")
@click.option("--list", "list_topics", is_flag=True, help="List the topics and exit.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@guarded
def exercises_cmd(topics, count, level, seed, students_file, lang, out, list_topics, force):
    """Printable worksheets for a class: different numbers for every student, an answer key
    (HTML and JSON) with each answer's worked formula.  Grade the answers with cnncalc grade."""
    import os

    from .exercises.generate import key_json, make_sheets, parse_topics, read_students
    from .exercises.sheet import documents
    from .exercises.topics import TITLES

    if list_topics:
        for name, (en, zh) in TITLES.items():
            click.echo(f"{name:16} {en} / {zh}")
        return
    if out is None:
        raise UsageError("say where to write the sheets: --out DIR or --out FILE.html",
                         param="out")
    chosen = parse_topics(topics)
    students = read_students(read_text(students_file), students_file) if students_file \
        else ["1"]
    sheets = make_sheets(seed, students, chosen, count, level)
    files = documents(out, sheets, lang, seed, level, key_json(sheets, seed, level, chosen))
    paths = [output_path(path, force) for path, _ in files]
    if not out.lower().endswith((".html", ".htm")):
        os.makedirs(out, exist_ok=True)
    for path, (_, text) in zip(paths, files):
        write_output(path, text)
    click.echo(f"wrote {len(sheets)} sheet{'s' if len(sheets) != 1 else ''} of "
               f"{len(sheets[0].questions)} questions and the key: "
               + ", ".join(p for p, _ in (files if len(files) <= 3 else files[-2:])), err=True)


@main.command("grade")
@click.argument("answers_file", metavar="ANSWERS")
@click.option("--key", "key_file", required=True, metavar="KEY",
              help="The key.json that cnncalc exercises wrote.")
@click.option("--csv", "csv_out", metavar="FILE",
              help="Write a grade book: one row per student, a column per question.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--force", is_flag=True, help="Overwrite the --csv file.")
@guarded
def grade_cmd(answers_file, key_file, csv_out, fmt, force):
    """Grade a class's answers (CSV: student,question,answer; or YAML) against the key:
    right or wrong, the worked formula, the likely slip, a score per student.  Exit 0 when
    everything was graded, 2 on a malformed line (FILE:LINE:COL)."""
    import json

    from .exercises.grade import grade, grades_json, gradebook_csv, read_answers, read_key

    path = output_path(csv_out, force) if csv_out is not None else None
    key = read_key(read_text(key_file), key_file)
    grades = grade(read_answers(read_text(answers_file), answers_file, key), key)
    if path is not None:
        write_output(path, gradebook_csv(grades))
    if fmt == "json":
        click.echo(json.dumps(grades_json(grades), ensure_ascii=False))
    else:
        from .render.grade import grade_view

        console().print(grade_view(grades))


if __name__ == "__main__":  # pragma: no cover
    main()
