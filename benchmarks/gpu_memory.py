"""Memory of every bundled spec: measured on a GPU, the fake-tensor tracker, the estimate.

Run by benchmarks/gpu_check.sh (issue 15):

    python benchmarks/gpu_memory.py tracker OUT.json [--batch 64]   # CPU only: meta tensors
    python benchmarks/gpu_memory.py gpu OUT.json [--batch 64]       # max_memory_allocated
    python benchmarks/gpu_memory.py table GPU.json TRACKER.json     # the Markdown table

``gpu`` measures, per spec, the inference peak and the second Adam step's peak in fp32 with
``torch.cuda.max_memory_allocated`` (cnncalc/backends/memcheck.py: a fresh model, nothing else
on the device), and records cnncalc's estimate where ``cnncalc.memory`` exists.  ``tracker``
runs the tracker with CUDA emulated on meta tensors, exactly as on a machine without a
GPU, so the table compares the figures the tests hold with the card's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import cnncalc
from cnncalc.sources import bundled_names


def tracker(out: str, batch: int, names: list[str]) -> None:
    from cnncalc.backends.memtrack import track_spec

    rows = {}
    for name in names:
        t0 = time.process_time()
        try:
            r = track_spec(cnncalc.load(f"zoo:{name}"), batch=batch, optimizer="adam",
                           emulate=True)
            rows[name] = {"inference": r.inference_peak, "training": r.training_peak,
                          "cpu_s": round(time.process_time() - t0, 2)}
        except Exception as e:  # one spec must not hide the others
            rows[name] = {"error": f"{type(e).__name__}: {e}"}
        with open(out, "w") as f:  # written as it goes: a cut-off run keeps what it has
            json.dump(rows, f, indent=1)


def gpu(out: str, batch: int, names: list[str]) -> None:
    import torch

    from cnncalc.backends.memcheck import measure

    rows = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            inference, training = measure(cnncalc.load(f"zoo:{name}"),
                                          device=torch.device("cuda"), batch=batch,
                                          dtype="fp32", optimizer="adam", train=True)
            rows[name] = {"inference": inference.measured, "training": training.measured,
                          "estimate_inference": inference.estimate,
                          "estimate_training": training.estimate,
                          "estimate_note": inference.estimate_note,
                          "s": round(time.perf_counter() - t0, 2)}
        except Exception as e:
            rows[name] = {"error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
            torch.cuda.empty_cache()
        print(f"  {name:<20} {rows[name]}", flush=True)
        with open(out, "w") as f:
            json.dump(rows, f, indent=1)


def _size(n) -> str:
    from cnncalc.formatting import size_bytes

    return "—" if n is None else size_bytes(n)


def _ratio(a, b) -> str:
    return "—" if a is None or not b else f"{a / b:.3f}"


def table(gpu_json: str, tracker_json: str, batch: int) -> None:
    measured = json.load(open(gpu_json))
    tracked = json.load(open(tracker_json))
    print(f"Memory at batch {batch}, fp32 (ratio = figure / the GPU's max_memory_allocated):")
    print()
    print("| spec | GPU inference | tracker | ratio | estimate | ratio | GPU Adam step | "
          "tracker | ratio | estimate | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in sorted(set(measured) | set(tracked)):
        m, t = measured.get(name, {}), tracked.get(name, {})
        if "error" in m or "error" in t or not m or not t:
            print(f"| {name} | {m.get('error') or t.get('error') or 'missing'} |"
                  + " |" * 10)
            continue
        cells = []
        for mode in ("inference", "training"):
            gpu_b, est = m[mode], m.get(f"estimate_{mode}")
            cells += [_size(gpu_b), _size(t[mode]), _ratio(t[mode], gpu_b), _size(est),
                      _ratio(est, gpu_b)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    note = next((m.get("estimate_note") for m in measured.values() if m.get("estimate_note")),
                "")
    if note:
        print(f"\n{note}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["tracker", "gpu", "table"])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--only", nargs="*", default=None, help="these zoo names (default: all)")
    a = ap.parse_args(argv)
    names = a.only or bundled_names()
    if a.what == "tracker":
        tracker(a.files[0], a.batch, names)
    elif a.what == "gpu":
        gpu(a.files[0], a.batch, names)
    else:
        table(a.files[0], a.files[1], a.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
