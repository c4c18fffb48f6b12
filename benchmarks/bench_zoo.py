"""Engine time of every bundled spec: load (YAML → tree) and analyze (the walk), in ms.

A benchmark, not a test: run ``python benchmarks/bench_zoo.py [--repeat N]``.  The budget is
50 ms of engine time (load + analyze, formulas included, as `cnncalc inspect` does) per spec;
a row over it is marked.  The best of N runs is reported, as timeit advises.
"""

from __future__ import annotations

import argparse
import sys
import time

from cnncalc import zoo
from cnncalc.engine import analyze
from cnncalc.spec import load

BUDGET_MS = 50.0


def best_ms(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def measure(name: str, repeat: int) -> tuple[int, float, float]:
    spec = load(f"zoo:{name}")
    report = analyze(spec)
    load_ms = best_ms(lambda: load(f"zoo:{name}"), repeat)
    analyze_ms = best_ms(lambda: analyze(spec), repeat)
    return len(report.rows), load_ms, analyze_ms


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per spec (best is kept)")
    args = parser.parse_args(argv)
    header = f"{'spec':<16}{'rows':>6}{'load ms':>10}{'analyze ms':>12}{'total ms':>10}  budget"
    print(header)
    print("-" * len(header))
    over = 0
    for name in zoo.names():
        rows, load_ms, analyze_ms = measure(name, args.repeat)
        total = load_ms + analyze_ms
        ok = total < BUDGET_MS
        over += not ok
        print(f"{name:<16}{rows:>6}{load_ms:>10.2f}{analyze_ms:>12.2f}{total:>10.2f}  "
              f"{'ok' if ok else f'OVER {BUDGET_MS:.0f} ms'}")
    print(f"\nPython {sys.version.split()[0]}; best of {args.repeat} runs; budget "
          f"{BUDGET_MS:.0f} ms per spec; {over} over")
    return 0


if __name__ == "__main__":
    sys.exit(main())
