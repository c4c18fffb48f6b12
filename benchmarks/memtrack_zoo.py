"""The fake-tensor tracker's figures for every bundled spec (docs/memory-tracker.md's table).

    PYTHONPATH=. python benchmarks/memtrack_zoo.py [--batch 64] [--dtype fp32 bf16]
        [--optimizer adam] [--device cuda] [--format markdown|json] [--estimate] [NAME ...]

``--estimate`` sets the torch-free model's figures (cnncalc.memory.estimate) beside the
tracker's, with their difference: docs/memory.md's "Estimate against the tracker" table.

Bytes are rounded as the CUDA caching allocator rounds (512 B); ``--device cuda`` (the
default) emulates a GPU's behaviour on fake CPU tensors (see cnncalc/backends/memtrack.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import cnncalc
from cnncalc.backends.memtrack import track_spec
from cnncalc.sources import bundled_names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--dtype", nargs="+", default=["fp32", "bf16"])
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--format", default="markdown", choices=["markdown", "json"])
    ap.add_argument("--estimate", action="store_true",
                    help="the model's figures beside the tracker's (markdown)")
    a = ap.parse_args(argv)
    names = a.names or bundled_names()
    rows = []
    for name in names:
        spec = cnncalc.load(f"zoo:{name}")
        for dtype in a.dtype:
            t0 = time.process_time()
            r = track_spec(spec, batch=a.batch, dtype=dtype, optimizer=a.optimizer,
                           device=a.device)
            rows.append(dict(name=name, batch=a.batch, dtype=dtype, optimizer=a.optimizer,
                             device=a.device, inference_peak=r.inference_peak,
                             training_peak=r.training_peak, phase=r.training_peak_phase,
                             weights=r.weights, gradients=r.gradients,
                             optimizer_state=r.optimizer_state, saved=r.saved,
                             cpu_s=round(time.process_time() - t0, 2)))
            if a.estimate:
                from cnncalc.memory import estimate

                e = estimate(spec, batch=a.batch, dtype=dtype, optimizer=a.optimizer)

                def delta(ours: int, theirs: int) -> str:
                    return f"{(ours - theirs) / theirs:+.4%}"

                print(f"| {name} | {dtype} | {e.inference_peak:,} | {r.inference_peak:,} | "
                      f"{delta(e.inference_peak, r.inference_peak)} | {e.training_peak:,} | "
                      f"{r.training_peak:,} | {delta(e.training_peak, r.training_peak)} |",
                      flush=True)
            elif a.format == "markdown":
                row = rows[-1]
                print(f"| {name} | {dtype} | {row['inference_peak']:,} | {row['training_peak']:,} "
                      f"| {row['saved']:,} | {row['phase']} |", flush=True)
    if a.format == "json":
        json.dump(rows, sys.stdout, indent=1)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
