"""The command line: click commands only.  Each parses options, calls one core function and
hands the result to :mod:`cnncalc.render`.

Exit codes are :mod:`cnncalc.exit_codes`'s: 0 all good; 1 a check failed (a wrong ``expect``, a
verify mismatch, a warning under ``--strict``); 2 bad input or usage.  A traceback only with
``--debug``.  Over several files, the worst.

This module is the group, :func:`main` (the ``cnncalc`` entry point).  The commands live by
family in ``cli_network`` (one network: inspect, fit, verify, check, lint, sweep, import, …),
``cli_calc`` (the one-off calculators and ``apply``), ``cli_picture`` (``draw``, ``report``) and
``cli_exercises`` (``exercises``, ``grade``); what they share (options, error handling, ``-o``
files, loading a SOURCE) in ``cli_common``.  :data:`COMMANDS` names them; a command's module
is imported when it runs, or when ``--help`` lists them all.
"""

from __future__ import annotations

import gc
import importlib

import click

from . import __version__

# Each command by name, and where it lives: `cnncalc inspect` never builds the calculators'
# options (issue 16: start-up).
COMMANDS = {
    "inspect": "cli_network:inspect", "layers": "cli_network:layers", "zoo": "cli_network:zoo",
    "fit": "cli_network:fit_cmd", "verify": "cli_network:verify_cmd",
    "export": "cli_network:export_cmd", "check": "cli_network:check",
    "conv": "cli_calc:conv", "pool": "cli_calc:pool", "deconv": "cli_calc:deconv",
    "fc": "cli_calc:fc", "pad": "cli_calc:pad", "solve": "cli_calc:solve_cmd",
    "sizes": "cli_calc:sizes_cmd", "apply": "cli_calc:apply", "lint": "cli_network:lint",
    "schema": "cli_network:schema_cmd", "draw": "cli_picture:draw_cmd",
    "report": "cli_picture:report_cmd", "sweep": "cli_network:sweep_cmd",
    "import": "cli_network:import_cmd", "exercises": "cli_exercises:exercises_cmd",
    "grade": "cli_exercises:grade_cmd",
}


class LazyGroup(click.Group):
    """click's group, with :data:`COMMANDS` imported on demand (click's documented pattern
    for lazily loaded subcommands)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
def main(debug: bool) -> None:
    """Layer shapes, parameter counts, MACs, memory and receptive fields of CNNs.

    Start with:  cnncalc inspect specs/lenet5.yaml
    """


def run() -> None:
    """The ``cnncalc`` program (``python -m cnncalc`` too): :func:`main`, then the process ends
    without walking every object it made once more.  Python's exit ends in a garbage collection
    over all of them (a tenth of ``inspect``'s start-up); ``gc.freeze`` leaves them to the
    exit's own clean-up, which Python never promised more of (``__del__`` of objects still in a
    cycle at exit is not guaranteed to run)."""
    try:
        main(prog_name="cnncalc")
    finally:
        gc.freeze()


# the helpers that lived here before the split, for code that imports them from cnncalc.cli
_REEXPORTED = {
    "cli_common": ("FORMATS", "MODEL_OPTIONS", "console", "echo_error", "fail", "format_option",
                   "given_params", "guarded", "ignore_option", "load_source", "memory_options",
                   "option_name", "output_path", "parse_codes", "read_text", "set_option",
                   "source_options", "write_output"),
    "cli_network": ("inspect_symbolic", "parse_at"),
    "cli_picture": ("STYLES", "picture_path", "write_picture"),
}


def __getattr__(name: str):
    """A command (``cnncalc.cli.fit_cmd``) or a re-exported helper, imported when asked for."""
    places = [where.split(":")[0] for where in COMMANDS.values() if where.endswith(f":{name}")]
    places += [module for module, names in _REEXPORTED.items() if name in names]
    if not places:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__package__}.{places[0]}"), name)


if __name__ == "__main__":  # pragma: no cover
    main()
