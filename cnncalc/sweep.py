"""``cnncalc sweep``: a spec's params varied over ranges, every point's counts, exactly.

A point is one value per varied param.  Its figures (:data:`FIELDS`) are those ``inspect
--set`` gives at that point; ``--where`` keeps the points that meet a budget and ``--pareto``
finds the ones no other point beats on every objective.

How a million points take a minute, exactly
-------------------------------------------
The params split in two (:func:`split_params`): the *spatial* ones, read only by the input's
height and width (``input: $res x $res x 3``), and the *structural* ones (everything else:
channels, depths, kernels).  Points are grouped by their structural values; each group is one
network, built once.  Its input's height and width become the symbols H and W and the
symbolic engine (:mod:`cnncalc.closed_forms`) works every count once, as a closed form in H and
W — a sum of products of quasi-linear sizes ``values[x mod P] + K·⌊x/P⌋``, exact by
construction — together with the requirements under which each layer works.  The group's
points are then evaluated from those forms with numpy, all at once: a few array operations
per term, in 64-bit integers where a bound shows that no value can overflow them, in Python
integers otherwise.  A group whose forms cannot be had (a block that reads ``$in.h``, a
vector input), or whose network has been met at too few points to pay for a trace (fewer
than :data:`TRACE_FROM`, or than the peaks' split), is evaluated point by point with the
integer engine.  Nothing is sampled or approximated; tests hold every figure to ``inspect --set`` at
random points.

Impossible points (a layer that cannot work) are counted by cause: the requirement that
fails names its layer, and the integer engine's message at the first such point says why.
"""

from __future__ import annotations

import math
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterable

from . import expr
from . import params as toplevel
from .errors import AnalysisError, CnncalcError, SpecError, UsageError
from .located_yaml import YMap, compose
from .sources import read_source

MAX_POINTS = 10 ** 8  # a grid larger than this needs --sample
TRACE_FROM = 4  # a network met at fewer points is analysed at each point (_Evaluator)
MAX_SAMPLE = 10 ** 8
INT64_SAFE = 1 << 62

BASE = ("params", "trainable", "buffers", "macs", "connections", "activations",
        "in_c", "in_h", "in_w", "out_c", "out_h", "out_w", "rf_h", "rf_w")
FIELDS: dict[str, str] = {  # name → what it is; BASE are worked out, the rest derived
    "params": "learnable parameters (PyTorch's parameters())",
    "trainable": "trainable parameters",
    "non_trainable": "params − trainable",
    "buffers": "BN running statistics",
    "macs": "multiply-accumulates per sample",
    "flops": "2 · macs",
    "connections": "LeCun's connections",
    "activations": "activation elements per sample (every layer's output)",
    "in_c": "input depth", "in_h": "input height", "in_w": "input width",
    "out_c": "output depth (a vector's length)", "out_h": "output height (1 for a vector)",
    "out_w": "output width (1 for a vector)",
    "rf_h": "the last layer's receptive field, height", "rf_w": "… width",
    "rf": "the larger of rf_h and rf_w",
    # memory in bytes, cnncalc.memory.estimate's at --batch, --dtype, --amp, --optimizer
    "params_bytes": "weights' bytes: params × the element size (fp32 under --amp)",
    "buffers_bytes": "buffers' bytes: buffers × the element size",
    "input_bytes": "the input batch's bytes, rounded up to 512 as the allocator does",
    "inference_peak": "the inference peak (weights, buffers, input, live tensors)",
    "training_peak": "the peak of one training step (forward, backward, optimizer step)",
}
MEMORY = ("params_bytes", "buffers_bytes", "input_bytes", "inference_peak", "training_peak")
PEAKS = ("inference_peak", "training_peak")  # replayed per point (cnncalc.memory), on demand
DEFAULT_SHOWN = ("params", "macs", "activations")


class SweepError(CnncalcError):
    def lines(self) -> list[str]:
        return [f"cnncalc: error: {self}"]


def _np():
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy comes with the sweep extra
        raise SweepError("cnncalc sweep needs numpy: pip install 'cnncalc[sweep]'") from None
    return numpy


# --- what to vary -------------------------------------------------------------------------

@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple  # exact numbers, in order


_RANGE = re.compile(r"^\s*([^.]+|[^.]*\.\d*[^.]*?)\s*\.\.\s*([^/]+?)\s*(?:/\s*(.+?))?\s*$")


def parse_vary(text: str) -> Axis:
    """``NAME=LO..HI/STEP`` (HI included when a step lands on it; STEP 1 if left out) or
    ``NAME=a,b,c``."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise UsageError(f"cannot read '{text}': write NAME=LO..HI/STEP or NAME=a,b,c",
                         param="vary")
    rest = rest.strip()
    try:
        if ".." in rest:
            lo_text, _, tail = rest.partition("..")
            hi_text, _, step_text = tail.partition("/")
            lo, hi = toplevel.signed_number(lo_text), toplevel.signed_number(hi_text)
            step = toplevel.signed_number(step_text) if step_text.strip() else 1
            if step <= 0:
                raise UsageError(f"{name}={rest}: the step must be above 0", param="vary")
            if hi < lo:
                raise UsageError(f"{name}={rest} is empty: {expr.show(lo)} is above "
                                 f"{expr.show(hi)}", param="vary")
            count = int((Fraction(hi) - lo) // step) + 1
            if count > MAX_POINTS:
                raise UsageError(f"{name}={rest} has {count:,} values", param="vary")
            if isinstance(lo, int) and isinstance(step, int):  # the same numbers, at once
                values = tuple(range(lo, lo + count * step, step))
            else:
                values = tuple(expr._tidy(Fraction(lo) + i * Fraction(step))
                               for i in range(count))
        else:
            values = tuple(toplevel.signed_number(v) for v in rest.split(",") if v.strip())
            if len(set(values)) != len(values):
                raise UsageError(f"{name}={rest} lists a value twice", param="vary")
    except ValueError:
        raise UsageError(f"{name}={rest}: values are numbers such as 1.1 or 224 "
                         f"(LO..HI/STEP or a,b,c)", param="vary") from None
    if not values:
        raise UsageError(f"{name}= lists no value", param="vary")
    return Axis(name, values)


@dataclass(frozen=True)
class Objective:
    field: str
    maximise: bool = False

    @property
    def label(self) -> str:
        return f"max:{self.field}" if self.maximise else self.field


def parse_pareto(text: str) -> tuple[Objective, ...]:
    out = []
    for part in text.split(","):
        part = part.strip()
        maximise = False
        for prefix in ("max:", "+"):
            if part.startswith(prefix):
                part, maximise = part[len(prefix):].strip(), True
        for prefix in ("min:", "-"):
            if part.startswith(prefix):
                part = part[len(prefix):].strip()
        if part not in FIELDS:
            from .layers import closest
            near = closest(part, FIELDS)
            raise UsageError(f"'{part}' is not a figure of a point"
                             + (f": did you mean '{near}'?" if near else
                                f"; the figures: {', '.join(FIELDS)}"), param="pareto")
        out.append(Objective(part, maximise))
    if len(out) < 2 or len({o.field for o in out}) != len(out):
        raise UsageError("give two or more different figures, e.g. macs,params (max:NAME "
                         "maximises one)", param="pareto")
    return tuple(out)


# --- the spec's params: which are spatial ---------------------------------------------------

@dataclass(frozen=True)
class Source:
    text: str
    file: str

    @classmethod
    def read(cls, source: str) -> "Source":
        text, file = read_source(source)
        return cls(text, file)


def _refs(value: Any) -> set[str]:
    if isinstance(value, str):
        return expr.references(value)
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            out |= _refs(v)
        return out
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= _refs(v)
        return out
    return set()


def input_parts(raw: Any) -> tuple[Any, Any, Any] | None:
    """The input's (width, height, depth) texts, or None when it is not a volume of three
    parts (then every param counts as structural)."""
    if isinstance(raw, YMap) or isinstance(raw, dict):
        return raw.get("width"), raw.get("height"), raw.get("channels", 1)
    if isinstance(raw, str):
        parts = re.split(toplevel._CROSS, raw) if "$" in raw else raw.split("x")
        if len(parts) == 3:
            return tuple(p.strip() for p in parts)
        if len(parts) == 2:  # W×H: depth 1
            return parts[0].strip(), parts[1].strip(), 1
    return None


def split_params(data: YMap) -> tuple[set[str], set[str], tuple | None]:
    """(spatial, structural, input parts): a spatial param is read only by the input's
    height and width."""
    declared = set(data.get("params") or {}) if isinstance(data.get("params"), YMap) else set()
    elsewhere = set()
    for key, value in data.items():
        if key not in ("input", "params"):
            elsewhere |= _refs(value)
    params_raw = data.get("params")
    if isinstance(params_raw, YMap):
        for v in params_raw.values():
            elsewhere |= _refs(v)  # a param defined from another: keep it simple, structural
    parts = input_parts(data.get("input"))
    if parts is None:
        return set(), declared, None
    w, h, d = parts
    elsewhere |= _refs(d)
    spatial = (_refs(w) | _refs(h)) - elsewhere
    return spatial & declared, declared - spatial, parts


# --- evaluating closed forms over arrays ------------------------------------------------------

def _all_int(values) -> bool:
    return all(isinstance(v, int) for v in values)


def size_array(s, x, np):
    """A quasi-linear size (or a number) at every x of an int64 array."""
    from .closed_forms import Size

    if not isinstance(s, Size):
        return s
    p, k, vals = s.period, s.step, s.values
    if _all_int(vals) and isinstance(k, int):
        table = np.array(vals, dtype=np.int64)
        if p == 1:
            return table[0] + k * x
        return table[x % p] + k * (x // p)
    table = np.array(list(vals) + [None], dtype=object)[:-1]
    q = (x // p).astype(object)
    return table[x % p] + k * q


def _magnitude(s, xmax: int) -> int:
    from .closed_forms import Poly, Size

    if isinstance(s, Size):
        return max(abs(v) for v in s.values) + abs(s.step) * (xmax // s.period + 1)
    if isinstance(s, Poly):
        total = 0
        for f, c in s.terms.items():
            term = abs(c)
            for factor in f:
                term *= _magnitude(factor, xmax)
            total += term
        return total
    return abs(s)


def value_array(v, env: dict, n: int, np):
    """A count (a number, a Size or a Poly in H and W) at every point: an int64 array where
    no value can leave its range, else an array of Python numbers."""
    from .closed_forms import Poly, Size

    if isinstance(v, (Size, Poly)):
        xmax = max(int(a.max()) for a in env.values()) if env else 0
        wide = _magnitude(v, xmax) >= INT64_SAFE
        if isinstance(v, Size):
            out = size_array(v, env[v.var], np)
        else:
            out = 0
            for f, c in v.terms.items():
                term = c if not wide else int(c) if isinstance(c, int) else c
                for s in f:
                    a = size_array(s, env[s.var], np)
                    if wide and hasattr(a, "astype"):
                        a = a.astype(object)
                    term = term * a
                out = out + term
        if wide and hasattr(out, "astype") and out.dtype != object:
            out = out.astype(object)
        return out if hasattr(out, "shape") else np.full(n, out, dtype=_dtype(out, np))
    return np.full(n, v, dtype=_dtype(v, np))


def _dtype(v, np):
    return np.int64 if isinstance(v, int) and abs(v) < INT64_SAFE else object


# --- one group of points: one network -----------------------------------------------------

@dataclass
class Chunk:
    """What a worker returns for some groups: per point (by index) its base figures, or the
    cause it cannot work."""

    index: Any  # int64 array of point indices
    values: dict[str, Any]  # field → array over index (meaningless where impossible)
    possible: Any  # bool array over index
    cause: Any  # int array over index: -1, or a cause number in causes
    causes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MemorySettings:
    """What the memory figures assume (``cnncalc.memory.estimate``'s arguments)."""

    batch: int = 1
    dtype: str = "fp32"
    amp: str | None = None
    optimizer: str = "adam"

    @property
    def item(self) -> int:
        from .memory import ITEM

        return 4 if self.amp else ITEM[self.dtype]


class _Evaluator:
    """Evaluates groups of points of one spec; made once per process."""

    def __init__(self, source: Source, axes: tuple[Axis, ...], spatial: set[str],
                 peaks: tuple[str, ...] = (), mem: MemorySettings = MemorySettings()):
        self.source, self.axes = source, axes
        self.peaks, self.mem = peaks, mem
        self.estimates: dict = {}  # (network, H, W) → (inference_peak, training_peak)
        self.data = compose(source.text, source.file)
        self.spatial = spatial
        self.parts = input_parts(self.data.get("input"))
        self.np = _np()
        self.forms: dict = {}
        self.met: dict = {}  # a network's key → how many points made it (points_of)
        self.sides: dict = {}  # the input's (height, width) by the values it reads  # the values a build worked out → (spec, report, requirements)

    def overrides(self, indices) -> dict[str, Any]:
        return {a.name: a.values[int(i)] for a, i in zip(self.axes, indices)}

    def build(self, overrides, record: list | None = None):
        from .spec import _Builder

        if record is None:
            return _Builder(self.source.file, overrides).build(self.data)

        class Recorder(_Builder):
            """Notes every value the spec works out: equal notes, equal networks."""

            def value(self, raw, ctx):
                v = super().value(raw, ctx)
                if isinstance(raw, str) and "$" in raw:
                    record.append(v)
                return v

        return Recorder(self.source.file, overrides).build(self.data)

    def group(self, index, grid) -> Chunk:
        """``index``: the points' numbers; ``grid``: their axis indices (rows)."""
        np = self.np
        n = len(index)
        chunk = Chunk(index, {}, np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64))
        first = self.overrides(grid[0])
        record: list = []
        try:
            spec = self.build(first, record)
        except SpecError as e:
            structural = not any(a.name in self.spatial for a in self.axes)
            if structural or not self.spatial:
                self.impossible(chunk, np.arange(n), _cause(e))
                return chunk
            return self.pointwise(chunk, grid)
        if self.spatial and self.parts is not None and spec.input_shape.spatial:
            # the same values worked out make the same network: its forms are traced once
            key = (tuple((type(v), v) for v in record), spec.input_shape.c)
            if key in self.forms or self.points_of(key, len(grid)) >= self.trace_from:
                try:
                    return self.closed_forms(chunk, grid, spec, key)
                except _Fallback:
                    pass
        return self.pointwise(chunk, grid, spec)

    @property
    def trace_from(self) -> int:
        """The fewest points of one network worth a trace: below it, the integer engine works
        each point out.  A trace costs about four numeric analyses (ResNet-50: 13 ms against
        3.8; DenseNet-121: 35 against 7.3), and the peaks of a group under
        :data:`~cnncalc.sweep_memory.SPLIT_MIN` points are replayed one size at a time
        whatever the trace gives."""
        from .sweep_memory import SPLIT_MIN

        return SPLIT_MIN if self.peaks else TRACE_FROM

    def points_of(self, key, n: int) -> int:
        """How many points have made the network ``key`` so far, this group's ``n`` included:
        groups of other structural values can make the same network (depths that round to
        the same block counts), and once it has been met often enough it is traced."""
        if key not in self.met and len(self.met) > 4096:
            self.met.clear()
        self.met[key] = self.met.get(key, 0) + n
        return self.met[key]

    def impossible(self, chunk: Chunk, where, cause: str) -> None:
        k = _find(chunk.causes, cause)
        if k is None:
            chunk.causes.append(cause)
            k = len(chunk.causes) - 1
        chunk.cause[where] = k

    def sizes(self, grid):
        """Each point's input height and width, from the input's expressions."""
        np = self.np
        w_text, h_text, _ = self.parts
        spatial_cols = [k for k, a in enumerate(self.axes) if a.name in self.spatial]
        keys = {}
        hs = np.zeros(len(grid), dtype=np.int64)
        ws = np.zeros(len(grid), dtype=np.int64)
        bad = {}
        sub = grid[:, spatial_cols] if spatial_cols else np.zeros((len(grid), 0), dtype=np.int64)
        uniq, inverse = np.unique(sub, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        base = self.overrides(grid[0])
        env0 = {**self.declared(base), **base}
        reads = tuple(sorted(_refs(h_text) | _refs(w_text)))
        for u, row in enumerate(uniq):
            env = dict(env0)
            for col, i in zip(spatial_cols, row):
                env[self.axes[col].name] = self.axes[col].values[int(i)]
            key = tuple(env.get(name) for name in reads)
            found = self.sides.get(key)
            if found is None:
                try:
                    found = (_side(h_text, env), _side(w_text, env))
                except ValueError as e:
                    found = f"input → {e}"
                self.sides[key] = found
            if isinstance(found, str):
                bad[u] = found
                keys[u] = (1, 1)
            else:
                keys[u] = found
        hw = np.array([keys[u] for u in range(len(uniq))], dtype=np.int64)
        hs, ws = hw[inverse, 0], hw[inverse, 1]
        return hs, ws, inverse, bad

    def declared(self, overrides) -> dict[str, Any]:
        found = {}
        raw = self.data.get("params")
        if isinstance(raw, YMap):
            for k, v in raw.items():
                try:
                    found[str(k)] = toplevel.value_of(v, found)
                except ValueError:
                    pass
        found.update(overrides)
        return found

    def traced(self, spec, key):
        from .engine import trace
        from .input_sizes import symbolize
        from .closed_forms import SymbolicError

        found = self.forms.get(key)
        if found is None:
            try:
                sym = symbolize(spec)
                report, conditions = trace(sym, explain=False)
            except (AnalysisError, SymbolicError, SpecError):
                found = None
            else:
                requirements, seen = [], set()
                for r in conditions.requirements:  # one check per condition, the first layer
                    if (r.kind, r.expr) not in seen:
                        seen.add((r.kind, r.expr))
                        requirements.append(r)
                found = (sym, report, tuple(requirements))
            if len(self.forms) > 4096:
                self.forms.clear()
            self.forms[key] = found
        if found is None:
            raise _Fallback
        return found

    def closed_forms(self, chunk: Chunk, grid, spec, key) -> Chunk:
        from .report import ReceptiveField

        np = self.np
        sym, report, requirements = self.traced(spec, key)
        hs, ws, inverse, bad = self.sizes(grid)
        n = len(grid)
        shape = sym.input_shape
        env = {}
        for var, arr in ((getattr(shape.h, "var", None), hs), (getattr(shape.w, "var", None), ws)):
            if var is not None:
                env.setdefault(var, arr)
        ok = np.ones(n, dtype=bool)
        for u, message in bad.items():
            where = np.nonzero(inverse == u)[0]
            ok[where] = False
            self.impossible(chunk, where, message)
        for r in requirements:
            v = size_array(r.expr, env[r.var], np)
            holds = (v >= 0) if r.kind == "fits" else (v == 0)
            fails = ok & ~holds
            if fails.any():
                where = np.nonzero(fails)[0]
                self.impossible(chunk, where, self.why(grid[where[0]], r.layer))
                ok &= holds
        t = report.totals
        out = report.output_shape
        leaves = report.layers
        rf = leaves[-1].rf if leaves else None
        figures = {"params": t.params, "trainable": t.trainable_params, "buffers": t.buffers,
                   "macs": t.macs, "connections": t.connections, "activations": t.activations,
                   "in_c": shape.c, "in_h": shape.h, "in_w": shape.w, "out_c": out.c,
                   "out_h": out.h if out.spatial else 1, "out_w": out.w if out.spatial else 1,
                   "rf_h": rf.h.size if isinstance(rf, ReceptiveField) else 0,
                   "rf_w": rf.w.size if isinstance(rf, ReceptiveField) else 0}
        for name, v in figures.items():
            chunk.values[name] = value_array(v, env, n, np)
        chunk.possible = ok
        if self.peaks:
            from .sweep_memory import group_peaks

            group_peaks(self, chunk, spec, key, hs, ws, ok, (sym, report, env))
        return chunk

    def why(self, indices, layer: str) -> str:
        """The integer engine's message at one point where ``layer`` fails."""
        from .engine import analyze

        try:
            analyze(self.build(self.overrides(indices)), explain=False, checks=False)
        except (AnalysisError, SpecError) as e:
            return _cause(e)
        return f"{layer}: cannot work"  # pragma: no cover - the forms and the engine agree

    def pointwise(self, chunk: Chunk, grid, first=None) -> Chunk:
        """Each point by the integer engine, as ``inspect --set`` works it out; ``first``:
        the spec of the first point, already built."""
        from .engine import analyze
        from .sweep_memory import estimate_at, put_peaks

        np = self.np
        rows = {name: [] for name in BASE}
        peaks = {name: [0] * len(grid) for name in PEAKS}
        for k, indices in enumerate(grid):
            try:
                spec = first if k == 0 and first is not None else \
                    self.build(self.overrides(indices))
                report = analyze(spec, explain=False, checks=False)
            except (AnalysisError, SpecError) as e:
                self.impossible(chunk, [k], _cause(e))
                for name in BASE:
                    rows[name].append(0)
                continue
            chunk.possible[k] = True
            for name, v in figures_of(report).items():
                rows[name].append(v)
            if self.peaks:
                peaks["inference_peak"][k], peaks["training_peak"][k] = \
                    estimate_at(self.mem, spec, report)
        for name, vs in rows.items():
            small = all(isinstance(v, int) and abs(v) < INT64_SAFE for v in vs)
            chunk.values[name] = np.array(vs, dtype=np.int64 if small else object)
        if self.peaks:
            put_peaks(self, chunk, peaks)
        return chunk


class _Fallback(Exception):
    pass


def _side(text, env) -> int:
    if isinstance(text, str) and "$" in text:
        return expr.whole(expr.substitute(text, env), text)
    return int(text)


def cause_key(cause: str) -> str:
    """What makes two causes one: the layer (the trail before the first →), else the text.
    The first point's message stands for the others (their sizes differ)."""
    return cause.split(" → ", 1)[0] if " → " in cause else cause


def _find(causes: list[str], cause: str) -> int | None:
    key = cause_key(cause)
    for k, c in enumerate(causes):
        if cause_key(c) == key:
            return k
    return None


def _cause(e: CnncalcError) -> str:
    """An error as a cause: its first issue, without the file (the same for every point)."""
    issues = getattr(e, "issues", None)
    if issues:
        i = issues[0]
        trail = f"{i.trail} → " if i.trail else ""
        return f"{trail}{i.message}"
    return str(e)


def figures_of(report) -> dict[str, Any]:
    """The base figures of a numeric report: what a sweep point holds."""
    t, shape, out = report.totals, report.input_shape, report.output_shape
    leaves = report.layers
    rf = leaves[-1].rf if leaves else None
    return {"params": t.params, "trainable": t.trainable_params, "buffers": t.buffers,
            "macs": t.macs, "connections": t.connections, "activations": t.activations,
            "in_c": shape.c, "in_h": shape.h if shape.spatial else 1,
            "in_w": shape.w if shape.spatial else 1, "out_c": out.c,
            "out_h": out.h if out.spatial else 1, "out_w": out.w if out.spatial else 1,
            "rf_h": rf.h.size if rf is not None else 0,
            "rf_w": rf.w.size if rf is not None else 0}


# process-wide evaluator, for the workers of --jobs
_WORKER: dict = {}


def _work(args) -> list[Chunk]:
    source, axes, spatial, peaks, mem, groups = args
    key = (source, axes, peaks, mem)
    ev = _WORKER.get(key)
    if ev is None:
        _WORKER.clear()
        ev = _WORKER[key] = _Evaluator(source, axes, spatial, peaks, mem)
    return [ev.group(index, grid) for index, grid in groups]


# --- the sweep ------------------------------------------------------------------------------

@dataclass
class Result:
    spec_name: str
    axes: tuple[Axis, ...]
    grid: Any  # (N, k) axis indices per point
    values: dict[str, Any]  # base field → array over points
    possible: Any
    cause: Any
    causes: list[str]
    passed: Any  # bool over points
    front: Any  # point numbers on the front (among passed), in objective order
    objectives: tuple[Objective, ...]
    where: str | None
    batch: int
    dtype: str
    sampled: bool
    amp: str | None = None
    optimizer: str = "adam"

    @property
    def memory(self) -> MemorySettings:
        return MemorySettings(self.batch, self.dtype, self.amp, self.optimizer)

    @property
    def evaluated(self) -> int:
        return len(self.grid)

    @property
    def impossible(self) -> int:
        return int((~self.possible).sum())

    @property
    def filtered(self) -> int:
        return int((self.possible & ~self.passed).sum())

    def cause_counts(self) -> list[tuple[str, int]]:
        np = _np()
        counts = np.bincount(self.cause[self.cause >= 0], minlength=len(self.causes))
        return sorted(((c, int(counts[i])) for i, c in enumerate(self.causes) if counts[i]),
                      key=lambda t: -t[1])

    def field(self, name: str):
        return field_array(name, self.values, self.memory)

    def param(self, axis: int):
        np = _np()
        table = np.array(list(self.axes[axis].values) + [None], dtype=object)[:-1]
        return table[self.grid[:, axis]]


def field_array(name: str, values: dict, mem: MemorySettings = MemorySettings()):
    """A figure over points, from the base figures (and the peaks, when worked out)."""
    np = _np()
    if name in values:
        return values[name]
    if name == "flops":
        return 2 * values["macs"]
    if name == "non_trainable":
        return values["params"] - values["trainable"]
    if name == "rf":
        return np.maximum(values["rf_h"], values["rf_w"])
    # as cnncalc.memory.estimate works them out: params and buffers × the element size, the
    # input rounded up to the allocator's 512 bytes (exact Python integers)
    if name == "params_bytes":
        return values["params"].astype(object) * mem.item
    if name == "buffers_bytes":
        return values["buffers"].astype(object) * mem.item
    if name == "input_bytes":
        from .memory import ALIGN

        numel = values["in_c"].astype(object) * values["in_h"] * values["in_w"]
        nbytes = numel * mem.batch * mem.item
        return -(-nbytes // ALIGN) * ALIGN
    if name in PEAKS:
        raise SweepError(f"{name} was not worked out: run the sweep with it among its "
                         f"figures (--where, --pareto, or run(..., figures=))")
    raise KeyError(name)


def peaks_read(where: str | None, pareto: tuple[Objective, ...],
               figures: Iterable[str] = ()) -> tuple[str, ...]:
    """The memory peaks a sweep must replay: those ``--where``, ``--pareto`` or ``figures``
    name (a replay per point costs far more than the closed forms, so only on demand)."""
    words = set(re.findall(r"[A-Za-z_]\w*", where or "")) | {o.field for o in pareto}
    words |= set(figures)
    return PEAKS if words & set(PEAKS) else ()


def count_points(axes: tuple[Axis, ...]) -> int:
    return math.prod(len(a.values) for a in axes)


def make_grid(axes: tuple[Axis, ...], sample: int | None, seed: int):
    np = _np()
    sizes = [len(a.values) for a in axes]
    total = count_points(axes)
    if sample is None:
        if total > MAX_POINTS:
            raise UsageError(f"the ranges make {total:,} points; cnncalc sweeps at most "
                             f"{MAX_POINTS:,} at once: --sample N draws N of them",
                             param="vary")
        flat = np.arange(total, dtype=np.int64)
        return np.stack(np.unravel_index(flat, sizes), axis=1).astype(np.int64)
    if not 1 <= sample <= MAX_SAMPLE:
        raise UsageError(f"--sample takes 1 to {MAX_SAMPLE:,} points", param="sample")
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, s, size=sample, dtype=np.int64) for s in sizes], axis=1)


def check_axes(axes: tuple[Axis, ...], data: YMap, file: str) -> None:
    from .layers import closest

    raw = data.get("params")
    declared = list(raw) if isinstance(raw, YMap) else []
    seen = set()
    for a in axes:
        if a.name in seen:
            raise UsageError(f"{a.name} is varied twice", param="vary")
        seen.add(a.name)
        if a.name not in declared:
            if not declared:
                raise UsageError(f"{file} has no params: to vary (declare them at the top, "
                                 f"e.g. params: {{width: 1.0}}, and read them as $width)",
                                 param="vary")
            near = closest(a.name, declared)
            raise UsageError(f"{file} has no parameter '{a.name}'"
                             + (f": did you mean '{near}'?" if near else
                                f"; its params: {', '.join(declared)}"), param="vary")


def run(source: str, axes: tuple[Axis, ...], *, where: str | None = None,
        pareto: tuple[Objective, ...] = (), sample: int | None = None, seed: int = 0,
        batch: int = 1, dtype: str = "fp32", amp: str | None = None,
        optimizer: str = "adam", figures: Iterable[str] = (), jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
        fixed: dict[str, Any] | None = None, backend: str = "local",
        scheduler: str | None = None) -> Result:
    """Sweep ``source`` over ``axes``; ``fixed``: other params set (``--set``).

    ``batch``, ``dtype``, ``amp``, ``optimizer``: what the memory figures assume; the peaks
    (:data:`PEAKS`) are replayed only when ``where``, ``pareto`` or ``figures`` name one.
    ``jobs`` > 1 spreads the networks over processes (``concurrent.futures``);
    ``backend="dask"`` over a Dask cluster: ``scheduler``'s address, or a LocalCluster of
    ``jobs`` workers (the ``dask`` extra)."""
    np = _np()
    if not axes:
        raise UsageError("give at least one --vary NAME=LO..HI/STEP", param="vary")
    src = Source.read(source)
    data = compose(src.text, src.file)
    check_axes(axes, data, src.file)
    condition = None
    if where is not None:
        try:
            condition = expr.compile_condition(where, set(FIELDS) | {a.name for a in axes})
        except ValueError as e:
            raise UsageError(f"cannot read '{where}': {e}", param="where") from None
    grid = make_grid(axes, sample, seed)
    if fixed:
        axes = axes + tuple(Axis(k, (v,)) for k, v in fixed.items()
                            if k not in {a.name for a in axes})
        grid = np.concatenate([grid, np.zeros((len(grid), len(axes) - grid.shape[1]),
                                              dtype=np.int64)], axis=1)
        check_axes(axes, data, src.file)
    spatial, _, _ = split_params(data)
    mem = MemorySettings(batch, dtype, amp, optimizer)
    peaks = peaks_read(where, pareto, figures)
    structural_cols = [k for k, a in enumerate(axes) if a.name not in spatial]
    if structural_cols:
        dims = [len(axes[k].values) for k in structural_cols]
        key = np.ravel_multi_index(tuple(grid[:, k] for k in structural_cols), dims)
    else:
        key = np.zeros(len(grid), dtype=np.int64)
    order = np.argsort(key, kind="stable")
    bounds = np.nonzero(np.diff(key[order]))[0] + 1
    groups = [(idx, grid[idx]) for idx in np.split(order, bounds)]
    n = len(grid)
    values = {name: np.zeros(n, dtype=np.int64) for name in BASE + peaks}
    possible = np.zeros(n, dtype=bool)
    cause = np.full(n, -1, dtype=np.int64)
    causes: list[str] = []

    def take(chunk: Chunk) -> None:
        idx = chunk.index
        for name, arr in chunk.values.items():
            if arr.dtype == object and values[name].dtype != object:
                values[name] = values[name].astype(object)
            values[name][idx] = arr
        possible[idx] = chunk.possible
        for k, c in enumerate(chunk.causes):
            j = _find(causes, c)
            if j is None:
                causes.append(c)
                j = len(causes) - 1
            cause[idx[chunk.cause == k]] = j

    done = 0
    if backend == "dask":
        batches = [groups[i::jobs * 4] for i in range(min(len(groups), jobs * 4))]
        tasks = [(src, axes, spatial, peaks, mem, b) for b in batches]
        for chunks in _dask_map(tasks, jobs, scheduler):
            for chunk in chunks:
                take(chunk)
                done += len(chunk.index)
            if progress:
                progress(done, n)
    elif jobs > 1 and len(groups) > 1:
        batches = [groups[i::jobs * 4] for i in range(min(len(groups), jobs * 4))]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for chunks in pool.map(_work, [(src, axes, spatial, peaks, mem, b) for b in batches]):
                for chunk in chunks:
                    take(chunk)
                    done += len(chunk.index)
                if progress:
                    progress(done, n)
    else:
        ev = _Evaluator(src, axes, spatial, peaks, mem)
        for idx, g in groups:
            take(ev.group(idx, g))
            done += len(idx)
            if progress:
                progress(done, n)
    passed = possible.copy()
    if condition is not None and possible.any():
        env = _Lazy(values, mem, axes, grid, possible)
        try:
            verdict = condition(env)
        except (ValueError, ZeroDivisionError, TypeError) as e:
            raise UsageError(f"'{where}': {e}", param="where") from None
        verdict = np.asarray(verdict)
        if verdict.shape == ():
            verdict = np.full(int(possible.sum()), bool(verdict))
        passed[np.nonzero(possible)[0]] = verdict.astype(bool)
    front = pareto_front(np.nonzero(passed)[0], [field_array(o.field, values, mem)
                                                 for o in pareto],
                         [o.maximise for o in pareto]) if pareto else np.zeros(0, np.int64)
    return Result(_spec_name(data, src.file), axes, grid, values, possible, cause, causes,
                  passed, front, pareto, where, batch, dtype, sample is not None, amp,
                  optimizer)


def _dask_map(tasks: list, jobs: int, scheduler: str | None):
    """``_work`` over ``tasks`` on a Dask cluster, results as they finish."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("--backend dask needs dask.distributed: pip install "
                         "'cnncalc[dask]'") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    try:
        client = Client(scheduler if scheduler is not None else cluster)
    except OSError as e:
        raise SweepError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
    try:
        futures = client.map(_work, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _spec_name(data, file) -> str:
    import os

    return str(data.get("name", os.path.splitext(os.path.basename(file))[0]))


class _Lazy(dict):
    """The environment of ``--where``: figures (as Python numbers, exact) over the possible
    points, made when first read."""

    def __init__(self, values, mem, axes, grid, possible):
        super().__init__()
        self.args = values, mem, axes, grid
        self.rows = _np().nonzero(possible)[0]

    def __missing__(self, name):
        values, mem, axes, grid = self.args
        names = [a.name for a in axes]
        if name in names:
            k = names.index(name)
            table = _np().array(list(axes[k].values) + [None], dtype=object)[:-1]
            arr = table[grid[self.rows, k]]
        else:
            arr = field_array(name, values, mem)[self.rows].astype(object)
        self[name] = arr
        return arr


def pareto_front(candidates, columns, maximise):
    """The candidates no other candidate beats: ≤ on every objective (≥ where maximised)
    and < on one.  Exact (integers); returned sorted by the objectives."""
    np = _np()
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    cols = []
    for col, mx in zip(columns, maximise):
        c = col[candidates]
        if c.dtype == object:
            if not all(isinstance(v, int) for v in c):
                c = np.array([Fraction(v) for v in c], dtype=object)
            c = -c if mx else c
            # exact ranks keep the order of big integers and fractions
            uniq = sorted(set(c.tolist()))
            rank = {v: i for i, v in enumerate(uniq)}
            c = np.array([rank[v] for v in c.tolist()], dtype=np.int64)
        else:
            c = -c if mx else c
        cols.append(c.astype(np.int64))
    pts = np.stack(cols, axis=1)
    uniq, inverse = np.unique(pts, axis=0, return_inverse=True)  # lexicographic order
    inverse = inverse.reshape(-1)
    keep = np.zeros(len(uniq), dtype=bool)
    if uniq.shape[1] == 2:
        best = np.minimum.accumulate(uniq[:, 1])
        prev = np.concatenate([[np.iinfo(np.int64).max], best[:-1]])
        keep = uniq[:, 1] < prev
    else:
        front = np.zeros((0, uniq.shape[1]), dtype=np.int64)
        for i, p in enumerate(uniq):
            if len(front) and ((front <= p).all(axis=1) & (front < p).any(axis=1)).any():
                continue
            keep[i] = True
            front = np.vstack([front, p])
    on = keep[inverse]
    chosen = candidates[on]
    order = np.lexsort(tuple(pts[on][:, k] for k in reversed(range(pts.shape[1]))))
    return chosen[order]
