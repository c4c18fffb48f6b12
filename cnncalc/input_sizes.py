"""Which input sizes work: the answers of ``cnncalc sizes``, and a symbolic report evaluated
at numbers (``inspect --at``).

Why the answer is exact
-----------------------
With the input's height a symbol H, every layer's size is a quasi-linear function of H
(:class:`cnncalc.closed_forms.Size`: ``f(H + P) = f(H) + K``, P dividing the product of the
strides on its path).  Whether the net runs at H is a conjunction of requirements, each one
such function compared with 0 (a kernel within the padded input: ``f(H) ≥ 0``; merged paths
of the same size: ``f(H) − g(H) = 0``); whether no layer floors adds ``(N − F + 2P) mod S =
0``, a periodic function.  In each residue class of H modulo the common period P, a
requirement's value moves by the same step K at every period, so it changes its truth at
most once, at a point computed exactly (:meth:`~cnncalc.closed_forms.Requirement.threshold`);
above the largest such point T every requirement, and so the whole answer, repeats with
period P.  The sets are therefore the members of ``[1, T + P)`` (evaluated from the closed
forms) and, above T, the residues mod P found in ``[T, T + P)``: exact, not sampled.  The
integer engine (:func:`cnncalc.engine.analyze` on numeric inputs) then confirms one whole
period from the smallest member, each first member, and the failures it reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from .engine import Conditions, analyze, trace
from .errors import AnalysisError, CnncalcError, Issue, Location, SpecError
from .network import Spec, has_side_outputs, without_side_outputs
from .report import AxisRF, Counts, ReceptiveField, Report
from .formulas import Shape, symbolic_shape
from .closed_forms import Size, SymbolicError, text_of, value_at

MAX_SPAN = 200_000  # inputs tabulated before the answer repeats; beyond, refuse
SHOWN = 5  # first members listed


class SizesError(CnncalcError):
    """The closed forms and the integer engine disagree: a bug in cnncalc, reported as such."""


# --- a spec at symbolic or numeric sizes ----------------------------------------------------

def symbolize(spec: Spec) -> Spec:
    """``spec`` with its input's height and width the symbols H and W (depth kept)."""
    x = spec.input_shape
    if x is None or not x.spatial:
        raise SpecError(Issue(Location(spec.source), "the input is a vector: only a W×H×D input "
                                                     "has sizes to vary",
                              hint="give input: HxWx3, or a volume"))
    if symbolic_shape(x):
        return spec
    return replace(spec, input_shape=Shape(x.c, Size.variable("H"), Size.variable("W")))


def input_vars(spec: Spec) -> list[str]:
    """The symbols of the input, height first (one when H and W are the same symbol)."""
    x = spec.input_shape
    out = []
    for v in (x.h, x.w):
        if isinstance(v, Size) and v.var not in out:
            out.append(v.var)
    return out


def at_size(spec: Spec, env: dict[str, int]) -> Spec:
    """``spec`` with numbers for its input's symbols."""
    x = spec.input_shape
    return replace(spec, input_shape=Shape(x.c, value_at(x.h, env), value_at(x.w, env)))


def shape_at(shape: Shape, env) -> Shape:
    if not shape.spatial:
        return Shape(value_at(shape.c, env))
    return Shape(value_at(shape.c, env), value_at(shape.h, env), value_at(shape.w, env))


def _rf_at(rf: ReceptiveField | None, env) -> ReceptiveField | None:
    if rf is None:
        return None

    def axis(a: AxisRF) -> AxisRF:
        return AxisRF(*(Fraction(value_at(v, env)) for v in (a.size, a.jump, a.start)))

    return ReceptiveField(axis(rf.h), axis(rf.w))


def counts_at(c: Counts, env) -> Counts:
    return Counts(*(value_at(getattr(c, f), env) for f in
                    ("params", "trainable_params", "buffers", "macs", "connections",
                     "activations")))


def evaluate(report: Report, env: dict[str, int]) -> Report:
    """A symbolic report with numbers for its symbols: every shape, count, field and memory
    figure evaluated from its closed form (the formula text stays symbolic)."""
    rows = tuple(replace(r, input_shape=shape_at(r.input_shape, env),
                         shape=shape_at(r.shape, env), counts=counts_at(r.counts, env),
                         rf=_rf_at(r.rf, env)) for r in report.rows)
    totals = counts_at(report.totals, env)
    claims = []
    for c in report.claims:
        actual = shape_at(c.actual, env) if isinstance(c.actual, Shape) else (
            tuple(value_at(v, env) for v in c.actual) if isinstance(c.actual, tuple)
            else value_at(c.actual, env))
        claims.append(replace(c, actual=actual, ok=c.expected == actual))
    mem = None  # the memory model replays the net at numbers: inspect_symbolic adds it
    return replace(report, input_shape=shape_at(report.input_shape, env),
                   output_shape=shape_at(report.output_shape, env), rows=rows, totals=totals,
                   claims=tuple(claims), memory_source=mem)


# --- sets of sizes -----------------------------------------------------------------------

@dataclass(frozen=True)
class SizeSet:
    """Input sizes: the ``finite`` members below ``start``, then every x ≥ ``start`` whose
    residue mod ``period`` is in ``residues``."""

    var: str
    finite: tuple[int, ...]
    start: int
    period: int
    residues: tuple[int, ...]

    def __contains__(self, x: int) -> bool:
        if x < self.start:
            return x in self.finite
        return x % self.period in self.residues

    @property
    def empty(self) -> bool:
        return not self.finite and not self.residues

    @property
    def tail_minimum(self) -> int | None:
        if not self.residues:
            return None
        return min(self.start + (r - self.start) % self.period for r in self.residues)

    @property
    def minimum(self) -> int | None:
        if self.finite:
            return self.finite[0]
        return self.tail_minimum

    def first(self, k: int = SHOWN, above: int = 1) -> list[int]:
        out = [x for x in self.finite if x >= above][:k]
        if self.residues:
            x = max(self.start, above)
            while len(out) < k:
                if x % self.period in self.residues:
                    out.append(x)
                x += 1
        return out

    def text(self) -> str:
        """``H ≡ 12 (mod 16), H ≥ 188``; ``every H``; ``H ∈ {1, 2}``; ``no H``."""
        v = self.var
        if self.empty:
            return f"no {v}"
        parts = []
        if len(self.finite) == 1:
            parts.append(f"{v} = {self.finite[0]}")
        elif self.finite:
            parts.append(f"{v} ∈ {{{', '.join(map(str, self.finite))}}}")
        m = self.tail_minimum
        if m is not None:
            if len(self.residues) == self.period:
                parts.append(f"every {v}" if m == 1 else f"every {v} ≥ {m}")
            else:
                lowest = min(r if r >= 1 else r + self.period for r in self.residues)
                rs = ", ".join(map(str, self.residues))
                tail = f"{v} ≡ {rs} (mod {self.period})"
                parts.append(tail if m == lowest else f"{tail}, {v} ≥ {m}")
        return " or ".join(parts)

    def json(self) -> dict:
        return {"text": self.text(), "minimum": self.minimum, "first": self.first(),
                "finite": list(self.finite), "from": self.start, "period": self.period,
                "residues": list(self.residues)}


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def size_set(var: str, member: list[bool], period: int, threshold: int) -> SizeSet:
    """The set whose membership is ``member[x]`` for 1 ≤ x < threshold + period, and periodic
    with ``period`` from ``threshold`` on; the least period and the lowest start."""
    def has(x: int) -> bool:
        return member[x]

    residues = {x % period for x in range(threshold, threshold + period) if has(x)}
    for d in _divisors(period):
        if all((r + d) % period in residues for r in residues):
            residues = {r % d for r in residues}
            period = d
            break
    start = threshold
    while start > 1 and has(start - 1) == ((start - 1) % period in residues):
        start -= 1
    finite = tuple(x for x in range(1, start) if has(x))
    return SizeSet(var, finite, start, period, tuple(sorted(residues)))


# --- one axis -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """Inputs that fail, the first layer that breaks and why (the integer engine's words at
    ``example``)."""

    inputs: str  # "H ≡ 13, 14 (mod 16)" or "H < 188"
    example: int
    layer: str
    message: str


@dataclass(frozen=True)
class Wanted:
    """The inputs that give a wanted output, or the nearest outputs when none does."""

    output: int
    inputs: SizeSet
    below: tuple[int, tuple[int, ...]] | None = None  # (output, inputs giving it)
    above: tuple[int, tuple[int, ...]] | None = None


@dataclass(frozen=True)
class Axis:
    var: str
    runs: SizeSet
    exact: SizeSet
    output: object  # the output's size along this axis (a closed form), or a vector length
    vector: bool  # the output is a vector (after flatten)
    on_runs: str  # the output where the net runs, when it is one simple form there
    period: int
    threshold: int
    checked: tuple[int, ...]  # inputs the integer engine confirmed
    failures: tuple[Failure, ...]
    wanted: Wanted | None = None
    training: SizeSet | None = None  # where side outputs (training only) change the answer


@dataclass(frozen=True)
class Sizes:
    name: str
    input_shape: Shape
    given: Shape | None  # the spec's own numeric input, when it had one
    axes: tuple[Axis, ...]
    report: Report
    conditions: Conditions
    mode: str | None = None  # "eval" when side outputs were left out (they run in training)


def _dedupe(requirements):
    seen, out = set(), []
    for r in requirements:
        key = (r.kind, r.expr)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _axis_of(spec: Spec, var: str) -> int:
    """0 when ``var`` is the input's height, 1 when only its width."""
    return 0 if isinstance(spec.input_shape.h, Size) and spec.input_shape.h.var == var else 1


def membership(var: str, conditions: Conditions, axis: int):
    """``(runs, exact, period, threshold)``: the members of ``[1, threshold + period)`` for
    each question, and the period and threshold above which the answers repeat."""
    reqs = _dedupe(r for r in conditions.requirements if r.var == var)
    rems = []
    never_exact = False
    for _, i, rem in conditions.floors:
        if isinstance(rem, Size):
            if rem.var == var:
                rems.append(rem)
        elif rem and i == axis:
            never_exact = True  # it floors at every input
    rems = list(dict.fromkeys(rems))
    period, threshold = 1, 1
    for e in [r.expr for r in reqs] + rems:
        period = period * e.period // math.gcd(period, e.period)
    for r in reqs:
        threshold = max(threshold, r.threshold())
    span = threshold + period
    if span > MAX_SPAN:
        raise SymbolicError(f"the answer for {var} settles only after {span:,} inputs; cnncalc "
                            f"tabulates at most {MAX_SPAN:,}")
    runs = [False] + [True] * (span - 1)
    for r in reqs:
        p, k, vals = r.expr.period, r.expr.step, r.expr.values
        fits = r.kind == "fits"
        for x in range(1, span):
            if runs[x]:
                q, rr = divmod(x, p)
                v = vals[rr] + k * q
                if (v < 0) if fits else (v != 0):
                    runs[x] = False
    exact = [False] * span if never_exact else list(runs)
    for rem in rems:
        for x in range(1, span):
            if exact[x] and rem.at(x) != 0:
                exact[x] = False
    return runs, exact, period, threshold


def _env(spec: Spec, var: str, x: int, others: dict[str, int]) -> dict[str, int]:
    env = dict(others)
    env[var] = x
    return env


def _run(spec: Spec, env, explain: bool = False) -> AnalysisError | None:
    try:
        analyze(at_size(spec, env), explain=explain, checks=False)
    except AnalysisError as e:
        return e
    return None


def _residues_text(var: str, xs: list[int], period: int) -> str:
    if period == 1:
        return f"every {var}"
    rs = sorted({x % period for x in xs})
    return f"{var} ≡ {', '.join(map(str, rs))} (mod {period})"


def why(error: AnalysisError, floored: set[str]) -> str:
    """The engine's message, and the floor that dropped a row on the way when one did: the
    last layer before the failure that floors, inside the combinator that failed."""
    issue = error.issues[0]
    if not issue.message.startswith(("concat", "add merge", "residual add")):
        return issue.message
    rows = [r for r in error.report.layers if r.name in floored and r.formula is not None]
    inside = [r for r in rows if r.name.startswith(issue.trail + ".")]
    row = (inside or rows or [None])[-1]
    if row is None:
        return issue.message
    return f"{issue.message} ({row.name} floors: {row.formula.shape})"


def check_axis(spec: Spec, var: str, runs: SizeSet, others: dict[str, int],
               conditions: Conditions, axis: int, period: int):
    """Confirm ``runs`` with the integer engine over one period of the conditions from its
    smallest member, its first members and the largest failure below it, and collect the
    failures the engine reports: ``(checked, failures)``."""
    m = runs.minimum or 1
    below = max((x for x in range(max(m - runs.period, 1), m)
                 if x % runs.period in runs.residues), default=m - 1)
    xs = sorted(set(range(m, m + period)) | set(runs.first()) |
                ({below} if below >= 1 else set()))
    failures: dict[str, list] = {}
    under = None
    for x in xs:
        error = _run(spec, _env(spec, var, x, others), explain=x not in runs)
        if (error is None) != (x in runs):
            said = "runs" if x in runs else "fails"
            raise SizesError(f"internal: the closed forms say {var} = {x} {said} but the "
                             f"integer engine disagrees"
                             + (f" ({error.issues[0].message})" if error else "")
                             + "; please report this spec")
        if error is None:
            continue
        floored = {name for name, i, rem in conditions.floors
                   if (rem.var == var if isinstance(rem, Size) else i == axis) and
                   value_at(rem, {var: x}) != 0}
        found = (x, error.issues[0].trail, why(error, floored))
        if x < m:
            under = found
        else:
            failures.setdefault(found[1], []).append(found)
    out = []
    if under is not None:
        x, layer, message = under
        out.append(Failure(f"{var} < {m}" if runs.minimum else f"{var} = {x}", x, layer,
                           message))
    for layer, found in failures.items():
        x, _, message = found[0]
        out.append(Failure(_residues_text(var, [f[0] for f in found], runs.period or 1), x,
                           layer, message))
    return tuple(xs), tuple(out)


def on_runs_text(var: str, out, runs: SizeSet) -> str:
    """The output along the axis where the net runs, when that is one line ``a·H + b``."""
    if not isinstance(out, Size) or runs.empty or len(runs.residues) != 1:
        return ""
    period = runs.period
    if period % out.period:
        return ""
    slope = Fraction(out.step, out.period)
    r = runs.tail_minimum
    c = out.at(r) - slope * r
    line = Size.make(var, 1, slope, [c])
    return text_of(line)


def wanted_inputs(var: str, out, members: SizeSet, n: int) -> Wanted:
    """Every member whose output is ``n``; the nearest outputs below and above when none is."""
    if not isinstance(out, Size):
        inputs = members if out == n else SizeSet(var, (), 1, 1, ())
        near = None if out == n else (out, tuple(members.first()))
        return Wanted(n, inputs, near if out < n else None, near if out > n else None)
    period = members.period * out.period // math.gcd(members.period, out.period)
    step = out.step * (period // out.period)
    points: list[int] = [x for x in members.finite if out.at(x) == n]
    every: list[int] = []
    below: dict[int, list[int]] = {}
    above: dict[int, list[int]] = {}

    def near(value: int, x: int) -> None:
        (below if value < n else above).setdefault(value, []).append(x)

    for x in members.finite:
        if out.at(x) != n:
            near(out.at(x), x)
    if members.residues:
        for r in range(members.start, members.start + period):
            if r % members.period not in members.residues:
                continue
            f = out.at(r)
            if step == 0:
                if f == n:
                    every.append(r % period)
                else:
                    near(f, r)
                continue
            j = Fraction(n - f, step)
            if j >= 0 and j.denominator == 1:
                points.append(r + int(j) * period)
            jb = math.ceil(j) - 1
            if jb >= 0:
                near(f + jb * step, r + jb * period)
            ja = max(math.floor(j) + 1, 0)
            near(f + ja * step, r + ja * period)
    start = members.start if every else 1
    if every:
        finite = tuple(sorted(x for x in points if x < start))
        inputs = SizeSet(var, finite, start, period, tuple(sorted(every)))
    else:
        inputs = SizeSet(var, tuple(sorted(points)), max(points, default=0) + 1, 1, ())
    best_below = max(below, default=None)
    best_above = min(above, default=None)
    return Wanted(n, inputs,
                  (best_below, tuple(sorted(below[best_below]))) if best_below is not None
                  else None,
                  (best_above, tuple(sorted(above[best_above]))) if best_above is not None
                  else None)


def find_sizes(spec: Spec, want: int | None = None, exact: bool = False) -> Sizes:
    """Every answer of ``cnncalc sizes`` for ``spec`` (its input made symbolic)."""
    given = spec.input_shape if spec.input_shape is not None and \
        not symbolic_shape(spec.input_shape) else None
    spec = symbolize(spec)
    training = None
    if has_side_outputs(spec.layers):
        # an auxiliary head (merge: first) runs only in training, as torchvision's: the answer
        # is eval mode's, and training's is given beside it where it differs
        training = runs_sets(spec)
        spec = replace(spec, layers=without_side_outputs(spec.layers))
    try:
        report, conditions = trace(spec, explain=False)
    except SymbolicError as e:
        raise SpecError(Issue(Location(spec.source), str(e))) from None
    variables = input_vars(spec)
    found = {}
    for var in variables:
        axis = _axis_of(spec, var)
        try:
            runs, exact_member, period, threshold = membership(var, conditions, axis)
        except SymbolicError as e:
            raise SpecError(Issue(Location(spec.source), str(e))) from None
        found[var] = (size_set(var, runs, period, threshold),
                      size_set(var, exact_member, period, threshold), period, threshold)
    # the other axes held at a size where they run: the spec's own, or their smallest
    chosen = {}
    for var, (runs, *_rest) in found.items():
        own = None
        if given is not None:
            own = given.h if _axis_of(spec, var) == 0 else given.w
        chosen[var] = own if own is not None and own in runs else (runs.minimum or 1)
    axes = []
    out_shape = report.output_shape
    for var in variables:
        runs, exact_set, period, threshold = found[var]
        others = {v: x for v, x in chosen.items() if v != var}
        checked, failures = check_axis(spec, var, runs, others, conditions,
                                       _axis_of(spec, var), period)
        axis = _axis_of(spec, var)
        if out_shape.spatial:
            out, vector = (out_shape.h if axis == 0 else out_shape.w), False
        else:
            out, vector = out_shape.c, True
        members = exact_set if exact else runs
        wanted = None
        if want is not None:
            if vector:
                raise SpecError(Issue(Location(spec.source), f"the output is a vector of "
                                                             f"{text_of(out)}, not a map",
                                      hint="--want-output asks for an output width or height"))
            wanted = wanted_inputs(var, out, members, want)
        train = None if training is None or training.get(var) == runs else training.get(var)
        axes.append(Axis(var, runs, exact_set, out, vector,
                         on_runs_text(var, out, members) if not vector else "", period,
                         threshold, checked, failures, wanted, train))
    return Sizes(spec.name, spec.input_shape, given, tuple(axes), report, conditions,
                 "eval" if training is not None else None)


def runs_sets(spec: Spec) -> dict[str, SizeSet]:
    """Per symbol, the sizes a symbolic spec runs for (no engine check: the closed forms)."""
    try:
        _, conditions = trace(spec, explain=False)
    except SymbolicError as e:
        raise SpecError(Issue(Location(spec.source), str(e))) from None
    except AnalysisError:
        return {}
    out = {}
    for var in input_vars(spec):
        member, _, period, threshold = membership(var, conditions, _axis_of(spec, var))
        out[var] = size_set(var, member, period, threshold)
    return out


def runs_at(conditions: Conditions, env: dict[str, int]) -> str | None:
    """None when every requirement holds at ``env``, else the first layer whose fails."""
    for r in conditions.requirements:
        if r.var in env and not r.holds(env[r.var]):
            return r.layer
    return None



@dataclass(frozen=True)
class Symbolic:
    """``inspect`` of a spec with H and W as symbols: the report of closed forms, the sizes
    each axis runs for, and at each size asked (``--at``) the numeric report or the layer
    that fails there."""

    report: Report
    runs: dict[str, str]  # symbol → the set of sizes it runs for, as text
    entries: list | None  # (env, evaluated report or None, failing layer or None) per size
    error: AnalysisError | None = None


def with_memory(report: Report, spec: Spec, env: dict[str, int], batch: int,
                dtype: str) -> Report:
    """``report`` (evaluated at ``env``) with the memory of the net at those sizes."""
    from .errors import CnncalcError
    from .memory import estimate

    def mem():
        try:
            return estimate(replace(spec, input_shape=shape_at(spec.input_shape, env)),
                            batch=batch, dtype=dtype)
        except (CnncalcError, ValueError):
            return None

    return replace(report, memory_source=mem)


def inspect_symbolic(spec: Spec, at: list[tuple[int, int]] | None = None, *, batch: int = 1,
                     dtype: str = "fp32", ignore=()) -> Symbolic:
    spec = symbolize(spec)
    error = None
    try:
        report, conditions = trace(spec, batch=batch, dtype=dtype, ignore=ignore)
    except AnalysisError as e:
        report, conditions, error = e.report, None, e
    runs = {}
    if conditions is not None:
        for var in input_vars(spec):
            axis = 0 if getattr(spec.input_shape.h, "var", None) == var else 1
            member, _, period, threshold = membership(var, conditions, axis)
            runs[var] = size_set(var, member, period, threshold).text()
        if has_side_outputs(spec.layers):  # as sizes: eval mode first, training beside it
            evals = runs_sets(replace(spec, layers=without_side_outputs(spec.layers)))
            for var, found in evals.items():
                if found.text() != runs[var]:
                    runs[var] = f"{found.text()} in eval mode ({runs[var]} in training)"
    entries = None
    if at is not None and conditions is not None:
        entries = []
        for h, w in at:
            env = {}
            for var, value in ((getattr(spec.input_shape.h, "var", None), h),
                               (getattr(spec.input_shape.w, "var", None), w)):
                if var is not None:
                    env.setdefault(var, value)
            failed = runs_at(conditions, env)
            entries.append((env, None if failed else
                            with_memory(evaluate(report, env), spec, env, batch, dtype), failed))
    return Symbolic(report, runs, entries, error)
