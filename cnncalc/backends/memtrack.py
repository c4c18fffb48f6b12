"""The memory oracle: what a forward pass or a training step allocates, tracked on tensors
without data.

On torch's ``meta`` device every tensor carries shape, dtype and strides but no data, and
every operator runs its meta kernel (the shape rule, in C++), so a ResNet-50 at batch 256
"runs" in about a second and in no memory.  Meta tensors stand for the CPU's: their kernels
are the CPU's but for a few operators, which run on fake CPU tensors or by rule
(:func:`_as_fake_cpu`).  Only where torch has CUDA and the tracker is asked not to emulate it
(``emulate=False``) are the tensors ``FakeTensorMode``'s fake CUDA tensors.  A
``TorchDispatchMode`` (:class:`_Live`) sees every operator's outputs below autograd, so it
sees the forward kernels, the backward kernels, the optimizer's kernels and the kernels that
allocate the gradients; it counts each *storage* once (views and in-place results share their
input's storage), adds its bytes when the storage appears and subtracts them when the storage
is freed (a weakref finalizer on the storage object, which PyTorch keeps alive exactly as long
as the storage), and keeps the peak.  Sizes are reported two ways: raw (``nbytes``) and
rounded up to a multiple of 512 bytes, as the CUDA caching allocator rounds every block, so
that the rounded peak is what ``torch.cuda.max_memory_allocated`` reports on a GPU.
``saved_tensors_hooks`` see what autograd keeps for backward, per layer.

What it emulates of a GPU when ``device="cuda"`` (the default for the figures we compare with
a GPU) and torch has no CUDA (autograd cannot run on fake CUDA tensors without CUDA linked):
the tensors are meta tensors standing for the CPU's, and

* the optimizers take ``foreach=True``, their default on CUDA (on the CPU the default is the
  per-tensor loop, whose temporaries are one parameter's at a time);
* Adam's ``step`` counters live on the host on a GPU (``capturable=False``): not counted;
* inference max pooling on CUDA computes the int64 indices too and frees them at once: counted
  as a transient of the op;
* ``amp``: CUDA's autocast casting lists (conv/linear/matmul to the low type, the norms,
  softmax and sum in fp32; :data:`CUDA_LOW`, :data:`CUDA_FP32`) applied by a function mode
  above autograd, with autocast's cache of each weight's low copy for the forward pass.

* cuDNN's workspace for a forward convolution in bf16/fp16 (NHWC copies of its input and
  output; none for a pointwise or a depthwise conv: :func:`cudnn_workspace`), counted as a
  transient of the op, on fake CUDA tensors too.

Host tensors a step makes (Adam's ``step`` counters, ``torch.tensor`` scalars) are real CPU
tensors beside the meta ones, counted as any other (or moved to the host, above).

What no tracker can see: the other cuDNN / cuBLAS workspaces (allocated inside the kernels,
counted by the allocator on a GPU), the CUDA context, the allocator's fragmentation
(reserved − allocated).
"""

from __future__ import annotations

import functools
import gc
import warnings
import weakref
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from . import BackendError, torch_missing

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
try:
    import torch
    from torch import nn
    from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten, tree_map
except ImportError as e:  # pragma: no cover - exercised by a test that hides torch
    raise torch_missing() from e

BLOCK = 512  # the CUDA caching allocator rounds every allocation up to a multiple of this
PYTHON_GC = (700, 10, 10)  # the collector's thresholds as Python starts (gc.get_threshold())
# The CPU's tensors the tracker runs on: "meta" (meta tensors, see _as_fake_cpu) or "fake"
# (FakeTensorMode's, the first implementation, 3 to 4 times slower; kept as the reference the
# tests hold the meta tensors to, figure for figure).
CPU_TENSORS = "meta"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
AMPS = ("bf16", "fp16")

__all__ = ["BLOCK", "LayerMemory", "Tracked", "rounded", "track", "track_spec"]


def rounded(nbytes: int) -> int:
    """What the CUDA caching allocator takes for ``nbytes``: 0 for nothing, else a multiple
    of 512 (its ``round_size``: at least one 512-byte block)."""
    return 0 if nbytes <= 0 else -(-nbytes // BLOCK) * BLOCK


@dataclass(frozen=True)
class LayerMemory:
    """One leaf module in execution order: what autograd saved while it ran (unique
    storages, new to the graph, parameters and buffers left out) and the live bytes right
    after it; rounded bytes."""

    name: str
    saved: int
    live_after: int


@dataclass(frozen=True)
class Tracked:
    """The tracker's figures, in bytes rounded as the CUDA allocator rounds (``*_raw``: the
    tensors' own bytes).  ``training_*`` are None when no optimizer was given."""

    batch: int
    dtype: str
    amp: str | None
    optimizer: str | None
    device: str  # the device whose behaviour is emulated ("cuda") or used ("cpu")
    weights: int  # parameters + buffers (rounded per tensor)
    input: int
    inference_peak: int
    inference_peak_raw: int
    inference_layers: tuple[LayerMemory, ...] = ()
    inference_peak_layer: str = ""
    training_peak: int | None = None
    training_peak_raw: int | None = None
    training_peak_phase: str = ""  # forward, backward or step: where the peak happened
    training_peak_layer: str = ""  # the leaf running: its forward, or its backward; "" in the
    # step (or in a backward node no leaf made: a merge's, the loss's)
    training_peak_op: str = ""  # the operator whose outputs made the peak (e.g. convolution_backward)
    gradients: int | None = None
    optimizer_state: int | None = None
    saved: int | None = None  # autograd's saved tensors at the end of forward, weights left out
    training_layers: tuple[LayerMemory, ...] = ()
    # (operator, live bytes after it) over the pass and the step: "fwd:", "bwd:", "step:" tags
    inference_curve: tuple[tuple[str, int], ...] = field(default=(), repr=False)
    training_curve: tuple[tuple[str, int], ...] = field(default=(), repr=False)
    notes: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        out = {k: getattr(self, k) for k in (
            "batch", "dtype", "amp", "optimizer", "device", "weights", "input", "inference_peak",
            "inference_peak_raw", "inference_peak_layer", "training_peak", "training_peak_raw",
            "training_peak_phase", "training_peak_layer", "training_peak_op", "gradients",
            "optimizer_state",
            "saved")}
        out["notes"] = list(self.notes)
        return out


# --- the live-storage tracker ---------------------------------------------------------------

class _Live(TorchDispatchMode):
    """Counts every storage an operator returns once, until the storage is freed."""

    def __init__(self, max_pool_indices: bool = False, only: str | None = None,
                 workspaces: bool = False, meta_as_cpu: bool = False):
        super().__init__()
        self.meta_as_cpu = meta_as_cpu  # meta tensors standing for the CPU's (_as_fake_cpu)
        self.workspaces = workspaces  # cuDNN's NHWC copies of a half-precision conv
        self.only = only  # count only storages on this device type (others are host memory)
        self.sizes: dict[int, tuple[int, int]] = {}  # key → (raw, rounded)
        self.keys: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self.host: set[int] = set()  # storages a GPU keeps on the host: not counted
        self.weights: set[int] = set()  # parameters and buffers: not "saved" bytes
        self.next_key = 0
        self.raw = self.live = 0
        self.peak = self.peak_raw = 0
        self.on_peak = None  # called when the peak rises
        self.max_pool_indices = max_pool_indices
        self.op = ""  # the operator running (its outputs being counted)
        self.curve: list | None = None  # (operator, live bytes after it), when recording

    # storages ------------------------------------------------------------------------------
    def key(self, t: torch.Tensor) -> int | None:
        """The tracked key of ``t``'s storage, adding the storage if it is new."""
        st = t.untyped_storage()
        k = self.keys.get(st)
        if k is not None:
            return k
        k = self.next_key
        self.next_key += 1
        self.keys[st] = k
        raw = st.nbytes()
        self.sizes[k] = (raw, rounded(raw))
        weakref.finalize(st, self._free, k)
        if self.only is not None and t.device.type != self.only:
            self.host.add(k)
            return k
        self.raw += raw
        self.live += rounded(raw)
        self._rise()
        return k

    def _free(self, k: int) -> None:
        raw, size = self.sizes.pop(k)
        if k in self.host:
            self.host.discard(k)
            return
        self.raw -= raw
        self.live -= size

    def _rise(self, extra: int = 0, extra_raw: int = 0) -> None:
        if self.live + extra > self.peak:
            self.peak = self.live + extra
            if self.on_peak is not None:
                self.on_peak()
        self.peak_raw = max(self.peak_raw, self.raw + extra_raw)

    def adopt(self, tensors) -> None:
        for t in tensors:
            if isinstance(t, torch.Tensor):
                self.key(t)

    def move_to_host(self, tensors) -> None:
        """Stop counting these storages (a GPU keeps them in host memory)."""
        for t in tensors:
            k = self.key(t)
            if k not in self.host:
                raw, size = self.sizes[k]
                self.raw -= raw
                self.live -= size
                self.host.add(k)

    def reset_peak(self) -> None:
        self.peak, self.peak_raw = self.live, self.raw

    def storage_bytes(self, tensors) -> int:
        """Rounded bytes of the distinct storages of ``tensors``."""
        seen, total = set(), 0
        for t in tensors:
            if isinstance(t, torch.Tensor):
                k = self.key(t)
                if k not in seen:
                    seen.add(k)
                    total += self.sizes[k][1]
        return total

    # operators -----------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.op = func.__name__
        out = _as_fake_cpu(func, args, kwargs or {}) if self.meta_as_cpu \
            else func(*args, **(kwargs or {}))
        flat, _ = tree_flatten(out)
        for t in flat:
            if isinstance(t, torch.Tensor):
                self.key(t)
        if self.workspaces and func.overloadpacket in CONVOLUTIONS:
            self._rise(*cudnn_workspace(func, args, kwargs or {}, out))
        if self.max_pool_indices and func is torch.ops.aten.max_pool2d.default:
            # CUDA's max_pool2d always runs max_pool2d_with_indices: the int64 indices, the
            # output's size, live until the op returns (the CPU kernel has a path without them)
            idx = out.numel() * 8
            self._rise(rounded(idx), idx)
        if self.curve is not None and func.namespace != "prim":
            self.curve.append((self.op, self.live))
        return out


# --- meta tensors standing for the CPU's -----------------------------------------------------

def _as_fake_cpu(func, args, kwargs):
    """Run ``func`` on meta tensors and return what fake CPU tensors return (the tracker ran on
    ``FakeTensorMode``'s CPU tensors, which meta tensors, 3 to 4 times faster, replaced;
    tests/test_memtrack.py holds the two to the same figures, curve and rows).

    Most operators' meta kernels are what fake tensors run too.  Those of :func:`_by_fake`
    differ (fake tensors know their device; a meta tensor's kernels behave as CUDA's or as no
    device's): they run on fake CPU tensors wrapping the meta ones (no data is copied), and
    their outputs come back as meta tensors on the same storages.  Batch norm, in most
    networks and slow on meta and fake tensors alike (a Python decomposition, op by op, half
    of a tracking), makes its outputs by the rules of :data:`_BY_RULE` (tests/test_memtrack.py
    holds them to fake CPU tensors' outputs), or is mended by hand (:func:`_cpu_batch_norm`)."""
    rule = _BY_RULE.get(func)
    if rule is not None and not kwargs:
        return rule(*args)
    if func in _void_foreach() and all(t.device.type == "meta" for t in tree_flatten(args)[0]
                                       if isinstance(t, torch.Tensor)):
        return None  # writes into its inputs, makes nothing: on meta, only checks their sizes
    if func in BATCH_NORMS:
        return _cpu_batch_norm(func, args, kwargs, func(*args, **kwargs))
    if func not in _by_fake() or func in _convolutions() and all(
            t.is_contiguous() for t in tree_flatten((args, kwargs))[0]
            if isinstance(t, torch.Tensor)):
        return func(*args, **kwargs)
    mode = _fake_cpu()
    cpu = torch.device("cpu")

    def wrap(t):
        if isinstance(t, torch.Tensor) and t.device.type == "meta":
            return FakeTensor(mode, t, cpu)
        return t

    args, kwargs = tree_map(wrap, (args, kwargs))
    with mode:
        out = func(*args, **kwargs)
    return tree_map(_meta_alias, out)


def _meta_alias(t):
    """A plain meta tensor over ``t``'s storage (its sizes, strides and offset)."""
    if not isinstance(t, FakeTensor):
        return t
    return torch.empty(0, dtype=t.dtype, device="meta").set_(
        t.untyped_storage(), t.storage_offset(), t.shape, t.stride())


@functools.lru_cache(maxsize=None)
def _void_foreach() -> frozenset:
    """The in-place foreach operators (``_foreach_addcdiv_``, ...): they return nothing, and
    their meta kernel is a Python loop over every parameter that only checks sizes (a tenth
    of a tracking, in Adam's step)."""
    names = {n.split("::")[1].split(".")[0] for n in torch._C._dispatch_get_all_op_names()
             if n.startswith("aten::_foreach_")}
    return frozenset(
        getattr(packet, o) for name in names if name.endswith("_")
        for packet in [getattr(torch.ops.aten, name)] for o in packet.overloads()
        if not getattr(packet, o)._schema.returns)


@functools.lru_cache(maxsize=None)
def _fake_cpu() -> FakeTensorMode:
    return FakeTensorMode(allow_non_fake_inputs=True)


@functools.lru_cache(maxsize=None)
def _by_fake() -> frozenset:
    """The operators whose fake CPU outputs differ from their meta ones, so run on fake CPU
    tensors: convolutions (the CPU's memory format, channels-last kept: the meta kernel
    returns contiguous tensors), layer and group norms (their saved statistics in the
    input's type on the CPU, fp32 on meta), and the composite operators ``FakeTensorMode``
    runs through ``torch._decomp``'s Python decomposition (dropout in eval clones its input,
    where the C++ composite returns the input itself; upsampling), by its own rule."""
    from torch._decomp import decomposition_table, meta_table
    from torch._subclasses.fake_tensor import torch_decomp_decompositions

    mode = FakeTensorMode()
    composite = torch._C.DispatchKey.CompositeImplicitAutograd
    decomposed = {
        f for f in decomposition_table
        if isinstance(f, torch._ops.OpOverload) and f not in meta_table
        and not mode.cpp_meta_supports_symint(f) and torch_decomp_decompositions(f)
        and torch._C._dispatch_has_kernel_for_dispatch_key(f.name(), composite)}
    norms = (aten.layer_norm, aten.native_layer_norm, aten.native_layer_norm_backward,
             aten.group_norm, aten.native_group_norm, aten.native_group_norm_backward,
             aten.instance_norm, aten.pixel_shuffle, aten.pixel_unshuffle)
    return frozenset(decomposed | _overloads(norms) | _convolutions())


@functools.lru_cache(maxsize=None)
def _convolutions() -> frozenset:
    """The convolutions: on contiguous tensors their meta outputs are the CPU's (contiguous,
    checked on 288 shapes, 1×1 and depthwise among them), so only a channels-last one (or any
    other layout) runs on fake CPU tensors."""
    return _overloads((aten.convolution, aten._convolution, aten.convolution_backward,
                       aten.conv1d, aten.conv2d, aten.conv3d, aten.conv_transpose1d,
                       aten.conv_transpose2d, aten.conv_transpose3d))


def _overloads(packets) -> frozenset:
    """Every overload of these ``aten`` operators but ``out=``."""
    return frozenset(getattr(p, o) for p in packets for o in p.overloads() if o != "out")


aten = torch.ops.aten
# batch norm's forward kernels, and where their ``training`` argument is (None: never training)
BATCH_NORMS = {aten.native_batch_norm.default: 5, aten._native_batch_norm_legit.default: 5,
               aten._native_batch_norm_legit.no_stats: 3,
               aten._native_batch_norm_legit_no_training.default: None}


def _cpu_batch_norm(func, args, kwargs, out):
    """Batch norm's outputs as the CPU makes them (``torch._decomp``'s
    ``native_batch_norm_helper``, which fake CPU tensors run): the saved mean and inverse
    std in the input's type (on meta tensors they stay fp32, as on CUDA), and empty when not
    training.  Made inside the dispatch, so the meta kernel's own are never seen."""
    at = BATCH_NORMS[func]
    training = False if at is None else kwargs.get("training", args[at])
    x = args[0]
    if training:
        if out[1].dtype == x.dtype:
            return out
        stats = (out[1].to(x.dtype), out[2].to(x.dtype))
    else:
        stats = (x.new_empty((0,)), x.new_empty((0,)))
    return (out[0], *stats, *out[3:])


def _bn_forward(x, weight, bias, running_mean, running_var, training, *rest):
    """``native_batch_norm`` on the CPU: the output like the input (its memory format kept),
    the saved mean and inverse std per channel in the input's type, empty in eval."""
    n = x.shape[1] if training else 0
    return torch.empty_like(x), x.new_empty((n,)), x.new_empty((n,))


def _bn_backward(grad, x, weight, running_mean, running_var, save_mean, save_invstd,
                 train, eps, mask):
    """``native_batch_norm_backward``: the input's gradient like ``grad`` in the input's type
    (always made: the decomposition ignores ``mask[0]``), the weight's and bias's per
    channel in the weight's type, where ``mask`` asks for them."""
    wtype = x.dtype if weight is None else weight.dtype
    return (torch.empty_like(grad, dtype=x.dtype),
            x.new_empty((x.shape[1],), dtype=wtype) if mask[1] else None,
            x.new_empty((x.shape[1],), dtype=wtype) if mask[2] else None)


# operator → its outputs made by rule (tensors of the right sizes, strides and types)
_BY_RULE = {aten.native_batch_norm.default: _bn_forward,
            aten.native_batch_norm_backward.default: _bn_backward,
            aten.batch_norm.default: lambda x, *rest: torch.empty_like(x)}


# what a forward convolution reaches this mode as: conv2d and conv_transpose2d whole in
# inference mode, convolution below autograd
CONVOLUTIONS = (torch.ops.aten.convolution, torch.ops.aten.conv2d,
                torch.ops.aten.conv_transpose2d)


def _pair(v) -> tuple:
    """A conv's stride or padding as a tuple (an int, a list, or "valid"/"same")."""
    if isinstance(v, str):
        return (0,)  # "valid", or "same" at a 1×1 kernel: no padding
    return tuple(v) if isinstance(v, (list, tuple)) else (v,)


def cudnn_workspace(func, args, kwargs, out) -> tuple[int, int]:
    """(rounded, raw) bytes of the workspace cuDNN takes for a forward convolution on a GPU:
    a half-precision NCHW conv runs in tensor-core engines that work on NHWC copies of its
    input and output (+ 512 B), measured on an H200 (cnncalc.memory.WORKSPACE); fp32 takes
    none of that size, nor does a pointwise conv (1×1, stride 1, no padding: a plain product
    on NCHW), and a depthwise conv (``ConvParams::is_depthwise``: not transposed, groups =
    input channels > 1) runs PyTorch's own kernel in bf16."""
    given = dict(zip((a.name for a in func._schema.arguments), args), **kwargs)
    x, groups = given["input"], given.get("groups", 1)
    transposed = given.get("transposed", func.overloadpacket is torch.ops.aten.conv_transpose2d)
    if x.dtype not in (torch.bfloat16, torch.float16) or x.dim() != 4:
        return 0, 0
    if not transposed and groups > 1 and x.shape[1] == groups:
        return 0, 0
    weight, stride, padding = given["weight"], given.get("stride", 1), given.get("padding", 0)
    pointwise = (tuple(weight.shape[2:]) == (1, 1) and not transposed
                 and all(s == 1 for s in _pair(stride)) and all(p == 0 for p in _pair(padding)))
    if pointwise:  # a 1×1, stride-1, unpadded conv: a plain product on NCHW, no copies
        return 0, 0
    raw = (x.numel() + out.numel()) * x.element_size() + BLOCK
    return rounded(raw), raw


# --- CUDA autocast, emulated above autograd where torch has no CUDA -------------------------

F = torch.nn.functional
# PyTorch's aten/src/ATen/autocast_mode.cpp, the CUDA lists, limited to functions a CNN calls
CUDA_LOW = {F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d,
            F.conv_transpose3d, F.linear, torch.conv1d, torch.conv2d, torch.conv3d,
            torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.baddbmm, F.prelu,
            torch.Tensor.matmul, torch.Tensor.mm, torch.Tensor.bmm, torch.einsum}
CUDA_FP32 = {F.layer_norm, F.group_norm, torch.layer_norm, torch.group_norm, torch.exp,
             torch.log, torch.pow, torch.Tensor.pow, torch.rsqrt, torch.reciprocal, F.softplus,
             F.mse_loss, F.cross_entropy, F.nll_loss}
# "fp32_set_opt_dtype": computed in fp32 by passing dtype=float32, the input not copied
CUDA_FP32_DTYPE = {F.softmax, F.log_softmax, torch.softmax, torch.log_softmax,
                   torch.Tensor.softmax, torch.Tensor.log_softmax, torch.sum, torch.Tensor.sum,
                   torch.cumsum, torch.Tensor.cumsum, torch.prod, torch.Tensor.prod}


class _CudaFunctions(TorchFunctionMode):
    """What CUDA does differently above autograd, on CPU fake tensors.

    * Dropout: on CUDA, ``F.dropout`` (not in place, training, 0 < p < 1) runs the fused
      ``native_dropout``, which saves a one-byte bool mask; the CPU's composite multiplies by
      a mask of the input's type and saves that.
    * With ``low`` (amp): CUDA autocast's casting rules, so autograd records the casts (and
      saves the cast tensors) as under ``torch.autocast("cuda")``.  A leaf tensor that
      requires grad (a weight) is cast once per region and the copy cached, as autocast
      caches it until the region ends."""

    def __init__(self, low: torch.dtype | None = None):
        super().__init__()
        self.low = low
        self.cache: dict[int, torch.Tensor] = {}

    def _cast(self, dtype):
        def cast(t):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.dtype == dtype \
                    or t.dtype == torch.float64:
                return t
            if t.is_leaf and t.requires_grad:
                got = self.cache.get(id(t))
                if got is None or got.dtype != dtype:
                    got = self.cache[id(t)] = t.to(dtype)
                return got
            return t.to(dtype)
        return cast

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.dropout:
            bound = dict(zip(("input", "p", "training", "inplace"), args), **kwargs)
            p, training = bound.get("p", 0.5), bound.get("training", True)
            if training and not bound.get("inplace", False) and 0 < p < 1:
                return torch.native_dropout(bound["input"], p, True)[0]
        if self.low is not None:
            if func in CUDA_LOW:
                args, kwargs = tree_map(self._cast(self.low), (args, kwargs))
            elif func in CUDA_FP32:
                args, kwargs = tree_map(self._cast(torch.float32), (args, kwargs))
            elif func in CUDA_FP32_DTYPE and kwargs.get("dtype") is None and any(
                    isinstance(a, torch.Tensor) and a.dtype in (torch.float16, torch.bfloat16)
                    for a in tree_flatten(args)[0]):
                kwargs = dict(kwargs, dtype=torch.float32)
        return func(*args, **kwargs)

    def __exit__(self, *exc):
        self.cache.clear()
        return super().__exit__(*exc)


# --- what autograd saves, per layer ---------------------------------------------------------

class _Layers:
    """Forward hooks on the leaf modules and a pack hook: per leaf, the storages autograd saved
    that it had not saved before, and the live bytes after the leaf."""

    def __init__(self, live: _Live, names: dict[nn.Module, str]):
        self.live, self.names = live, names
        self.rows: list[list] = []  # [name, saved, live_after]
        self.stack: list[str] = []
        self.saved_keys: set[int] = set()
        self.peak_layer = ""
        self.last_started = ""

    def pre(self, module, args):
        name = self.names[module]
        self.stack.append(name)
        self.last_started = name
        self.rows.append([name, 0, 0])

    def post(self, module, args, out):
        self.stack.pop()
        row = next(r for r in reversed(self.rows) if r[0] == self.names[module])
        row[2] = self.live.live
        node = getattr(out, "grad_fn", None)
        if node is not None:  # its backward then names the layer (see ``backward_layer``)
            node.metadata.setdefault(LAYER_KEY, self.names[module])

    def pack(self, t):
        k = self.live.key(t)
        if k not in self.saved_keys and k not in self.live.weights:
            self.saved_keys.add(k)
            if self.rows:
                target = self.stack[-1] if self.stack else self.rows[-1][0]
                row = next(r for r in reversed(self.rows) if r[0] == target)
                row[1] += self.live.sizes[k][1]
        # Detached, the same storage: a saved output packed with its own grad_fn would make a
        # cycle through autograd's C++ nodes (no collector frees it) that keeps a dropped side
        # output's graph (an auxiliary head's) alive, where PyTorch, which saves an output
        # without its grad_fn, frees that graph in the forward.
        return t.detach()

    def mark_peak(self):
        self.peak_layer = self.last_started

    @contextmanager
    def hooked(self):
        handles = [h for m in self.names for h in (m.register_forward_pre_hook(self.pre),
                                                   m.register_forward_hook(self.post))]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def saved_bytes(self) -> int:
        return sum(self.live.sizes[k][1] for k in self.saved_keys if k in self.live.sizes)

    def result(self) -> tuple[LayerMemory, ...]:
        return tuple(LayerMemory(*r) for r in self.rows)


LAYER_KEY = "cnncalc.layer"  # a leaf module's name, on the autograd node of its output


def backward_layer() -> str:
    """The layer whose backward is running: the name the forward hook put on the autograd
    node that runs now (a layer's last op's node), or "" (a merge's, the loss's, or an inner
    op of a layer made of several)."""
    node = torch._C._current_autograd_node()
    return "" if node is None else node.metadata.get(LAYER_KEY, "")


# --- the protocol ---------------------------------------------------------------------------

def make_optimizer(name: str, params, foreach: bool | None):
    kw = {} if foreach is None else {"foreach": foreach}
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.01, **kw)
    if name == "momentum":
        return torch.optim.SGD(params, lr=0.01, momentum=0.9, **kw)
    if name == "adam":
        return torch.optim.Adam(params, **kw)
    if name == "adamw":
        return torch.optim.AdamW(params, **kw)
    raise BackendError(f"--optimizer {name}: use one of {', '.join(OPTIMIZERS)}")


@contextmanager
def state_only(optimizer: str):
    """Around the first step: Adam and AdamW make their state (``Adam._init_group``) before
    the update, and the update (``torch.optim.adam.adam``) works in place on fake tensors, so
    the measured second step sees the same tensors without it; skipped, it saves up to half
    a tracking (tests/test_memtrack.py checks every figure is the same).  SGD's momentum
    buffer is made by its update: SGD runs whole."""
    import torch.optim.adam as module

    real = getattr(module, "adam", None)
    if optimizer not in ("adam", "adamw") or real is None:
        yield
        return
    module.adam = lambda *args, **kwargs: None
    try:
        yield
    finally:
        module.adam = real


def _leaf_names(model: nn.Module) -> dict[nn.Module, str]:
    """Every leaf module under its name (a model with no children is its own leaf)."""
    if not list(model.children()):
        return {model: type(model).__name__}
    return {m: n for n, m in model.named_modules() if n and not list(m.children())}


def _check(dtype: str, amp: str | None, optimizer: str | None, device: str) -> str:
    if dtype not in DTYPES:
        raise BackendError(f"--dtype {dtype}: use one of {', '.join(DTYPES)}")
    if amp is not None and amp not in AMPS:
        raise BackendError(f"--amp {amp}: use one of {', '.join(AMPS)}")
    if amp is not None and dtype != "fp32":
        raise BackendError(f"--amp {amp} keeps fp32 weights: use it with --dtype fp32")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise BackendError(f"--optimizer {optimizer}: use one of {', '.join(OPTIMIZERS)}")
    if device not in ("cpu", "cuda"):
        raise BackendError(f"device {device}: the tracker emulates 'cuda' or 'cpu'")
    return device


def track(model, input_shape, *, batch: int = 1, dtype: str = "fp32", amp: str | None = None,
          optimizer: str | None = None, device: str = "cuda",
          names: dict | None = None, emulate: bool | None = None,
          checkpoint=None) -> Tracked:
    """Peak memory of one inference pass and (with ``optimizer``) of one training step.

    ``model`` is an ``nn.Module``, or a callable returning one (or a ``(module, names)``
    pair); it is built (when callable) on the ``meta`` device, so its weights take no memory
    and no time to initialise.  A module built outside has its parameters and buffers
    replaced by meta ones (it is not usable afterwards).  ``input_shape`` is C×H×W (or
    C); ``device`` is the device whose behaviour is reproduced (see the module's doc).
    ``names`` maps leaf modules to the names the per-layer rows carry (default: the module
    names of every leaf).  ``emulate`` (default: where torch has no CUDA) runs meta tensors
    standing for the CPU's and emulates CUDA's behaviours; False with CUDA present makes
    ``FakeTensorMode``'s fake CUDA tensors.
    ``checkpoint``: dotted module paths (``model.get_submodule``'s), or a function of the
    built model giving them: each of those modules runs under ``torch.utils.checkpoint``
    (non-reentrant) in the training step, as ``cnncalc fit --checkpoint`` assumes.

    The protocol: weights, buffers and the input already on the device; inference is
    ``eval()`` under ``inference_mode``; training is ``train()``, loss ``out.float().sum()``,
    and the SECOND step of ``zero_grad(set_to_none=True)``, forward, backward,
    ``optimizer.step()``, so the optimizer's state exists; the peak is over that step.
    """
    # The collector at Python's own pace while tracking, whatever the process set (a test
    # run raises its threshold): a cycle made while tracking is freed as soon as in a program.
    pace = gc.get_threshold()
    gc.set_threshold(*PYTHON_GC)
    try:
        return _track(model, input_shape, batch=batch, dtype=dtype, amp=amp,
                      optimizer=optimizer, device=device, names=names, emulate=emulate,
                      checkpoint=checkpoint)
    finally:
        gc.set_threshold(*pace)


def _track(model, input_shape, *, batch, dtype, amp, optimizer, device, names, emulate,
           checkpoint) -> Tracked:

    _check(dtype, amp, optimizer, device)
    if emulate is None:
        emulate = device == "cuda" and not torch.cuda.is_available()
    emulate = emulate and device == "cuda"
    cuda_real = device == "cuda" and not emulate
    tdtype = DTYPES[dtype]
    # Meta tensors stand for the CPU's (their kernels are the CPU's shape rules, C++, with no
    # fake tensor's per-op dispatch in Python); fake tensors only where real CUDA is emulated.
    # The CPU's own autocast (device="cpu" with amp) casts CPU tensors only, not meta ones.
    on_fake = cuda_real or CPU_TENSORS == "fake" or (device == "cpu" and amp is not None)
    fake = FakeTensorMode(allow_non_fake_inputs=False) if on_fake else nullcontext()
    dev = "cuda" if cuda_real else "cpu" if on_fake else "meta"
    notes = []
    if emulate:
        notes.append("CUDA emulated on meta tensors standing for the CPU's: foreach "
                     "optimizers, Adam's step on the host, max-pool indices, fused dropout, "
                     "CUDA autocast lists")
    notes.append("not seen: cuBLAS's and most cuDNN workspaces (a bf16/fp16 conv's is emulated), "
                 "the CUDA context, fragmentation")
    # No gc.collect() first (0.2 s in a test process): the garbage of earlier work holds no
    # storage this tracking counts.  The collector stays on: a reference cycle made while
    # tracking (a lazy import's exception, whose frames hold an operator's tensors) is freed
    # by it, soon, as in a real run.
    with fake:
        if callable(model) and not isinstance(model, nn.Module):
            with torch.device("cpu" if on_fake else "meta"):
                model = model()
            if isinstance(model, tuple):
                model, names = model
        _convert(model, dev, tdtype, fake if on_fake else None)
        if names is None:
            names = _leaf_names(model)
        x = torch.empty(batch, *tuple(input_shape), dtype=tdtype, device=dev)
        # inference max_pool2d reaches this mode whole (inference mode skips autograd's
        # decomposition), so CUDA's indices are invisible on fake CUDA tensors too
        live = _Live(max_pool_indices=device == "cuda", only="cuda" if cuda_real else None,
                     workspaces=device == "cuda", meta_as_cpu=dev == "meta")
        with live:
            weights = live.storage_bytes([*model.parameters(), *model.buffers()])
            live.adopt([*model.parameters(), *model.buffers(), x])
            live.weights = {live.key(t) for t in [*model.parameters(), *model.buffers()]}
            inputs = live.storage_bytes([x])
            if emulate:
                regions = lambda: _CudaFunctions(DTYPES[amp] if amp else None)  # noqa: E731
            elif amp:
                regions = lambda: torch.autocast(device, dtype=DTYPES[amp])  # noqa: E731
            else:
                regions = nullcontext
            if checkpoint is not None:
                paths = checkpoint(model) if callable(checkpoint) else checkpoint
                for path in paths:
                    _checkpointed(model.get_submodule(path),
                                  regions if emulate else nullcontext)
                notes.append(f"{len(paths)} modules under torch.utils.checkpoint "
                             f"(non-reentrant) in training")
            inf_peak, inf_raw, inf_rows, inf_layer, inf_curve = _inference(model, x, live, names,
                                                                           regions)
            result = dict(batch=batch, dtype=dtype, amp=amp, optimizer=optimizer, device=device,
                          weights=weights, input=inputs, inference_peak=inf_peak,
                          inference_peak_raw=inf_raw, inference_layers=inf_rows,
                          inference_peak_layer=inf_layer, inference_curve=inf_curve)
            if optimizer is not None:
                result.update(_training(model, x, live, names, regions, optimizer=optimizer,
                                        device=device, emulate=emulate))
    return Tracked(**result, notes=tuple(notes))


def _convert(model: nn.Module, device: str, dtype: torch.dtype,
             fake: FakeTensorMode | None = None) -> nn.Module:
    """``model.to(device, dtype)`` by replacing each parameter and buffer (``Module.to`` would
    swap tensors, which fake tensors refuse); with ``fake``, a real tensor becomes fake; on
    ``meta``, a tensor loses its data."""
    def convert(t):
        if fake is not None and not isinstance(t, torch._subclasses.FakeTensor):
            t = fake.from_tensor(t.detach())
        return t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)

    for m in model.modules():
        for k, p in list(m._parameters.items()):
            if p is not None:
                m._parameters[k] = nn.Parameter(convert(p.detach()), requires_grad=p.requires_grad)
        for k, b in list(m._buffers.items()):
            if b is not None:
                m._buffers[k] = convert(b)
    return model


def _checkpointed(module: nn.Module, recompute) -> None:
    """Run ``module`` under ``torch.utils.checkpoint`` (non-reentrant) when grad is on.

    ``recompute`` makes the context its backward reruns it in: checkpoint restores a real
    ``torch.autocast`` itself, but not the function mode that emulates CUDA's (autocast's
    lists, fused dropout), which must be entered again.  The RNG state is not preserved: it
    lives on the host (and fake tensors carry no values to reproduce)."""
    from torch.utils.checkpoint import checkpoint

    forward = module.forward

    def run(*args, **kwargs):
        if not torch.is_grad_enabled():
            return forward(*args, **kwargs)
        return checkpoint(forward, *args, use_reentrant=False, preserve_rng_state=False,
                          context_fn=lambda: (nullcontext(), recompute()), **kwargs)

    module.forward = run


def _inference(model, x, live: _Live, names, regions):
    model.eval()
    layers = _Layers(live, names)
    live.reset_peak()
    live.on_peak = layers.mark_peak
    live.curve = []
    with torch.inference_mode(), layers.hooked(), regions():
        out = model(x)
        del out
    live.on_peak = None
    curve, live.curve = tuple((f"fwd:{op}", b) for op, b in live.curve), None
    return live.peak, live.peak_raw, layers.result(), layers.peak_layer, curve


def _training(model, x, live: _Live, names, regions, *, optimizer, device, emulate):
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise BackendError("the network has no trainable parameters: no training step to track")
    opt = make_optimizer(optimizer, params, True if device == "cuda" else None)
    # Step 1 only creates the optimizer's state (zeros_like each parameter, as its first
    # step does), from zero gradients: the same tensors as a real first step, without its
    # forward and backward.  A parameter the loss does not reach (a dropped side output's
    # head) gets no gradient, so a real step makes it no state: found in step 2's graph and
    # taken out of the count there (its state is constant through step 2).
    for p in params:
        p.grad = torch.zeros_like(p)
    with state_only(optimizer):
        opt.step()
    opt.zero_grad(set_to_none=True)
    if emulate:  # non-capturable Adam keeps its step counters on the host
        live.move_to_host([s["step"] for s in opt.state.values()
                           if isinstance(s.get("step"), torch.Tensor)])
    state = live.storage_bytes([t for s in opt.state.values() for t in s.values()
                                if isinstance(t, torch.Tensor) and live.key(t) not in live.host])
    # Step 2, measured.
    layers = _Layers(live, names)
    phase, peak_phase, peak_op = ["forward"], [""], [""]

    def mark():
        peak_phase[0] = phase[0]
        peak_op[0] = live.op
        if phase[0] == "forward":
            layers.mark_peak()
        elif phase[0] == "backward":
            layers.peak_layer = backward_layer()
        else:  # no layer runs in the optimizer's step
            layers.peak_layer = ""

    live.reset_peak()
    live.on_peak = mark
    live.curve = curve = []
    marks = {}
    with layers.hooked(), torch.autograd.graph.saved_tensors_hooks(layers.pack, lambda t: t), \
            regions():
        out = model(x)
        loss = out.float().sum()
    del out
    state -= _drop_idle_state(live, opt, _unreached(loss, params), curve, layers)
    saved = layers.saved_bytes()
    phase[0] = "backward"
    marks["bwd"] = len(curve)
    loss.backward()
    del loss
    grads = live.storage_bytes([p.grad for p in params if p.grad is not None])
    phase[0] = "step"
    marks["step"] = len(curve)
    opt.step()
    live.curve = None
    tags = ["fwd"] * marks["bwd"] + ["bwd"] * (marks["step"] - marks["bwd"]) \
        + ["step"] * (len(curve) - marks["step"])
    training_curve = tuple((f"{tag}:{op}", b) for tag, (op, b) in zip(tags, curve))
    live.on_peak = None
    return dict(training_peak=live.peak, training_peak_raw=live.peak_raw,
                training_peak_phase=peak_phase[0], training_peak_layer=layers.peak_layer,
                training_peak_op=peak_op[0], training_curve=training_curve,
                gradients=grads, optimizer_state=state, saved=saved,
                training_layers=layers.result())


def _unreached(loss, params) -> list:
    """The parameters whose gradient the backward of ``loss`` does not make."""
    seen, reached, todo = set(), set(), [loss.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):  # AccumulateGrad
            reached.add(id(node.variable))
        todo.extend(n for n, _ in node.next_functions)
    return [p for p in params if id(p) not in reached]


def _drop_idle_state(live: _Live, opt, idle, curve, layers) -> int:
    """Stop counting the optimizer state of ``idle`` parameters, from the start of step 2
    (the peak so far, the curve and the rows included); returns its rounded bytes."""
    keys, tensors = set(), []
    for p in idle:
        for t in opt.state.get(p, {}).values():
            if isinstance(t, torch.Tensor) and live.key(t) not in live.host \
                    and live.key(t) not in keys:
                keys.add(live.key(t))
                tensors.append(t)
    if not tensors:
        return 0
    size = sum(live.sizes[k][1] for k in keys)
    raw = sum(live.sizes[k][0] for k in keys)
    live.move_to_host(tensors)
    live.peak -= size
    live.peak_raw -= raw
    curve[:] = [(op, b - size) for op, b in curve]
    for row in layers.rows:
        row[2] -= size
    return size


def track_spec(spec, *, batch: int = 1, dtype: str = "fp32", amp: str | None = None,
               optimizer: str | None = None, device: str = "cuda", report=None,
               emulate: bool | None = None, checkpoint: bool = False) -> Tracked:
    """:func:`track` of the module the torch backend builds from ``spec`` (the same plan
    ``verify`` and ``export`` use); per-layer rows carry the spec's layer names.
    ``checkpoint``: each block ``cnncalc.memory.checkpointed_blocks`` names (each top-level
    block, each round of a top-level repeat) runs under ``torch.utils.checkpoint``."""
    from ..engine import analyze
    from .recipes import plan
    from .torch import instantiate

    report = report if report is not None else analyze(spec, explain=False)
    the_plan = plan(spec, report)

    def make():
        made: dict[int, nn.Module] = {}
        model = instantiate(the_plan.root, made)
        return model, {made[id(r)]: name for name, _, r in the_plan.leaves}

    blocks = None
    if checkpoint:
        from ..memory import checkpointed_blocks

        wanted = checkpointed_blocks(spec, report)
        blocks = lambda model: _block_paths(model, wanted, the_plan)  # noqa: E731
    return track(make, spec.input_shape.dims(), batch=batch, dtype=dtype, amp=amp,
                 optimizer=optimizer, device=device, emulate=emulate, checkpoint=blocks)


def _block_paths(model: nn.Module, blocks, the_plan) -> list[str]:
    """The module path of each block, given as the spec names of its leaves: the module whose
    leaves are exactly those (a block that is no single module cannot be checkpointed)."""
    from .recipes import module_paths

    paths = module_paths(the_plan.root)
    leaf_path = {name: paths[id(recipe)] for name, _, recipe in the_plan.leaves
                 if recipe.cls != "Shared"}
    under: dict[str, set[str]] = {}
    for name, path in leaf_path.items():
        parts = path.split(".")
        for k in range(len(parts) + 1):
            under.setdefault(".".join(parts[:k]), set()).add(name)
    found = []
    for leaves in blocks:
        want = {n for n in leaves if n in leaf_path}
        fits = [p for p, got in under.items() if got == want]
        if not fits:
            raise BackendError(f"the block of {leaves[0]}…{leaves[-1]} is not one module: "
                               f"it cannot be checkpointed")
        calls = [p for p in fits if not isinstance(model.get_submodule(p), nn.ModuleDict)]
        found.append(min(calls or fits, key=lambda p: p.count(".")))
    return found
