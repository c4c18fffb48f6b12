"""`cnncalc inspect specs/lenet5.yaml` end to end, against baselines run in the same command.

Each row is the median wall time of N fresh processes:
  python -c pass                     the interpreter alone
  import click, rich, yaml           the libraries inspect needs
  cnncalc inspect specs/lenet5.yaml  the command people type first (target: < 0.25 s here)
  cnncalc inspect … --format json    without drawing a table
  import torch                       what inspect must never pay (only if torch is installed)
Then it checks, with `python -X importtime`, that torch is not imported on that path.
Run: python benchmarks/bench_inspect.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CASES = [
    ("python -c pass", [PY, "-c", "pass"]),
    ("import click, rich, yaml", [PY, "-c", "import click, rich.console, rich.table, yaml"]),
    ("cnncalc inspect specs/lenet5.yaml", [PY, "-m", "cnncalc", "inspect", "specs/lenet5.yaml"]),
    ("cnncalc inspect … --format json",
     [PY, "-m", "cnncalc", "inspect", "specs/lenet5.yaml", "--format", "json"]),
]


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(runs: int = 15) -> None:
    cases = list(CASES)
    try:
        import importlib.util
        if importlib.util.find_spec("torch") is not None:
            cases.append(("import torch", [PY, "-c", "import torch"]))
    except ImportError:
        pass
    results = [(label, wall(cmd, runs if "torch" not in label else 3)) for label, cmd in cases]
    base = results[1][1]
    table = Table(title=f"inspect start-up, median of {runs} processes")
    for col in ("command", "seconds", "× the libraries' import"):
        table.add_column(col, justify="right" if col != "command" else "left")
    for label, t in results:
        table.add_row(label, f"{t:.3f}", f"{t / base:.2f}")
    Console().print(table)
    trace = subprocess.run([PY, "-X", "importtime", "-m", "cnncalc", "inspect",
                            "specs/lenet5.yaml"], cwd=ROOT, capture_output=True, text=True)
    modules = {line.split("|")[-1].strip() for line in trace.stderr.splitlines()
               if line.startswith("import time:")}
    torchy = sorted(m for m in modules if m == "torch" or m.startswith("torch."))
    print(f"modules imported by inspect: {len(modules)}; torch among them: "
          f"{'YES: ' + ', '.join(torchy[:5]) if torchy else 'no'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
