"""The PyTorch backend: build a spec as an ``nn.Module``, compare every leaf with the engine,
and time forward passes.

The only module of cnncalc that imports torch (with :mod:`.modules`, which export copies).
``verify`` returns check records; ``time_forward`` is its own function; neither prints.

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
from typing import Callable

from . import BackendError, torch_missing

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - exercised by a test that hides torch
    raise torch_missing() from e

from ..engine import analyze
from ..network import Spec
from ..report import Report
from . import modules
from .plan import BUILDERS, Named, Plan, Recipe, plan

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

__all__ = ["BUILDERS", "LayerCheck", "Timing", "Verification", "build", "instantiate",
           "time_forward", "verify", "resolve_device"]


@dataclass(frozen=True)
class LayerCheck:
    """One leaf: the engine's output shape and params against PyTorch's."""

    name: str
    kind: str
    shape: list[int]
    torch_shape: list[int] | None  # None when the forward pass never reached the layer
    params: int
    torch_params: int | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.shape == self.torch_shape and self.params == self.torch_params


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


@dataclass(frozen=True)
class Verification:
    name: str
    device: str
    layers: tuple[LayerCheck, ...]
    params: int
    torch_params: int
    output_shape: list[int]
    torch_output_shape: list[int] | None
    timing: Timing | None = None
    report: Report | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return (all(c.ok for c in self.layers) and self.params == self.torch_params
                and self.output_shape == self.torch_output_shape)


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
    """Build the module a recipe names; ``made`` maps each recipe's id to its module."""
    def value(v):
        if isinstance(v, Recipe):
            return instantiate(v, made)
        if isinstance(v, Named):
            children = [(k, instantiate(r, made)) for k, r in v.items]
            return OrderedDict(children) if recipe.cls == "nn.Sequential" else dict(children)
        return v

    module = _resolve_class(recipe.cls)(*(value(a) for a in recipe.args),
                                        **{k: value(v) for k, v in recipe.kwargs})
    if recipe.frozen:
        module.requires_grad_(False)
    if made is not None:
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
    if report is not None:
        from ..render import size_bytes
        from ..report import memory

        need = (f" (cnncalc estimates "
                f"{size_bytes(memory(report.totals, report.input_shape.numel, dtype).inference_bytes)} "
                f"for one image in {dtype})")
    return BackendError(f"the network does not fit in memory on {device} even at batch 1{need}; "
                        f"shrink the input or the layers, or use a device with more memory")


# --- checking -------------------------------------------------------------------------------

def check_layers(model: nn.Module, names: dict[nn.Module, str], report: Report,
                 x: torch.Tensor) -> tuple[list[LayerCheck], list[int] | None]:
    """One forward pass with hooks: every leaf's output shape and params against the rows."""
    seen: dict[str, list[int]] = {}
    current: list[str] = []

    def pre(module, args):
        current.append(names[module])

    def post(module, args, out):
        seen[names[module]] = list(out.shape[1:])

    handles = []
    for module in names:
        handles.append(module.register_forward_pre_hook(pre))
        handles.append(module.register_forward_hook(post))
    error, failed_at, out_shape = "", None, None
    try:
        with torch.inference_mode():
            out_shape = list(model(x).shape[1:])
    except Exception as e:  # a torch shape error at one layer is a finding, not a crash
        if _out_of_memory(e):
            raise
        failed_at = current[-1] if current else None
        error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        for h in handles:
            h.remove()
    by_name = {name: module for module, name in names.items()}
    checks = []
    for row in report.layers:
        module = by_name.get(row.name)
        tparams = sum(p.numel() for p in module.parameters()) if module is not None else None
        checks.append(LayerCheck(row.name, row.kind, row.shape.dims(), seen.get(row.name),
                                 row.counts.params, tparams, error if row.name == failed_at else ""))
    return checks, out_shape


def verify(spec: Spec, *, device: str = "auto", batch: int = 1, dtype: str = "fp32",
           channels_last: bool = False, compile: bool = False, warmup: int = 3, iters: int = 20,
           per_layer: bool = False, progress: Callable[[int, int], None] | None = None,
           ) -> Verification:
    """Build ``spec`` in PyTorch, compare every leaf with the engine, then time it.

    ``iters=0`` skips the timing.  Raises :class:`BackendError` (exit 2) for a missing CUDA
    device or an out-of-memory batch.
    """
    if dtype not in DTYPES:
        raise BackendError(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    dev = resolve_device(device)
    report = analyze(spec, explain=False)
    tdtype = DTYPES[dtype]
    try:
        model, names, _ = build(spec, report)
        model = model.eval().to(device=dev, dtype=tdtype)
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        x = example_input(spec, batch, dev, tdtype, channels_last)
        checks, out_shape = check_layers(model, names, report, x)
        timing = None
        if iters > 0 and out_shape is not None:
            timing = time_forward(model, x, warmup=warmup, iters=iters, macs=report.totals.macs,
                                  dtype=dtype, channels_last=channels_last, compile=compile,
                                  per_layer=names if per_layer else None, progress=progress)
    except BackendError:
        raise
    except Exception as e:
        if _out_of_memory(e):
            raise oom_error(batch, dev, report, dtype) from None
        raise
    return Verification(spec.name, str(dev), tuple(checks), report.totals.params,
                        sum(p.numel() for p in model.parameters()),
                        report.output_shape.dims(), out_shape, timing, report)


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
