"""How many of timm's CNN architectures ``cnncalc import`` reads exactly, and why the rest not.

Run in the torchvision environment (timm 1.0.31):

    .tv-venv/bin/python benchmarks/timm_census.py [--per-family N] [--all] [--timeout S]
    .tv-venv/bin/python benchmarks/timm_census.py NAME [NAME ...]   # only these models

For each model (``timm.create_model(name, pretrained=False)``, at its ``pretrained_cfg``
input size): ``exact`` when the spec's own counts (cnncalc's formulas) equal PyTorch's params
(``sum(p.numel())``), MACs (``FlopCounterMode`` / 2) and output shape with no note; ``noted``
when they agree but the import says something (a ``torch.export`` trace fixed for that size);
``traced`` when ``import --exact`` refuses it but the import with traced layers (an op with
no kind, its numbers the trace's) agrees, with the reason ``--exact`` gives; ``wrong`` when a
count differs; ``refused`` with the reason, the error's first words grouped.
A family is a timm model module (``resnet``, ``efficientnet``, …); by default N models of each
(the first, the middle and the last name), since the whole list takes long on two cores.
Prints a markdown summary (by family, then by reason) and one line per model.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# timm's model modules that are convolutional networks (no attention blocks, no
# transformers or MLP mixers; hybrids such as byoanet, maxxvit, mobilevit are left out).
CNN_FAMILIES = """byobnet convmixer convnext cspnet densenet dla dpn efficientnet fasternet
ghostnet hardcorenas hgnet hrnet inception_resnet_v2 inception_v3 inception_v4 mobilenetv3
nasnet nfnet pnasnet rdnet regnet repghost repvit res2net resnest resnet resnetv2 rexnet
selecsls senet sknet starnet tresnet vgg vovnet xception xception_aligned""".split()

ACCEPTANCE = """resnet18d seresnext26d_32x4d mobilenetv3_small_100 tf_mobilenetv3_small_100
cspdarknet53 dla46_c hrnet_w18_small_v2 res2next50 ecaresnet26t resnest26d skresnet34 dpn48b
convnext_femto ese_vovnet19b_dw repvgg_a0 mobileone_s1 selecsls60""".split()


class Timeout(Exception):
    pass


def reason(message: str) -> str:
    """An error's kind, without the model's own names: what a user would group by."""
    text = re.sub(r"^timm:[\w.]+: ", "", message)
    text = re.sub(r" \(at [^)]*\)$", "", text)
    if "feeds several later layers" in text:
        return "a tensor merged in two places (needs taps)"
    m = re.search(r"is an? (\w+), which has no cnncalc kind", text)
    if m:
        return f"module {m.group(1)} has no kind"
    m = re.search(r"the (?:call|function) (\w+)\(\), which has no cnncalc kind", text)
    if m:
        return f"{m.group(1)}() has no kind"
    m = re.search(r"^(?:[\w.@]+: )?([a-z][^,;]*?), which has no cnncalc kind", text)
    if m:
        return re.sub(r"\d+", "N", m.group(1))
    return re.sub(r"\d+", "N", text)[:90]


def run(name: str, timeout: int):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import cnncalc
    import timm
    from cnncalc.backends.importer import import_model
    from cnncalc.layers import REGISTRY

    def alarm(*_):
        raise Timeout()

    signal.signal(signal.SIGALRM, alarm)
    signal.alarm(timeout)
    start = time.process_time()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = timm.create_model(name, pretrained=False).eval()
            c, h, w = model.pretrained_cfg["input_size"]
            with FlopCounterMode(display=False) as counter, torch.no_grad():
                out = model(torch.zeros(1, c, h, w))
            truth = (sum(p.numel() for p in model.parameters()),
                     counter.get_total_flops() // 2, list(out.shape[1:]))
            del model
            traced = ""
            try:
                imported = import_model(f"timm:{name}", traced=False)
            except Timeout:
                raise
            except Exception as e:  # noqa: BLE001 - no kind for an op: try with traced layers
                traced = reason(str(e).splitlines()[0] if str(e) else type(e).__name__)
                try:
                    imported = import_model(f"timm:{name}")
                except Timeout:
                    raise
                except Exception:  # noqa: BLE001 - refused with traced layers too
                    raise e from None
            report = cnncalc.analyze(cnncalc.load(imported.text))
            got = (report.totals.params, report.totals.macs, report.output_shape.dims())
        if got != truth:
            return "wrong", f"spec {got} vs PyTorch {truth}", time.process_time() - start
        if traced:
            count = sum(REGISTRY[r.kind].from_trace for r in report.layers)
            return "traced", f"{traced} ({count} traced)", time.process_time() - start
        if imported.notes:
            return "noted", imported.notes[0][:100], time.process_time() - start
        return "exact", "", time.process_time() - start
    except Timeout:
        return "refused", f"over {timeout} s", time.process_time() - start
    except Exception as e:  # noqa: BLE001 - the census records every failure
        return "refused", reason(str(e).splitlines()[0] if str(e) else type(e).__name__), \
            time.process_time() - start
    finally:
        signal.alarm(0)


def sample(names: list[str], per_family: int) -> list[str]:
    if per_family <= 0 or len(names) <= per_family:
        return names
    picks = [names[round(k * (len(names) - 1) / (per_family - 1))] for k in range(per_family)] \
        if per_family > 1 else [names[0]]
    return list(dict.fromkeys(picks))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=3)
    parser.add_argument("--all", action="store_true", help="every CNN model (slow)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per model")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help="only these timm models (no sample, no acceptance list)")
    args = parser.parse_args(argv)
    import timm
    import timm.models._registry as registry

    families: dict[str, list[str]] = defaultdict(list)
    for name in timm.list_models():
        module = registry._model_to_module.get(name)
        if module in CNN_FAMILIES:
            families[module].append(name)
    total = sum(len(v) for v in families.values())
    chosen = {f: (names if args.all else sample(names, args.per_family))
              for f, names in sorted(families.items())}
    if args.names:
        chosen = {}
        for name in args.names:
            if name not in registry._model_to_module:
                parser.error(f"{name}: not a timm {timm.__version__} model")
            chosen.setdefault(registry._model_to_module[name], []).append(name)
    for name in ACCEPTANCE if not args.names else ():
        module = registry._model_to_module.get(name)
        if name not in chosen.setdefault(module, []):
            chosen[module].append(name)
    results = []
    for family, names in chosen.items():
        for name in names:
            outcome, why, seconds = run(name, args.timeout)
            results.append((family, name, outcome, why, seconds))
            print(f"{family:20} {name:32} {outcome:8} {seconds:6.1f}s {why}", flush=True)
    print(f"\ntimm {timm.__version__}: {len(families)} CNN families, {total} models; "
          f"{len(results)} tried\n")
    print("| outcome | models |\n|---|---:|")
    for outcome, count in Counter(r[2] for r in results).most_common():
        print(f"| {outcome} | {count} |")
    for title, outcomes in (("why traced (what --exact refuses)", ("traced",)),
                            ("why refused", ("refused", "wrong"))):
        why = defaultdict(list)
        for r in results:
            if r[2] in outcomes:
                text = r[3] if r[2] != "wrong" else "a count differs"
                why[re.sub(r" \(\d+ traced\)$", "", text)].append(r[1])
        if not why:
            continue
        print(f"\n| {title} | models | e.g. |\n|---|---:|---|")
        for text, names in sorted(why.items(), key=lambda kv: -len(kv[1])):
            print(f"| {text} | {len(names)} | {', '.join(names[:3])} |")
    print("\n| family | tried | exact | noted | traced | refused |\n"
          "|---|---:|---:|---:|---:|---:|")
    for family in chosen:
        rows = [r for r in results if r[0] == family]
        c = Counter(r[2] for r in rows)
        print(f"| {family} | {len(rows)} | {c['exact']} | {c['noted']} | {c['traced']} | "
              f"{c['refused'] + c['wrong']} |")


if __name__ == "__main__":
    main()
