"""Symbolic sizes: what they cost `inspect`, and what `sizes` and `inspect --at` take.

1. `cnncalc inspect specs/lenet5.yaml` start-up, this checkout against a baseline commit
   (default: where this branch left main), alternating fresh processes in the same run; and
   the modules each imports (python -X importtime), so a new heavy import shows by name.
2. `cnncalc sizes zoo:NAME` and `inspect zoo:NAME --at 224,320,512` (fresh processes),
   against plain `inspect zoo:NAME` in the same run.

Run: python benchmarks/bench_sizes.py [RUNS] [--baseline REF]
"""

from __future__ import annotations

import argparse
import os
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


def wall(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)
    return time.perf_counter() - start


def clean_env(tree: Path) -> dict:
    """The environment of a run of ``tree``'s cnncalc, bytecode cached as in an install."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def modules(cwd: Path, env: dict) -> set[str]:
    trace = subprocess.run([PY, "-X", "importtime", "-m", "cnncalc", "inspect",
                            "specs/lenet5.yaml"], cwd=cwd, env=env, capture_output=True,
                           text=True)
    return {line.split("|")[-1].strip() for line in trace.stderr.splitlines()
            if line.startswith("import time:")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=15)
    parser.add_argument("--baseline", default=None,
                        help="git ref to compare with (default: git merge-base HEAD main)")
    args = parser.parse_args()
    ref = args.baseline or subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=ROOT,
                                          capture_output=True, text=True).stdout.strip()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(base), ref], cwd=ROOT,
                       check=True)
        try:
            trees = {"baseline": base, "this checkout": ROOT}
            envs = {name: clean_env(tree) for name, tree in trees.items()}
            cmd = [PY, "-m", "cnncalc", "inspect", "specs/lenet5.yaml"]
            for name, tree in trees.items():  # compile once: an installed package has its .pyc
                wall(cmd, tree, envs[name])
            times: dict[str, list[float]] = {name: [] for name in trees}
            for _ in range(args.runs):  # alternate, so that load on the machine hits both
                for name, tree in trees.items():
                    times[name].append(wall(cmd, tree, envs[name]))
            table = Table(title=f"inspect specs/lenet5.yaml start-up, median of {args.runs} "
                                f"processes each, alternating (baseline {ref[:10]})")
            for col in ("tree", "median s", "min s", "× baseline"):
                table.add_column(col, justify="left" if col == "tree" else "right")
            b = statistics.median(times["baseline"])
            for name, ts in times.items():
                table.add_row(name, f"{statistics.median(ts):.3f}", f"{min(ts):.3f}",
                              f"{statistics.median(ts) / b:.2f}")
            console.print(table)
            before, after = (modules(tree, envs[name]) for name, tree in trees.items())
            new = sorted(after - before)
            console.print(f"modules imported by inspect: baseline {len(before)}, this checkout "
                          f"{len(after)}; new: {', '.join(new) or 'none'}; sympy: "
                          f"{'YES' if any(m.startswith('sympy') for m in after) else 'no'}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                           check=False)
    env = clean_env(ROOT)
    table = Table(title=f"sizes and --at, median of {max(args.runs // 3, 3)} processes")
    for col in ("spec", "inspect s", "inspect --at 224,320,512 s", "sizes s", "sizes × inspect"):
        table.add_column(col, justify="left" if col == "spec" else "right")
    n = max(args.runs // 3, 3)
    for name in ("lenet5", "unet", "resnet50", "densenet121"):
        spec = f"zoo:{name}"
        plain = statistics.median(wall([PY, "-m", "cnncalc", "inspect", spec, "--format",
                                        "json"], ROOT, env) for _ in range(n))
        at = statistics.median(wall([PY, "-m", "cnncalc", "inspect", spec, "--at",
                                     "224,320,512", "--format", "json"], ROOT, env)
                               for _ in range(n))
        sizes = statistics.median(wall([PY, "-m", "cnncalc", "sizes", spec, "--exact"], ROOT,
                                       env) for _ in range(n))
        table.add_row(name, f"{plain:.3f}", f"{at:.3f}", f"{sizes:.3f}", f"{sizes / plain:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
