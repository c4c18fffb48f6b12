"""What a CUDA forward pass allocates beyond its tensors, operator by operator (issue 15).

On the H200, ResNet-50 at batch 256 in bf16 inference peaked at 1,566,983,680 B where the
estimate and the fake-tensor tracker give 1,464,222,720 B: 102,760,960 B more, one
256×64×56×56 bf16 tensor (102,760,448 B) + 512 B.  In fp32 the gap is 1 MiB.  The candidate
(docs/memory.md, "The bf16 gap"): a cuDNN convolution's workspace, which PyTorch takes from
the caching allocator for the duration of the call (``run_conv_plan`` in
aten/src/ATen/native/cudnn/Conv_v8.cpp), so ``max_memory_allocated`` counts it, while no
operator output shows it; its size is whatever engine cuDNN's heuristics pick for the card,
type and shapes.  This script settles it in one run:

    python benchmarks/gpu_memory_gap.py OUT.json [--batch 256] [--spec resnet50]

For each variant (bf16, fp32, bf16 with cuDNN off, bf16 channels-last; each pass run twice,
cold then with cuDNN's plans cached), a ``TorchDispatchMode`` reads the allocator around
every operator: ``memory_allocated`` before, the peak during (``reset_peak_memory_stats``
before it, ``max_memory_allocated`` after) and ``memory_allocated`` after.  What the
operator held beyond its outputs (``peak - after``) is its hidden allocation: a workspace or
a temporary.  The summary names the operator at the pass's peak, its layer, and every
operator that hid 1 MiB or more, with that size over its input's and its output's bytes (a
workspace of one input and one output, as an NCHW→NHWC transform would take, reads 1 and 1).
The whole pass's peak without the dispatch mode is measured too, as issue 15 measured it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass

MiB = 2 ** 20


@dataclass(frozen=True)
class OpRecord:
    layer: str  # the leaf module running ("" outside any)
    op: str
    in_bytes: int  # its first tensor argument's bytes
    out_bytes: int  # its outputs' bytes (after - before, as the allocator counts)
    before: int
    peak: int
    after: int

    @property
    def hidden(self) -> int:
        return max(0, self.peak - max(self.before, self.after))


def summarize(records: list[OpRecord], estimate: int | None = None) -> dict:
    """The pass's peak from the records, where it happens, what was hidden there, and every
    operator that hid 1 MiB or more."""
    if not records:
        return {"peak": 0}
    top = max(records, key=lambda r: r.peak)
    visible = max(max(r.before, r.after) for r in records)
    hidden = [r for r in records if r.hidden >= MiB]
    out = {"peak": top.peak, "peak_without_hidden": visible,
           "at": {"layer": top.layer, "op": top.op, "before": top.before, "after": top.after,
                  "hidden": top.hidden},
           "hidden_ops": [{"layer": r.layer, "op": r.op, "hidden": r.hidden,
                           "over_input": round(r.hidden / r.in_bytes, 4) if r.in_bytes else None,
                           "over_output": round(r.hidden / r.out_bytes, 4)
                           if r.out_bytes > 0 else None,
                           "before": r.before, "peak": r.peak} for r in hidden]}
    if estimate:
        out["estimate"] = estimate
        out["peak_minus_estimate"] = top.peak - estimate
        out["visible_minus_estimate"] = visible - estimate
    return out


def _records(model, x, names):
    import torch
    from torch.utils._pytree import tree_flatten
    from torch.utils._python_dispatch import TorchDispatchMode

    records: list[OpRecord] = []
    stack: list[str] = []

    class PerOp(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            before = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            out = func(*args, **(kwargs or {}))
            peak, after = torch.cuda.max_memory_allocated(), torch.cuda.memory_allocated()
            first = next((a for a in tree_flatten(args)[0] if isinstance(a, torch.Tensor)),
                         None)
            records.append(OpRecord(stack[-1] if stack else "", func.__name__,
                                    first.numel() * first.element_size()
                                    if first is not None else 0,
                                    after - before, before, peak, after))
            return out

    hooks = [h for m, n in names.items() for h in (
        m.register_forward_pre_hook(lambda mod, a, n=n: stack.append(n)),
        m.register_forward_hook(lambda mod, a, o: stack.pop()))]
    try:
        with torch.inference_mode(), PerOp():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return records


def measure(spec_name: str, batch: int, dtype: str, channels_last: bool, cudnn: bool) -> dict:
    import torch

    import cnncalc
    from cnncalc.backends.memtrack import DTYPES
    from cnncalc.backends.torch import build
    from cnncalc.memory import estimate

    spec = cnncalc.load(f"zoo:{spec_name}")
    torch.backends.cudnn.enabled = cudnn
    try:
        model, names, _ = build(spec)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(device="cuda", dtype=DTYPES[dtype], memory_format=fmt).eval()
        x = torch.randn(batch, *spec.input_shape.dims(), device="cuda",
                        dtype=DTYPES[dtype]).contiguous(memory_format=fmt)
        est = estimate(spec, batch=batch, dtype=dtype).inference_peak
        passes = {}
        for which in ("cold", "warm"):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            with torch.inference_mode():
                model(x)
            torch.cuda.synchronize()
            whole = torch.cuda.max_memory_allocated()
            summary = summarize(_records(model, x, names), est)
            passes[which] = {"max_memory_allocated": whole, **summary}
        del model, x
        torch.cuda.empty_cache()
        return {"spec": spec_name, "batch": batch, "dtype": dtype,
                "channels_last": channels_last, "cudnn": cudnn, **passes}
    finally:
        torch.backends.cudnn.enabled = True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--spec", default="resnet50")
    a = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_memory_gap: no CUDA device; nothing measured")
        return 0
    meta = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    rows = []
    for dtype, cl, cudnn in (("bf16", False, True), ("fp32", False, True),
                             ("bf16", False, False), ("bf16", True, True)):
        try:
            rows.append(measure(a.spec, a.batch, dtype, cl, cudnn))
        except Exception as e:  # one variant must not hide the others
            rows.append({"dtype": dtype, "channels_last": cl, "cudnn": cudnn,
                         "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"})
        with open(a.out, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
        r = rows[-1]
        if "error" in r:
            print(f"  {dtype} cl={cl} cudnn={cudnn}: {r['error']}")
            continue
        for which in ("cold", "warm"):
            p = r[which]
            print(f"  {a.spec} b{a.batch} {dtype}{' channels-last' if cl else ''}"
                  f"{' cudnn off' if not cudnn else ''} {which}: max_memory_allocated "
                  f"{p['max_memory_allocated']:,} B, estimate {p.get('estimate', 0):,} B; "
                  f"peak at {p['at']['layer']} {p['at']['op']} hiding {p['at']['hidden']:,} B; "
                  f"{len(p['hidden_ops'])} ops hide ≥ 1 MiB"
                  + "".join(f"\n      {h['layer']} {h['op']}: {h['hidden']:,} B "
                            f"(×{h['over_input']} input, ×{h['over_output']} output)"
                            for h in p["hidden_ops"][:12]), flush=True)
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
