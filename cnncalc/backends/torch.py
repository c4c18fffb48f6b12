"""The PyTorch backend: build a spec as an ``nn.Module``, compare every leaf with the engine,
and time forward passes.

The only module of cnncalc that imports torch (with :mod:`.extra_modules`, which export copies).
``verify`` returns check records; ``time_forward`` is its own function; neither prints.

What is compared, per leaf and for the whole net (the README's verify section says the same):

* output shape, ``params`` (``parameters()``) and ``trainable_params`` (those with
  ``requires_grad``; ``frozen: true`` turns it off);
* ``buffers``: every persistent buffer (what ``state_dict`` saves) except BN's one-element
  step counter ``num_batches_tracked``; non-persistent buffers are derived state (the
  connection table's index tensors) and are left out, as cnncalc leaves them out;
* ``macs``: PyTorch's own counter, ``torch.utils.flop_counter.FlopCounterMode``, over the same
  forward pass; it counts convolutions and matrix products, 2 FLOPs per MAC, for the whole
  batch.  Each leaf gets what the counter adds between its forward pre-hook and its forward
  hook (leaves never nest, so a container's joins and each leaf are counted once).  Where
  cnncalc's MACs come from operations the counter does not count, the layer's MACs are not
  compared and the record says why (:data:`UNCOUNTED`).

Timing convention: the model is in ``eval()`` mode under ``torch.inference_mode()``.  On a
GPU each iteration is bracketed by CUDA events and the device is synchronised once after the
loop (no sync inside it); on the CPU each iteration is bracketed by ``time.perf_counter``.
Work between iterations (the progress callback) lies outside the timed brackets.
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from . import BackendError, torch_missing

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
try:
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode
except ImportError as e:  # pragma: no cover - exercised by a test that hides torch
    raise torch_missing() from e

from ..engine import analyze
from ..network import Spec
from ..report import Report
from . import extra_modules as modules
from .recipes import BUILDERS, Named, Plan, Recipe, plan

NOISY_SPREAD = 1.5  # p90/p10 above this: the median is not to be trusted without more runs
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

__all__ = ["BUILDERS", "Compared", "LayerCheck", "Timing", "Verification", "build", "instantiate",
           "time_forward", "verify", "resolve_device"]


@dataclass(frozen=True)
class Compared:
    """One quantity of a check: cnncalc's value against PyTorch's.

    ``theirs`` is None where PyTorch produced nothing (the forward pass stopped earlier) or
    where its figure is not comparable (``compared`` is False, and ``note`` says why)."""

    key: str  # the JSON field: shape, params, trainable_params, buffers, macs
    ours: object
    theirs: object
    compared: bool = True

    @property
    def ok(self) -> bool:
        return not self.compared or self.ours == self.theirs


@dataclass(frozen=True)
class LayerCheck:
    """One leaf: the engine's output shape and counts against PyTorch's."""

    name: str
    kind: str
    shape: list[int]
    torch_shape: list[int] | None  # None when the forward pass never reached the layer
    params: int
    torch_params: int | None
    trainable_params: int = 0
    torch_trainable_params: int | None = None
    buffers: int = 0
    torch_buffers: int | None = None
    macs: int = 0
    torch_macs: int | float | None = None  # per image; a float only if the batch does not divide it
    macs_compared: bool = True
    macs_note: str = ""  # why the MACs are not compared, or how PyTorch's figure was adjusted
    error: str = ""

    def quantities(self) -> tuple[Compared, ...]:
        return (Compared("shape", self.shape, self.torch_shape),
                Compared("params", self.params, self.torch_params),
                Compared("trainable_params", self.trainable_params, self.torch_trainable_params),
                Compared("buffers", self.buffers, self.torch_buffers),
                Compared("macs", self.macs, self.torch_macs, self.macs_compared))

    @property
    def mismatches(self) -> list[Compared]:
        return [q for q in self.quantities() if not q.ok]

    @property
    def ok(self) -> bool:
        return not self.mismatches


@dataclass(frozen=True)
class Timing:
    batch: int
    dtype: str
    warmup: int
    iters: int
    times_ms: tuple[float, ...]
    macs: int  # per image
    peak_memory_bytes: int | None = None
    channels_last: bool = False
    compiled: bool = False
    per_layer_ms: tuple[tuple[str, float], ...] = ()  # median per leaf, when asked

    @property
    def median_ms(self) -> float:
        return percentile(self.times_ms, 50)

    @property
    def p10_ms(self) -> float:
        return percentile(self.times_ms, 10)

    @property
    def p90_ms(self) -> float:
        return percentile(self.times_ms, 90)

    @property
    def images_per_s(self) -> float:
        return self.batch / (self.median_ms / 1e3)

    @property
    def tflops(self) -> float:
        """Achieved TFLOP/s: 2·MACs per image (FLOPs = 2·MACs)."""
        return 2 * self.macs * self.batch / (self.median_ms / 1e3) / 1e12

    @property
    def spread(self) -> float:
        """p90 / p10: how much the timings disagree (1 on a quiet machine)."""
        return self.p90_ms / self.p10_ms if self.p10_ms > 0 else float("inf")

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_SPREAD


@dataclass(frozen=True)
class Verification:
    """Every leaf's check, and the whole net's counts against the whole module's.

    ``macs_unchecked`` is the part of cnncalc's total MAC count that lies in layers whose MACs
    PyTorch's counter cannot see; the total compares the rest with the counter's total."""

    name: str
    device: str
    layers: tuple[LayerCheck, ...]
    params: int
    torch_params: int
    output_shape: list[int]
    torch_output_shape: list[int] | None
    trainable_params: int = 0
    torch_trainable_params: int | None = None
    buffers: int = 0
    torch_buffers: int | None = None
    macs: int = 0
    torch_macs: int | float | None = None
    macs_unchecked: int = 0
    timing: Timing | None = None
    report: Report | None = field(default=None, repr=False)
    memory: tuple = ()  # memcheck.MemoryCheck records: the measured peaks beside the estimate

    def totals(self) -> tuple[Compared, ...]:
        return (Compared("shape", self.output_shape, self.torch_output_shape),
                Compared("params", self.params, self.torch_params),
                Compared("trainable_params", self.trainable_params, self.torch_trainable_params),
                Compared("buffers", self.buffers, self.torch_buffers),
                Compared("macs", self.macs - self.macs_unchecked, self.torch_macs))

    @property
    def total_ok(self) -> bool:
        return all(q.ok for q in self.totals())

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.layers) and self.total_ok


def percentile(values, q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


# --- building -------------------------------------------------------------------------------

def _resolve_class(name: str):
    if name.startswith("nn."):
        return getattr(nn, name[3:])
    return getattr(modules, name)


def instantiate(recipe: Recipe, made: dict[int, nn.Module] | None = None) -> nn.Module:
    """Build the module a recipe names; ``made`` maps each recipe's id to its module.  A
    ``Shared`` recipe is bound to the module its ``target`` recipe made (built before it:
    children are built in execution order)."""
    made = {} if made is None else made

    def value(v):
        if isinstance(v, Recipe):
            return instantiate(v, made)
        if isinstance(v, Named):
            children = [(k, instantiate(r, made)) for k, r in v.items]
            return OrderedDict(children) if recipe.cls == "nn.Sequential" else dict(children)
        return v

    if recipe.cls == "Shared":
        module = modules.Shared(*recipe.args).bind(made[id(dict(recipe.kwargs)["target"])])
    else:
        module = _resolve_class(recipe.cls)(*(value(a) for a in recipe.args),
                                            **{k: value(v) for k, v in recipe.kwargs})
    if recipe.frozen:
        module.requires_grad_(False)
    made[id(recipe)] = module
    return module


def build(spec: Spec, report: Report | None = None) -> tuple[nn.Module, dict[nn.Module, str], Plan]:
    """The spec as a module tree, and the engine name of every leaf module (hooks use it:
    module names cannot hold the '.' that leaf names may)."""
    report = report if report is not None else analyze(spec, explain=False)
    the_plan = plan(spec, report)
    made: dict[int, nn.Module] = {}
    model = instantiate(the_plan.root, made)
    names = {made[id(recipe)]: name for name, _, recipe in the_plan.leaves}
    return model, names, the_plan


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        build_kind = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise BackendError(f"--device {device}: no CUDA device is available (torch "
                           f"{torch.__version__}, {build_kind}); use --device cpu or auto")
    return torch.device(device)


def example_input(spec: Spec, batch: int, device, dtype, channels_last: bool) -> torch.Tensor:
    x = torch.randn(batch, *spec.input_shape.dims(), device=device, dtype=dtype)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _out_of_memory(e: BaseException) -> bool:
    if isinstance(e, torch.cuda.OutOfMemoryError):
        return True
    text = str(e)
    return isinstance(e, RuntimeError) and ("out of memory" in text
                                            or "can't allocate memory" in text
                                            or "not enough memory" in text)


def oom_error(batch: int, device, report: Report | None = None,
              dtype: str = "fp32") -> BackendError:
    if batch > 1:
        return BackendError(f"out of memory on {device} at batch {batch}; try a smaller batch, "
                            f"e.g. --batch {batch // 2}")
    need = ""
    m = report.memory if report is not None else None
    if m is not None and m.batch == 1:
        from ..formatting import size_bytes

        need = f" (cnncalc estimates {size_bytes(m.inference_peak)} for one image in {m.precision})"
    return BackendError(f"the network does not fit in memory on {device} even at batch 1{need}; "
                        f"shrink the input or the layers, or use a device with more memory")


# --- checking -------------------------------------------------------------------------------

# Modules whose MACs (in cnncalc's convention) are operations FlopCounterMode does not count:
# it counts convolutions and matrix products only.  Their MACs are not compared.
UNCOUNTED: dict[type, str] = {
    modules.Subsampling: "an elementwise multiply per output (by its map's coefficient), "
                         "which FlopCounterMode does not count",
    modules.RBF: "Σ(x − w)²: a subtract, a square and a sum, none of which FlopCounterMode "
                 "counts",
}


def count_buffers(module: nn.Module) -> int:
    """Buffer elements cnncalc counts: persistent buffers less BN's ``num_batches_tracked``."""
    total = 0
    for owner in module.modules():
        for name, buf in owner.named_buffers(recurse=False):
            # the set is PyTorch's own record of the buffers state_dict skips
            if name == "num_batches_tracked" or name in owner._non_persistent_buffers_set:
                continue
            total += buf.numel()
    return total


def count_trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _plain(x: Fraction) -> int | float:
    """A whole count as an int; anything else (a sign of a mismatch) as a float to show."""
    return int(x) if x.denominator == 1 else float(x)


def per_image(flops: int, batch: int) -> int | float:
    """The counter's FLOPs for a batch as MACs per image (FLOPs = 2·MACs)."""
    return _plain(Fraction(flops, 2 * batch))


def counted_macs(module: nn.Module, flops: int | None, batch: int, cls: type | None = None,
                 ) -> tuple[int | float | None, bool, str]:
    """PyTorch's MACs per image for one leaf from the counter's ``flops`` (None: the pass
    never reached it): (figure, compared, note).  ``cls``: the module's class as cnncalc
    declares it, where the module is a copy of it (an exported file, imported)."""
    cls = cls or type(module)
    if cls in UNCOUNTED:
        return None, False, f"not comparable: {UNCOUNTED[cls]}"
    if flops is None:
        return None, True, ""
    macs = per_image(flops, batch)
    if issubclass(cls, modules.ConnectionConv2d):
        # The forward pass convolves with the dense K×D kernel, zeros included; cnncalc counts
        # only the table's kernels, which hold weight.shape[0] of the K·D.
        dense = module.out_channels * module.in_channels
        held = module.weight.shape[0]
        return (_plain(Fraction(macs) * held / dense), True,
                f"PyTorch counts the dense {module.out_channels}×{module.in_channels} kernel, "
                f"zeros too: {macs:,}·{held}/{dense} for the table's {held} of {dense} kernels")
    return macs, True, ""


@dataclass(frozen=True)
class Observed:
    """What one checked forward pass saw, before it is set against the report."""

    shapes: dict[str, list[int]]
    flops: dict[str, int]  # the counter's FLOPs inside each leaf, whole batch
    total_flops: int
    output_shape: list[int] | None
    failed_at: str | None = None
    error: str = ""


def observe(model: nn.Module, names: dict[nn.Module, str], x: torch.Tensor) -> Observed:
    """One forward pass under FlopCounterMode, with hooks on every leaf."""
    shapes: dict[str, list[int]] = {}
    flops: dict[str, int] = {}
    current: list[str] = []
    started: dict[nn.Module, int] = {}
    counter = FlopCounterMode(display=False)

    def pre(module, args):
        current.append(names[module])
        started[module] = counter.get_total_flops()

    def post(module, args, out):
        name = names[module]
        shapes[name] = list(out.shape[1:])
        flops[name] = flops.get(name, 0) + counter.get_total_flops() - started.pop(module)

    handles = []
    for module in names:
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    error, failed_at, out_shape = "", None, None
    try:
        with torch.inference_mode(), counter:
            out_shape = list(model(x).shape[1:])
    except Exception as e:  # a torch shape error at one layer is a finding, not a crash
        if _out_of_memory(e):
            raise
        failed_at = current[-1] if current else None
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        for h in handles:
            h.remove()
    return Observed(shapes, flops, counter.get_total_flops(), out_shape, failed_at, error)


def check_layers(model: nn.Module, names: dict[nn.Module, str], report: Report,
                 x: torch.Tensor) -> tuple[list[LayerCheck], Observed]:
    """One forward pass: every leaf's output shape and counts against the report's rows."""
    seen = observe(model, names, x)
    batch = x.shape[0]
    by_name = {name: module for module, name in names.items()}
    checks = []
    for row in report.layers:
        module = by_name.get(row.name)
        c = row.counts
        if module is None:  # no module was built for the row: nothing of it is confirmed
            checks.append(LayerCheck(row.name, row.kind, row.shape.dims(), None, c.params, None,
                                     c.trainable_params, None, c.buffers, None, c.macs))
            continue
        tmacs, compared, note = counted_macs(module, seen.flops.get(row.name), batch)
        checks.append(LayerCheck(
            row.name, row.kind, row.shape.dims(), seen.shapes.get(row.name), c.params,
            sum(p.numel() for p in module.parameters()), c.trainable_params,
            count_trainable(module), c.buffers, count_buffers(module), c.macs, tmacs, compared,
            note, seen.error if row.name == seen.failed_at else ""))
    return checks, seen


def total_macs(checks: list[LayerCheck], seen: Observed, batch: int) -> tuple[int | float, int]:
    """PyTorch's MACs per image for the whole net, and cnncalc's MACs it cannot see.

    The counter's total replaces each adjusted or uncounted leaf's raw figure by the compared
    one, so any MACs outside the leaves still show."""
    flops, macs, unchecked = seen.total_flops, Fraction(0), 0
    for c in checks:
        if c.macs_note:
            flops -= seen.flops.get(c.name, 0)
            if c.macs_compared and c.torch_macs is not None:
                macs += Fraction(c.torch_macs)
        if not c.macs_compared:
            unchecked += c.macs
    macs += Fraction(flops, 2 * batch)
    return _plain(macs), unchecked


def verify(spec: Spec, *, device: str = "auto", batch: int = 1, dtype: str = "fp32",
           channels_last: bool = False, compile: bool = False, warmup: int = 3, iters: int = 20,
           per_layer: bool = False, progress: Callable[[int, int], None] | None = None,
           memory: bool = False, train: bool = False, optimizer: str = "adam",
           amp: str | None = None) -> Verification:
    """Build ``spec`` in PyTorch, compare every leaf with the engine, then time it.

    ``iters=0`` skips the timing.  ``memory`` measures the peak of one forward pass on its own
    (and with ``train`` of one training step with ``optimizer``, under ``amp``), beside the
    estimate (:mod:`.memcheck`).  Raises :class:`BackendError` (exit 2) for a missing CUDA
    device or an out-of-memory batch.
    """
    if dtype not in DTYPES:
        raise BackendError(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    dev = resolve_device(device)
    report = analyze(spec, explain=False, dtype=dtype)  # its memory, for an OOM message
    tdtype = DTYPES[dtype]
    if memory or train:
        from .memcheck import check_options

        check_options(dtype, amp, optimizer)
    measured: tuple = ()
    try:
        model, names, _ = build(spec, report)
        model = model.eval().to(device=dev, dtype=tdtype)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        x = example_input(spec, batch, dev, tdtype, channels_last)
        checks, seen = check_layers(model, names, report, x)
        timing = None
        if iters > 0 and seen.output_shape is not None:
            timing = time_forward(model, x, warmup=warmup, iters=iters, macs=report.totals.macs,
                                  dtype=dtype, channels_last=channels_last, compile=compile,
                                  per_layer=names if per_layer else None, progress=progress)
        torch_params = sum(p.numel() for p in model.parameters())
        torch_trainable, torch_buffers = count_trainable(model), count_buffers(model)
        del model, x  # nothing of the checks is left when the memory is measured
        if (memory or train) and seen.output_shape is not None:
            from .memcheck import measure

            measured = measure(spec, device=dev, batch=batch, dtype=dtype, amp=amp,
                               optimizer=optimizer, train=train, report=report)
    except BackendError:
        raise
    except Exception as e:
        if _out_of_memory(e):
            raise oom_error(batch, dev, report, dtype) from None
        raise
    t = report.totals
    reached = seen.output_shape is not None
    torch_macs, unchecked = total_macs(checks, seen, batch)
    return Verification(
        spec.name, str(dev), tuple(checks), t.params, torch_params,
        report.output_shape.dims(), seen.output_shape,
        trainable_params=t.trainable_params, torch_trainable_params=torch_trainable,
        buffers=t.buffers, torch_buffers=torch_buffers, macs=t.macs,
        torch_macs=torch_macs if reached else None, macs_unchecked=unchecked, timing=timing,
        report=report, memory=measured)


# --- timing ---------------------------------------------------------------------------------

def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed_loop(fn: Callable[[], object], iters: int, device: torch.device,
               between: Callable[[int], None] | None = None) -> list[float]:
    """Milliseconds of each call of ``fn``: CUDA events on a GPU (one sync after the loop),
    ``time.perf_counter`` on the CPU.  ``between(i)`` runs outside the timed brackets."""
    times: list[float] = []
    if device.type == "cuda":
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(iters)]
        for i, (start, end) in enumerate(events):
            start.record()
            fn()
            end.record()
            if between is not None:
                between(i)
        torch.cuda.synchronize(device)
        return [start.elapsed_time(end) for start, end in events]
    clock = time.perf_counter
    for i in range(iters):
        t0 = clock()
        fn()
        times.append((clock() - t0) * 1e3)
        if between is not None:
            between(i)
    return times


def time_forward(model: nn.Module, x: torch.Tensor, *, warmup: int = 3, iters: int = 20,
                 macs: int = 0, dtype: str = "fp32", channels_last: bool = False,
                 compile: bool = False, per_layer: dict[nn.Module, str] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Timing:
    """Warm up, then time ``iters`` forward passes of ``model`` on ``x``.

    ``progress(done, total)`` is called after each pass (warm-up included).  ``per_layer``
    (leaf module → name) adds a second, separate loop timing each leaf with hooks, so the
    main figures are not slowed by them.
    """
    device = x.device
    total = warmup + iters + (iters if per_layer else 0)
    done = [0]

    def tick(_i=None):
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    run = model
    if compile:
        try:
            run = torch.compile(model)
        except Exception as e:  # pragma: no cover - depends on the toolchain
            raise BackendError(f"--compile failed: {type(e).__name__}: {e}") from None

    def forward():
        return run(x)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        try:
            for _ in range(warmup):
                forward()
                tick()
        except BackendError:
            raise
        except Exception as e:
            if compile and not _out_of_memory(e):
                raise BackendError(f"--compile failed: {type(e).__name__}: "
                                   f"{str(e).splitlines()[0] if str(e) else ''}") from None
            raise
        _synchronize(device)
        times = timed_loop(forward, iters, device, tick)
        per_layer_ms: tuple[tuple[str, float], ...] = ()
        if per_layer:
            per_layer_ms = _time_layers(model, x, per_layer, iters, tick)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return Timing(x.shape[0], dtype, warmup, iters, tuple(times), macs, peak, channels_last,
                  compile, per_layer_ms)


def _time_layers(model: nn.Module, x: torch.Tensor, names: dict[nn.Module, str], iters: int,
                 tick: Callable[[], None]) -> tuple[tuple[str, float], ...]:
    """Median milliseconds of each leaf, from hooks around it (eager model)."""
    device = x.device
    samples: dict[str, list] = {name: [] for name in names.values()}
    starts: dict[nn.Module, object] = {}
    cuda = device.type == "cuda"

    def pre(module, args):
        if cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            starts[module] = ev
        else:
            starts[module] = time.perf_counter()

    def post(module, args, out):
        if cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            samples[names[module]].append((starts[module], ev))
        else:
            samples[names[module]].append((time.perf_counter() - starts[module]) * 1e3)

    handles = [h for m in names for h in (m.register_forward_pre_hook(pre),
                                          m.register_forward_hook(post))]
    try:
        for _ in range(iters):
            model(x)
            tick()
        _synchronize(device)
    finally:
        for h in handles:
            h.remove()
    result = []
    for name, got in samples.items():
        ms = [a.elapsed_time(b) for a, b in got] if cuda else got
        result.append((name, percentile(ms, 50) if ms else 0.0))
    return tuple(result)
