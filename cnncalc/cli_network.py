"""The commands on one network: ``inspect``, ``layers``, ``zoo``, ``fit``, ``verify``,
``export``, ``check``, ``lint``, ``schema``, ``sweep`` and ``import`` (:mod:`cnncalc.cli`
registers them)."""

from __future__ import annotations

import sys

import click

from .cli_common import (console, echo_error, guarded, ignore_option, output_path, write_output,
                         set_option, given_params, format_option, memory_options, source_options,
                         load_source)
from .errors import EXIT_CHECK_FAILED, EXIT_OK, AnalysisError, CnncalcError, UsageError
from .report import Dtype

# --- inspect ------------------------------------------------------------------------------

@click.command()
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
    from .exit_codes import inspect_status
    from .formulas import symbolic_shape
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
            from .render.table import table
            console().print(table(report, formulas=formulas, depth=depth,
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
    from .render import input_sizes as render_sizes
    from .input_sizes import inspect_symbolic as run

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

@click.command()
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

@click.command()
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

@click.command("fit")
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
    from .formatting import size_bytes

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

@click.command("verify")
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
    from .exit_codes import verify_status
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


@click.command("export")
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

@click.command()
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
    from .exit_codes import check_status
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


@click.command()
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
    from .exit_codes import lint_status
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


@click.command("schema")
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


# --- sweep (issue 18) ------------------------------------------------------------------------

@click.command("sweep")
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

@click.command("import")
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
@click.option("--exact", is_flag=True,
              help="Refuse an op with no kind instead of writing a traced layer for it.")
@guarded
def import_cmd(source, out, input_, args, force, exact):
    """Turn a PyTorch model into a spec: SOURCE is torchvision:NAME (weights=None),
    path/to/file.py:Name or package.module:Name (a class or a factory).

    Needs the torch extra (torchvision for torchvision:NAME).  inspect, check, lint and
    verify take the same SOURCE directly.
    """

    from .backends.importer import import_model, parse_args
    from .engine import analyze
    from .spec import parse

    path = output_path(out, force) if out is not None else None
    imported = import_model(source, input_volume=input_, args=parse_args(args),
                            traced=not exact)
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
