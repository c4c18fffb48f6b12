"""The engine on generated conv stacks of 1,000 / 10,000 / 100,000 layers.

Prints a table: layers, seconds, µs per layer, and the ratio of time per layer to the
1,000-layer run (≈1 means the time grows linearly); then the same from YAML text, for the
conv/bn/relu stack and for the conv-only stack that bench_inspect.py runs through the CLI.
Run: python benchmarks/bench_engine.py [SIZES…]

Why the engine alone looked 6× faster than inside the CLI (issue 9): its stack is one conv in
three (bn and relu cost a few µs), its three layer objects are shared by every row and it keeps
the best of three runs, so a conv's arithmetic was worked out once; a parsed conv-only spec
made a new object per line, and inspect's one run paid all of it, timed on a shared machine.
The engine now works out each (layer, input) once, and the parser shares equal layers.
"""

from __future__ import annotations

import statistics
import sys
import time

from rich.console import Console
from rich.table import Table

from cnncalc.engine import analyze
from cnncalc.errors import Location
from cnncalc.layers import REGISTRY
from cnncalc.network import Leaf, Spec
from cnncalc.formulas import Shape


def conv_stack(n: int) -> Spec:
    """conv 3×3 pad 1 → bn → relu, repeated: shape-preserving, so any depth is valid."""
    here = Location("<generated>", 1, 1)
    conv = REGISTRY["conv"]({"filters": 16, "size": (3, 3), "stride": (1, 1), "pad": (1, 1),
                             "dilation": (1, 1), "groups": 1, "depthwise": False, "bias": False,
                             "connections": None})
    bn = REGISTRY["bn"]({"eps": 1e-5, "affine": True})
    relu = REGISTRY["relu"]({})
    kinds = [("conv", conv), ("bn", bn), ("relu", relu)]
    leaves = tuple(Leaf(layer, f"{key}{i // 3 + 1}", here)
                   for i, (key, layer) in ((i, kinds[i % 3]) for i in range(n)))
    return Spec(f"stack{n}", Shape(16, 32, 32), leaves)


def best_of(fn, repeats: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times) if repeats > 1 else statistics.median(times)


def main(sizes=(1_000, 10_000, 100_000)) -> None:
    table = Table(title="cnncalc engine on conv stacks (best of 3; 100,000: 1 run)")
    for col in ("layers", "with formulas (s)", "µs/layer", "ratio to 1,000",
                "no formulas (s)", "µs/layer "):
        table.add_column(col, justify="right")
    base = None
    for n in sizes:
        spec = conv_stack(n)
        repeats = 3 if n <= 10_000 else 1
        full = best_of(lambda: analyze(spec), repeats)
        bare = best_of(lambda: analyze(spec, explain=False), repeats)
        per = full / n * 1e6
        base = base or per
        table.add_row(f"{n:,}", f"{full:.3f}", f"{per:.1f}", f"{per / base:.2f}",
                      f"{bare:.3f}", f"{bare / n * 1e6:.1f}")
    Console(width=max(Console().width, 120)).print(table)

    # The same stacks from YAML text: what a user's file costs, parsing included.  The
    # conv-only stack is the one bench_inspect.py runs end to end; the engine's first run
    # on a parsed spec is what inspect pays (every row's facts are new to it).
    from cnncalc.spec import parse

    yaml_table = Table(title="from YAML text: parse + analyze (first run; best of 3)")
    for col in ("stack", "layers", "parse (s)", "analyze, first (s)", "analyze, best (s)",
                "total µs/layer"):
        yaml_table.add_column(col, justify="right")
    stacks = {"conv/bn/relu": "  - conv: {filters: 16, size: 3, pad: 1, bias: false}\n"
                              "  - bn\n  - relu\n",
              "conv only": "  - conv: {filters: 16, size: 3, pad: 1}\n"}
    for label, body in stacks.items():
        per = body.count("\n  - ") + 1
        for n in sizes[:2]:
            text = "input: 32x32x16\nlayers:\n" + body * (n // per)
            load = best_of(lambda: parse(text), 3)
            spec = parse(text)
            start = time.perf_counter()
            analyze(spec)
            first = time.perf_counter() - start
            run = best_of(lambda: analyze(spec), 3)
            yaml_table.add_row(label, f"{n // per * per:,}", f"{load:.3f}", f"{first:.3f}",
                               f"{run:.3f}", f"{(load + first) / n * 1e6:.1f}")
    Console(width=max(Console().width, 120)).print(yaml_table)


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (1_000, 10_000, 100_000))
