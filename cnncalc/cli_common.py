"""What the commands share: their options (``--format``, ``--set``, ``--ignore``, the memory
options, a model SOURCE's ``--input`` and ``--arg``), error handling (:func:`guarded`), writing
``-o`` files and loading a SOURCE."""

from __future__ import annotations

import functools
import sys

import click

from .errors import EXIT_BAD_INPUT, CnncalcError, UsageError
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


def parse_codes(ctx, param, value: str | None) -> frozenset[str]:
    """``--ignore CN101,CN104``: known diagnostic codes, any case; a near miss is suggested."""
    from .layers import closest
    from .codes import CODES

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


# --- a model SOURCE's --input and --arg ---------------------------------------------------

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


# --- a SOURCE: a spec, or a PyTorch model (issue 12) --------------------------------------

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


# --- reading a file -----------------------------------------------------------------------

def read_text(file: str) -> str:
    from .errors import Issue, Location, SpecError

    try:
        with open(file, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(Issue(Location(file), f"cannot read: {getattr(e, 'strerror', None) or e}"))
