"""What the memory analysis costs (issue 15): its share of `inspect zoo:resnet50`, and its
growth on the engine's generated conv stacks (1,000 / 10,000 / 100,000 layers).

    PYTHONPATH=. python benchmarks/bench_memory.py [--repeats 11]

CPU seconds (``time.process_time``, and a child's rusage for the command as a process: what a
shared machine distorts least), best of the repeats (the 100,000-layer stack: one run).  For
the process figure, set ``PYTHONPYCACHEPREFIX`` and unset ``PYTHONDONTWRITEBYTECODE``, as a
wheel install behaves.  The baseline is measured in the same process:
`inspect` run in-process through click, and the engine's analysis without the memory model.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from click.testing import CliRunner
from rich.console import Console
from rich.table import Table

import cnncalc
from cnncalc.cli import main as cli
from cnncalc.engine import analyze
from cnncalc.memory import estimate

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_engine import best_of, conv_stack  # noqa: E402


def best(fn, repeats: int) -> float:
    """Best CPU seconds of ``repeats`` runs of ``fn``."""
    return best_of(fn, repeats, clock=time.process_time)


def _process(args) -> float:
    """CPU seconds of one `python -m cnncalc ARGS` process (its own and its children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "cnncalc", *args], stdout=subprocess.DEVNULL,
                   check=True, env=os.environ)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=11)
    a = ap.parse_args(argv)
    console = Console()

    spec = cnncalc.load("zoo:resnet50")
    runner = CliRunner()
    inspect = best(lambda: runner.invoke(cli, ["inspect", "zoo:resnet50"]), a.repeats)
    report = analyze(spec, explain=False, memory=False)
    memory = best(lambda: estimate(spec, batch=1, report=report), a.repeats)
    process = min(_process(["inspect", "zoo:resnet50"]) for _ in range(a.repeats))
    t = Table(title="the memory model's share of `inspect zoo:resnet50` (CPU ms, best of "
                    f"{a.repeats})")
    for col in ("memory estimate", "inspect in-process", "share", "the command (a process)",
                "share"):
        t.add_column(col, justify="right")
    t.add_row(f"{memory * 1e3:.2f}", f"{inspect * 1e3:.1f}", f"{memory / inspect:.1%}",
              f"{process * 1e3:.0f}", f"{memory / process:.1%}")
    console.print(t)

    t = Table(title="the memory model on conv stacks (CPU s; 100,000: one run)")
    for col in ("layers", "engine (s)", "memory estimate (s)", "µs/layer", "ratio to 1,000"):
        t.add_column(col, justify="right")
    base = None
    for n in (1_000, 10_000, 100_000):
        stack = conv_stack(n)
        reps = 3 if n < 100_000 else 1
        rep = analyze(stack, explain=False, memory=False)
        engine = best(lambda: analyze(stack, explain=False, memory=False), reps)
        mem = best(lambda: estimate(stack, batch=1, report=rep), reps)
        per = mem / n * 1e6
        base = base or per
        t.add_row(f"{n:,}", f"{engine:.3f}", f"{mem:.3f}", f"{per:.1f}", f"{per / base:.2f}")
    console.print(t)
    return 0


if __name__ == "__main__":
    sys.exit(main())
