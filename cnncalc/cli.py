"""The command line: click commands only.  Each parses options, calls one core function and
hands the result to :mod:`cnncalc.render`.

Exit codes are :mod:`cnncalc.exit_codes`'s: 0 all good; 1 a check failed (a wrong ``expect``, a
verify mismatch, a warning under ``--strict``); 2 bad input or usage.  A traceback only with
``--debug``.  Over several files, the worst.

This module is the group, :func:`main` (the ``cnncalc`` entry point).  The commands live by
family in ``cli_network`` (one network: inspect, fit, verify, check, lint, sweep, import, …),
``cli_calc`` (the one-off calculators and ``apply``), ``cli_picture`` (``draw``, ``report``) and
``cli_exercises`` (``exercises``, ``grade``); what they share (options, error handling, ``-o``
files, loading a SOURCE) in ``cli_common``.  They are added here, in ``--help``'s order.
"""

from __future__ import annotations

import click

from . import __version__
from .cli_calc import apply, conv, deconv, fc, pad, pool, sizes_cmd, solve_cmd
from .cli_common import (FORMATS, MODEL_OPTIONS, console, echo_error, fail, format_option,
                         given_params, guarded, ignore_option, load_source, memory_options,
                         option_name, output_path, parse_codes, read_text, set_option,
                         source_options, write_output)
from .cli_exercises import exercises_cmd, grade_cmd
from .cli_network import (check, export_cmd, fit_cmd, import_cmd, inspect, inspect_symbolic,
                          layers, lint, parse_at, schema_cmd, sweep_cmd, verify_cmd, zoo)
from .cli_picture import STYLES, draw_cmd, picture_path, report_cmd, write_picture


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
def main(debug: bool) -> None:
    """Layer shapes, parameter counts, MACs, memory and receptive fields of CNNs.

    Start with:  cnncalc inspect specs/lenet5.yaml
    """


for _command in (inspect, layers, zoo, fit_cmd, verify_cmd, export_cmd, check,
                 conv, pool, deconv, fc, pad, solve_cmd, sizes_cmd, apply,
                 lint, schema_cmd, draw_cmd, report_cmd, sweep_cmd, import_cmd,
                 exercises_cmd, grade_cmd):
    main.add_command(_command)
del _command

# the helpers that lived here before the split, for code that imports them from cnncalc.cli
_REEXPORTED = (FORMATS, MODEL_OPTIONS, STYLES, console, echo_error, fail, format_option,
               given_params, guarded, ignore_option, load_source, memory_options, option_name,
               output_path, parse_codes, read_text, set_option, source_options, write_output,
               inspect_symbolic, parse_at, picture_path, write_picture)

if __name__ == "__main__":  # pragma: no cover
    main()
