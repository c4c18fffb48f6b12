"""Does verify's timing loop distort what it measures?  And how long does a verify take?

1. On one module and device, verify's timing function (``time_forward``, with a progress
   callback as the CLI passes) against a bare loop timed with the same clock, interleaved in
   rounds so drift hits both alike; prints each median and the ratio (goal: within 3%).
2. The wall time of ``cnncalc verify zoo:resnet18 --batch 1 --iters 5 --device cpu`` as a
   user runs it (a fresh process: torch import, build, check, timing; goal: under 10 s).

Run:  python benchmarks/bench_verify.py [--spec zoo:resnet18] [--device cpu] [--iters 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch
from rich.console import Console
from rich.table import Table

import cnncalc
from cnncalc.backends import torch as backend
from cnncalc.zoo import names


def bare_loop(model, x, iters: int, device) -> list[float]:
    """The plainest timing: the same clock, nothing else in the loop."""
    times = []
    with torch.inference_mode():
        if device.type == "cuda":
            for _ in range(iters):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
        else:
            for _ in range(iters):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1e3)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    default = "zoo:resnet18" if "resnet18" in names() else "zoo:resnet_mini"
    ap.add_argument("--spec", default=default)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    torch.manual_seed(0)
    device = backend.resolve_device(args.device)
    spec = cnncalc.load(args.spec)
    model, _, _ = backend.build(spec)
    model = model.eval().to(device)
    x = torch.randn(args.batch, *spec.input_shape.dims(), device=device)
    bare_loop(model, x, 5, device)  # warm-up for both

    ticks = []
    bare, verify = [], []
    for _ in range(args.rounds):
        bare += bare_loop(model, x, args.iters, device)
        t = backend.time_forward(model, x, warmup=1, iters=args.iters,
                                 progress=lambda done, total: ticks.append(done))
        verify += list(t.times_ms)
    mb, mv = statistics.median(bare), statistics.median(verify)

    table = Table(title=f"verify's timing loop against a bare loop: {spec.name}, {device}, "
                        f"batch {args.batch}, {args.rounds}×{args.iters} passes each",
                  title_justify="left")
    for col in ("loop", "median ms", "p10 ms", "p90 ms"):
        table.add_column(col, justify="right" if col != "loop" else "left")
    for label, ts in (("bare", bare), ("verify (time_forward)", verify)):
        table.add_row(label, f"{statistics.median(ts):.3f}",
                      f"{backend.percentile(ts, 10):.3f}", f"{backend.percentile(ts, 90):.3f}")
    console = Console()
    console.print(table)
    ratio = mv / mb
    console.print(f"ratio verify/bare = {ratio:.4f} ({(ratio - 1) * 100:+.2f}%; goal within ±3%)")

    cmd = [sys.executable, "-m", "cnncalc", "verify", args.spec, "--batch", "1", "--iters", "5",
           "--device", "cpu"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    console.print(f"`cnncalc verify {args.spec} --batch 1 --iters 5 --device cpu`: "
                  f"{wall:.2f} s wall, exit {r.returncode} (goal under 10 s)")


if __name__ == "__main__":
    main()
