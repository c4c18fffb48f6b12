"""What does counting MACs cost verify's check pass?

For every bundled spec: the check pass as verify runs it (``observe``: hooks on every leaf and
PyTorch's ``FlopCounterMode`` around the forward pass) against the same hooked pass without
the counter, interleaved in rounds so drift hits both alike.  CPU time of this process
(``time.process_time``) on one intra-op thread, so engineers sharing the machine do not move
the figures; prints each median and the ratio.

Run:  python benchmarks/bench_verify_counts.py [--rounds 3] [--spec zoo:NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.backends import torch as backend  # noqa: E402
from cnncalc.zoo import names  # noqa: E402


def hooked_pass(model, leaves, x) -> None:
    """The check pass without the counter: the shape hooks alone."""
    seen = {}

    def post(module, args, out):
        seen[leaves[module]] = list(out.shape[1:])

    handles = [m.register_forward_hook(post) for m in leaves]
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()


def cpu_ms(fn) -> float:
    t0 = time.process_time()
    fn()
    return (time.process_time() - t0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--spec", nargs="*", default=[f"zoo:{n}" for n in names()])
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    table = Table(title="check pass, CPU ms (median of rounds), batch 1, fp32, 1 thread",
                  title_justify="left")
    for col in ("spec", "hooks only", "hooks + FlopCounterMode", "ratio"):
        table.add_column(col, justify="left" if col == "spec" else "right")
    total_plain = total_counted = 0.0
    for source in args.spec:
        spec = cnncalc.load(source)
        model, leaves, _ = backend.build(spec)
        model.eval()
        x = backend.example_input(spec, 1, torch.device("cpu"), torch.float32, False)
        hooked_pass(model, leaves, x)  # warm-up: first-call allocations out of the figures
        plain, counted = [], []
        for _ in range(args.rounds):
            plain.append(cpu_ms(lambda: hooked_pass(model, leaves, x)))
            counted.append(cpu_ms(lambda: backend.observe(model, leaves, x)))
        p, c = statistics.median(plain), statistics.median(counted)
        total_plain, total_counted = total_plain + p, total_counted + c
        table.add_row(source, f"{p:.1f}", f"{c:.1f}", f"{c / p:.2f}")
    table.add_row("all", f"{total_plain:.1f}", f"{total_counted:.1f}",
                  f"{total_counted / total_plain:.2f}", end_section=True)
    Console().print(table)


if __name__ == "__main__":
    main()
