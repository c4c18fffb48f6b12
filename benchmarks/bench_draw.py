"""`cnncalc draw zoo:resnet50` end to end, against `cnncalc inspect zoo:resnet50` run in the
same command as the baseline (the goal: draw under 0.5 s).

Each row is the median wall time of N fresh processes:
  python -c pass                        the interpreter alone
  cnncalc inspect zoo:resnet50          the baseline: load, analyse, print the table
  cnncalc draw zoo:resnet50             load, analyse, lay out, write the SVG
  cnncalc report zoo:resnet50           the same picture inside the HTML page
  cnncalc draw zoo:densenet121          a larger tree (121 layers, 58 merges)
Run: python benchmarks/bench_draw.py [N]
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
GOAL = 0.5  # seconds for `cnncalc draw zoo:resnet50`


def cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds; CPU time is what a busy shared machine distorts least."""
    walls, cpus = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), cpu()
        done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, check=False)
        walls.append(time.perf_counter() - start)
        cpus.append(cpu() - start_cpu)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}")
    return statistics.median(walls), statistics.median(cpus)


def main(runs: int = 11) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        cases = [
            ("python -c pass", [PY, "-c", "pass"]),
            ("cnncalc inspect zoo:resnet50", [PY, "-m", "cnncalc", "inspect", "zoo:resnet50"]),
            ("cnncalc draw zoo:resnet50", [PY, "-m", "cnncalc", "draw", "zoo:resnet50", "-o",
                                           str(out / "r50.svg"), "--force"]),
            ("cnncalc report zoo:resnet50", [PY, "-m", "cnncalc", "report", "zoo:resnet50",
                                             "-o", str(out / "r50.html"), "--force"]),
            ("cnncalc draw zoo:densenet121", [PY, "-m", "cnncalc", "draw", "zoo:densenet121",
                                              "-o", str(out / "d121.svg"), "--force"]),
        ]
        results = [(label, *timed(cmd, runs)) for label, cmd in cases]
    base_wall, base_cpu = results[1][1], results[1][2]
    table = Table(title=f"draw end to end, median of {runs} processes")
    for col in ("command", "wall s", "× inspect", "CPU s", "× inspect "):
        table.add_column(col, justify="right" if col != "command" else "left")
    for label, w, c in results:
        table.add_row(label, f"{w:.3f}", f"{w / base_wall:.2f}", f"{c:.3f}", f"{c / base_cpu:.2f}")
    console = Console()
    console.print(table)
    _, draw_wall, draw_cpu = results[2]
    verdict = "meets" if draw_wall < GOAL else "misses"
    console.print(f"draw zoo:resnet50: {draw_wall:.3f} s wall ({draw_cpu:.3f} s CPU), {verdict} "
                  f"the {GOAL} s goal")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 11)
