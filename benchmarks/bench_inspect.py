"""`cnncalc inspect` end to end, the path the user runs: start-up, then very large specs.

Every figure is a fresh process (parse, engine and output together), as a user runs it.

Part 1, start-up (median of N processes, the commands interleaved round by round), against the
libraries' import in the same run:
  python -c pass                     the interpreter alone
  import click, rich, yaml           the libraries inspect needs (the baseline: rich.console
                                     and rich.table, which the table draws with)
  cnncalc inspect specs/lenet5.yaml  the command people type first
  cnncalc inspect … --format json    without drawing a table
  bare import click, rich, yaml      the packages alone (rich's __init__, not its console)
  inspect zoo:lenet5 --format json   issue 16's goal: within 1.5× of the bare import
  import torch                       what inspect must never pay (only if torch is installed)
The goal line gives the ratio of CPU seconds (and of wall seconds).  With --instructions,
valgrind counts the instructions of the goal's two commands: a figure that a shared machine's
load does not move.  Then `python -X importtime` checks that neither torch nor the importer
(``cnncalc.backends.importer``: a spec is told from a model by its text) is imported on the
table's path.

Part 2, size: a flat stack of ``conv: {filters: 16, size: 3, pad: 1}`` of 1,000 / 10,000 /
100,000 layers as JSON, Markdown and the table, with ResNet-50 beside them; the 1,000-layer
stack is the baseline, run in the same command.  Each row gives the median wall and CPU time
(user + system: what a shared machine distorts least) and the peak resident memory; "per layer
× 1k" is the CPU time per layer against the 1,000-layer stack of the same format (≈ 1: linear).

Processes run as from a wheel install: bytecode is written (``PYTHONDONTWRITEBYTECODE`` unset),
to a fresh ``PYTHONPYCACHEPREFIX``, and one untimed run fills it first.  The table is drawn at
``COLUMNS=120`` into a pipe.

Run: python benchmarks/bench_inspect.py [--runs N] [--sizes 1000,10000,100000]
                                        [--formats json,markdown,table] [--part startup|size|all]
                                        [--instructions]
"""

from __future__ import annotations

import argparse
import os
import shutil
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
LAYER = "  - conv: {filters: 16, size: 3, pad: 1}\n"
# The goals (whole process, wall seconds; MiB of peak memory).
GOALS = {(10_000, "json"): 0.7, (10_000, "table"): 2.0, (100_000, "json"): 6.0}
MEMORY_GOAL = {(100_000, "json"): 300}
SLOW = 60.0  # a case whose first run takes longer than this is not repeated
STARTUP_GOAL = 1.5  # inspect's JSON against a bare import of its libraries (issue 16)


def environment(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=cache, PYTHONPATH=str(ROOT), COLUMNS="120")
    return env


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak resident MiB of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.strip()[-400:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float, int]:
    """Medians of wall, CPU and peak memory, and how many runs they are of."""
    samples = [run_once(cmd, env)]
    while len(samples) < runs and samples[0][0] < SLOW:
        samples.append(run_once(cmd, env))
    wall, cpu, peak = (statistics.median(s[i] for s in samples) for i in range(3))
    return wall, cpu, peak, len(samples)


def startup(env: dict[str, str], runs: int, console: Console, instructions: bool) -> None:
    cases = [
        ("python -c pass", [PY, "-c", "pass"]),
        ("import click, rich, yaml", [PY, "-c", "import click, rich.console, rich.table, yaml"]),
        ("cnncalc inspect specs/lenet5.yaml",
         [PY, "-m", "cnncalc", "inspect", "specs/lenet5.yaml"]),
        ("cnncalc inspect … --format json",
         [PY, "-m", "cnncalc", "inspect", "specs/lenet5.yaml", "--format", "json"]),
        ("bare import click, rich, yaml", [PY, "-c", "import click, rich, yaml"]),
        ("inspect zoo:lenet5 --format json",
         [PY, "-m", "cnncalc", "inspect", "zoo:lenet5", "--format", "json"]),
    ]
    import importlib.util
    if importlib.util.find_spec("torch") is not None:
        cases.append(("import torch", [PY, "-c", "import torch"]))
    for _, cmd in cases:
        run_once(cmd, env)  # fill the bytecode cache, as installing a wheel does
    # Interleaved: each round runs every command once, so a burst of load on a shared machine
    # falls on all of them alike, and the ratios stay fair; torch, slow, runs 3 times after.
    quick = [(label, cmd) for label, cmd in cases if "torch" not in label]
    samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in cases}
    for _ in range(runs):
        for label, cmd in quick:
            samples[label].append(run_once(cmd, env))
    results = [(label, *(statistics.median(s[i] for s in samples[label]) for i in range(2)))
               if "torch" not in label else (label, *measure(cmd, env, 3)[:2])
               for label, cmd in cases]
    base_wall, base_cpu = results[1][1], results[1][2]
    table = Table(title=f"inspect start-up, median of {runs} processes")
    for col in ("command", "wall s", "× import", "CPU s", "× import "):
        table.add_column(col, justify="right" if col != "command" else "left")
    for label, wall, cpu in results:
        table.add_row(label, f"{wall:.3f}", f"{wall / base_wall:.2f}", f"{cpu:.3f}",
                      f"{cpu / base_cpu:.2f}")
    console.print(table)
    by = {label: (wall, cpu) for label, wall, cpu in results}
    (bare_wall, bare_cpu), (json_wall, json_cpu) = (by["bare import click, rich, yaml"],
                                                    by["inspect zoo:lenet5 --format json"])
    ratio = json_cpu / bare_cpu
    console.print(f"goal (issue 16): inspect zoo:lenet5 --format json within {STARTUP_GOAL}× "
                  f"of a bare import click, rich, yaml: {ratio:.2f}× in CPU time "
                  f"({json_wall / bare_wall:.2f}× in wall time): "
                  f"{'met' if ratio <= STARTUP_GOAL else 'MISSED'}")
    if instructions:
        count_instructions(env, console)
    trace = subprocess.run([PY, "-X", "importtime", "-m", "cnncalc", "inspect",
                            "specs/lenet5.yaml"], cwd=ROOT, env=env, capture_output=True,
                           text=True)
    modules = {line.split("|")[-1].strip() for line in trace.stderr.splitlines()
               if line.startswith("import time:")}
    torchy = sorted(m for m in modules if m == "torch" or m.startswith("torch."))
    console.print(f"modules imported by inspect: {len(modules)}; torch among them: "
                  f"{'YES: ' + ', '.join(torchy[:5]) if torchy else 'no'}; the importer: "
                  f"{'YES' if 'cnncalc.backends.importer' in modules else 'no'}")


def count_instructions(env: dict[str, str], console: Console) -> None:
    """The goal's two commands under valgrind: instructions executed, which the load of a shared
    machine does not change (CPU time does, by 10% and more)."""
    if shutil.which("valgrind") is None:
        console.print("instructions: valgrind is not installed")
        return
    counts = {}
    for label, code in (("bare import click, rich, yaml", ["-c", "import click, rich, yaml"]),
                        ("inspect zoo:lenet5 --format json",
                         ["-m", "cnncalc", "inspect", "zoo:lenet5", "--format", "json"])):
        proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                               PY, *code], cwd=ROOT, env=dict(env, PYTHONHASHSEED="0"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        counts[label] = int(proc.stderr.rsplit("Collected :", 1)[1].split()[0])
    (bare, n_bare), (_, n_json) = counts.items()
    console.print(f"instructions (valgrind): {bare} {n_bare / 1e6:,.0f} M; inspect zoo:lenet5 "
                  f"--format json {n_json / 1e6:,.0f} M: {n_json / n_bare:.2f}×")


def stack_text(n: int) -> str:
    return f"name: stack{n}\ninput: 32x32x16\nlayers:\n" + LAYER * n


def size(env: dict[str, str], runs: int, sizes: list[int], formats: list[str],
         folder: Path, console: Console) -> None:
    cases: list[tuple[str, int, str, list[str]]] = []
    for fmt in formats:
        cases.append(("zoo:resnet50", 0, fmt, [PY, "-m", "cnncalc", "inspect", "zoo:resnet50",
                                               "--format", fmt]))
    for n in sizes:
        path = folder / f"stack{n}.yaml"
        path.write_text(stack_text(n))
        for fmt in formats:
            cases.append((f"stack of {n:,}", n, fmt,
                          [PY, "-m", "cnncalc", "inspect", str(path), "--format", fmt]))
    run_once(cases[0][3], env)  # fill the bytecode cache
    table = Table(title=f"cnncalc inspect end to end, median of {runs} processes "
                        f"(one above {SLOW:.0f} s)")
    for col in ("spec", "format", "wall s", "CPU s", "peak MiB", "CPU µs/layer",
                "per layer × 1k", "goal"):
        table.add_column(col, justify="left" if col in ("spec", "format") else "right")
    base: dict[str, float] = {}
    for label, n, fmt, cmd in cases:
        wall, cpu, peak, done = measure(cmd, env, runs)
        per = cpu / n * 1e6 if n else None
        if n and fmt not in base:
            base[fmt] = per  # the smallest stack of each format is the baseline
        goal = ""
        if (n, fmt) in GOALS:
            limit = GOALS[(n, fmt)]
            goal = f"< {limit} s: {'met' if wall < limit else 'MISSED'}"
        if (n, fmt) in MEMORY_GOAL:
            limit = MEMORY_GOAL[(n, fmt)]
            goal += f"; < {limit} MiB: {'met' if peak < limit else 'MISSED'}"
        runs_note = "" if done == runs else f" ({done} run)"
        table.add_row(label + runs_note, fmt, f"{wall:.3f}", f"{cpu:.3f}", f"{peak:.0f}",
                      f"{per:.1f}" if per else "", f"{per / base[fmt]:.2f}" if per else "",
                      goal)
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--formats", default="json,markdown,table")
    ap.add_argument("--part", choices=("startup", "size", "all"), default="all")
    ap.add_argument("--instructions", action="store_true",
                    help="also count the start-up goal's instructions under valgrind")
    args = ap.parse_args()
    console = Console(width=max(Console().width, 150))  # a wide table, also into a file
    console.print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
                  f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        env = environment(str(Path(folder) / "pycache"))
        if args.part in ("startup", "all"):
            startup(env, max(args.runs, 9), console, args.instructions)
        if args.part in ("size", "all"):
            size(env, args.runs, [int(s) for s in args.sizes.split(",")],
                 args.formats.split(","), Path(folder), console)


if __name__ == "__main__":
    main()
