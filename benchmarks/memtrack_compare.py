"""Compare two records of benchmarks/memtrack_record.py: every tracked case, every field of
``Tracked`` (the figures, the per-layer rows, the curves); the emulation note's old wording
("fake CPU tensors") is read as the new one.  Usage: memtrack_compare.py BEFORE AFTER [ROOT]."""
import dataclasses
import pickle
import sys

sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else ".")  # for unpickling Tracked
OLD_NOTE = "CUDA emulated on fake CPU tensors: "
NEW_NOTE = "CUDA emulated on meta tensors standing for the CPU's: "


def load(path):
    out = {}
    for node, key, tracked in pickle.load(open(path, "rb")):
        out.setdefault(key, []).append((node, tracked))
    return out


def fields(t):
    d = {f.name: getattr(t, f.name) for f in dataclasses.fields(t)}
    d["notes"] = tuple(n.replace(OLD_NOTE, NEW_NOTE) for n in d["notes"])
    return d


a, b = load(sys.argv[1]), load(sys.argv[2])
print(f"before: {sum(map(len, a.values()))} calls, {len(a)} distinct cases; "
      f"after: {sum(map(len, b.values()))} calls, {len(b)} distinct cases")
bad = 0
for name, rec in (("before", a), ("after", b)):
    for key, vals in rec.items():
        first = fields(vals[0][1])
        for node, t in vals[1:]:
            if fields(t) != first:
                bad += 1
                print(f"{name}: one case, two results: {vals[0][0]} vs {node}")
for key in a:
    if key not in b:
        bad += 1
        print("missing after:", a[key][0][0], key[1:])
        continue
    x, y = fields(a[key][0][1]), fields(b[key][0][1])
    diff = [k for k in x if x[k] != y[k]]
    if diff:
        bad += 1
        print("DIFFERENT:", a[key][0][0], key[2:], diff)
for key in b:
    if key not in a:
        print("new after (not compared):", b[key][0][0], key[2:])
n_curve = sum(len(v[0][1].training_curve) + len(v[0][1].inference_curve) for v in a.values())
print(f"compared {len(a)} cases field by field ({n_curve} curve points): "
      f"{'ALL IDENTICAL' if not bad else f'{bad} problems'}")
sys.exit(1 if bad else 0)
