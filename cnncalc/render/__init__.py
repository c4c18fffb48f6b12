"""Everything a person or a program reads, one module per audience.  The core never prints.

The report formats, one report for four readers:

    table.py      the table in a terminal (``inspect``'s default): rich's look, drawn here
    document.py   the JSON document: the contract the README documents; ``dumps`` and
                  ``iter_dumps`` write it (and every command's JSON), one layer a line
    markdown.py   Markdown, for notes and READMEs
    csv_rows.py   CSV, one row per leaf, for spreadsheets
    common.py     what they share: the totals lines, grouped diagnostics, RF and formula text

The command views, one command each: ``check.py``, ``calc.py`` (conv, pool, pad), ``apply.py``,
``lint.py``, ``zoo.py``, ``layers.py``, ``verify.py`` (verify's table, summary and JSON), and
``input_sizes.py`` (symbolic reports, ``--at``, ``sizes`` and ``solve``).  ``terminal.py`` is
the console they print on (no padding spaces in a pipe).  How a number or a counted noun is written is
:mod:`cnncalc.formatting`, shared with the core's formula text and error messages.

rich is imported inside the functions that draw with it, so that ``--format json`` and the API
never pay for it.  The report formats are importable from here: ``render.to_json(report)``.
"""

from __future__ import annotations

from .document import SCHEMA_VERSION, dumps, iter_dumps, to_json, to_json_stream


def __getattr__(name: str):
    """The table, CSV and Markdown are imported when asked for: ``--format json`` never pays
    for them.  (``table`` names a module and its function: until the module is imported some
    other way, this gives the function; the CLI imports it from ``render.table``.)"""
    if name == "table":
        from .table import table
        globals()["table"] = table
        return table
    if name == "to_csv":
        from .csv_rows import to_csv
        return to_csv
    if name == "to_markdown":
        from .markdown import to_markdown
        return to_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SCHEMA_VERSION", "dumps", "iter_dumps", "table", "to_csv", "to_json",
           "to_json_stream", "to_markdown"]
