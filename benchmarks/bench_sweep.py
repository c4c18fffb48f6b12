"""cnncalc sweep's points per second, beside running ``cnncalc inspect --set`` once per point.

A benchmark, not a test: ``python benchmarks/bench_sweep.py [--small]``.  The sweep is the
parametric ResNet-50 (``zoo:resnet50_scaled``) over the grid docs/sweep.md times:
width 0.5..2.0/0.125 × depth 0.5..2.0/0.25 × res 64..512/4 × aspect 1..2/0.01 = 1,038,583
points, with a --where and a --pareto.  Times are CPU seconds (``time.process_time`` for the
sweep in this process; children's user + system time for the inspect processes), since the
machine is shared; the inspect figure is measured on a small random sample of the points and
expressed per point.  ``--small`` sweeps a 1/100 grid, for a quick look.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time

from cnncalc import sweep
from cnncalc.engine import analyze
from cnncalc.expr import show
from cnncalc.params import parse_assignments
from cnncalc.spec import load

SPEC = "zoo:resnet50_scaled"
GRID = ("width=0.5..2.0/0.125", "depth=0.5..2.0/0.25", "res=64..512/4", "aspect=1..2/0.01")
SMALL = ("width=0.5..2.0/0.5", "depth=0.5..2.0/0.5", "res=64..512/16", "aspect=1..2/0.1")
WHERE = "params <= 25e6 and macs <= 4e9 and rf >= in_h"
PARETO = "macs,max:params"


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a 1/100 grid")
    parser.add_argument("--inspect-points", type=int, default=8,
                        help="points run through `cnncalc inspect` (one process each)")
    args = parser.parse_args(argv)
    axes = tuple(sweep.parse_vary(v) for v in (SMALL if args.small else GRID))
    n = sweep.count_points(axes)

    start = time.process_time()
    result = sweep.run(SPEC, axes, where=WHERE, pareto=sweep.parse_pareto(PARETO))
    sweep_cpu = time.process_time() - start

    rng = random.Random(18)
    points = [rng.randrange(result.evaluated) for _ in range(args.inspect_points)]
    settings = [",".join(f"{a.name}={show(a.values[int(result.grid[i, k])])}"
                         for k, a in enumerate(result.axes)) for i in points]

    start = time.process_time()
    for s in settings:
        analyze(load(SPEC, params=parse_assignments([s])), explain=False)
    engine_cpu = (time.process_time() - start) / len(settings)

    before = children_cpu()
    env = dict(os.environ)
    for s in settings:
        subprocess.run([sys.executable, "-m", "cnncalc", "inspect", SPEC, "--set", s,
                        "--format", "json"], check=True, stdout=subprocess.DEVNULL, env=env)
    inspect_cpu = (children_cpu() - before) / len(settings)

    rows = [("cnncalc sweep (closed forms, numpy)", n, sweep_cpu, n / sweep_cpu),
            ("load + analyze in process, per point", len(settings), engine_cpu * len(settings),
             1 / engine_cpu),
            ("cnncalc inspect --set, one process per point", len(settings),
             inspect_cpu * len(settings), 1 / inspect_cpu)]
    print(f"{SPEC}: {n:,} points ({' × '.join(GRID if not args.small else SMALL)}); "
          f"--where '{WHERE}' --pareto {PARETO}: {int(result.passed.sum()):,} pass, "
          f"{len(result.front)} on the front")
    print()
    print(f"| {'method':<46} | {'points':>9} | {'CPU s':>8} | {'points/s':>10} | "
          f"{'10⁶ points':>12} |")
    print(f"|{'-' * 48}|{'-' * 10}:|{'-' * 9}:|{'-' * 11}:|{'-' * 13}:|")
    for name, count, cpu, rate in rows:
        million = 1e6 / rate
        span = f"{million:,.0f} s" if million < 3600 * 2 else f"{million / 3600:,.0f} h"
        print(f"| {name:<46} | {count:>9,} | {cpu:>8.2f} | {rate:>10,.0f} | {span:>12} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
