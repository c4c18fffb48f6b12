"""`cnncalc import`: how long it takes, and every torchvision classification CNN checked.

Run in the torchvision environment (the README's second test command makes it):

    .tv-venv/bin/python benchmarks/bench_import.py            # timing + every model, verified
    .tv-venv/bin/python benchmarks/bench_import.py --no-verify
    .tv-venv/bin/python benchmarks/bench_import.py resnet50 inception_v3

Part 1 times ``import_model("torchvision:resnet50")`` after ``import torch`` in this process,
against a baseline run here too: building torchvision's resnet50 on the CPU (weights=None), the
least a hook-based tool must do before it can count anything.  Part 2 imports each model at its
documented resolution and prints one markdown row: params against torchvision's documented
``num_params``, MACs against its GFLOPS (to the digits it gives; Inception v3's auxiliary head,
which its eval-mode figure leaves out, is subtracted), and, unless ``--no-verify``, cnncalc's
verify of the imported spec (built and run in PyTorch on the CPU, or ``--device cuda``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

t0 = time.perf_counter()
import torch  # noqa: E402

TORCH_S = time.perf_counter() - t0


def part1(rounds: int) -> None:
    t = time.perf_counter()
    import torchvision  # noqa: F401  (pulls in torch._dynamo: paid once per process)
    from torchvision import models

    torchvision_s = time.perf_counter() - t
    from cnncalc.backends.importer import import_model

    first = time.perf_counter()
    import_model("torchvision:resnet50")
    first = time.perf_counter() - first
    ours, base = [], []
    for _ in range(rounds):  # interleaved, so both see the same machine load
        t = time.perf_counter()
        import_model("torchvision:resnet50")
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models.resnet50(weights=None)
        base.append(time.perf_counter() - t)
    m_ours, m_base = statistics.median(ours), statistics.median(base)
    print(f"import torch: {TORCH_S:.2f} s; import torchvision (after torch): {torchvision_s:.2f} s")
    print()
    print("| step (resnet50) | median s | ratio to baseline |")
    print("|---|---:|---:|")
    print(f"| baseline: torchvision.models.resnet50(weights=None) on the CPU | {m_base:.3f} | 1.00 |")
    print(f"| import_model('torchvision:resnet50'), first call | {first:.3f} | "
          f"{first / m_base:.2f} |")
    print(f"| import_model('torchvision:resnet50'), median of {rounds} | {m_ours:.3f} | "
          f"{m_ours / m_base:.2f} |")
    print()
    print(f"first call after import torch, torchvision's own import included: "
          f"{torchvision_s + first:.2f} s (goal: under 1 s for the import itself: "
          f"{'met' if first < 1 else 'NOT met'})")
    print()


def part2(names: list[str], verify: bool, device: str) -> bool:
    from torchvision import models

    import cnncalc
    from cnncalc.backends.importer import import_model

    args = {"googlenet": {"aux_logits": False}}
    print("| model | input | layers | params | documented | MACs (G) | GFLOPS | verify | "
          "import s |")
    print("|---|---|---:|---:|:-:|---:|---:|:-:|---:|")
    all_ok = True
    for name in names:
        weights = models.get_model_weights(name).DEFAULT
        meta, crop = weights.meta, weights.transforms().crop_size[0]
        t = time.perf_counter()
        imported = import_model(f"torchvision:{name}", args=args.get(name))
        seconds = time.perf_counter() - t
        spec = cnncalc.load(imported.text)
        report = cnncalc.analyze(spec, explain=False)
        aux = sum(r.counts.macs for r in report.layers if r.name.startswith("AuxLogits."))
        digits = len(repr(meta["_ops"]).split(".")[1])
        macs_ok = round((report.totals.macs - aux) / 1e9, digits) == round(meta["_ops"], digits)
        params_ok = report.totals.params == meta["num_params"]
        checked = "—"
        if verify:
            result = cnncalc.verify(spec, device=device, iters=0)
            checked = "✓" if result.ok else "✗"
            all_ok &= result.ok
            del result
        all_ok &= params_ok and macs_ok and report.claims_ok
        print(f"| {name} | {crop}² | {len(report.layers)} | {report.totals.params:,} | "
              f"{'✓' if params_ok else '✗'} | {(report.totals.macs - aux) / 1e9:.3f} | "
              f"{meta['_ops']} {'✓' if macs_ok else '✗'} | {checked} | {seconds:.2f} |",
              flush=True)
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="torchvision model names (default: every CNN)")
    parser.add_argument("--no-verify", action="store_true", help="Skip building the specs.")
    parser.add_argument("--device", default="cpu", help="Where verify runs (cpu, cuda).")
    parser.add_argument("--rounds", type=int, default=5, help="Timed rounds in part 1.")
    args = parser.parse_args()
    part1(args.rounds)
    from torchvision import models

    names = args.names or [n for n in models.list_models(module=models)
                           if not n.startswith(("vit_", "swin_", "maxvit_"))]
    ok = part2(names, not args.no_verify, args.device)
    print()
    print("every row ✓" if ok else "some row ✗")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
