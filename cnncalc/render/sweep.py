"""``cnncalc sweep``'s output: the summary, the causes of impossible points, the front and the
variants that pass, as a table, JSON (one object) or CSV (one row per passing variant)."""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from fractions import Fraction
from typing import Any, Iterator

from ..expr import show
from ..sweep import DEFAULT_SHOWN, FIELDS, Result


def shown_fields(result: Result) -> list[str]:
    """The figures a view shows: params, macs, activations, then those --where and --pareto
    read."""
    out = list(DEFAULT_SHOWN)
    for o in result.objectives:
        if o.field not in out:
            out.append(o.field)
    if result.where:
        import re

        for word in re.findall(r"[A-Za-z_]\w*", result.where):
            if word in FIELDS and word not in out:
                out.append(word)
    return out


def _number(v: Any) -> Any:
    """A value for JSON: an int, a decimal as a float whose text is that decimal, else the
    fraction's text."""
    if isinstance(v, bool):
        return v
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return v.numerator
        text = show(v)
        return float(text) if "/" not in text else text
    return v


def point(result: Result, i: int, fields: list[str], columns: dict) -> dict[str, Any]:
    out = {a.name: _number(a.values[int(result.grid[i, k])]) for k, a in enumerate(result.axes)}
    for f in fields:
        out[f] = _number(columns[f][i])
    return out


def _columns(result: Result, fields: list[str]) -> dict:
    return {f: result.field(f) for f in fields}


def summary(result: Result) -> dict[str, Any]:
    return {
        "evaluated": result.evaluated,
        "sampled": result.sampled,
        "impossible": {"points": result.impossible,
                       "causes": [{"cause": c, "points": n} for c, n in result.cause_counts()]},
        "filtered": result.filtered,
        "passed": int(result.passed.sum()),
    }


def to_json(result: Result, limit: int | None = None) -> Iterator[str]:
    from .document import iter_dumps

    fields = shown_fields(result)
    columns = _columns(result, fields)
    passed = result.passed.nonzero()[0]
    doc = {
        "spec": result.spec_name,
        "params": [{"name": a.name, "values": len(a.values)} for a in result.axes],
        "where": result.where,
        "pareto": [o.label for o in result.objectives],
        "batch": result.batch, "dtype": result.dtype, "amp": result.amp,
        "optimizer": result.optimizer,
        **summary(result),
        "front": [point(result, int(i), fields, columns) for i in result.front],
        "variants": (point(result, int(i), fields, columns) for i in
                     (passed if limit is None else passed[:limit])),
    }
    return iter_dumps(doc)


def to_csv(result: Result) -> Iterator[str]:
    fields = shown_fields(result)
    columns = _columns(result, fields)
    on_front = set(int(i) for i in result.front)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([a.name for a in result.axes] + fields + (["front"] if result.objectives
                                                              else []))
    for n, i in enumerate(result.passed.nonzero()[0]):
        row = point(result, int(i), fields, columns)
        writer.writerow(list(row.values()) + (["yes" if int(i) in on_front else ""]
                                              if result.objectives else []))
        if n % 10000 == 9999:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _cell(v: Any) -> str:
    v = _number(v)
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def table(result: Result, console, limit: int = 20) -> None:
    from rich.table import Table

    s = summary(result)
    how = "sampled" if result.sampled else "on the grid"
    console.print(f"[bold]{result.spec_name}[/bold]: {s['evaluated']:,} points {how} "
                  f"({' × '.join(f'{a.name} {len(a.values)}' for a in result.axes)})")
    console.print(f"  impossible  {s['impossible']['points']:,}")
    for c in s["impossible"]["causes"]:
        console.print(f"    {c['points']:>10,}  {c['cause']}", markup=False, highlight=False)
    if result.where:
        console.print(f"  filtered    {s['filtered']:,} (--where {result.where})",
                      markup=False, highlight=False)
    console.print(f"  pass        {s['passed']:,}")
    fields = shown_fields(result)
    columns = _columns(result, fields)
    if result.objectives:
        n = len(result.front)
        rows, title = result.front, (f"Pareto front ({', '.join(o.label for o in result.objectives)}"
                                     f"): {n:,} point{'s' if n != 1 else ''}")
    else:
        rows, title = result.passed.nonzero()[0], f"Variants that pass: {s['passed']:,}"
    t = Table(title=title, title_justify="left")
    for a in result.axes:
        t.add_column(a.name, justify="right")
    for f in fields:
        t.add_column(f, justify="right")
    for i in rows[:limit]:
        p = point(result, int(i), fields, columns)
        t.add_row(*(_cell(v) for v in p.values()))
    console.print(t)
    if len(rows) > limit:
        console.print(f"{len(rows) - limit:,} more: --limit N shows more, --format json or csv "
                      f"lists every one")


@contextmanager
def progress_bar(console):
    """A progress callback drawing a bar on ``console`` (a terminal), or None without one."""
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console,
                   transient=True)
    task = bar.add_task("sweep", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def write(result: Result, fmt: str, limit: int, console, echo) -> None:
    """The result in ``fmt`` on standard output."""
    if fmt == "json":
        for piece in to_json(result):
            echo(piece, nl=False)
        echo()
    elif fmt == "csv":
        for piece in to_csv(result):
            echo(piece, nl=False)
    else:
        table(result, console, limit)
